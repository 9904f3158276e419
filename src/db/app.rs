//! Applications and their keys (hashed).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Read, Tx};
use crate::Result;
use crate::domain::app::{AppPrincipal, Application, KeyInfo};

const SELECT: &str = "SELECT a.id, a.name, a.scopes, a.rate, u.username, a.created_at, a.revoked_at, a.calls,
        (SELECT count(*) FROM outbox o WHERE o.app_id = a.id), a.last_used_at
    FROM applications a JOIN users u ON u.id = a.created_by";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Application> {
    let scopes: String = r.get(2)?;
    Ok(Application {
        id: r.get(0)?,
        name: r.get(1)?,
        scopes: serde_json::from_str(&scopes).unwrap_or_default(),
        rate: r.get(3)?,
        created_by: r.get(4)?,
        created_at: r.get(5)?,
        revoked_at: r.get(6)?,
        calls: r.get(7)?,
        messages: r.get(8)?,
        last_used_at: r.get(9)?,
        keys: Vec::new(),
    })
}

fn with_keys(r: &impl Read, mut a: Application) -> Result<Application> {
    let mut stmt =
        r.conn().prepare_cached("SELECT prefix, created_at, expires_at FROM app_keys WHERE app_id = ?1 ORDER BY id")?;
    a.keys = stmt
        .query_map([a.id], |r| Ok(KeyInfo { prefix: r.get(0)?, created_at: r.get(1)?, expires_at: r.get(2)? }))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(a)
}

pub fn list(r: &impl Read) -> Result<Vec<Application>> {
    let mut stmt = r.conn().prepare(&[SELECT, " ORDER BY a.name"].concat())?;
    let apps = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    apps.into_iter().map(|a| with_keys(r, a)).collect()
}

pub fn get(r: &impl Read, name: &str) -> Result<Option<Application>> {
    let found = r.conn().query_row(&[SELECT, " WHERE a.name = ?1"].concat(), [name.trim()], from_row).optional()?;
    found.map(|a| with_keys(r, a)).transpose()
}

pub struct NewApp<'a> {
    pub name: &'a str,
    pub scopes: &'a str,
    pub rate: i64,
}

pub fn insert(tx: &Tx, a: &NewApp, by: i64, now: DateTime<Utc>) -> Result<i64> {
    tx.conn().execute(
        "INSERT INTO applications (name, scopes, rate, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![a.name, a.scopes, a.rate, by, super::utc_text(now)],
    )?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn add_key(tx: &Tx, app: i64, hash: &str, prefix: &str, now: DateTime<Utc>) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO app_keys (app_id, key_hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![app, hash, prefix, super::utc_text(now)],
    )?;
    Ok(())
}

/// Keys without an end get one (a rotation's grace period).
pub fn expire_keys(tx: &Tx, app: i64, at: DateTime<Utc>) -> Result<usize> {
    Ok(tx.conn().execute(
        "UPDATE app_keys SET expires_at = ?2 WHERE app_id = ?1 AND expires_at IS NULL",
        params![app, super::utc_text(at)],
    )?)
}

pub fn revoke(tx: &Tx, app: i64, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute("UPDATE applications SET revoked_at = ?2 WHERE id = ?1", params![app, now])?;
    tx.conn().execute("DELETE FROM app_keys WHERE app_id = ?1", [app])?;
    Ok(())
}

/// The application a key hash opens, while the application stands and the key has not expired.
pub fn principal(r: &impl Read, hash: &str, now: DateTime<Utc>) -> Result<Option<AppPrincipal>> {
    Ok(r.conn()
        .prepare_cached(
            "SELECT a.id, a.name, a.scopes, a.rate, a.created_by FROM app_keys k JOIN applications a ON a.id = k.app_id
             WHERE k.key_hash = ?1 AND a.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?2)",
        )?
        .query_row(params![hash, super::utc_text(now)], |r| {
            let scopes: String = r.get(2)?;
            Ok(AppPrincipal {
                id: r.get(0)?,
                name: r.get(1)?,
                scopes: serde_json::from_str(&scopes).unwrap_or_default(),
                rate: r.get(3)?,
                owner_id: r.get(4)?,
            })
        })
        .optional()?)
}

/// Counts a call.
pub fn touch(tx: &Tx, app: i64, now: DateTime<Utc>) -> Result<()> {
    tx.conn()
        .prepare_cached("UPDATE applications SET calls = calls + 1, last_used_at = ?2 WHERE id = ?1")?
        .execute(params![app, super::utc_text(now)])?;
    Ok(())
}

/// The stored answer to an application's idempotency key: (request hash, response JSON).
pub fn idempotent(r: &impl Read, app: i64, key: &str) -> Result<Option<(String, String)>> {
    Ok(r.conn()
        .prepare_cached("SELECT request_hash, response FROM api_requests WHERE app_id = ?1 AND idempotency_key = ?2")?
        .query_row(params![app, key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

pub fn remember(tx: &Tx, app: i64, key: &str, hash: &str, response: &str, now: DateTime<Utc>) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO api_requests (app_id, idempotency_key, request_hash, response, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![app, key, hash, response, super::utc_text(now)])?;
    Ok(())
}

/// Marks a queued message as the application's.
pub fn own_message(tx: &Tx, app: i64, outbox_id: i64) -> Result<()> {
    tx.conn().prepare_cached("UPDATE outbox SET app_id = ?1 WHERE id = ?2")?.execute(params![app, outbox_id])?;
    Ok(())
}

/// A message of the outbox, if this application queued it.
pub fn message_of(r: &impl Read, app: i64, id: i64) -> Result<Option<crate::domain::outbox::Mail>> {
    let found: Option<i64> = r
        .conn()
        .prepare_cached("SELECT id FROM outbox WHERE id = ?1 AND app_id = ?2")?
        .query_row(params![id, app], |r| r.get(0))
        .optional()?;
    match found {
        Some(id) => super::outbox::get(r, id),
        None => Ok(None),
    }
}
