//! What an application does through the API of `rolo serve`, with the rights of its scopes
//! only: queue messages (`POST /api/v1/messages`) and read the status of its own
//! (`GET /api/v1/messages/ID`). Every call is audited under the application's name.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::authz::system_key;
use super::campaign::oneoff::{self, Content};
use crate::db::{self, Db, Tx};
use crate::domain::app::{AppPrincipal, Scope};
use crate::domain::audit::Outcome;
pub use crate::domain::inbound::MessageEvent;
use crate::mail::SmtpSettings;
use crate::{Error, ErrorKind, Result};

/// At most this many recipients per request (each gets their own message).
pub const MAX_RECIPIENTS: usize = 50;

/// One address, or a few.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Recipients {
    One(String),
    Many(Vec<String>),
}

/// The body of `POST /api/v1/messages`: a template (`name` or `name@version`) with its
/// variables, or a subject with an HTML and/or a text body.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    pub to: Recipients,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub variables: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    /// Files sent with every recipient's message (within the request's size limit).
    #[serde(default)]
    pub attachments: Vec<ApiAttachment>,
}

/// A file of a message, its bytes in base64.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiAttachment {
    pub filename: String,
    /// `application/pdf`…; from the file name's extension when not given.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The file, base64 (standard alphabet, padded).
    pub content: String,
}

/// At most this many files per message.
pub const MAX_ATTACHMENTS: usize = 10;

/// Checks and decodes the files of a message: a name without path or control characters, a
/// media type of the form `type/subtype`, base64 that decodes.
fn files(list: &[ApiAttachment]) -> Result<Vec<crate::mail::FilePart>> {
    use base64::Engine;
    if list.len() > MAX_ATTACHMENTS {
        return Err(Error::invalid("attachments", format!("at most {MAX_ATTACHMENTS} files per message")));
    }
    list.iter()
        .map(|a| {
            let filename = crate::domain::validate::text("attachments.filename", &a.filename, 255)?;
            if filename.contains(['/', '\\']) || filename.chars().any(char::is_control) || filename.starts_with('.') {
                return Err(Error::invalid("attachments.filename", format!("`{filename}` is not a plain file name")));
            }
            let mime = match &a.content_type {
                Some(t) => {
                    let t = t.trim().to_ascii_lowercase();
                    let ok = t.split_once('/').is_some_and(|(k, s)| {
                        let token = |x: &str| {
                            !x.is_empty() && x.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
                        };
                        token(k) && token(s)
                    });
                    if !ok {
                        return Err(Error::invalid("attachments.content_type", format!("`{t}` is not a media type")));
                    }
                    t
                }
                None => crate::service::ticket::mime_of(&filename).to_string(),
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(a.content.trim())
                .map_err(|e| Error::invalid("attachments.content", format!("`{filename}` is not base64: {e}")))?;
            Ok(crate::mail::FilePart { filename, mime, bytes })
        })
        .collect()
}

/// One queued message.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MessageRef {
    pub id: i64,
    pub to: String,
    pub status: String,
}

/// The answer of `POST /api/v1/messages` (202).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Accepted {
    /// The first message's id.
    pub id: i64,
    pub messages: Vec<MessageRef>,
}

/// `GET /api/v1/messages/ID`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageStatus {
    pub id: i64,
    pub to: String,
    pub subject: String,
    /// queued, sending, deferred (a retry waits), sent, failed, then bounced or complained
    /// when `rolo mail inbound` records it.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub next_attempt_at: Option<String>,
    /// What came back about it: bounces and complaints, oldest first.
    pub events: Vec<MessageEvent>,
}

/// The body of `POST /api/v1/contacts`: a person who agreed, in the application, to the
/// `consent_text` it showed them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// Custom field values by key.
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
    /// Groups (by name) the contact joins.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The sentence the person agreed to; its SHA-256 goes to the consent ledger.
    pub consent_text: String,
}

/// The answer of `POST /api/v1/contacts`.
#[derive(Debug, Clone, Serialize)]
pub struct Subscribed {
    pub id: i64,
    /// Whether the contact is new (201) or was completed (200).
    pub created: bool,
    pub consent: String,
    pub groups: Vec<String>,
}

fn require(app: &AppPrincipal, scope: Scope) -> Result<()> {
    if app.has(scope) { Ok(()) } else { Err(Error::denied(&format!("this application lacks the `{scope}` scope"))) }
}

