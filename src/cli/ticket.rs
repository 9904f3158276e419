//! `rolo ticket …`: tickets, their projects, SLA policies and checks, attachments.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::Ctx;
use super::output::{new_table, when};
use crate::service::{project, sla, ticket};
use crate::{Error, Result};

const COLUMNS: &[&str] = &["id", "project", "type", "subject", "status", "assignee", "sla", "sla_deadline", "unread"];
const PROJECT_COLUMNS: &[&str] = &["id", "name", "company", "open_tickets", "created_at"];
const ALERT_COLUMNS: &[&str] = &["ticket_id", "project", "type", "subject", "assignee", "clock", "state", "deadline"];

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Newest first (JSON keys: id, project_id, project, company, type, subject, status, author_id,
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
        #[arg(long)]
        since: Option<String>,
        /// Evaluate as of another instant (2026-11-20 14:00, -2h, +3d…)
        #[arg(long)]
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
    /// The new status: open, in_progress, waiting_client, resolved or closed
    Status {
        /// The ticket id
        id: String,
        /// The new status: open, in_progress, waiting_client, resolved or closed
        status: String,
    },
    /// Assign a ticket to a collaborator
    /// The collaborator who takes it (username)
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
        #[arg(long)]
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
        #[arg(long)]
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

fn read_body(ctx: &Ctx, b: BodyArgs) -> Result<String> {
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

fn read_attachments(ctx: &Ctx, paths: &[PathBuf]) -> Result<Vec<ticket::NewAttachment>> {
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

fn sla_color(column: &str, v: &Value) -> Option<comfy_table::Color> {
    match (column, v.as_str()) {
        ("sla" | "state", Some("at-risk")) => Some(comfy_table::Color::Yellow),
        ("sla" | "state", Some("breached")) => Some(comfy_table::Color::Red),
        _ => None,
    }
}

pub fn run(ctx: &Ctx, cmd: TicketCommand) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    let settings = ctx.ticket_settings();
    let outcome = |o: ticket::Outcome, what: &str| -> Result<()> {
        ctx.out.status(format!(
            "{what} ticket {} ({}); {} e-mail(s) queued.",
            o.ticket.id, o.ticket.status, o.emails_queued
        ));
        ctx.deliver_mail(&db);
        ctx.out.record(&o, &["id", "project", "type", "subject", "status", "assignee", "emails_queued"])
    };
    match cmd {
        TicketCommand::List { status, kind, project, client, assignee, sla, unread, since, at, limit } => {
            let rows = ticket::list(
                &session,
                &ticket::ListFilter {
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
                },
            )?;
            ctx.out.list_styled(&rows, COLUMNS, "No tickets match.", Some(sla_color))
        }
        TicketCommand::Show { id, internal } => {
            let v = ticket::show(&session, &id, internal)?;
            let thread = thread(&v);
            ctx.out.record_with(&v, COLUMNS, Some(thread))
        }
        TicketCommand::Create { project, kind, subject, body, attach } => {
            let input = ticket::NewTicket {
                project: ctx.prompt.text(project, "Project", "--project")?,
                kind: ctx.prompt.select(kind, "Type", &sla::TYPES, "--type")?,
                subject: ctx.prompt.text(subject, "Subject", "--subject")?,
                body: read_body(ctx, body)?,
                attachments: read_attachments(ctx, &attach)?,
            };
            outcome(ticket::create(&session, &settings, input)?, "Opened")
        }
        TicketCommand::Reply { id, body, attach, status } => {
            let text = read_body(ctx, body)?;
            let files = read_attachments(ctx, &attach)?;
            outcome(ticket::reply(&session, &settings, &id, &text, files, status.as_deref())?, "Replied to")
        }
        TicketCommand::Note { id, body, attach } => {
            let text = read_body(ctx, body)?;
            let files = read_attachments(ctx, &attach)?;
            outcome(ticket::note(&session, &settings, &id, &text, files)?, "Noted on")
        }
        TicketCommand::Status { id, status } => {
            outcome(ticket::set_status(&session, &settings, &id, &status)?, "Moved")
        }
        TicketCommand::Assign { id, user } => outcome(ticket::assign(&session, &settings, &id, &user)?, "Assigned"),
        TicketCommand::Attachment(AttachmentCommand::Get { id, output }) => {
            let (info, bytes) = ticket::attachment(&session, id)?;
            match output.as_deref() {
                Some(p) if p.as_os_str() == "-" => super::output::raw(&bytes),
                _ => {
                    let path = output.unwrap_or_else(|| PathBuf::from(sanitize(&info.name)));
                    if path.exists() {
                        return Err(Error::conflict(format!(
                            "{} already exists; choose another name with -o",
                            path.display()
                        )));
                    }
                    std::fs::write(&path, &bytes)?;
                    ctx.out.status(format!("Saved {} ({} bytes, {}).", path.display(), info.size, info.mime));
                    Ok(())
                }
            }
        }
        TicketCommand::Project(cmd) => match cmd {
            ProjectCommand::List { company } => {
                ctx.out.list(&project::list(&session, company.as_deref())?, PROJECT_COLUMNS, "No projects.")
            }
            ProjectCommand::Show { project: key } => {
                let p = project::visible(&session, &key)?;
                let members = project::members(&session, &p)?;
                let mut record = serde_json::to_value(&p)?;
                record["client_accounts"] = serde_json::json!(members);
                ctx.out.record(&record, &["id", "name", "company", "description", "open_tickets", "client_accounts"])
            }
            ProjectCommand::Create { name, company, description } => {
                let name = ctx.prompt.text(name, "Project name", "--name")?;
                let company = ctx.prompt.text(company, "Client company", "--company")?;
                let p = project::create(&session, &name, &company, description.as_deref().unwrap_or(""))?;
                ctx.out.status(format!("Created project {} ({}).", p.id, p.name));
                ctx.out.record(&p, PROJECT_COLUMNS)
            }
            ProjectCommand::Grant { project: key, user } => {
                let p = project::set_access(&session, &key, &user, true)?;
                ctx.out.status(format!("`{user}` may now see project {}.", p.name));
                Ok(())
            }
            ProjectCommand::Revoke { project: key, user } => {
                let p = project::set_access(&session, &key, &user, false)?;
                ctx.out.status(format!("`{user}` no longer sees project {}.", p.name));
                Ok(())
            }
        },
        TicketCommand::Sla(cmd) => match cmd {
            SlaCommand::Policy(PolicyCommand::List) => ctx.out.list(
                &sla::list_policies(&session)?,
                &["type", "first_response_minutes", "resolution_minutes", "warn_percent", "calendar"],
                "No policies.",
            ),
            SlaCommand::Policy(PolicyCommand::Set {
                kind,
                first_response,
                resolution,
                warn,
                time_zone,
                hours,
                holidays,
                no_holidays,
            }) => {
                let holidays = if no_holidays {
                    Some(Vec::new())
                } else if holidays.is_empty() {
                    None
                } else {
                    Some(holidays)
                };
                let p = sla::set_policy(
                    &session,
                    &kind,
                    &sla::PolicyInput { first_response, resolution, warn, time_zone, hours, holidays },
                )?;
                ctx.out.status(format!("SLA policy for {} tickets updated.", p.kind));
                ctx.out
                    .record(&p, &["type", "first_response_minutes", "resolution_minutes", "warn_percent", "calendar"])
            }
            SlaCommand::Check { at } => {
                let at = ticket::instant(at.as_deref())?;
                let report = sla::check(&session, &ctx.config.smtp, at)?;
                ctx.deliver_mail(&db);
                match ctx.out.format {
                    super::Format::Table => ctx.out.list_styled(&report.alerts, ALERT_COLUMNS, "", Some(sla_color))?,
                    super::Format::Csv => ctx.out.list(&report.alerts, ALERT_COLUMNS, "")?,
                    super::Format::Json => ctx.out.record(&report, &[])?,
                }
                let summary = format!(
                    "{} open ticket(s) checked: {} at risk, {} breached; {} notice(s) queued.",
                    report.checked, report.at_risk, report.breached, report.notices_queued
                );
                if report.breached > 0 {
                    ctx.set_exit(super::EXIT_SLA_BREACHED);
                    ctx.out.notice(summary);
                } else if report.at_risk > 0 {
                    ctx.set_exit(super::EXIT_SLA_AT_RISK);
                    ctx.out.notice(summary);
                } else {
                    ctx.out.status(summary);
                }
                Ok(())
            }
            SlaCommand::Recompute => {
                let n = sla::recompute(&session)?;
                ctx.out.status(format!("Recomputed the SLA projection of {n} ticket(s)."));
                Ok(())
            }
            SlaCommand::Explain { id, at } => {
                let e = sla::explain(&session, &id, ticket::instant(at.as_deref())?)?;
                let text = e.steps.join("\n");
                ctx.out.record_with(&e, &["ticket_id", "type", "at", "warn_percent"], Some(text))
            }
        },
    }
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
