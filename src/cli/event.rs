//! `rolo event …`, with the spreadsheet card of seed 002 as the show view.

use chrono::Timelike;
use clap::{Args, Subcommand};

use super::Ctx;
use super::edit::edit;
use super::output::new_table;
use crate::Result;
use crate::domain::time;
use crate::service::event;

const COLUMNS: &[&str] =
    &["id", "name", "client_name", "starts_at", "ends_at", "support_contact", "location", "attendees"];

#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// List events by start (JSON keys: id, contract_id, name, client_id, client_name, client_email,
    /// client_phone, company, sales_contact_id, starts_at, ends_at, support_contact_id,
    /// support_contact, support_contact_name, location, attendees, notes, created_at, updated_at)
    List {
        /// Only events with no support contact yet
        #[arg(long)]
        no_support: bool,
        /// Only events assigned to me
        #[arg(long)]
        mine: bool,
        /// Only events assigned to this support user
        #[arg(long)]
        support: Option<String>,
        /// Only events of this contract
        #[arg(long)]
        contract: Option<String>,
        /// Only events still running at or after this date
        #[arg(allow_hyphen_values = true, long)]
        from: Option<String>,
        /// Only events starting before this date
        #[arg(allow_hyphen_values = true, long)]
        to: Option<String>,
        /// At most N events
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show an event as a card
    Show {
        /// The event id
        id: String,
    },
    /// Create an event for one of your clients, on a signed contract
    Create {
        /// The signed contract
        #[arg(long)]
        contract: Option<String>,
        #[command(flatten)]
        fields: EventArgs,
        /// Keep this event number (from another system)
        #[arg(long)]
        id: Option<i64>,
    },
    /// Change an event (management, or its support contact); no flag opens $EDITOR
    Update {
        /// The event id
        id: String,
        #[command(flatten)]
        fields: EventArgs,
    },
    /// Assign the support contact (management)
    Assign {
        /// The event id
        id: String,
        /// A user with the support role (a select list on a terminal)
        #[arg(long)]
        support: Option<String>,
        /// Remove the support contact
        #[arg(long, conflicts_with = "support")]
        none: bool,
    },
    /// Import events (CSV, JSON lines or .xlsx; matched on id, else on contract, name and start); columns: id,contract,name,start,end,support,location,attendees,notes
    Import(super::import::ImportArgs),
    /// Export every event in the import columns (CSV, or JSON lines with --format json)
    Export,
}

#[derive(Debug, Args)]
pub struct EventArgs {
    /// Event name
    #[arg(long)]
    name: Option<String>,
    /// Start: 2023-06-04 13:00, "4 Jun 2023 @ 1PM", RFC 3339…
    #[arg(allow_hyphen_values = true, long)]
    start: Option<String>,
    /// End, after the start
    #[arg(allow_hyphen_values = true, long)]
    end: Option<String>,
    /// Where it takes place (any text, accents welcome)
    #[arg(long)]
    location: Option<String>,
    /// Expected number of attendees
    #[arg(long, allow_hyphen_values = true)]
    attendees: Option<i64>,
    /// Notes (`-` reads them from stdin)
    #[arg(long)]
    notes: Option<String>,
}

impl EventArgs {
    fn input(self) -> Result<event::EventInput> {
        let notes = match self.notes.as_deref() {
            Some("-") => Some(std::io::read_to_string(std::io::stdin())?),
            _ => self.notes,
        };
        Ok(event::EventInput {
            name: self.name,
            start: self.start,
            end: self.end,
            location: self.location,
            attendees: self.attendees,
            notes,
        })
    }
}

