//! Accounts and sessions, end to end.

use crate::harness::*;

const ROLES: [&str; 6] = ["admin", "management", "sales", "support", "marketing", "client"];

#[test]
fn every_builtin_role_logs_in_and_whoami_shows_it() {
    let mut w = World::new();
    w.init();
    for role in ROLES {
        let name = format!("{role}-user");
        w.create_user(&name, &[role]).ok();
        // Each user logs in with its own stored session, as a person would.
        w.login(&name).ok();
        let me = w.run(&["whoami", "--format", "json"]).ok().json();
        assert_eq!(me["username"], name.as_str());
        assert_eq!(me["roles"], serde_json::json!([role]));
    }
}

#[test]
fn wrong_password_and_unknown_user_are_exit_4_with_the_same_message() {
    let mut w = World::new();
    w.init();
    let bad = w.run_stdin(&["login", "--username", ADMIN, "--password-stdin"], "not-the-password").code(4);
    let unknown = w.run_stdin(&["login", "--username", "nobody", "--password-stdin"], "not-the-password").code(4);
    assert!(bad.stderr.contains("wrong username or password"), "{bad:?}");
    assert!(unknown.stderr.contains("wrong username or password"), "{unknown:?}");
    assert_eq!(w.audit_count("failed"), 2);
}

#[test]
fn five_failures_lock_the_account_and_the_sixth_try_is_refused_and_audited() {
    let mut w = World::new();
    w.init();
    w.create_user("kate", &["support"]).ok();
    for _ in 0..5 {
        w.run_stdin(&["login", "--username", "kate", "--password-stdin"], "wrong-password-xx").code(4);
    }
    // Even the right password is refused now.
    let sixth = w.login("kate").code(4);
    assert!(sixth.stderr.contains("locked"), "{sixth:?}");
    let audit = w.run_as(ADMIN, &["audit", "list", "--actor", "kate", "--format", "json"]).ok().json();
    let actions: Vec<&str> = audit.as_array().expect("array").iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"login.lockout"), "{actions:?}");
    assert!(actions.contains(&"login.locked"), "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "login.failed").count(), 5);
    // Fifteen minutes later (moved back in the database) the right password works again.
    w.sql()
        .execute("UPDATE users SET locked_until = '2000-01-01T00:00:00.000Z' WHERE username = 'kate'", [])
        .expect("unlock");
    w.login("kate").ok();
}

#[test]
fn an_expired_session_is_exit_4_and_an_expired_access_token_refreshes_and_rotates() {
    let mut w = World::new();
    w.init();
    let token_file = files_under(&w.home().join("config"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "token"))
        .expect("token file");
    let before = std::fs::read_to_string(&token_file).expect("read");

    // Access token expired, refresh still valid: the command works and both tokens rotate.
    w.sql().execute("UPDATE sessions SET access_expires_at = '2000-01-01T00:00:00.000Z'", []).expect("expire access");
    w.run(&["whoami"]).ok();
    let after = std::fs::read_to_string(&token_file).expect("read");
    assert_ne!(before, after, "tokens must rotate on refresh");
    // The old refresh token is now useless.
    std::fs::write(&token_file, &before).expect("restore old tokens");
    w.sql().execute("UPDATE sessions SET access_expires_at = '2000-01-01T00:00:00.000Z'", []).expect("expire access");
    w.run(&["whoami"]).code(4);

    // Both expired: log in again.
    w.login(ADMIN).ok();
    w.sql()
        .execute("UPDATE sessions SET access_expires_at = '2000-01-01T00:00:00.000Z', refresh_expires_at = '2000-01-01T00:00:00.000Z'", [])
        .expect("expire all");
    let out = w.run(&["whoami"]).code(4);
    assert!(out.stderr.contains("expired"), "{out:?}");
}

