//! The suppression list: mailboxes campaigns never reach, keyed by a salted hash.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Read, Tx};
use crate::Result;
use crate::domain::campaign::Suppression;

/// Adds an address to the suppression list; false when it was there already.
pub fn suppress(
    tx: &Tx,
    hash: &str,
    email: Option<&str>,
    reason: &str,
    source: &str,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(tx.conn().execute(
        "INSERT OR IGNORE INTO suppressions (mailbox_hash, email, reason, source, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![hash, email, reason, source, super::utc_text(now), by],
    )? == 1)
}

/// Lifts a suppression that an unsubscription or an erasure caused (not a bounce, complaint or
/// manual one): an erased person who signs up again and confirms from their own mailbox gave a
/// new consent.
pub fn unsuppress_unsubscribed(tx: &Tx, hash: &str) -> Result<bool> {
    Ok(tx
        .conn()
        .execute("DELETE FROM suppressions WHERE mailbox_hash = ?1 AND reason IN ('unsubscribed', 'erased')", [hash])?
        == 1)
}

pub fn unsuppress(tx: &Tx, hash: &str) -> Result<bool> {
    Ok(tx.conn().execute("DELETE FROM suppressions WHERE mailbox_hash = ?1", [hash])? == 1)
}

pub fn suppression(r: &impl Read, hash: &str) -> Result<Option<Suppression>> {
    Ok(r.conn()
        .query_row(
            "SELECT s.mailbox_hash, s.email, s.reason, s.source, s.created_at, u.username
             FROM suppressions s LEFT JOIN users u ON u.id = s.created_by WHERE s.mailbox_hash = ?1",
            [hash],
            suppression_row,
        )
        .optional()?)
}

fn suppression_row(r: &Row<'_>) -> rusqlite::Result<Suppression> {
    Ok(Suppression {
        mailbox_hash: r.get(0)?,
        email: r.get(1)?,
        reason: r.get(2)?,
        source: r.get(3)?,
        created_at: r.get(4)?,
        created_by: r.get(5)?,
    })
}

pub fn suppressions(r: &impl Read, reason: Option<&str>, limit: Option<u32>) -> Result<Vec<Suppression>> {
    let mut stmt = r.conn().prepare(
        "SELECT s.mailbox_hash, s.email, s.reason, s.source, s.created_at, u.username
         FROM suppressions s LEFT JOIN users u ON u.id = s.created_by
         WHERE (?1 IS NULL OR s.reason = ?1) ORDER BY s.created_at DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![reason, limit.map_or(-1, i64::from)], suppression_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The database's salt for [`crate::domain::campaign::mailbox_hash`] (made by migration 0018).
pub fn mailbox_salt(r: &impl Read) -> Result<Vec<u8>> {
    r.conn()
        .query_row("SELECT value FROM meta WHERE key = 'suppression_salt'", [], |r| r.get::<_, String>(0))
        .optional()?
        .map(String::into_bytes)
        .ok_or_else(|| crate::Error::internal("the database has no suppression salt"))
}

/// Migration 0018: the suppression list and the mail events' mailbox hashes, from plain
/// SHA-256 to the salted key. Entries whose address is known are rehashed; a mail event whose
/// address cannot be found again loses its hash (it was only ever written, never matched).
pub(super) fn rehash_mailboxes(conn: &rusqlite::Connection) -> Result<()> {
    let salt: String = conn.query_row("SELECT value FROM meta WHERE key = 'suppression_salt'", [], |r| r.get(0))?;
    let key = |email: &str| crate::domain::campaign::mailbox_hash(salt.as_bytes(), email);
    let known: Vec<(String, String)> = conn
        .prepare("SELECT mailbox_hash, email FROM suppressions WHERE email IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare("UPDATE OR REPLACE suppressions SET mailbox_hash = ?2 WHERE mailbox_hash = ?1")?;
    for (old, email) in known {
        update.execute(params![old, key(&email)])?;
    }
    let events: Vec<(i64, Option<String>)> = conn
        .prepare(
            "SELECT e.id, coalesce(s.email, o.to_addr) FROM mail_events e
             LEFT JOIN send_log s ON s.id = e.send_log_id LEFT JOIN outbox o ON o.id = e.outbox_id
             WHERE e.mailbox_hash IS NOT NULL",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare("UPDATE mail_events SET mailbox_hash = ?2 WHERE id = ?1")?;
    for (id, email) in events {
        update.execute(params![id, email.map(|e| key(&e))])?;
    }
    Ok(())
}

/// Every suppressed mailbox hash (an audience is checked against all of them at once).
pub fn suppressed_hashes(r: &impl Read) -> Result<HashSet<String>> {
    let mut stmt = r.conn().prepare("SELECT mailbox_hash FROM suppressions")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
