//! Roles, their permissions, and who holds them.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Read, Tx, unique_violation};
use crate::Result;
use crate::domain::role::Role;

fn permissions(r: &impl Read, role_id: i64) -> Result<Vec<String>> {
    let mut stmt =
        r.conn().prepare_cached("SELECT permission FROM role_permissions WHERE role_id = ?1 ORDER BY permission")?;
    let rows = stmt.query_map([role_id], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn finish(r: &impl Read, row: (i64, String, String, bool, i64)) -> Result<Role> {
    let (id, name, description, builtin, users) = row;
    Ok(Role { permissions: permissions(r, id)?, id, name, description, builtin, users })
}

const SELECT: &str = "SELECT r.id, r.name, r.description, r.builtin,
        (SELECT count(*) FROM user_roles ur JOIN users u ON u.id = ur.user_id WHERE ur.role_id = r.id AND u.active = 1)
    FROM roles r";

pub fn list(r: &impl Read) -> Result<Vec<Role>> {
    let sql = [SELECT, " ORDER BY r.builtin DESC, r.id"].concat();
    let mut stmt = r.conn().prepare(&sql)?;
    let rows = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(|row| finish(r, row)).collect()
}

pub fn find(r: &impl Read, name: &str) -> Result<Option<Role>> {
    let sql = [SELECT, " WHERE r.name = ?1"].concat();
    let row = r
        .conn()
        .query_row(&sql, [name], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))
        .optional()?;
    row.map(|row| finish(r, row)).transpose()
}

pub fn insert(tx: &Tx, name: &str, description: &str, created_by: i64, now: DateTime<Utc>) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn()
        .execute(
            "INSERT INTO roles (name, description, builtin, created_at, created_by) VALUES (?1, ?2, 0, ?3, ?4)",
            params![name, description, now, created_by],
        )
        .map_err(|e| unique_violation(e, || format!("a role named `{name}` already exists")))?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn add_permission(tx: &Tx, role_id: i64, permission: &str) -> Result<()> {
    tx.conn().execute(
        "INSERT OR IGNORE INTO role_permissions (role_id, permission) VALUES (?1, ?2)",
        params![role_id, permission],
    )?;
    Ok(())
}

pub fn remove_permission(tx: &Tx, role_id: i64, permission: &str) -> Result<()> {
    tx.conn()
        .execute("DELETE FROM role_permissions WHERE role_id = ?1 AND permission = ?2", params![role_id, permission])?;
    Ok(())
}

/// Gives a role to a user; returns false when the user already had it.
pub fn grant(tx: &Tx, user_id: i64, role_id: i64, by: Option<i64>, now: DateTime<Utc>) -> Result<bool> {
    let now = super::utc_text(now);
    let n = tx.conn().execute(
        "INSERT OR IGNORE INTO user_roles (user_id, role_id, granted_at, granted_by) VALUES (?1, ?2, ?3, ?4)",
        params![user_id, role_id, now, by],
    )?;
    Ok(n == 1)
}

/// Takes a role from a user; returns false when the user did not have it.
pub fn revoke(tx: &Tx, user_id: i64, role_id: i64) -> Result<bool> {
    let n =
        tx.conn().execute("DELETE FROM user_roles WHERE user_id = ?1 AND role_id = ?2", params![user_id, role_id])?;
    Ok(n == 1)
}

/// The effective permissions of a user: the union over its roles.
pub fn permissions_of_user(r: &impl Read, user_id: i64) -> Result<Vec<String>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT DISTINCT rp.permission FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id
         WHERE ur.user_id = ?1",
    )?;
    let rows = stmt.query_map([user_id], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Usernames of the active holders of a role.
pub fn holders(r: &impl Read, role_id: i64) -> Result<Vec<String>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT u.username FROM user_roles ur JOIN users u ON u.id = ur.user_id
         WHERE ur.role_id = ?1 AND u.active = 1 ORDER BY u.username",
    )?;
    let rows = stmt.query_map([role_id], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
