//! Backups: online snapshots, verification, restore, rotation, and crashes mid-backup.

use std::time::Duration;

use crate::harness::*;

fn backups_dir(w: &World) -> std::path::PathBuf {
    w.db.parent().expect("parent").join("backups")
}

#[test]
fn create_list_verify_and_restore() {
    let mut w = World::new();
    w.init();
    w.create_user("kate", &["support"]).ok();
    let created = w.run(&["backup", "create", "--json"]).ok().json();
    let path = created["path"].as_str().expect("path").to_string();
    assert_eq!(mode_of(std::path::Path::new(&path)), 0o600);
    let listed = w.run(&["backup", "list", "--json"]).ok().json();
    assert_eq!(listed[0]["path"], path.as_str());
    let verified = w.run(&["backup", "verify", "--json"]).ok().json();
    assert_eq!(verified["integrity"], "ok");
    assert_eq!(verified["users"], 2);

    // A change after the backup is undone by the restore; a safety copy keeps it.
    w.create_user("bill", &["sales"]).ok();
    w.run(&["backup", "restore", &path]).code(2); // no terminal: --yes is required
    let restored = w.run(&["backup", "restore", &path, "--yes", "--json"]).ok().json();
    let users: i64 = w.sql().query_row("SELECT count(*) FROM users", [], |r| r.get(0)).expect("count");
    assert_eq!(users, 2, "bill was created after the backup");
    let safety = restored["safety_backup"].as_str().expect("safety");
    let kept: i64 = rusqlite::Connection::open(safety)
        .expect("open safety")
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .expect("count");
    assert_eq!(kept, 3);
    let mode: String = w.sql().query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("mode");
    assert_eq!(mode, "wal");
    // The restore itself is in the audit log of the restored database.
    let log = w.run_as(ADMIN, &["audit", "list", "--action", "backup.restore", "--json"]).ok().json();
    assert_eq!(log.as_array().map(Vec::len), Some(1));
}

#[test]
fn truncated_or_foreign_files_fail_verification_and_are_never_restored() {
    let mut w = World::new();
    w.init();
    for i in 0..20 {
        w.create_user(&format!("user{i:02}"), &["sales"]).ok();
    }
    let path = w.run(&["backup", "create", "--json"]).ok().json()["path"].as_str().expect("path").to_string();
    let bytes = std::fs::read(&path).expect("read");
    let truncated = w.home().join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let out = w.run(&["backup", "verify", truncated.to_str().expect("utf8")]).code(3);
    assert!(out.stderr.contains("damaged"), "{out:?}");
    let empty = w.home().join("empty.db");
    std::fs::write(&empty, b"").expect("write");
    w.run(&["backup", "verify", empty.to_str().expect("utf8")]).code(3);
    let text = w.home().join("notes.db");
    std::fs::write(&text, "hello").expect("write");
    w.run(&["backup", "verify", text.to_str().expect("utf8")]).code(3);
    w.run(&["backup", "verify", "/nonexistent/backup.db"]).code(6);

    let before = w.snapshot();
    w.run(&["backup", "restore", truncated.to_str().expect("utf8"), "--yes"]).code(3);
    assert_eq!(w.snapshot(), before);
}

#[test]
fn rotation_keeps_the_newest_n() {
    let mut w = World::new();
    w.init();
    let config = w.home().join("rolo.toml");
    std::fs::write(&config, "[backup]\nkeep = 2\n").expect("config");
    let mut names = Vec::new();
    for _ in 0..4 {
        let mut c = w.command();
        c.env("ROLO_CONFIG", &config).args(["backup", "create", "--json"]);
        names.push(w.run_cmd(c, None).ok().json()["name"].as_str().expect("name").to_string());
    }
    let listed = w.run(&["backup", "list", "--json"]).ok().json();
    let listed: Vec<&str> = listed.as_array().expect("array").iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(listed, vec![names[3].as_str(), names[2].as_str()]);
}

#[test]
fn a_backup_taken_while_others_write_is_consistent() {
    let mut w = World::new();
    w.init();
    let token = w.token(ADMIN);
    let writer = {
        let mut c = w.command();
        c.env("ROLO_TOKEN", &token);
        let db = w.db.clone();
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(db).expect("open");
            conn.busy_timeout(Duration::from_secs(10)).expect("busy");
            conn.execute_batch("CREATE TABLE IF NOT EXISTS ballast (id INTEGER PRIMARY KEY, data BLOB)")
                .expect("table");
            for _ in 0..300 {
                conn.execute("INSERT INTO ballast (data) VALUES (randomblob(4096))", []).expect("insert");
            }
            drop(c);
        })
    };
    for _ in 0..3 {
        w.run(&["backup", "create"]).ok();
    }
    writer.join().expect("writer");
    for f in w.run(&["backup", "list", "--json"]).ok().json().as_array().expect("array") {
        w.run(&["backup", "verify", f["path"].as_str().expect("path")]).ok();
    }
}

