//! Turning what people type into records: clients by id or e-mail, companies by id or exact
//! name, users by username. A missing target of a command is "not found" (exit 6); a missing
//! user named in a field (`--support kate`) is invalid data naming that field (exit 3). Tickets
//! are looked up through the session: a client account meets "not found" outside its projects.

use super::authz::Session;
use crate::db::{self, Read};
use crate::domain::Permission;
use crate::domain::permission::CLIENT_ROLE;
use crate::domain::ticket::Ticket;
use crate::{Error, Result};

fn as_id(key: &str) -> Option<i64> {
    let k = key.trim().strip_prefix('#').unwrap_or(key.trim());
    k.parse::<i64>().ok().filter(|id| *id > 0)
}

/// An integer id typed by a person.
pub fn id(entity: &str, key: &str) -> Result<i64> {
    as_id(key).ok_or_else(|| Error::invalid(entity, format!("`{key}` is not an id (a positive integer)")))
}

pub fn client(r: &impl Read, key: &str) -> Result<crate::domain::client::Client> {
    let found = match as_id(key) {
        Some(id) => db::client::get(r, id)?,
        None => db::client::find_by_email(r, key)?,
    };
    found.ok_or_else(|| Error::not_found("client", key.trim()))
}

pub fn company(r: &impl Read, key: &str) -> Result<crate::domain::company::Company> {
    let found = match as_id(key) {
        Some(id) => db::company::get(r, id)?,
        None => db::company::find_by_name(r, key)?,
    };
    found.ok_or_else(|| Error::not_found("company", key.trim()))
}

pub fn contract(r: &impl Read, key: &str) -> Result<crate::domain::contract::Contract> {
    db::contract::get(r, id("contract", key)?)?.ok_or_else(|| Error::not_found("contract", key.trim()))
}

pub fn event(r: &impl Read, key: &str) -> Result<crate::domain::event::Event> {
    db::event::get(r, id("event", key)?)?.ok_or_else(|| Error::not_found("event", key.trim()))
}

/// A group by exact name, or by id when no group has that name.
pub fn group(r: &impl Read, key: &str) -> Result<crate::domain::population::Group> {
    db::population::group(r, key, as_id(key))?.ok_or_else(|| Error::not_found("group", key.trim()))
}

/// A saved segment by exact name, or by id when no segment has that name.
pub fn segment(r: &impl Read, key: &str) -> Result<crate::domain::population::Segment> {
    db::population::segment(r, key, as_id(key))?.ok_or_else(|| Error::not_found("segment", key.trim()))
}

/// A custom field by key.
pub fn field(r: &impl Read, key: &str) -> Result<crate::domain::population::FieldRow> {
    db::population::field(r, key)?.ok_or_else(|| Error::not_found("field", key.trim()))
}

/// An active collaborator named in a field; `role`, when given, must be one of theirs.
pub fn staff(r: &impl Read, field: &str, username: &str, role: Option<&str>) -> Result<crate::domain::user::User> {
    let user = db::user::find_by_username(r, username)?
        .filter(|u| u.active)
        .ok_or_else(|| Error::invalid(field, format!("there is no active user `{}`", username.trim())))?;
    if user.roles.iter().any(|r| r == CLIENT_ROLE) {
        return Err(Error::invalid(field, format!("`{}` is a client account, not a collaborator", user.username)));
    }
    if let Some(role) = role
        && !user.roles.iter().any(|r| r == role)
    {
        return Err(Error::invalid(field, format!("`{}` does not have the {role} role", user.username)));
    }
    Ok(user)
}

/// A ticket this user may read, or "not found" for clients outside their projects.
pub fn ticket(session: &Session, key: &str) -> Result<Ticket> {
    let id = id("ticket", key)?;
    if session.can(Permission::TicketReadAny) {
        return db::ticket::get(session.db(), id)?.ok_or_else(|| Error::not_found("ticket", id));
    }
    if session.can(Permission::TicketReadOwn) {
        if let Some(t) = db::ticket::get(session.db(), id)?
            && db::project::has_access(session.db(), t.project_id, session.actor().id)?
        {
            return Ok(t);
        }
        return Err(Error::not_found("ticket", id));
    }
    Err(session.deny(
        Permission::TicketReadOwn,
        "ticket",
        Some(id),
        "this needs the `ticket:read:own` or `ticket:read:any` permission",
    ))
}
