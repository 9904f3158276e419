//! The outbox: queueing notifications inside the transaction that causes them, delivering
//! what is due right after a command (short timeout), retries with backoff, and the
//! `rolo mail outbox` commands.

use chrono::{DateTime, Duration, Utc};

use super::authz::{Session, system_key};
use crate::db::{self, Db, Tx};
use crate::domain::Permission;
use crate::mail::{self, Outgoing, SendError, Smtp, SmtpSettings};
use crate::{Error, Result};

pub use crate::domain::outbox::Delivery;
pub use crate::domain::outbox::Mail;

/// A notification to queue.
pub struct Draft {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub ticket_id: Option<i64>,
    pub kind: &'static str,
}

/// Queues a message in the caller's transaction, threaded under its ticket.
pub fn enqueue(tx: &Tx, smtp: &SmtpSettings, d: &Draft, now: DateTime<Utc>) -> Result<i64> {
    enqueue_keyed(tx, smtp, d, None, now)
}

/// [`enqueue`] with an idempotency key (one-off mail: a repeat finds the first message by it).
pub fn enqueue_keyed(tx: &Tx, smtp: &SmtpSettings, d: &Draft, key: Option<&str>, now: DateTime<Utc>) -> Result<i64> {
    let domain = smtp.domain();
    let message_id = mail::new_message_id(&domain)?;
    let thread = d.ticket_id.map(|t| mail::ticket_thread_id(t, &domain));
    db::outbox::enqueue(
        tx,
        &db::outbox::NewMail {
            to: &d.to,
            subject: &d.subject,
            text_body: &d.text,
            html_body: &d.html,
            message_id: &message_id,
            in_reply_to: thread.as_deref(),
            references: thread.as_deref(),
            ticket_id: d.ticket_id,
            kind: d.kind,
            idempotency_key: key,
        },
        now,
    )
}

/// `bounce+TOKEN@domain`: the envelope sender of outbox message `id`, so that `rolo mail
/// inbound` matches its bounce or complaint to it.
pub fn return_path(secret: &[u8], domain: &str, id: i64) -> String {
    let t = crate::domain::token::sign(secret, crate::domain::token::Purpose::OutboxBounce, id);
    format!("bounce+{t}@{domain}")
}

const MAX_ATTEMPTS: i64 = 10;
/// How long a claim lasts: a delivery that died mid-send is retried after this.
const LEASE: Duration = Duration::minutes(10);

fn backoff(attempts: i64) -> Duration {
    match attempts {
        ..=1 => Duration::minutes(1),
        2 => Duration::minutes(5),
        3 => Duration::minutes(30),
        4 => Duration::hours(2),
        _ => Duration::hours(6),
    }
}

/// Delivers what is due (at most `limit` messages). Stops at the first failure to reach the
/// server, so a down server costs one timeout, not one per message; a message the server
/// refuses fails alone and the others go on. Each message is claimed,
/// sent, and marked sent in turn: a message is never sent twice by two processes.
/// With `now_or_later`, messages waiting for their backoff are due too (`flush`: the operator
/// says the server is back).
pub fn deliver_due(db: &Db, smtp: &SmtpSettings, limit: u32, now_or_later: bool) -> Result<Delivery> {
    let key = system_key();
    let mut report = Delivery::default();
    let now = Utc::now();
    let horizon = if now_or_later { now + Duration::days(36500) } else { now };
    let due = db::outbox::due(db, horizon, limit)?;
    if due.is_empty() {
        return Ok(report);
    }
    let secret = crate::service::campaign::token_secret(db)?;
    let domain = smtp.domain();
    let transport = match Smtp::connect(smtp) {
        Ok(t) => t,
        Err(e) => {
            report.deferred = due.len();
            report.errors.push(e.message().to_string());
            return Ok(report);
        }
    };
    for m in due {
        let now = Utc::now();
        let claim_until = if now_or_later { horizon } else { now };
        if !db.write(&key, |tx| db::outbox::claim(tx, m.id, claim_until, now + LEASE))? {
            continue;
        }
        let return_path = return_path(&secret, &domain, m.id);
        let files = db::outbox::attachments(db, m.id)?;
        let outgoing = Outgoing {
            to: &m.to,
            subject: &m.subject,
            text: &m.text_body,
            html: &m.html_body,
            message_id: &m.message_id,
            in_reply_to: m.in_reply_to.as_deref(),
            references: m.references.as_deref(),
            return_path: Some(&return_path),
            attachments: &files,
        };
        match transport.send(&outgoing) {
            Ok(()) => {
                db.write(&key, |tx| db::outbox::mark_sent(tx, m.id, Utc::now()))?;
                report.sent += 1;
            }
            Err(e) => {
                // A refusal of this message (5xx, or an address the server cannot take) is
                // final; a 4xx or a broken connection is tried again after the backoff.
                let attempts = m.attempts + 1;
                let retry = matches!(e, SendError::Transient(_) | SendError::Connection(_)) && attempts < MAX_ATTEMPTS;
                let next = retry.then(|| now + backoff(attempts));
                let text = e.to_string();
                db.write(&key, |tx| db::outbox::mark_failed(tx, m.id, &text, next))?;
                if next.is_some() {
                    report.deferred += 1
                } else {
                    report.failed += 1
                }
                report.errors.push(text);
                // The server is unreachable: leave the rest for the next run.
                if matches!(e, SendError::Connection(_)) {
                    break;
                }
            }
        }
    }
    Ok(report)
}

