//! The GDPR side of the client base: everything held about a person, as one document
//! (`rolo client privacy export`); erasure (`erase`) and retention (`purge`).

use std::collections::BTreeMap;

use chrono::{DateTime, Months, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::authz::Session;
use super::refs;
use crate::db::erase::{Person, Scrubber};
use crate::domain::{Permission, campaign, time};
use crate::{Error, Result, db};

/// The export's format: a reader checks it before reading the sections.
pub const FORMAT: &str = "rolo-privacy-export";
pub const FORMAT_VERSION: u32 = 1;

/// Everything Rolo holds about client `key` (id or e-mail): the card, custom fields, company,
/// groups, stage history, consent ledger, interactions, contracts and their events, client
/// accounts and their tickets (public messages, attachments' names), campaign messages and
/// their tracking, bounces and complaints, landing page sign-ups, suppression entries, e-mails
/// sent to the address, and audit entries about the person. Audited without personal data.
pub fn export(session: &Session, key: &str) -> Result<Value> {
    let grant = session.require(Permission::PrivacyExport)?;
    let client = refs::client(session.db(), key)?;
    let hash = campaign::mailbox_hash(&db::campaign::mailbox_salt(session.db())?, &client.email);
    let sections = db::privacy::sections(session.db(), client.id, &client.email, &hash)?;
    let mut doc = Map::new();
    doc.insert("format".into(), json!(FORMAT));
    doc.insert("format_version".into(), json!(FORMAT_VERSION));
    doc.insert("exported_at".into(), json!(time::format_utc(Utc::now())));
    doc.insert("exported_by".into(), json!(session.actor().username));
    doc.insert("client_id".into(), json!(client.id));
    let mut counts = Map::new();
    for (name, rows) in sections {
        counts.insert(name.into(), json!(rows.len()));
        doc.insert(name.into(), Value::Array(rows));
    }
    grant.write(|tx| grant.audit(tx, "privacy.export", "client", Some(client.id), None, Some(&counts)))?;
    Ok(Value::Object(doc))
}

/// What an erasure did.
#[derive(Debug, Clone, Serialize)]
pub struct Erasure {
    pub client_id: i64,
    /// Records deleted or anonymised, by kind; free-text values scrubbed, by table.
    pub records: BTreeMap<String, usize>,
    pub scrubbed: BTreeMap<String, usize>,
    /// Audit entries whose personal columns were replaced.
    pub audit_entries_redacted: usize,
    /// Signed contracts with money due that `--force` erased past.
    pub legal_hold_overridden: Vec<i64>,
    /// Whether the write-ahead log could be emptied at once (false while another process
    /// reads: old pages stay in it until the next checkpoint).
    pub wal_truncated: bool,
}

/// Erases client `key` everywhere, in one transaction: the card keeps only what its contracts
/// need (renamed "Erased client N", no e-mail, phone or fields, consent withdrawn); history,
/// group memberships, sign-ups and consent ledger are deleted; campaign messages and tracking
/// keep their counts without the person; e-mails to them lose address and content (queued
/// ones never leave); client accounts can no longer log in and lose their names, sessions,
/// access and uploaded files; events of their contracts lose name, place and notes; every
/// free-text column and every audit entry is scrubbed of their name, e-mail, phone and
/// account names (audit entries through the chain's redaction). The mailbox stays on the
/// suppression list as a salted hash, so an import does not make them a recipient again.
///
/// A signed contract with money still due is a legal hold: refused (conflict) unless `force`,
/// which only an admin may use. Audited without personal data.
pub fn erase(session: &Session, key: &str, force: bool) -> Result<Erasure> {
    let grant = session.require(Permission::PrivacyErase)?;
    let client = refs::client(session.db(), key)?;
    if let Some(at) = db::erase::erased_at(session.db(), client.id)? {
        return Err(Error::conflict(format!("client {} was already erased ({at})", client.id)));
    }
    let holds = db::erase::legal_holds(session.db(), client.id)?;
    if !holds.is_empty() {
        let named: Vec<String> = holds
            .iter()
            .map(|(id, due, cur)| {
                format!("contract {id} ({} {cur} due)", crate::domain::crm::Money { minor: *due }.to_decimal())
            })
            .collect();
        if !force {
            return Err(Error::conflict(format!(
                "client {} is under a legal hold: signed {} not paid; an admin may erase anyway with --force",
                client.id,
                named.join(", ")
            )));
        }
        if !session.actor().is_admin() {
            return Err(session.deny(
                Permission::PrivacyErase,
                "client",
                Some(client.id),
                "erasing past a legal hold (--force) is for an admin",
            ));
        }
    }
    let person = db::erase::person(session.db(), client.id)?.ok_or_else(|| Error::not_found("client", key))?;
    let overridden: Vec<i64> = holds.iter().map(|h| h.0).collect();
    let done = grant.write(|tx| {
        let done = erase_in(tx, session, std::slice::from_ref(&person))?;
        let after = json!({
            "records": done.records,
            "scrubbed": done.scrubbed,
            "legal_hold_overridden": overridden,
            "redactions": done.redactions,
        });
        grant.audit(tx, "privacy.erase", "client", Some(client.id), None, Some(&after))?;
        Ok(done)
    })?;
    Ok(Erasure {
        client_id: client.id,
        audit_entries_redacted: done.redactions.len(),
        records: done.records,
        scrubbed: done.scrubbed,
        legal_hold_overridden: overridden,
        wal_truncated: session.db().truncate_wal()?,
    })
}

/// What an erasure changed inside its transaction: records by kind, scrubbed values by table,
/// and the digest of each redacted audit entry (for the erasure's own entry).
struct Erased {
    records: BTreeMap<String, usize>,
    scrubbed: BTreeMap<String, usize>,
    redactions: Map<String, Value>,
}

/// Erases `people` inside `tx` (records, free text, audit entries, search index).
fn erase_in(tx: &db::Tx, session: &Session, people: &[Person]) -> Result<Erased> {
    let salt = db::campaign::mailbox_salt(tx)?;
    let now = Utc::now();
    let mut records: BTreeMap<String, usize> = BTreeMap::new();
    // What the audit log says about their cards and interactions is theirs in full; elsewhere
    // only their strings are replaced.
    let mut interactions = std::collections::HashSet::new();
    for p in people {
        let mut stmt = db::Read::conn(tx).prepare("SELECT id FROM interactions WHERE client_id = ?1")?;
        for id in stmt.query_map([p.client_id], |r| r.get::<_, i64>(0))? {
            interactions.insert(id?);
        }
    }
    let clients: std::collections::HashSet<i64> = people.iter().map(|p| p.client_id).collect();
    for p in people {
        let key = campaign::mailbox_hash(&salt, &p.email);
        for (k, n) in db::erase::erase_records(tx, p, &key, session.actor().id, now)? {
            *records.entry(k.to_string()).or_insert(0) += n;
        }
    }
    let scrubber = Scrubber::new(people.iter().flat_map(|p| p.needles.iter()))?;
    let scrubbed = match &scrubber {
        Some(s) => db::erase::scrub_free_text(tx, s)?,
        None => BTreeMap::new(),
    };
    let redacted = db::audit::redact(tx, |e| {
        // An erasure's own entry holds ids and counts only, and is what verify checks the
        // redacted entries against: never rewritten (a short name could match its keys).
        if e.action == "privacy.erase" {
            return None;
        }
        let theirs = match (e.entity.as_str(), e.entity_id) {
            ("client", Some(id)) => clients.contains(&id),
            ("interaction", Some(id)) => interactions.contains(&id),
            _ => false,
        };
        let clean = |v: &Option<String>| match (v, &scrubber) {
            (Some(t), Some(s)) => s.scrub(t).or_else(|| v.clone()),
            _ => v.clone(),
        };
        let new = db::audit::Personal {
            id: e.id,
            action: e.action.clone(),
            entity: e.entity.clone(),
            entity_id: e.entity_id,
            actor: clean(&e.actor),
            detail: clean(&e.detail),
            before: if theirs { None } else { clean(&e.before) },
            after: if theirs { None } else { clean(&e.after) },
        };
        let changed = (&new.actor, &new.detail, &new.before, &new.after) != (&e.actor, &e.detail, &e.before, &e.after);
        changed.then_some(new)
    })?;
    db::erase::compact_search_index(tx)?;
    let mut redactions = Map::new();
    for (id, digest) in &redacted {
        redactions.insert(id.to_string(), json!(digest));
    }
    Ok(Erased { records, scrubbed, redactions })
}

/// One person a purge found inactive.
#[derive(Debug, Clone, Serialize)]
pub struct Inactive {
    pub id: i64,
    pub name: String,
    pub last_activity: String,
    /// Signed contracts with money due: such a person is kept (listed, not erased).
    pub legal_hold: Vec<i64>,
}

/// What a purge found and did.
#[derive(Debug, Clone, Serialize)]
pub struct Purge {
    pub cutoff: String,
    pub dry_run: bool,
    pub inactive: Vec<Inactive>,
    pub erased: usize,
    pub held: usize,
    pub audit_entries_redacted: usize,
    pub wal_truncated: bool,
}

/// `3y`, `18mo`, `90d`, `12w`: how long without activity before a person is purged (at least
/// 30 days: a retention period, not a typo).
pub fn parse_retention(input: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let bad =
        || Error::invalid("inactive-for", format!("`{input}` is not a retention period; use forms like 3y, 18mo, 90d"));
    let t = input.trim();
    let months = |n: &str, per: u32| n.parse::<u32>().ok().filter(|n| *n <= 100).map(|n| Months::new(n * per));
    let cutoff = if let Some(n) = t.strip_suffix("mo") {
        now.checked_sub_months(months(n, 1).ok_or_else(bad)?)
    } else if let Some(n) = t.strip_suffix('y') {
        now.checked_sub_months(months(n, 12).ok_or_else(bad)?)
    } else {
        let d = time::parse_duration("inactive-for", t).map_err(|_| bad())?;
        now.checked_sub_signed(d)
    }
    .ok_or_else(bad)?;
    if now - cutoff < chrono::Duration::days(30) {
        return Err(Error::invalid(
            "inactive-for",
            format!("`{input}` is under 30 days; a retention period is longer"),
        ));
    }
    Ok(cutoff)
}

/// Erases every person with no activity since `inactive_for` ago (contracts, tickets,
/// interactions, contacts, logins, opens, clicks, sign-ups), in one transaction; people under
/// a legal hold are listed and kept. `dry_run` only lists.
pub fn purge(session: &Session, inactive_for: &str, dry_run: bool) -> Result<Purge> {
    let grant = session.require(Permission::PrivacyErase)?;
    let cutoff = parse_retention(inactive_for, Utc::now())?;
    let mut inactive = Vec::new();
    for (id, name, last_activity) in db::erase::inactive_since(session.db(), cutoff)? {
        let legal_hold = db::erase::legal_holds(session.db(), id)?.into_iter().map(|h| h.0).collect();
        inactive.push(Inactive { id, name, last_activity, legal_hold });
    }
    let held = inactive.iter().filter(|i| !i.legal_hold.is_empty()).count();
    let mut report = Purge {
        cutoff: time::format_utc(cutoff),
        dry_run,
        erased: 0,
        held,
        inactive,
        audit_entries_redacted: 0,
        wal_truncated: false,
    };
    let people: Vec<Person> = report
        .inactive
        .iter()
        .filter(|i| i.legal_hold.is_empty())
        .map(|i| db::erase::person(session.db(), i.id)?.ok_or_else(|| Error::not_found("client", i.id.to_string())))
        .collect::<Result<_>>()?;
    if dry_run || people.is_empty() {
        return Ok(report);
    }
    let done = grant.write(|tx| {
        let done = erase_in(tx, session, &people)?;
        let ids: Vec<i64> = people.iter().map(|p| p.client_id).collect();
        let after = json!({
            "cutoff": report.cutoff,
            "clients": ids,
            "records": done.records,
            "scrubbed": done.scrubbed,
            "redactions": done.redactions,
        });
        grant.audit(tx, "privacy.erase", "purge", None, None, Some(&after))?;
        Ok(done)
    })?;
    report.erased = people.len();
    report.audit_entries_redacted = done.redactions.len();
    report.wal_truncated = session.db().truncate_wal()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing;

    /// Every kind of thing held about a person is in the export, and nothing that is not theirs
    /// to receive (a password hash, another client's data, an internal note).
    #[test]
    fn the_export_holds_every_section_of_the_person_and_no_secret() {
        let db = testing::demo();
        let (mia, kate, mark) =
            (testing::session_as(&db, "mia"), testing::session_as(&db, "kate"), testing::session_as(&db, "mark"));
        // More of Kevin: a staff reply (an e-mail to him), an internal note, a suppression, an
        // event on his contract, an open of his campaign message.
        crate::service::ticket::reply(&kate, &testing::settings(), "1", "Fixed, can you check?", vec![], None)
            .expect("reply");
        crate::service::ticket::note(&kate, &testing::settings(), "1", "INTERNAL: the client is difficult", vec![])
            .expect("note");
        crate::service::campaign::suppression::add(&mark, "kevin@startup.io", "manual").expect("suppress");
        let (row, campaign): (i64, i64) = crate::db::Read::conn(&db)
            .query_row("SELECT id, campaign_id FROM send_log WHERE email = 'kevin@startup.io' LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("kevin's campaign message");
        let secret = crate::service::campaign::token_secret(&db).expect("secret");
        let token = crate::service::campaign::tracking::open_token(&secret, "full", campaign, row).expect("token");
        crate::service::campaign::tracking::open_by_token(&db, &token, Some("Mozilla/5.0")).expect("an open");

        let doc = export(&mia, "kevin@startup.io").expect("export");
        assert_eq!((doc["format"].as_str(), doc["format_version"].as_u64()), (Some(FORMAT), Some(1)));
        assert_eq!(doc["client"][0]["email"], "kevin@startup.io");
        assert_eq!(doc["client"][0]["fields"]["sector"], "Tech");
        for section in [
            "company",
            "groups",
            "consent_ledger",
            "interactions",
            "contracts",
            "client_accounts",
            "tickets",
            "ticket_messages",
            "ticket_attachments",
            "send_log",
            "tracking_and_returns",
            "suppressions",
            "emails_sent",
            "audit",
        ] {
            assert!(doc[section].as_array().is_some_and(|a| !a.is_empty()), "{section} is empty: {}", doc[section]);
        }
        let text = doc.to_string();
        assert!(!text.contains("argon2") && !text.contains("password_hash"), "no password hash");
        assert!(!text.contains("INTERNAL: the client is difficult"), "no internal note");
        assert!(!text.contains("agathe.mercier@mufflins.fr"), "no other client");
        // The export is audited, by counts only.
        let last =
            crate::service::audit::list(&mia, &crate::domain::audit::Filter { limit: Some(1), ..Default::default() })
                .expect("audit");
        assert_eq!(last[0].action, "privacy.export");
        assert!(!serde_json::to_string(&last[0]).expect("json").contains("kevin@startup.io"));
    }
}
