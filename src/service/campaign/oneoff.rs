//! One message to one address, from a template (transactional, or a campaign template that
//! then honours the suppression list) or from a subject and a body, through the outbox like
//! every other mail: `rolo mail send` for staff, `POST /api/v1/messages` for applications. An
//! idempotency key makes a repeat a no-op.

use std::sync::Arc;

use chrono::Utc;

use super::template::{library, version_of};
use crate::db::{self, Db};
use crate::domain::campaign;
use crate::domain::outbox::{OneOff, Queued};
use crate::domain::template::{self, Parts, TemplateKind};
use crate::domain::{Permission, validate};
use crate::mail::{SmtpSettings, html_escape};
use crate::service::authz::Session;
use crate::service::mail::{Draft, enqueue_keyed};
use crate::{Error, Result};

/// What a message is made of, as given.
pub struct Content<'a> {
    /// `T` or `T@VERSION`.
    pub template: Option<&'a str>,
    pub vars: &'a serde_json::Map<String, serde_json::Value>,
    pub subject: Option<&'a str>,
    pub text: Option<&'a str>,
    pub html: Option<&'a str>,
}

fn template_spec(spec: &str) -> Result<(&str, Option<i64>)> {
    match spec.rsplit_once('@') {
        Some((n, v)) => Ok((
            n,
            Some(v.trim().parse::<i64>().map_err(|_| Error::invalid("template", format!("`{v}` is not a version")))?),
        )),
        None => Ok((spec, None)),
    }
}

/// Checks the address, the suppression list (campaign templates are marketing) and the
/// content, and renders it into a message for the outbox; a variable missing or not used by the template is named.
pub fn prepare(db: &Db, to: &str, c: &Content) -> Result<Draft> {
    let to = validate::email("to", to)?;
    match (c.template, c.subject, c.text, c.html) {
        (Some(spec), None, None, None) => {
            let (name, version) = template_spec(spec)?;
            let v = version_of(db, name, version)?;
            if v.kind == TemplateKind::Campaign.as_str()
                && db::campaign::suppression(db, &campaign::mailbox_hash(&db::campaign::mailbox_salt(db)?, &to))?
                    .is_some()
            {
                return Err(Error::conflict(format!(
                    "{to} is on the suppression list; a campaign template does not reach it"
                )));
            }
            let lib = library(db, &v)?;
            let no_media: template::MediaResolver = Arc::new(|_| None);
            let parts = Parts { name: &v.name, subject: &v.subject, text: v.text.as_deref() };
            let r = template::render_vars(&lib, &parts, c.vars, no_media)?;
            Ok(Draft { to, subject: r.subject, html: r.html, text: r.text, ticket_id: None, kind: "mail.template" })
        }
        (None, Some(subject), text, html) if text.is_some() || html.is_some() => {
            let subject = validate::text("subject", subject, 300)?;
            let text = text.map(|t| validate::notes("text", t, 200_000)).transpose()?.filter(|t| !t.is_empty());
            let html = html.map(|h| validate::notes("html", h, 500_000)).transpose()?.filter(|h| !h.is_empty());
            let (html, text) = match (html, text) {
                (None, None) => return Err(Error::invalid("body", "must not be empty")),
                (Some(h), Some(t)) => (template::inline_css(&h)?, t),
                (Some(h), None) => {
                    let h = template::inline_css(&h)?;
                    let t = template::text_of(&h);
                    (h, t)
                }
                (None, Some(t)) => (format!("<p>{}</p>", html_escape(&t).replace('\n', "<br>")), t),
            };
            Ok(Draft { to, subject, html, text, ticket_id: None, kind: "mail.oneoff" })
        }
        (None, None, None, None) => Err(Error::usage("give --template T, or --subject S and --body T")),
        (Some(_), _, _, _) => Err(Error::usage("give a template, or a subject and a body, not both")),
        _ => Err(Error::usage("a message from text needs a subject and a body")),
    }
}

/// `rolo mail send`.
pub fn send(session: &Session, smtp: &SmtpSettings, input: &OneOff) -> Result<Queued> {
    let grant = session.require(Permission::MailSend)?;
    let key = input.idempotency_key.as_deref().map(|k| validate::text("idempotency key", k, 200)).transpose()?;
    if let Some(k) = &key
        && let Some(first) = db::outbox::by_idempotency_key(session.db(), k)?
    {
        return Ok(Queued { mail: first, repeated: true });
    }
    let vars = input.vars.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect();
    let content = Content {
        template: input.template.as_deref(),
        vars: &vars,
        subject: input.subject.as_deref(),
        text: input.body.as_deref(),
        html: None,
    };
    let p = prepare(session.db(), &input.to, &content)?;
    let now = Utc::now();
    grant.write(|tx| {
        if let Some(k) = &key
            && let Some(first) = db::outbox::by_idempotency_key(tx, k)?
        {
            return Ok(Queued { mail: first, repeated: true });
        }
        let id = enqueue_keyed(tx, smtp, &p, key.as_deref(), now)?;
        grant.audit(
            tx,
            "mail.send",
            "outbox",
            Some(id),
            None,
            Some(&serde_json::json!({"template": input.template, "kind": p.kind})),
        )?;
        let mail = db::outbox::get(tx, id)?.ok_or_else(|| Error::internal("message vanished"))?;
        Ok(Queued { mail, repeated: false })
    })
}