/// What a delivery pass found: no SMTP server configured (and whether mail waits), or what it
/// delivered.
#[derive(Debug, Clone)]
pub enum Pending {
    NoServer { queued: bool },
    Delivered(Delivery),
}

/// The delivery pass that follows each command and that a server's background worker runs:
/// up to 100 messages due now. Without an SMTP server it only says whether mail is waiting.
pub fn deliver_pending(db: &Db, smtp: &SmtpSettings) -> Result<Pending> {
    if smtp.url.is_none() {
        let queued = !db::outbox::list(db, Some("queued"), Some(1))?.is_empty();
        return Ok(Pending::NoServer { queued });
    }
    deliver_due(db, smtp, 100, false).map(Pending::Delivered)
}

pub fn list(session: &Session, status: Option<&str>, limit: Option<u32>) -> Result<Vec<Mail>> {
    session.require(Permission::MailSend)?;
    if let Some(s) = status
        && !["queued", "sending", "sent", "failed"].contains(&s)
    {
        return Err(Error::invalid("status", format!("`{s}` is not one of: queued, sending, sent, failed")));
    }
    db::outbox::list(session.db(), status, limit)
}

/// Makes a queued or failed message due now.
pub fn retry(session: &Session, id: i64) -> Result<Mail> {
    let grant = session.require(Permission::MailSend)?;
    let before = db::outbox::get(session.db(), id)?.ok_or_else(|| Error::not_found("message", id))?;
    let now = Utc::now();
    grant.write(|tx| {
        if !db::outbox::retry(tx, id, now)? {
            return Err(Error::conflict(format!("message {id} is {} and cannot be retried", before.status)));
        }
        grant.audit(tx, "mail.retry", "outbox", Some(id), Some(&before.status), Some(&"queued"))?;
        db::outbox::get(tx, id)?.ok_or_else(|| Error::internal("message vanished"))
    })
}

