//! The send engine. When sending starts the audience is frozen into the send log, one row per
//! recipient, in one transaction. Workers (threads, each with its own connection) claim small
//! batches — a claimed row is `sending` on disk before its message leaves — send them over a
//! shared pool of SMTP connections, and record each outcome. A crash leaves at most the claimed
//! rows in `sending`; the next `send`/`resume` marks them `unknown` and never sends them again
//! unless the operator asks (`--resend-unknown`). So nobody is e-mailed twice.
//!
//! `4xx` answers defer a row with backoff; `5xx` fail it ("user unknown" also suppresses the
//! address as a hard bounce); an unreachable server stops the run with the rest still queued.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};

use super::lifecycle::{check_approval, get};
use super::template::{self as library, client_context, media_cid};
use crate::db::{self, Db};
use crate::domain::campaign::{Campaign, CampaignStatus, SendReport, SendRow, SendStatus, SuppressionReason};
use crate::domain::template::{self, Library, MediaResolver, TemplateVersion, Variables};
use crate::domain::{Permission, campaign};
use crate::mail::{self, InlinePart, SendError, SmtpPool, SmtpSettings};
use crate::service::authz::{Actor, Session};
use crate::{Error, Result};

mod compose;
mod freeze;

use compose::{compose, compose_with};
use freeze::freeze_audience;

/// How a send runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Send again the rows a crash left `unknown` (some may get a second copy).
    pub resend_unknown: bool,
    /// Sending threads (and SMTP connections).
    pub workers: usize,
    /// Rows a worker claims at a time: at most `workers × batch` are in flight at a crash.
    pub batch: usize,
    /// Messages per second to one recipient domain (0: no limit).
    pub domain_rate: u32,
    /// `https://crm.example.com` when `rolo serve` answers there: unsubscribe links and the
    /// one-click header point at it.
    pub public_url: Option<String>,
    /// Set by a server going down: workers stop claiming, what they hold goes back to the queue.
    pub halt: Option<std::sync::Arc<AtomicBool>>,
}

impl Default for Options {
    fn default() -> Self {
        Options { resend_unknown: false, workers: 8, batch: 10, domain_rate: 0, public_url: None, halt: None }
    }
}

impl Options {
    fn halted(&self) -> bool {
        self.halt.as_ref().is_some_and(|h| h.load(Ordering::SeqCst))
    }
}

/// How long a sender holds a campaign without renewing (a dead one is taken over after this).
const LEASE: i64 = 60;
/// Deferred rows are tried again this many times, then failed.
const MAX_ATTEMPTS: i64 = 5;

fn backoff(attempts: i64) -> Duration {
    match attempts {
        ..=1 => Duration::minutes(5),
        2 => Duration::minutes(30),
        3 => Duration::hours(2),
        _ => Duration::hours(6),
    }
}

/// Spaces messages: `per_second` overall, and per key (a recipient domain).
struct Limiter {
    gap: Option<StdDuration>,
    next: Mutex<HashMap<String, Instant>>,
}

impl Limiter {
    fn new(per_second: u32) -> Self {
        Limiter {
            gap: (per_second > 0).then(|| StdDuration::from_secs_f64(1.0 / f64::from(per_second))),
            next: Mutex::new(HashMap::new()),
        }
    }

    fn wait(&self, key: &str) {
        let Some(gap) = self.gap else { return };
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let slot = next.get(key).copied().filter(|t| *t > now).unwrap_or(now);
            next.insert(key.to_string(), slot + gap);
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }
}

/// Takes the campaign for this process, unless a live sender holds it: a lease that has not
/// expired and whose process still runs (a `kill -9`ed sender is taken over at once).
fn take_lease(tx: &db::Tx, id: i64, now: chrono::DateTime<Utc>) -> Result<()> {
    if let Some((until, owner)) = db::campaign::lease(tx, id)? {
        let live = crate::domain::time::parse_stored(&until)? > now && owner.is_none_or(process_alive);
        if live {
            return Err(Error::conflict(format!(
                "campaign {id} is being sent by another process (pid {})",
                owner.unwrap_or(0)
            )));
        }
    }
    db::campaign::take_lease(tx, id, i64::from(std::process::id()), now + Duration::seconds(LEASE))
}

