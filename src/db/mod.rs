//! The only code that touches rusqlite. Every statement is parameterized; write transactions
//! start with `BEGIN IMMEDIATE` so that concurrent writers queue on the busy timeout instead of
//! failing half-way.

pub mod app;
pub mod audit;
pub mod backup;
pub mod campaign;
pub mod client;
pub mod company;
pub mod consent;
pub mod contract;
pub mod erase;
pub mod event;
pub mod inbound;
pub mod interaction;
pub mod key;
pub mod links;
mod migrate;
pub mod outbox;
pub mod pages;
#[cfg(test)]
mod plans;
pub mod pool;
pub mod population;
pub mod privacy;
pub mod project;
pub mod query;
pub mod role;
pub mod session;
pub mod sla;
pub mod suppression;
pub mod template;
pub mod ticket;
pub mod user;

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use migrate::{SCHEMA_VERSION, schema_version_of};

use crate::{Error, ErrorKind, Result};

/// How long a command waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open Rolo database, migrated to this binary's schema.
pub struct Db {
    conn: Connection,
    path: PathBuf,
    key: Option<key::DbKey>,
}

/// A write transaction. Obtained only through [`Db::write`], which needs a [`WriteKey`].
pub struct Tx<'a> {
    conn: &'a Connection,
}

/// Proof that a write was authorized, demanded by [`Db::write`]. The trait is implemented
/// only by `service::authz`'s key, which only a permission check (or an audited system path)
/// hands out, so a service that forgot its check has no way to open a write transaction.
/// `db` defines the trait and never names the service layer.
pub trait WriteKey: seal::Sealed {}

/// The seal of [`WriteKey`]: nameable inside the crate for the one implementation in
/// `service::authz`; a second implementation would stand out in review.
pub(crate) mod seal {
    pub trait Sealed {}
}

/// Something reads can run on: the database itself or an open transaction.
pub trait Read {
    #[doc(hidden)]
    fn conn(&self) -> &Connection;
}

impl Read for Db {
    fn conn(&self) -> &Connection {
        &self.conn
    }
}

impl Read for Tx<'_> {
    fn conn(&self) -> &Connection {
        self.conn
    }
}

impl Db {
    /// Opens an existing database; a missing file is a usage error that points at `rolo init`.
    pub fn open(path: &Path) -> Result<Db> {
        if !path.exists() {
            return Err(Error::usage(format!(
                "no database at {}; create one with `rolo init` (or pass --db PATH)",
                path.display()
            )));
        }
        Self::open_or_create(path)
    }

    /// Opens the database, creating the file (mode 0600) and its folder when missing.
    pub fn open_or_create(path: &Path) -> Result<Db> {
        create_private_file(path)?;
        let db = Self::connect(path, key::for_path(path)?)?;
        migrate::run(&db.conn)?;
        Ok(db)
    }

    /// Creates a new database encrypted with `key` (`rolo init --encrypt`); the file must not
    /// exist yet.
    pub fn create_encrypted(path: &Path, key: &key::DbKey) -> Result<Db> {
        if path.exists() {
            return Err(Error::conflict(format!("{} already exists; `rolo db encrypt` encrypts it", path.display())));
        }
        create_private_file(path)?;
        key::remember(path, Some(key));
        let db = Self::connect(path, Some(key.clone()))?;
        migrate::run(&db.conn)?;
        Ok(db)
    }

