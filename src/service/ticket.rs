//! Tickets: the thread (public replies and internal notes), attachments, statuses with an
//! explicit transition table, assignment, read markers, SLA states — and the notifications
//! each change queues in the same transaction.
//!
//! Visibility: staff with `ticket:read:any` see every ticket; client accounts
//! (`ticket:read:own`) see only tickets of projects granted to them, and anything else answers
//! "not found". Internal notes and their attachments never reach a client: not in `show`, not
//! in JSON, not in e-mail.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::authz::{Grant, Session};
use super::mail::{self, Draft};
use super::{project, refs, sla as sla_service};
use crate::db::{self, Read, Tx};
use crate::domain::permission::CLIENT_ROLE;
use crate::domain::sla::{Clock, State};
use crate::domain::{Permission, time, validate};
use crate::mail::{SmtpSettings, html_escape};
use crate::secrets::hex;
use crate::{Error, Result};

pub use crate::domain::ticket::{AttachmentInfo, Change, Message, Ticket};
pub use crate::domain::ticket::{ListFilter, NewAttachment, NewTicket, Outcome, TicketRow, TicketView};

pub const STATUSES: [&str; 5] = ["open", "in_progress", "waiting_client", "resolved", "closed"];

/// Where staff may move a ticket. Clients only reopen (see [`client_may`]).
fn staff_may(from: &str, to: &str) -> bool {
    match from {
        "open" => ["in_progress", "waiting_client", "resolved", "closed"].contains(&to),
        "in_progress" => ["open", "waiting_client", "resolved", "closed"].contains(&to),
        "waiting_client" => ["open", "in_progress", "resolved", "closed"].contains(&to),
        "resolved" => ["open", "in_progress", "closed"].contains(&to),
        "closed" => to == "open",
        _ => false,
    }
}

/// A client may reopen its ticket; only staff close.
fn client_may(from: &str, to: &str) -> bool {
    to == "open" && ["waiting_client", "resolved", "closed"].contains(&from)
}

fn parse_status(s: &str) -> Result<&'static str> {
    STATUSES
        .iter()
        .find(|k| **k == s.trim())
        .copied()
        .ok_or_else(|| Error::invalid("status", format!("`{}` is not one of: {}", s.trim(), STATUSES.join(", "))))
}

/// Settings the ticket service needs from the configuration.
pub struct Settings<'a> {
    pub smtp: &'a SmtpSettings,
    pub max_attachment_bytes: u64,
}

fn is_client(session: &Session) -> bool {
    session.actor().roles.iter().any(|r| r == CLIENT_ROLE)
}

fn summary(first: &Clock, resolution: &Clock) -> (State, Option<String>) {
    let deadline = [first.deadline, resolution.deadline].into_iter().flatten().min().map(time::format_utc);
    (crate::domain::sla::overall(first, resolution), deadline)
}

