//! The portal's pages: an embedded template set (minijinja, HTML auto-escaping), the words of
//! each page in French and English, and the view models the templates read.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use minijinja::Environment;
use serde::Serialize;

use super::super::pages::Lang;
use crate::domain::project::Project;
use crate::domain::ticket::{AttachmentInfo, Message, TicketRow, TicketView};
use crate::domain::time;
use crate::{Error, Result};

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("templates/base.html")),
            ("login.html", include_str!("templates/login.html")),
            ("tickets.html", include_str!("templates/tickets.html")),
            ("ticket.html", include_str!("templates/ticket.html")),
            ("new.html", include_str!("templates/new.html")),
            ("password.html", include_str!("templates/password.html")),
            ("message.html", include_str!("templates/message.html")),
        ] {
            // The sources are part of the binary: a broken one fails the tests, not a user.
            env.add_template(name, source).unwrap_or_else(|e| panic!("portal template {name}: {e}"));
        }
        env
    })
}

pub const STYLE: &str = include_str!("style.css");

/// Every word of the portal: key, French, English.
const WORDS: &[(&str, &str, &str)] = &[
    ("portal", "Espace client", "Client space"),
    ("skip", "Aller au contenu", "Skip to content"),
    ("menu", "Menu", "Menu"),
    ("tickets", "Tickets", "Tickets"),
    ("new_ticket", "Nouveau ticket", "New ticket"),
    ("password", "Mot de passe", "Password"),
    ("logout", "Se déconnecter", "Log out"),
    ("signed_in_as", "Connecté en tant que", "Signed in as"),
    ("login", "Connexion", "Log in"),
    (
        "login_intro",
        "Suivez vos projets et vos tickets, posez vos questions, envoyez vos fichiers.",
        "Follow your projects and tickets, ask your questions, send your files.",
    ),
    ("username", "Identifiant", "Username"),
    ("login_button", "Se connecter", "Log in"),
    ("your_tickets", "Vos tickets", "Your tickets"),
    ("status", "Statut", "Status"),
    ("all_statuses", "Tous les statuts", "All statuses"),
    ("project", "Projet", "Project"),
    ("all_projects", "Tous les projets", "All projects"),
    ("filter", "Filtrer", "Filter"),
    ("unread", "Nouveau", "New"),
    ("sla", "Délai", "SLA"),
    ("updated", "mis à jour le", "updated"),
    ("no_tickets", "Aucun ticket ici.", "No tickets here."),
    (
        "no_projects",
        "Aucun projet ne vous est ouvert pour l’instant. Contactez votre interlocuteur.",
        "No project is open to you yet. Please contact us.",
    ),
    ("older_tickets", "Tickets plus anciens", "Older tickets"),
    ("back", "Retour aux tickets", "Back to the tickets"),
    ("type", "Type", "Type"),
    ("thread", "Échanges", "Conversation"),
    ("attachments", "Pièces jointes", "Attachments"),
    ("reply", "Répondre", "Reply"),
    ("your_message", "Votre message", "Your message"),
    ("files", "Fichiers (facultatif)", "Files (optional)"),
    ("send", "Envoyer", "Send"),
    ("reopen", "Rouvrir le ticket", "Reopen the ticket"),
    ("subject", "Objet", "Subject"),
    ("description", "Description", "Description"),
    ("open_ticket", "Ouvrir le ticket", "Open the ticket"),
    ("password_change", "Changer de mot de passe", "Change your password"),
    ("current_password", "Mot de passe actuel", "Current password"),
    ("new_password", "Nouveau mot de passe", "New password"),
    ("new_password_again", "Nouveau mot de passe, encore", "New password, again"),
    (
        "password_rules",
        "Au moins 12 caractères, différent de votre identifiant.",
        "At least 12 characters, not your username.",
    ),
    ("change", "Changer", "Change"),
];

fn words(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    WORDS.iter().map(|(k, fr, en)| (*k, if lang == Lang::Fr { *fr } else { *en })).collect()
}

