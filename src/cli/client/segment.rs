//! `rolo client segment …`: saved filters over clients; count them, freeze them into groups.

use clap::Subcommand;

use crate::Result;
use crate::cli::Ctx;
use crate::service::{Session, group};

use super::CLIENT_COLUMNS;
use super::group::GROUP_COLUMNS;

const SEGMENT_COLUMNS: &[&str] = &["id", "name", "filter", "description", "updated_at"];

#[derive(Debug, Subcommand)]
pub enum SegmentCommand {
    /// Saved segments (JSON keys: id, name, filter, description, created_at, created_by, updated_at)
    List,
    /// The clients a segment selects now (or a --filter tried on the spot). JSON keys: name,
    /// filter, count, clients
    Show {
        /// Name or id of a saved segment
        segment: Option<String>,
        /// A filter to try without saving it
        #[arg(long, conflicts_with = "segment")]
        filter: Option<String>,
        /// Only how many clients it selects
        #[arg(long)]
        count: bool,
        /// List at most N clients
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Save a filter, e.g. --filter 'stage in (lead, qualified) and consent = granted and last_contact < -90d'
    ///
    /// Subjects: name, email, phone, stage, consent, company, sales, group, created,
    /// first_contact, last_contact, and custom field keys. Tests: = != < <= > >= ~ (contains),
    /// in (a, b), is [not] empty; joined with and, or, not and parentheses.
    Create {
        /// The segment's name (unique, case ignored)
        name: String,
        /// The filter, e.g. "stage in (lead, qualified) and consent = granted"
        #[arg(long)]
        filter: String,
        /// What the segment is for
        #[arg(long)]
        description: Option<String>,
    },
    /// Change a segment's filter or description
    Update {
        /// The segment (name or id)
        segment: String,
        /// A new filter
        #[arg(long)]
        filter: Option<String>,
        /// A new description
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a saved segment
    Delete {
        /// The segment to delete (name or id)
        segment: String,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Freeze the clients a segment selects now into a new group
    Freeze {
        /// The segment (name or id)
        segment: String,
        /// The new group's name
        #[arg(long)]
        into: String,
    },
}

pub(super) fn run(ctx: &Ctx, session: &Session, cmd: SegmentCommand) -> Result<()> {
    match cmd {
        SegmentCommand::List => ctx.out.list(&group::list_segments(session)?, SEGMENT_COLUMNS, "No segments yet."),
        SegmentCommand::Show { segment, filter, count, limit } => {
            let r = group::run(session, segment.as_deref(), filter.as_deref(), count, limit)?;
            match (&r.clients, ctx.out.format) {
                (_, crate::cli::Format::Json) => ctx.out.record(&r, crate::cli::output::NO_COLUMNS),
                (None, _) => ctx.out.record(&r, &["name", "filter", "count"]),
                (Some(clients), _) => {
                    ctx.out.status(format!("{} client(s) match `{}`.", r.count, r.filter));
                    ctx.out.list(clients, CLIENT_COLUMNS, "No clients match.")
                }
            }
        }
        SegmentCommand::Create { name, filter, description } => {
            let s = group::create_segment(session, &name, &filter, description.as_deref())?;
            ctx.out.status(format!("Saved segment {} ({}).", s.id, s.name));
            ctx.out.record(&s, SEGMENT_COLUMNS)
        }
        SegmentCommand::Update { segment, filter, description } => {
            let s = group::update_segment(session, &segment, filter.as_deref(), description.as_deref())?;
            ctx.out.status(format!("Updated segment {} ({}).", s.id, s.name));
            ctx.out.record(&s, SEGMENT_COLUMNS)
        }
        SegmentCommand::Delete { segment, yes } => {
            if !ctx.prompt.confirm(&format!("Delete segment `{segment}`?"), yes)? {
                ctx.out.status("Nothing deleted.");
                return Ok(());
            }
            let s = group::delete_segment(session, &segment)?;
            ctx.out.status(format!("Deleted segment {} ({}).", s.id, s.name));
            ctx.out.record(&s, SEGMENT_COLUMNS)
        }
        SegmentCommand::Freeze { segment, into } => {
            let g = group::freeze(session, &segment, &into)?;
            ctx.out.status(format!(
                "Froze segment `{segment}` into group {} ({}): {} member(s).",
                g.id, g.name, g.members
            ));
            ctx.out.record(&g, GROUP_COLUMNS)
        }
    }
}