pub fn list(session: &Session, f: &ListFilter) -> Result<Vec<TicketRow>> {
    let member_id = if session.can(Permission::TicketReadAny) {
        None
    } else if session.can(Permission::TicketReadOwn) {
        Some(session.actor().id)
    } else {
        return Err(session.deny(
            Permission::TicketReadOwn,
            "ticket",
            None,
            "this needs the `ticket:read:own` or `ticket:read:any` permission",
        ));
    };
    let db = session.db();
    let now = Utc::now();
    let at = f.at.as_deref().map(|d| time::parse_instant("at", d, now)).transpose()?;
    let statuses = f
        .statuses
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_status(s).map(str::to_string))
        .collect::<Result<Vec<_>>>()?;
    let kind =
        f.kind
            .as_deref()
            .map(|k| {
                sla_service::TYPES.iter().find(|t| **t == k.trim()).map(|t| t.to_string()).ok_or_else(|| {
                    Error::invalid("type", format!("`{k}` is not one of: urgent, maintenance, evolution"))
                })
            })
            .transpose()?;
    let wanted_sla = f
        .sla
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.trim().is_empty())
        .map(State::parse)
        .collect::<Result<HashSet<_>>>()?;
    let project_id = match &f.project {
        Some(p) => Some(project::visible(session, p)?.id),
        None => None,
    };
    let company_id = match &f.client {
        Some(c) => Some(match refs::company(db, c) {
            Ok(co) => co.id,
            Err(_) => refs::client(db, c)?
                .company_id
                .ok_or_else(|| Error::invalid("client", format!("`{c}` has no company")))?,
        }),
        None => None,
    };
    let assignee_id = match f.assignee.as_deref().map(str::trim) {
        Some("@me") => Some(session.actor().id),
        Some(u) => Some(refs::staff(db, "assignee", u, None)?.id),
        None => None,
    };
    let since = f.since.as_deref().map(|d| time::parse_instant("since", d, now)).transpose()?.map(time::format_utc);
    let internal = session.can(Permission::TicketNote);
    let filter = db::ticket::Filter {
        statuses,
        kind,
        project_id,
        company_id,
        assignee_id,
        member_id,
        unread_for: f.unread.then_some((session.actor().id, internal)),
        since,
        created_before: at.map(time::format_utc),
        // At "now", the stored projections answer the SLA filter in SQL (with the limit); at
        // another instant the clocks are evaluated and the limit applies after.
        sla_now: (!wanted_sla.is_empty() && at.is_none())
            .then(|| (wanted_sla.iter().map(|s| *s as u8).collect(), time::format_utc(now))),
        limit: if wanted_sla.is_empty() || at.is_none() { f.limit } else { None },
    };
    let projected = filter.sla_now.is_some();
    let at = at.unwrap_or(now);
    let tickets = if wanted_sla.is_empty() || projected {
        db::ticket::list(db, &filter)?
    } else {
        // Clocks first, on the light clock data; only the page is loaded in full.
        let ids = db::ticket::list_ids(db, &filter)?;
        let clocks = sla_service::evaluate_many(db, Some(&ids), at)?;
        let keep: Vec<i64> = ids
            .into_iter()
            .filter(|id| clocks.get(id).is_some_and(|(a, b)| wanted_sla.contains(&crate::domain::sla::overall(a, b))))
            .take(f.limit.map_or(usize::MAX, |l| l as usize))
            .collect();
        db::ticket::get_many(db, &keep)?
    };
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let clocks = sla_service::evaluate_many(db, Some(&ids), at)?;
    let mut rows = Vec::with_capacity(tickets.len());
    for t in tickets {
        let (state, deadline) = clocks.get(&t.id).map_or((State::Met, None), |(a, b)| summary(a, b));
        rows.push(TicketRow { unread: f.unread, ticket: t, sla: state, sla_deadline: deadline });
    }
    // Read markers only for the rows shown (with --unread they are all unread already).
    if !f.unread {
        let shown: Vec<i64> = rows.iter().map(|r| r.ticket.id).collect();
        let unread = unread_ids(db, &shown, session.actor().id, internal)?;
        for r in &mut rows {
            r.unread = unread.contains(&r.ticket.id);
        }
    }
    Ok(rows)
}

fn unread_ids(r: &impl Read, ids: &[i64], user: i64, internal: bool) -> Result<HashSet<i64>> {
    let mut out = HashSet::new();
    for id in ids {
        if db::ticket::is_unread(r, *id, user, internal)? {
            out.insert(*id);
        }
    }
    Ok(out)
}

/// The thread, oldest first. Internal notes only with `internal` (staff with `ticket:note`);
/// showing marks the thread read for this user.
pub fn show(session: &Session, key: &str, internal: bool) -> Result<TicketView> {
    let t = refs::ticket(session, key)?;
    if internal && !session.can(Permission::TicketNote) {
        return Err(session.deny(
            Permission::TicketNote,
            "ticket",
            Some(t.id),
            "internal notes need the `ticket:note` permission",
        ));
    }
    let db = session.db();
    let messages = db::ticket::messages(db, t.id, internal)?;
    let history = if is_client(session) { Vec::new() } else { db::ticket::history(db, t.id)? };
    let clocks = sla_service::evaluate_many(db, Some(&[t.id]), Utc::now())?;
    let (first, resolution) = clocks.get(&t.id).cloned().ok_or_else(|| Error::internal("no clocks for ticket"))?;
    let all = db::ticket::messages(db, t.id, session.can(Permission::TicketNote))?;
    if let Some(last) = all.last() {
        let grant = session.self_service();
        grant.write(|tx| db::ticket::mark_read(tx, t.id, session.actor().id, last.id))?;
    }
    let (sla, _) = summary(&first, &resolution);
    Ok(TicketView { ticket: t, sla, sla_first_response: first, sla_resolution: resolution, messages, history })
}

