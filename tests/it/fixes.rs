//! Defects found by trying Rolo as a new user would, each pinned by a test (issue 9).

use crate::harness::*;

#[test]
fn a_ticket_does_not_exist_before_its_creation() {
    let mut w = World::demo();
    let all = w.run_as("kate", &["ticket", "list", "--json"]).ok().json();
    assert!(!all.as_array().expect("array").is_empty());
    let before = w.run_as("kate", &["ticket", "list", "--at", "2020-01-01", "--json"]).ok().json();
    assert_eq!(before, serde_json::json!([]), "tickets created after --at were listed");
    let out = w.run_as("kate", &["ticket", "sla", "explain", "1", "--at", "2020-01-01"]).code(3);
    assert!(out.stderr.contains("did not exist yet"), "{}", out.stderr);
    w.run_as("kate", &["ticket", "sla", "explain", "1"]).ok();
}

#[test]
fn interactions_are_listed_for_a_positional_client_like_every_other_noun() {
    let mut w = World::demo();
    let positional = w.run_as("bill", &["client", "interaction", "list", "kevin@startup.io", "--json"]).ok().json();
    let flag =
        w.run_as("bill", &["client", "interaction", "list", "--client", "kevin@startup.io", "--json"]).ok().json();
    assert_eq!(positional, flag);
    assert!(!positional.as_array().expect("array").is_empty());
    w.run_as("bill", &["client", "interaction", "list", "kevin@startup.io", "--client", "x@y.z"]).code(2);
}

#[test]
fn a_second_sixty_is_refused_and_nothing_is_stored() {
    let mut w = World::demo();
    w.token("bill");
    let before = w.snapshot();
    for date in ["2023-06-04 13:00:60", "2023-06-04T13:00:60Z"] {
        let out = w.run_as(
            "bill",
            &["client", "interaction", "add", "--client", "kevin@startup.io", "--type", "meeting", "--date", date],
        );
        let out = out.code(3);
        assert!(out.stderr.contains(":60"), "{}", out.stderr);
    }
    assert_eq!(w.snapshot(), before);
}

#[test]
fn ids_stay_within_what_json_readers_hold() {
    let mut w = World::demo();
    w.token("mia");
    let before = w.snapshot();
    for id in ["9223372036854775807", "9007199254740992", "0"] {
        let out = w.run_as("mia", &["contract", "create", "--client", "kevin@startup.io", "--total", "10", "--id", id]);
        out.code(3);
    }
    assert_eq!(w.snapshot(), before);
    let ok = w
        .run_as(
            "mia",
            &[
                "contract",
                "create",
                "--client",
                "kevin@startup.io",
                "--total",
                "10",
                "--id",
                "9007199254740991",
                "--json",
            ],
        )
        .ok()
        .json();
    assert_eq!(ok["id"], 9007199254740991_i64);
    let file = w.home().join("contracts.csv");
    std::fs::write(&file, "id,client,total\n9007199254740992,kevin@startup.io,5\n").expect("write");
    let out = w.run_as("mia", &["contract", "import", file.to_str().expect("utf-8")]).code(3);
    assert!(out.stdout.contains("2^53") || out.stderr.contains("2^53"), "{out:?}");
}

#[test]
fn windows_line_endings_in_a_ticket_body_are_kept_as_lines() {
    let mut w = World::demo();
    let body = "Bonjour,\r\n\r\nLe formulaire ne marche plus.\r\nMerci !\r\n";
    let t = w
        .run_as(
            "kevin",
            &[
                "ticket",
                "create",
                "--project",
                "Cool Startup Website",
                "--type",
                "urgent",
                "--subject",
                "CRLF",
                "--body",
                body,
                "--json",
            ],
        )
        .ok()
        .json();
    let id = t["id"].as_i64().expect("id").to_string();
    w.run_as("kate", &["ticket", "note", &id, "--body", "line one\r\nline two"]).ok();
    let shown = w.run_as("kate", &["ticket", "show", &id, "--internal", "--json"]).ok().json();
    let bodies: Vec<&str> =
        shown["messages"].as_array().expect("messages").iter().map(|m| m["body"].as_str().expect("body")).collect();
    assert_eq!(bodies, ["Bonjour,\n\nLe formulaire ne marche plus.\nMerci !", "line one\nline two"]);
    w.run_as("kate", &["ticket", "note", &id, "--body", "bell\u{7}"]).code(3);
}

