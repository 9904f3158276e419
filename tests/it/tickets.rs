//! Projects, tickets, SLA clocks and e-mail, end to end against a real SMTP server.

use serde_json::{Value, json};

use crate::harness::*;
use crate::smtp::{self, SmtpServer};

const SECRET: &str = "SECRET-NOTE: the database is full";

/// Staff, two client accounts (one granted the project), two projects.
pub fn world(smtp_url: &str) -> World {
    let mut w = World::new();
    w.env = vec![
        ("ROLO_SMTP_URL".into(), smtp_url.into()),
        ("ROLO_SMTP_FROM".into(), "Epic Support <support@epic.test>".into()),
    ];
    w.init();
    for (u, r) in
        [("mia", "management"), ("kate", "support"), ("tom", "support"), ("bill", "sales"), ("mark", "marketing")]
    {
        w.create_user(u, &[r]).ok();
    }
    w.run_as(
        "bill",
        &["client", "create", "--name", "Kevin Casey", "--email", "kevin@startup.io", "--company", "Cool Startup LLC"],
    )
    .ok();
    w.run_as("bill", &["client", "create", "--name", "Zed Other", "--email", "zed@other.io", "--company", "Other Co"])
        .ok();
    for (u, client) in [("kevin", "kevin@startup.io"), ("zed", "zed@other.io")] {
        let mut c = w.command();
        c.env("ROLO_TOKEN", w.token(ADMIN)).env("ROLO_NEW_PASSWORD", password_of(u)).args([
            "user",
            "create",
            "--username",
            u,
            "--email",
            client,
            "--name",
            u,
            "--role",
            "client",
            "--client",
            client,
        ]);
        w.run_cmd(c, None).ok();
    }
    w.run_as("mia", &["ticket", "project", "create", "--name", "Cool Site", "--company", "Cool Startup LLC"]).ok();
    w.run_as("mia", &["ticket", "project", "create", "--name", "Other App", "--company", "Other Co"]).ok();
    w.run_as("mia", &["ticket", "project", "grant", "Cool Site", "--user", "kevin"]).ok();
    w
}

fn id_of(v: &Value) -> String {
    v["id"].as_i64().expect("id").to_string()
}

/// Opens a ticket as `user` and returns its id.
pub fn open_ticket(w: &mut World, user: &str, project: &str, kind: &str, subject: &str) -> String {
    let args = [
        "ticket",
        "create",
        "--project",
        project,
        "--type",
        kind,
        "--subject",
        subject,
        "--body",
        "Please help.",
        "--json",
    ];
    id_of(&w.run_as(user, &args).ok().json())
}