#[test]
fn kill_9_during_backup_never_leaves_a_listed_half_file() {
    let mut w = World::new();
    w.init();
    {
        let conn = w.sql();
        conn.execute_batch("CREATE TABLE ballast (id INTEGER PRIMARY KEY, data BLOB)").expect("table");
        conn.execute("INSERT INTO ballast (data) SELECT randomblob(65536) FROM generate_series(1, 1500)", []).ok();
        let n: i64 = conn.query_row("SELECT count(*) FROM ballast", [], |r| r.get(0)).expect("count");
        if n == 0 {
            // No generate_series in this SQLite build: fill it row by row.
            let tx = conn.unchecked_transaction().expect("tx");
            for _ in 0..1500 {
                tx.execute("INSERT INTO ballast (data) VALUES (randomblob(65536))", []).expect("insert");
            }
            tx.commit().expect("commit");
        }
    }
    let token = w.token(ADMIN);
    let mut killed_mid_write = 0;
    for delay_ms in [5u64, 15, 30, 60, 100, 200] {
        let mut c = w.command();
        c.env("ROLO_TOKEN", &token)
            .args(["backup", "create"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = c.spawn().expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().expect("wait");
        if !status.success() {
            killed_mid_write += 1;
        }
    }
    assert!(killed_mid_write > 0, "no backup was interrupted; the ballast is too small to test anything");
    let listed = w.run(&["backup", "list", "--json"]).ok().json();
    for f in listed.as_array().expect("array") {
        let path = f["path"].as_str().expect("path");
        w.run(&["backup", "verify", path]).ok();
    }
    // Leftover partial files are hidden, and the database itself is sound.
    let ok: String = w.sql().query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
    assert_eq!(ok, "ok");
    let _ = backups_dir(&w);
}

/// The audit log edited, emptied of an entry or given one with the `sqlite3` shell (its
/// triggers dropped first) is caught by `rolo audit verify`, which names the entry (exit 3).
#[test]
fn the_audit_log_changed_with_the_sqlite3_shell_is_caught() {
    let sqlite3 = std::process::Command::new("sqlite3").arg("-version").output();
    if sqlite3.is_err() {
        assert!(std::env::var("CI").is_err(), "CI must provide the sqlite3 shell");
        eprintln!("SKIPPED: no sqlite3 shell");
        return;
    }
    for (what, sql, entry) in [
        ("edited", "UPDATE audit_log SET detail = 'nothing to see' WHERE id = 3;", 3),
        ("deleted", "DELETE FROM audit_log WHERE id = 5;", 6),
        (
            "inserted",
            "INSERT INTO audit_log (at, action, entity, outcome) VALUES ('2026-01-01T00:00:00.000Z', 'login', 'user', 'ok');",
            0,
        ),
    ] {
        let mut w = World::demo();
        // Some history: logins, a client, an interaction.
        for user in ["bill", "kate", "mark"] {
            w.run_as(user, &["whoami"]).ok();
        }
        w.run_as("bill", &["client", "create", "--name", "Zoé Ärger", "--email", "zoe@exemple.fr"]).ok();
        w.run_as("bill", &["client", "interaction", "add", "--client", "zoe@exemple.fr", "--type", "email"]).ok();
        let ok = w.run_as("admin", &["audit", "verify", "--json"]).ok().json();
        assert!(ok["entries"].as_i64().is_some_and(|n| n >= 7), "{ok}");
        let last: i64 = w.sql().query_row("SELECT max(id) FROM audit_log", [], |r| r.get(0)).expect("max");
        let shell = std::process::Command::new("sqlite3")
            .arg(&w.db)
            .arg(format!("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; {sql}"))
            .output()
            .expect("sqlite3");
        assert!(shell.status.success(), "{}", String::from_utf8_lossy(&shell.stderr));
        let out = w.run_as("admin", &["audit", "verify"]);
        assert_eq!(out.code, 3, "{what}: {out:?}");
        let named = if entry == 0 { last + 1 } else { entry };
        assert!(out.stderr.contains(&format!("entry {named} ")), "{what}: {}", out.stderr);
        // Management reads the verdict too; sales may not ask.
        assert_eq!(w.run_as("mia", &["audit", "verify"]).code, 3);
        assert_eq!(w.run_as("bill", &["audit", "verify"]).code, 5);
    }
}

/// `rolo serve` takes backups on the `[backup] every` schedule and rotates them; every kept
/// file verifies; once the server is gone, `rolo backup list` says the newest is overdue.
#[test]
fn the_server_takes_backups_on_schedule() {
    let mut w = World::demo();
    let cfg = w.home().join("config.toml");
    std::fs::write(&cfg, "[backup]\nevery = \"2s\"\nkeep = 2\n[serve]\nwork_every_seconds = 1\n").expect("config");
    w.env.push(("ROLO_CONFIG".into(), cfg.display().to_string()));
    let server = crate::serve::Server::start(&w);
    let dir = backups_dir(&w);
    let started = std::time::Instant::now();
    let count = || {
        std::fs::read_dir(&dir)
            .map(|d| d.flatten().filter(|e| !e.file_name().to_string_lossy().starts_with('.')).count())
            .unwrap_or(0)
    };
    let taken =
        |w: &mut World| w.run_as("admin", &["audit", "list", "--action", "backup.create", "--json"]).ok().json();
    while taken(&mut w).as_array().map_or(0, Vec::len) < 3 {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "three backups within 30 s");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let (code, log) = server.stop();
    assert_eq!(code, Some(0));
    assert!(log.matches("backup rolo-").count() >= 3 && log.contains("old backup"), "{log}");
    assert_eq!(count(), 2, "rotation keeps two");
    let all = w.run_as("admin", &["backup", "verify", "--all", "--json"]).ok().json();
    assert_eq!(all.as_array().map(|a| a.iter().filter(|c| c["sound"] == true).count()), Some(2), "{all}");
    std::thread::sleep(std::time::Duration::from_millis(4500));
    let listed = w.run_as("admin", &["backup", "list"]);
    assert_eq!(listed.code, 0);
    assert!(listed.stderr.contains("past the schedule"), "{}", listed.stderr);
}