/// Whether a process of this machine still runs (Linux `/proc`; elsewhere the lease expiry
/// alone decides).
fn process_alive(pid: i64) -> bool {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    pid == i64::from(std::process::id()) || proc.join(pid.to_string()).exists()
}

/// What every worker shares.
struct Run<'a> {
    campaign: &'a Campaign,
    version: &'a TemplateVersion,
    library: Library,
    vars: Variables,
    media: MediaResolver,
    inline: HashMap<String, InlinePart>,
    smtp: SmtpPool,
    domain: String,
    /// `[serve] public_url` without its trailing slash, for unsubscribe and view-online links.
    public: Option<String>,
    secret: Vec<u8>,
    /// Link ids of the campaign by URL, registered once per run.
    links: Mutex<HashMap<String, i64>>,
    opts: &'a Options,
    actor: &'a Actor,
    db_path: std::path::PathBuf,
    rate: Limiter,
    per_domain: Limiter,
    stop: AtomicBool,
    server_error: Mutex<Option<String>>,
    report: Mutex<SendReport>,
}

/// Sends (or resumes) a campaign in the foreground. Needs `campaign:send` and an approval that
/// still matches the content (a stale one is a conflict, exit 7).
pub fn send(
    session: &Session,
    id: i64,
    smtp: &SmtpSettings,
    opts: &Options,
    progress: &(dyn Fn(&SendReport) + Sync),
) -> Result<SendReport> {
    let grant = session.require(Permission::CampaignSend)?;
    // A DKIM key that cannot be read stops the send before the audience is frozen.
    smtp.signer()?;
    let db = session.db();
    let c = get(db, id)?;
    let status = c.status.parse::<CampaignStatus>()?;
    let now = Utc::now();
    let mut report = SendReport { campaign_id: id, ..Default::default() };
    match status {
        CampaignStatus::Approved | CampaignStatus::Scheduled => {
            check_approval(db, &c)?;
            report.frozen = freeze_audience(session, &c, now)?;
        }
        CampaignStatus::Sending | CampaignStatus::Paused => {
            check_approval(db, &c)?;
            report.marked_unknown = grant.write(|tx| {
                take_lease(tx, id, now)?;
                // No sender holds it: rows left in `sending` were in flight when one stopped.
                let unknown = db::campaign::mark_unknown(tx, id)?;
                if opts.resend_unknown {
                    db::campaign::requeue_unknown(tx, id)?;
                }
                db::campaign::requeue_deferred(tx, id)?;
                db::campaign::mark_started(tx, id, now)?;
                grant.audit(
                    tx,
                    "campaign.resume",
                    "campaign",
                    Some(id),
                    None,
                    Some(&serde_json::json!({"unknown": unknown, "resend_unknown": opts.resend_unknown})),
                )?;
                Ok(unknown)
            })?;
        }
        other => return Err(Error::conflict(format!("campaign {id} is {other}; only an approved campaign is sent"))),
    }
    let outcome = deliver(session, &c, smtp, opts, report, progress);
    // Whatever happened, the lease goes: a later `resume` must not wait for it.
    let release = grant.write(|tx| db::campaign::release_lease(tx, id));
    let report = outcome?;
    release?;
    Ok(report)
}

/// Runs the workers until the log is done, the campaign is paused or cancelled, or the server
/// fails; then closes the campaign when nothing is left to send.
fn deliver(
    session: &Session,
    c: &Campaign,
    smtp: &SmtpSettings,
    opts: &Options,
    report: SendReport,
    progress: &(dyn Fn(&SendReport) + Sync),
) -> Result<SendReport> {
    let db = session.db();
    let version = frozen_version(db, c)?;
    let run = prepare(session, c, &version, smtp, opts, report)?;
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..opts.workers.max(1)).map(|_| scope.spawn(|| worker(&run, progress))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::internal("a sending thread panicked"))))
            .collect()
    });
    for r in results {
        r?;
    }
    let mut report = run.report.into_inner().unwrap_or_else(PoisonError::into_inner);
    let p = db::campaign::progress(db, c.id)?;
    let now_status = get(db, c.id)?.status;
    let grant = session.require(Permission::CampaignSend)?;
    if now_status == CampaignStatus::Sending.as_str() && p.queued == 0 && p.deferred == 0 && p.sending == 0 {
        grant.write(|tx| {
            db::campaign::mark_finished(tx, c.id, Utc::now())?;
            grant.audit(tx, "campaign.sent", "campaign", Some(c.id), None, Some(&p))
        })?;
    }
    report.status = get(db, c.id)?.status;
    if let Some(e) = run.server_error.into_inner().unwrap_or_else(PoisonError::into_inner) {
        report.errors.push(e);
    }
    Ok(report)
}

