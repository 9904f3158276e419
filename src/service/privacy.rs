//! The GDPR side of the client base: everything held about a person, as one document
//! (`rolo client privacy export`). Erasure and retention are still to come (README).

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::authz::Session;
use super::refs;
use crate::domain::{Permission, campaign, time};
use crate::{Result, db};

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
    let hash = campaign::mailbox_hash(&client.email);
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
