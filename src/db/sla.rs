//! SLA policies per ticket type, and the notices already sent.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Read, Tx};
use crate::Result;
use crate::domain::sla_policy::PolicyRow;

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PolicyRow> {
    let cal: String = r.get(4)?;
    Ok(PolicyRow {
        kind: r.get(0)?,
        first_response_minutes: r.get(1)?,
        resolution_minutes: r.get(2)?,
        warn_percent: r.get(3)?,
        calendar: super::json_column(4, &cal)?,
        updated_at: r.get(5)?,
    })
}

const SELECT: &str =
    "SELECT type, first_response_minutes, resolution_minutes, warn_percent, calendar, updated_at FROM sla_policies";

pub fn list(r: &impl Read) -> Result<Vec<PolicyRow>> {
    let sql = [SELECT, " ORDER BY CASE type WHEN 'urgent' THEN 0 WHEN 'maintenance' THEN 1 ELSE 2 END"].concat();
    let mut stmt = r.conn().prepare(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(r: &impl Read, kind: &str) -> Result<Option<PolicyRow>> {
    let sql = [SELECT, " WHERE type = ?1"].concat();
    Ok(r.conn().query_row(&sql, [kind], from_row).optional()?)
}

pub fn upsert(tx: &Tx, p: &PolicyRow, by: i64) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO sla_policies (type, first_response_minutes, resolution_minutes, warn_percent, calendar, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (type) DO UPDATE SET first_response_minutes = excluded.first_response_minutes,
             resolution_minutes = excluded.resolution_minutes, warn_percent = excluded.warn_percent,
             calendar = excluded.calendar, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        params![p.kind, p.first_response_minutes, p.resolution_minutes, p.warn_percent, p.calendar.to_string(), p.updated_at, by],
    )?;
    Ok(())
}

/// Records that a notice was queued; `false` when it had been already (so it is sent once).
pub fn record_notice(tx: &Tx, ticket_id: i64, clock: &str, level: &str, at: DateTime<Utc>) -> Result<bool> {
    let at = super::utc_text(at);
    Ok(tx.conn().execute(
        "INSERT OR IGNORE INTO sla_notices (ticket_id, clock, level, at) VALUES (?1, ?2, ?3, ?4)",
        params![ticket_id, clock, level, at],
    )? == 1)
}

/// Every notice already queued, as "ticket clock level" keys (`42 resolution breached`).
pub fn notices(r: &impl Read) -> Result<std::collections::HashSet<String>> {
    let mut stmt = r.conn().prepare_cached("SELECT ticket_id || ' ' || clock || ' ' || level FROM sla_notices")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
