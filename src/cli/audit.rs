//! `rolo audit list` and `rolo audit verify`.

use clap::Subcommand;

use super::Ctx;
use crate::Result;
use crate::service::audit;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Newest entries first (JSON keys: id, at, actor, action, entity, entity_id, outcome,
    /// detail, before, after)
    List {
        /// Only entries by this username
        #[arg(long)]
        actor: Option<String>,
        /// Only entries about this kind of record (user, role, session, backup…)
        #[arg(long)]
        entity: Option<String>,
        /// Only this action (user.create, login.failed, permission.denied…)
        #[arg(long)]
        action: Option<String>,
        /// Only entries at or after this instant (2026-11-01, -2h, …)
        #[arg(allow_hyphen_values = true, long)]
        since: Option<String>,
        /// At most N entries (default 100)
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Walk the hash chain of the whole log: exit 3 naming the first entry edited, removed or
    /// added outside Rolo (JSON keys: entries, head, broken)
    Verify,
}

pub fn run(ctx: &Ctx, cmd: AuditCommand) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    let (actor, entity, action, since, limit) = match cmd {
        AuditCommand::List { actor, entity, action, since, limit } => (actor, entity, action, since, limit),
        AuditCommand::Verify => {
            let report = audit::verify(&session)?;
            ctx.out.status(format!(
                "The audit log is whole: {} entries, each chained to the one before{}.",
                report.entries,
                match report.redacted {
                    0 => String::new(),
                    n => format!("; {n} with personal data erased, each as its erasure recorded"),
                }
            ));
            return ctx.out.record(&report, &["entries", "redacted", "head"]);
        }
    };
    let entries = audit::list(&session, &audit::Filter { actor, entity, action, since, limit: Some(limit) })?;
    ctx.out.list(
        &entries,
        &["id", "at", "actor", "action", "entity", "entity_id", "outcome", "detail"],
        "No audit entries match.",
    )
}