fn audit(tx: &Tx, app: &AppPrincipal, action: &str, entity: &str, id: Option<i64>, detail: &str) -> Result<()> {
    let who = format!("app:{}", app.name);
    db::audit::append(
        tx,
        &db::audit::NewEntry {
            at: Utc::now(),
            actor_id: None,
            actor: Some(&who),
            action,
            entity,
            entity_id: id,
            outcome: Outcome::Ok,
            detail: Some(detail),
            before: None,
            after: None,
        },
    )
}

/// Queues a message per recipient; with an idempotency key, a repeat (same body) gets the
/// first answer back and queues nothing, another body under the same key is a conflict.
/// Returns the answer and whether it is a repeat.
pub fn send(
    db: &Db,
    app: &AppPrincipal,
    smtp: &SmtpSettings,
    m: &NewMessage,
    key: Option<&str>,
) -> Result<(Accepted, bool)> {
    require(app, Scope::MailSend)?;
    let key = key.map(|k| crate::domain::validate::text("Idempotency-Key", k, 200)).transpose()?;
    let hash =
        crate::secrets::hex(ring::digest::digest(&ring::digest::SHA256, serde_json::to_string(m)?.as_bytes()).as_ref());
    let repeat = |stored: Option<(String, String)>| -> Result<Option<(Accepted, bool)>> {
        match stored {
            Some((h, _)) if h != hash => Err(Error::conflict(
                "this Idempotency-Key was used for another request; use a new key for a new message",
            )),
            Some((_, response)) => Ok(Some((serde_json::from_str(&response)?, true))),
            None => Ok(None),
        }
    };
    if let Some(k) = &key
        && let Some(first) = repeat(db::app::idempotent(db, app.id, k)?)?
    {
        return Ok(first);
    }
    let to: Vec<String> = match &m.to {
        Recipients::One(a) => vec![a.clone()],
        Recipients::Many(list) => list.clone(),
    };
    if to.is_empty() || to.len() > MAX_RECIPIENTS {
        return Err(Error::invalid("to", format!("give 1 to {MAX_RECIPIENTS} addresses")));
    }
    let content = Content {
        template: m.template.as_deref(),
        vars: &m.variables,
        subject: m.subject.as_deref(),
        text: m.text.as_deref(),
        html: m.html.as_deref(),
    };
    let prepared = to.iter().map(|a| oneoff::prepare(db, a, &content)).collect::<Result<Vec<_>>>()?;
    let files = files(&m.attachments)?;
    let now = Utc::now();
    db.write(&system_key(), |tx| {
        if let Some(k) = &key
            && let Some(first) = repeat(db::app::idempotent(tx, app.id, k)?)?
        {
            return Ok(first);
        }
        let mut messages = Vec::new();
        for p in &prepared {
            let id = crate::service::mail::enqueue(tx, smtp, p, now)?;
            db::app::own_message(tx, app.id, id)?;
            for f in &files {
                let sha = crate::secrets::hex(ring::digest::digest(&ring::digest::SHA256, &f.bytes).as_ref());
                db::ticket::put_blob(tx, &sha, &f.bytes)?;
                db::outbox::add_attachment(tx, id, &f.filename, &f.mime, &sha)?;
            }
            messages.push(MessageRef { id, to: p.to.clone(), status: "queued".into() });
        }
        let accepted = Accepted { id: messages[0].id, messages };
        if let Some(k) = &key {
            db::app::remember(tx, app.id, k, &hash, &serde_json::to_string(&accepted)?, now)?;
        }
        let detail = format!("{} message(s), {}", accepted.messages.len(), m.template.as_deref().unwrap_or("text"));
        audit(tx, app, "api.message", "outbox", Some(accepted.id), &detail)?;
        Ok((accepted, false))
    })
}

/// The status of one of the application's messages; another's (or none) is not found.
pub fn status(db: &Db, app: &AppPrincipal, id: i64) -> Result<MessageStatus> {
    require(app, Scope::MailSend)?;
    let m = db::app::message_of(db, app.id, id)?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no message {id} of this application")))?;
    let waiting = m.status == "queued" && m.attempts > 0;
    let events = db::inbound::outbox_events(db, m.id)?;
    let returned = |k: &str| events.iter().any(|e| e.kind == k);
    let status = match () {
        _ if returned("complaint") => "complained".to_string(),
        _ if returned("hard_bounce") => "bounced".to_string(),
        _ if waiting => "deferred".to_string(),
        _ => m.status,
    };
    Ok(MessageStatus {
        id: m.id,
        to: m.to,
        subject: m.subject,
        status,
        attempts: m.attempts,
        last_error: m.last_error,
        created_at: m.created_at,
        sent_at: m.sent_at,
        next_attempt_at: (waiting || m.attempts == 0).then_some(m.next_attempt_at),
        events,
    })
}

