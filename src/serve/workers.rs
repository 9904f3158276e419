//! The background work of a server, on its own thread: every few seconds it delivers the
//! outbox (ticket notifications, sign-up confirmations, API mail) and runs due campaigns, so a
//! server needs no cron. On shutdown it stops between two messages: a campaign's claimed rows
//! go back to the queue and the next start continues.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Settings;
use crate::Result;
use crate::db::Db;
use crate::service::campaign::send;

pub fn start(settings: &Settings, halt: Arc<AtomicBool>) -> Result<Option<JoinHandle<()>>> {
    if settings.work_every == 0 || settings.smtp.url.is_none() {
        eprintln!("rolo serve: no background delivery (no SMTP server configured, or --work-every 0)");
        return Ok(None);
    }
    let db = Db::open(&settings.db_path)?;
    let smtp = settings.smtp.clone();
    let opts = send::Options { halt: Some(halt.clone()), ..settings.campaign.clone() };
    let every = Duration::from_secs(settings.work_every);
    let handle = std::thread::Builder::new()
        .name("rolo-background".into())
        .spawn(move || {
            while !halt.load(Ordering::SeqCst) {
                let started = Instant::now();
                pass(&db, &smtp, &opts);
                while started.elapsed() < every && !halt.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        })
        .map_err(|e| crate::Error::internal(format!("cannot start the background worker: {e}")))?;
    Ok(Some(handle))
}

/// One pass; failures are logged and tried again at the next pass.
fn pass(db: &Db, smtp: &crate::mail::SmtpSettings, opts: &send::Options) {
    match crate::service::mail::deliver_due(db, smtp, 100, false) {
        Ok(d) if d.sent + d.failed + d.deferred > 0 => {
            eprintln!("rolo serve: outbox: {} sent, {} deferred, {} failed", d.sent, d.deferred, d.failed)
        }
        Ok(_) => {}
        Err(e) => eprintln!("rolo serve: outbox delivery failed: {}", e.message()),
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
