//! GDPR erasure, table by table: what is deleted, what is anonymised, what is kept (contract
//! amounts and dates, ticket threads without the person, campaign counts), and a scrub of every
//! free-text column of the database for the person's name, e-mail, phone and account names.
//! The audit log is redacted by `db::audit::redact`; the service layer decides who may erase.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use regex::Regex;
use rusqlite::{OptionalExtension, params};

use super::{Read, Tx};
use crate::Result;

/// Who is being erased: the strings that identify them, found wherever text is kept.
#[derive(Debug, Clone)]
pub struct Person {
    pub client_id: i64,
    pub email: String,
    pub accounts: Vec<i64>,
    /// Name, e-mail, phone (as typed and as digits), and each client account's username, full
    /// name and e-mail: the needles of the scrub.
    pub needles: Vec<String>,
}

/// What replaces the person's identifying strings in free text.
pub const ERASED: &str = "[erased]";

/// The person behind client `id`, or None when there is no such client; `Some(Err)` is not
/// used: an erased client is reported by [`erased_at`].
pub fn person(r: &impl Read, id: i64) -> Result<Option<Person>> {
    let card: Option<(String, String, Option<String>, Option<String>)> = r
        .conn()
        .query_row("SELECT full_name, email, phone, phone_digits FROM clients WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((name, email, phone, digits)) = card else { return Ok(None) };
    let mut accounts = Vec::new();
    let mut needles = vec![name, email.clone(), crate::domain::campaign::mailbox(&email)];
    // A phone is only distinctive with enough digits ("+33" alone would blank every French number).
    needles.extend(phone.filter(|p| p.chars().filter(char::is_ascii_digit).count() >= 6));
    needles.extend(digits.filter(|d| d.len() >= 6));
    let mut stmt = r.conn().prepare("SELECT id, username, full_name, email FROM users WHERE client_id = ?1")?;
    let mut rows = stmt.query([id])?;
    while let Some(row) = rows.next()? {
        accounts.push(row.get(0)?);
        needles.extend([row.get::<_, String>(1)?, row.get(2)?, row.get(3)?]);
    }
    // Short strings would blank unrelated words; the JSON-escaped form is what the JSON
    // columns hold of a name with quotes or backslashes.
    let mut all: Vec<String> = Vec::new();
    for n in needles.into_iter().map(|n| n.trim().to_string()).filter(|n| n.chars().count() >= 3) {
        let escaped = serde_json::to_string(&n).unwrap_or_default();
        let escaped = escaped.trim_matches('"').to_string();
        if escaped != n {
            all.push(escaped);
        }
        all.push(n);
    }
    all.sort_by_key(|n| std::cmp::Reverse(n.len()));
    all.dedup();
    Ok(Some(Person { client_id: id, email, accounts, needles: all }))
}

/// When client `id` was erased, if it was.
pub fn erased_at(r: &impl Read, id: i64) -> Result<Option<String>> {
    Ok(r.conn().query_row("SELECT erased_at FROM clients WHERE id = ?1", [id], |r| r.get(0)).optional()?.flatten())
}

/// The signed contracts of client `id` with money still due: (contract id, due in cents,
/// currency). Accounting law keeps them, and the person with them.
pub fn legal_holds(r: &impl Read, id: i64) -> Result<Vec<(i64, i64, String)>> {
    let mut stmt = r.conn().prepare(
        "SELECT id, due, currency FROM contracts WHERE client_id = ?1 AND signed = 1 AND due > 0 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A case-insensitive matcher of every needle of the people being erased.
pub struct Scrubber(Regex);

impl Scrubber {
    pub fn new<'a>(needles: impl IntoIterator<Item = &'a String>) -> Result<Option<Scrubber>> {
        let alternatives: Vec<String> = needles.into_iter().map(|n| regex::escape(n)).collect();
        if alternatives.is_empty() {
            return Ok(None);
        }
        let pattern = ["(?i)(?:", &alternatives.join("|"), ")"].concat();
        let re = regex::RegexBuilder::new(&pattern)
            .size_limit(64 << 20)
            .build()
            .map_err(|e| crate::Error::internal(format!("cannot build the erasure matcher: {e}")))?;
        Ok(Some(Scrubber(re)))
    }

    /// The text with every needle replaced, or None when it holds none.
    pub fn scrub(&self, text: &str) -> Option<String> {
        self.0.is_match(text).then(|| self.0.replace_all(text, ERASED).into_owned())
    }
}

/// Columns never scrubbed: another record's own identity (two clients may share a name; the
/// other one keeps theirs), and identifiers, keys and digests that the schema constrains
/// (a slug or a field key is not the person's text, and `[erased]` would break its rule).
const IDENTITY_COLUMNS: &[(&str, &str)] = &[
    ("clients", "full_name"),
    ("clients", "email"),
    ("clients", "phone"),
    ("clients", "phone_digits"),
    ("users", "username"),
    ("users", "full_name"),
    ("users", "email"),
    ("users", "password_hash"),
    ("companies", "name"),
    ("roles", "name"),
    ("sessions", "access_hash"),
    ("sessions", "refresh_hash"),
    ("client_fields", "key"),
    ("landing_pages", "slug"),
    ("short_links", "code"),
    ("applications", "name"),
    ("app_keys", "key_hash"),
    ("app_keys", "prefix"),
    ("outbox", "message_id"),
    ("send_log", "message_id"),
    ("mail_events", "source"),
    ("mail_events", "mailbox_hash"),
    ("attachments", "sha256"),
    ("outbox_attachments", "sha256"),
    ("media", "sha256"),
    ("api_requests", "request_hash"),
    ("api_requests", "idempotency_key"),
];

/// Tables the scrub leaves to others: the audit log (redacted through its chain), the search
/// index (rebuilt from the cards), files, settings.
fn scrubbed_table(name: &str) -> bool {
    !(name.starts_with("sqlite_")
        || name.starts_with("clients_search")
        || matches!(name, "audit_log" | "blobs" | "meta" | "suppressions"))
}

/// Replaces the people's strings in every free-text column of every ordinary table; returns
/// how many values changed, by table. Table and column names come from the schema itself.
pub fn scrub_free_text(tx: &Tx, scrubber: &Scrubber) -> Result<BTreeMap<String, usize>> {
    let tables: Vec<String> = tx
        .conn()
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut changed = BTreeMap::new();
    for table in tables.into_iter().filter(|t| scrubbed_table(t)) {
        let columns: Vec<String> = tx
            .conn()
            .prepare("SELECT name FROM pragma_table_info(?1) WHERE upper(type) = 'TEXT'")?
            .query_map([&table], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for column in columns {
            if IDENTITY_COLUMNS.contains(&(table.as_str(), column.as_str())) {
                continue;
            }
            let (t, c) = (quoted(&table), quoted(&column));
            // WITHOUT ROWID tables hold keys and links, no free text: they have no rowid.
            let select = ["SELECT rowid, ", &c, " FROM ", &t, " WHERE ", &c, " IS NOT NULL"].concat();
            let Ok(mut stmt) = tx.conn().prepare(&select) else { continue };
            let mut found: Vec<(i64, String)> = Vec::new();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let text: String = match row.get_ref(1)? {
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    _ => continue,
                };
                if let Some(clean) = scrubber.scrub(&text) {
                    found.push((row.get(0)?, clean));
                }
            }
            if found.is_empty() {
                continue;
            }
            let update = ["UPDATE ", &t, " SET ", &c, " = ?2 WHERE rowid = ?1"].concat();
            let mut stmt = tx.conn().prepare(&update)?;
            for (rowid, clean) in &found {
                stmt.execute(params![rowid, clean])?;
            }
            *changed.entry(table.clone()).or_insert(0) += found.len();
        }
    }
    Ok(changed)
}

/// An identifier from the schema, quoted for SQL.
fn quoted(name: &str) -> String {
    ["\"", &name.replace('"', "\"\""), "\""].concat()
}

/// Erases client `p` everywhere but the audit log and the free text (see [`scrub_free_text`]):
/// returns what was done, by kind. `suppression_key` is the salted hash of the mailbox, kept
/// on the suppression list; `actor` the erasing user.
pub fn erase_records(
    tx: &Tx,
    p: &Person,
    suppression_key: &str,
    actor: i64,
    now: DateTime<Utc>,
) -> Result<BTreeMap<&'static str, usize>> {
    let c = tx.conn();
    let id = p.client_id;
    let at = super::utc_text(now);
    let mut done = BTreeMap::new();
    let mut count = |k: &'static str, n: usize| {
        *done.entry(k).or_insert(0) += n;
    };
    // The person's own history: gone.
    count("interactions", c.execute("DELETE FROM interactions WHERE client_id = ?1", [id])?);
    count("stage_history", c.execute("DELETE FROM client_stage_history WHERE client_id = ?1", [id])?);
    count("group_memberships", c.execute("DELETE FROM client_group_members WHERE client_id = ?1", [id])?);
    count("landing_page_signups", c.execute("DELETE FROM page_signups WHERE client_id = ?1", [id])?);
    count("consent_ledger", c.execute("DELETE FROM consent_ledger WHERE client_id = ?1", [id])?);
    // Campaign messages and their tracking: the counts of each campaign stay, nobody in them.
    let mailbox = crate::domain::campaign::mailbox(&p.email);
    count(
        "tracking_events",
        c.execute(
            "UPDATE mail_events SET client_id = NULL, mailbox_hash = NULL, detail = NULL, source = NULL
             WHERE client_id = ?1 OR send_log_id IN (SELECT id FROM send_log WHERE client_id = ?1 OR mailbox = ?2)",
            params![id, mailbox],
        )?,
    );
    count(
        "campaign_messages",
        c.execute(
            "UPDATE send_log SET client_id = NULL, email = '', mailbox = 'erased:' || id, last_error = NULL,
                    status = CASE WHEN status IN ('queued', 'deferred') THEN 'failed' ELSE status END
             WHERE client_id = ?1 OR mailbox = ?2",
            params![id, mailbox],
        )?,
    );
    // E-mails to the person (and to their accounts): the record that one was sent stays,
    // without address or content; none still waiting leaves.
    let mut addresses = vec![p.email.clone()];
    for a in &p.accounts {
        addresses.push(c.query_row("SELECT email FROM users WHERE id = ?1", [a], |r| r.get(0))?);
    }
    for addr in &addresses {
        let rows: Vec<i64> = c
            .prepare("SELECT id FROM outbox WHERE to_addr = ?1 COLLATE NOCASE")?
            .query_map([addr], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for o in rows {
            c.execute("DELETE FROM outbox_attachments WHERE outbox_id = ?1", [o])?;
            c.execute(
                "UPDATE outbox SET to_addr = '', subject = '', text_body = '', html_body = '', last_error =
                        CASE WHEN status IN ('queued', 'sending') THEN 'recipient erased' ELSE NULL END,
                        status = CASE WHEN status IN ('queued', 'sending') THEN 'failed' ELSE status END
                 WHERE id = ?1",
                [o],
            )?;
            count("emails", 1);
        }
    }
    // Client accounts: no login, no name, no sessions, no access; their tickets stay with the
    // project, authored by "Erased account", and the files they uploaded are removed.
    for a in &p.accounts {
        c.execute("DELETE FROM sessions WHERE user_id = ?1", [a])?;
        c.execute("DELETE FROM project_access WHERE user_id = ?1", [a])?;
        let files: Vec<(i64, String)> = c
            .prepare(
                "SELECT a.id, a.sha256 FROM attachments a JOIN ticket_messages m ON m.id = a.message_id
                 WHERE m.author_id = ?1",
            )?
            .query_map([a], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (file, sha) in files {
            c.execute("DELETE FROM attachments WHERE id = ?1", [file])?;
            c.execute(
                "DELETE FROM blobs WHERE sha256 = ?1
                   AND NOT EXISTS (SELECT 1 FROM attachments WHERE sha256 = ?1)
                   AND NOT EXISTS (SELECT 1 FROM media WHERE sha256 = ?1)
                   AND NOT EXISTS (SELECT 1 FROM outbox_attachments WHERE sha256 = ?1)",
                [&sha],
            )?;
            count("ticket_attachments", 1);
        }
        c.execute(
            "UPDATE users SET username = 'erased-' || id, full_name = 'Erased account',
                    email = 'erased-' || id || '@erased.invalid', password_hash = '!erased', active = 0,
                    failed_logins = 0, locked_until = NULL, last_login_at = NULL, updated_at = ?2
             WHERE id = ?1",
            params![a, at],
        )?;
        count("client_accounts", 1);
    }
    // Events of their contracts: dates and size stay with the contract; the name, place and
    // notes may describe the person.
    count(
        "events",
        c.execute(
            "UPDATE events SET name = 'Event ' || id, location = '', notes = '', updated_at = ?2
             WHERE contract_id IN (SELECT id FROM contracts WHERE client_id = ?1)",
            params![id, at],
        )?,
    );
    // The suppression list: the address's own entries go, one salted hash stays.
    for addr in &addresses {
        c.execute("DELETE FROM suppressions WHERE email = ?1 COLLATE NOCASE", [addr])?;
    }
    c.execute("DELETE FROM suppressions WHERE mailbox_hash = ?1", [suppression_key])?;
    c.execute(
        "INSERT INTO suppressions (mailbox_hash, email, reason, source, created_at, created_by)
         VALUES (?1, NULL, 'erased', 'erasure', ?2, ?3)",
        params![suppression_key, at, actor],
    )?;
    // The card: kept for the contracts that point at it, with nothing of the person. Consent
    // is withdrawn (the ledger's one remaining line says why).
    c.execute(
        "INSERT INTO consent_ledger (client_id, consent, previous, source, detail, actor_id, created_at)
         VALUES (?1, 'withdrawn', NULL, 'manual', 'erased', ?2, ?3)",
        params![id, actor, at],
    )?;
    c.execute(
        "UPDATE clients SET full_name = 'Erased client ' || id, email = 'erased-' || id || '@erased.invalid',
                phone = NULL, phone_digits = NULL, fields = '{}', consent = 'withdrawn', last_contact_at = NULL,
                updated_at = ?2, erased_at = ?2
         WHERE id = ?1",
        params![id, at],
    )?;
    count("client", 1);
    Ok(done)
}

/// Merges the search index's segments so that the erased card's old terms leave the file.
pub fn compact_search_index(tx: &Tx) -> Result<()> {
    tx.conn().execute("INSERT INTO clients_search (clients_search) VALUES ('optimize')", [])?;
    Ok(())
}

/// Clients with no activity since `cutoff` — no contract, ticket, interaction, sign-up,
/// login, open, click or contact — and not yet erased, oldest activity first:
/// (id, name, last activity).
pub fn inactive_since(r: &impl Read, cutoff: DateTime<Utc>) -> Result<Vec<(i64, String, String)>> {
    let mut stmt = r.conn().prepare(
        "SELECT id, full_name, last FROM (
           SELECT c.id, c.full_name, max(
             c.created_at,
             coalesce(c.last_contact_at, ''),
             coalesce((SELECT max(at) FROM interactions WHERE client_id = c.id), ''),
             coalesce((SELECT max(max(created_at, updated_at, coalesce(signed_at, ''))) FROM contracts
                       WHERE client_id = c.id), ''),
             coalesce((SELECT max(t.updated_at) FROM tickets t JOIN users u ON u.id = t.author_id
                       WHERE u.client_id = c.id), ''),
             coalesce((SELECT max(coalesce(u.last_login_at, '')) FROM users u WHERE u.client_id = c.id), ''),
             coalesce((SELECT max(created_at) FROM mail_events WHERE client_id = c.id
                       AND kind IN ('open', 'click', 'unsubscribe')), ''),
             coalesce((SELECT max(coalesce(confirmed_at, created_at)) FROM page_signups WHERE client_id = c.id), '')
           ) AS last
           FROM clients c WHERE c.erased_at IS NULL
         ) WHERE last < ?1 ORDER BY last, id",
    )?;
    let rows = stmt.query_map([super::utc_text(cutoff)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    /// The needles of a person: distinctive strings only, longest first, JSON-escaped forms too.
    #[test]
    fn only_distinctive_strings_are_scrubbed_whatever_their_case() {
        let db = Db::open_in_memory().expect("db");
        db.exec_for_test(
            "INSERT INTO clients (id, full_name, email, phone, phone_digits, first_contact_at, created_at, updated_at)
             VALUES (1, 'Zoé \"Zo\" O''Hara', 'Zoe.OHara+news@Exemple.fr', '+33', '33', 'x', 'x', 'x'),
                    (2, 'Al', 'al@exemple.fr', '+33 6 12 34 56 78', '33612345678', 'x', 'x', 'x')",
        )
        .expect("clients");
        let zoe = person(&db, 1).expect("read").expect("zoe");
        assert!(!zoe.needles.iter().any(|n| n == "+33" || n == "33"), "a short phone is no needle: {:?}", zoe.needles);
        assert!(zoe.needles.contains(&"Zoé \\\"Zo\\\" O'Hara".to_string()), "the JSON-escaped name: {:?}", zoe.needles);
        assert!(zoe.needles.windows(2).all(|w| w[0].len() >= w[1].len()), "longest first");
        let al = person(&db, 2).expect("read").expect("al");
        assert!(!al.needles.contains(&"Al".to_string()), "a two-letter name is no needle");
        assert!(al.needles.contains(&"33612345678".to_string()));
        let s = Scrubber::new(zoe.needles.iter()).expect("matcher").expect("some");
        let cases = [
            ("Write to ZOE.OHARA+NEWS@EXEMPLE.FR today", Some("Write to [erased] today")),
            (r#"{"name":"Zoé \"Zo\" O'Hara"}"#, Some(r#"{"name":"[erased]"}"#)),
            ("nothing of hers", None),
            ("call +33 1 23 45 67 89", None),
        ];
        for (text, want) in cases {
            assert_eq!(s.scrub(text).as_deref(), want, "{text}");
        }
    }
}