#[test]
fn notifications_are_threaded_multipart_and_never_carry_internal_notes() {
    if !smtp::available() {
        return;
    }
    let home = tempfile::tempdir().expect("dir");
    let server = SmtpServer::start(home.path(), None);
    let mut w = world(&server.url());
    let attachment = w.home().join("screenshot.png");
    std::fs::write(&attachment, b"\x89PNG fake screenshot").expect("file");
    let t = w
        .run_as(
            "kevin",
            &[
                "ticket",
                "create",
                "--project",
                "Cool Site",
                "--type",
                "urgent",
                "--subject",
                "Site is down",
                "--body",
                "500 errors since 9am.",
                "--attach",
                attachment.to_str().expect("path"),
                "--json",
            ],
        )
        .ok()
        .json();
    let id = id_of(&t);
    // Unassigned: the support team hears of it.
    for addr in ["kate@rolo.test", "tom@rolo.test"] {
        let got = server.to(addr);
        assert_eq!(got.len(), 1, "{addr}: {got:?}");
        assert_eq!(got[0].header("Subject"), Some(format!("[Cool Site #{id}] Site is down").as_str()));
    }
    w.run_as("mia", &["ticket", "assign", &id, "kate"]).ok();
    let secret_file = w.home().join("secret.txt");
    std::fs::write(&secret_file, SECRET).expect("file");
    w.run_as("kate", &["ticket", "note", &id, "--body", SECRET, "--attach", secret_file.to_str().expect("path")]).ok();
    w.run_as(
        "kate",
        &["ticket", "reply", &id, "--body", "We are on it: restarting the database.", "--status", "in_progress"],
    )
    .ok();
    w.run_as("kevin", &["ticket", "reply", &id, "--body", "Thanks, still down here."]).ok();

    let to_kevin = server.to("kevin@startup.io");
    assert_eq!(to_kevin.len(), 1, "one public staff reply: {to_kevin:#?}");
    let m = &to_kevin[0];
    assert_eq!(m.header("Subject"), Some(format!("[Cool Site #{id}] Site is down").as_str()));
    assert_eq!(m.header("In-Reply-To"), Some(format!("<ticket-{id}@epic.test>").as_str()));
    assert_eq!(m.header("References"), Some(format!("<ticket-{id}@epic.test>").as_str()));
    assert!(
        m.header("Message-ID").is_some_and(|v| v.starts_with("<rolo.") && v.ends_with("@epic.test>")),
        "{:?}",
        m.header("Message-ID")
    );
    assert!(m.header("From").is_some_and(|f| f.contains("support@epic.test")));
    assert!(m.header("Content-Type").is_some_and(|c| c.starts_with("multipart/alternative")));
    assert!(m.raw.contains("Content-Type: text/plain") && m.raw.contains("Content-Type: text/html"));
    assert!(m.decoded.contains("We are on it: restarting the database."));
    // The assignee hears of the client's reply.
    assert!(server.to("kate@rolo.test").iter().any(|m| m.decoded.contains("Thanks, still down here.")));
    // No message to a client address ever carries the internal note or its file.
    for m in
        server.messages().iter().filter(|m| m.header("To").is_some_and(|t| t.contains("kevin@") || t.contains("zed@")))
    {
        assert!(
            !m.decoded.contains("SECRET") && !m.decoded.contains("secret.txt"),
            "internal text e-mailed to a client: {}",
            m.raw
        );
    }
    // Nor does the client's view of the thread, in any format.
    let shown = w.run_as("kevin", &["ticket", "show", &id, "--json"]).ok();
    assert!(!shown.stdout.contains("SECRET") && !shown.stdout.contains("secret.txt"), "{}", shown.stdout);
    assert_eq!(shown.json()["messages"].as_array().map(Vec::len), Some(3));
    let table = w.run_as("kevin", &["ticket", "show", &id]).ok().stdout;
    assert!(!table.contains("SECRET") && table.contains("We are on it"), "{table}");
    w.run_as("kevin", &["ticket", "show", &id, "--internal"]).code(5);
    let staff = w.run_as("kate", &["ticket", "show", &id, "--internal", "--json"]).ok().json();
    let note = staff["messages"].as_array().expect("messages").iter().find(|m| m["internal"] == true).expect("note");
    let note_file = note["attachments"][0]["id"].as_i64().expect("attachment").to_string();
    let out = w.run_as("kevin", &["ticket", "attachment", "get", &note_file, "-o", "-"]).code(6);
    assert!(!out.stdout.contains("SECRET"));
    // The client's own screenshot comes back byte for byte.
    let first = &staff["messages"][0]["attachments"][0];
    assert_eq!(first["name"], "screenshot.png");
    assert_eq!(first["mime"], "image/png");
    let saved = w.home().join("saved.png");
    w.run_as(
        "kevin",
        &[
            "ticket",
            "attachment",
            "get",
            &first["id"].as_i64().expect("id").to_string(),
            "-o",
            saved.to_str().expect("path"),
        ],
    )
    .ok();
    assert_eq!(std::fs::read(&saved).expect("saved"), b"\x89PNG fake screenshot");
    // It never overwrites a file.
    w.run_as(
        "kevin",
        &[
            "ticket",
            "attachment",
            "get",
            &first["id"].as_i64().expect("id").to_string(),
            "-o",
            saved.to_str().expect("path"),
        ],
    )
    .code(7);
    // Every outbox row was delivered exactly once.
    let outbox = w.run_as(ADMIN, &["mail", "outbox", "list", "--json"]).ok().json();
    assert!(outbox.as_array().expect("rows").iter().all(|m| m["status"] == "sent"), "{outbox:#}");
    assert_eq!(outbox.as_array().map(Vec::len), Some(server.messages().len()));
}

