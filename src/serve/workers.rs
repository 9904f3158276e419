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
                pass(&db, &smtp, &opts, &halt);
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