fn mime_of(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

/// The size rule for attachments; the CLI asks it before reading a file.
pub fn check_attachment_size(settings: &Settings, name: &str, bytes: u64) -> Result<()> {
    if bytes > settings.max_attachment_bytes {
        return Err(Error::invalid(
            "attach",
            format!("`{name}` is larger than the {} MiB limit", settings.max_attachment_bytes / (1024 * 1024)),
        ));
    }
    Ok(())
}

fn check_attachments(files: &[NewAttachment], settings: &Settings) -> Result<()> {
    for f in files {
        check_attachment_size(settings, &f.name, f.bytes.len() as u64)?;
        validate::text("attach", &f.name, 255)?;
    }
    Ok(())
}

fn store_attachments(tx: &Tx, message: i64, files: &[NewAttachment]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for f in files {
        let sha = hex(&Sha256::digest(&f.bytes));
        db::ticket::put_blob(tx, &sha, &f.bytes)?;
        db::ticket::add_attachment(tx, message, &sha, &f.name, mime_of(&f.name), f.bytes.len() as i64)?;
        names.push(f.name.clone());
    }
    Ok(names)
}

/// E-mails of the people who act on a ticket: its assignee, or else the support team.
pub(super) fn team_emails(r: &impl Read, t: &Ticket) -> Result<Vec<String>> {
    if let Some(id) = t.assignee_id
        && let Some(u) = db::user::get(r, id)?.filter(|u| u.active)
    {
        return Ok(vec![u.email]);
    }
    let team = db::user::list(r, &db::user::Filter { role: Some("support"), ..Default::default() })?;
    Ok(team.into_iter().map(|u| u.email).collect())
}

/// What happened, for an e-mail.
struct Notice<'a> {
    kind: &'static str,
    headline: &'a str,
    body: &'a str,
}

/// Queues one e-mail per recipient (never to the person who acted).
fn notify(tx: &Tx, settings: &Settings, t: &Ticket, to: Vec<String>, actor_email: &str, n: Notice) -> Result<usize> {
    let Notice { kind, headline, body } = n;
    let now = time::format_utc(Utc::now());
    let text = format!(
        "{headline}\n\n{body}\n\nTicket #{} \"{}\" ({}), status: {}.\n-- \nReply with: rolo ticket reply {} --body …\n",
        t.id, t.subject, t.project, t.status, t.id
    );
    let html = format!(
        "<p><strong>{}</strong></p>\n<blockquote>{}</blockquote>\n<p>Ticket #{} &ldquo;{}&rdquo; ({}), status: {}.</p>",
        html_escape(headline),
        html_escape(body),
        t.id,
        html_escape(&t.subject),
        html_escape(&t.project),
        html_escape(&t.status)
    );
    let mut n = 0;
    let mut seen = HashSet::new();
    for addr in to.into_iter().filter(|a| !a.eq_ignore_ascii_case(actor_email)) {
        if !seen.insert(addr.to_lowercase()) {
            continue;
        }
        mail::enqueue(
            tx,
            settings.smtp,
            &Draft {
                to: addr,
                subject: format!("[{} #{}] {}", t.project, t.id, t.subject),
                text: text.clone(),
                html: html.clone(),
                ticket_id: Some(t.id),
                kind,
            },
            &now,
        )?;
        n += 1;
    }
    Ok(n)
}

