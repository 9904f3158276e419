//! Backups: online snapshots (taken while others write), rotation, verification by restoring
//! into a scratch copy, and restore of a verified file.
//!
//! A snapshot is written to a hidden `.partial` file and renamed into place only once complete
//! and synced, so a crash or `kill -9` never leaves a half-written file under a backup name.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::authz::{Session, audit_as, system_key};
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
    /// The schedule `rolo serve` keeps (`[backup] every`).
    pub every: Option<chrono::Duration>,
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
    let created = take(session.db(), settings)?;
    grant.write(|tx| grant.audit(tx, "backup.create", "backup", None, None, Some(&created.file)))?;
    Ok(created)
}

/// A backup `rolo serve` takes on its schedule (`[backup] every`): the server's own work,
/// audited with no user.
pub fn create_scheduled(db: &Db, settings: &Settings) -> Result<Created> {
    let created = take(db, settings)?;
    db.write(&system_key(), |tx| {
        let after = serde_json::to_string(&created.file)?;
        audit_as(
            tx,
            None,
            "backup.create",
            "backup",
            None,
            Outcome::Ok,
            Some("scheduled ([backup] every, rolo serve)"),
            None,
            Some(&after),
        )
    })?;
    Ok(created)
}

/// How long past its schedule the newest backup is (None: on time, or no schedule). No backup
/// at all is overdue by the whole period.
pub fn overdue(settings: &Settings, files: &[BackupFile], now: DateTime<Utc>) -> Result<Option<chrono::Duration>> {
    let Some(every) = settings.every else { return Ok(None) };
    let newest = match files.first() {
        Some(f) => time::parse_stored(&f.created_at)?,
        None => return Ok(Some(every)),
    };
    let late = now - newest - every;
    Ok((late > chrono::Duration::zero()).then_some(late))
}

/// Whether the schedule wants a backup now.
pub fn due(settings: &Settings, now: DateTime<Utc>) -> Result<bool> {
    Ok(settings.every.is_some() && overdue(settings, &scan(&settings.dir)?, now)?.is_some())
}

/// Writes a snapshot and rotates; the callers audit it.
fn take(db: &Db, settings: &Settings) -> Result<Created> {
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
    if let Err(e) = db::backup::snapshot(db, &partial) {
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
    // The instant is the one in the name (it survives a copy that does not keep file times, and
    // a file touched later); the file time only for a name without one.
    let stamp = name
        .strip_prefix(PREFIX)
        .and_then(|n| n.strip_suffix(SUFFIX))
        .map(|n| n.split('-').next().unwrap_or(n))
        .and_then(|n| chrono::NaiveDateTime::parse_from_str(n, STAMP).ok())
        .map(|n| n.and_utc());
    let created = stamp.unwrap_or_else(|| meta.modified().map(DateTime::<Utc>::from).unwrap_or_else(|_| Utc::now()));
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

/// One kept file checked: sound, or what is wrong with it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checked {
    pub name: String,
    pub path: String,
    pub sound: bool,
    pub detail: String,
}

/// Checks every kept backup, newest first; a damaged one is reported, not fatal, so every
/// file is looked at (the caller fails when any is unsound).
pub fn verify_all(session: &Session, settings: &Settings) -> Result<Vec<Checked>> {
    session.require(Permission::BackupRun)?;
    let files = scan(&settings.dir)?;
    if files.is_empty() {
        return Err(Error::not_found("backup", format!("in {}", settings.dir.display())));
    }
    Ok(files
        .into_iter()
        .map(|f| match check(Path::new(&f.path)) {
            Ok(v) => Checked {
                name: f.name,
                path: f.path,
                sound: true,
                detail: format!("integrity {}, schema {}, {} users", v.integrity, v.schema_version, v.users),
            },
            Err(e) => Checked { name: f.name, path: f.path, sound: false, detail: e.message().to_string() },
        })
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing;
    use chrono::Duration;

    fn file(created_at: &str) -> BackupFile {
        BackupFile { name: "rolo-x.db".into(), path: "/x".into(), size_bytes: 1, created_at: created_at.into() }
    }

    #[test]
    fn a_schedule_is_overdue_only_past_its_period() {
        let now = time::parse_stored("2026-12-02T12:00:00Z").expect("now");
        let every = |h| Settings { dir: PathBuf::from("/nowhere"), keep: None, every: Some(Duration::hours(h)) };
        let none = Settings { dir: PathBuf::from("/nowhere"), keep: None, every: None };
        let cases: Vec<(&str, Settings, Vec<BackupFile>, Option<Duration>)> = vec![
            ("no schedule", none, vec![file("2020-01-01T00:00:00Z")], None),
            ("no backup yet", every(6), vec![], Some(Duration::hours(6))),
            ("fresh", every(6), vec![file("2026-12-02T08:00:00Z")], None),
            ("exactly due", every(6), vec![file("2026-12-02T06:00:00Z")], None),
            (
                "late",
                every(6),
                vec![file("2026-12-02T05:30:00Z"), file("2026-12-01T00:00:00Z")],
                Some(Duration::minutes(30)),
            ),
        ];
        for (what, settings, files, want) in cases {
            assert_eq!(overdue(&settings, &files, now).expect("overdue"), want, "{what}");
        }
    }

    #[test]
    fn scheduled_backups_rotate_and_verify_all_names_a_damaged_file() {
        let db = testing::demo();
        let dir = tempfile::tempdir().expect("dir");
        let settings = Settings { dir: dir.path().to_path_buf(), keep: Some(2), every: Some(Duration::hours(6)) };
        assert!(due(&settings, Utc::now()).expect("due"), "no backup yet");
        let mut names = Vec::new();
        for _ in 0..3 {
            names.push(create_scheduled(&db, &settings).expect("backup").file.name);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!due(&settings, Utc::now()).expect("due"), "just taken");
        let kept = scan(&settings.dir).expect("scan");
        assert_eq!(kept.iter().map(|f| f.name.clone()).collect::<Vec<_>>(), [names[2].clone(), names[1].clone()]);
        // Audited as the server's own work, with no user.
        let mia = testing::session_as(&db, "mia");
        let entries = crate::service::audit::list(
            &mia,
            &crate::domain::audit::Filter { action: Some("backup.create".into()), ..Default::default() },
        )
        .expect("audit");
        assert_eq!(entries.len(), 3);
        assert!(
            entries.iter().all(|e| e.actor.is_none() && e.detail.as_deref().is_some_and(|d| d.contains("scheduled")))
        );

        let admin = testing::session_as(&db, "admin");
        assert!(verify_all(&admin, &settings).expect("all").iter().all(|c| c.sound));
        // The instant is read from the name, so a file touched later keeps its place.
        let stamp = kept[0].name.trim_start_matches("rolo-").trim_end_matches(".db").to_string();
        assert_eq!(kept[0].created_at.replace(['-', ':'], ""), stamp);
        std::fs::write(&kept[1].path, b"SQLite format 3\0 but not really").expect("damage");
        let checked = verify_all(&admin, &settings).expect("all");
        assert_eq!(
            checked.iter().map(|c| (c.name.as_str(), c.sound)).collect::<Vec<_>>(),
            [(names[2].as_str(), true), (names[1].as_str(), false)]
        );
        assert_eq!(
            verify_all(&testing::session_as(&db, "bill"), &settings).err().map(|e| e.kind()),
            Some(crate::ErrorKind::Denied)
        );
    }
}
