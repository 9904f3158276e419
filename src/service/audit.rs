//! Reading the audit log, and proving it whole. Nothing in Rolo edits or deletes it; each
//! entry is chained to the one before by a hash, so an entry edited, removed or added with
//! another tool breaks the chain at that entry.

use chrono::Utc;

use super::authz::Session;
use crate::db;
use crate::domain::{Permission, time};
use crate::{Error, Result};

pub use crate::domain::audit::Entry;
pub use crate::domain::audit::Filter;

pub fn list(session: &Session, f: &Filter) -> Result<Vec<Entry>> {
    session.require(Permission::AuditRead)?;
    let since = f.since.as_deref().map(|s| time::parse_instant("since", s, Utc::now())).transpose()?;
    let actor = f.actor.as_deref().map(|a| a.trim().to_lowercase());
    db::audit::list(
        session.db(),
        &db::audit::Filter {
            actor: actor.as_deref(),
            entity: f.entity.as_deref(),
            action: f.action.as_deref(),
            since,
            limit: f.limit,
        },
    )
}

pub use crate::db::audit::ChainReport;

/// Walks the whole chain. A break is exit 3, naming the first entry where it breaks.
pub fn verify(session: &Session) -> Result<ChainReport> {
    session.require(Permission::AuditRead)?;
    let report = db::audit::verify_chain(session.db())?;
    if let Some(b) = &report.broken {
        let what = match b.kind {
            "altered" => "was altered",
            "removed_before" => "follows one or more removed entries",
            "unsealed" => "has no seal (written outside Rolo)",
            _ => "was altered or added",
        };
        return Err(Error::invalid(
            "audit",
            format!(
                "the audit log was changed outside Rolo: entry {} {what}; {} entries read up to it",
                b.id, report.entries
            ),
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Read;
    use crate::service::testing;

    fn tamper(db: &crate::db::Db, sql: &str) {
        let c = db.conn();
        c.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;").expect("drop triggers");
        c.execute_batch(sql).expect("tamper");
    }

    fn last_id(db: &crate::db::Db) -> i64 {
        db.conn().query_row("SELECT max(id) FROM audit_log", [], |r| r.get(0)).expect("max")
    }

    /// Each way of changing the log with another tool is found, at the right entry.
    #[test]
    fn every_change_outside_rolo_breaks_the_chain_where_it_was_made() {
        let clean = testing::demo();
        let mia = testing::session_as(&clean, "mia");
        let report = verify(&mia).expect("the demo's log is whole");
        assert!(report.entries > 10 && report.head.as_deref().map(str::len) == Some(64), "{report:?}");
        let n = last_id(&clean);
        // Fixed SQL only: the last entry and the one after it are named by subqueries.
        let cases: [(&str, &str, i64, &str); 7] = [
            ("an edited detail", "UPDATE audit_log SET detail = 'nothing happened' WHERE id = 5", 5, "altered"),
            ("an edited actor", "UPDATE audit_log SET actor = 'sam' WHERE id = 12", 12, "altered"),
            ("a removed entry", "DELETE FROM audit_log WHERE id = 7", 8, "removed_before"),
            ("the first entry removed", "DELETE FROM audit_log WHERE id = 1", 2, "removed_before"),
            (
                "an entry added by hand",
                "INSERT INTO audit_log (id, at, action, entity, outcome)
                 SELECT max(id) + 1, '2026-01-01T00:00:00.000Z', 'login', 'user', 'ok' FROM audit_log",
                n + 1,
                "unsealed",
            ),
            (
                "an entry added with a made-up seal",
                "INSERT INTO audit_log (id, at, action, entity, outcome, hash)
                 SELECT max(id) + 1, '2026-01-01T00:00:00.000Z', 'login', 'user', 'ok', hex(zeroblob(32)) FROM audit_log",
                n + 1,
                "altered_or_inserted",
            ),
            (
                "the last entry edited",
                "UPDATE audit_log SET outcome = 'denied' WHERE id = (SELECT max(id) FROM audit_log)",
                n,
                "altered_or_inserted",
            ),
        ];
        for (what, sql, id, kind) in cases {
            let db = testing::demo();
            tamper(&db, sql);
            let report = crate::db::audit::verify_chain(&db).expect("walk");
            let b = report.broken.unwrap_or_else(|| panic!("{what}: not found"));
            assert_eq!((b.id, b.kind), (id, kind), "{what}");
            let e = verify(&testing::session_as(&db, "admin")).expect_err("exit 3");
            assert_eq!(e.kind(), crate::ErrorKind::Invalid, "{what}");
            assert!(e.message().contains(&format!("entry {id} ")), "{what}: {}", e.message());
        }
    }

    /// Entries written before the chain existed are sealed by the migration (0017, in the first
    /// form), re-sealed with commitments by the next (0018) after checking the first form, and
    /// Rolo's own appends keep the chain whole; the trigger still refuses any other change.
    #[test]
    fn old_entries_are_sealed_once_and_the_log_stays_append_only() {
        let db = testing::demo();
        let c = db.conn();
        c.execute_batch(
            "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET hash = NULL;
             CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log WHEN OLD.hash IS NOT NULL
             BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
        )
        .expect("unseal");
        assert_eq!(crate::db::audit::verify_chain(&db).expect("walk").broken.map(|b| b.kind), Some("unsealed"));
        crate::db::audit::seal_unsealed(c).expect("seal");
        // As migrations 0018 and 0019 do: no trigger while re-sealing, then the new one.
        c.execute_batch("DROP TRIGGER audit_log_no_update").expect("drop");
        let broken = db.copy_in_memory().expect("copy");
        crate::db::audit::reseal_with_commitments(c).expect("reseal");
        c.execute_batch(include_str!("../../migrations/0019_audit_redaction.sql")).expect("trigger");
        let last: (String, String, String) = c
            .query_row("SELECT action, outcome, detail FROM audit_log ORDER BY id DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .expect("last");
        assert_eq!((last.0.as_str(), last.1.as_str()), ("audit.reseal", "ok"), "{last:?}");
        // A first-form chain that was already broken is re-sealed, and says so.
        broken.exec_for_test("UPDATE audit_log SET detail = 'x' WHERE id = 2").expect("edit");
        crate::db::audit::reseal_with_commitments(broken.conn()).expect("reseal");
        let said: (String, String) = broken
            .conn()
            .query_row("SELECT outcome, detail FROM audit_log ORDER BY id DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("last");
        assert_eq!(said.0, "failed");
        assert!(said.1.contains("entry 2 (altered)"), "{said:?}");
        let mia = testing::session_as(&db, "mia");
        crate::service::user::list(&mia, &Default::default()).expect("a read");
        let _ = crate::service::user::show(&mia, "nobody-here");
        assert!(verify(&mia).is_ok());

        let fresh = testing::demo();
        for sql in [
            "UPDATE audit_log SET detail = 'x' WHERE id = 3",
            "DELETE FROM audit_log WHERE id = 3",
            "UPDATE audit_log SET hash = NULL WHERE id = 3",
        ] {
            let e = fresh.conn().execute_batch(sql).expect_err(sql);
            assert!(e.to_string().contains("append-only"), "{sql}: {e}");
        }
    }
}
