//! `rolo mail inbound`: a bounce, complaint or unsubscribe mail, matched to the campaign
//! message it is about (by our VERP token, else by our Message-ID, which names its send-log
//! row) and acted on as MARKETING.md says: a hard bounce suppresses the address; three soft
//! bounces in a row suppress it; a complaint or an unsubscribe mail suppresses it and withdraws
//! the client's marketing consent. Each returned message is recorded once.

use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::db::{self, Db};
use crate::domain::Permission;
use crate::domain::audit::Outcome;
use crate::domain::campaign::{self, SuppressionReason};
use crate::domain::inbound::{self, Inbound, InboundReport, Kind};
use crate::domain::profile::ConsentSource;
use crate::domain::token::{self, Purpose};
use crate::service::authz::{Actor, Session, audit_as, system_key};
use crate::service::consent;
use crate::{Error, Result};

/// Soft bounces in a row (on the client's latest campaign messages) that suppress an address.
pub const SOFT_IN_A_ROW: usize = 3;

pub fn record(session: &Session, raw: &[u8]) -> Result<InboundReport> {
    let grant = session.require(Permission::MailInbound)?;
    let msg = inbound::parse(raw)?;
    let db = session.db();
    let source = match &msg.message_id {
        Some(id) if !id.is_empty() => format!("message-id:{id}"),
        _ => format!("sha256:{}", crate::secrets::hex(&Sha256::digest(raw))),
    };
    let event =
        Returned { kind: &msg.kind, status: msg.status.as_deref(), detail: msg.detail.as_deref(), source: &source };
    if let Some(target) = target(db, &msg)? {
        return grant.write(|tx| apply(tx, Some(session.actor()), &target, &event, Utc::now()));
    }
    let outbox = outbox_target(db, &msg)?.ok_or_else(|| {
        Error::new(
            crate::ErrorKind::NotFound,
            "no message of this database matches it (no valid return-path token, no Message-ID of ours)",
        )
    })?;
    grant.write(|tx| apply_outbox(tx, session.actor(), outbox, &event, Utc::now()))
}

/// `POST /u/TOKEN` of `rolo serve` (RFC 8058 one-click, or the page's button): the recipient
/// holding a genuine unsubscribe token, and nobody else, unsubscribes that message's address.
/// Repeating it changes nothing. A forged, altered or unknown token is "not found".
pub fn unsubscribe_by_token(db: &Db, token: &str) -> Result<InboundReport> {
    let target = unsubscribe_target(db, token)?;
    let source = format!("one-click:{}", target.row);
    let event = Returned { kind: &Kind::Unsubscribe, status: None, detail: Some("one-click"), source: &source };
    db.write(&system_key(), |tx| apply(tx, None, &target, &event, Utc::now()))
}

/// The campaign message of a genuine unsubscribe token (`GET /u/TOKEN` shows it, changing
/// nothing).
pub fn unsubscribe_target(db: &Db, token: &str) -> Result<db::inbound::Target> {
    let secret = super::token_secret(db)?;
    token::verify(&secret, Purpose::Unsubscribe, token)
        .filter(|row| *row > 0)
        .map(|row| db::inbound::target(db, row))
        .transpose()?
        .flatten()
        .ok_or_else(|| Error::new(crate::ErrorKind::NotFound, "no such link"))
}

/// A returned message or a recipient's action, about one campaign message.
struct Returned<'a> {
    kind: &'a Kind,
    status: Option<&'a str>,
    detail: Option<&'a str>,
    /// Its identity: recorded once.
    source: &'a str,
}

