//! `rolo ticket …`: tickets, their projects, SLA policies and checks, attachments. The clap
//! tree is here; each group of verbs has its file (`thread`, `project`, `sla`).

mod project;
mod sla;
mod thread;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::Ctx;
use crate::service::ticket;
use crate::{Error, Result};

pub(super) const COLUMNS: &[&str] =
    &["id", "project", "type", "subject", "status", "assignee", "sla", "sla_deadline", "unread"];

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Tickets you may see, newest first (JSON keys: id, project_id, project, company, type, subject, status, author_id,
    /// author, assignee_id, assignee, first_response_at, created_at, updated_at, sla, sla_deadline, unread)
    List {
        /// Only these statuses: open, in_progress, waiting_client, resolved, closed (comma-separated)
        #[arg(long)]
        status: Vec<String>,
        /// urgent, maintenance or evolution
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// Project id or exact name
        #[arg(long)]
        project: Option<String>,
        /// Client company (id or name) or a client's e-mail
        #[arg(long)]
        client: Option<String>,
        /// Assignee username, or @me
        #[arg(long)]
        assignee: Option<String>,
        /// SLA state: ok, at-risk, breached, paused, met (comma-separated)
        #[arg(long)]
        sla: Vec<String>,
        /// Only tickets with messages I have not read
        #[arg(long)]
        unread: bool,
        /// Only tickets created since this date
        #[arg(allow_hyphen_values = true, long)]
        since: Option<String>,
        /// Evaluate as of another instant (2026-11-20 14:00, -2h, +3d…)
        #[arg(allow_hyphen_values = true, long)]
        at: Option<String>,
        /// At most N tickets
        #[arg(long)]
        limit: Option<u32>,
    },
    /// The thread, oldest first; --internal adds internal notes (staff)
    Show {
        /// The ticket id
        id: String,
        /// Include internal notes (staff with ticket:note)
        #[arg(long)]
        internal: bool,
    },
    /// Open a ticket on a project
    Create {
        /// The project (id or exact name)
        #[arg(long)]
        project: Option<String>,
        /// urgent, maintenance or evolution
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// One line that says what is wrong or wanted
        #[arg(long)]
        subject: Option<String>,
        #[command(flatten)]
        body: BodyArgs,
        /// A file to attach (repeat for several)
        #[arg(long = "attach", value_name = "FILE")]
        attach: Vec<PathBuf>,
    },
    /// A public reply (e-mailed to the client)
    Reply {
        /// The ticket id
        id: String,
        #[command(flatten)]
        body: BodyArgs,
        /// A file to attach (repeat the flag for several)
        #[arg(long = "attach", value_name = "FILE")]
        attach: Vec<PathBuf>,
        /// Also move the ticket to this status
        #[arg(long)]
        status: Option<String>,
    },
    /// An internal note (never e-mailed to the client)
    Note {
        /// The ticket id
        id: String,
        #[command(flatten)]
        body: BodyArgs,
        /// A file to attach (repeat the flag for several)
        #[arg(long = "attach", value_name = "FILE")]
        attach: Vec<PathBuf>,
    },
    /// Move a ticket: open, in_progress, waiting_client, resolved, closed (clients only reopen)
    Status {
        /// The ticket id
        id: String,
        /// The new status: open, in_progress, waiting_client, resolved or closed
        status: String,
    },
    /// Assign a ticket to a collaborator
    Assign {
        /// The ticket id
        id: String,
        /// The collaborator who takes it (username)
        user: String,
    },
    /// Attachments of a ticket's messages
    #[command(subcommand)]
    Attachment(AttachmentCommand),
    /// Client projects and who may see them
    #[command(subcommand)]
    Project(ProjectCommand),
    /// SLA policies, checks and explanations
    #[command(subcommand)]
    Sla(SlaCommand),
}

