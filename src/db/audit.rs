//! The append-only audit log (the schema's triggers refuse updates and deletes).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

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

/// Appends an entry, sealed: its id follows the last one, and its hash covers its content and
/// the previous entry's hash (the write transaction holds SQLite's one write lock, so no other
/// entry can slip in between).
pub fn append(tx: &Tx, e: &NewEntry) -> Result<()> {
    let (last_id, prev): (i64, Option<String>) = tx
        .conn()
        .query_row("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, None));
    let row = Sealed {
        id: last_id + 1,
        at: super::utc_text(e.at),
        actor_id: e.actor_id,
        actor: e.actor.map(String::from),
        action: e.action.to_string(),
        entity: e.entity.to_string(),
        entity_id: e.entity_id,
        outcome: e.outcome.as_str().to_string(),
        detail: e.detail.map(String::from),
        before: e.before.map(String::from),
        after: e.after.map(String::from),
    };
    let hash = row.seal(prev.as_deref().unwrap_or(GENESIS));
    tx.conn().execute(
        "INSERT INTO audit_log (id, at, actor_id, actor, action, entity, entity_id, outcome, detail, before, after, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            row.id,
            row.at,
            row.actor_id,
            row.actor,
            row.action,
            row.entity,
            row.entity_id,
            row.outcome,
            row.detail,
            row.before,
            row.after,
            hash
        ],
    )?;
    Ok(())
}

/// What the first entry chains to.
const GENESIS: &str = "rolo-audit-genesis";

/// An entry's content, as stored.
struct Sealed {
    id: i64,
    at: String,
    actor_id: Option<i64>,
    actor: Option<String>,
    action: String,
    entity: String,
    entity_id: Option<i64>,
    outcome: String,
    detail: Option<String>,
    before: Option<String>,
    after: Option<String>,
}

impl Sealed {
    const COLUMNS: &'static str =
        "id, at, actor_id, actor, action, entity, entity_id, outcome, detail, before, after, hash";

    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Sealed, Option<String>)> {
        Ok((
            Sealed {
                id: r.get(0)?,
                at: r.get(1)?,
                actor_id: r.get(2)?,
                actor: r.get(3)?,
                action: r.get(4)?,
                entity: r.get(5)?,
                entity_id: r.get(6)?,
                outcome: r.get(7)?,
                detail: r.get(8)?,
                before: r.get(9)?,
                after: r.get(10)?,
            },
            r.get(11)?,
        ))
    }

    /// SHA-256 (hex) of the previous hash and this entry's columns, as a JSON array: every
    /// value keeps its type and its bounds, so no two different entries read alike.
    fn seal(&self, prev: &str) -> String {
        let canonical = serde_json::json!([
            prev,
            self.id,
            self.at,
            self.actor_id,
            self.actor,
            self.action,
            self.entity,
            self.entity_id,
            self.outcome,
            self.detail,
            self.before,
            self.after
        ]);
        crate::secrets::hex(&Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// Seals the entries that have no hash yet, in order (the migration that introduced the
/// chain; entries from then on are sealed as they are written).
pub fn seal_unsealed(conn: &rusqlite::Connection) -> Result<()> {
    let mut prev = GENESIS.to_string();
    let rows: Vec<(Sealed, Option<String>)> = {
        let sql = ["SELECT ", Sealed::COLUMNS, " FROM audit_log ORDER BY id"].concat();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], Sealed::from_row)?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut update = conn.prepare("UPDATE audit_log SET hash = ?2 WHERE id = ?1")?;
    for (row, hash) in rows {
        let h = match hash {
            Some(h) => h,
            None => {
                let h = row.seal(&prev);
                update.execute(params![row.id, h])?;
                h
            }
        };
        prev = h;
    }
    Ok(())
}

/// What walking the chain found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    pub entries: i64,
    /// The last entry's hash: written down elsewhere, it also proves later that no entry was
    /// removed from the end.
    pub head: Option<String>,
    /// The first break, if any.
    pub broken: Option<Break>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Break {
    /// The first entry whose link does not hold.
    pub id: i64,
    /// altered, removed_before, unsealed, altered_or_inserted
    pub kind: &'static str,
}

/// Walks the whole log in id order, recomputing each link, and names the first entry where
/// the chain breaks: `altered` (its content or seal changed: entries follow it),
/// `removed_before` (an id is missing before it), `unsealed` (no hash: written outside Rolo),
/// `altered_or_inserted` (the last entry, with nothing after it to tell). The seal covers the
/// id, so renumbering entries to slip one in breaks the chain at the first renumbered entry.
pub fn verify_chain(r: &impl Read) -> Result<ChainReport> {
    let sql = ["SELECT ", Sealed::COLUMNS, " FROM audit_log ORDER BY id"].concat();
    let mut stmt = r.conn().prepare(&sql)?;
    let mut rows = stmt.query_map([], Sealed::from_row)?.peekable();
    let (mut prev, mut prev_id, mut entries) = (GENESIS.to_string(), 0i64, 0i64);
    let broken = |entries, id, kind| ChainReport { entries, head: None, broken: Some(Break { id, kind }) };
    while let Some(next) = rows.next() {
        let (row, hash) = next?;
        entries += 1;
        if row.id != prev_id + 1 {
            return Ok(broken(entries, row.id, "removed_before"));
        }
        let Some(hash) = hash else { return Ok(broken(entries, row.id, "unsealed")) };
        if hash != row.seal(&prev) {
            let kind = if rows.peek().is_some() { "altered" } else { "altered_or_inserted" };
            return Ok(broken(entries, row.id, kind));
        }
        prev = hash;
        prev_id = row.id;
    }
    Ok(ChainReport { entries, head: (entries > 0).then_some(prev), broken: None })
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
