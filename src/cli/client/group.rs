//! `rolo client group …`: static groups of clients.

use clap::Subcommand;

use crate::Result;
use crate::cli::Ctx;
use crate::service::{Session, group};

use super::CLIENT_COLUMNS;

pub(super) const GROUP_COLUMNS: &[&str] = &["id", "name", "kind", "members", "description", "updated_at"];

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Groups by name (JSON keys: id, name, kind, description, segment, members, created_at,
    /// created_by, updated_at)
    List,
    /// A group and its members
    Show {
        /// Name or id
        group: String,
        /// List at most N members
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Create an empty group
    Create {
        /// The group's name (unique, case ignored)
        name: String,
        /// custom (default) or system (never deleted)
        #[arg(long)]
        kind: Option<String>,
        /// What the group is for
        #[arg(long)]
        description: Option<String>,
    },
    /// Add clients (ids or e-mails) to a group
    Add {
        /// The group (name or id)
        group: String,
        /// Clients to add (ids or e-mails)
        #[arg(required = true)]
        clients: Vec<String>,
    },
    /// Remove clients (ids or e-mails) from a group
    Remove {
        /// The group (name or id)
        group: String,
        /// Clients to remove (ids or e-mails)
        #[arg(required = true)]
        clients: Vec<String>,
    },
    /// Delete a group (its clients stay)
    Delete {
        /// The group to delete (name or id)
        group: String,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
}

pub(super) fn run(ctx: &Ctx, session: &Session, cmd: GroupCommand) -> Result<()> {
    match cmd {
        GroupCommand::List => ctx.out.list(&group::list(session)?, GROUP_COLUMNS, "No groups yet."),
        GroupCommand::Show { group: key, limit } => {
            let d = group::show(session, &key, limit)?;
            if ctx.out.format == crate::cli::Format::Json {
                return ctx.out.record(&d, crate::cli::output::NO_COLUMNS);
            }
            ctx.out.status(format!("Group `{}` ({}): {} member(s).", d.group.name, d.group.kind, d.group.members));
            ctx.out.list(&d.clients, CLIENT_COLUMNS, "No members.")
        }
        GroupCommand::Create { name, kind, description } => {
            let g = group::create(session, &name, kind.as_deref(), description.as_deref())?;
            ctx.out.status(format!("Created group {} ({}).", g.id, g.name));
            ctx.out.record(&g, GROUP_COLUMNS)
        }
        GroupCommand::Add { group: key, clients } => {
            let m = group::set_members(session, &key, &clients, true)?;
            ctx.out.status(format!("{} client(s) added to `{}` ({} already there).", m.changed, m.group, m.unchanged));
            ctx.out.record(&m, &["group", "changed", "unchanged"])
        }
        GroupCommand::Remove { group: key, clients } => {
            let m = group::set_members(session, &key, &clients, false)?;
            ctx.out.status(format!(
                "{} client(s) removed from `{}` ({} were not in it).",
                m.changed, m.group, m.unchanged
            ));
            ctx.out.record(&m, &["group", "changed", "unchanged"])
        }
        GroupCommand::Delete { group: key, yes } => {
            if !ctx.prompt.confirm(&format!("Delete group `{key}`? Its clients stay."), yes)? {
                ctx.out.status("Nothing deleted.");
                return Ok(());
            }
            let g = group::delete(session, &key)?;
            ctx.out.status(format!("Deleted group {} ({}).", g.id, g.name));
            ctx.out.record(&g, GROUP_COLUMNS)
        }
    }
}