#[test]
fn with_the_smtp_server_down_mail_waits_and_flush_delivers_each_once() {
    if !smtp::available() {
        return;
    }
    let home = tempfile::tempdir().expect("dir");
    let port = smtp::free_port();
    let mut w = world(&format!("smtp://127.0.0.1:{port}"));
    let out = w
        .run_as(
            "kevin",
            &[
                "ticket",
                "create",
                "--project",
                "Cool Site",
                "--type",
                "maintenance",
                "--subject",
                "Certificate expires",
                "--body",
                "Renew it please.",
                "--json",
            ],
        )
        .ok();
    assert!(out.stderr.contains("stay queued"), "{out:?}");
    let id = id_of(&out.json());
    w.run_as("kate", &["ticket", "reply", &id, "--body", "Renewing today."]).ok();
    let queued = w.run_as(ADMIN, &["mail", "outbox", "list", "--status", "queued", "--json"]).ok().json();
    let queued = queued.as_array().map_or(0, Vec::len);
    assert_eq!(queued, 3, "two to the support team, one to the client");
    // Still down: flush says so (exit 8) and loses nothing.
    w.run_as(ADMIN, &["mail", "outbox", "flush"]).code(8);
    // The server comes back.
    let server = SmtpServer::start(home.path(), Some(port));
    w.run_as(ADMIN, &["mail", "outbox", "flush"]).ok();
    assert_eq!(server.messages().len(), queued);
    w.run_as(ADMIN, &["mail", "outbox", "flush"]).ok();
    w.run_as("kate", &["ticket", "list"]).ok();
    assert_eq!(server.messages().len(), queued, "nothing is sent twice");
    let to_kevin = server.to("kevin@startup.io");
    assert_eq!(to_kevin.len(), 1);
    assert!(to_kevin[0].decoded.contains("Renewing today."));
}

#[test]
fn a_client_sees_only_granted_projects_and_foreign_ids_are_not_found() {
    let mut w = world("smtp://127.0.0.1:9");
    let mine = open_ticket(&mut w, "kevin", "Cool Site", "evolution", "Add a blog");
    let theirs = open_ticket(&mut w, "kate", "Other App", "urgent", "Login broken");
    // zed has no project: sees nothing, and every id is "not found".
    assert_eq!(w.run_as("zed", &["ticket", "list", "--json"]).ok().json(), json!([]));
    assert_eq!(w.run_as("zed", &["ticket", "project", "list", "--json"]).ok().json(), json!([]));
    for args in [
        vec!["ticket", "show", mine.as_str()],
        vec!["ticket", "reply", mine.as_str(), "--body", "hello"],
        vec!["ticket", "status", mine.as_str(), "open"],
        vec!["ticket", "sla", "explain", mine.as_str()],
        vec!["ticket", "show", "999999"],
        vec!["ticket", "project", "show", "Cool Site"],
        vec!["ticket", "create", "--project", "Cool Site", "--type", "urgent", "--subject", "x", "--body", "y"],
        vec!["ticket", "attachment", "get", "1"],
    ] {
        let out = w.run_as("zed", &args);
        assert_eq!(out.code, 6, "{args:?}: {out:?}");
    }
    // kevin sees his project's tickets only.
    let listed = w.run_as("kevin", &["ticket", "list", "--json"]).ok().json();
    let ids: Vec<String> = listed.as_array().expect("rows").iter().map(id_of).collect();
    assert_eq!(ids, vec![mine.clone()]);
    w.run_as("kevin", &["ticket", "show", &theirs]).code(6);
    // Granted later, the project appears; revoked, it is gone again.
    w.run_as("mia", &["ticket", "project", "grant", "Other App", "--user", "zed"]).ok();
    w.run_as("zed", &["ticket", "show", &theirs]).ok();
    w.run_as("mia", &["ticket", "project", "revoke", "Other App", "--user", "zed"]).ok();
    w.run_as("zed", &["ticket", "show", &theirs]).code(6);
    // Staff without ticket permissions are denied, not told "not found".
    w.run_as("mark", &["ticket", "list"]).code(5);
}

