//! Users: collaborators and client accounts.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Read, Tx, unique_violation};
use crate::Result;
use crate::domain::user::User;

pub struct NewUser<'a> {
    pub username: &'a str,
    pub full_name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub created_by: Option<i64>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub search: Option<&'a str>,
    pub role: Option<&'a str>,
    pub include_inactive: bool,
    pub limit: Option<u32>,
}

/// The selected columns, spliced with `concat!` so every statement stays a fixed string.
macro_rules! columns {
    () => {
        "u.id, u.username, u.full_name, u.email,
    (SELECT group_concat(r.name, ',') FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id),
    u.active, u.locked_until, u.last_login_at, u.created_at, u.updated_at, u.client_id"
    };
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let roles: Option<String> = row.get(4)?;
    let mut roles: Vec<String> = roles.map(|s| s.split(',').map(str::to_string).collect()).unwrap_or_default();
    roles.sort();
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        full_name: row.get(2)?,
        email: row.get(3)?,
        roles,
        active: row.get(5)?,
        locked_until: row.get(6)?,
        last_login_at: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
        client_id: row.get(10)?,
    })
}

pub fn insert(tx: &Tx, u: &NewUser) -> Result<i64> {
    tx.conn()
        .execute(
            "INSERT INTO users (username, full_name, email, password_hash, created_at, created_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)",
            params![u.username, u.full_name, u.email, u.password_hash, super::utc_text(u.now), u.created_by],
        )
        .map_err(|e| {
            unique_violation(e, || {
                format!("a user with username `{}` or e-mail `{}` already exists", u.username, u.email)
            })
        })?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn get(r: &impl Read, id: i64) -> Result<Option<User>> {
    let sql = concat!("SELECT ", columns!(), " FROM users u WHERE u.id = ?1");
    Ok(r.conn().query_row(sql, [id], from_row).optional()?)
}

pub fn find_by_username(r: &impl Read, username: &str) -> Result<Option<User>> {
    let sql = concat!("SELECT ", columns!(), " FROM users u WHERE u.username = ?1");
    Ok(r.conn().query_row(sql, [username.trim().to_lowercase()], from_row).optional()?)
}

pub fn list(r: &impl Read, f: &Filter) -> Result<Vec<User>> {
    // Fixed SQL; optional filters are switched off by binding NULL.
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM users u
         WHERE (?1 OR u.active = 1)
           AND (?2 IS NULL OR instr(lower(u.username || ' ' || u.full_name || ' ' || u.email), lower(?2)) > 0)
           AND (?3 IS NULL OR EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                                      WHERE ur.user_id = u.id AND r.name = ?3))
         ORDER BY u.username
         LIMIT ?4"
    );
    let limit = f.limit.map_or(-1, i64::from);
    let mut stmt = r.conn().prepare_cached(sql)?;
    let rows = stmt.query_map(params![f.include_inactive, f.search, f.role, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn count(r: &impl Read) -> Result<i64> {
    Ok(r.conn().query_row("SELECT count(*) FROM users", [], |row| row.get(0))?)
}

pub fn password_hash(r: &impl Read, id: i64) -> Result<String> {
    Ok(r.conn().query_row("SELECT password_hash FROM users WHERE id = ?1", [id], |row| row.get(0))?)
}

pub fn update_profile(tx: &Tx, id: i64, full_name: &str, email: &str, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn()
        .execute(
            "UPDATE users SET full_name = ?2, email = ?3, updated_at = ?4 WHERE id = ?1",
            params![id, full_name, email, now],
        )
        .map_err(|e| unique_violation(e, || format!("another user already has the e-mail `{email}`")))?;
    Ok(())
}

pub fn set_active(tx: &Tx, id: i64, active: bool, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "UPDATE users SET active = ?2, failed_logins = 0, locked_until = NULL, updated_at = ?3 WHERE id = ?1",
        params![id, active, now],
    )?;
    Ok(())
}

pub fn set_password(tx: &Tx, id: i64, hash: &str, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "UPDATE users SET password_hash = ?2, failed_logins = 0, locked_until = NULL, updated_at = ?3 WHERE id = ?1",
        params![id, hash, now],
    )?;
    Ok(())
}

/// Counts a failed login; returns the number of consecutive failures so far.
pub fn add_failed_login(tx: &Tx, id: i64) -> Result<i64> {
    Ok(tx.conn().query_row(
        "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?1 RETURNING failed_logins",
        [id],
        |row| row.get(0),
    )?)
}

pub fn lock(tx: &Tx, id: i64, until: DateTime<Utc>) -> Result<()> {
    let until = super::utc_text(until);
    tx.conn().execute("UPDATE users SET failed_logins = 0, locked_until = ?2 WHERE id = ?1", params![id, until])?;
    Ok(())
}

pub fn record_login(tx: &Tx, id: i64, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Active users holding the `admin` role.
pub fn count_active_admins(r: &impl Read) -> Result<i64> {
    Ok(r.conn().query_row(
        "SELECT count(*) FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
         WHERE r.name = 'admin' AND u.active = 1",
        [],
        |row| row.get(0),
    )?)
}

/// Whether a client account is linked to this client contact.
pub fn linked_to_client(r: &impl Read, client_id: i64) -> Result<bool> {
    Ok(r.conn().query_row("SELECT EXISTS (SELECT 1 FROM users WHERE client_id = ?1)", [client_id], |row| row.get(0))?)
}

/// Links a client account to its client contact.
pub fn link_client(tx: &Tx, id: i64, client_id: i64) -> Result<()> {
    tx.conn()
        .execute("UPDATE users SET client_id = ?2 WHERE id = ?1", params![id, client_id])
        .map_err(|e| unique_violation(e, || "that client already has a client account".to_string()))?;
    Ok(())
}
