//! Embedded, ordered, append-only migrations. `PRAGMA user_version` records how many have run;
//! each runs in its own transaction; a database from a newer Rolo is refused, not damaged.

use rusqlite::{Connection, TransactionBehavior};

use crate::{Error, ErrorKind, Result};

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_foundation", include_str!("../../migrations/0001_foundation.sql")),
    ("0002_builtin_roles", include_str!("../../migrations/0002_builtin_roles.sql")),
    ("0003_crm", include_str!("../../migrations/0003_crm.sql")),
    ("0004_tickets", include_str!("../../migrations/0004_tickets.sql")),
    ("0005_population", include_str!("../../migrations/0005_population.sql")),
    ("0006_campaigns", include_str!("../../migrations/0006_campaigns.sql")),
    ("0007_send_log_due", include_str!("../../migrations/0007_send_log_due.sql")),
    ("0008_mail_events", include_str!("../../migrations/0008_mail_events.sql")),
    ("0009_consent_ledger", include_str!("../../migrations/0009_consent_ledger.sql")),
    ("0010_tracking", include_str!("../../migrations/0010_tracking.sql")),
    ("0011_links_and_pages", include_str!("../../migrations/0011_links_and_pages.sql")),
    ("0012_applications", include_str!("../../migrations/0012_applications.sql")),
    ("0013_api_requests", include_str!("../../migrations/0013_api_requests.sql")),
    ("0014_outbox_events", include_str!("../../migrations/0014_outbox_events.sql")),
    ("0015_outbox_attachments", include_str!("../../migrations/0015_outbox_attachments.sql")),
    ("0016_tickets_project_open", include_str!("../../migrations/0016_tickets_project_open.sql")),
    ("0017_audit_chain", include_str!("../../migrations/0017_audit_chain.sql")),
    ("0018_privacy", include_str!("../../migrations/0018_privacy.sql")),
    ("0019_audit_redaction", include_str!("../../migrations/0019_audit_redaction.sql")),
    ("0020_search_index", include_str!("../../migrations/0020_search_index.sql")),
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn schema_version_of(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

pub(super) fn run(conn: &Connection) -> Result<()> {
    let current = schema_version_of(conn)?;
    if current > SCHEMA_VERSION {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "this database has schema version {current}, newer than this rolo (version {}, schema {SCHEMA_VERSION}); upgrade rolo",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        if schema_version_of(&tx)? >= version {
            continue;
        }
        tx.execute_batch(sql).map_err(|e| Error::internal(format!("migration {name} failed")).with_source(e))?;
        if *name == "0017_audit_chain" {
            // The entries written so far join the chain, oldest first.
            super::audit::seal_unsealed(&tx)?;
        }
        if *name == "0018_privacy" {
            // Suppressions under the new salt; the audit log re-sealed with commitments.
            super::suppression::rehash_mailboxes(&tx)?;
            super::audit::reseal_with_commitments(&tx)?;
        }
        if *name == "0020_search_index" {
            // An expression index for each custom field already registered.
            super::population::index_all_fields(&tx)?;
        }
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_newer_databases_are_refused() {
        let conn = Connection::open_in_memory().expect("memory db");
        run(&conn).expect("migrate");
        assert_eq!(schema_version_of(&conn).ok(), Some(SCHEMA_VERSION));
        run(&conn).expect("second run is a no-op");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).expect("bump");
        let e = run(&conn).expect_err("newer schema");
        assert!(e.message().contains("newer than this rolo"), "{}", e.message());
    }

    #[test]
    fn builtin_roles_only_name_catalogue_permissions() {
        let conn = Connection::open_in_memory().expect("memory db");
        run(&conn).expect("migrate");
        let mut stmt = conn.prepare("SELECT DISTINCT permission FROM role_permissions").expect("prepare");
        let names: Vec<String> =
            stmt.query_map([], |r| r.get(0)).expect("query").collect::<Result<_, _>>().expect("rows");
        assert!(names.len() > 20);
        for n in names {
            assert!(n.parse::<crate::domain::Permission>().is_ok(), "{n} is not in the catalogue");
        }
    }
}
