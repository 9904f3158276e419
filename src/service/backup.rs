//! Backups: online snapshots (taken while others write), rotation, verification by restoring
//! into a scratch copy, and restore of a verified file.
//!
//! A snapshot is written to a hidden `.partial` file and renamed into place only once complete
//! and synced, so a crash or `kill -9` never leaves a half-written file under a backup name.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::authz::{Session, audit_as};
use crate::db::{self, Db};
use crate::domain::audit::Outcome;
pub use crate::domain::backup::{BackupFile, Created, Restored, Verified};
use crate::domain::{Permission, time};
use crate::{Error, Result};

/// Where backups live and how many to keep (`[backup]` in the config).
#[derive(Debug, Clone)]
pub struct Settings {
    pub dir: PathBuf,
    pub keep: Option<usize>,
}

const PREFIX: &str = "rolo-";
const SUFFIX: &str = ".db";
const STAMP: &str = "%Y%m%dT%H%M%S%.3fZ";

fn ensure_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::internal(format!("cannot create the backup folder {}", dir.display())).with_source(e))
}

pub fn create(session: &Session, settings: &Settings) -> Result<Created> {
    let grant = session.require(Permission::BackupRun)?;
    ensure_dir(&settings.dir)?;
    clean_partials(&settings.dir);
    let now = Utc::now();
    let stem = format!("{PREFIX}{}", now.format(STAMP));
    let mut name = format!("{stem}{SUFFIX}");
    let mut n = 2;
    while settings.dir.join(&name).exists() {
        name = format!("{stem}-{n}{SUFFIX}");
        n += 1;
    }
    let final_path = settings.dir.join(&name);
    let partial = settings.dir.join(format!(".{name}.{}.partial", std::process::id()));
    if let Err(e) = db::backup::snapshot(session.db(), &partial) {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    fs::rename(&partial, &final_path)?;
    if let Ok(d) = fs::File::open(&settings.dir) {
        let _ = d.sync_all();
    }
    let file = describe(&final_path)?;
    let rotated_out = match settings.keep {
        Some(keep) => rotate(&settings.dir, keep.max(1))?,
        None => Vec::new(),
    };
    grant.write(|tx| grant.audit(tx, "backup.create", "backup", None, None, Some(&file)))?;
    Ok(Created { file, rotated_out })
}

/// Removes `.partial` files left by a crashed backup (older than a minute, so a backup running
/// right now in another process is left alone).
fn clean_partials(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|d| d.as_secs() > 60);
        if name.starts_with('.') && name.ends_with(".partial") && old {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn rotate(dir: &Path, keep: usize) -> Result<Vec<String>> {
    let files = scan(dir)?;
    let mut removed = Vec::new();
    for f in files.into_iter().skip(keep) {
        fs::remove_file(&f.path)?;
        removed.push(f.name);
    }
    Ok(removed)
}

fn describe(path: &Path) -> Result<BackupFile> {
    let meta = fs::metadata(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let created = meta.modified().map(DateTime::<Utc>::from).unwrap_or_else(|_| Utc::now());
    Ok(BackupFile {
        name,
        path: path.display().to_string(),
        size_bytes: meta.len(),
        created_at: time::format_utc(created),
    })
}

/// Backup files, newest first. Hidden partial files are never listed.
fn scan(dir: &Path) -> Result<Vec<BackupFile>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut files = Vec::new();
    for e in entries {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(PREFIX) && name.ends_with(SUFFIX) && e.file_type()?.is_file() {
            files.push(describe(&e.path())?);
        }
    }
    files.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.name.cmp(&a.name)));
    Ok(files)
}

pub fn list(session: &Session, settings: &Settings) -> Result<Vec<BackupFile>> {
    session.require(Permission::BackupRun)?;
    scan(&settings.dir)
}

/// A scratch file that is removed however the check ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn check(file: &Path) -> Result<Verified> {
    if !file.is_file() {
        return Err(Error::not_found("backup file", file.display()));
    }
    let scratch_dir = std::env::temp_dir();
    let scratch = Scratch(scratch_dir.join(format!(
        "rolo-verify-{}-{}.db",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or(0)
    )));
    let c = db::backup::check_file(file, &scratch.0)?;
    Ok(Verified {
        path: file.display().to_string(),
        integrity: c.integrity,
        schema_version: c.schema_version,
        users: c.users,
    })
}

/// Checks a backup (the newest when `file` is None) by restoring it into a scratch copy.
pub fn verify(session: &Session, settings: &Settings, file: Option<&Path>) -> Result<Verified> {
    session.require(Permission::BackupRun)?;
    let path = match file {
        Some(f) => f.to_path_buf(),
        None => scan(&settings.dir)?
            .into_iter()
            .next()
            .map(|f| PathBuf::from(f.path))
            .ok_or_else(|| Error::not_found("backup", format!("in {}", settings.dir.display())))?,
    };
    check(&path)
}

/// Replaces the database with a verified backup, after a safety backup of the current state.
pub fn restore(session: &Session, settings: &Settings, file: &Path) -> Result<Restored> {
    let grant = session.require(Permission::BackupRestore)?;
    let checked = check(file)?;
    ensure_dir(&settings.dir)?;
    let safety = settings.dir.join(format!("{PREFIX}{}-pre-restore{SUFFIX}", Utc::now().format(STAMP)));
    let partial = settings.dir.join(format!(".pre-restore.{}.partial", std::process::id()));
    db::backup::snapshot(session.db(), &partial).inspect_err(|_| {
        let _ = fs::remove_file(&partial);
    })?;
    fs::rename(&partial, &safety)?;
    db::backup::restore(session.db(), file)?;
    // Bring an older backup up to this binary's schema.
    drop(Db::open(session.db().path())?);
    let actor = session.actor();
    let detail = format!("restored from {} by {}", file.display(), actor.username);
    grant.write(|tx| {
        if db::user::get(tx, actor.id)?.is_some_and(|u| u.username == actor.username) {
            grant.audit(tx, "backup.restore", "backup", None, None, Some(&checked))
        } else {
            audit_as(tx, None, "backup.restore", "backup", None, Outcome::Ok, Some(&detail), None, Some(&checked))
        }
    })?;
    Ok(Restored {
        restored_from: file.display().to_string(),
        safety_backup: safety.display().to_string(),
        schema_version: checked.schema_version,
    })
}