#[test]
fn statuses_follow_the_transition_table() {
    let mut w = world("smtp://127.0.0.1:9");
    let id = open_ticket(&mut w, "kevin", "Cool Site", "maintenance", "Slow pages");
    w.run_as("kevin", &["ticket", "status", &id, "closed"]).code(5);
    w.run_as("kate", &["ticket", "status", &id, "waiting_client"]).ok();
    // A client reply on waiting_client reopens the ticket.
    let r = w.run_as("kevin", &["ticket", "reply", &id, "--body", "Here is the log.", "--json"]).ok().json();
    assert_eq!(r["status"], "open");
    w.run_as("kate", &["ticket", "status", &id, "resolved"]).ok();
    w.run_as("kevin", &["ticket", "status", &id, "open"]).ok();
    w.run_as("kate", &["ticket", "status", &id, "closed"]).ok();
    w.run_as("kate", &["ticket", "status", &id, "in_progress"]).code(7);
    w.run_as("kevin", &["ticket", "reply", &id, "--body", "again"]).code(7);
    w.run_as("kate", &["ticket", "status", &id, "sleeping"]).code(3);
    // Every change is in the history.
    let shown = w.run_as("kate", &["ticket", "show", &id, "--json"]).ok().json();
    let statuses: Vec<&str> = shown["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| h["field"] == "status")
        .filter_map(|h| h["new"].as_str())
        .collect();
    assert_eq!(statuses, vec!["open", "waiting_client", "open", "resolved", "open", "closed"]);
}

#[test]
fn unread_markers_are_per_user_and_attachments_are_stored_once() {
    let mut w = world("smtp://127.0.0.1:9");
    let file = w.home().join("report.pdf");
    std::fs::write(&file, b"%PDF-1.4 same bytes").expect("file");
    let path = file.to_str().expect("path");
    let id = id_of(
        &w.run_as(
            "kevin",
            &[
                "ticket",
                "create",
                "--project",
                "Cool Site",
                "--type",
                "urgent",
                "--subject",
                "Invoice",
                "--body",
                "See attached.",
                "--attach",
                path,
                "--json",
            ],
        )
        .ok()
        .json(),
    );
    w.run_as("kevin", &["ticket", "reply", &id, "--body", "Same file again.", "--attach", path]).ok();
    let blobs: i64 = w.sql().query_row("SELECT count(*) FROM blobs", [], |r| r.get(0)).expect("count");
    let attachments: i64 = w.sql().query_row("SELECT count(*) FROM attachments", [], |r| r.get(0)).expect("count");
    assert_eq!((blobs, attachments), (1, 2));
    assert_eq!(
        w.run_as("kate", &["ticket", "list", "--unread", "--json"]).ok().json().as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(w.run_as("kevin", &["ticket", "list", "--unread", "--json"]).ok().json(), json!([]));
    w.run_as("kate", &["ticket", "show", &id]).ok();
    assert_eq!(w.run_as("kate", &["ticket", "list", "--unread", "--json"]).ok().json(), json!([]));
    w.run_as("kate", &["ticket", "reply", &id, "--body", "Got it."]).ok();
    let rows = w.run_as("kevin", &["ticket", "list", "--unread", "--json"]).ok().json();
    assert_eq!(rows[0]["unread"], true);
    // An internal note is not unread news for the client.
    w.run_as("kevin", &["ticket", "show", &id]).ok();
    w.run_as("kate", &["ticket", "note", &id, "--body", "internal"]).ok();
    assert_eq!(w.run_as("kevin", &["ticket", "list", "--unread", "--json"]).ok().json(), json!([]));
    // Too large a file is refused and nothing is written.
    let big = w.home().join("big.bin");
    std::fs::write(&big, vec![0u8; 2 * 1024 * 1024]).expect("big");
    let config = w.home().join("small.toml");
    std::fs::write(&config, "[tickets]\nmax_attachment_mb = 1\n").expect("config");
    let before = w.snapshot();
    let mut c = w.command();
    c.env("ROLO_TOKEN", w.token("kevin")).env("ROLO_CONFIG", &config).args([
        "ticket",
        "reply",
        &id,
        "--body",
        "big",
        "--attach",
        big.to_str().expect("path"),
    ]);
    let out = w.run_cmd(c, None).code(3);
    assert!(out.stderr.contains("invalid attach"), "{out:?}");
    assert_eq!(w.snapshot(), before);
}

#[test]
fn the_demo_has_projects_a_client_account_and_tickets_in_every_status() {
    let mut w = World::demo();
    let all = w.run_as("kate", &["ticket", "list", "--json"]).ok().json();
    let mut statuses: Vec<&str> = all.as_array().expect("rows").iter().filter_map(|t| t["status"].as_str()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    assert_eq!(statuses, vec!["closed", "in_progress", "open", "resolved", "waiting_client"]);
    // kevin sees his company's project only, and no internal note.
    let mine = w.run_as("kevin", &["ticket", "list", "--json"]).ok().json();
    assert!(mine.as_array().expect("rows").iter().all(|t| t["project"] == "Cool Startup Website"));
    assert!(mine.as_array().map(Vec::len) < all.as_array().map(Vec::len));
    for t in mine.as_array().expect("rows") {
        let shown =
            w.run_as("kevin", &["ticket", "show", &t["id"].as_i64().expect("id").to_string(), "--json"]).ok().stdout;
        assert!(!shown.contains("Internal:"), "{shown}");
    }
    let staff = w.run_as("kate", &["ticket", "show", "2", "--internal", "--json"]).ok().stdout;
    assert!(staff.contains("Internal:"));
}

#[test]
fn stored_sla_projections_select_what_evaluating_the_clocks_selects() {
    let mut w = World::demo();
    // A policy change reprojects every ticket; make some clocks tight so several states occur.
    w.run_as(
        "mia",
        &[
            "ticket",
            "sla",
            "policy",
            "set",
            "urgent",
            "--first-response",
            "30m",
            "--resolution",
            "1h",
            "--hours",
            "24x7",
        ],
    )
    .ok();
    w.run_as(
        "kevin",
        &[
            "ticket",
            "create",
            "--project",
            "Cool Startup Website",
            "--type",
            "maintenance",
            "--subject",
            "Fresh",
            "--body",
            "New.",
        ],
    )
    .ok();
    for state in ["ok", "at-risk", "breached", "paused", "met", "ok,breached"] {
        let stored = w.run_as("kate", &["ticket", "list", "--sla", state, "--json"]).ok().json();
        let evaluated = w.run_as("kate", &["ticket", "list", "--sla", state, "--at", "now", "--json"]).ok().json();
        let ids =
            |v: &Value| v.as_array().expect("rows").iter().map(|t| t["id"].as_i64().expect("id")).collect::<Vec<_>>();
        assert_eq!(ids(&stored), ids(&evaluated), "state {state}");
    }
    let all = w.run_as("kate", &["ticket", "list", "--json"]).ok().json();
    let breached = w.run_as("kate", &["ticket", "list", "--sla", "breached", "--json"]).ok().json();
    assert!(
        !breached.as_array().expect("rows").is_empty(),
        "the tight urgent policy breaches the demo's urgent tickets"
    );
    assert!(breached.as_array().map(Vec::len) < all.as_array().map(Vec::len));
    w.run_as("mia", &["ticket", "sla", "recompute"]).ok();
    w.run_as("kate", &["ticket", "sla", "recompute"]).code(5);
}
