//! Erasure and retention (`service::privacy::{erase, purge}`), on the demo database in memory.

use crate::ErrorKind;
use crate::db::Read;
use crate::service::testing::{demo, session_as, settings};
use crate::service::{campaign, privacy, ticket};

/// Kevin Casey as the demo has him (card, client account `kevin`, tickets, a campaign message),
/// plus what the commands add: a staff reply that e-mails him, an internal note and an
/// interaction naming him, a manual suppression, an open of his campaign message, and an event
/// on his contract named after him.
fn kevin_everywhere(db: &crate::db::Db) {
    let (kate, mark, bill) = (session_as(db, "kate"), session_as(db, "mark"), session_as(db, "bill"));
    ticket::reply(&kate, &settings(), "1", "Hi Kevin Casey, fixed — call me back on +678 123 456 78", vec![], None)
        .expect("reply");
    ticket::note(&kate, &settings(), "1", "INTERNAL: kevin@startup.io is difficult", vec![]).expect("note");
    campaign::suppression::add(&mark, "kevin@startup.io", "manual").expect("suppress");
    let input = crate::domain::client::NewInteraction {
        client: "kevin@startup.io".into(),
        kind: "phone_call".into(),
        at: None,
        notes: "Kevin Casey asked for a quote".into(),
    };
    crate::service::client::add_interaction(&bill, &input).expect("interaction");
    let (row, id): (i64, i64) = db
        .conn()
        .query_row("SELECT id, campaign_id FROM send_log WHERE email = 'kevin@startup.io' LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("kevin's campaign message");
    let secret = campaign::token_secret(db).expect("secret");
    let token = campaign::tracking::open_token(&secret, "full", id, row).expect("a tracked campaign");
    campaign::tracking::open_by_token(db, &token, Some("Mozilla/5.0")).expect("an open");
}

/// The strings that identify Kevin, as the demo has them.
const KEVIN: &[&str] = &["kevin@startup.io", "Kevin Casey", "+678 123 456 78", "67812345678"];

/// Every row of every table, and every audit entry's personal columns, as one text.
fn everything(db: &crate::db::Db) -> String {
    let mut text = db.dump().expect("dump");
    let mut stmt = db.conn().prepare("SELECT actor, detail, before, after FROM audit_log").expect("audit");
    let rows = stmt
        .query_map([], |r| {
            Ok([r.get::<_, Option<String>>(0)?, r.get(1)?, r.get(2)?, r.get(3)?]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "))
        })
        .expect("rows");
    for r in rows {
        text.push_str(&r.expect("row"));
        text.push('\n');
    }
    text
}

#[test]
fn an_erased_person_is_nowhere_and_the_audit_chain_still_holds() {
    let db = demo();
    kevin_everywhere(&db);
    let before = everything(&db);
    for s in KEVIN {
        assert!(before.contains(s), "the demo holds {s} before");
    }
    let admin = session_as(&db, "admin");
    let done = privacy::erase(&admin, "kevin@startup.io", false).expect("erase");
    assert!(done.audit_entries_redacted > 0, "{done:?}");
    assert_eq!(done.records.get("interactions"), Some(&3), "the demo's two and one more: {done:?}");
    // The demo's "K. Casey" (client 9, same phone) is another card — a likely duplicate that
    // `client dedupe` shows, to merge before erasing — and keeps its own identity.
    let after: String =
        everything(&db).lines().filter(|l| !l.starts_with("clients: Integer(9) ")).collect::<Vec<_>>().join("\n");
    for s in KEVIN {
        assert!(!after.to_lowercase().contains(&s.to_lowercase()), "{s} is still held:\n{after}");
    }
    // What stays: the card (for the contract), his tickets with the project, campaign counts.
    let (name, consent): (String, String) = db
        .conn()
        .query_row("SELECT full_name, consent FROM clients WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("card");
    assert_eq!((name.as_str(), consent.as_str()), ("Erased client 1", "withdrawn"));
    let tickets: i64 =
        db.conn().query_row("SELECT count(*) FROM tickets WHERE author_id = 8", [], |r| r.get(0)).expect("n");
    assert!(tickets > 0, "his tickets stay with the project");
    // The chain holds, with the redacted entries checked against the erasure's record.
    let chain = crate::db::audit::verify_chain(&db).expect("verify");
    assert!(chain.broken.is_none() && chain.redacted as usize == done.audit_entries_redacted, "{chain:?}");
    // The erasure's own entry holds no personal data, and a second erasure is a conflict.
    assert_eq!(privacy::erase(&admin, "1", false).expect_err("twice").kind(), ErrorKind::Conflict);
    // His account cannot log in any more.
    let login = crate::service::auth::login(&db, "kevin", &crate::secrets::Secret::new("kevin-demo-password".into()));
    assert_eq!(login.err().map(|e| e.kind()), Some(ErrorKind::Auth));
}

#[test]
fn a_redacted_entry_edited_afterwards_breaks_the_chain() {
    let db = demo();
    kevin_everywhere(&db);
    privacy::erase(&session_as(&db, "admin"), "kevin@startup.io", false).expect("erase");
    let id: i64 =
        db.conn().query_row("SELECT min(id) FROM audit_log WHERE redacted IS NOT NULL", [], |r| r.get(0)).expect("one");
    // The trigger refuses another commitment or a sealed column…
    for forged in [
        "UPDATE audit_log SET redacted = 'x' WHERE id = (SELECT min(id) FROM audit_log WHERE redacted IS NOT NULL)",
        "UPDATE audit_log SET action = 'x' WHERE id = (SELECT min(id) FROM audit_log WHERE redacted IS NOT NULL)",
    ] {
        db.exec_for_test(forged).expect_err("append-only");
    }
    // …and lets a later erasure redact the same entry again (another person named in it), so
    // an edit of its columns outside an erasure is caught by verify, not by the trigger.
    db.exec_for_test(
        "UPDATE audit_log SET detail = 'forged' WHERE id = (SELECT min(id) FROM audit_log WHERE redacted IS NOT NULL)",
    )
    .expect("allowed by the trigger");
    let chain = crate::db::audit::verify_chain(&db).expect("verify");
    assert_eq!(chain.broken, Some(crate::db::audit::Break { id, kind: "altered" }));
}

#[test]
fn a_reimported_erased_address_is_not_a_campaign_recipient_again() {
    let db = demo();
    let (admin, mark) = (session_as(&db, "admin"), session_as(&db, "mark"));
    privacy::erase(&admin, "kevin@startup.io", false).expect("erase");
    let opts = crate::service::import::Options {
        dry_run: false,
        on_duplicate: crate::service::import::OnDuplicate::Update,
        mapping: Default::default(),
        group: Some("Clients 2023".into()),
    };
    let csv = "name,email,consent\nKevin Casey,KEVIN@startup.io,granted\n";
    crate::service::import::import_clients(&mark, Box::new(std::io::Cursor::new(csv)), &opts, |_| {}).expect("import");
    let report = campaign::lifecycle::audience(&mark, 4, None).expect("audience of a group 1 campaign");
    assert!(report.recipients.iter().all(|r| !r.email.eq_ignore_ascii_case("kevin@startup.io")), "{report:?}");
    assert!(report.suppressed >= 1, "{report:?}");
    // The suppression list keeps a salted hash, no address.
    let erased: (Option<String>, String) = db
        .conn()
        .query_row("SELECT email, mailbox_hash FROM suppressions WHERE reason = 'erased'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("entry");
    assert_eq!(erased.0, None);
    let plain = crate::secrets::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"kevin@startup.io"));
    assert_ne!(erased.1, plain, "not a plain SHA-256 of the address");
}

/// Who may erase past a legal hold, and what a refusal leaves.
#[test]
fn a_legal_hold_refuses_the_erasure_unless_an_admin_forces_it() {
    let base = demo();
    // John Ouick has a signed contract with 3,000.00 due (the demo's contract 652).
    struct Case {
        user: &'static str,
        force: bool,
        expect: Result<(), ErrorKind>,
    }
    let cases = [
        Case { user: "admin", force: false, expect: Err(ErrorKind::Conflict) },
        Case { user: "admin", force: true, expect: Ok(()) },
        Case { user: "mia", force: true, expect: Err(ErrorKind::Denied) },
        Case { user: "bill", force: false, expect: Err(ErrorKind::Denied) },
    ];
    for c in cases {
        let db = base.copy_in_memory().expect("copy");
        // A role with privacy:erase but not admin may not force.
        if c.user == "mia" {
            db.exec_for_test(
                "INSERT INTO role_permissions (role_id, permission) SELECT id, 'privacy:erase' FROM roles WHERE name = 'management'",
            )
            .expect("grant");
        }
        let before = db.dump().expect("dump");
        let got = privacy::erase(&session_as(&db, c.user), "john.ouick@gmail.com", c.force);
        match (&got, c.expect) {
            (Ok(done), Ok(())) => assert_eq!(done.legal_hold_overridden, vec![652]),
            (Err(e), Err(kind)) => {
                assert_eq!(e.kind(), kind, "{} force={}: {}", c.user, c.force, e.message());
                assert_eq!(db.dump().expect("dump"), before, "a refusal changes nothing");
                if kind == ErrorKind::Conflict {
                    assert!(e.message().contains("contract 652"), "names the contract: {}", e.message());
                }
            }
            (got, want) => panic!("{} force={}: got {got:?}, want {want:?}", c.user, c.force),
        }
    }
}

#[test]
fn a_purge_erases_only_the_inactive_and_keeps_legal_holds() {
    let db = demo();
    let admin = session_as(&db, "admin");
    // Everybody was active long ago, except Agathe (an interaction today).
    db.exec_for_test(
        "UPDATE clients SET created_at = '2019-01-01T00:00:00.000Z', last_contact_at = NULL, first_contact_at = '2019-01-01T00:00:00.000Z';
         UPDATE interactions SET at = '2019-01-01T00:00:00.000Z';
         UPDATE contracts SET created_at = '2019-01-01T00:00:00.000Z', updated_at = '2019-01-01T00:00:00.000Z', signed_at = NULL;
         UPDATE tickets SET updated_at = '2019-01-01T00:00:00.000Z', created_at = '2019-01-01T00:00:00.000Z';
         UPDATE users SET last_login_at = NULL;
         UPDATE mail_events SET created_at = '2019-01-01T00:00:00.000Z';
         UPDATE page_signups SET created_at = '2019-01-01T00:00:00.000Z', confirmed_at = NULL;",
    )
    .expect("age the demo");
    let input = crate::domain::client::NewInteraction {
        client: "agathe.mercier@mufflins.fr".into(),
        kind: "meeting".into(),
        at: None,
        notes: String::new(),
    };
    crate::service::client::add_interaction(&session_as(&db, "bill"), &input).expect("interaction");
    assert_eq!(privacy::purge(&admin, "2w", true).expect_err("too short").kind(), ErrorKind::Invalid);
    assert_eq!(privacy::purge(&admin, "3 years", true).expect_err("not a period").kind(), ErrorKind::Invalid);
    let before = db.dump().expect("dump");
    let dry = privacy::purge(&admin, "3y", true).expect("dry run");
    assert_eq!(db.dump().expect("dump"), before, "a dry run changes nothing");
    let ids: Vec<i64> = dry.inactive.iter().map(|i| i.id).collect();
    assert!(!ids.is_empty() && !ids.contains(&4), "Agathe is active: {ids:?}");
    let held: Vec<i64> = dry.inactive.iter().filter(|i| !i.legal_hold.is_empty()).map(|i| i.id).collect();
    assert!(held.contains(&2), "John Ouick owes money: {held:?}");
    let done = privacy::purge(&admin, "3y", false).expect("purge");
    assert_eq!(done.erased, ids.len() - held.len());
    let erased: Vec<i64> = db
        .conn()
        .prepare("SELECT id FROM clients WHERE erased_at IS NOT NULL ORDER BY id")
        .expect("q")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("ids");
    let mut want: Vec<i64> = ids.iter().copied().filter(|i| !held.contains(i)).collect();
    want.sort();
    assert_eq!(erased, want);
    assert!(crate::db::audit::verify_chain(&db).expect("verify").broken.is_none());
    // A second purge finds nobody new to erase.
    assert_eq!(privacy::purge(&admin, "3y", false).expect("again").erased, 0);
}