pub fn status_label(lang: Lang, status: &str) -> &'static str {
    match (lang, status) {
        (Lang::Fr, "open") => "Ouvert",
        (Lang::Fr, "in_progress") => "En cours",
        (Lang::Fr, "waiting_client") => "En attente de votre réponse",
        (Lang::Fr, "resolved") => "Résolu",
        (Lang::Fr, "closed") => "Fermé",
        (_, "open") => "Open",
        (_, "in_progress") => "In progress",
        (_, "waiting_client") => "Waiting for your answer",
        (_, "resolved") => "Resolved",
        (_, "closed") => "Closed",
        _ => "",
    }
}

pub fn kind_label(lang: Lang, kind: &str) -> &'static str {
    match (lang, kind) {
        (Lang::Fr, "urgent") => "Urgent",
        (Lang::Fr, "maintenance") => "Maintenance",
        (Lang::Fr, "evolution") => "Évolution",
        (_, "urgent") => "Urgent",
        (_, "maintenance") => "Maintenance",
        (_, "evolution") => "Change request",
        _ => "",
    }
}

fn sla_label(lang: Lang, state: &str) -> &'static str {
    match (lang, state) {
        (Lang::Fr, "ok") => "dans les temps",
        (Lang::Fr, "at-risk") => "bientôt dépassé",
        (Lang::Fr, "breached") => "dépassé",
        (Lang::Fr, "paused") => "en pause",
        (Lang::Fr, "met") => "respecté",
        (_, "ok") => "on time",
        (_, "at-risk") => "at risk",
        (_, "breached") => "breached",
        (_, "paused") => "paused",
        (_, "met") => "met",
        _ => "",
    }
}

/// `1.2 MB`, `850 KB`, `12 bytes` / `octets`.
pub fn size(lang: Lang, bytes: u64) -> String {
    let (kb, mb) = (1024.0, 1024.0 * 1024.0);
    let n = bytes as f64;
    let (value, unit) = if n >= mb {
        (format!("{:.1}", n / mb), if lang == Lang::Fr { "Mo" } else { "MB" })
    } else if n >= kb {
        (format!("{:.0}", n / kb), if lang == Lang::Fr { "Ko" } else { "KB" })
    } else {
        (bytes.to_string(), if lang == Lang::Fr { "octets" } else { "bytes" })
    };
    let value = if lang == Lang::Fr { value.replace('.', ",") } else { value };
    format!("{value} {unit}")
}

fn local(stored: &str) -> String {
    time::parse_stored(stored).map(time::display_local).unwrap_or_else(|_| stored.to_string())
}

