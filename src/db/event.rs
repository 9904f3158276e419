//! Events organised for a client under a signed contract.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::query::Query;
use super::{Read, Tx, unique_violation};
use crate::Result;
use crate::domain::event::{Event, Fields};

macro_rules! select {
    () => {
        "SELECT e.id, e.contract_id, e.name, c.id, c.full_name, c.email, c.phone, co.name, c.sales_contact_id,
            e.starts_at, e.ends_at, e.support_contact_id, s.username, s.full_name, e.location, e.attendees, e.notes,
            e.created_at, e.updated_at
         FROM events e JOIN contracts k ON k.id = e.contract_id JOIN clients c ON c.id = k.client_id
         LEFT JOIN companies co ON co.id = c.company_id LEFT JOIN users s ON s.id = e.support_contact_id"
    };
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        id: r.get(0)?,
        contract_id: r.get(1)?,
        name: r.get(2)?,
        client_id: r.get(3)?,
        client_name: r.get(4)?,
        client_email: r.get(5)?,
        client_phone: r.get(6)?,
        company: r.get(7)?,
        sales_contact_id: r.get(8)?,
        starts_at: r.get(9)?,
        ends_at: r.get(10)?,
        support_contact_id: r.get(11)?,
        support_contact: r.get(12)?,
        support_contact_name: r.get(13)?,
        location: r.get(14)?,
        attendees: r.get(15)?,
        notes: r.get(16)?,
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
    })
}

pub fn get(r: &impl Read, id: i64) -> Result<Option<Event>> {
    Ok(r.conn().query_row(concat!(select!(), " WHERE e.id = ?1"), [id], from_row).optional()?)
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub no_support: bool,
    pub support_contact_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

pub fn list_query(f: &Filter) -> Query {
    let mut q = Query::new(select!());
    q.push(" WHERE 1");
    if f.no_support {
        q.push(" AND e.support_contact_id IS NULL");
    }
    if let Some(id) = f.support_contact_id {
        q.bind(" AND e.support_contact_id = ?", id);
    }
    if let Some(id) = f.contract_id {
        q.bind(" AND e.contract_id = ?", id);
    }
    // An event is in [from, to) when it overlaps it; starts are indexed, so bound by start.
    if let Some(from) = &f.from {
        q.bind(" AND e.ends_at > ?", super::utc_text(*from));
    }
    if let Some(to) = &f.to {
        q.bind(" AND e.starts_at < ?", super::utc_text(*to));
    }
    q.push(" ORDER BY e.starts_at, e.id");
    q.bind(" LIMIT ?", f.limit.map_or(-1, i64::from));
    q
}

pub fn list(r: &impl Read, f: &Filter) -> Result<Vec<Event>> {
    let q = list_query(f);
    let mut stmt = r.conn().prepare_cached(q.sql())?;
    let rows = stmt.query_map(q.params().as_slice(), from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn insert(tx: &Tx, id: Option<i64>, contract_id: i64, f: &Fields, by: i64, now: DateTime<Utc>) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn()
        .execute(
            "INSERT INTO events (id, contract_id, name, starts_at, ends_at, support_contact_id, location, attendees, notes,
                created_at, created_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10)",
            params![
                id,
                contract_id,
                f.name,
                f.starts_at,
                f.ends_at,
                f.support_contact_id,
                f.location,
                f.attendees,
                f.notes,
                now,
                by
            ],
        )
        .map_err(|e| unique_violation(e, || format!("event {} already exists", id.unwrap_or_default())))?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn update(tx: &Tx, id: i64, f: &Fields, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "UPDATE events SET name = ?2, starts_at = ?3, ends_at = ?4, support_contact_id = ?5, location = ?6,
            attendees = ?7, notes = ?8, updated_at = ?9 WHERE id = ?1",
        params![id, f.name, f.starts_at, f.ends_at, f.support_contact_id, f.location, f.attendees, f.notes, now],
    )?;
    Ok(())
}

/// Every event in id order, one at a time (exports stream; memory does not grow).
pub fn for_each(r: &impl Read, f: impl FnMut(&Event) -> Result<()>) -> Result<usize> {
    super::stream(r, concat!(select!(), " ORDER BY e.id"), from_row, f)
}

/// An event of a contract by its name and start (how a spreadsheet without ids names one).
pub fn find_natural(r: &impl Read, contract_id: i64, name: &str, starts_at: &str) -> Result<Option<i64>> {
    Ok(r.conn()
        .query_row(
            "SELECT id FROM events WHERE contract_id = ?1 AND name = ?2 AND starts_at = ?3",
            params![contract_id, name, starts_at],
            |r| r.get(0),
        )
        .optional()?)
}