/// The template version a campaign was approved with.
fn frozen_version(db: &Db, c: &Campaign) -> Result<TemplateVersion> {
    let tid = db::campaign::template_id(db, c.id)?.ok_or_else(|| Error::not_found("campaign", c.id))?;
    db::template::version(db, tid, Some(c.template_version))?.ok_or_else(|| Error::internal("template version missing"))
}

/// What a run shares: the rendering library, media, the SMTP pool, tokens, limits.
fn prepare<'a>(
    session: &'a Session,
    c: &'a Campaign,
    version: &'a TemplateVersion,
    smtp: &SmtpSettings,
    opts: &'a Options,
    report: SendReport,
) -> Result<Run<'a>> {
    let db = session.db();
    let library = library::library(db, version)?;
    let public = opts.public_url.as_deref().map(|u| u.trim_end_matches('/').to_string());
    // With a public URL, `rolo serve` serves the images (`/m/SHA256`): messages link them.
    let (media, inline) = match &public {
        Some(base) => (library::public_media(db, base)?, HashMap::new()),
        None => (library::inline_media(db)?, inline_parts(db, &library, version)?),
    };
    Ok(Run {
        campaign: c,
        version,
        library,
        vars: library::variables(db)?,
        media,
        inline,
        smtp: SmtpPool::connect(smtp, opts.workers as u32)?,
        domain: mail::domain_of(&c.from),
        public,
        secret: super::token_secret(db)?,
        links: Mutex::new(HashMap::new()),
        opts,
        actor: session.actor(),
        db_path: db.path().to_path_buf(),
        rate: Limiter::new(c.rate as u32),
        per_domain: Limiter::new(opts.domain_rate),
        stop: AtomicBool::new(false),
        server_error: Mutex::new(None),
        report: Mutex::new(report),
    })
}

/// The media the template shows, as inline parts (loaded once per run).
fn inline_parts(db: &Db, library: &Library, v: &TemplateVersion) -> Result<HashMap<String, InlinePart>> {
    let mut out = HashMap::new();
    for (_, source) in template::chain_named(library, &v.name) {
        for name in template::referenced_media(&source) {
            if let Some(m) = db::template::media_find(db, &name)? {
                let bytes = db::ticket::blob(db, &m.sha256)?;
                out.insert(name.to_lowercase(), InlinePart { cid: media_cid(&m.sha256), mime: m.mime, bytes });
            }
        }
    }
    Ok(out)
}

/// One sending thread: its own connection, batches of claimed rows. One transaction both
/// records the outcomes of a batch and claims the next, so sixteen threads take the write lock
/// once per batch each.
fn worker(run: &Run, progress: &(dyn Fn(&SendReport) + Sync)) -> Result<()> {
    let db = Db::open(&run.db_path)?;
    let session = Session::new(&db, run.actor.clone());
    let grant = session.require(Permission::CampaignSend)?;
    let id = run.campaign.id;
    let mut outcomes: Vec<Outcome> = Vec::new();
    loop {
        if run.opts.halted() {
            run.stop.store(true, Ordering::SeqCst);
        }
        let go_on = !run.stop.load(Ordering::SeqCst)
            && db::campaign::get(&db, id)?.is_some_and(|c| c.status == CampaignStatus::Sending.as_str());
        let now = Utc::now();
        let claimed = grant.write(|tx| {
            record_outcomes(tx, id, &outcomes, now)?;
            if !go_on {
                return Ok(Vec::new());
            }
            db::campaign::renew_lease(tx, id, now + Duration::seconds(LEASE))?;
            db::campaign::claim(tx, id, run.opts.batch, now)
        })?;
        tally(run, &outcomes, progress);
        outcomes.clear();
        if claimed.is_empty() {
            return Ok(());
        }
        for row in &claimed {
            outcomes.push(if run.stop.load(Ordering::SeqCst) || run.opts.halted() {
                // Not attempted: back in the queue, never `unknown`.
                Outcome {
                    row: row.id,
                    status: SendStatus::Queued,
                    message_id: None,
                    error: None,
                    next: None,
                    suppress: None,
                }
            } else {
                send_one(run, &db, row)
            });
        }
    }
}

