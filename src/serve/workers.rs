//! The background work of a server, on its own thread: every few seconds it delivers the
//! outbox (ticket notifications, sign-up confirmations, API mail), runs due campaigns, and takes
//! a backup when `[backup] every` says one is due, so a server needs no cron. On shutdown it
//! stops between two messages: a campaign's claimed rows go back to the queue and the next
//! start continues.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Settings;
use crate::Result;
use crate::db::Db;
use crate::service::campaign::send;

pub fn start(settings: &Settings, halt: Arc<AtomicBool>) -> Result<Option<JoinHandle<()>>> {
    let mail = settings.smtp.url.is_some();
    let backups = settings.backup.every.is_some();
    if settings.work_every == 0 || !(mail || backups) {
        eprintln!("rolo serve: no background work (no SMTP server nor [backup] every configured, or --work-every 0)");
        return Ok(None);
    }
    if !mail {
        eprintln!("rolo serve: no background delivery (no SMTP server configured)");
    }
    let db = Db::open(&settings.db_path)?;
    let smtp = settings.smtp.clone();
    let backup = settings.backup.clone();
    let opts = send::Options { halt: Some(halt.clone()), ..settings.campaign.clone() };
    let every = Duration::from_secs(settings.work_every);
    let handle = std::thread::Builder::new()
        .name("rolo-background".into())
        .spawn(move || {
            let mut retry_backup_at: Option<Instant> = None;
            while !halt.load(Ordering::SeqCst) {
                let started = Instant::now();
                if mail {
                    pass(&db, &smtp, &opts, &halt);
                }
                // A failed backup (a full disk…) is tried again a minute later, not every pass.
                if backups && retry_backup_at.is_none_or(|at| Instant::now() >= at) {
                    retry_backup_at =
                        (!scheduled_backup(&db, &backup)).then(|| Instant::now() + Duration::from_secs(60));
                }
                while started.elapsed() < every && !halt.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        })
        .map_err(|e| crate::Error::internal(format!("cannot start the background worker: {e}")))?;
    Ok(Some(handle))
}

/// Messages per outbox batch: one SMTP connection each; the worker takes batches until the
/// outbox has nothing due, so a burst of API mail leaves at the server's pace, not 100 per pass.
const OUTBOX_BATCH: u32 = 500;

/// One pass; failures are logged and tried again at the next pass.
fn pass(db: &Db, smtp: &crate::mail::SmtpSettings, opts: &send::Options, halt: &AtomicBool) {
    let mut total = crate::service::mail::Delivery::default();
    loop {
        match crate::service::mail::deliver_due(db, smtp, OUTBOX_BATCH, false) {
            Ok(d) => {
                let more = d.sent + d.failed == OUTBOX_BATCH as usize && d.deferred == 0;
                total.sent += d.sent;
                total.deferred += d.deferred;
                total.failed += d.failed;
                if !more || halt.load(Ordering::SeqCst) {
                    break;
                }
            }
            Err(e) => {
                eprintln!("rolo serve: outbox delivery failed: {}", e.message());
                break;
            }
        }
    }
    if total.sent + total.failed + total.deferred > 0 {
        eprintln!("rolo serve: outbox: {} sent, {} deferred, {} failed", total.sent, total.deferred, total.failed)
    }
    match send::run_due_unattended(db, smtp, opts) {
        Ok(reports) => {
            for r in reports {
                eprintln!(
                    "rolo serve: campaign {}: {} sent, {} deferred, {} failed; {}",
                    r.campaign_id, r.sent, r.deferred, r.failed, r.status
                );
            }
        }
        Err(e) => eprintln!("rolo serve: due campaigns: {}", e.message()),
    }
}

/// A backup when the newest is older than `[backup] every` (rotation per `[backup] keep`);
/// false when it failed.
fn scheduled_backup(db: &Db, settings: &crate::service::backup::Settings) -> bool {
    use crate::service::backup;
    match backup::due(settings, chrono::Utc::now())
        .and_then(|due| due.then(|| backup::create_scheduled(db, settings)).transpose())
    {
        Ok(Some(created)) => {
            eprintln!("rolo serve: backup {} taken", created.file.name);
            for gone in created.rotated_out {
                eprintln!("rolo serve: old backup {gone} removed");
            }
            true
        }
        Ok(None) => true,
        Err(e) => {
            eprintln!("rolo serve: scheduled backup failed (tried again in a minute): {}", e.message());
            false
        }
    }
}