#[test]
fn logout_and_password_change_revoke_sessions() {
    let mut w = World::new();
    w.init();
    w.create_user("bill", &["sales"]).ok();
    let token = w.token("bill");
    // Logout revokes the stored session; a second logout is fine.
    w.run(&["logout"]).ok();
    w.run(&["logout"]).ok();
    w.run(&["whoami"]).code(4);
    // A password reset by an admin revokes bill's sessions, including script tokens.
    let mut c = w.command();
    c.env("ROLO_TOKEN", &token).arg("whoami");
    w.run_cmd(c, None).ok();
    w.login(ADMIN).ok();
    w.run_stdin(&["user", "passwd", "bill", "--password-stdin"], "a-brand-new-password").ok();
    let mut c = w.command();
    c.env("ROLO_TOKEN", &token).arg("whoami");
    let out = w.run_cmd(c, None).code(4);
    assert!(out.stderr.contains("revoked"), "{out:?}");
    w.run_stdin(&["login", "--username", "bill", "--password-stdin"], "a-brand-new-password").ok();
}

#[test]
fn deactivated_users_cannot_log_in_and_the_last_admin_stays() {
    let mut w = World::new();
    w.init();
    w.create_user("kate", &["support"]).ok();
    w.run(&["user", "deactivate", "kate"]).ok();
    let out = w.login("kate").code(4);
    assert!(out.stderr.contains("deactivated"), "{out:?}");
    w.run(&["user", "activate", "kate"]).ok();
    w.login("kate").ok();
    w.login(ADMIN).ok();
    w.run(&["user", "deactivate", ADMIN]).code(7);
    w.run(&["user", "role", "revoke", "admin", "--user", ADMIN]).code(7);
}

#[test]
fn init_refuses_a_second_run_and_needs_flags_without_a_terminal() {
    let mut w = World::new();
    w.init();
    let again = w.run_stdin(
        &["init", "--admin-username", "other", "--admin-email", "o@rolo.test", "--admin-name", "O", "--password-stdin"],
        "another-password-1",
    );
    assert_eq!(again.code, 7, "{again:?}");

    let fresh = World::new();
    let out = fresh.run(&["init", "--admin-email", "a@rolo.test", "--admin-name", "A"]).code(2);
    assert!(out.stderr.contains("--admin-username"), "{out:?}");
    assert!(!fresh.db.exists(), "a refused init leaves no database behind");
    let weak = fresh.run_stdin(
        &["init", "--admin-username", "ada", "--admin-email", "a@rolo.test", "--admin-name", "A", "--password-stdin"],
        "short",
    );
    assert_eq!(weak.code, 3, "{weak:?}");
    assert!(weak.stderr.contains("password"), "{weak:?}");
    assert!(!fresh.db.exists());
}

#[test]
fn passwords_follow_the_rules_and_never_come_from_argv() {
    let mut w = World::new();
    w.init();
    let same = w.run_stdin(
        &[
            "user",
            "create",
            "--username",
            "kate.hastroff",
            "--email",
            "k@rolo.test",
            "--name",
            "Kate",
            "--role",
            "support",
            "--password-stdin",
        ],
        "kate.hastroff",
    );
    assert_eq!(same.code, 3, "{same:?}");
    // There is no flag that takes a password value.
    let argv = w.run(&["login", "--username", ADMIN, "--password", ADMIN_PASSWORD]);
    assert_eq!(argv.code, 2, "{argv:?}");
    // Without a terminal and without stdin or env, the password is a usage error.
    let out = w.run(&["login", "--username", ADMIN]).code(2);
    assert!(out.stderr.contains("--password-stdin"), "{out:?}");
}

#[test]
fn the_database_keeps_only_hashes_and_files_are_owner_only() {
    let mut w = World::new();
    w.init();
    let token = w.token(ADMIN);
    let stored = std::fs::read_to_string(
        files_under(&w.home().join("config"))
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "token"))
            .expect("token file"),
    )
    .expect("read");
    checkpoint(&w.db);
    let bytes = std::fs::read(&w.db).expect("db bytes");
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(&token), "raw access token in the database");
    assert!(!text.contains("rolo_rt_") && !text.contains("rolo_at_"), "raw tokens in the database");
    assert!(!text.contains(ADMIN_PASSWORD), "raw password in the database");
    assert!(stored.contains("rolo_rt_"));
    assert_eq!(mode_of(&w.db), 0o600);
    for f in files_under(&w.home().join("config")) {
        assert_eq!(mode_of(&f), 0o600, "{}", f.display());
    }
}
