//! The demo's e-mail marketing: a shared layout with the institute's logo, a French invitation
//! (accents, a public field) and an English newsletter built on it, a transactional template,
//! and a campaign in each state — one sent, with its send log.

use chrono::{DateTime, Duration, Utc};

use super::demo::user;
use crate::db::{self, Tx};
use crate::domain::campaign::AudiencePart;
use crate::domain::template::{Media, TemplateVersion};
use crate::service::campaign::lifecycle;
use crate::{Error, Result};

/// A 1×1 PNG in the institute's blue: the logo of the layout.
const LOGO: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 144, 119, 83,
    222, 0, 0, 0, 12, 73, 68, 65, 84, 120, 156, 99, 144, 247, 235, 1, 0, 1, 137, 0, 250, 127, 215, 239, 168, 0, 0, 0,
    0, 73, 69, 78, 68, 174, 66, 96, 130,
];

const LAYOUT: &str = r#"<html><head><style>
body { font-family: Georgia, serif; color: #1f2a44 } .foot { color: #666; font-size: 12px }
</style></head><body>
<p><img src="{{ media('logo-institut.png') }}" alt="Institut des experts-comptables" width="48" height="48"></p>
{% block body %}{% endblock %}
<p class="foot">Vous recevez ce message en tant que contact de l'Institut.
<a href="{{ unsubscribe_url }}">Se désabonner</a></p>
</body></html>"#;

const INVITATION: &str = r#"{% extends "Gabarit institut" %}{% block body %}
<h1>Bonjour {{ client.first_name }},</h1>
<p>L'Institut vous invite à sa formation « Fiscalité des entreprises » le 12 février,
pensée pour les professionnels du secteur {{ client.sector or "libéral" }}.</p>
<p><a href="https://institut.example/formations/fiscalite">Je m'inscris</a></p>
{% endblock %}"#;

const INVITATION_TEXT: &str = "Bonjour {{ client.first_name }},\n\nL'Institut vous invite à sa formation « Fiscalité des entreprises » le 12 février.\nInscription : https://institut.example/formations/fiscalite\n\nSe désabonner : {{ unsubscribe_url }}\n";

const NEWSLETTER: &str = r#"{% extends "Gabarit institut" %}{% block body %}
<h1>News from the Institute</h1><p>Dear {{ client.name }}, here is what happened this month.</p>
{% endblock %}"#;

const CONFIRMATION: &str = r#"<p>Bonjour {{ client.first_name }}, votre inscription est confirmée.</p>"#;

/// Campaigns: name, template, status, audience group.
const CAMPAIGNS: &[(&str, &str, &str, &str)] = &[
    ("Formation fiscalité — janvier", "Invitation formation", "sent", "Clients 2023"),
    ("Invitation Salon Event Pro", "Invitation formation", "scheduled", "Salon Event Pro 2023"),
    ("Newsletter de décembre", "Newsletter", "pending_approval", "Clients 2023"),
    ("Relance adhésion", "Invitation formation", "approved", "Clients 2023"),
    ("Vœux 2024 (brouillon)", "Newsletter", "draft", "Clients 2023"),
    ("Webinaire reporté", "Newsletter", "cancelled", "Salon Event Pro 2023"),
    ("Rappel formation", "Invitation formation", "paused", "Clients 2023"),
];

/// Templates: name, kind, subject, HTML, text part.
type TemplateRow = (&'static str, &'static str, &'static str, &'static str, Option<&'static str>);

const TEMPLATES: &[TemplateRow] = &[
    ("Gabarit institut", "campaign", "Institut", LAYOUT, None),
    (
        "Invitation formation",
        "campaign",
        "Formation « Fiscalité » : {{ client.first_name }}, réservez votre place",
        INVITATION,
        Some(INVITATION_TEXT),
    ),
    ("Newsletter", "campaign", "News from the Institute", NEWSLETTER, None),
    ("Confirmation d'inscription", "transactional", "Inscription confirmée", CONFIRMATION, None),
];

fn template(tx: &Tx, row: &TemplateRow, by: i64, now: DateTime<Utc>) -> Result<()> {
    let (name, kind, subject, html, text) = *row;
    let id = db::template::insert(tx, name, kind, by, now)?;
    let v = TemplateVersion {
        template_id: id,
        subject: subject.into(),
        source_kind: "html".into(),
        source: html.into(),
        text: text.map(str::to_string),
        ..Default::default()
    };
    db::template::add_version(tx, &v, by, now)?;
    Ok(())
}

pub(super) fn fill(tx: &Tx, now: DateTime<Utc>) -> Result<()> {
    let (mark, mia) = (user(tx, "mark")?, user(tx, "mia")?);
    // The sent campaign's links and return paths are signed with the database's secret.
    tx.set_meta("token_secret", &crate::service::campaign::fresh_secret()?)?;
    let sha = crate::secrets::hex(&<sha2::Sha256 as sha2::Digest>::digest(LOGO));
    db::ticket::put_blob(tx, &sha, LOGO)?;
    let logo = Media {
        name: "logo-institut.png".into(),
        sha256: sha,
        mime: "image/png".into(),
        size: LOGO.len() as i64,
        ..Default::default()
    };
    db::template::media_insert(tx, &logo, mark, now)?;
    for row in TEMPLATES {
        template(tx, row, mark, now)?;
    }
    for (name, tpl, status, group) in CAMPAIGNS {
        campaign(tx, name, tpl, status, group, mark, mia, now)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn campaign(
    tx: &Tx,
    name: &str,
    tpl: &str,
    status: &str,
    group: &str,
    mark: i64,
    mia: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let t = db::template::find(tx, tpl)?.ok_or_else(|| Error::internal("demo template missing"))?;
    let settings = db::campaign::Settings {
        name: name.into(),
        template_id: t.id,
        template_version: t.version,
        from: "Institut des experts-comptables <formation@institut.example>".into(),
        reply_to: Some("contact@institut.example".into()),
        tracking: "full".into(),
        rate: 50,
        autologin: true,
    };
    let id = db::campaign::insert(tx, &settings, mark, now)?;
    let g = db::population::group(tx, group, None)?.ok_or_else(|| Error::internal("demo group missing"))?;
    db::campaign::set_audience(
        tx,
        id,
        &[AudiencePart { exclude: false, kind: "group".into(), id: g.id, name: g.name }],
    )?;
    if matches!(status, "draft") {
        return Ok(());
    }
    if matches!(status, "approved" | "scheduled" | "sent" | "paused") {
        let c = lifecycle::get(tx, id)?;
        db::campaign::approve(tx, id, mia, &lifecycle::content_hash(tx, &c)?, Some("Relu, parfait."), now)?;
    }
    match status {
        "scheduled" => db::campaign::schedule(tx, id, Some(now + Duration::days(7)), now)?,
        "sent" => {
            db::campaign::mark_started(tx, id, now - Duration::days(30))?;
            sent_log(tx, id, now - Duration::days(30))?;
            db::campaign::mark_finished(tx, id, now - Duration::days(30))?;
        }
        "paused" => {
            db::campaign::mark_started(tx, id, now)?;
            db::campaign::set_status(tx, id, status, now)?;
        }
        "approved" => {}
        other => db::campaign::set_status(tx, id, other, now)?,
    }
    Ok(())
}

/// The log of the sent campaign: Kevin and Jacky received it; John had not consented.
fn sent_log(tx: &Tx, id: i64, at: DateTime<Utc>) -> Result<()> {
    let mut rows = Vec::new();
    for email in ["kevin@startup.io", "jacky@loubouzin.grd"] {
        let client = db::client::id_by_email(tx, email)?.ok_or_else(|| Error::internal("demo client missing"))?;
        rows.push((client, email.to_string(), crate::domain::campaign::mailbox(email)));
    }
    db::campaign::freeze(tx, id, rows)?;
    for (n, row) in db::campaign::log(tx, id, None, None)?.iter().enumerate() {
        let message_id = format!("<c{id}.r{}.demo{n}@institut.example>", row.id);
        db::campaign::record(tx, row.id, "sent", Some(&message_id), None, None, at)?;
    }
    Ok(())
}
