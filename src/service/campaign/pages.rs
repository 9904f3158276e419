//! Landing pages: `rolo campaign page …` for staff, and what `rolo serve` shows and accepts at
//! `/p/SLUG` for the anonymous visitor, whose only right is to fill this page's form.
//!
//! A sign-up goes through the same checks as `client create` (e-mail, name, phone, custom
//! fields against the registry, mandatory fields for a new client). An existing client (same
//! e-mail) is completed, never overwritten: a stranger typing someone's address changes none
//! of their values. Consent is granted with the page's consent text (its SHA-256 in the
//! ledger) at once, or, with double opt-in, only when the link of the confirmation e-mail is
//! followed. A form carries a signed token of the minute it was served (CSRF, valid
//! [`FORM_MINUTES`]) and a honeypot field; an autologin token from a campaign link pre-fills it.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};

use super::template::{library, public_media, version_of};
use crate::db::{self, Db, Tx};
use crate::domain::page::{
    AUTOLOGIN_DAYS, FORM_MINUTES, FormField, HONEYPOT, LandingPage, PageInput, PublicPage, STANDARD_FIELDS, Submitted,
    check_slug,
};
use crate::domain::profile::{ConsentSource, FieldDef, FieldKind};
use crate::domain::template::{self, Parts};
use crate::domain::token::{self, Purpose};
use crate::domain::{Permission, validate};
use crate::mail::SmtpSettings;
use crate::service::authz::{Session, audit_as, system_key};
use crate::service::{consent, contacts, mail};
use crate::{Error, ErrorKind, Result};

pub fn list(session: &Session) -> Result<Vec<LandingPage>> {
    session.require(Permission::PageRead)?;
    db::pages::list(session.db())
}

pub fn show(session: &Session, slug: &str) -> Result<LandingPage> {
    session.require(Permission::PageRead)?;
    find(session.db(), slug)
}

fn find(db: &Db, slug: &str) -> Result<LandingPage> {
    db::pages::get(db, &slug.trim().to_lowercase())?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no landing page `{}`", slug.trim())))
}

/// Checks what a page is made of; the fields exist, `email` is among them, and every
/// mandatory custom field is asked (a new client could not be created otherwise).
/// A page's settings, checked.
struct Checked {
    slug: String,
    template_id: i64,
    group_id: Option<i64>,
    fields: Vec<String>,
    consent_text: String,
    double_opt_in: bool,
    active: bool,
}

fn settings(db: &Db, before: Option<&LandingPage>, input: &PageInput) -> Result<Checked> {
    let slug = match (&input.slug, before) {
        (Some(s), _) => check_slug("slug", s)?,
        (None, Some(b)) => b.slug.clone(),
        (None, None) => return Err(Error::usage("a landing page needs a SLUG")),
    };
    let template_id = match (&input.template, before) {
        (Some(t), _) => version_of(db, t, None)?.template_id,
        (None, Some(b)) => b.template_id,
        (None, None) => return Err(Error::usage("a landing page needs --template")),
    };
    let group_id = match (input.group.as_deref().map(str::trim), before) {
        (Some(""), _) => None,
        (Some(g), _) => Some(crate::service::refs::group(db, g)?.id),
        (None, b) => b.and_then(|b| b.group_id),
    };
    let registry = db::population::fields(db)?;
    let fields = match (&input.fields, before) {
        (Some(f), _) => {
            let mut out: Vec<String> = Vec::new();
            for key in f.iter().flat_map(|k| k.split(',')).map(|k| k.trim().to_lowercase()).filter(|k| !k.is_empty()) {
                if !STANDARD_FIELDS.contains(&key.as_str()) && !registry.iter().any(|d| d.key == key) {
                    return Err(Error::invalid(
                        "fields",
                        format!(
                            "`{key}` is neither name, email, phone nor a client field (see `rolo client field list`)"
                        ),
                    ));
                }
                if !out.contains(&key) {
                    out.push(key);
                }
            }
            if !out.iter().any(|k| k == "email") {
                out.insert(0, "email".into());
            }
            out
        }
        (None, Some(b)) => b.fields.clone(),
        (None, None) => vec!["name".into(), "email".into()],
    };
    if let Some(d) = registry.iter().find(|d| d.mandatory && !fields.contains(&d.key)) {
        return Err(Error::invalid(
            "fields",
            format!("`{}` is mandatory for every client: the form must ask for it", d.key),
        ));
    }
    let consent_text = match (&input.consent_text, before) {
        (Some(t), _) => validate::text("consent text", t, 2000)?,
        (None, Some(b)) => b.consent_text.clone(),
        (None, None) => return Err(Error::usage("a landing page needs --consent-text (the sentence people agree to)")),
    };
    let double = input.double_opt_in.or(before.map(|b| b.double_opt_in)).unwrap_or(false);
    let active = input.active.or(before.map(|b| b.active)).unwrap_or(true);
    Ok(Checked { slug, template_id, group_id, fields, consent_text, double_opt_in: double, active })
}