/// Records `event` once and applies its consequence, audited as `actor` (None: a recipient
/// with a token).
fn apply(
    tx: &db::Tx,
    actor: Option<&Actor>,
    target: &db::inbound::Target,
    event: &Returned,
    now: chrono::DateTime<Utc>,
) -> Result<InboundReport> {
    let kind = event.kind;
    let hash = campaign::mailbox_hash(&db::campaign::mailbox_salt(tx)?, &target.email);
    let mut report = InboundReport {
        kind: kind.as_str().into(),
        campaign_id: Some(target.campaign_id),
        outbox_id: None,
        recipient: target.email.clone(),
        status: event.status.map(String::from),
        detail: event.detail.map(String::from),
        repeated: false,
        suppressed: false,
        consent_withdrawn: false,
    };
    let row = db::inbound::Event {
        kind: kind.as_str(),
        target,
        mailbox_hash: &hash,
        status: event.status,
        detail: event.detail,
        source: event.source,
    };
    if !db::inbound::record(tx, &row, now)? {
        report.repeated = true;
        return Ok(report);
    }
    let by = actor.map(|a| a.id);
    let (reason, withdraw) = consequence(tx, kind, target)?;
    if let Some(reason) = reason {
        let why = match kind {
            Kind::SoftBounce => format!("campaign {}: {SOFT_IN_A_ROW} soft bounces in a row", target.campaign_id),
            _ => format!("campaign {}: {}", target.campaign_id, kind.as_str().replace('_', " ")),
        };
        report.suppressed = db::campaign::suppress(tx, &hash, Some(&target.email), reason.as_str(), &why, by, now)?;
    }
    if withdraw && let Some(client) = target.client_id {
        let source = if *kind == Kind::Complaint { ConsentSource::Complaint } else { ConsentSource::Unsubscribe };
        let previous = Some(db::client::fields_of(tx, client)?.consent);
        let detail = format!("campaign {}", target.campaign_id);
        let change = consent::Change {
            detail: Some(&detail),
            ..consent::change(client, previous.as_deref(), "withdrawn", source, by)
        };
        consent::note(tx, &change, now)?;
        report.consent_withdrawn = db::inbound::withdraw_consent(tx, client, now)?;
    }
    let after = serde_json::json!({
        "kind": kind.as_str(),
        "send_log_id": target.row,
        "status": event.status,
        "suppressed": report.suppressed,
        "consent_withdrawn": report.consent_withdrawn,
    });
    let action = if actor.is_some() { "mail.inbound" } else { "mail.unsubscribe" };
    audit_as(tx, actor, action, "campaign", Some(target.campaign_id), Outcome::Ok, None, None, Some(&after))?;
    Ok(report)
}

/// The outbox message a returned message names: its VERP token, else its Message-ID.
fn outbox_target(db: &Db, msg: &Inbound) -> Result<Option<(i64, String)>> {
    let secret = super::token_secret(db)?;
    let by_token = msg.bounce_tokens.iter().find_map(|t| token::verify(&secret, Purpose::OutboxBounce, t));
    let id = match (by_token, &msg.original_message_id) {
        (Some(id), _) => Some(id),
        (None, Some(original)) => db::inbound::outbox_by_message_id(db, &format!("<{original}>"))?,
        (None, None) => None,
    };
    Ok(match id {
        Some(id) => db::inbound::outbox_target(db, id)?.map(|(id, to, _)| (id, to)),
        None => None,
    })
}