/// Writes what the server said of each message of a batch (and suppresses hard bounces).
fn record_outcomes(tx: &db::Tx, id: i64, outcomes: &[Outcome], now: chrono::DateTime<Utc>) -> Result<()> {
    for o in outcomes {
        db::campaign::record(tx, o.row, o.status.as_str(), o.message_id.as_deref(), o.error.as_deref(), o.next, now)?;
        if let Some(email) = &o.suppress {
            let source = format!("campaign {id}");
            let reason = SuppressionReason::HardBounce.as_str();
            let hash = campaign::mailbox_hash(&db::campaign::mailbox_salt(tx)?, email);
            db::campaign::suppress(tx, &hash, Some(email), reason, &source, None, now)?;
        }
    }
    Ok(())
}

/// Adds a recorded batch to the run's report and shows the progress.
fn tally(run: &Run, outcomes: &[Outcome], progress: &(dyn Fn(&SendReport) + Sync)) {
    if outcomes.is_empty() {
        return;
    }
    let snapshot = {
        let mut r = run.report.lock().unwrap_or_else(PoisonError::into_inner);
        for o in outcomes {
            match o.status {
                SendStatus::Sent => r.sent += 1,
                SendStatus::Failed => r.failed += 1,
                SendStatus::Deferred => r.deferred += 1,
                _ => {}
            }
        }
        r.clone()
    };
    progress(&snapshot);
}

/// What happened to one row.
struct Outcome {
    row: i64,
    status: SendStatus,
    message_id: Option<String>,
    error: Option<String>,
    next: Option<chrono::DateTime<Utc>>,
    /// An address to suppress (a hard bounce).
    suppress: Option<String>,
}

fn send_one(run: &Run, db: &Db, row: &SendRow) -> Outcome {
    let mut o =
        Outcome { row: row.id, status: SendStatus::Failed, message_id: None, error: None, next: None, suppress: None };
    let message = match compose(run, db, row) {
        Ok(m) => m,
        Err(e) => {
            o.error = Some(e.message().to_string());
            return o;
        }
    };
    run.rate.wait("");
    run.per_domain.wait(&mail::domain_of(&row.email));
    match run.smtp.send(&message.mail(run.campaign, &row.email, &message.subject)) {
        Ok(()) => {
            o.status = SendStatus::Sent;
            o.message_id = Some(message.message_id.clone());
        }
        Err(SendError::Transient(e)) => {
            let attempts = row.attempts;
            (o.status, o.next) = if attempts >= MAX_ATTEMPTS {
                (SendStatus::Failed, None)
            } else {
                (SendStatus::Deferred, Some(Utc::now() + backoff(attempts)))
            };
            o.error = Some(e);
        }
        Err(SendError::Permanent { message, user_unknown }) => {
            o.error = Some(message);
            o.suppress = user_unknown.then(|| row.email.clone());
        }
        Err(SendError::Invalid(e)) => o.error = Some(e),
        Err(SendError::Connection(e)) => {
            // Nothing was decided: the row waits for the next run, and this run stops.
            o.status = SendStatus::Deferred;
            o.next = Some(Utc::now());
            o.error = Some(e.clone());
            run.stop.store(true, Ordering::SeqCst);
            run.server_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(format!("the SMTP server failed: {e}"));
        }
    }
    o
}

