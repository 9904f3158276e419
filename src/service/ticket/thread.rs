//! Opening a ticket, public replies and internal notes.

use super::*;
use super::{files::*, notify::*, workflow::*};
use crate::db::{self};
use crate::domain::{Permission, validate};
use crate::service::authz::Session;
use crate::service::{project, refs, sla as sla_service};
use crate::{Error, Result};
use chrono::Utc;

pub fn create(session: &Session, settings: &Settings, input: NewTicket) -> Result<Outcome> {
    let grant = session.require(Permission::TicketCreate)?;
    let p = project::visible(session, &input.project)?;
    let kind = sla_service::TYPES.iter().find(|k| **k == input.kind.trim()).ok_or_else(|| {
        Error::invalid("type", format!("`{}` is not one of: urgent, maintenance, evolution", input.kind.trim()))
    })?;
    let subject = validate::text("subject", &input.subject, 300)?;
    let body = validate::notes("body", &input.body, 100_000)?;
    if body.is_empty() {
        return Err(Error::invalid("body", "must not be empty"));
    }
    check_attachments(&input.attachments, settings)?;
    let now = Utc::now();
    let actor = session.actor();
    let from_client = is_client(session);
    grant.write(|tx| {
        let id = db::ticket::insert(tx, p.id, kind, &subject, actor.id, now)?;
        let mid = db::ticket::add_message(tx, id, actor.id, false, &body, now)?;
        let names = store_attachments(tx, mid, &input.attachments)?;
        db::ticket::mark_read(tx, id, actor.id, mid)?;
        sla_service::reproject(tx, Some(&[id]), Utc::now())?;
        let t = reload(tx, id)?;
        let headline = format!("{} opened a {} ticket{}.", actor.full_name, t.kind, attachment_note(&names));
        let to = if from_client { team_emails(tx, &t)? } else { project::client_emails(tx, p.id)? };
        let queued = notify(
            tx,
            settings,
            &t,
            to,
            &actor.email,
            Notice { kind: "ticket.created", headline: &headline, body: &body },
        )?;
        grant.audit(tx, "ticket.create", "ticket", Some(id), None, Some(&t))?;
        Ok(Outcome { ticket: t, emails_queued: queued })
    })
}

/// A public reply. From staff it stops the first-response clock and e-mails the client; from
/// a client it reopens a ticket waiting for them (or resolved) and e-mails the assignee or team.
pub fn reply(
    session: &Session,
    settings: &Settings,
    key: &str,
    body: &str,
    attachments: Vec<NewAttachment>,
    status: Option<&str>,
) -> Result<Outcome> {
    let t = refs::ticket(session, key)?;
    let grant = session.require(Permission::TicketReply)?;
    let body = validate::notes("body", body, 100_000)?;
    if body.is_empty() {
        return Err(Error::invalid("body", "must not be empty"));
    }
    check_attachments(&attachments, settings)?;
    let from_client = is_client(session);
    let new_status = match status {
        Some(s) => {
            let s = parse_status(s)?;
            check_transition(session, &t, s)?;
            Some(s)
        }
        None if from_client && ["waiting_client", "resolved"].contains(&t.status.as_str()) => Some("open"),
        None if from_client && t.status == "closed" => {
            return Err(Error::conflict(format!(
                "ticket {} is closed; reopen it with `rolo ticket status {} open` first",
                t.id, t.id
            )));
        }
        None => None,
    };
    let now = Utc::now();
    let actor = session.actor();
    grant.write(|tx| {
        let mid = db::ticket::add_message(tx, t.id, actor.id, false, &body, now)?;
        let names = store_attachments(tx, mid, &attachments)?;
        if !from_client {
            db::ticket::set_first_response(tx, t.id, now)?;
        }
        if let Some(s) = new_status.filter(|s| *s != t.status) {
            db::ticket::set_status(tx, t.id, actor.id, &t.status, s, now)?;
        }
        db::ticket::touch(tx, t.id, now)?;
        db::ticket::mark_read(tx, t.id, actor.id, mid)?;
        sla_service::reproject(tx, Some(&[t.id]), Utc::now())?;
        let after = reload(tx, t.id)?;
        let headline = format!("{} replied{}.", actor.full_name, attachment_note(&names));
        let to = if from_client { team_emails(tx, &after)? } else { project::client_emails(tx, after.project_id)? };
        let queued = notify(
            tx,
            settings,
            &after,
            to,
            &actor.email,
            Notice { kind: "ticket.reply", headline: &headline, body: &body },
        )?;
        grant.audit(tx, "ticket.reply", "ticket", Some(t.id), Some(&t), Some(&after))?;
        Ok(Outcome { ticket: after, emails_queued: queued })
    })
}

/// An internal note: staff only, never e-mailed to anyone outside the team.
pub fn note(
    session: &Session,
    settings: &Settings,
    key: &str,
    body: &str,
    attachments: Vec<NewAttachment>,
) -> Result<Outcome> {
    let t = refs::ticket(session, key)?;
    let grant = session.require(Permission::TicketNote)?;
    let body = validate::notes("body", body, 100_000)?;
    if body.is_empty() {
        return Err(Error::invalid("body", "must not be empty"));
    }
    check_attachments(&attachments, settings)?;
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let mid = db::ticket::add_message(tx, t.id, actor, true, &body, now)?;
        store_attachments(tx, mid, &attachments)?;
        db::ticket::touch(tx, t.id, now)?;
        db::ticket::mark_read(tx, t.id, actor, mid)?;
        let after = reload(tx, t.id)?;
        grant.audit(tx, "ticket.note", "ticket", Some(t.id), None, Some(&serde_json::json!({"message_id": mid})))?;
        Ok(Outcome { ticket: after, emails_queued: 0 })
    })
}