/// A bounce or complaint of outbox mail: recorded once on the message (its API status shows
/// it); a hard bounce or a complaint also puts the address on the suppression list, so no
/// campaign goes to a mailbox that does not exist or does not want it. Consent is not touched:
/// service mail is not marketing.
fn apply_outbox(
    tx: &db::Tx,
    actor: &Actor,
    (id, email): (i64, String),
    event: &Returned,
    now: chrono::DateTime<Utc>,
) -> Result<InboundReport> {
    let hash = campaign::mailbox_hash(&db::campaign::mailbox_salt(tx)?, &email);
    let mut report = InboundReport {
        kind: event.kind.as_str().into(),
        campaign_id: None,
        outbox_id: Some(id),
        recipient: email.clone(),
        status: event.status.map(String::from),
        detail: event.detail.map(String::from),
        repeated: false,
        suppressed: false,
        consent_withdrawn: false,
    };
    let row = db::inbound::OutboxEvent {
        kind: event.kind.as_str(),
        outbox_id: id,
        mailbox_hash: &hash,
        status: event.status,
        detail: event.detail,
        source: event.source,
    };
    if !db::inbound::record_outbox(tx, &row, now)? {
        report.repeated = true;
        return Ok(report);
    }
    let reason = match event.kind {
        Kind::HardBounce => Some(SuppressionReason::HardBounce),
        Kind::Complaint => Some(SuppressionReason::Complaint),
        _ => None,
    };
    if let Some(reason) = reason {
        let why = format!("outbox message {id}: {}", event.kind.as_str().replace('_', " "));
        report.suppressed =
            db::campaign::suppress(tx, &hash, Some(&email), reason.as_str(), &why, Some(actor.id), now)?;
    }
    let after = serde_json::json!({"kind": event.kind.as_str(), "outbox_id": id, "status": event.status, "suppressed": report.suppressed});
    audit_as(tx, Some(actor), "mail.inbound", "outbox", Some(id), Outcome::Ok, None, None, Some(&after))?;
    Ok(report)
}

/// What a recorded message does: the suppression it causes, if any, and whether it withdraws
/// the client's consent.
fn consequence(tx: &db::Tx, kind: &Kind, target: &db::inbound::Target) -> Result<(Option<SuppressionReason>, bool)> {
    Ok(match kind {
        Kind::HardBounce => (Some(SuppressionReason::HardBounce), false),
        Kind::SoftBounce => {
            let in_a_row = match target.client_id {
                Some(client) => db::inbound::soft_in_a_row(tx, client, SOFT_IN_A_ROW)?,
                None => false,
            };
            (in_a_row.then_some(SuppressionReason::HardBounce), false)
        }
        Kind::Complaint => (Some(SuppressionReason::Complaint), true),
        Kind::Unsubscribe => (Some(SuppressionReason::Unsubscribed), true),
    })
}

