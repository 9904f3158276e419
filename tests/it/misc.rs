//! Output formats, hostile input, schema versions, pipes and completions.

use std::process::Stdio;

use crate::harness::*;

const INJECTION: &str = "'; DROP TABLE users; --";

#[test]
fn an_injection_string_is_stored_verbatim_and_found_by_search() {
    let mut w = World::new();
    w.init();
    w.run_stdin(
        &[
            "user",
            "create",
            "--username",
            "bobby",
            "--email",
            "bobby@rolo.test",
            "--name",
            INJECTION,
            "--role",
            "sales",
            "--password-stdin",
        ],
        "bobby-password-123",
    )
    .ok();
    let found = w.run(&["user", "list", "--search", "DROP TABLE users", "--format", "json"]).ok().json();
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    assert_eq!(found[0]["full_name"], INJECTION);
    let found = w.run(&["user", "list", "--search", INJECTION, "--format", "json"]).ok().json();
    assert_eq!(found[0]["username"], "bobby");
    // Wildcards are plain characters in a search.
    let none = w.run(&["user", "list", "--search", "%", "--format", "json"]).ok().json();
    assert_eq!(none, serde_json::json!([]));
    let count: i64 =
        w.sql().query_row("SELECT count(*) FROM users", [], |r| r.get(0)).expect("users table still there");
    assert_eq!(count, 2);
}

#[test]
fn listings_speak_json_csv_and_table_and_empty_is_not_an_error() {
    let mut w = World::new();
    w.init();
    w.create_user("aliénor", &["support"]).code(3); // usernames are ASCII; names are not
    w.run_stdin(
        &[
            "user",
            "create",
            "--username",
            "alienor",
            "--email",
            "alienor@rolo.test",
            "--name",
            "Aliénor \"Ali\" Vichum",
            "--role",
            "support",
            "--password-stdin",
        ],
        "alienor-password-1",
    )
    .ok();
    let json = w.run(&["user", "list", "--json"]).ok().json();
    assert_eq!(json[1]["full_name"], "Aliénor \"Ali\" Vichum");
    assert!(json[0]["created_at"].as_str().is_some_and(|t| t.ends_with('Z') && t.contains('T')));
    let csv = w.run(&["user", "list", "--format", "csv"]).ok().stdout;
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("id,username,full_name,email,roles,active,last_login_at,created_at"));
    assert!(csv.contains("\"Aliénor \"\"Ali\"\" Vichum\""), "{csv}");
    let table = w.run(&["user", "list"]).ok().stdout;
    assert!(table.contains("Aliénor"), "{table}");
    let empty = w.run(&["user", "list", "--search", "nobody-at-all", "--format", "json"]).ok();
    assert_eq!(empty.stdout.trim(), "[]");
    let empty_csv = w.run(&["user", "list", "--search", "nobody-at-all", "--format", "csv"]).ok();
    assert_eq!(empty_csv.stdout.lines().count(), 1, "header only");
    let empty_table = w.run(&["user", "list", "--search", "nobody-at-all"]).ok();
    assert_eq!(empty_table.stdout, "", "stdout carries data only");
}