fn save(session: &Session, before: Option<&LandingPage>, input: &PageInput) -> Result<LandingPage> {
    let grant = session.require(Permission::PageManage)?;
    let db = session.db();
    let c = settings(db, before, input)?;
    let slug = c.slug.clone();
    let s = db::pages::Settings {
        slug: &c.slug,
        template_id: c.template_id,
        group_id: c.group_id,
        fields: &c.fields,
        consent_text: &c.consent_text,
        double_opt_in: c.double_opt_in,
        active: c.active,
    };
    if before.is_none_or(|b| b.slug != slug) && db::pages::get(db, &slug)?.is_some() {
        return Err(Error::conflict(format!("a landing page `{slug}` already exists")));
    }
    let now = Utc::now();
    grant.write(|tx| {
        let id = match before {
            Some(b) => {
                db::pages::update(tx, b.id, &s, now)?;
                b.id
            }
            None => db::pages::insert(tx, &s, session.actor().id, now)?,
        };
        let after = db::pages::by_id(tx, id)?.ok_or_else(|| Error::internal("page vanished"))?;
        let action = if before.is_some() { "page.update" } else { "page.create" };
        grant.audit(
            tx,
            action,
            "page",
            Some(id),
            before.map(|b| b as &dyn crate::service::authz::erased::Json),
            Some(&after),
        )?;
        Ok(after)
    })
}

pub fn create(session: &Session, input: &PageInput) -> Result<LandingPage> {
    save(session, None, input)
}

pub fn update(session: &Session, slug: &str, input: &PageInput) -> Result<LandingPage> {
    session.require(Permission::PageManage)?;
    let before = find(session.db(), slug)?;
    save(session, Some(&before), input)
}

pub fn delete(session: &Session, slug: &str) -> Result<LandingPage> {
    let grant = session.require(Permission::PageManage)?;
    let page = find(session.db(), slug)?;
    grant.write(|tx| {
        db::pages::delete(tx, page.id)?;
        grant.audit(tx, "page.delete", "page", Some(page.id), Some(&page), None)?;
        Ok(page.clone())
    })
}

/// An active page, for a visitor.
fn active(db: &Db, slug: &str) -> Result<LandingPage> {
    db::pages::get(db, slug)?.filter(|p| p.active).ok_or_else(|| Error::new(ErrorKind::NotFound, "no such page"))
}

/// The client a campaign's autologin token names, while it is fresh and its campaign allows it.
pub fn recipient(db: &Db, secret: &[u8], token: &str) -> Result<Option<crate::domain::client::Client>> {
    let Some(row) = token::verify(secret, Purpose::Autologin, token) else { return Ok(None) };
    let Some(t) = db::inbound::target(db, row)? else { return Ok(None) };
    let fresh = t
        .sent_at
        .as_deref()
        .and_then(|s| crate::domain::time::parse_stored(s).ok())
        .is_some_and(|at| Utc::now() - at < Duration::days(AUTOLOGIN_DAYS));
    let allowed = db::campaign::get(db, t.campaign_id)?.is_some_and(|c| c.autologin);
    match (fresh && allowed, t.client_id) {
        (true, Some(id)) => db::client::get(db, id),
        _ => Ok(None),
    }
}

