//! What the database holds about one person, read table by table for the GDPR export. Rows are
//! returned as JSON objects keyed by column name (every column, typed), so a column added later
//! is exported without a change here.

use rusqlite::types::ValueRef;
use serde_json::{Map, Value};

use super::Read;
use crate::Result;

/// Columns stored as JSON text.
const JSON_COLUMNS: &[&str] = &["fields", "before", "after"];

/// The rows of a query as JSON objects. Columns named in `hidden` are left out (secrets such as
/// password hashes, which are not the person's data to hand over and must never leave).
fn rows(r: &impl Read, sql: &str, params: &[&dyn rusqlite::ToSql], hidden: &[&str]) -> Result<Vec<Value>> {
    let mut stmt = r.conn().prepare(sql)?;
    let names: Vec<String> = stmt.column_names().map(|n| n.to_string()).collect();
    let mut out = Vec::new();
    let mut q = stmt.query(params)?;
    while let Some(row) = q.next()? {
        let mut obj = Map::new();
        for (i, name) in names.iter().enumerate() {
            if hidden.contains(&name.as_str()) {
                continue;
            }
            let v = match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => Value::from(f),
                ValueRef::Text(t) => {
                    let s = String::from_utf8_lossy(t).into_owned();
                    // The columns that hold JSON (custom fields, audit before/after) are exported
                    // as JSON; any other text stays text, whatever it looks like.
                    match JSON_COLUMNS.contains(&name.as_str()).then(|| serde_json::from_str::<Value>(&s)) {
                        Some(Ok(v)) => v,
                        _ => Value::String(s),
                    }
                }
                ValueRef::Blob(b) => Value::String(format!("<{} bytes>", b.len())),
            };
            obj.insert(name.clone(), v);
        }
        out.push(Value::Object(obj));
    }
    Ok(out)
}

// The person's client accounts and campaign messages, as subqueries (fixed text; the client's
// id is the bound ?1).
macro_rules! accounts {
    () => {
        "SELECT id FROM users WHERE client_id = ?1"
    };
}
macro_rules! send_log {
    () => {
        "SELECT id FROM send_log WHERE client_id = ?1"
    };
}

/// Every section of the export for client `id` (e-mail `email`, suppression key `hash`).
pub fn sections(r: &impl Read, id: i64, email: &str, hash: &str) -> Result<Vec<(&'static str, Vec<Value>)>> {
    let idp: &[&dyn rusqlite::ToSql] = &[&id];
    Ok(vec![
        ("client", rows(r, "SELECT * FROM clients WHERE id = ?1", idp, &[])?),
        (
            "company",
            rows(r, "SELECT co.* FROM companies co JOIN clients c ON c.company_id = co.id WHERE c.id = ?1", idp, &[])?,
        ),
        (
            "groups",
            rows(
                r,
                "SELECT g.name, m.* FROM client_group_members m JOIN client_groups g ON g.id = m.group_id WHERE m.client_id = ?1",
                idp,
                &[],
            )?,
        ),
        ("stage_history", rows(r, "SELECT * FROM client_stage_history WHERE client_id = ?1 ORDER BY id", idp, &[])?),
        ("consent_ledger", rows(r, "SELECT * FROM consent_ledger WHERE client_id = ?1 ORDER BY id", idp, &[])?),
        ("interactions", rows(r, "SELECT * FROM interactions WHERE client_id = ?1 ORDER BY id", idp, &[])?),
        ("contracts", rows(r, "SELECT * FROM contracts WHERE client_id = ?1 ORDER BY id", idp, &[])?),
        (
            "events",
            rows(
                r,
                "SELECT e.* FROM events e JOIN contracts k ON k.id = e.contract_id WHERE k.client_id = ?1 ORDER BY e.id",
                idp,
                &[],
            )?,
        ),
        (
            "client_accounts",
            rows(
                r,
                "SELECT * FROM users WHERE client_id = ?1",
                idp,
                &["password_hash", "failed_logins", "locked_until"],
            )?,
        ),
        (
            "tickets",
            rows(r, concat!("SELECT * FROM tickets WHERE author_id IN (", accounts!(), ") ORDER BY id"), idp, &[])?,
        ),
        (
            "ticket_messages",
            rows(
                r,
                concat!(
                    "SELECT * FROM ticket_messages WHERE author_id IN (",
                    accounts!(),
                    ") AND internal = 0 ORDER BY id"
                ),
                idp,
                &[],
            )?,
        ),
        (
            "ticket_attachments",
            rows(
                r,
                concat!(
                    "SELECT a.id, a.message_id, a.name, a.mime, a.size, a.sha256 FROM attachments a
                     JOIN ticket_messages m ON m.id = a.message_id WHERE m.author_id IN (",
                    accounts!(),
                    ") AND m.internal = 0
                     ORDER BY a.id"
                ),
                idp,
                &[],
            )?,
        ),
        ("send_log", rows(r, "SELECT * FROM send_log WHERE client_id = ?1 ORDER BY id", idp, &[])?),
        (
            "tracking_and_returns",
            rows(
                r,
                concat!(
                    "SELECT * FROM mail_events WHERE client_id = ?1 OR send_log_id IN (",
                    send_log!(),
                    ") ORDER BY id"
                ),
                idp,
                &[],
            )?,
        ),
        (
            "short_link_visits",
            rows(
                r,
                concat!("SELECT * FROM short_link_hits WHERE send_log_id IN (", send_log!(), ") ORDER BY id"),
                idp,
                &[],
            )?,
        ),
        ("landing_page_signups", rows(r, "SELECT * FROM page_signups WHERE client_id = ?1 ORDER BY id", idp, &[])?),
        (
            "suppressions",
            rows(
                r,
                "SELECT * FROM suppressions WHERE mailbox_hash = ?1 OR email = ?2 COLLATE NOCASE",
                &[&hash, &email],
                &[],
            )?,
        ),
        (
            "emails_sent",
            rows(
                r,
                "SELECT id, to_addr, subject, kind, status, created_at, sent_at FROM outbox WHERE to_addr = ?1 COLLATE NOCASE ORDER BY id",
                &[&email],
                &[],
            )?,
        ),
        (
            "audit",
            rows(
                r,
                concat!(
                    "SELECT id, at, actor, action, entity, entity_id, outcome, detail, before, after FROM audit_log
                     WHERE (entity = 'client' AND entity_id = ?1) OR actor_id IN (",
                    accounts!(),
                    ") ORDER BY id"
                ),
                idp,
                &[],
            )?,
        ),
    ])
}
