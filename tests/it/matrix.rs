//! The permission matrix of PERMISSIONS.md for every user, role, audit and backup command:
//! each (role, command) pair runs on a fresh copy of one prepared database and must be allowed
//! (exit 0) or denied (exit 5, nothing changed, the denial audited).

use crate::harness::*;

const ROLES: [&str; 6] = ["admin", "management", "sales", "support", "marketing", "client"];

/// (command line, roles allowed). `{backup}` is replaced by a backup file of the copy.
const CASES: &[(&str, &[&str])] = &[
    ("whoami", &["admin", "management", "sales", "support", "marketing", "client"]),
    ("user list", &["admin", "management"]),
    ("user show victim", &["admin", "management"]),
    (
        "user create --username newbie --email newbie@rolo.test --name Newbie --role sales --password-stdin",
        &["admin", "management"],
    ),
    ("user create --username boss --email boss@rolo.test --name Boss --role admin --password-stdin", &["admin"]),
    ("user update victim --name Renamed", &["admin", "management"]),
    ("user deactivate victim", &["admin", "management"]),
    ("user activate victim", &["admin", "management"]),
    ("user passwd victim --password-stdin", &["admin", "management"]),
    ("user role list", &["admin", "management"]),
    ("user role show sales", &["admin", "management"]),
    ("user role create auditors --permission audit:read", &["admin"]),
    ("user role grant support --user victim", &["admin", "management"]),
    ("user role revoke sales --user victim", &["admin", "management"]),
    ("user role grant admin --user victim", &["admin"]),
    ("user role grant custom --permission client:read", &["admin"]),
    ("user role revoke custom --permission audit:read", &["admin"]),
    ("user role permissions", &["admin", "management", "sales", "support", "marketing", "client"]),
    ("audit list", &["admin", "management"]),
    ("backup create", &["admin"]),
    ("backup list", &["admin"]),
    ("backup verify {backup}", &["admin"]),
    ("backup restore {backup} --yes", &["admin"]),
];

fn user_of(role: &str) -> String {
    if role == "admin" { ADMIN.to_string() } else { format!("{role}-user") }
}

#[test]
fn every_role_and_command_pair_is_allowed_or_denied_as_the_matrix_says() {
    let mut template = World::new();
    template.init();
    for role in ROLES.iter().filter(|r| **r != "admin") {
        template.create_user(&user_of(role), &[role]).ok();
    }
    template.create_user("victim", &["sales"]).ok();
    template.run(&["user", "role", "create", "custom", "--permission", "audit:read"]).ok();
    for role in ROLES {
        template.token(&user_of(role));
    }
    // A backup file outside the database folder, shared by the backup cases.
    template.run(&["backup", "create"]).ok();
    let backup = files_under(&template.db.parent().expect("parent").join("backups")).pop().expect("a backup");
    let backup_copy = template.home().join("matrix-backup.db");
    std::fs::copy(&backup, &backup_copy).expect("copy backup");

    let mut failures = Vec::new();
    for (line, allowed) in CASES {
        for role in ROLES {
            let mut w = World::clone_from(&template);
            let line = line.replace("{backup}", &backup_copy.display().to_string());
            let args: Vec<&str> = line.split(' ').collect();
            let before = w.snapshot();
            let denied_before = w.audit_count("denied");
            let token = w.token(&user_of(role));
            let mut c = w.command();
            c.env("ROLO_TOKEN", token).args(&args);
            let out = w.run_cmd(c, Some("a-fresh-password-42"));
            let expect_ok = allowed.contains(&role);
            let verdict = if expect_ok {
                (out.code == 0).then_some(()).ok_or("expected success")
            } else if out.code != 5 {
                Err("expected exit 5")
            } else if !out.stderr.contains("permission denied") {
                Err("denial must name the missing permission")
            } else if w.snapshot() != before {
                Err("a denied call changed the database")
            } else if w.audit_count("denied") <= denied_before {
                Err("the denial was not audited")
            } else if w.db.parent().expect("parent").join("backups").exists() {
                Err("a denied backup wrote files")
            } else {
                Ok(())
            };
            if let Err(why) = verdict {
                failures.push(format!("{role:<10} {line}: {why} (exit {}, {})", out.code, out.stderr.trim()));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
