//! Events: created by the client's sales contact on a signed contract, assigned to a support
//! user by management, updated by management or the assigned support user.

use chrono::Utc;

use super::authz::Session;
use super::refs;
use crate::db::{self, Tx};
use crate::domain::{Permission, time, validate};
use crate::{Error, Result};

pub use crate::domain::event::Event;
pub use crate::domain::event::{EventInput, ListFilter, NewEvent};

/// Everyone on staff reads events. Filtering for events with no support is for those who act
/// on events (PERMISSIONS.md: not marketing).
pub fn list(session: &Session, f: &ListFilter) -> Result<Vec<Event>> {
    session.require(Permission::EventRead)?;
    if f.no_support
        && ![Permission::EventUpdateAny, Permission::EventUpdateOwn, Permission::EventCreateOwn]
            .iter()
            .any(|p| session.can(*p))
    {
        return Err(session.deny(
            Permission::EventUpdateOwn,
            "event",
            None,
            "filtering events with no support is for those who create or update events (`event:update:own`)",
        ));
    }
    let db = session.db();
    let now = Utc::now();
    let support_contact_id = match (&f.support, f.mine) {
        (Some(u), _) => Some(refs::staff(db, "support", u, None)?.id),
        (None, true) => Some(session.actor().id),
        (None, false) => None,
    };
    let contract_id = f.contract.as_deref().map(|c| refs::id("contract", c)).transpose()?;
    let from = f.from.as_deref().map(|d| time::parse_instant("from", d, now)).transpose()?;
    let to = f.to.as_deref().map(|d| time::parse_instant("to", d, now)).transpose()?;
    db::event::list(
        db,
        &db::event::Filter { no_support: f.no_support, support_contact_id, contract_id, from, to, limit: f.limit },
    )
}

pub fn show(session: &Session, key: &str) -> Result<Event> {
    session.require(Permission::EventRead)?;
    refs::event(session.db(), key)
}

pub(crate) fn merge(mut f: crate::domain::event::Fields, input: &EventInput) -> Result<crate::domain::event::Fields> {
    let now = Utc::now();
    if let Some(n) = &input.name {
        f.name = validate::text("name", n, 200)?;
    }
    if let Some(s) = &input.start {
        f.starts_at = time::format_utc(time::parse_instant("start", s, now)?);
    }
    if let Some(e) = &input.end {
        f.ends_at = time::format_utc(time::parse_instant("end", e, now)?);
    }
    if f.ends_at <= f.starts_at {
        return Err(Error::invalid("end", "must be after the start"));
    }
    if let Some(l) = &input.location {
        f.location = if l.trim().is_empty() { String::new() } else { validate::text("location", l, 500)? };
    }
    if let Some(a) = input.attendees {
        if !(0..=1_000_000).contains(&a) {
            return Err(Error::invalid("attendees", format!("`{a}` must be between 0 and 1000000")));
        }
        f.attendees = a;
    }
    if let Some(n) = &input.notes {
        f.notes = validate::notes("notes", n, 10_000)?;
    }
    Ok(f)
}

/// Only the client's sales contact creates an event, and only on a signed contract.
pub fn create(session: &Session, input: &NewEvent) -> Result<Event> {
    let grant = session.require(Permission::EventCreateOwn)?;
    let contract = refs::contract(session.db(), &input.contract).map_err(|e| {
        if e.kind() == crate::ErrorKind::NotFound { Error::invalid("contract", e.message()) } else { e }
    })?;
    if contract.sales_contact_id != Some(session.actor().id) {
        return Err(session.deny(
            Permission::EventCreateOwn,
            "contract",
            Some(contract.id),
            "only the client's sales contact creates its events (`event:create:own`)",
        ));
    }
    if !contract.signed {
        return Err(Error::conflict(format!(
            "contract {} is not signed yet; events are created only on signed contracts",
            contract.id
        )));
    }
    let f = &input.fields;
    for (value, flag) in [(f.name.is_none(), "--name"), (f.start.is_none(), "--start"), (f.end.is_none(), "--end")] {
        if value {
            return Err(Error::usage(format!("an event needs {flag}")));
        }
    }
    let fields = merge(blank(), f)?;
    if let Some(id) = input.id {
        validate::record_id("id", id)?;
        if db::event::get(session.db(), id)?.is_some() {
            return Err(Error::conflict(format!("event {id} already exists")));
        }
    }
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let id = db::event::insert(tx, input.id, contract.id, &fields, actor, now)?;
        let created = reload(tx, id)?;
        grant.audit(tx, "event.create", "event", Some(id), None, Some(&created))?;
        Ok(created)
    })
}

/// The fields of an event not yet described.
pub(crate) fn blank() -> crate::domain::event::Fields {
    crate::domain::event::Fields {
        name: String::new(),
        starts_at: String::new(),
        ends_at: String::new(),
        support_contact_id: None,
        location: String::new(),
        attendees: 0,
        notes: String::new(),
    }
}

fn reload(tx: &Tx, id: i64) -> Result<Event> {
    db::event::get(tx, id)?.ok_or_else(|| Error::internal("event vanished inside its own transaction"))
}

pub(crate) fn fields_of(e: &Event) -> crate::domain::event::Fields {
    crate::domain::event::Fields {
        name: e.name.clone(),
        starts_at: e.starts_at.clone(),
        ends_at: e.ends_at.clone(),
        support_contact_id: e.support_contact_id,
        location: e.location.clone(),
        attendees: e.attendees,
        notes: e.notes.clone(),
    }
}

/// Management updates any event; a support user only the events assigned to them.
pub fn update(session: &Session, key: &str, input: &EventInput) -> Result<Event> {
    session.require(Permission::EventRead)?;
    let before = refs::event(session.db(), key)?;
    let grant = session.require_scoped(
        Permission::EventUpdateAny,
        Permission::EventUpdateOwn,
        before.support_contact_id == Some(session.actor().id),
        "event",
        Some(before.id),
    )?;
    let fields = merge(fields_of(&before), input)?;
    let now = Utc::now();
    grant.write(|tx| {
        db::event::update(tx, before.id, &fields, now)?;
        let after = reload(tx, before.id)?;
        grant.audit(tx, "event.update", "event", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

/// The usernames that `assign` accepts: active users with the support role.
pub fn support_candidates(session: &Session) -> Result<Vec<String>> {
    session.require(Permission::EventUpdateAny)?;
    let users = db::user::list(session.db(), &db::user::Filter { role: Some("support"), ..Default::default() })?;
    Ok(users.into_iter().map(|u| u.username).collect())
}

/// Assigns (or with `None`, unassigns) the support contact; they must hold the support role.
pub fn assign(session: &Session, key: &str, support: Option<&str>) -> Result<Event> {
    session.require(Permission::EventRead)?;
    let grant = session.require(Permission::EventUpdateAny)?;
    let before = refs::event(session.db(), key)?;
    let support_id =
        support.map(|u| refs::staff(session.db(), "support", u, Some("support"))).transpose()?.map(|u| u.id);
    let fields = crate::domain::event::Fields { support_contact_id: support_id, ..fields_of(&before) };
    let now = Utc::now();
    grant.write(|tx| {
        db::event::update(tx, before.id, &fields, now)?;
        let after = reload(tx, before.id)?;
        grant.audit(tx, "event.assign", "event", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}