/// Delivers everything due now (for cron).
pub fn flush(session: &Session, smtp: &SmtpSettings) -> Result<Delivery> {
    session.require(Permission::MailSend)?;
    let mut total = Delivery::default();
    loop {
        let r = deliver_due(session.db(), smtp, 500, true)?;
        // A deferred message would be due again at once: it waits for a later flush.
        let stop = r.deferred > 0 || r.sent + r.failed < 500;
        total.sent += r.sent;
        total.deferred += r.deferred;
        total.failed += r.failed;
        total.errors.extend(r.errors);
        if stop {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};

    use super::*;
    use crate::service::testing;

    /// An SMTP server on loopback without SMTPUTF8 that answers each recipient by its local
    /// part: `gone…` 550, `later…` 451, anyone else 250. Returns the recipients it took.
    fn scripted_server() -> (u16, std::thread::JoinHandle<Vec<String>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let (mut rcpt, mut taken) = (String::new(), Vec::new());
            s.write_all(b"220 test\r\n").expect("greet");
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return taken;
                }
                let cmd = line.trim_end();
                let reply: &[u8] = if cmd.starts_with("EHLO") {
                    b"250-test\r\n250 8BITMIME\r\n"
                } else if let Some(to) = cmd.strip_prefix("RCPT TO:<") {
                    rcpt = to.trim_end_matches('>').to_string();
                    if rcpt.starts_with("gone") {
                        b"550 5.1.1 no such user\r\n"
                    } else if rcpt.starts_with("later") {
                        b"451 4.7.1 greylisted, try again\r\n"
                    } else {
                        b"250 ok\r\n"
                    }
                } else if cmd == "DATA" {
                    s.write_all(b"354 go\r\n").expect("write");
                    crate::mail::read_data_block(&mut r);
                    taken.push(rcpt.clone());
                    b"250 queued\r\n"
                } else {
                    b"250 ok\r\n"
                };
                s.write_all(reply).expect("write");
            }
        });
        (port, server)
    }

    fn queue(db: &Db, to: &str) -> i64 {
        let smtp = testing::settings().smtp.clone();
        let draft = Draft {
            to: to.into(),
            subject: "Votre facture".into(),
            text: "Bonjour".into(),
            html: "<p>Bonjour</p>".into(),
            ticket_id: None,
            kind: "oneoff",
        };
        db.write(&system_key(), |tx| enqueue(tx, &smtp, &draft, Utc::now())).expect("queued")
    }

    fn smtp_at(port: u16) -> SmtpSettings {
        SmtpSettings { url: Some(format!("smtp://127.0.0.1:{port}")), ..testing::settings().smtp.clone() }
    }

    /// A refusal fails its message alone; a 4xx waits for the backoff; the rest of the batch
    /// is delivered on the same connection.
    #[test]
    fn a_refused_message_does_not_stop_the_batch() {
        let db = testing::empty();
        let ids: Vec<i64> = ["gone@x.example", "léa@exemple.fr", "later@x.example", "ok1@x.example", "ok2@x.example"]
            .iter()
            .map(|to| queue(&db, to))
            .collect();
        let (port, server) = scripted_server();
        let before = Utc::now();
        let d = deliver_due(&db, &smtp_at(port), 100, false).expect("delivery");
        assert_eq!((d.sent, d.deferred, d.failed), (2, 1, 2), "{d:?}");
        let taken = server.join().expect("server");
        assert_eq!(taken, ["ok1@x.example", "ok2@x.example"]);
        let status = |id| db::outbox::get(&db, id).expect("read").expect("message");
        let (gone, lea, later) = (status(ids[0]), status(ids[1]), status(ids[2]));
        assert_eq!(gone.status, "failed");
        assert!(gone.last_error.as_deref().is_some_and(|e| e.contains("550")), "{gone:?}");
        assert_eq!(lea.status, "failed");
        assert!(lea.last_error.as_deref().is_some_and(|e| e.contains("SMTPUTF8")), "{lea:?}");
        assert_eq!(later.status, "queued");
        assert!(later.next_attempt_at > db::utc_text(before + Duration::seconds(30)), "{later:?}");
        assert!(ids[3..].iter().all(|&id| status(id).status == "sent"));
        // Nothing is due now: a second pass sends nothing twice.
        let again = deliver_due(&db, &smtp_at(port), 100, false).expect("second pass");
        assert_eq!((again.sent, again.deferred, again.failed), (0, 0, 0));
    }

    /// A server that cannot be reached costs one attempt of one message, not one per message.
    #[test]
    fn an_unreachable_server_defers_once_and_stops() {
        let db = testing::empty();
        let ids: Vec<i64> = (0..3).map(|i| queue(&db, &format!("p{i}@x.example"))).collect();
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let d = deliver_due(&db, &smtp_at(port), 100, false).expect("delivery");
        assert_eq!((d.sent, d.deferred, d.failed), (0, 1, 0), "{d:?}");
        let attempts: Vec<i64> =
            ids.iter().map(|&id| db::outbox::get(&db, id).expect("read").expect("message").attempts).collect();
        assert_eq!(attempts.iter().sum::<i64>(), 1, "{attempts:?}");
        assert!(ids.iter().all(|&id| db::outbox::get(&db, id).expect("read").expect("m").status == "queued"));
    }
}