#[derive(Debug, Args)]
pub struct BodyArgs {
    /// The text (`-` reads stdin); on a terminal with no body, $EDITOR opens
    #[arg(long)]
    body: Option<String>,
    /// Read the text from a file
    #[arg(long, conflicts_with = "body")]
    body_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AttachmentCommand {
    /// Save an attachment (to its own name, or -o FILE; `-o -` writes stdout)
    Get {
        /// The attachment id (shown by `ticket show`)
        id: i64,
        /// Write to this file (`-` for stdout; default: the attachment's name)
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Projects I may see (JSON keys: id, name, company_id, company, description, open_tickets, created_at, updated_at)
    List {
        /// Only projects of this company (id or exact name)
        #[arg(long)]
        company: Option<String>,
    },
    /// A project, with the client accounts granted to it
    Show {
        /// The project (id or exact name)
        project: String,
    },
    /// Create a project for a client company
    Create {
        /// The project's name (unique)
        #[arg(long)]
        name: Option<String>,
        /// The client company it is for (id or exact name)
        #[arg(long)]
        company: Option<String>,
        /// What the project delivers
        #[arg(long)]
        description: Option<String>,
    },
    /// Let a client account see a project
    Grant {
        /// The project (id or exact name)
        project: String,
        /// The client account to grant (username)
        #[arg(long)]
        user: String,
    },
    /// Take a client account's access away
    Revoke {
        /// The project (id or exact name)
        project: String,
        /// The client account to revoke (username)
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SlaCommand {
    /// Policies per ticket type
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// For cron: list at-risk and breached clocks, queue each notice once; exit 10 if any at
    /// risk, 11 if any breached
    Check {
        /// Evaluate as of this instant (default now; e.g. +3d, 2026-12-01 09:00)
        #[arg(allow_hyphen_values = true, long)]
        at: Option<String>,
    },
    /// Recompute every ticket's stored SLA projection (after a restore or changes made
    /// outside Rolo); policy changes do this by themselves
    Recompute,
    /// How each deadline of a ticket was computed
    Explain {
        /// The ticket id
        id: String,
        /// Explain as of this instant (default now)
        #[arg(allow_hyphen_values = true, long)]
        at: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// JSON keys: type, first_response_minutes, resolution_minutes, warn_percent, calendar, updated_at
    List,
    /// Change a type's targets and calendar; `d` counts working days of the calendar
    Set {
        /// urgent, maintenance or evolution
        #[arg(value_name = "TYPE")]
        kind: String,
        /// First-response target, e.g. 1h, 4h, 1d (days are working days)
        #[arg(long)]
        first_response: Option<String>,
        /// Resolution target, e.g. 8h, 2d (days are working days)
        #[arg(long)]
        resolution: Option<String>,
        /// Warning threshold, e.g. 75%
        #[arg(long)]
        warn: Option<String>,
        /// IANA time zone of the business hours, e.g. Europe/Paris
        #[arg(long)]
        time_zone: Option<String>,
        /// Weekly hours: "mon-fri 09:00-12:00,13:00-18:00; sat 09:00-12:00" or "24x7"
        #[arg(long)]
        hours: Option<String>,
        /// A holiday (YYYY-MM-DD; repeat; replaces the list)
        #[arg(long = "holiday", value_name = "DATE")]
        holidays: Vec<String>,
        /// Remove every holiday
        #[arg(long, conflicts_with = "holidays")]
        no_holidays: bool,
    },
}

pub(super) fn read_body(ctx: &Ctx, b: BodyArgs) -> Result<String> {
    match (b.body, b.body_file) {
        (Some(t), _) if t == "-" => Ok(std::io::read_to_string(std::io::stdin())?),
        (Some(t), _) => Ok(t),
        (None, Some(f)) => {
            std::fs::read_to_string(&f).map_err(|e| Error::invalid("body", format!("cannot read {}: {e}", f.display())))
        }
        (None, None) => ctx
            .prompt
            .edit_toml("", "--body TEXT, --body - or --body-file FILE")?
            .ok_or_else(|| Error::usage("no text given; nothing was sent")),
    }
}

pub(super) fn read_attachments(ctx: &Ctx, paths: &[PathBuf]) -> Result<Vec<ticket::NewAttachment>> {
    let settings = ctx.ticket_settings();
    paths
        .iter()
        .map(|p| {
            let unreadable = |e: std::io::Error| Error::invalid("attach", format!("cannot read {}: {e}", p.display()));
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "attachment".into());
            // Asked before reading, so a huge file is refused without loading it.
            ticket::check_attachment_size(&settings, &name, std::fs::metadata(p).map_err(unreadable)?.len())?;
            let bytes = std::fs::read(p).map_err(unreadable)?;
            Ok(ticket::NewAttachment { name, bytes })
        })
        .collect()
}

pub(super) fn sla_color(column: &str, v: &Value) -> Option<comfy_table::Color> {
    match (column, v.as_str()) {
        ("sla" | "state", Some("at-risk")) => Some(comfy_table::Color::Yellow),
        ("sla" | "state", Some("breached")) => Some(comfy_table::Color::Red),
        _ => None,
    }
}

pub fn run(ctx: &Ctx, cmd: TicketCommand) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    match cmd {
        TicketCommand::Project(cmd) => project::run(ctx, &session, cmd),
        TicketCommand::Sla(cmd) => sla::run(ctx, &db, &session, cmd),
        cmd => thread::run(ctx, &db, &session, cmd),
    }
}
