//! Login sessions. Only SHA-256 digests of the tokens are stored.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Read, Tx};
use crate::Result;
use crate::domain::session::SessionRow;

pub struct NewTokens<'a> {
    pub access_hash: &'a str,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_hash: &'a str,
    pub refresh_expires_at: DateTime<Utc>,
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: row.get(0)?,
        user_id: row.get(1)?,
        access_expires_at: row.get(2)?,
        refresh_expires_at: row.get(3)?,
        revoked_at: row.get(4)?,
    })
}

const SELECT: &str = "SELECT id, user_id, access_expires_at, refresh_expires_at, revoked_at FROM sessions";

pub fn insert(tx: &Tx, user_id: i64, t: &NewTokens, now: DateTime<Utc>) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "INSERT INTO sessions (user_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            user_id,
            t.access_hash,
            super::utc_text(t.access_expires_at),
            t.refresh_hash,
            super::utc_text(t.refresh_expires_at),
            now
        ],
    )?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn by_access_hash(r: &impl Read, hash: &str) -> Result<Option<SessionRow>> {
    let sql = [SELECT, " WHERE access_hash = ?1"].concat();
    Ok(r.conn().query_row(&sql, [hash], from_row).optional()?)
}

pub fn by_refresh_hash(r: &impl Read, hash: &str) -> Result<Option<SessionRow>> {
    let sql = [SELECT, " WHERE refresh_hash = ?1"].concat();
    Ok(r.conn().query_row(&sql, [hash], from_row).optional()?)
}

/// Replaces both tokens of a session (refresh rotation).
pub fn rotate(tx: &Tx, id: i64, t: &NewTokens, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "UPDATE sessions SET access_hash = ?2, access_expires_at = ?3, refresh_hash = ?4,
                refresh_expires_at = ?5, refreshed_at = ?6
         WHERE id = ?1 AND revoked_at IS NULL",
        params![
            id,
            t.access_hash,
            super::utc_text(t.access_expires_at),
            t.refresh_hash,
            super::utc_text(t.refresh_expires_at),
            now
        ],
    )?;
    Ok(())
}

pub fn revoke(tx: &Tx, id: i64, reason: &str, now: DateTime<Utc>) -> Result<bool> {
    let now = super::utc_text(now);
    let n = tx.conn().execute(
        "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now, reason],
    )?;
    Ok(n == 1)
}

/// Revokes every live session of a user; returns how many.
pub fn revoke_all_of_user(tx: &Tx, user_id: i64, reason: &str, now: DateTime<Utc>) -> Result<usize> {
    let now = super::utc_text(now);
    Ok(tx.conn().execute(
        "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3 WHERE user_id = ?1 AND revoked_at IS NULL",
        params![user_id, now, reason],
    )?)
}
