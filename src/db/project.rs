//! Projects of client companies, and which client accounts may see them.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::query::Query;
use super::{Read, Tx, unique_violation};
use crate::Result;
use crate::domain::project::Project;

const SELECT: &str = "SELECT p.id, p.name, p.company_id, co.name, p.description,
        (SELECT count(*) FROM tickets t WHERE t.project_id = p.id AND t.status NOT IN ('resolved', 'closed')),
        p.created_at, p.updated_at
    FROM projects p JOIN companies co ON co.id = p.company_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        id: r.get(0)?,
        name: r.get(1)?,
        company_id: r.get(2)?,
        company: r.get(3)?,
        description: r.get(4)?,
        open_tickets: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

pub fn get(r: &impl Read, id: i64) -> Result<Option<Project>> {
    let sql = [SELECT, " WHERE p.id = ?1"].concat();
    Ok(r.conn().query_row(&sql, [id], from_row).optional()?)
}

pub fn find_by_name(r: &impl Read, name: &str) -> Result<Option<Project>> {
    let sql = [SELECT, " WHERE p.name = ?1"].concat();
    Ok(r.conn().query_row(&sql, [name.trim()], from_row).optional()?)
}

/// Projects, or only those granted to `member` (a client account).
pub fn list(r: &impl Read, member: Option<i64>, company_id: Option<i64>) -> Result<Vec<Project>> {
    let mut q = Query::new(SELECT);
    q.push(" WHERE 1");
    if let Some(uid) = member {
        q.bind(" AND p.id IN (SELECT project_id FROM project_access WHERE user_id = ?)", uid);
    }
    if let Some(id) = company_id {
        q.bind(" AND p.company_id = ?", id);
    }
    q.push(" ORDER BY p.name");
    let mut stmt = r.conn().prepare(q.sql())?;
    let rows = stmt.query_map(q.params().as_slice(), from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn insert(tx: &Tx, name: &str, company_id: i64, description: &str, by: i64, now: DateTime<Utc>) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn()
        .execute(
            "INSERT INTO projects (name, company_id, description, created_at, created_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
            params![name, company_id, description, now, by],
        )
        .map_err(|e| unique_violation(e, || format!("a project named `{name}` already exists")))?;
    Ok(tx.conn().last_insert_rowid())
}

/// The projects granted to a user.
pub fn granted(r: &impl Read, user_id: i64) -> Result<Vec<i64>> {
    let mut stmt =
        r.conn().prepare_cached("SELECT project_id FROM project_access WHERE user_id = ?1 ORDER BY project_id")?;
    let rows = stmt.query_map([user_id], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn has_access(r: &impl Read, project_id: i64, user_id: i64) -> Result<bool> {
    Ok(r.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM project_access WHERE project_id = ?1 AND user_id = ?2)",
        [project_id, user_id],
        |row| row.get(0),
    )?)
}

pub fn grant(tx: &Tx, project_id: i64, user_id: i64, by: i64, now: DateTime<Utc>) -> Result<bool> {
    let now = super::utc_text(now);
    Ok(tx.conn().execute(
        "INSERT OR IGNORE INTO project_access (project_id, user_id, granted_at, granted_by) VALUES (?1, ?2, ?3, ?4)",
        params![project_id, user_id, now, by],
    )? == 1)
}

pub fn revoke(tx: &Tx, project_id: i64, user_id: i64) -> Result<bool> {
    Ok(tx.conn().execute("DELETE FROM project_access WHERE project_id = ?1 AND user_id = ?2", [project_id, user_id])?
        == 1)
}

/// Usernames and e-mails of the client accounts granted a project.
pub fn members(r: &impl Read, project_id: i64) -> Result<Vec<(String, String)>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT u.username, u.email FROM project_access a JOIN users u ON u.id = a.user_id
         WHERE a.project_id = ?1 AND u.active = 1 ORDER BY u.username",
    )?;
    let rows = stmt.query_map([project_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
