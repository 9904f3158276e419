//! `rolo db encrypt|decrypt|rekey` and `rolo init --encrypt`: who may change the database's
//! encryption, and where the new key goes (db::key does the rewrite).

use std::path::PathBuf;

use serde::Serialize;

use super::authz::Session;
use crate::db::key::{self, DbKey};
use crate::domain::Permission;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Encrypt,
    Decrypt,
    Rekey,
}

impl Change {
    fn action(self) -> &'static str {
        match self {
            Change::Encrypt => "db.encrypt",
            Change::Decrypt => "db.decrypt",
            Change::Rekey => "db.rekey",
        }
    }
}

/// A checked and audited change, to apply once the command's own connection is closed.
pub struct Plan {
    path: PathBuf,
    from: Option<DbKey>,
    to: Option<DbKey>,
    /// Whether Rolo made the new key (then it is shown once).
    generated: bool,
}

/// What a change did.
#[derive(Debug, Serialize)]
pub struct Done {
    pub database: String,
    pub encrypted: bool,
    /// Where the key is kept: "system keyring", "ROLO_DB_KEY", or "nowhere" (printed once).
    pub key_kept_in: String,
    /// The new key when Rolo made it and no keyring took it: shown once, kept nowhere else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Checks the permission (admin: `backup:restore`) and the database's state, and audits the
/// change. The new key: `ROLO_DB_KEY` for `encrypt` when set, `ROLO_DB_NEW_KEY` for `rekey`
/// when set, else 32 random bytes.
pub fn plan(session: &Session, change: Change) -> Result<Plan> {
    let grant = session.require(Permission::BackupRestore)?;
    let path = session.db().file_path().ok_or_else(|| Error::usage("an in-memory database has no file"))?;
    let from = session.db().key().cloned();
    let (to, generated) = match (change, &from) {
        (Change::Encrypt, Some(_)) => {
            return Err(Error::conflict(format!(
                "{} is already encrypted; `rolo db rekey` changes its key",
                path.display()
            )));
        }
        (Change::Decrypt | Change::Rekey, None) => {
            return Err(Error::conflict(format!("{} is not encrypted", path.display())));
        }
        (Change::Encrypt, None) => new_key("ROLO_DB_KEY").map(|(k, made)| (Some(k), made))?,
        (Change::Rekey, Some(_)) => new_key("ROLO_DB_NEW_KEY").map(|(k, made)| (Some(k), made))?,
        (Change::Decrypt, Some(_)) => (None, false),
    };
    let detail = serde_json::json!({"database": path.display().to_string()});
    grant.write(|tx| grant.audit(tx, change.action(), "database", None, None, Some(&detail)))?;
    Ok(Plan { path, from, to, generated })
}

/// The key in the environment variable `var`, else a fresh random one; true when Rolo made it
/// (it is then shown once).
pub fn new_key(var: &str) -> Result<(DbKey, bool)> {
    Ok(match std::env::var(var).ok().filter(|k| !k.is_empty()) {
        Some(k) => (DbKey::new(k)?, false),
        None => (DbKey::generate()?, true),
    })
}

/// Rewrites the file under the new key and keeps the key in the system keyring when one
/// answers (removes it there after `decrypt`).
pub fn apply(plan: Plan) -> Result<Done> {
    key::rewrite(&plan.path, plan.from.as_ref(), plan.to.as_ref())?;
    keep(&plan.path, plan.to.as_ref(), plan.generated)
}

/// Where a new key goes: the keyring when one answers; otherwise it is shown once (or was
/// given in the environment).
pub fn keep(path: &std::path::Path, to: Option<&DbKey>, generated: bool) -> Result<Done> {
    let database = path.display().to_string();
    let Some(k) = to else {
        key::remember(path, None);
        key::delete_from_keyring(path);
        return Ok(Done { database, encrypted: false, key_kept_in: "nowhere".into(), key: None });
    };
    key::remember(path, Some(k));
    let (kept, shown) = if key::save_in_keyring(path, k) {
        ("system keyring", generated.then(|| k.expose().to_string()))
    } else if generated {
        ("nowhere", Some(k.expose().to_string()))
    } else {
        ("ROLO_DB_KEY", None)
    };
    Ok(Done { database, encrypted: true, key_kept_in: kept.into(), key: shown })
}
