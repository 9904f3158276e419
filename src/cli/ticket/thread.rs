//! `rolo ticket list|show|create|reply|note|status|assign|attachment`: the tickets and their
//! threads.

use std::path::PathBuf;

use super::{AttachmentCommand, COLUMNS, TicketCommand, read_attachments, read_body, sla_color};
use crate::cli::Ctx;
use crate::cli::output::{new_table, when};
use crate::db::Db;
use crate::service::{Session, sla, ticket};
use crate::{Error, Result};

const OUTCOME_COLUMNS: &[&str] = &["id", "project", "type", "subject", "status", "assignee", "emails_queued"];

pub(super) fn run(ctx: &Ctx, db: &Db, session: &Session, cmd: TicketCommand) -> Result<()> {
    let settings = ctx.ticket_settings();
    let changed = |o: ticket::Outcome, what: &str| -> Result<()> {
        ctx.out.status(format!(
            "{what} ticket {} ({}); {} e-mail(s) queued.",
            o.ticket.id, o.ticket.status, o.emails_queued
        ));
        ctx.deliver_mail(db);
        ctx.out.record(&o, OUTCOME_COLUMNS)
    };
    match cmd {
        TicketCommand::List { status, kind, project, client, assignee, sla, unread, since, at, limit } => {
            let filter = ticket::ListFilter {
                statuses: status,
                kind,
                project,
                client,
                assignee,
                sla,
                unread,
                since,
                at,
                limit,
                before_id: None,
            };
            let rows = ticket::list(session, &filter)?;
            ctx.out.list_styled(&rows, COLUMNS, "No tickets match.", Some(sla_color))
        }
        TicketCommand::Show { id, internal } => {
            let v = ticket::show(session, &id, internal)?;
            ctx.out.record_with(&v, COLUMNS, Some(thread(&v)))
        }
        TicketCommand::Create { project, kind, subject, body, attach } => {
            let input = ticket::NewTicket {
                project: ctx.prompt.text(project, "Project", "--project")?,
                kind: ctx.prompt.select(kind, "Type", &sla::TYPES, "--type")?,
                subject: ctx.prompt.text(subject, "Subject", "--subject")?,
                body: read_body(ctx, body)?,
                attachments: read_attachments(ctx, &attach)?,
            };
            changed(ticket::create(session, &settings, input)?, "Opened")
        }
        TicketCommand::Reply { id, body, attach, status } => {
            let (text, files) = (read_body(ctx, body)?, read_attachments(ctx, &attach)?);
            changed(ticket::reply(session, &settings, &id, &text, files, status.as_deref())?, "Replied to")
        }
        TicketCommand::Note { id, body, attach } => {
            let (text, files) = (read_body(ctx, body)?, read_attachments(ctx, &attach)?);
            changed(ticket::note(session, &settings, &id, &text, files)?, "Noted on")
        }
        TicketCommand::Status { id, status } => changed(ticket::set_status(session, &settings, &id, &status)?, "Moved"),
        TicketCommand::Assign { id, user } => changed(ticket::assign(session, &settings, &id, &user)?, "Assigned"),
        TicketCommand::Attachment(AttachmentCommand::Get { id, output }) => save_attachment(ctx, session, id, output),
        TicketCommand::Project(_) | TicketCommand::Sla(_) => unreachable!("dispatched by ticket::run"),
    }
}

/// `ticket attachment get`: to stdout with `-o -`, else to a file that must not exist yet.
fn save_attachment(ctx: &Ctx, session: &Session, id: i64, output: Option<PathBuf>) -> Result<()> {
    let (info, bytes) = ticket::attachment(session, id)?;
    if output.as_deref().is_some_and(|p| p.as_os_str() == "-") {
        return crate::cli::output::raw(&bytes);
    }
    let path = output.unwrap_or_else(|| PathBuf::from(sanitize(&info.name)));
    if path.exists() {
        return Err(Error::conflict(format!("{} already exists; choose another name with -o", path.display())));
    }
    std::fs::write(&path, &bytes)?;
    ctx.out.status(format!("Saved {} ({} bytes, {}).", path.display(), info.size, info.mime));
    Ok(())
}

/// A file name safe to write in the current folder.
fn sanitize(name: &str) -> String {
    let clean: String = name.chars().map(|c| if c == '/' || c == '\\' || c.is_control() { '_' } else { c }).collect();
    let clean = clean.trim_start_matches('.').to_string();
    if clean.is_empty() { "attachment".into() } else { clean }
}

/// The thread as a person reads it: a header, then messages oldest first.
fn thread(v: &ticket::TicketView) -> String {
    let t = &v.ticket;
    let mut head = new_table();
    let deadline = [v.sla_first_response.deadline, v.sla_resolution.deadline].into_iter().flatten().min();
    let sla = match deadline {
        Some(d) => format!("{} (next deadline {})", v.sla, crate::domain::time::display_local(d)),
        None => v.sla.to_string(),
    };
    for (k, val) in [
        ("Ticket", format!("#{} {}", t.id, t.subject)),
        ("Project", format!("{} ({})", t.project, t.company)),
        ("Status", t.status.clone()),
        ("Type", t.kind.clone()),
        ("SLA", sla),
        ("Assignee", t.assignee.clone().unwrap_or_else(|| "(unassigned)".into())),
        ("Opened", format!("{} by {}", when(&t.created_at), t.author)),
    ] {
        head.add_row(vec![k.to_string(), val]);
    }
    let mut out = head.to_string();
    for m in &v.messages {
        let mark = if m.internal { "  [INTERNAL NOTE]" } else { "" };
        out.push_str(&format!("\n\n── {} · {}{mark}\n{}", m.author_name, when(&m.created_at), m.body));
        for a in &m.attachments {
            out.push_str(&format!("\n  📎 #{} {} ({}, {} bytes)", a.id, a.name, a.mime, a.size));
        }
    }
    out
}
