//! The e-mail outbox: every message is a row first; delivery claims it, sends it, and marks
//! it sent — or schedules a retry with backoff.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Read, Tx};
use crate::Result;
use crate::domain::outbox::Mail;

pub struct NewMail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub references: Option<&'a str>,
    pub ticket_id: Option<i64>,
    pub kind: &'a str,
    /// A repeat with the same key is a no-op (one-off and transactional mail).
    pub idempotency_key: Option<&'a str>,
}

const SELECT: &str =
    "SELECT id, to_addr, subject, text_body, html_body, message_id, in_reply_to, refs, ticket_id, kind,
    status, attempts, next_attempt_at, last_error, created_at, sent_at FROM outbox";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Mail> {
    Ok(Mail {
        id: r.get(0)?,
        to: r.get(1)?,
        subject: r.get(2)?,
        text_body: r.get(3)?,
        html_body: r.get(4)?,
        message_id: r.get(5)?,
        in_reply_to: r.get(6)?,
        references: r.get(7)?,
        ticket_id: r.get(8)?,
        kind: r.get(9)?,
        status: r.get(10)?,
        attempts: r.get(11)?,
        next_attempt_at: r.get(12)?,
        last_error: r.get(13)?,
        created_at: r.get(14)?,
        sent_at: r.get(15)?,
    })
}

pub fn enqueue(tx: &Tx, m: &NewMail, now: DateTime<Utc>) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "INSERT INTO outbox (to_addr, subject, text_body, html_body, message_id, in_reply_to, refs, ticket_id, kind,
            next_attempt_at, created_at, idempotency_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
        params![
            m.to,
            m.subject,
            m.text_body,
            m.html_body,
            m.message_id,
            m.in_reply_to,
            m.references,
            m.ticket_id,
            m.kind,
            now,
            m.idempotency_key
        ],
    )?;
    Ok(tx.conn().last_insert_rowid())
}

/// The message queued earlier under an idempotency key.
pub fn by_idempotency_key(r: &impl Read, key: &str) -> Result<Option<Mail>> {
    let sql = [SELECT, " WHERE idempotency_key = ?1"].concat();
    Ok(r.conn().query_row(&sql, [key], from_row).optional()?)
}

pub fn get(r: &impl Read, id: i64) -> Result<Option<Mail>> {
    let sql = [SELECT, " WHERE id = ?1"].concat();
    Ok(r.conn().query_row(&sql, [id], from_row).optional()?)
}

/// Messages due for a delivery attempt: queued and due, or claimed by a delivery that died.
pub fn due(r: &impl Read, now: DateTime<Utc>, limit: u32) -> Result<Vec<Mail>> {
    let now = super::utc_text(now);
    let sql =
        [SELECT, " WHERE status IN ('queued', 'sending') AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2"].concat();
    let mut stmt = r.conn().prepare_cached(&sql)?;
    let rows = stmt.query_map(params![now, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Claims a message for sending until `lease_until`; `false` when another process has it.
pub fn claim(tx: &Tx, id: i64, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<bool> {
    let now = super::utc_text(now);
    let lease_until = super::utc_text(lease_until);
    Ok(tx.conn().execute(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = ?3
         WHERE id = ?1 AND status IN ('queued', 'sending') AND next_attempt_at <= ?2",
        params![id, now, lease_until],
    )? == 1)
}

pub fn mark_sent(tx: &Tx, id: i64, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?2, last_error = NULL WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// A failed attempt: retry at `next`, or give up (`failed`) when `next` is None.
pub fn mark_failed(tx: &Tx, id: i64, error: &str, next: Option<DateTime<Utc>>) -> Result<()> {
    match next.map(super::utc_text) {
        Some(next) => tx.conn().execute(
            "UPDATE outbox SET status = 'queued', next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
            params![id, next, error],
        )?,
        None => tx
            .conn()
            .execute("UPDATE outbox SET status = 'failed', last_error = ?2 WHERE id = ?1", params![id, error])?,
    };
    Ok(())
}

/// Makes a queued or failed message due now.
pub fn retry(tx: &Tx, id: i64, now: DateTime<Utc>) -> Result<bool> {
    let now = super::utc_text(now);
    Ok(tx.conn().execute(
        "UPDATE outbox SET status = 'queued', next_attempt_at = ?2 WHERE id = ?1 AND status IN ('queued', 'failed')",
        params![id, now],
    )? == 1)
}

pub fn list(r: &impl Read, status: Option<&str>, limit: Option<u32>) -> Result<Vec<Mail>> {
    let sql = [SELECT, " WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2"].concat();
    let mut stmt = r.conn().prepare_cached(&sql)?;
    let rows = stmt.query_map(params![status, limit.map_or(-1, i64::from)], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A file sent with an outbox message (its bytes stored once in `blobs`).
pub fn add_attachment(tx: &Tx, outbox_id: i64, filename: &str, mime: &str, sha256: &str) -> Result<()> {
    tx.conn()
        .prepare_cached("INSERT INTO outbox_attachments (outbox_id, filename, mime, sha256) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![outbox_id, filename, mime, sha256])?;
    Ok(())
}

/// The files of an outbox message, in order.
pub fn attachments(r: &impl Read, outbox_id: i64) -> Result<Vec<crate::mail::FilePart>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT a.filename, a.mime, b.data FROM outbox_attachments a JOIN blobs b ON b.sha256 = a.sha256
         WHERE a.outbox_id = ?1 ORDER BY a.id",
    )?;
    let rows = stmt.query_map([outbox_id], |r| {
        Ok(crate::mail::FilePart { filename: r.get(0)?, mime: r.get(1)?, bytes: r.get(2)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
