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
    /// List backups, newest first (JSON keys: name, path, size_bytes, created_at); warns when
    /// the newest is older than `[backup] every`
    List,
    /// Check a backup (default: the newest) by restoring it into a scratch copy; --all checks
    /// every kept file (JSON keys: name, path, sound, detail) and exits 3 if any is damaged
    Verify {
        /// The backup file to check (default: the newest one)
        #[arg(conflicts_with = "all")]
        file: Option<PathBuf>,
        /// Check every kept backup
        #[arg(long)]
        all: bool,
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
        BackupCommand::List => {
            let files = backup::list(&session, &settings)?;
            if let Some(late) = backup::overdue(&settings, &files, chrono::Utc::now())? {
                let every = settings.every.map(span).unwrap_or_default();
                ctx.out.warn(match files.first() {
                    Some(f) => format!(
                        "the newest backup ({}) is {} past the schedule of one every {every} ([backup] every): is rolo serve or cron running?",
                        f.name,
                        span(late)
                    ),
                    None => format!("no backup yet, and [backup] every asks for one every {every}"),
                });
            }
            ctx.out.list(&files, FILE_COLUMNS, "No backups yet.")
        }
        BackupCommand::Verify { all: true, .. } => {
            let checked = backup::verify_all(&session, &settings)?;
            let bad = checked.iter().filter(|c| !c.sound).count();
            ctx.out.list(&checked, &["name", "sound", "detail"], "No backups.")?;
            if bad > 0 {
                return Err(crate::Error::invalid(
                    "backup",
                    format!("{bad} of {} backups are damaged (see above)", checked.len()),
                ));
            }
            ctx.out.status(format!("All {} backups are sound.", checked.len()));
            Ok(())
        }
        BackupCommand::Verify { file, .. } => {
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

/// `6h`, `1d`, `90 min`, `45 s`: a duration the way the schedule is written.
fn span(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
