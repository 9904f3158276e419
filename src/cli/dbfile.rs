//! `rolo db encrypt|decrypt|rekey`: encryption at rest with SQLCipher.

use clap::Subcommand;

use super::Ctx;
use crate::Result;
use crate::service::encryption::{self, Change};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Encrypt the database file (key: ROLO_DB_KEY, else a new random key kept in the system
    /// keyring and shown once). Stop `rolo serve` first; existing backups stay as they were.
    /// (JSON keys: database, encrypted, key_kept_in, key)
    Encrypt,
    /// Write the database back in clear (its key leaves the keyring)
    Decrypt,
    /// Re-encrypt under a new key (ROLO_DB_NEW_KEY, else a new random key kept in the system
    /// keyring and shown once); backups taken before keep the old key
    Rekey,
}

pub fn run(ctx: &Ctx, cmd: DbCommand) -> Result<()> {
    let change = match cmd {
        DbCommand::Encrypt => Change::Encrypt,
        DbCommand::Decrypt => Change::Decrypt,
        DbCommand::Rekey => Change::Rekey,
    };
    let plan = {
        let db = ctx.open_db()?;
        let session = ctx.session(&db)?;
        encryption::plan(&session, change)?
    };
    let done = encryption::apply(plan)?;
    report(ctx, &done)
}

/// Says where the key is; a key shown once goes to stdout, the advice to stderr.
pub fn report(ctx: &Ctx, done: &encryption::Done) -> Result<()> {
    match (done.encrypted, &done.key) {
        (false, _) => ctx.out.status(format!("{} is now in clear.", done.database)),
        (true, Some(_)) => ctx.out.status(format!(
            "{} is encrypted; its key is kept in: {}. Keep a copy of the key below somewhere safe: \
             without it the database and its backups cannot be read.",
            done.database, done.key_kept_in
        )),
        (true, None) => {
            ctx.out.status(format!("{} is encrypted; its key is kept in: {}.", done.database, done.key_kept_in))
        }
    }
    ctx.out.record(done, &["database", "encrypted", "key_kept_in", "key"])
}
