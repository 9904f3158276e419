//! Returned mail: the send-log rows a bounce or complaint names, and the events recorded.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Read, Tx};
use crate::Result;

/// The send-log row a returned message is about.
#[derive(Debug, Clone)]
pub struct Target {
    pub row: i64,
    pub campaign_id: i64,
    pub client_id: Option<i64>,
    pub email: String,
    pub message_id: Option<String>,
    /// When the SMTP server accepted it.
    pub sent_at: Option<String>,
}

pub fn target(r: &impl Read, row: i64) -> Result<Option<Target>> {
    Ok(r.conn()
        .prepare_cached("SELECT id, campaign_id, client_id, email, message_id, sent_at FROM send_log WHERE id = ?1")?
        .query_row([row], |r| {
            Ok(Target {
                row: r.get(0)?,
                campaign_id: r.get(1)?,
                client_id: r.get(2)?,
                email: r.get(3)?,
                message_id: r.get(4)?,
                sent_at: r.get(5)?,
            })
        })
        .optional()?)
}

/// One event about a row.
pub struct Event<'a> {
    pub kind: &'a str,
    pub target: &'a Target,
    pub mailbox_hash: &'a str,
    pub status: Option<&'a str>,
    pub detail: Option<&'a str>,
    /// The returned message's identity: recorded once.
    pub source: &'a str,
}

/// Records an event; false when this returned message was recorded before.
pub fn record(tx: &Tx, e: &Event, now: DateTime<Utc>) -> Result<bool> {
    Ok(tx.conn().execute(
        "INSERT OR IGNORE INTO mail_events
             (kind, send_log_id, campaign_id, client_id, mailbox_hash, status, detail, source, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            e.kind,
            e.target.row,
            e.target.campaign_id,
            e.target.client_id,
            e.mailbox_hash,
            e.status,
            e.detail,
            e.source,
            super::utc_text(now)
        ],
    )? == 1)
}

/// An open of a campaign message: `row` names the recipient (tracking `full`), or nobody
/// (`anonymous`).
pub fn open(tx: &Tx, campaign_id: i64, row: Option<&Target>, machine: bool, now: DateTime<Utc>) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO mail_events (kind, send_log_id, campaign_id, client_id, machine, created_at)
             VALUES ('open', ?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            row.map(|t| t.row),
            campaign_id,
            row.and_then(|t| t.client_id),
            machine,
            super::utc_text(now)
        ])?;
    Ok(())
}

/// Whether the client's last `n` campaign messages each came back as a soft bounce.
pub fn soft_in_a_row(r: &impl Read, client_id: i64, n: usize) -> Result<bool> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT s.id, EXISTS (SELECT 1 FROM mail_events e WHERE e.send_log_id = s.id AND e.kind = 'soft_bounce')
         FROM send_log s WHERE s.client_id = ?1 AND s.status = 'sent' ORDER BY s.id DESC LIMIT ?2",
    )?;
    let bounced: Vec<bool> =
        stmt.query_map(params![client_id, n as i64], |r| r.get(1))?.collect::<rusqlite::Result<_>>()?;
    Ok(bounced.len() == n && bounced.iter().all(|b| *b))
}

/// Withdraws a client's marketing consent; false when it was already withdrawn.
pub fn withdraw_consent(tx: &Tx, client_id: i64, now: DateTime<Utc>) -> Result<bool> {
    Ok(tx.conn().execute(
        "UPDATE clients SET consent = 'withdrawn', updated_at = ?2 WHERE id = ?1 AND consent <> 'withdrawn'",
        params![client_id, super::utc_text(now)],
    )? == 1)
}

/// An outbox message a returned message is about: (id, recipient, Message-ID).
pub fn outbox_target(r: &impl Read, id: i64) -> Result<Option<(i64, String, String)>> {
    Ok(r.conn()
        .query_row("SELECT id, to_addr, message_id FROM outbox WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?)
}

/// The outbox message with this Message-ID (`<…>` included).
pub fn outbox_by_message_id(r: &impl Read, message_id: &str) -> Result<Option<i64>> {
    Ok(r.conn().query_row("SELECT id FROM outbox WHERE message_id = ?1", [message_id], |r| r.get(0)).optional()?)
}

/// One event about an outbox message.
pub struct OutboxEvent<'a> {
    pub kind: &'a str,
    pub outbox_id: i64,
    pub mailbox_hash: &'a str,
    pub status: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub source: &'a str,
}

/// Records an event of an outbox message; false when this returned message was recorded before.
pub fn record_outbox(tx: &Tx, e: &OutboxEvent, now: DateTime<Utc>) -> Result<bool> {
    Ok(tx.conn().execute(
        "INSERT OR IGNORE INTO mail_events (kind, outbox_id, mailbox_hash, status, detail, source, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![e.kind, e.outbox_id, e.mailbox_hash, e.status, e.detail, e.source, super::utc_text(now)],
    )? == 1)
}

/// The bounces and complaints of an outbox message, oldest first.
pub fn outbox_events(r: &impl Read, id: i64) -> Result<Vec<crate::domain::inbound::MessageEvent>> {
    let mut stmt = r
        .conn()
        .prepare_cached("SELECT kind, status, detail, created_at FROM mail_events WHERE outbox_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([id], |r| {
        Ok(crate::domain::inbound::MessageEvent {
            kind: r.get(0)?,
            status: r.get(1)?,
            detail: r.get(2)?,
            at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