    /// A connection to `path`, keyed with `key` when the file is encrypted (a wrong key is an
    /// `Auth` error before anything else runs), and configured.
    fn connect(path: &Path, key: Option<key::DbKey>) -> Result<Db> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        if let Some(k) = &key {
            k.apply(&conn)?;
        }
        key::check_readable(&conn, path, key.is_some())?;
        let db = Db { conn, path: path.to_path_buf(), key };
        db.configure()?;
        Ok(db)
    }

    /// The key this database was opened with (None in clear): its backups take the same.
    pub fn key(&self) -> Option<&key::DbKey> {
        self.key.as_ref()
    }

    /// Opens one more connection to a database whose schema was already checked (by a
    /// [`pool::Pool`]): configured, not migrated.
    fn open_configured(path: &Path) -> Result<Db> {
        Self::connect(path, key::for_path(path)?)
    }

    /// An in-memory database, for tests of the service layer.
    pub fn open_in_memory() -> Result<Db> {
        let db = Db { conn: Connection::open_in_memory()?, path: PathBuf::from(":memory:"), key: None };
        db.configure()?;
        migrate::run(&db.conn)?;
        Ok(db)
    }

    fn configure(&self) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // A file that is not a database fails on its first read: say so plainly.
        let mode: String =
            self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(|e| match Error::from(e) {
                e if e.kind() == ErrorKind::Invalid => {
                    Error::new(ErrorKind::Invalid, format!("{} is not a Rolo database", self.path.display()))
                }
                e => e,
            })?;
        if mode != "wal" && mode != "memory" {
            return Err(Error::internal(format!("could not switch {} to WAL mode", self.path.display())));
        }
        self.conn
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA trusted_schema = OFF;")?;
        // Deleted and overwritten content is zeroed, not left in free space: an erased person
        // or a deleted record is gone from the file, not merely unlinked.
        self.conn.execute_batch("PRAGMA secure_delete = ON;")?;
        // Large sorts (an index built after a bulk load) spill to temporary files, as in a
        // stock SQLite, rather than into memory (SQLCipher's build default). An encrypted
        // database keeps them in memory: temporary files would hold its data in clear.
        if self.key.is_none() {
            self.conn.execute_batch("PRAGMA temp_store = FILE;")?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the database answers (`/healthz`).
    pub fn ping(&self) -> Result<()> {
        Ok(self.conn.query_row("SELECT count(*) FROM meta", [], |_| Ok(()))?)
    }

    /// The database file, for another connection to it (None for an in-memory database).
    pub fn file_path(&self) -> Option<PathBuf> {
        (self.path.as_os_str() != ":memory:").then(|| self.path.clone())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: all of it is committed, or none.
    ///
    /// Called inside another write (a batch import runs each row through the same service
    /// operation a person would), it runs in a savepoint instead: a failed row undoes only
    /// itself, and the outer transaction still decides for the whole run.
    pub fn write<T>(&self, _key: &impl WriteKey, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("SAVEPOINT nested_write")?;
            return match f(&Tx { conn: &self.conn }) {
                Ok(value) => {
                    self.conn.execute_batch("RELEASE nested_write")?;
                    Ok(value)
                }
                Err(e) => {
                    self.conn.execute_batch("ROLLBACK TO nested_write; RELEASE nested_write")?;
                    Err(e)
                }
            };
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let value = f(&Tx { conn: &tx })?;
        tx.commit()?;
        Ok(value)
    }

    /// Copies the write-ahead log into the database file and empties it (after an erasure, so
    /// that no old page of the person stays in the -wal file). False when another connection
    /// still reads an older snapshot: the log then empties at a later checkpoint.
    pub fn truncate_wal(&self) -> Result<bool> {
        let busy: i64 = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        Ok(busy == 0)
    }

    /// A copy of this database in memory (SQLite's backup API), for tests that run many cases
    /// on one prepared state.
    #[cfg(test)]
    pub fn copy_in_memory(&self) -> Result<Db> {
        let mut conn = Connection::open_in_memory()?;
        rusqlite::backup::Backup::new(&self.conn, &mut conn)?.run_to_completion(1 << 20, Duration::ZERO, None)?;
        let db = Db { conn, path: PathBuf::from(":memory:"), key: None };
        db.configure()?;
        Ok(db)
    }

    /// A copy of this database in a file (for tests of file operations such as backups).
    #[cfg(test)]
    pub fn copy_to_file(&self, path: &Path) -> Result<Db> {
        self.conn.backup(rusqlite::MAIN_DB, path, None::<fn(rusqlite::backup::Progress)>)?;
        Db::open(path)
    }

    /// Every row of every table but the audit log, as text: "nothing changed" is equality.
    #[cfg(test)]
    pub fn dump(&self) -> Result<String> {
        let mut tables: Vec<String> = self
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('audit_log') ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        tables.sort();
        let mut out = String::new();
        for t in tables {
            // Table names come from sqlite_master, not from input.
            let mut stmt = self.conn.prepare(&["SELECT * FROM \"", &t, "\" ORDER BY 1"].concat())?;
            let n = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let cells: Vec<String> = (0..n)
                    .map(|i| row.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}")))
                    .collect::<rusqlite::Result<_>>()?;
                out.push_str(&t);
                out.push_str(": ");
                out.push_str(&cells.join(" | "));
                out.push('\n');
            }
        }
        Ok(out)
    }

    /// How many audit entries have this outcome (`ok`, `denied`, `failed`).
    #[cfg(test)]
    pub fn audit_count(&self, outcome: &str) -> Result<i64> {
        Ok(self.conn.query_row("SELECT count(*) FROM audit_log WHERE outcome = ?1", [outcome], |r| r.get(0))?)
    }

    /// Runs raw SQL, for tests that prepare states no command makes (a failed outbox row).
    #[cfg(test)]
    pub fn exec_for_test(&self, sql: &str) -> Result<()> {
        Ok(self.conn.execute_batch(sql)?)
    }

    /// Runs one raw statement with one bound text value, for tests.
    #[cfg(test)]
    pub fn exec_bound_for_test(&self, sql: &str, value: &str) -> Result<()> {
        self.conn.execute(sql, [value])?;
        Ok(())
    }

    /// Reads a value from the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }
}

