//! Encryption at rest (SQLCipher): the key of an encrypted database, where it comes from, and
//! the rewrite of a database file under another key (`rolo db encrypt|decrypt|rekey`).
//!
//! The key is looked for, in order, in `ROLO_DB_KEY`, in the OS keyring (service `rolo`,
//! account `dbkey:<canonical path>`), then asked for on a terminal — never on the command line.
//! A key Rolo makes is 32 random bytes in hex, used as SQLCipher's raw key (no key derivation
//! at each open); any other text is a passphrase (PBKDF2, slower to open).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::Connection;

use crate::secrets::Secret;
use crate::{Error, ErrorKind, Result};

/// The key of one encrypted database.
#[derive(Clone)]
pub struct DbKey(Secret<String>);

impl DbKey {
    pub fn new(text: String) -> Result<DbKey> {
        if text.trim().is_empty() {
            return Err(Error::invalid("key", "an empty key encrypts nothing"));
        }
        Ok(DbKey(Secret::new(text)))
    }

    /// A fresh random key.
    pub fn generate() -> Result<DbKey> {
        DbKey::new(crate::secrets::random_hex(32)?)
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// What `PRAGMA key` receives: `x'…'` for a raw key, the passphrase otherwise.
    fn pragma_value(&self) -> String {
        let k = self.0.expose();
        if k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit()) { ["x'", k, "'"].concat() } else { k.clone() }
    }

    /// Keys a connection that has read nothing yet.
    pub fn apply(&self, conn: &Connection) -> Result<()> {
        // SQLCipher would also log a wrong key's failed page checks to stderr; Rolo says it
        // in one line of its own.
        quiet(conn)?;
        conn.pragma_update(None, "key", self.pragma_value())?;
        Ok(())
    }
}

/// Turns SQLCipher's own logging off for this connection.
fn quiet(conn: &Connection) -> Result<()> {
    Ok(conn.execute_batch("PRAGMA cipher_log_level = NONE")?)
}

/// Whether `path` holds an encrypted database: an SQLite file starts with its 16-byte magic
/// header; a SQLCipher file starts with random salt and is a whole number of pages. A missing or
/// empty file, or one of another size (text, a truncated copy), is not: it opens in clear and
/// fails as "not a Rolo database".
pub fn is_encrypted(path: &Path) -> Result<bool> {
    let mut header = [0u8; 16];
    let (n, len) = match File::open(path) {
        Ok(mut f) => (f.read(&mut header)?, f.metadata()?.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, 0),
        Err(e) => return Err(Error::internal(format!("cannot read {}", path.display())).with_source(e)),
    };
    Ok(n == 16 && &header != b"SQLite format 3\0" && len >= 1024 && len % 512 == 0)
}

static PROMPT: AtomicBool = AtomicBool::new(false);

/// Whether a missing key may be asked for on the terminal (the CLI says so at start-up).
pub fn allow_prompt(yes: bool) {
    PROMPT.store(yes, Ordering::Relaxed);
}

/// What this process knows of each database, by canonical path: its key, or `None` when it is
/// in clear (a server opens many connections).
fn cache() -> &'static Mutex<HashMap<PathBuf, Option<DbKey>>> {
    static CACHE: std::sync::OnceLock<Mutex<HashMap<PathBuf, Option<DbKey>>>> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| match (path.parent(), path.file_name()) {
            // A file about to be created: its folder's real path, the same once it exists.
            (Some(dir), Some(name)) => {
                std::fs::canonicalize(if dir.as_os_str().is_empty() { Path::new(".") } else { dir })
                    .map(|d| d.join(name))
            }
            _ => Err(std::io::ErrorKind::NotFound.into()),
        })
        .unwrap_or_else(|_| path.to_path_buf())
}

fn keyring_entry(path: &Path) -> Option<keyring::Entry> {
    let account = ["dbkey:", &canonical(path).to_string_lossy()].concat();
    keyring::Entry::new("rolo", &account).ok()
}