#[test]
fn bad_input_is_exit_3_naming_the_field_and_changes_nothing() {
    let mut w = World::new();
    w.init();
    let before = w.snapshot();
    for (args, field) in [
        (vec!["--email", "not-an-email", "--name", "X", "--username", "xavier", "--role", "sales"], "email"),
        (vec!["--email", "x@rolo.test", "--name", "X\u{7}Y", "--username", "xavier", "--role", "sales"], "name"),
        (vec!["--email", "x@rolo.test", "--name", "X", "--username", "x avier", "--role", "sales"], "username"),
        (vec!["--email", "x@rolo.test", "--name", "X", "--username", "xavier", "--role", "wizard"], "role"),
    ] {
        let mut full = vec!["user", "create", "--password-stdin"];
        full.extend(args);
        let out = w.run_stdin(&full, "xavier-password-1").code(3);
        assert!(out.stderr.contains(&format!("invalid {field}")), "{out:?}");
    }
    let long_name = "x".repeat(100_000);
    let out = w.run_stdin(
        &[
            "user",
            "create",
            "--username",
            "xavier",
            "--email",
            "x@rolo.test",
            "--name",
            &long_name,
            "--role",
            "sales",
            "--password-stdin",
        ],
        "xavier-password-1",
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    w.run(&["audit", "list", "--since", "yesterday-ish"]).code(3);
    w.run(&["user", "show", "ghost"]).code(6);
    w.run(&["user", "frobnicate"]).code(2);
    assert_eq!(w.snapshot(), before);
}

#[test]
fn a_database_from_a_newer_rolo_is_refused_and_left_alone() {
    let mut w = World::new();
    w.init();
    w.sql().pragma_update(None, "user_version", 999).expect("bump");
    let out = w.run(&["whoami"]).code(7);
    assert!(out.stderr.contains("newer than this rolo"), "{out:?}");
    let v: i64 = w.sql().query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
    assert_eq!(v, 999);
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let w = World::new();
    std::fs::create_dir_all(w.db.parent().expect("parent")).expect("mkdir");
    std::fs::write(&w.db, "name,email\nKevin,kevin@startup.io\n".repeat(100)).expect("write");
    let out = w.run(&["whoami"]).code(3);
    assert!(out.stderr.contains("not a Rolo database"), "{out:?}");
    let missing = World::new();
    let out = missing.run(&["whoami"]).code(2);
    assert!(out.stderr.contains("rolo init"), "{out:?}");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut w = World::new();
    w.init();
    for i in 0..30 {
        w.create_user(&format!("user{i:02}"), &["sales"]).ok();
    }
    let mut c = w.command();
    c.args(["audit", "list", "--format", "json"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    let w = World::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = w.run(&["completions", shell]).ok();
        assert!(out.stdout.contains("rolo") && out.stdout.contains("backup"), "{shell}");
    }
}

#[test]
fn custom_roles_are_made_from_the_catalogue_and_builtin_roles_are_fixed() {
    let mut w = World::new();
    w.init();
    w.run(&["user", "role", "create", "auditor", "--permission", "audit:read", "--permission", "user:read"]).ok();
    w.run(&["user", "role", "create", "wizard", "--permission", "magic:cast"]).code(3);
    w.run(&["user", "role", "grant", "sales", "--permission", "audit:read"]).code(7);
    w.create_user("olga", &["auditor"]).ok();
    w.run_as("olga", &["audit", "list"]).ok();
    w.run_as("olga", &["backup", "list"]).code(5);
    // A client account cannot also hold a staff role.
    w.create_user("carla", &["client", "sales"]).code(3);
    let shown = w.run(&["user", "role", "show", "auditor", "--json"]).ok().json();
    assert_eq!(shown["permissions"], serde_json::json!(["audit:read", "user:read"]));
    assert_eq!(shown["holders"], serde_json::json!(["olga"]));
}

#[test]
fn eight_processes_writing_at_once_never_see_a_locked_database() {
    let mut w = World::new();
    w.init();
    let token = w.token(ADMIN);
    let writers: Vec<_> = (0..8)
        .map(|p| {
            let mut commands = Vec::new();
            for i in 0..6 {
                let name = format!("w{p}u{i}");
                let mut c = w.command();
                c.env("ROLO_TOKEN", &token).env("ROLO_NEW_PASSWORD", "concurrent-password-1").args([
                    "user",
                    "create",
                    "--username",
                    &name,
                    "--email",
                    &format!("{name}@rolo.test"),
                    "--name",
                    &name,
                    "--role",
                    "sales",
                ]);
                commands.push(c);
            }
            std::thread::spawn(move || {
                commands
                    .into_iter()
                    .map(|mut c| c.stdout(Stdio::null()).output().expect("run"))
                    .filter(|o| !o.status.success())
                    .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let failures: Vec<String> = writers.into_iter().flat_map(|t| t.join().expect("writer")).collect();
    assert!(failures.is_empty(), "{failures:?}");
    let n: i64 =
        w.sql().query_row("SELECT count(*) FROM users WHERE username LIKE 'w%u%'", [], |r| r.get(0)).expect("count");
    assert_eq!(n, 48, "every acknowledged write is there");
    let audited: i64 = w
        .sql()
        .query_row("SELECT count(*) FROM audit_log WHERE action = 'user.create'", [], |r| r.get(0))
        .expect("count");
    assert_eq!(audited, 48);
}
