//! The consent ledger (GDPR): who changed a client's marketing consent, when, from where, and
//! to what. Every path that changes consent notes it here first, in its own transaction; the
//! database refuses a consent change the ledger does not hold.

use chrono::{DateTime, Utc};

use crate::Result;
pub(crate) use crate::db::consent::Change;
use crate::db::{self, Tx};
use crate::domain::Permission;
use crate::domain::profile::{ConsentEntry, ConsentSource};
use crate::service::authz::Session;
use crate::service::refs;

/// Notes a change from `previous` (None for a new client) to `consent`; nothing when equal (or
/// a new client without consent).
pub(crate) fn note(tx: &Tx, change: &Change, now: DateTime<Utc>) -> Result<()> {
    if change.previous.unwrap_or("unknown") == change.consent {
        return Ok(());
    }
    db::consent::append(tx, change, now)
}

/// A change by a user (None: an MTA report, the demo), from a source.
pub(crate) fn change<'a>(
    client_id: i64,
    previous: Option<&'a str>,
    consent: &'a str,
    source: ConsentSource,
    actor: Option<i64>,
) -> Change<'a> {
    Change { client_id, previous, consent, source: source.as_str(), detail: None, text_hash: None, actor }
}

/// `rolo client privacy consent C`: the client's ledger, oldest first.
pub fn history(session: &Session, key: &str) -> Result<Vec<ConsentEntry>> {
    session.require(Permission::ClientRead)?;
    let client = refs::client(session.db(), key)?;
    db::consent::history(session.db(), client.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Read;
    use crate::service::client::{self, ClientInput};
    use crate::service::import::{self, OnDuplicate, Options};
    use crate::service::testing::{demo, session_as};

    fn entries(db: &crate::db::Db, email: &str) -> Vec<(String, Option<String>, String, Option<String>)> {
        let s = session_as(db, "admin");
        history(&s, email).expect("history").into_iter().map(|e| (e.consent, e.previous, e.source, e.actor)).collect()
    }

    fn update(db: &crate::db::Db, who: &str, email: &str, consent: &str) {
        let input = ClientInput { consent: Some(consent.into()), ..Default::default() };
        client::update(&session_as(db, who), email, &input).expect("update");
    }

    fn import(db: &crate::db::Db, who: &str, csv: &'static str) {
        let opts =
            Options { dry_run: false, on_duplicate: OnDuplicate::Update, mapping: Default::default(), group: None };
        let file = Box::new(std::io::Cursor::new(csv.as_bytes()));
        import::import_clients(&session_as(db, who), file, &opts, |_| {}).expect("import");
    }

    type Step = fn(&crate::db::Db);
    type Entry = (&'static str, Option<&'static str>, &'static str, Option<&'static str>);

    /// Each way consent changes leaves one entry with its source and user; no change, none.
    #[test]
    fn every_consent_change_is_in_the_ledger() {
        let template = demo();
        let cases: [(&str, &str, Step, &[Entry]); 5] = [
            (
                "client update",
                "kevin@startup.io",
                |db| update(db, "bill", "kevin@startup.io", "withdrawn"),
                &[("granted", Some("unknown"), "manual", None), ("withdrawn", Some("granted"), "manual", Some("bill"))],
            ),
            (
                "same value",
                "kevin@startup.io",
                |db| update(db, "bill", "kevin@startup.io", "granted"),
                &[("granted", Some("unknown"), "manual", None)],
            ),
            (
                "client create",
                "new@consent.test",
                |db| {
                    let input = ClientInput {
                        name: Some("New Person".into()),
                        email: Some("new@consent.test".into()),
                        consent: Some("granted".into()),
                        ..Default::default()
                    };
                    client::create(&session_as(db, "bill"), &input).expect("create");
                },
                &[("granted", None, "manual", Some("bill"))],
            ),
            (
                "import creates",
                "imp@consent.test",
                |db| import(db, "admin", "name,email,consent\nImported One,imp@consent.test,granted\n"),
                &[("granted", None, "import", Some("admin"))],
            ),
            (
                "import updates",
                "kevin@startup.io",
                |db| import(db, "admin", "name,email,consent\nKevin Casey,kevin@startup.io,withdrawn\n"),
                &[
                    ("granted", Some("unknown"), "manual", None),
                    ("withdrawn", Some("granted"), "import", Some("admin")),
                ],
            ),
        ];
        for (name, email, step, expected) in cases {
            let db = template.copy_in_memory().expect("copy");
            step(&db);
            let want: Vec<_> = expected
                .iter()
                .map(|(c, p, s, a)| (c.to_string(), p.map(String::from), s.to_string(), a.map(String::from)))
                .collect();
            assert_eq!(entries(&db, email), want, "{name}");
        }
    }

    /// The database itself refuses a consent change the ledger does not hold.
    #[test]
    fn a_change_outside_the_ledger_is_refused() {
        let db = demo();
        let e = db.conn().execute("UPDATE clients SET consent = 'withdrawn' WHERE email = 'kevin@startup.io'", []);
        assert!(e.is_err_and(|e| e.to_string().contains("consent ledger")));
        // Other columns change freely.
        db.conn().execute("UPDATE clients SET phone = NULL WHERE email = 'kevin@startup.io'", []).expect("update");
    }
}