/// The key of `path` when it is encrypted (None when it is not), or an `Auth` error naming
/// where a key can be given.
///
/// The file's header is read once per process: reading it means opening and closing the file,
/// and closing any descriptor of a file drops every POSIX lock the process holds on it —
/// SQLite's own included. A server opening its next connection that way let other processes
/// write under its readers and writers (`disk I/O error`, then a malformed database).
pub fn for_path(path: &Path) -> Result<Option<DbKey>> {
    let canon = canonical(path);
    if let Some(known) = cache().lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&canon) {
        return Ok(known.clone());
    }
    if !is_encrypted(path)? {
        // A missing file is created in clear (`create_encrypted` remembers its key instead).
        cache().lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(canon, None);
        return Ok(None);
    }
    let key = if let Some(k) = std::env::var("ROLO_DB_KEY").ok().filter(|k| !k.is_empty()) {
        DbKey::new(k)?
    } else if let Some(k) = keyring_entry(path).and_then(|e| e.get_password().ok()) {
        DbKey::new(k)?
    } else if PROMPT.load(Ordering::Relaxed) {
        let typed = dialoguer::Password::new()
            .with_prompt(format!("Key of {}", path.display()))
            .interact()
            .map_err(|e| Error::usage(format!("no key given: {e}")))?;
        DbKey::new(typed)?
    } else {
        return Err(Error::new(
            ErrorKind::Auth,
            format!(
                "{} is encrypted and no key was found: set ROLO_DB_KEY, keep the key in the system keyring, or run on a terminal to type it",
                path.display()
            ),
        ));
    };
    cache().lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(canon, Some(key.clone()));
    Ok(Some(key))
}

/// Remembers the key of a database this process just encrypted or created (`None`: it just
/// decrypted it).
pub fn remember(path: &Path, key: Option<&DbKey>) {
    cache().lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(canonical(path), key.cloned());
}

/// Opens `file` (a backup) read-only: in clear, or with whichever known key reads it — the
/// keys of the databases this process opened, then `ROLO_DB_KEY`. Returns the connection and
/// the key that worked.
pub fn open_backup(file: &Path, uri: &str) -> Result<(Connection, Option<DbKey>)> {
    use rusqlite::OpenFlags;
    let open = || Connection::open_with_flags(uri, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI);
    if !is_encrypted(file)? {
        return Ok((open()?, None));
    }
    let mut candidates: Vec<DbKey> =
        cache().lock().unwrap_or_else(std::sync::PoisonError::into_inner).values().flatten().cloned().collect();
    if let Some(k) = std::env::var("ROLO_DB_KEY").ok().filter(|k| !k.is_empty()) {
        candidates.push(DbKey::new(k)?);
    }
    for k in candidates {
        let conn = open()?;
        k.apply(&conn)?;
        if conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).is_ok() {
            return Ok((conn, Some(k)));
        }
    }
    Err(Error::new(
        ErrorKind::Auth,
        format!("{} is encrypted with a key this database does not have (set ROLO_DB_KEY to its key)", file.display()),
    ))
}

/// Forgets a cached key (after a rekey, or when it proved wrong).
pub fn forget(path: &Path) {
    cache().lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&canonical(path));
}

/// Keeps `key` in the system keyring for `path`; false when no keyring answers.
pub fn save_in_keyring(path: &Path, key: &DbKey) -> bool {
    keyring_entry(path).is_some_and(|e| e.set_password(key.expose()).is_ok())
}

/// Removes the keyring's key for `path`, if any.
pub fn delete_from_keyring(path: &Path) {
    if let Some(e) = keyring_entry(path) {
        let _ = e.delete_credential();
    }
}