#[test]
fn csv_exports_are_safe_in_spreadsheets_and_re_import_exactly() {
    let mut w = World::demo();
    let evil = "=HYPERLINK(\"http://evil.example\",\"click\")";
    w.run_as(
        "bill",
        &["client", "create", "--name", evil, "--email", "evil@example.com", "--phone", "+33 1 23 45 67 89"],
    )
    .ok();
    let csv = w.run_as("bill", &["client", "export"]).ok().stdout;
    let line = csv.lines().find(|l| l.contains("evil@example.com")).expect("exported");
    assert!(line.starts_with("\"'=HYPERLINK("), "{line}");
    assert!(line.contains(",'+33 1 23 45 67 89,"), "{line}");
    for cell in csv.lines().flat_map(|l| l.split(',')) {
        let c = cell.trim_start_matches('"');
        assert!(!c.starts_with(['=', '+', '@']), "unsafe cell {cell}");
    }
    let listed = w.run_as("bill", &["client", "list", "--search", "evil@example", "--format", "csv"]).ok().stdout;
    assert!(listed.contains("\"'=HYPERLINK("), "{listed}");
    let file = w.home().join("export.csv");
    std::fs::write(&file, &csv).expect("write");
    let report = w
        .run_as("bill", &["client", "import", file.to_str().expect("utf-8"), "--on-duplicate", "update", "--json"])
        .ok()
        .json();
    assert_eq!(report["updated"], 0, "{report}");
    let back = w.run_as("bill", &["client", "show", "evil@example.com", "--json"]).ok().json();
    assert_eq!(back["full_name"], evil);
    assert_eq!(back["phone"], "+33 1 23 45 67 89");
}

#[test]
fn a_seller_re_imports_an_export_with_other_sellers_rows_untouched() {
    let mut w = World::demo();
    let csv = w.run_as("bill", &["client", "export"]).ok().stdout;
    assert!(csv.contains(",sam,"), "the demo has clients of another seller");
    // Bill edits one of his own rows in a spreadsheet.
    let edited = csv.replace("Kevin Casey,kevin@startup.io", "Kevin Casey-Martin,kevin@startup.io");
    let file = w.home().join("mine.csv");
    std::fs::write(&file, &edited).expect("write");
    let report = w
        .run_as("bill", &["client", "import", file.to_str().expect("utf-8"), "--on-duplicate", "update", "--json"])
        .ok()
        .json();
    assert_eq!(report["updated"], 1, "{report}");
    assert_eq!(report["rejected"], 0, "{report}");
    let kevin = w.run_as("bill", &["client", "show", "kevin@startup.io", "--json"]).ok().json();
    assert_eq!(kevin["full_name"], "Kevin Casey-Martin");
    // A row that changes another seller's client is refused, named, and nothing is written.
    w.token("bill");
    let before = w.snapshot();
    let hostile = csv.replace(",sam,", ",bill,");
    std::fs::write(&file, &hostile).expect("write");
    let out =
        w.run_as("bill", &["client", "import", file.to_str().expect("utf-8"), "--on-duplicate", "update", "--json"]);
    let out = out.code(3);
    let report = out.json();
    assert!(report["rejected"].as_u64().expect("rejected") >= 1, "{report}");
    assert_eq!(w.snapshot(), before);
}

#[test]
fn a_huge_header_line_gets_a_short_error() {
    let mut w = World::demo();
    let file = w.home().join("huge.csv");
    let header = "x".repeat(20 * 1024 * 1024);
    std::fs::write(&file, format!("{header}\nvalue\n")).expect("write");
    let out = w.run_as("bill", &["client", "import", file.to_str().expect("utf-8")]).code(3);
    assert!(out.stderr.len() < 2_000, "stderr is {} bytes", out.stderr.len());
    assert!(out.stdout.len() < 4_000, "stdout is {} bytes", out.stdout.len());
    assert!(out.stderr.contains("header") || out.stdout.contains("header"), "{}", out.stderr);
}
