//! Online backups with SQLite's backup API: a consistent snapshot taken while other processes
//! keep writing, and the checks that tell a sound backup file from a damaged one.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use super::{Db, SCHEMA_VERSION, schema_version_of};
use crate::domain::backup::Check;
use crate::{Error, ErrorKind, Result};

/// Copies the whole database into `dest` (created 0600, must not exist) as one snapshot, in
/// rollback-journal mode so the file stands alone, and syncs it to disk.
pub fn snapshot(db: &Db, dest: &Path) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)
        .map_err(|e| Error::internal(format!("cannot create {}", dest.display())).with_source(e))?;
    let mut dst = Connection::open(dest)?;
    // An encrypted database's backup is encrypted with the same key.
    if let Some(k) = db.key() {
        k.apply(&dst)?;
    }
    copy_all(&db.conn, &mut dst)?;
    dst.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
    dst.close().map_err(|(_, e)| e)?;
    File::open(dest)?.sync_all()?;
    Ok(())
}

/// One `step(-1)`: the source is read in a single read transaction, so WAL writers are not
/// blocked and the copy is never restarted half-way.
fn copy_all(src: &Connection, dst: &mut Connection) -> Result<()> {
    let backup = Backup::new(src, dst)?;
    for _ in 0..200 {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More | StepResult::Busy | StepResult::Locked => std::thread::sleep(Duration::from_millis(50)),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    Err(Error::internal("the database stayed locked for 10 s during the backup"))
}

/// Restores `file` into a scratch copy at `scratch` and checks it: SQLite's `integrity_check`,
/// a Rolo schema no newer than this binary, and readable users. Any failure is `Invalid`.
pub fn check_file(file: &Path, scratch: &Path) -> Result<Check> {
    let damaged = |why: String| Error::new(ErrorKind::Invalid, format!("{} is damaged: {why}", file.display()));
    let uri = format!("file:{}?immutable=1", uri_path(file));
    let (src, key) = match super::key::open_backup(file, &uri) {
        Err(e) if e.kind() == ErrorKind::Auth => return Err(e),
        other => other.map_err(|e| damaged(e.to_string()))?,
    };
    let mut dst = Connection::open(scratch)?;
    // The scratch copy of an encrypted backup is encrypted too.
    if let Some(k) = &key {
        k.apply(&dst)?;
    }
    copy_all(&src, &mut dst).map_err(|e| damaged(source_text(&e)))?;
    let mut stmt = dst.prepare("PRAGMA integrity_check").map_err(|e| damaged(e.to_string()))?;
    let problems: Vec<String> =
        stmt.query_map([], |r| r.get(0)).and_then(|rows| rows.collect()).map_err(|e| damaged(e.to_string()))?;
    drop(stmt);
    if problems != ["ok"] {
        return Err(damaged(problems.into_iter().take(3).collect::<Vec<_>>().join("; ")));
    }
    let schema_version = schema_version_of(&dst).map_err(|e| damaged(e.to_string()))?;
    if schema_version == 0 {
        return Err(damaged("it is not a Rolo database".into()));
    }
    if schema_version > SCHEMA_VERSION {
        return Err(Error::new(
            ErrorKind::Invalid,
            format!("{} comes from a newer rolo (schema {schema_version}); upgrade rolo first", file.display()),
        ));
    }
    let users = dst
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .map_err(|_| damaged("it is not a Rolo database".into()))?;
    Ok(Check { schema_version, users, integrity: "ok".into() })
}

/// Replaces the live database's content with `file`'s, through a second connection, while the
/// write lock keeps other processes out. The caller checks the file first.
pub fn restore(db: &Db, file: &Path) -> Result<()> {
    let uri = format!("file:{}?immutable=1", uri_path(file));
    let (src, _) = super::key::open_backup(file, &uri)?;
    let mut dst = Connection::open(db.path())?;
    if let Some(k) = db.key() {
        k.apply(&dst)?;
    }
    dst.busy_timeout(Duration::from_secs(10))?;
    copy_all(&src, &mut dst)?;
    // The copy brought the backup's journal mode along; the live database stays in WAL.
    dst.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    Ok(())
}

fn source_text(e: &Error) -> String {
    use std::error::Error as _;
    e.source().map_or_else(|| e.to_string(), |s| s.to_string())
}

/// Percent-encodes the characters that mean something in a SQLite URI.
fn uri_path(p: &Path) -> String {
    let mut out = String::new();
    for c in p.to_string_lossy().chars() {
        match c {
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            '%' => out.push_str("%25"),
            _ => out.push(c),
        }
    }
    out
}
