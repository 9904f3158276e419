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
/// entry can slip in between). The personal columns enter the seal through a commitment with
/// a fresh random nonce (see [`redact`]).
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
        nonce: Some(crate::secrets::random_hex(16)?),
        redacted: None,
    };
    let hash = row.seal(prev.as_deref().unwrap_or(GENESIS));
    tx.conn().execute(
        "INSERT INTO audit_log (id, at, actor_id, actor, action, entity, entity_id, outcome, detail, before, after, nonce, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
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
            row.nonce,
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
    nonce: Option<String>,
    redacted: Option<String>,
}

impl Sealed {
    const COLUMNS: &'static str =
        "id, at, actor_id, actor, action, entity, entity_id, outcome, detail, before, after, nonce, redacted, hash";

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
                nonce: r.get(11)?,
                redacted: r.get(12)?,
            },
            r.get(13)?,
        ))
    }

    /// The first form of the seal (migration 0017): every column in clear. Only read to check
    /// the chain before it is re-sealed with commitments.
    fn seal_v1(&self, prev: &str) -> String {
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
        sha256_hex(canonical.to_string().as_bytes())
    }

    /// The commitment to the personal columns: SHA-256 of the nonce and the columns. Once an
    /// erasure has replaced the columns and dropped the nonce, the stored commitment stands in
    /// for them (and, the nonce gone, no guess of the old values can be checked against it).
    fn commitment(&self) -> String {
        match &self.redacted {
            Some(c) => c.clone(),
            None => sha256_hex(
                serde_json::json!([self.nonce, self.actor, self.detail, self.before, self.after])
                    .to_string()
                    .as_bytes(),
            ),
        }
    }

    /// SHA-256 (hex) of the previous hash, this entry's columns and the commitment to its
    /// personal columns, as a JSON array: every value keeps its type and its bounds, so no two
    /// different entries read alike.
    fn seal(&self, prev: &str) -> String {
        let canonical = serde_json::json!([
            prev,
            2,
            self.id,
            self.at,
            self.actor_id,
            self.action,
            self.entity,
            self.entity_id,
            self.outcome,
            self.commitment()
        ]);
        sha256_hex(canonical.to_string().as_bytes())
    }

    /// What an erasure records of a redacted entry's replaced columns, so that `verify` can
    /// tell them from a later edit.
    fn redaction_digest(&self) -> String {
        sha256_hex(
            serde_json::json!([self.id, self.actor, self.detail, self.before, self.after, self.redacted])
                .to_string()
                .as_bytes(),
        )
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::secrets::hex(&Sha256::digest(bytes))
}

fn all_entries(conn: &rusqlite::Connection) -> Result<Vec<(Sealed, Option<String>)>> {
    entries_from(conn, &["SELECT ", Sealed::COLUMNS, " FROM audit_log ORDER BY id"].concat())
}

/// The entries as the first form of the chain stored them (before migration 0018 added the
/// nonce and the commitment).
fn first_form_entries(conn: &rusqlite::Connection) -> Result<Vec<(Sealed, Option<String>)>> {
    entries_from(
        conn,
        "SELECT id, at, actor_id, actor, action, entity, entity_id, outcome, detail, before, after, NULL, NULL, hash
         FROM audit_log ORDER BY id",
    )
}