pub fn run(ctx: &Ctx, cmd: EventCommand) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    match cmd {
        EventCommand::Import(args) => {
            super::import::run_import(ctx, &session, args, None, "events", &|s, input, opts, progress| {
                crate::service::import::import_events(s, input, opts, progress)
            })
        }
        EventCommand::Export => {
            super::import::run_export(ctx, crate::service::import::EVENT_EXPORT, "events", &|emit| {
                crate::service::import::export_events(&session, emit)
            })
        }
        EventCommand::List { no_support, mine, support, contract, from, to, limit } => {
            let items =
                event::list(&session, &event::ListFilter { no_support, mine, support, contract, from, to, limit })?;
            ctx.out.list(&items, COLUMNS, "No events match.")
        }
        EventCommand::Show { id } => {
            let e = event::show(&session, &id)?;
            ctx.out.record_with(&e, COLUMNS, Some(card(&e)))
        }
        EventCommand::Create { contract, fields, id } => {
            let contract = ctx.prompt.text(contract, "Contract id", "--contract")?;
            let mut input = fields.input()?;
            input.name = Some(ctx.prompt.text(input.name, "Event name", "--name")?);
            input.start = Some(ctx.prompt.text(input.start, "Start (e.g. 4 Jun 2023 @ 1PM)", "--start")?);
            input.end = Some(ctx.prompt.text(input.end, "End", "--end")?);
            input.location = ctx.prompt.optional(input.location, "Location (optional)")?;
            let created = event::create(&session, &event::NewEvent { id, contract, fields: input })?;
            ctx.out.status(format!("Created event {} ({}).", created.id, created.name));
            ctx.out.record_with(&created, COLUMNS, Some(card(&created)))
        }
        EventCommand::Update { id, fields } => {
            let mut input = fields.input()?;
            if input.is_empty() {
                let current = event::show(&session, &id)?;
                match edit(ctx, "the event", &event::EventInput::from_event(&current), "--name, --start, --notes…")? {
                    Some(patch) => input = patch,
                    None => {
                        ctx.out.status("No changes.");
                        return Ok(());
                    }
                }
            }
            let updated = event::update(&session, &id, &input)?;
            ctx.out.status(format!("Updated event {}.", updated.id));
            ctx.out.record_with(&updated, COLUMNS, Some(card(&updated)))
        }
        EventCommand::Assign { id, support, none } => {
            let support = match (support, none) {
                (_, true) => None,
                (Some(s), false) => Some(s),
                (None, false) => {
                    let names = event::support_candidates(&session)?;
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    Some(ctx.prompt.select(None, "Support contact", &names, "--support or --none")?)
                }
            };
            let updated = event::assign(&session, &id, support.as_deref())?;
            match &updated.support_contact_name {
                Some(n) => ctx.out.status(format!("Event {} is assigned to {n}.", updated.id)),
                None => ctx.out.status(format!("Event {} has no support contact now.", updated.id)),
            }
            ctx.out.record_with(&updated, COLUMNS, Some(card(&updated)))
        }
    }
}

/// `4 Jun 2023 @ 1PM` (minutes shown only when not zero), in the user's time zone.
fn spreadsheet_date(stored: &str) -> String {
    let Ok(t) = time::parse_stored(stored) else { return stored.to_string() };
    let local = t.with_timezone(&chrono::Local);
    if local.minute() == 0 {
        local.format("%-d %b %Y @ %-I%p").to_string()
    } else {
        local.format("%-d %b %Y @ %-I:%M%p").to_string()
    }
}

/// The event as the support team's spreadsheet shows it. With a company, the client name is
/// the company's and the contact names the person; without, the contact is e-mail and phone.
fn card(e: &event::Event) -> String {
    let (client_name, contact) = match &e.company {
        Some(company) => (company.clone(), format!("{} {}", e.client_name, e.client_email)),
        None => (e.client_name.clone(), e.client_email.clone()),
    };
    let contact = match &e.client_phone {
        Some(p) => format!("{contact} {p}"),
        None => contact,
    };
    let mut t = new_table();
    for (k, v) in [
        ("Event ID", e.id.to_string()),
        ("Contract ID", e.contract_id.to_string()),
        ("Client name", client_name),
        ("Client contact", contact),
        ("Event date start", spreadsheet_date(&e.starts_at)),
        ("Event date end", spreadsheet_date(&e.ends_at)),
        ("Support contact", e.support_contact_name.clone().unwrap_or_default()),
        ("Location", e.location.clone()),
        ("Attendees", e.attendees.to_string()),
        ("Notes", e.notes.clone()),
    ] {
        t.add_row(vec![k.to_string(), v]);
    }
    format!("{}\n{t}", e.name)
}