/// The send-log row a returned message names: a genuine token first (the unsubscribe address
/// for an unsubscribe mail, the return path otherwise), else the original Message-ID, which
/// Rolo writes as `<cCAMPAIGN.rROW.RANDOM@domain>` and which must match the row's.
fn target(db: &Db, msg: &Inbound) -> Result<Option<db::inbound::Target>> {
    let secret = super::token_secret(db)?;
    let (purpose, tokens) = match msg.kind {
        Kind::Unsubscribe => (Purpose::Unsubscribe, &msg.unsubscribe_tokens),
        _ => (Purpose::Bounce, &msg.bounce_tokens),
    };
    for t in tokens {
        // Row 0 is a `campaign test` message, outside the log.
        if let Some(row) = token::verify(&secret, purpose, t).filter(|r| *r > 0)
            && let Some(found) = db::inbound::target(db, row)?
        {
            return Ok(Some(found));
        }
    }
    let Some(original) = &msg.original_message_id else { return Ok(None) };
    let row = original
        .split('.')
        .nth(1)
        .and_then(|r| r.strip_prefix('r'))
        .and_then(|r| r.parse::<i64>().ok())
        .filter(|_| original.starts_with('c'));
    let Some(row) = row else { return Ok(None) };
    Ok(db::inbound::target(db, row)?.filter(|t| t.message_id.as_deref() == Some(&format!("<{original}>"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Read;
    use crate::service::testing::{demo, session_as};

    /// A minimal DSN for `row` (by its return-path token) with this action and status.
    fn dsn(db: &Db, row: i64, id: &str, action: &str, status: &str) -> Vec<u8> {
        let t = token::sign(&super::super::token_secret(db).expect("secret"), Purpose::Bounce, row);
        format!(
            "From: MAILER-DAEMON@mx.example\r\nTo: bounce+{t}@institut.example\r\nMessage-ID: <{id}@mx.example>\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: text/plain\r\n\r\nIt failed.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n\
             Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; someone@example.com\r\nAction: {action}\r\n\
             Status: {status}\r\n--b--\r\n"
        )
        .into_bytes()
    }

    /// (send-log row, client) of the demo's sent campaign, for Kevin.
    fn kevin_row(db: &Db) -> (i64, i64) {
        db.conn()
            .query_row(
                "SELECT s.id, s.client_id FROM send_log s WHERE s.campaign_id = 1 AND s.email = 'kevin@startup.io'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("kevin's row")
    }

    fn state(db: &Db, client: i64) -> (Option<String>, String, i64) {
        let c = db.conn();
        let reason =
            c.query_row("SELECT reason FROM suppressions WHERE email = 'kevin@startup.io'", [], |r| r.get(0)).ok();
        let consent = c.query_row("SELECT consent FROM clients WHERE id = ?1", [client], |r| r.get(0)).expect("client");
        let events = c.query_row("SELECT count(*) FROM mail_events", [], |r| r.get(0)).expect("events");
        (reason, consent, events)
    }

    /// Each kind of returned message and what it does; a repeat changes nothing.
    #[test]
    fn each_kind_of_returned_message_acts_once() {
        let template = demo();
        type Message = fn(&Db, i64) -> Vec<u8>;
        let cases: [(&str, Message, Option<&str>, &str); 4] = [
            ("hard bounce", |db, row| dsn(db, row, "h1", "failed", "5.1.1"), Some("hard_bounce"), "granted"),
            ("one soft bounce", |db, row| dsn(db, row, "s1", "delayed", "4.4.1"), None, "granted"),
            (
                "complaint",
                |_, _| {
                    b"From: fbl@yahoo.example\r\nTo: abuse@institut.example\r\nMessage-ID: <c1@yahoo.example>\r\n\
                      Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n\r\n--b\r\n\
                      Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\n\r\n--b\r\n\
                      Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <MID>\r\nTo: kevin@startup.io\r\n\r\n--b--\r\n"
                        .to_vec()
                },
                Some("complaint"),
                "withdrawn",
            ),
            (
                "unsubscribe mail",
                |db, row| {
                    let t = token::sign(&super::super::token_secret(db).expect("secret"), Purpose::Unsubscribe, row);
                    format!(
                        "From: kevin@startup.io\r\nTo: unsubscribe+{t}@institut.example\r\nSubject: unsubscribe\r\n\r\n"
                    )
                    .into_bytes()
                },
                Some("unsubscribed"),
                "withdrawn",
            ),
        ];
        for (name, message, reason, consent) in cases {
            let db = template.copy_in_memory().expect("copy");
            let (row, client) = kevin_row(&db);
            db.conn().execute("UPDATE clients SET consent = 'granted' WHERE id = ?1", [client]).expect("consent");
            let mid: String =
                db.conn().query_row("SELECT message_id FROM send_log WHERE id = ?1", [row], |r| r.get(0)).expect("mid");
            let raw = String::from_utf8(message(&db, row)).expect("utf-8").replace("<MID>", &mid);
            let s = session_as(&db, "mia");
            let r = record(&s, raw.as_bytes()).unwrap_or_else(|e| panic!("{name}: {}", e.message()));
            assert_eq!(
                (r.campaign_id, r.recipient.as_str(), r.repeated),
                (Some(1), "kevin@startup.io", false),
                "{name}"
            );
            assert_eq!(state(&db, client), (reason.map(String::from), consent.to_string(), 1), "{name}");
            let again = record(&s, raw.as_bytes()).expect("a repeat");
            assert!(again.repeated && !again.suppressed && !again.consent_withdrawn, "{name}");
            assert_eq!(state(&db, client).2, 1, "{name}: recorded once");
        }
    }

    /// Three soft bounces on the client's three latest messages suppress; two do not, nor do
    /// three when a message in between did not bounce.
    #[test]
    fn three_soft_bounces_in_a_row_suppress() {
        let template = demo();
        for (bounced, suppressed) in
            [(&[true, true][..], false), (&[true, false, true], false), (&[true, true, true], true)]
        {
            let db = template.copy_in_memory().expect("copy");
            let (first, client) = kevin_row(&db);
            let mut rows = vec![first];
            for _ in 1..bounced.len() {
                db.conn()
                    .execute(
                        "INSERT INTO send_log (campaign_id, client_id, email, mailbox, status, message_id)
                         VALUES (1, ?1, 'kevin@startup.io', 'kevin@startup.io-' || random(), 'sent', NULL)",
                        [client],
                    )
                    .expect("row");
                rows.push(db.conn().last_insert_rowid());
            }
            let s = session_as(&db, "admin");
            let mut last = None;
            for (i, (row, b)) in rows.iter().zip(bounced).enumerate() {
                if *b {
                    last = Some(record(&s, &dsn(&db, *row, &format!("soft{i}"), "failed", "4.2.2")).expect("soft"));
                }
            }
            assert_eq!(last.map(|r| r.suppressed), Some(suppressed), "{bounced:?}");
            assert_eq!(state(&db, client).0.is_some(), suppressed, "{bounced:?}");
        }
    }

    /// Unmatched and forged: not found, nothing recorded; garbage: invalid.
    #[test]
    fn forged_unknown_and_garbage_change_nothing() {
        let db = demo();
        let (row, _) = kevin_row(&db);
        let s = session_as(&db, "admin");
        let forged = String::from_utf8(dsn(&db, row, "f1", "failed", "5.1.1")).expect("utf-8");
        let forged = forged.replacen("bounce+", "bounce+1", 1);
        for (raw, kind) in [
            (forged.into_bytes(), crate::ErrorKind::NotFound),
            (dsn(&db, 999_999, "f2", "failed", "5.1.1"), crate::ErrorKind::NotFound),
            (b"Subject: hi\r\n\r\nhello".to_vec(), crate::ErrorKind::Invalid),
        ] {
            let e = record(&s, &raw).expect_err("refused");
            assert_eq!(e.kind(), kind, "{}", e.message());
        }
        assert_eq!(db.conn().query_row("SELECT count(*) FROM mail_events", [], |r| r.get::<_, i64>(0)).ok(), Some(0));
    }

    /// The one-click unsubscription of `rolo serve`: a genuine token unsubscribes once; forged,
    /// altered, test-message (row 0) and unknown tokens are "not found" and change nothing.
    #[test]
    fn one_click_unsubscribes_only_with_a_genuine_token() {
        let db = demo();
        let (row, client) = kevin_row(&db);
        let secret = super::super::token_secret(&db).expect("secret");
        let good = token::sign(&secret, Purpose::Unsubscribe, row);
        let mut altered = good.clone();
        altered.replace_range(altered.len() - 1.., if good.ends_with('0') { "1" } else { "0" });
        for bad in [
            altered,
            token::sign(&secret, Purpose::Bounce, row),
            token::sign(&secret, Purpose::Unsubscribe, 0),
            token::sign(&secret, Purpose::Unsubscribe, 999_999),
            "".into(),
            "../../etc/passwd".into(),
        ] {
            let e = unsubscribe_by_token(&db, &bad).expect_err(&bad);
            assert_eq!(e.kind(), crate::ErrorKind::NotFound, "{bad}");
        }
        assert_eq!(state(&db, client).2, 0, "nothing recorded");
        let r = unsubscribe_by_token(&db, &good).expect("unsubscribed");
        assert!(r.suppressed && r.consent_withdrawn && !r.repeated, "{r:?}");
        assert_eq!(state(&db, client), (Some("unsubscribed".into()), "withdrawn".into(), 1));
        let ledger = db::consent::history(&db, client).expect("ledger");
        let last = ledger.last().expect("entry");
        assert_eq!((last.source.as_str(), last.actor.as_deref()), ("unsubscribe", None));
        let again = unsubscribe_by_token(&db, &good).expect("again");
        assert!(again.repeated && !again.suppressed, "{again:?}");
    }
}