fn entries_from(conn: &rusqlite::Connection, sql: &str) -> Result<Vec<(Sealed, Option<String>)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], Sealed::from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Seals the entries that have no hash yet, in order, in the first form (the migration that
/// introduced the chain; 0018 then re-seals them all).
pub fn seal_unsealed(conn: &rusqlite::Connection) -> Result<()> {
    let mut prev = GENESIS.to_string();
    let mut update = conn.prepare("UPDATE audit_log SET hash = ?2 WHERE id = ?1")?;
    for (row, hash) in first_form_entries(conn)? {
        let h = match hash {
            Some(h) => h,
            None => {
                let h = row.seal_v1(&prev);
                update.execute(params![row.id, h])?;
                h
            }
        };
        prev = h;
    }
    Ok(())
}

/// Migration 0018: checks the chain in its first form, then gives every entry a nonce and
/// re-seals the log with commitments (no trigger stands in the way during that migration).
/// The result of the check is itself written down as the last entry, sealed: a log that was
/// already broken is not silently blessed.
pub fn reseal_with_commitments(conn: &rusqlite::Connection) -> Result<()> {
    let entries = all_entries(conn)?;
    let (mut prev, mut prev_id, mut broken) = (GENESIS.to_string(), 0i64, None);
    for (row, hash) in &entries {
        let kind = if row.id != prev_id + 1 {
            Some("removed_before")
        } else if hash.as_deref() != Some(row.seal_v1(&prev).as_str()) {
            Some("altered")
        } else {
            None
        };
        if let (Some(kind), None) = (kind, &broken) {
            broken = Some((row.id, kind));
        }
        prev = hash.clone().unwrap_or_default();
        prev_id = row.id;
    }
    let mut prev = GENESIS.to_string();
    let mut update = conn.prepare("UPDATE audit_log SET nonce = ?2, hash = ?3 WHERE id = ?1")?;
    for (mut row, _) in entries {
        row.nonce = Some(crate::secrets::random_hex(16)?);
        let h = row.seal(&prev);
        update.execute(params![row.id, row.nonce, h])?;
        prev = h;
    }
    let detail = match broken {
        None => "the chain verified before it was re-sealed with commitments".to_string(),
        Some((id, kind)) => format!("before it was re-sealed, the chain broke at entry {id} ({kind})"),
    };
    let tx = Tx { conn };
    append(
        &tx,
        &NewEntry {
            at: chrono::Utc::now(),
            actor_id: None,
            actor: None,
            action: "audit.reseal",
            entity: "audit",
            entity_id: None,
            outcome: if broken.is_some() { Outcome::Failed } else { Outcome::Ok },
            detail: Some(&detail),
            before: None,
            after: None,
        },
    )
}

/// One audit entry as an erasure sees it.
pub struct Personal {
    pub id: i64,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub actor: Option<String>,
    pub detail: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Hands every entry's personal columns to `f`; where it returns new ones, the entry is
/// redacted to them (nonce dropped, commitment kept). Returns the digest of each redacted
/// entry as it now reads, for the erasure's own entry (`after.redactions`), which `verify`
/// checks. The log is read as a stream; only the entries to change are held.
pub fn redact(tx: &Tx, mut f: impl FnMut(&Personal) -> Option<Personal>) -> Result<Vec<(i64, String)>> {
    let mut changes = Vec::new();
    {
        let sql = ["SELECT ", Sealed::COLUMNS, " FROM audit_log ORDER BY id"].concat();
        let mut stmt = tx.conn().prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (row, _) = Sealed::from_row(r)?;
            let p = Personal {
                id: row.id,
                action: row.action.clone(),
                entity: row.entity.clone(),
                entity_id: row.entity_id,
                actor: row.actor.clone(),
                detail: row.detail.clone(),
                before: row.before.clone(),
                after: row.after.clone(),
            };
            if let Some(new) = f(&p) {
                let commitment = row.commitment();
                changes.push(Sealed {
                    actor: new.actor,
                    detail: new.detail,
                    before: new.before,
                    after: new.after,
                    nonce: None,
                    redacted: Some(commitment),
                    ..row
                });
            }
        }
    }
    let mut update = tx.conn().prepare(
        "UPDATE audit_log SET actor = ?2, detail = ?3, before = ?4, after = ?5, nonce = NULL, redacted = ?6 WHERE id = ?1",
    )?;
    let mut out = Vec::with_capacity(changes.len());
    for c in changes {
        update.execute(params![c.id, c.actor, c.detail, c.before, c.after, c.redacted])?;
        out.push((c.id, c.redaction_digest()));
    }
    Ok(out)
}

/// What walking the chain found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    pub entries: i64,
    /// Entries whose personal data an erasure replaced (each checked against its erasure).
    pub redacted: i64,
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
/// An entry redacted by an erasure must read exactly as the last `privacy.erase` entry that
/// redacted it recorded; otherwise it is `altered` too.
pub fn verify_chain(r: &impl Read) -> Result<ChainReport> {
    let sql = ["SELECT ", Sealed::COLUMNS, " FROM audit_log ORDER BY id"].concat();
    let mut stmt = r.conn().prepare(&sql)?;
    let mut rows = stmt.query_map([], Sealed::from_row)?.peekable();
    let (mut prev, mut prev_id, mut entries) = (GENESIS.to_string(), 0i64, 0i64);
    // Redacted entries as they read, and what their erasures recorded of them.
    let (mut redacted, mut recorded) = (std::collections::BTreeMap::new(), std::collections::HashMap::new());
    let broken = |entries, id, kind| ChainReport { entries, redacted: 0, head: None, broken: Some(Break { id, kind }) };
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
        if row.redacted.is_some() {
            redacted.insert(row.id, row.redaction_digest());
        }
        if row.action == "privacy.erase" {
            let after: Option<serde_json::Value> = row.after.as_deref().and_then(|a| serde_json::from_str(a).ok());
            if let Some(map) = after.as_ref().and_then(|a| a["redactions"].as_object()) {
                for (id, digest) in map {
                    if let (Ok(id), Some(d)) = (id.parse::<i64>(), digest.as_str()) {
                        recorded.insert(id, d.to_string());
                    }
                }
            }
        }
        prev = hash;
        prev_id = row.id;
    }
    let n = redacted.len() as i64;
    if let Some((&id, _)) = redacted.iter().find(|(id, digest)| recorded.get(*id) != Some(*digest)) {
        return Ok(ChainReport { redacted: n, ..broken(entries, id, "altered") });
    }
    Ok(ChainReport { entries, redacted: n, head: (entries > 0).then_some(prev), broken: None })
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