/// `GET /p/SLUG`: the page rendered, its form (pre-filled for a recognised recipient) and a
/// fresh form token. `media_base` is where `/m/…` images are served.
pub fn public_page(db: &Db, slug: &str, autologin: Option<&str>, media_base: &str) -> Result<PublicPage> {
    let page = active(db, slug)?;
    let secret = super::token_secret(db)?;
    let known = match autologin {
        Some(t) => recipient(db, &secret, t)?,
        None => None,
    };
    let template = db::template::get(db, page.template_id)?.ok_or_else(|| Error::internal("page template missing"))?;
    let v = version_of(db, &template.name, None)?;
    let lib = library(db, &v)?;
    let vars = super::template::variables(db)?;
    let ctx = match &known {
        Some(c) => super::template::client_context(db, c, &vars)?,
        None => template::Context::default(),
    };
    let rendered = template::render_lenient(
        &lib,
        &Parts { name: &v.name, subject: &v.subject, text: None },
        &ctx,
        public_media(db, media_base)?,
    )?;
    let registry = db::population::fields(db)?;
    let fields = page.fields.iter().filter_map(|k| form_field(k, &registry, known.as_ref())).collect();
    Ok(PublicPage {
        slug: page.slug.clone(),
        html: rendered.html,
        fields,
        consent_text: page.consent_text.clone(),
        form_token: token::sign_pair(&secret, Purpose::Form, page.id, Utc::now().timestamp() / 60),
        recipient: known.and(autologin.map(String::from)),
    })
}

fn form_field(key: &str, registry: &[FieldDef], known: Option<&crate::domain::client::Client>) -> Option<FormField> {
    let (label, input, required, choices, value) = match key {
        "email" => ("E-mail".to_string(), "email", true, Vec::new(), known.map(|c| c.email.clone())),
        "name" => ("Name".to_string(), "text", true, Vec::new(), known.map(|c| c.full_name.clone())),
        "phone" => ("Phone".to_string(), "tel", false, Vec::new(), known.and_then(|c| c.phone.clone())),
        _ => {
            let d = registry.iter().find(|d| d.key == key)?;
            let input = match d.kind {
                FieldKind::Number => "number",
                FieldKind::Date => "date",
                FieldKind::Bool => "checkbox",
                FieldKind::Choice => "select",
                _ => "text",
            };
            let value = known.and_then(|c| c.fields.get(key)).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            (d.label.clone(), input, d.mandatory, d.choices.clone(), value)
        }
    };
    Some(FormField { key: key.to_string(), label, input, required, choices, value: value.unwrap_or_default() })
}

/// Where the server sends people, for the confirmation link of a double opt-in.
pub struct SignupMail<'a> {
    pub smtp: &'a SmtpSettings,
    pub public_url: &'a str,
}

/// `POST /p/SLUG`: a sign-up. A bad or stale form token is refused (denied); a filled
/// honeypot is `Ignored`; a value that `client create` would refuse is refused the same way.
pub fn submit(db: &Db, slug: &str, form: &BTreeMap<String, String>, mail_to: &SignupMail) -> Result<Submitted> {
    let page = active(db, slug)?;
    let secret = super::token_secret(db)?;
    let now = Utc::now();
    let token_ok = form
        .get("form_token")
        .and_then(|t| token::verify_pair(&secret, Purpose::Form, t))
        .is_some_and(|(id, minute)| id == page.id && (0..=FORM_MINUTES).contains(&(now.timestamp() / 60 - minute)));
    if !token_ok {
        return Err(Error::denied(
            "this form has expired or did not come from this site; reload the page and try again",
        ));
    }
    if form.get(HONEYPOT).is_some_and(|v| !v.trim().is_empty()) {
        return Ok(Submitted::Ignored);
    }
    if form.get("consent").is_none_or(|v| v.trim().is_empty()) {
        return Err(Error::invalid("consent", "tick the box to agree, or we cannot send you anything"));
    }
    let value = |k: &str| form.get(k).map(String::as_str).filter(|_| page.fields.iter().any(|f| f == k));
    let checked =
        contacts::check(db, value("email").unwrap_or(""), value("name"), value("phone"), form, Some(&page.fields))?;
    let email = checked.email.clone();
    let text_hash = contacts::text_hash(&page.consent_text);
    db.write(&system_key(), |tx| {
        let (id, previous) = contacts::upsert(tx, &checked, page.owner_id, now)?;
        let signup = db::pages::insert_signup(tx, page.id, id, !page.double_opt_in, &text_hash, now)?;
        let outcome = if page.double_opt_in {
            let link = format!(
                "{}/p/{}/confirm/{}",
                mail_to.public_url,
                page.slug,
                token::sign(&secret, Purpose::Confirm, signup)
            );
            mail::enqueue(tx, mail_to.smtp, &confirmation(&email, &link), now)?;
            Submitted::ConfirmationSent
        } else {
            grant_consent(tx, &page, id, previous.as_deref(), &text_hash, now)?;
            Submitted::Subscribed
        };
        let detail = format!(
            "landing page {}: {}",
            page.slug,
            if page.double_opt_in { "awaiting confirmation" } else { "subscribed" }
        );
        audit_as(
            tx,
            None,
            "page.signup",
            "client",
            Some(id),
            crate::domain::audit::Outcome::Ok,
            Some(&detail),
            None,
            None,
        )?;
        Ok(outcome)
    })
}

