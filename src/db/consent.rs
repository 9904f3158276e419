//! The consent ledger: appended before every change of a client's consent (a trigger refuses
//! the change otherwise), read back per client.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Read, Tx};
use crate::Result;
use crate::domain::profile::ConsentEntry;

/// A change about to be made.
pub struct Change<'a> {
    pub client_id: i64,
    pub previous: Option<&'a str>,
    pub consent: &'a str,
    pub source: &'a str,
    pub detail: Option<&'a str>,
    pub text_hash: Option<&'a str>,
    pub actor: Option<i64>,
}

pub fn append(tx: &Tx, c: &Change, now: DateTime<Utc>) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO consent_ledger (client_id, consent, previous, source, detail, text_hash, actor_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            c.client_id,
            c.consent,
            c.previous,
            c.source,
            c.detail,
            c.text_hash,
            c.actor,
            super::utc_text(now)
        ])?;
    Ok(())
}

/// A client's ledger, oldest first.
pub fn history(r: &impl Read, client_id: i64) -> Result<Vec<ConsentEntry>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT l.id, l.client_id, l.consent, l.previous, l.source, l.detail, l.text_hash, u.username, l.created_at
         FROM consent_ledger l LEFT JOIN users u ON u.id = l.actor_id WHERE l.client_id = ?1 ORDER BY l.id",
    )?;
    let rows = stmt.query_map([client_id], |r| {
        Ok(ConsentEntry {
            id: r.get(0)?,
            client_id: r.get(1)?,
            consent: r.get(2)?,
            previous: r.get(3)?,
            source: r.get(4)?,
            detail: r.get(5)?,
            text_hash: r.get(6)?,
            actor: r.get(7)?,
            created_at: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Sets a client's consent (the ledger entry comes first: a trigger checks it).
pub fn set(tx: &Tx, client_id: i64, consent: &str, now: DateTime<Utc>) -> Result<()> {
    tx.conn().execute(
        "UPDATE clients SET consent = ?2, updated_at = ?3 WHERE id = ?1",
        params![client_id, consent, super::utc_text(now)],
    )?;
    Ok(())
}
