//! The append-only audit log (the schema's triggers refuse updates and deletes).

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Read, Tx};
use crate::Result;
use crate::domain::audit::{Entry, Outcome};

/// One entry to append.
pub struct NewEntry<'a> {
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<i64>,
    pub outcome: Outcome,
    pub detail: Option<&'a str>,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

pub fn append(tx: &Tx, e: &NewEntry) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO audit_log (at, actor_id, actor, action, entity, entity_id, outcome, detail, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            super::utc_text(e.at),
            e.actor_id,
            e.actor,
            e.action,
            e.entity,
            e.entity_id,
            e.outcome.as_str(),
            e.detail,
            e.before,
            e.after
        ],
    )?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub actor: Option<&'a str>,
    pub entity: Option<&'a str>,
    pub action: Option<&'a str>,
    pub since: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

pub fn list(r: &impl Read, f: &Filter) -> Result<Vec<Entry>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT id, at, actor, action, entity, entity_id, outcome, detail, before, after FROM audit_log
         WHERE (?1 IS NULL OR actor = ?1)
           AND (?2 IS NULL OR entity = ?2)
           AND (?3 IS NULL OR action = ?3)
           AND (?4 IS NULL OR at >= ?4)
         ORDER BY id DESC
         LIMIT ?5",
    )?;
    let limit = f.limit.map_or(-1, i64::from);
    let rows = stmt.query_map(params![f.actor, f.entity, f.action, f.since.map(super::utc_text), limit], |row| {
        let json = |i: usize| -> rusqlite::Result<Option<serde_json::Value>> {
            let s: Option<String> = row.get(i)?;
            s.map(|s| super::json_column(i, &s)).transpose()
        };
        Ok(Entry {
            id: row.get(0)?,
            at: row.get(1)?,
            actor: row.get(2)?,
            action: row.get(3)?,
            entity: row.get(4)?,
            entity_id: row.get(5)?,
            outcome: row.get(6)?,
            detail: row.get(7)?,
            before: json(8)?,
            after: json(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn a_damaged_json_column_is_an_error_not_a_null() {
        let db = Db::open_in_memory().expect("db");
        db.conn
            .execute(
                "INSERT INTO audit_log (at, action, entity, outcome, before) VALUES ('2026-01-01T00:00:00.000Z', 'x', 'y', 'ok', 'not json')",
                [],
            )
            .expect("insert");
        let e = list(&db, &Filter::default()).expect_err("damaged JSON must not read as null");
        assert_eq!(e.kind(), crate::ErrorKind::Internal);
    }
}
