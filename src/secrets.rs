//! Secrets as a type, and the token store: where `rolo login` keeps the session tokens.
//!
//! The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows)
//! is the default; where none answers (a headless server, CI) the tokens go to a 0600 file in
//! the config directory, with a one-line warning. `ROLO_TOKEN_STORE=keyring|file` forces one.
//! Entries are keyed by database, so two databases never share a login.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A value that must not end up in logs: `Debug` prints `Secret(***)`; read it with `expose`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The pair of tokens a login yields, as kept by a store.
///
/// `Secret` does not implement `Serialize`, so no record that holds one can be written out by
/// accident (an audit entry, a JSON answer); the stores write this pair on purpose, through
/// [`StoredTokens::to_json`].
#[derive(Clone, Debug, Deserialize)]
pub struct StoredTokens {
    pub access: Secret<String>,
    pub refresh: Secret<String>,
}

impl StoredTokens {
    /// The stored form: a small JSON object, for the keyring entry or the 0600 file.
    pub fn to_json(&self) -> String {
        serde_json::json!({"access": self.access.expose(), "refresh": self.refresh.expose()}).to_string()
    }
}

impl<'de> Deserialize<'de> for Secret<String> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Where tokens are kept.
pub trait TokenStore {
    fn load(&self) -> Result<Option<StoredTokens>>;
    fn save(&self, tokens: &StoredTokens) -> Result<()>;
    /// Removes the entry; absent is fine.
    fn clear(&self) -> Result<()>;
    /// For messages: "the system keyring", "/home/kate/.config/rolo/sessions/ab12.token".
    fn describe(&self) -> String;
}

/// Which store the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// Keyring when reachable, else the file with a warning.
    Auto,
    Keyring,
    File,
}

impl StoreChoice {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "" | "auto" => Ok(StoreChoice::Auto),
            "keyring" => Ok(StoreChoice::Keyring),
            "file" => Ok(StoreChoice::File),
            _ => Err(Error::usage(format!("ROLO_TOKEN_STORE must be `keyring` or `file`, not `{s}`"))),
        }
    }
}

const KEYRING_SERVICE: &str = "rolo";

/// The OS keyring, one entry per database.
pub struct KeyringStore {
    account: String,
}

impl KeyringStore {
    pub fn new(db_key: &str) -> Self {
        KeyringStore { account: format!("db:{db_key}") }
    }

    fn entry(&self) -> std::result::Result<keyring::Entry, keyring::Error> {
        keyring::Entry::new(KEYRING_SERVICE, &self.account)
    }

    /// Whether a keyring answers at all (an empty entry counts as an answer).
    pub fn reachable(&self) -> bool {
        match self.entry().and_then(|e| e.get_password()) {
            Ok(_) | Err(keyring::Error::NoEntry) => true,
            Err(_) => false,
        }
    }
}

fn keyring_error(e: keyring::Error) -> Error {
    Error::internal("the system keyring failed").with_source(e)
}