fn reload(tx: &Tx, id: i64) -> Result<Ticket> {
    db::ticket::get(tx, id)?.ok_or_else(|| Error::internal("ticket vanished inside its own transaction"))
}

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
    let now = time::format_utc(Utc::now());
    let actor = session.actor();
    let from_client = is_client(session);
    grant.write(|tx| {
        let id = db::ticket::insert(tx, p.id, kind, &subject, actor.id, &now)?;
        let mid = db::ticket::add_message(tx, id, actor.id, false, &body, &now)?;
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

fn attachment_note(names: &[String]) -> String {
    if names.is_empty() { String::new() } else { format!(" (attached: {})", names.join(", ")) }
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
    let now = time::format_utc(Utc::now());
    let actor = session.actor();
    grant.write(|tx| {
        let mid = db::ticket::add_message(tx, t.id, actor.id, false, &body, &now)?;
        let names = store_attachments(tx, mid, &attachments)?;
        if !from_client {
            db::ticket::set_first_response(tx, t.id, &now)?;
        }
        if let Some(s) = new_status.filter(|s| *s != t.status) {
            db::ticket::set_status(tx, t.id, actor.id, &t.status, s, &now)?;
        }
        db::ticket::touch(tx, t.id, &now)?;
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
    let now = time::format_utc(Utc::now());
    let actor = session.actor().id;
    grant.write(|tx| {
        let mid = db::ticket::add_message(tx, t.id, actor, true, &body, &now)?;
        store_attachments(tx, mid, &attachments)?;
        db::ticket::touch(tx, t.id, &now)?;
        db::ticket::mark_read(tx, t.id, actor, mid)?;
        let after = reload(tx, t.id)?;
        grant.audit(tx, "ticket.note", "ticket", Some(t.id), None, Some(&serde_json::json!({"message_id": mid})))?;
        Ok(Outcome { ticket: after, emails_queued: 0 })
    })
}

fn check_transition(session: &Session, t: &Ticket, to: &str) -> Result<()> {
    if t.status == to {
        return Err(Error::conflict(format!("ticket {} is already {to}", t.id)));
    }
    if is_client(session) {
        if !client_may(&t.status, to) {
            return Err(session.deny(
                Permission::TicketStatus,
                "ticket",
                Some(t.id),
                "a client may only reopen its ticket; staff move it otherwise (`ticket:status`)",
            ));
        }
    } else if !staff_may(&t.status, to) {
        return Err(Error::conflict(format!(
            "ticket {} cannot go from {} to {to} (closed tickets can only be reopened)",
            t.id, t.status
        )));
    }
    Ok(())
}

/// Moves a ticket to another status (transition table above). Staff changes are public
/// updates: the client is e-mailed.
pub fn set_status(session: &Session, settings: &Settings, key: &str, status: &str) -> Result<Outcome> {
    let t = refs::ticket(session, key)?;
    let grant: Grant = session.require(Permission::TicketStatus)?;
    let to = parse_status(status)?;
    check_transition(session, &t, to)?;
    let now = time::format_utc(Utc::now());
    let actor = session.actor();
    grant.write(|tx| {
        db::ticket::set_status(tx, t.id, actor.id, &t.status, to, &now)?;
        sla_service::reproject(tx, Some(&[t.id]), Utc::now())?;
        let after = reload(tx, t.id)?;
        let headline = format!("{} changed the status from {} to {to}.", actor.full_name, t.status);
        let to_list =
            if is_client(session) { team_emails(tx, &after)? } else { project::client_emails(tx, after.project_id)? };
        let queued = notify(
            tx,
            settings,
            &after,
            to_list,
            &actor.email,
            Notice { kind: "ticket.status", headline: &headline, body: "" },
        )?;
        grant.audit(tx, "ticket.status", "ticket", Some(t.id), Some(&t), Some(&after))?;
        Ok(Outcome { ticket: after, emails_queued: queued })
    })
}

/// Assigns a ticket to a collaborator who can answer tickets.
pub fn assign(session: &Session, settings: &Settings, key: &str, username: &str) -> Result<Outcome> {
    let t = refs::ticket(session, key)?;
    let grant = session.require(Permission::TicketAssign)?;
    let user = refs::staff(session.db(), "assignee", username, None)?;
    let perms = db::role::permissions_of_user(session.db(), user.id)?;
    if !perms.iter().any(|p| p == Permission::TicketReply.as_str()) {
        return Err(Error::invalid("assignee", format!("`{}` cannot answer tickets (no ticket:reply)", user.username)));
    }
    if t.assignee_id == Some(user.id) {
        return Err(Error::conflict(format!("ticket {} is already assigned to {}", t.id, user.username)));
    }
    let now = time::format_utc(Utc::now());
    let actor = session.actor();
    grant.write(|tx| {
        db::ticket::set_assignee(tx, t.id, actor.id, t.assignee.as_deref(), Some((user.id, &user.username)), &now)?;
        let after = reload(tx, t.id)?;
        let headline = format!("{} assigned this ticket to you.", actor.full_name);
        let queued = notify(
            tx,
            settings,
            &after,
            vec![user.email.clone()],
            &actor.email,
            Notice { kind: "ticket.assign", headline: &headline, body: "" },
        )?;
        grant.audit(tx, "ticket.assign", "ticket", Some(t.id), Some(&t), Some(&after))?;
        Ok(Outcome { ticket: after, emails_queued: queued })
    })
}

/// An attachment's bytes, if the user may see the message it belongs to.
pub fn attachment(session: &Session, id: i64) -> Result<(AttachmentInfo, Vec<u8>)> {
    let Some((info, ticket_id, internal)) = db::ticket::attachment(session.db(), id)? else {
        return Err(Error::not_found("attachment", id));
    };
    // The ticket must be readable: a foreign attachment does not exist for a client.
    refs::ticket(session, &ticket_id.to_string())
        .map_err(|e| if e.kind() == crate::ErrorKind::NotFound { Error::not_found("attachment", id) } else { e })?;
    if internal && !session.can(Permission::TicketNote) {
        // An internal note's file does not exist for a client.
        return Err(Error::not_found("attachment", id));
    }
    let bytes = db::ticket::blob(session.db(), &info.sha256)?;
    Ok((info, bytes))
}

/// The instant to evaluate at: `--at` or now.
pub fn instant(at: Option<&str>) -> Result<DateTime<Utc>> {
    let now = Utc::now();
    at.map(|d| time::parse_instant("at", d, now)).transpose().map(|t| t.unwrap_or(now))
}