/// Consent granted through a page (ledger: the page, the hash of its text), and the page's group.
fn grant_consent(
    tx: &Tx,
    page: &LandingPage,
    client: i64,
    previous: Option<&str>,
    text_hash: &str,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let detail = format!("landing page {}", page.slug);
    let mut change = consent::change(client, previous, "granted", ConsentSource::LandingPage, None);
    change.detail = Some(&detail);
    change.text_hash = Some(text_hash);
    consent::note(tx, &change, now)?;
    db::consent::set(tx, client, "granted", now)?;
    if let Some(g) = page.group_id {
        db::population::add_member(tx, g, client, page.owner_id, now)?;
    }
    Ok(())
}

fn confirmation(to: &str, link: &str) -> mail::Draft {
    let text = format!(
        "Bonjour,\n\nConfirmez votre inscription en ouvrant ce lien :\n{link}\n\n\
         Please confirm your subscription by opening this link:\n{link}\n\n\
         Sans confirmation, vous ne recevrez rien. / Without confirmation you will receive nothing.\n"
    );
    let l = crate::mail::html_escape(link);
    let html = format!(
        "<p>Bonjour,</p><p>Confirmez votre inscription : <a href=\"{l}\">{l}</a></p>\
         <p>Please confirm your subscription: <a href=\"{l}\">{l}</a></p>"
    );
    mail::Draft {
        to: to.to_string(),
        subject: "Confirmez votre inscription / Confirm your subscription".into(),
        text,
        html,
        ticket_id: None,
        kind: "signup_confirmation",
    }
}

/// What a confirmation link names: the page and the masked address, or not found.
pub fn confirmation_target(db: &Db, slug: &str, token: &str) -> Result<(LandingPage, i64, String)> {
    let secret = super::token_secret(db)?;
    let page = active(db, slug)?;
    let id = token::verify(&secret, Purpose::Confirm, token)
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such link"))?;
    let s = db::pages::signup(db, id)?.ok_or_else(|| Error::new(ErrorKind::NotFound, "no such link"))?;
    let client = s.client_id.and_then(|c| db::client::get(db, c).ok().flatten()).filter(|_| s.page_id == page.id);
    let client = client.ok_or_else(|| Error::new(ErrorKind::NotFound, "no such link"))?;
    Ok((page, id, client.email))
}

/// `POST /p/SLUG/confirm/TOKEN`: grants the consent of a double opt-in sign-up (and lifts an
/// earlier unsubscription of the address: the person confirmed from that mailbox); repeating
/// it changes nothing. Returns the address.
pub fn confirm(db: &Db, slug: &str, token: &str) -> Result<String> {
    let (page, signup, email) = confirmation_target(db, slug, token)?;
    let now = Utc::now();
    db.write(&system_key(), |tx| {
        let Some(db::pages::Signup { client_id: Some(client), text_hash, .. }) = db::pages::signup(tx, signup)? else {
            return Ok(());
        };
        if !db::pages::confirm_signup(tx, signup, now)? {
            return Ok(());
        }
        let previous = db::client::get(tx, client)?.map(|c| c.consent);
        grant_consent(tx, &page, client, previous.as_deref(), &text_hash, now)?;
        // Someone who once unsubscribed and now confirms from their own mailbox is back in;
        // a bounce, a complaint or a manual suppression stays.
        let hash = crate::domain::campaign::mailbox_hash(&db::campaign::mailbox_salt(tx)?, &email);
        let lifted = db::campaign::unsuppress_unsubscribed(tx, &hash)?;
        let detail =
            format!("landing page {}: confirmed{}", page.slug, if lifted { "; unsubscription lifted" } else { "" });
        audit_as(
            tx,
            None,
            "page.confirm",
            "client",
            Some(client),
            crate::domain::audit::Outcome::Ok,
            Some(&detail),
            None,
            None,
        )
    })?;
    Ok(email)
}