/// Creates `path` (and its folder) owner-only from the first byte when it is missing; SQLite
/// gives its -wal and -shm files the same mode. Only a missing file: opening and closing an
/// existing database outside SQLite would drop every POSIX lock this process holds on it (a
/// server's other connections would lose theirs, and a closing connection could then think
/// itself the last one and reset the WAL under readers: "disk I/O error").
fn create_private_file(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create the folder {}", dir.display())).with_source(e))?;
    }
    match OpenOptions::new().create_new(true).append(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::internal(format!("cannot open {}", path.display())).with_source(e)),
    }
}

impl Tx<'_> {
    /// Reads a value from the `meta` table inside the transaction.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    /// A bigger page cache for a bulk write on this connection (`Some(KiB)`), or SQLite's
    /// default again (`None`, 2 MB).
    pub fn page_cache(&self, kib: Option<u32>) -> Result<()> {
        let kib = kib.unwrap_or(DEFAULT_PAGE_CACHE_KIB);
        Ok(self.conn.execute_batch(&format!("PRAGMA cache_size = -{kib}"))?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}

/// Runs a query and hands each mapped row to `f`, one at a time (exports stream; memory does
/// not grow). Returns how many rows there were.
pub(crate) fn stream<T>(
    r: &impl Read,
    sql: &str,
    map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    mut f: impl FnMut(&T) -> Result<()>,
) -> Result<usize> {
    let mut stmt = r.conn().prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut n = 0;
    while let Some(row) = rows.next()? {
        f(&map(row)?)?;
        n += 1;
    }
    Ok(n)
}

/// SQLite's default page cache, in KiB.
pub(crate) const DEFAULT_PAGE_CACHE_KIB: u32 = 2000;

/// The stored form of an instant (RFC 3339 UTC with milliseconds, which sorts as text).
/// Services hand `db` typed times; only this module turns them into text.
pub(crate) fn utc_text(t: chrono::DateTime<chrono::Utc>) -> String {
    crate::domain::time::format_utc(t)
}

/// Reads a JSON column. Text that is not JSON is an error naming the column, never a silent
/// `null`: a damaged audit entry or calendar must be seen, not papered over.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(column: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into()))
}

/// Maps a UNIQUE violation to a conflict that names what clashed; other errors pass through.
pub(crate) fn unique_violation(e: rusqlite::Error, what: impl FnOnce() -> String) -> Error {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    {
        return Error::conflict(what());
    }
    e.into()
}

/// SQLite errors become the library's error kinds here, so nothing outside `db` names rusqlite.
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                Error::internal("the database stayed busy for too long (another rolo process holds a write lock)")
                    .with_source(e)
            }
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                Error::new(ErrorKind::Invalid, "the file is not a valid Rolo database").with_source(e)
            }
            _ => Error::internal("database error").with_source(e),
        }
    }
}