/// Adds or completes a contact (the checks and dedupe of `client create`; an existing client's
/// values are never replaced), grants its marketing consent with the application as source and
/// the text it showed, and adds it to the groups named (each must exist).
pub fn subscribe(db: &Db, app: &AppPrincipal, c: &NewContact) -> Result<Subscribed> {
    require(app, Scope::ContactSubscribe)?;
    let consent_text = crate::domain::validate::text("consent_text", &c.consent_text, 2000)?;
    let checked =
        crate::service::contacts::check(db, &c.email, c.name.as_deref(), c.phone.as_deref(), &c.fields, None)?;
    let groups = c
        .groups
        .iter()
        .map(|g| {
            db::population::group(db, g.trim(), None)?
                .ok_or_else(|| Error::invalid("groups", format!("there is no group `{}`", g.trim())))
        })
        .collect::<Result<Vec<_>>>()?;
    let hash = crate::service::contacts::text_hash(&consent_text);
    let now = Utc::now();
    db.write(&system_key(), |tx| {
        let (id, previous) = crate::service::contacts::upsert(tx, &checked, app.owner_id, now)?;
        let detail = format!("application {}", app.name);
        let mut change = crate::service::consent::change(
            id,
            previous.as_deref(),
            "granted",
            crate::domain::profile::ConsentSource::Api,
            None,
        );
        change.detail = Some(&detail);
        change.text_hash = Some(&hash);
        crate::service::consent::note(tx, &change, now)?;
        db::consent::set(tx, id, "granted", now)?;
        for g in &groups {
            db::population::add_member(tx, g.id, id, app.owner_id, now)?;
        }
        let created = previous.is_none();
        let what = if created { "created with consent" } else { "completed, consent granted" };
        audit(tx, app, "api.contact", "client", Some(id), what)?;
        Ok(Subscribed { id, created, consent: "granted".into(), groups: db::population::groups_of(tx, id)? })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::{demo, session_as, settings};

    fn principal(db: &Db, name: &str, scopes: &[&str]) -> AppPrincipal {
        let admin = session_as(db, "admin");
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let issued = crate::service::app::create(&admin, name, &scopes, None).expect("app");
        crate::service::app::authenticate(db, &issued.key, Utc::now()).expect("auth")
    }

    fn message(json: &str) -> NewMessage {
        serde_json::from_str(json).expect("a message")
    }

    #[test]
    fn messages_follow_the_rules_of_mail_send_and_the_scopes() {
        let template = demo();
        let smtp = settings().smtp;
        // (scopes, body, expected error kind or None)
        let cases: &[(&[&str], &str, Option<ErrorKind>)] = &[
            (&["mail:send"], r#"{"to": "a@exemple.fr", "subject": "Bonjour", "text": "Été"}"#, None),
            (&["mail:send"], r#"{"to": ["a@exemple.fr", "b@exemple.fr"], "subject": "S", "html": "<p>H</p>"}"#, None),
            (&["contact:subscribe"], r#"{"to": "a@exemple.fr", "subject": "S", "text": "T"}"#, Some(ErrorKind::Denied)),
            (&["mail:send"], r#"{"to": "not an address", "subject": "S", "text": "T"}"#, Some(ErrorKind::Invalid)),
            (&["mail:send"], r#"{"to": [], "subject": "S", "text": "T"}"#, Some(ErrorKind::Invalid)),
            (&["mail:send"], r#"{"to": "a@exemple.fr", "subject": "S"}"#, Some(ErrorKind::Usage)),
            (&["mail:send"], r#"{"to": "a@exemple.fr", "template": "nope"}"#, Some(ErrorKind::NotFound)),
            (&["mail:send"], r#"{"to": "a@exemple.fr", "template": "welcome@x"}"#, Some(ErrorKind::Invalid)),
            // `welcome` is a campaign template: the suppression list applies.
            (&["mail:send"], r#"{"to": "nobody@example.com", "template": "welcome"}"#, Some(ErrorKind::Conflict)),
            (
                &["mail:send"],
                r#"{"to": "a@exemple.fr", "subject": "S", "text": "T", "attachments": [{"filename": "facture.pdf", "content": "JVBERi0xLjQK"}]}"#,
                None,
            ),
            (
                &["mail:send"],
                r#"{"to": "a@exemple.fr", "subject": "S", "text": "T", "attachments": [{"filename": "f.pdf", "content": "not base64!"}]}"#,
                Some(ErrorKind::Invalid),
            ),
            (
                &["mail:send"],
                r#"{"to": "a@exemple.fr", "subject": "S", "text": "T", "attachments": [{"filename": "../etc/passwd", "content": "eA=="}]}"#,
                Some(ErrorKind::Invalid),
            ),
            (
                &["mail:send"],
                r#"{"to": "a@exemple.fr", "subject": "S", "text": "T", "attachments": [{"filename": "a.txt", "content_type": "text/plain\r\nX: y", "content": "eA=="}]}"#,
                Some(ErrorKind::Invalid),
            ),
        ];
        for (i, (scopes, body, expected)) in cases.iter().enumerate() {
            let db = template.copy_in_memory().expect("copy");
            let app = principal(&db, "app", scopes);
            let before = db.dump().expect("dump");
            match (send(&db, &app, smtp, &message(body), None), expected) {
                (Ok((a, false)), None) => {
                    for m in &a.messages {
                        assert_eq!(status(&db, &app, m.id).expect("status").status, "queued", "{body}");
                        let files = crate::db::outbox::attachments(&db, m.id).expect("files");
                        if body.contains("facture.pdf") {
                            assert_eq!(
                                (files[0].mime.as_str(), &files[0].bytes[..]),
                                ("application/pdf", &b"%PDF-1.4\n"[..])
                            );
                        }
                    }
                }
                (Err(e), Some(kind)) => {
                    assert_eq!(e.kind(), *kind, "case {i} {body}: {e}");
                    assert_eq!(db.dump().expect("dump"), before, "case {i} changed the database");
                }
                (other, _) => panic!("case {i} {body}: {other:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn contacts_are_added_or_completed_with_consent_and_groups() {
        let template = demo();
        let body = |json: &str| -> NewContact { serde_json::from_str(json).expect("a contact") };
        // (scopes, body, expected error kind or None)
        let cases: &[(&[&str], &str, Option<ErrorKind>)] = &[
            (
                &["contact:subscribe"],
                r#"{"email": "zoé@exemple.fr", "name": "Zoé", "groups": ["Clients 2023"], "consent_text": "Oui"}"#,
                None,
            ),
            (
                &["contact:subscribe"],
                r#"{"email": "kevin@startup.io", "name": "Mallory", "consent_text": "Oui"}"#,
                None,
            ),
            (&["mail:send"], r#"{"email": "a@exemple.fr", "consent_text": "Oui"}"#, Some(ErrorKind::Denied)),
            (
                &["contact:subscribe"],
                r#"{"email": "a@exemple.fr", "groups": ["Nope"], "consent_text": "Oui"}"#,
                Some(ErrorKind::Invalid),
            ),
            (
                &["contact:subscribe"],
                r#"{"email": "a@exemple.fr", "fields": {"salaire": "1"}, "consent_text": "Oui"}"#,
                Some(ErrorKind::Invalid),
            ),
            (&["contact:subscribe"], r#"{"email": "a@exemple.fr", "consent_text": "  "}"#, Some(ErrorKind::Invalid)),
            (&["contact:subscribe"], r#"{"email": "@", "consent_text": "Oui"}"#, Some(ErrorKind::Invalid)),
        ];
        for (i, (scopes, json, expected)) in cases.iter().enumerate() {
            let db = template.copy_in_memory().expect("copy");
            let app = principal(&db, "forms", scopes);
            let before = db.dump().expect("dump");
            let kevin = crate::db::client::find_by_email(&db, "kevin@startup.io").expect("read").expect("kevin");
            match (subscribe(&db, &app, &body(json)), expected) {
                (Ok(s), None) => {
                    let c = crate::db::client::get(&db, s.id).expect("read").expect("client");
                    assert_eq!(c.consent, "granted", "case {i}");
                    if c.id == kevin.id {
                        assert!(!s.created && c.full_name == kevin.full_name, "case {i}: completed, not renamed");
                    } else {
                        assert!(s.created && s.groups == ["Clients 2023"], "case {i}: {s:?}");
                    }
                    if kevin.consent == "granted" && c.id == kevin.id {
                        continue; // no change of consent, no ledger entry
                    }
                    let ledger = crate::db::consent::history(&db, s.id).expect("ledger");
                    let last = ledger.last().expect("an entry");
                    assert_eq!((last.source.as_str(), last.detail.as_deref()), ("api", Some("application forms")));
                    assert_eq!(last.text_hash.as_deref(), Some(crate::service::contacts::text_hash("Oui").as_str()));
                }
                (Err(e), Some(kind)) => {
                    assert_eq!(e.kind(), *kind, "case {i}: {e}");
                    assert_eq!(db.dump().expect("dump"), before, "case {i} changed the database");
                }
                (other, _) => panic!("case {i}: {other:?}, expected {expected:?}"),
            }
        }
    }

    /// Outbox mail carries a VERP return path: its bounce or complaint comes back to the
    /// message (status `bounced`, `complained`, with events), once, and suppresses the address.
    #[test]
    fn bounces_and_complaints_of_api_mail_reach_its_status() {
        let db = demo();
        let smtp = settings().smtp;
        let app = principal(&db, "billing", &["mail:send"]);
        let admin = session_as(&db, "admin");
        let secret = crate::service::campaign::token_secret(&db).expect("secret");
        let send_one = |to: &str| -> i64 {
            let m = message(&format!(r#"{{"to": "{to}", "subject": "Facture", "text": "Bonjour"}}"#));
            send(&db, &app, smtp, &m, None).expect("queued").0.id
        };
        let (bounced, complained) = (send_one("gone@exemple.fr"), send_one("angry@exemple.fr"));
        let path = crate::service::mail::return_path(&secret, "epic.test", bounced);
        assert!(path.starts_with("bounce+") && path.ends_with("@epic.test"), "{path}");
        let dsn = format!(
            "From: MAILER-DAEMON@mx.example\r\nTo: {path}\r\nMessage-ID: <dsn-1@mx.example>\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n\
             Final-Recipient: rfc822; gone@exemple.fr\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n"
        );
        let r = crate::service::campaign::inbound::record(&admin, dsn.as_bytes()).expect("a bounce of API mail");
        assert_eq!((r.outbox_id, r.campaign_id, r.suppressed), (Some(bounced), None, true));
        let again = crate::service::campaign::inbound::record(&admin, dsn.as_bytes()).expect("again");
        assert!(again.repeated && !again.suppressed);
        let s = status(&db, &app, bounced).expect("status");
        assert_eq!((s.status.as_str(), s.events.len()), ("bounced", 1));
        assert_eq!(s.events[0].status.as_deref(), Some("5.1.1"));
        // A complaint (ARF) names the message by its Message-ID.
        let mid = crate::db::outbox::get(&db, complained).expect("read").expect("mail").message_id;
        let arf = format!(
            "From: feedback@mail.example\r\nTo: abuse@epic.test\r\nMessage-ID: <arf-1@mail.example>\r\n\
             Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\n\r\n--b\r\n\
             Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: {mid}\r\nTo: angry@exemple.fr\r\n\r\n--b--\r\n"
        );
        crate::service::campaign::inbound::record(&admin, arf.as_bytes()).expect("a complaint of API mail");
        assert_eq!(status(&db, &app, complained).expect("status").status, "complained");
        for addr in ["gone@exemple.fr", "angry@exemple.fr"] {
            let hash =
                crate::domain::campaign::mailbox_hash(&crate::db::campaign::mailbox_salt(&db).expect("salt"), addr);
            assert!(crate::db::campaign::suppression(&db, &hash).expect("read").is_some(), "{addr} suppressed");
        }
        // A forged outbox token matches nothing.
        let forged =
            dsn.replace(&path, "bounce+1.00000000000000000000000000000000@epic.test").replace("dsn-1", "dsn-2");
        let e = crate::service::campaign::inbound::record(&admin, forged.as_bytes()).expect_err("forged");
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn an_idempotency_key_returns_the_first_answer_and_belongs_to_one_application() {
        let db = demo();
        let smtp = settings().smtp;
        let (a, b) = (principal(&db, "a", &["mail:send"]), principal(&db, "b", &["mail:send"]));
        let m = message(r#"{"to": "x@exemple.fr", "subject": "S", "text": "T"}"#);
        let (first, repeated) = send(&db, &a, smtp, &m, Some("k1")).expect("first");
        assert!(!repeated);
        let (again, repeated) = send(&db, &a, smtp, &m, Some("k1")).expect("again");
        assert!(repeated && again.id == first.id);
        let other = message(r#"{"to": "y@exemple.fr", "subject": "S", "text": "T"}"#);
        assert_eq!(send(&db, &a, smtp, &other, Some("k1")).expect_err("reuse").kind(), ErrorKind::Conflict);
        let (theirs, repeated) = send(&db, &b, smtp, &m, Some("k1")).expect("b's own key space");
        assert!(!repeated && theirs.id != first.id);
        assert_eq!(status(&db, &b, first.id).expect_err("a's message").kind(), ErrorKind::NotFound);
        let queued: i64 = crate::db::Read::conn(&db)
            .query_row("SELECT count(*) FROM outbox WHERE to_addr = 'x@exemple.fr'", [], |r| r.get(0))
            .expect("count");
        assert_eq!(queued, 2, "one for a, one for b");
    }
}