/// `rolo campaign test`: one rendered message to an address, outside the send log, with a
/// client's values (or sample values); the subject says it is a test.
pub fn test(
    session: &Session,
    id: i64,
    smtp: &SmtpSettings,
    opts: &Options,
    to: &str,
    client: Option<&str>,
) -> Result<String> {
    let grant = session.require(Permission::CampaignEdit)?;
    let to = crate::domain::validate::email("to", to)?;
    let db = session.db();
    let c = get(db, id)?;
    let version = frozen_version(db, &c)?;
    let one = Options { workers: 1, ..opts.clone() };
    let run = prepare(session, &c, &version, smtp, &one, SendReport::default())?;
    let ctx = match client {
        Some(key) => {
            session.require(Permission::ClientRead)?;
            client_context(db, &crate::service::refs::client(db, key)?, &run.vars)?
        }
        None => template::sample_context(&run.vars),
    };
    let m = compose_with(&run, db, ctx, 0)?;
    let subject = format!("[TEST] {}", m.subject);
    run.smtp
        .send(&m.mail(&c, &to, &subject))
        .map_err(|e| Error::external(format!("the test message was not sent: {e}")))?;
    grant.write(|tx| {
        grant.audit(tx, "campaign.test", "campaign", Some(id), None, Some(&serde_json::json!({"client": client})))
    })?;
    Ok(m.message_id)
}

/// `rolo campaign run` (cron, or a server's worker): starts due scheduled campaigns and
/// continues sends a crash or a pause-less stop left behind.
pub fn run_due(session: &Session, smtp: &SmtpSettings, opts: &Options) -> Result<Vec<SendReport>> {
    session.require(Permission::CampaignSend)?;
    let due = db::campaign::due(session.db(), Utc::now())?;
    let mut out = Vec::new();
    for id in due {
        out.push(send(session, id, smtp, opts, &|_| {})?);
    }
    Ok(out)
}

/// A server's background worker: starts due campaigns and continues abandoned sends, each as
/// its author when they may still send it, else as the user who approved it (an account that
/// lost the right sends nothing; the campaign waits and the log says why).
pub fn run_due_unattended(db: &Db, smtp: &SmtpSettings, opts: &Options) -> Result<Vec<SendReport>> {
    let mut out = Vec::new();
    for id in db::campaign::due(db, Utc::now())? {
        if opts.halted() {
            break;
        }
        let c = get(db, id)?;
        let approver = match &c.approved_by {
            Some(name) => db::user::find_by_username(db, name)?.map(|u| u.id),
            None => None,
        };
        let sender = [Some(c.author_id), approver]
            .into_iter()
            .flatten()
            .filter_map(|uid| crate::service::auth::open(db, uid).ok())
            .find(|s| s.can(Permission::CampaignSend));
        match sender {
            Some(session) => out.push(send(&session, id, smtp, opts, &|_| {})?),
            None => {
                return Err(Error::denied(&format!(
                    "campaign {id} is due but neither its author nor its approver may send campaigns any more"
                )));
            }
        }
    }
    Ok(out)
}

/// `GET /v/TOKEN` of `rolo serve` ("view online"): the message a recipient was sent, rendered
/// again from the approved template version with their values; the token is the message's
/// unsubscribe token. A forged token, a test message or a deleted client is "not found".
pub fn view_online(db: &Db, token: &str, public: &str) -> Result<String> {
    let unknown = || Error::new(crate::ErrorKind::NotFound, "no such message");
    let secret = super::token_secret(db)?;
    let row = crate::domain::token::verify(&secret, crate::domain::token::Purpose::Unsubscribe, token)
        .filter(|r| *r > 0)
        .ok_or_else(unknown)?;
    let sent = db::campaign::send_row_by_id(db, row)?.ok_or_else(unknown)?;
    let c = get(db, sent.campaign_id)?;
    let client = sent.client_id.map(|id| db::client::get(db, id)).transpose()?.flatten().ok_or_else(unknown)?;
    let version = frozen_version(db, &c)?;
    let library = library::library(db, &version)?;
    let vars = library::variables(db)?;
    let mut ctx = client_context(db, &client, &vars)?;
    ctx.unsubscribe_url = format!("{public}/u/{token}");
    ctx.preferences_url = ctx.unsubscribe_url.clone();
    ctx.view_online_url = format!("{public}/v/{token}");
    ctx.campaign.insert("id".into(), c.id.into());
    ctx.campaign.insert("name".into(), c.name.clone().into());
    let parts = template::Parts { name: &version.name, subject: &version.subject, text: version.text.as_deref() };
    Ok(template::render(&library, &parts, &vars, &ctx, library::public_media(db, public)?)?.html)
}
