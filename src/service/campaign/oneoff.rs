//! `rolo mail send`: one message to one address, from a template (transactional, or a
//! campaign template that then honours the suppression list) or from a subject and a body,
//! through the outbox like every other mail. An idempotency key makes a repeat a no-op.

use std::sync::Arc;

use chrono::Utc;

use super::template::{library, version_of};
use crate::db;
use crate::domain::campaign;
use crate::domain::outbox::{OneOff, Queued};
use crate::domain::template::{self, Parts, TemplateKind};
use crate::domain::{Permission, validate};
use crate::mail::{self, SmtpSettings, html_escape};
use crate::service::authz::Session;
use crate::{Error, Result};

/// The subject, HTML and text of a one-off message.
fn content(session: &Session, input: &OneOff) -> Result<(String, String, String, bool)> {
    let db = session.db();
    match (&input.template, &input.subject, &input.body) {
        (Some(spec), None, None) => {
            let (name, version) = match spec.rsplit_once('@') {
                Some((n, v)) => (
                    n,
                    Some(
                        v.trim()
                            .parse::<i64>()
                            .map_err(|_| Error::invalid("template", format!("`{v}` is not a version")))?,
                    ),
                ),
                None => (spec.as_str(), None),
            };
            let v = version_of(db, name, version)?;
            let lib = library(db, &v)?;
            let vars = input.vars.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect();
            let no_media: template::MediaResolver = Arc::new(|_| None);
            let r = template::render_vars(
                &lib,
                &Parts { name: &v.name, subject: &v.subject, text: v.text.as_deref() },
                &vars,
                no_media,
            )?;
            Ok((r.subject, r.html, r.text, v.kind == TemplateKind::Campaign.as_str()))
        }
        (None, Some(subject), Some(body)) => {
            let subject = validate::text("subject", subject, 300)?;
            let body = validate::notes("body", body, 200_000)?;
            if body.is_empty() {
                return Err(Error::invalid("body", "must not be empty"));
            }
            Ok((subject, format!("<p>{}</p>", html_escape(&body)), body, false))
        }
        (None, None, None) => Err(Error::usage("give --template T, or --subject S and --body T")),
        (Some(_), _, _) => Err(Error::usage("give --template or --subject/--body, not both")),
        _ => Err(Error::usage("a message from text needs both --subject and --body")),
    }
}

pub fn send(session: &Session, smtp: &SmtpSettings, input: &OneOff) -> Result<Queued> {
    let grant = session.require(Permission::MailSend)?;
    let to = validate::email("to", &input.to)?;
    let key = input.idempotency_key.as_deref().map(|k| validate::text("idempotency key", k, 200)).transpose()?;
    if let Some(k) = &key
        && let Some(first) = db::outbox::by_idempotency_key(session.db(), k)?
    {
        return Ok(Queued { mail: first, repeated: true });
    }
    // A campaign template is marketing: the suppression list is checked before anything else.
    let marketing = match input.template.as_deref() {
        Some(spec) => {
            let name = spec.rsplit_once('@').map_or(spec, |(n, _)| n);
            version_of(session.db(), name, None)?.kind == TemplateKind::Campaign.as_str()
        }
        None => false,
    };
    if marketing && db::campaign::suppression(session.db(), &campaign::mailbox_hash(&to))?.is_some() {
        return Err(Error::conflict(format!("{to} is on the suppression list; a campaign template does not reach it")));
    }
    let (subject, html, text, _) = content(session, input)?;
    let message_id = mail::new_message_id(&smtp.domain())?;
    let now = Utc::now();
    grant.write(|tx| {
        if let Some(k) = &key
            && let Some(first) = db::outbox::by_idempotency_key(tx, k)?
        {
            return Ok(Queued { mail: first, repeated: true });
        }
        let new = db::outbox::NewMail {
            to: &to,
            subject: &subject,
            text_body: &text,
            html_body: &html,
            message_id: &message_id,
            in_reply_to: None,
            references: None,
            ticket_id: None,
            kind: if input.template.is_some() { "mail.template" } else { "mail.oneoff" },
            idempotency_key: key.as_deref(),
        };
        let id = db::outbox::enqueue(tx, &new, now)?;
        grant.audit(
            tx,
            "mail.send",
            "outbox",
            Some(id),
            None,
            Some(&serde_json::json!({"template": input.template, "kind": new.kind})),
        )?;
        let mail = db::outbox::get(tx, id)?.ok_or_else(|| Error::internal("message vanished"))?;
        Ok(Queued { mail, repeated: false })
    })
}
