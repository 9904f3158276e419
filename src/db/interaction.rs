//! Interactions with a client: calls, meetings, e-mails…

use chrono::{DateTime, Utc};
use rusqlite::{Row, params};

use super::query::Query;
use super::{Read, Tx};
use crate::Result;
use crate::domain::interaction::Interaction;

const SELECT: &str = "SELECT i.id, i.client_id, c.full_name, i.kind, i.at, i.notes, u.username, i.created_at
    FROM interactions i JOIN clients c ON c.id = i.client_id LEFT JOIN users u ON u.id = i.author_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Interaction> {
    Ok(Interaction {
        id: r.get(0)?,
        client_id: r.get(1)?,
        client_name: r.get(2)?,
        kind: r.get(3)?,
        at: r.get(4)?,
        notes: r.get(5)?,
        author: r.get(6)?,
        created_at: r.get(7)?,
    })
}

pub fn insert(
    tx: &Tx,
    client_id: i64,
    kind: &str,
    at: DateTime<Utc>,
    notes: &str,
    by: i64,
    now: DateTime<Utc>,
) -> Result<i64> {
    let now = super::utc_text(now);
    let at = super::utc_text(at);
    tx.conn().execute(
        "INSERT INTO interactions (client_id, kind, at, notes, author_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![client_id, kind, at, notes, by, now],
    )?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn get(r: &impl Read, id: i64) -> Result<Interaction> {
    let sql = [SELECT, " WHERE i.id = ?1"].concat();
    Ok(r.conn().query_row(&sql, [id], from_row)?)
}

#[derive(Debug, Default)]
pub struct Filter {
    pub client_id: Option<i64>,
    pub author_id: Option<i64>,
    pub kind: Option<String>,
    pub limit: Option<u32>,
}

pub fn list_query(f: &Filter) -> Query {
    let mut q = Query::new(SELECT);
    q.push(" WHERE 1");
    if let Some(id) = f.client_id {
        q.bind(" AND i.client_id = ?", id);
    }
    if let Some(id) = f.author_id {
        q.bind(" AND i.author_id = ?", id);
    }
    if let Some(k) = &f.kind {
        q.bind(" AND i.kind = ?", k.clone());
    }
    q.push(" ORDER BY i.at DESC, i.id DESC");
    q.bind(" LIMIT ?", f.limit.map_or(-1, i64::from));
    q
}

pub fn list(r: &impl Read, f: &Filter) -> Result<Vec<Interaction>> {
    let q = list_query(f);
    let mut stmt = r.conn().prepare_cached(q.sql())?;
    let rows = stmt.query_map(q.params().as_slice(), from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