/// What every page shows around its content.
#[derive(Serialize, Default)]
pub struct Frame {
    pub lang: &'static str,
    /// The signed-in person's name (none on the login page).
    pub user: Option<String>,
    pub csrf: String,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Frame {
    pub fn new(lang: Lang, user: Option<String>, csrf: String) -> Frame {
        Frame { lang: if lang == Lang::Fr { "fr" } else { "en" }, user, csrf, ..Default::default() }
    }

    fn lang(&self) -> Lang {
        if self.lang == "fr" { Lang::Fr } else { Lang::En }
    }
}

/// Renders a page: the frame, the words of its language as `t`, and the page's own values.
fn render(name: &str, frame: &Frame, page: serde_json::Value) -> Result<String> {
    let mut ctx = match serde_json::to_value(frame) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    ctx.insert("t".into(), serde_json::json!(words(frame.lang())));
    if let serde_json::Value::Object(m) = page {
        ctx.extend(m);
    }
    let ctx = minijinja::Value::from(minijinja::value::Serde(&ctx));
    env()
        .get_template(name)
        .and_then(|tpl| tpl.render(ctx))
        .map_err(|e| Error::internal(format!("portal page {name}: {e}")))
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

pub fn login(frame: &Frame, username: &str, next: &str) -> Result<String> {
    render("login.html", frame, serde_json::json!({ "username": username, "next": next }))
}

#[derive(Serialize)]
struct Row {
    id: i64,
    subject: String,
    status: String,
    status_label: &'static str,
    kind_label: &'static str,
    sla: &'static str,
    sla_label: &'static str,
    unread: bool,
    updated: String,
    updated_iso: String,
}

#[derive(Serialize)]
struct ProjectBlock {
    id: i64,
    name: String,
    company: String,
    tickets: Vec<Row>,
}

pub fn tickets(
    frame: &Frame,
    d: &crate::service::portal::Dashboard,
    status: Option<&str>,
    project: Option<i64>,
) -> Result<String> {
    let lang = frame.lang();
    let row = |r: &TicketRow| Row {
        id: r.ticket.id,
        subject: r.ticket.subject.clone(),
        status: r.ticket.status.clone(),
        status_label: status_label(lang, &r.ticket.status),
        kind_label: kind_label(lang, &r.ticket.kind),
        sla: r.sla.as_str(),
        sla_label: sla_label(lang, r.sla.as_str()),
        unread: r.unread,
        updated: local(&r.ticket.updated_at),
        updated_iso: r.ticket.updated_at.clone(),
    };
    let projects: Vec<ProjectBlock> = d
        .projects
        .iter()
        .filter(|p| project.is_none_or(|id| id == p.id))
        .map(|p| ProjectBlock {
            id: p.id,
            name: p.name.clone(),
            company: p.company.clone(),
            tickets: d.tickets.iter().filter(|t| t.ticket.project_id == p.id).map(row).collect(),
        })
        .collect();
    let statuses: Vec<Choice> = crate::service::ticket::STATUSES
        .iter()
        .map(|s| Choice { value: s.to_string(), label: status_label(lang, s).into(), selected: status == Some(*s) })
        .collect();
    let project_choices = project_choices(&d.projects, project);
    // The next page keeps the filters.
    let next_url = d.next_before.map(|id| {
        let mut url = format!("/portal/tickets?before={id}");
        if let Some(s) = status {
            url.push_str(&format!("&status={s}"));
        }
        if let Some(p) = project {
            url.push_str(&format!("&project={p}"));
        }
        url
    });
    render(
        "tickets.html",
        frame,
        serde_json::json!({ "projects": projects, "statuses": statuses, "project_choices": project_choices, "next_url": next_url }),
    )
}

fn project_choices(projects: &[Project], selected: Option<i64>) -> Vec<Choice> {
    projects
        .iter()
        .map(|p| Choice { value: p.id.to_string(), label: p.name.clone(), selected: selected == Some(p.id) })
        .collect()
}

#[derive(Serialize)]
struct FileLink {
    id: i64,
    name: String,
    size: String,
}

#[derive(Serialize)]
struct Post {
    author: String,
    mine: bool,
    at: String,
    at_iso: String,
    paragraphs: Vec<String>,
    attachments: Vec<FileLink>,
}

/// What the reply and reopen forms may offer on a ticket (the CLI's rules for a client).
pub struct TicketForms<'a> {
    pub me: &'a str,
    pub draft: &'a str,
    pub max_attachment_bytes: u64,
}

pub fn ticket(frame: &Frame, v: &TicketView, forms: &TicketForms) -> Result<String> {
    let lang = frame.lang();
    let file = |a: &AttachmentInfo| FileLink { id: a.id, name: a.name.clone(), size: size(lang, a.size.max(0) as u64) };
    let post = |m: &Message| Post {
        author: m.author_name.clone(),
        mine: m.author == forms.me,
        at: local(&m.created_at),
        at_iso: m.created_at.clone(),
        paragraphs: m.body.split("\n\n").map(|p| p.trim_matches('\n').to_string()).filter(|p| !p.is_empty()).collect(),
        attachments: m.attachments.iter().map(file).collect(),
    };
    // Internal notes never reach this page; the filter is the service's, this is a second lock.
    let messages: Vec<Post> = v.messages.iter().filter(|m| !m.internal).map(post).collect();
    let status = v.ticket.status.as_str();
    let can_reply = status != "closed";
    let can_reopen = ["waiting_client", "resolved", "closed"].contains(&status);
    let reopen_help = match (lang, status) {
        (Lang::Fr, "closed") => "Ce ticket est fermé. Rouvrez-le pour écrire à nouveau.",
        (Lang::Fr, _) => "Le problème n’est pas réglé ? Rouvrez le ticket.",
        (_, "closed") => "This ticket is closed. Reopen it to write again.",
        _ => "Not solved after all? Reopen the ticket.",
    };
    let ticket = serde_json::json!({
        "id": v.ticket.id,
        "subject": v.ticket.subject,
        "project": v.ticket.project,
        "status": status,
        "status_label": status_label(lang, status),
        "kind_label": kind_label(lang, &v.ticket.kind),
        "sla": v.sla.as_str(),
        "sla_label": sla_label(lang, v.sla.as_str()),
    });
    render(
        "ticket.html",
        frame,
        serde_json::json!({
            "ticket": ticket, "messages": messages, "can_reply": can_reply, "can_reopen": can_reopen,
            "reopen_help": reopen_help,
            "draft": forms.draft,
            "size_help": size_help(lang, forms.max_attachment_bytes),
        }),
    )
}

pub fn size_help(lang: Lang, max: u64) -> String {
    const MAX: usize = super::MAX_FILES;
    match lang {
        Lang::Fr => format!("Jusqu’à {} de fichiers par message, {MAX} fichiers au plus.", size(lang, max)),
        Lang::En => format!("Up to {} of files per message, {MAX} files at most.", size(lang, max)),
    }
}

/// What the new-ticket form shows again after a refusal.
#[derive(Default)]
pub struct NewTicketDraft {
    pub project: Option<i64>,
    pub kind: String,
    pub subject: String,
    pub body: String,
}

pub fn new_ticket(frame: &Frame, projects: &[Project], draft: &NewTicketDraft, max: u64) -> Result<String> {
    let lang = frame.lang();
    let kinds: Vec<Choice> = crate::service::sla::TYPES
        .iter()
        .map(|k| Choice {
            value: k.to_string(),
            label: kind_label(lang, k).into(),
            selected: draft.kind == *k || (draft.kind.is_empty() && *k == "maintenance"),
        })
        .collect();
    render(
        "new.html",
        frame,
        serde_json::json!({
            "project_choices": project_choices(projects, draft.project),
            "kinds": kinds,
            "subject": draft.subject,
            "draft": draft.body,
            "size_help": size_help(lang, max),
        }),
    )
}

pub fn password(frame: &Frame) -> Result<String> {
    render("password.html", frame, serde_json::json!({}))
}

pub fn message(frame: &Frame, heading: &str, text: &str) -> Result<String> {
    render("message.html", frame, serde_json::json!({ "heading": heading, "text": text }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_every_word_has_both_languages() {
        for name in
            ["base.html", "login.html", "tickets.html", "ticket.html", "new.html", "password.html", "message.html"]
        {
            assert!(env().get_template(name).is_ok(), "{name}");
        }
        for (k, fr, en) in WORDS {
            assert!(!fr.is_empty() && !en.is_empty(), "{k}");
        }
        let keys: std::collections::HashSet<_> = WORDS.iter().map(|w| w.0).collect();
        assert_eq!(keys.len(), WORDS.len(), "a key appears twice");
        // Every `t.key` a template reads exists.
        let sources = [
            include_str!("templates/base.html"),
            include_str!("templates/login.html"),
            include_str!("templates/tickets.html"),
            include_str!("templates/ticket.html"),
            include_str!("templates/new.html"),
            include_str!("templates/password.html"),
            include_str!("templates/message.html"),
        ];
        for src in sources {
            for part in src.split("t.").skip(1) {
                let key: String = part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if src.contains(&format!("{{{{ t.{key}")) || src.contains(&format!("\"{{{{ t.{key}")) {
                    assert!(keys.contains(key.as_str()), "t.{key} is not in WORDS");
                }
            }
        }
    }

    #[test]
    fn values_are_escaped_and_sizes_read_in_each_language() {
        let frame = Frame::new(Lang::Fr, Some("<b>Kevin</b>".into()), "tok\"en".into());
        let page = message(&frame, "<script>alert(1)</script>", "l'été & \"co\"").expect("page");
        assert!(!page.contains("<script>alert") && !page.contains("<b>Kevin"), "{page}");
        assert!(page.contains("&lt;script&gt;") && page.contains("tok&quot;en"), "{page}");
        assert_eq!(size(Lang::Fr, 1_572_864), "1,5 Mo");
        assert_eq!(size(Lang::En, 1_572_864), "1.5 MB");
        assert_eq!(size(Lang::En, 12), "12 bytes");
        assert_eq!(size(Lang::Fr, 25 * 1024 * 1024), "25,0 Mo");
    }
}