impl TokenStore for KeyringStore {
    fn load(&self) -> Result<Option<StoredTokens>> {
        match self.entry().and_then(|e| e.get_password()) {
            Ok(s) => Ok(serde_json::from_str(&s).ok()),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn save(&self, tokens: &StoredTokens) -> Result<()> {
        let json = tokens.to_json();
        self.entry().and_then(|e| e.set_password(&json)).map_err(keyring_error)
    }

    fn clear(&self) -> Result<()> {
        match self.entry().and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn describe(&self) -> String {
        "the system keyring".into()
    }
}

/// A 0600 file in a 0700 folder.
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    pub fn new(dir: &Path, db_key: &str) -> Self {
        let digest = hex(&Sha256::digest(db_key.as_bytes()));
        FileStore { path: dir.join(format!("{}.token", &digest[..16])) }
    }
}

impl TokenStore for FileStore {
    fn load(&self) -> Result<Option<StoredTokens>> {
        match fs::read_to_string(&self.path) {
            Ok(s) => Ok(serde_json::from_str(&s).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::internal(format!("cannot read {}", self.path.display())).with_source(e)),
        }
    }

    fn save(&self, tokens: &StoredTokens) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        // Write a fresh 0600 file and rename it over the old one: never a moment with a
        // readable or half-written token file.
        let tmp = self.path.with_extension("token.tmp");
        let _ = fs::remove_file(&tmp);
        let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(tokens.to_json().as_bytes())?;
        f.sync_all()?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
        fs::rename(&tmp, &self.path)?;
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// A store in memory, for tests of code that logs in and out without a keyring or files.
#[derive(Default)]
pub struct MemoryStore {
    tokens: std::sync::Mutex<Option<StoredTokens>>,
}

impl MemoryStore {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<StoredTokens>> {
        // A panic elsewhere cannot leave a token half-written: the value is replaced whole.
        self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TokenStore for MemoryStore {
    fn load(&self) -> Result<Option<StoredTokens>> {
        Ok(self.slot().clone())
    }

    fn save(&self, tokens: &StoredTokens) -> Result<()> {
        *self.slot() = Some(tokens.clone());
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        *self.slot() = None;
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

/// Picks the store: the forced one, or the keyring when it answers, else the file. The second
/// value is a warning to show when the file was chosen by fallback.
pub fn open_store(choice: StoreChoice, db_key: &str, file_dir: &Path) -> (Box<dyn TokenStore>, Option<String>) {
    let file = || Box::new(FileStore::new(file_dir, db_key)) as Box<dyn TokenStore>;
    match choice {
        StoreChoice::File => (file(), None),
        StoreChoice::Keyring => (Box::new(KeyringStore::new(db_key)), None),
        StoreChoice::Auto => {
            let keyring = KeyringStore::new(db_key);
            if keyring.reachable() {
                (Box::new(keyring), None)
            } else {
                let store = file();
                let warning = format!(
                    "no system keyring is reachable; the session token is kept in {} (mode 0600). \
                     Set ROLO_TOKEN_STORE=file to silence this.",
                    store.describe()
                );
                (store, Some(warning))
            }
        }
    }
}

/// `n` random bytes from the operating system, in hex.
pub fn random_hex(n: usize) -> crate::Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| crate::Error::internal(format!("no randomness: {e}")))?;
    Ok(hex(&bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let t = StoredTokens { access: Secret::new("rolo_at_abc".into()), refresh: Secret::new("rolo_rt_def".into()) };
        let shown = format!("{t:?}");
        assert!(!shown.contains("abc") && !shown.contains("def"), "{shown}");
    }

    #[test]
    fn every_store_round_trips_and_clears() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stores: Vec<Box<dyn TokenStore>> =
            vec![Box::new(MemoryStore::default()), Box::new(FileStore::new(&dir.path().join("s"), "/x.db"))];
        for store in stores {
            assert!(store.load().expect("load").is_none());
            let t = StoredTokens { access: Secret::new("a1".into()), refresh: Secret::new("r1".into()) };
            store.save(&t).expect("save");
            let back = store.load().expect("load").expect("saved");
            assert_eq!((back.access.expose().as_str(), back.refresh.expose().as_str()), ("a1", "r1"));
            store.clear().expect("clear");
            assert!(store.load().expect("load").is_none(), "{}", store.describe());
        }
    }

    #[test]
    fn file_store_is_owner_only_and_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(&dir.path().join("sessions"), "/data/rolo.db");
        assert!(store.load().expect("load").is_none());
        let t = StoredTokens { access: Secret::new("a".into()), refresh: Secret::new("r".into()) };
        store.save(&t).expect("save");
        let mode = fs::metadata(&store.path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = store.load().expect("load").expect("some");
        assert_eq!(back.access.expose(), "a");
        store.clear().expect("clear");
        store.clear().expect("clear twice");
        assert!(store.load().expect("load").is_none());
    }
}
