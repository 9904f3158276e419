//! `rolo backup create|list|verify|restore`.

use std::path::PathBuf;

use clap::Subcommand;

use super::Ctx;
use crate::Result;
use crate::service::backup;

const FILE_COLUMNS: &[&str] = &["name", "size_bytes", "created_at", "path"];

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take an online backup (safe while others work); rotates per `[backup] keep`
    Create,
    /// List backups, newest first (JSON keys: name, path, size_bytes, created_at)
    List,
    /// Check a backup (default: the newest) by restoring it into a scratch copy
    Verify {
        /// The backup file to check (default: the newest one)
        file: Option<PathBuf>,
    },
    /// Replace the database with a verified backup (a safety backup is taken first)
    Restore {
        /// The backup file to restore
        file: PathBuf,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(ctx: &Ctx, cmd: BackupCommand) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    let settings = ctx.backup_settings();
    match cmd {
        BackupCommand::Create => {
            let created = backup::create(&session, &settings)?;
            ctx.out.status(format!("Backup written to {}.", created.file.path));
            for gone in &created.rotated_out {
                ctx.out.status(format!("Removed old backup {gone}."));
            }
            ctx.out.record(&created, FILE_COLUMNS)
        }
        BackupCommand::List => ctx.out.list(&backup::list(&session, &settings)?, FILE_COLUMNS, "No backups yet."),
        BackupCommand::Verify { file } => {
            let v = backup::verify(&session, &settings, file.as_deref())?;
            ctx.out.status(format!("{} is sound.", v.path));
            ctx.out.record(&v, &["path", "integrity", "schema_version", "users"])
        }
        BackupCommand::Restore { file, yes } => {
            let question = format!("Replace {} with {}?", ctx.db_path().display(), file.display());
            if !ctx.prompt.confirm(&question, yes)? {
                ctx.out.status("Nothing restored.");
                return Ok(());
            }
            let r = backup::restore(&session, &settings, &file)?;
            ctx.out.status(format!(
                "Restored from {}. The previous state is saved as {}. Sessions are those of the backup: log in again if asked.",
                r.restored_from, r.safety_backup
            ));
            ctx.out.record(&r, &["restored_from", "safety_backup", "schema_version"])
        }
    }
}