/// Checks that a keyed (or plain) connection reads its database: a wrong key fails here, on
/// the first read, not on `PRAGMA key`.
pub fn check_readable(conn: &Connection, path: &Path, keyed: bool) -> Result<()> {
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::NotADatabase => {
            if keyed {
                forget(path);
                Err(Error::new(ErrorKind::Auth, format!("wrong key for {}", path.display())))
            } else {
                Err(Error::new(ErrorKind::Invalid, format!("{} is not a Rolo database", path.display())))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Rewrites the database at `path` under another key (`to` None: in clear), through SQLCipher's
/// export into a new 0600 file renamed over the old one; `from` is its current key. Refused
/// (conflict) while another process has it open (stop `rolo serve` first).
pub fn rewrite(path: &Path, from: Option<&DbKey>, to: Option<&DbKey>) -> Result<()> {
    let tmp = PathBuf::from([path.as_os_str().to_string_lossy().as_ref(), ".rekey"].concat());
    let _ = std::fs::remove_file(&tmp);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::internal(format!("cannot create {}", tmp.display())).with_source(e))?;
    let result = (|| -> Result<()> {
        let conn = Connection::open(path)?;
        if let Some(k) = from {
            k.apply(&conn)?;
        }
        check_readable(&conn, path, from.is_some())?;
        // Nobody else may have it open: the new file replaces this one under their feet.
        conn.busy_timeout(std::time::Duration::from_secs(2))?;
        conn.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |_| Ok(()))?;
        conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;").map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => Error::conflict(
                format!("{} is in use by another process (is `rolo serve` running?); stop it first", path.display()),
            ),
            e => e.into(),
        })?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let new_key = to.map(DbKey::pragma_value).unwrap_or_default();
        conn.execute("ATTACH DATABASE ?1 AS rewritten KEY ?2", rusqlite::params![tmp.to_string_lossy(), new_key])?;
        conn.query_row("SELECT sqlcipher_export('rewritten')", [], |_| Ok(()))?;
        conn.pragma_update(Some("rewritten"), "user_version", version)?;
        conn.execute_batch("DETACH DATABASE rewritten")?;
        conn.close().map_err(|(_, e)| e)?;
        File::open(&tmp)?.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The old WAL was checkpointed and emptied above; its files belong to the old content.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file([path.as_os_str().to_string_lossy().as_ref(), suffix].concat());
    }
    std::fs::rename(&tmp, path)?;
    forget(path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::db::{Db, Read};

    /// Closing any descriptor of a file drops the process's POSIX locks on it. A second
    /// connection must not read the header again (`for_path`), or another process could take
    /// the database from under the first one — here, switch it out of WAL mode mid-read.
    #[test]
    fn opening_another_connection_keeps_the_locks_of_the_first() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("locks.db");
        let first = Db::open_or_create(&path).expect("first");
        first.conn().execute_batch("BEGIN; SELECT count(*) FROM meta;").expect("a read transaction");
        let _second = Db::open(&path).expect("second");
        let _third = Db::open(&path).expect("third");
        let other = std::process::Command::new("python3")
            .args([
                "-c",
                "import sqlite3, sys\ntry:\n    c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n    print(c.execute('PRAGMA journal_mode=DELETE').fetchone()[0])\nexcept sqlite3.OperationalError as e:\n    print(e)",
            ])
            .arg(&path)
            .output()
            .expect("python3");
        let said = String::from_utf8_lossy(&other.stdout);
        assert!(
            said.contains("locked") || said.trim() == "wal",
            "another process changed the database under a reader: {said}"
        );
        first.conn().execute_batch("COMMIT").expect("commit");
    }

    use super::*;

    #[test]
    fn raw_keys_skip_the_key_derivation_and_passphrases_do_not() {
        let raw = "ab".repeat(32);
        assert_eq!(DbKey::new(raw.clone()).expect("key").pragma_value(), format!("x'{raw}'"));
        for passphrase in ["correct horse battery staple", &"ab".repeat(31), "x'00'"] {
            assert_eq!(DbKey::new(passphrase.to_string()).expect("key").pragma_value(), passphrase);
        }
        assert!(DbKey::new("  ".into()).is_err(), "an empty key");
    }

    #[test]
    fn only_whole_pages_without_the_sqlite_header_count_as_encrypted() {
        let dir = tempfile::tempdir().expect("dir");
        let cases: &[(&str, Vec<u8>, bool)] = &[
            ("empty", vec![], false),
            ("plain", [b"SQLite format 3\0".as_slice(), &[0u8; 4080]].concat(), false),
            ("text", b"just some notes\n".to_vec(), false),
            ("truncated", vec![7u8; 3000], false),
            ("one page of noise", vec![7u8; 4096], true),
        ];
        for (name, bytes, encrypted) in cases {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).expect("write");
            assert_eq!(is_encrypted(&p).expect("read"), *encrypted, "{name}");
        }
        assert!(!is_encrypted(&dir.path().join("missing")).expect("missing"));
    }

    #[test]
    fn a_database_in_use_is_not_rewritten() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("busy.db");
        let db = crate::db::Db::open_or_create(&path).expect("create");
        let reader = Connection::open(&path).expect("second connection");
        reader.execute_batch("BEGIN; SELECT count(*) FROM users;").expect("a reader");
        let key = DbKey::generate().expect("key");
        let e = rewrite(&path, None, Some(&key)).expect_err("in use");
        assert_eq!(e.kind(), ErrorKind::Conflict, "{}", e.message());
        assert!(!is_encrypted(&path).expect("read"), "unchanged");
        assert!(!PathBuf::from([path.to_string_lossy().as_ref(), ".rekey"].concat()).exists(), "no leftover");
        drop((reader, db));
        rewrite(&path, None, Some(&key)).expect("free now");
        assert!(is_encrypted(&path).expect("read"));
    }
}
