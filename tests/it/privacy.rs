//! GDPR erasure and retention through the real binary: the person's strings leave the database
//! file, its write-ahead log and the next backup; a re-import does not make them a recipient;
//! the audit chain still verifies.

use crate::harness::*;

/// Kevin Casey as the demo and these commands leave him, in bytes.
const KEVIN: &[&[u8]] = &[b"kevin@startup.io", b"Kevin Casey", b"+678 123 456 78"];

fn held_in(path: &std::path::Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap_or_default();
    KEVIN
        .iter()
        .filter(|n| bytes.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)))
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

#[test]
fn an_erased_client_leaves_the_file_its_wal_and_the_next_backup() {
    let mut w = World::demo();
    let interaction = ["client", "interaction", "add", "--client", "kevin@startup.io", "--type", "phone_call"];
    w.run_as("bill", &[&interaction[..], &["--notes", "Kevin Casey wants a quote, call +678 123 456 78"]].concat())
        .ok();
    w.run_as("mark", &["mail", "suppression", "add", "kevin@startup.io", "--reason", "manual"]).ok();
    w.run_as("kate", &["ticket", "reply", "1", "--body", "Hi Kevin Casey, it works again."]).ok();
    w.run_as("kate", &["ticket", "note", "1", "--body", "kevin@startup.io called twice"]).ok();
    // His contract signed (8,000.00 still due: a legal hold) and an event on it in his name.
    w.run_as("bill", &["contract", "sign", "653"]).ok();
    let event = [
        "event",
        "create",
        "--contract",
        "653",
        "--name",
        "Kevin Casey launch party",
        "--start",
        "2027-01-10 18:00",
        "--end",
        "2027-01-10 23:00",
        "--notes",
        "Call Kevin Casey on +678 123 456 78",
    ];
    w.run_as("bill", &event).ok();
    let export = w.run_as("mia", &["client", "privacy", "export", "kevin@startup.io"]).ok().json();
    for section in ["interactions", "suppressions", "ticket_messages", "emails_sent", "send_log", "contracts", "events"]
    {
        assert!(export[section].as_array().is_some_and(|a| !a.is_empty()), "{section}: {export}");
    }
    checkpoint(&w.db);
    assert_eq!(held_in(&w.db).len(), KEVIN.len(), "the file holds him before");

    // Management exports but may not erase; a legal hold is named; no terminal needs --yes.
    assert_eq!(w.run_as("mia", &["client", "privacy", "erase", "kevin@startup.io", "--yes"]).code, 5);
    let held = w.run_as("admin", &["client", "privacy", "erase", "kevin@startup.io", "--yes"]).code(7);
    assert!(held.stderr.contains("legal hold") && held.stderr.contains("contract 653"), "{held:?}");
    assert_eq!(w.run_as("admin", &["client", "privacy", "erase", "kevin@startup.io", "--force"]).code, 2);

    let args = ["client", "privacy", "erase", "kevin@startup.io", "--yes", "--force", "--json"];
    let done = w.run_as("admin", &args).ok().json();
    assert!(done["audit_entries_redacted"].as_u64().is_some_and(|n| n > 0), "{done}");
    assert_eq!(done["legal_hold_overridden"], serde_json::json!([653]), "{done}");
    // The contract stays, with its amounts, for the accounts.
    let contract = w.run_as("admin", &["contract", "show", "653", "--json"]).ok().json();
    assert_eq!(
        (contract["total"].as_str(), contract["due"].as_str()),
        (Some("8000.00"), Some("8000.00")),
        "{contract}"
    );
    let wal = w.db.with_extension("db-wal");
    assert_eq!(held_in(&w.db), Vec::<String>::new(), "database file");
    assert_eq!(held_in(&wal), Vec::<String>::new(), "write-ahead log");
    let backup = w.run_as("admin", &["backup", "create", "--json"]).ok().json();
    let backup = std::path::PathBuf::from(backup["path"].as_str().expect("path"));
    assert_eq!(held_in(&backup), Vec::<String>::new(), "new backup");
    w.run_as("admin", &["audit", "verify"]).ok();
    w.run_as("admin", &["client", "privacy", "erase", "1", "--yes"]).code(7);

    // A re-import of the address (consent column and all) does not make a recipient again.
    let csv = w.home().join("again.csv");
    std::fs::write(&csv, "name,email,consent\nKevin Casey,kevin@startup.io,granted\n").expect("csv");
    w.run_as("mark", &["client", "import", csv.to_str().expect("utf-8"), "--group", "Clients 2023"]).ok();
    let audience = w.run_as("mark", &["campaign", "audience", "4", "--json"]).ok().json();
    let emails: Vec<&str> =
        audience["recipients"].as_array().expect("recipients").iter().filter_map(|r| r["email"].as_str()).collect();
    assert!(!emails.contains(&"kevin@startup.io") && audience["suppressed"].as_u64() >= Some(1), "{audience}");
    // The erased account no longer logs in.
    assert_eq!(w.login("kevin").code, 4);
}

#[test]
fn purge_lists_first_and_erases_only_when_asked() {
    let mut w = World::demo();
    w.run_as("admin", &["client", "privacy", "purge", "--inactive-for", "2w", "--dry-run"]).code(3);
    // The demo's people were all active within three years: nobody to erase.
    let dry =
        w.run_as("admin", &["client", "privacy", "purge", "--inactive-for", "3y", "--dry-run", "--json"]).ok().json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["inactive"], serde_json::json!([]), "{dry}");
    // Age two people: one free to go, one under a legal hold.
    let c = w.sql();
    c.execute_batch(
        "UPDATE clients SET created_at = '2019-01-01T00:00:00.000Z', first_contact_at = '2019-01-01T00:00:00.000Z',
                last_contact_at = NULL WHERE id IN (2, 5);
         UPDATE interactions SET at = '2019-01-01T00:00:00.000Z' WHERE client_id IN (2, 5);
         UPDATE contracts SET created_at = '2019-01-01T00:00:00.000Z', updated_at = '2019-01-01T00:00:00.000Z',
                signed_at = NULL WHERE client_id IN (2, 5);
         UPDATE mail_events SET created_at = '2019-01-01T00:00:00.000Z' WHERE client_id IN (2, 5);",
    )
    .expect("age");
    drop(c);
    let before = w.snapshot();
    let dry =
        w.run_as("admin", &["client", "privacy", "purge", "--inactive-for", "3y", "--dry-run", "--json"]).ok().json();
    assert_eq!(w.snapshot(), before, "a dry run changes nothing");
    let ids: Vec<i64> = dry["inactive"].as_array().expect("list").iter().filter_map(|i| i["id"].as_i64()).collect();
    assert_eq!(ids, vec![2, 5], "{dry}");
    assert_eq!(dry["held"], 1, "John Ouick owes money: {dry}");
    assert_eq!(w.run_as("mia", &["client", "privacy", "purge", "--inactive-for", "3y", "--yes"]).code, 5);
    let done =
        w.run_as("admin", &["client", "privacy", "purge", "--inactive-for", "3y", "--yes", "--json"]).ok().json();
    assert_eq!(done["erased"], 1, "{done}");
    let card = w.run_as("admin", &["client", "show", "5", "--json"]).ok().json();
    assert_eq!(card["full_name"], "Erased client 5", "{card}");
    let john = w.run_as("admin", &["client", "show", "2", "--json"]).ok().json();
    assert_eq!(john["full_name"], "John Ouick");
    w.run_as("admin", &["audit", "verify"]).ok();
}
