//! Reading the audit log. Nothing in Rolo edits or deletes it.

use chrono::Utc;

use super::authz::Session;
use crate::Result;
use crate::db;
use crate::domain::{Permission, time};

pub use crate::domain::audit::Entry;
pub use crate::domain::audit::Filter;

pub fn list(session: &Session, f: &Filter) -> Result<Vec<Entry>> {
    session.require(Permission::AuditRead)?;
    let since = f.since.as_deref().map(|s| time::parse_instant("since", s, Utc::now())).transpose()?;
    let actor = f.actor.as_deref().map(|a| a.trim().to_lowercase());
    db::audit::list(
        session.db(),
        &db::audit::Filter {
            actor: actor.as_deref(),
            entity: f.entity.as_deref(),
            action: f.action.as_deref(),
            since,
            limit: f.limit,
        },
    )
}
