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

    let backup = backup_copy.display().to_string();
    let failures = run_matrix(&template, CASES, &[("{backup}", backup.as_str())]);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// Runs each case as each role on a fresh copy of `template`; returns the mismatches.
fn run_matrix(template: &World, cases: &[(&str, &[&str])], vars: &[(&str, &str)]) -> Vec<String> {
    let mut failures = Vec::new();
    for (line, allowed) in cases {
        let mut line = line.to_string();
        for (k, v) in vars {
            line = line.replace(k, v);
        }
        for role in ROLES {
            let mut w = World::clone_from(template);
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
    failures
}

const STAFF: &[&str] = &["admin", "management", "sales", "support", "marketing"];

/// Every client, company, interaction, contract and event command, with ownership cases:
/// `a@`/contract 1/event 1 belong to sales-user and support-user, `b@`/2/2 to their colleagues.
const CRM_CASES: &[(&str, &[&str])] = &[
    ("client list", STAFF),
    ("client list --mine --stage lead", STAFF),
    ("client show a@crm.test", STAFF),
    ("client create --name New --email new@crm.test", &["admin", "sales"]),
    ("client update a@crm.test --phone +33100000000", &["admin", "management", "sales"]),
    ("client update b@crm.test --phone +33100000000", &["admin", "management"]),
    ("client update a@crm.test --sales-contact sales2-user", &["admin", "management"]),
    ("client stage a@crm.test qualified", &["admin", "management", "sales"]),
    ("client stage b@crm.test qualified", &["admin", "management"]),
    ("client delete c@crm.test --yes", &["admin"]),
    ("client import {import}", &["admin", "management", "sales", "marketing"]),
    ("client export", STAFF),
    ("client dedupe", STAFF),
    ("client stats", STAFF),
    ("client company suggest", STAFF),
    ("client merge a@crm.test c@crm.test --yes", &["admin", "management", "sales"]),
    ("client merge a@crm.test b@crm.test --yes", &["admin", "management"]),
    ("client company list", STAFF),
    ("client company show OwnCo", STAFF),
    ("client company create --name NewCo", &["admin", "management", "sales"]),
    ("client company update OwnCo --industry Events", &["admin", "management", "sales"]),
    ("client company update OtherCo --industry Events", &["admin", "management"]),
    ("client interaction add --client a@crm.test --type meeting", &["admin", "management", "sales", "support"]),
    ("client interaction list", STAFF),
    ("contract list", STAFF),
    ("contract list --unpaid --mine", STAFF),
    ("contract show 1", STAFF),
    ("contract create --client a@crm.test --total 100", &["admin", "management"]),
    ("contract update 1 --due 0", &["admin", "management", "sales"]),
    ("contract update 2 --due 0", &["admin", "management"]),
    ("contract sign 3", &["admin", "management", "sales"]),
    ("event list", STAFF),
    ("event list --no-support", &["admin", "management", "sales", "support"]),
    ("event show 1", STAFF),
    ("event create --contract 1 --name Gala --start 2027-01-01 --end 2027-01-02", &["sales"]),
    ("event create --contract 2 --name Gala --start 2027-01-01 --end 2027-01-02", &[]),
    ("event update 1 --notes Updated", &["admin", "management", "support"]),
    ("event update 2 --notes Updated", &["admin", "management"]),
    ("event assign 1 --support support2-user", &["admin", "management"]),
];

#[test]
fn every_role_and_crm_command_pair_is_allowed_or_denied_with_ownership() {
    let mut t = World::new();
    t.init();
    for role in ROLES.iter().filter(|r| **r != "admin") {
        t.create_user(&user_of(role), &[role]).ok();
    }
    t.create_user("sales2-user", &["sales"]).ok();
    t.create_user("support2-user", &["support"]).ok();
    t.run_as("sales-user", &["client", "create", "--name", "Ann", "--email", "a@crm.test", "--company", "OwnCo"]).ok();
    t.run_as("sales-user", &["client", "create", "--name", "Cid", "--email", "c@crm.test"]).ok();
    t.run_as("sales2-user", &["client", "create", "--name", "Bob", "--email", "b@crm.test", "--company", "OtherCo"])
        .ok();
    for (client, signed) in [("a@crm.test", true), ("b@crm.test", true), ("a@crm.test", false)] {
        let mut args = vec!["contract", "create", "--client", client, "--total", "100"];
        if signed {
            args.push("--signed");
        }
        t.run_as(ADMIN, &args).ok();
    }
    t.run_as(
        "sales-user",
        &["event", "create", "--contract", "1", "--name", "E1", "--start", "2027-01-01", "--end", "2027-01-02"],
    )
    .ok();
    t.run_as(
        "sales2-user",
        &["event", "create", "--contract", "2", "--name", "E2", "--start", "2027-01-01", "--end", "2027-01-02"],
    )
    .ok();
    t.run_as(ADMIN, &["event", "assign", "1", "--support", "support-user"]).ok();
    t.run_as(ADMIN, &["event", "assign", "2", "--support", "support2-user"]).ok();
    for role in ROLES {
        t.token(&user_of(role));
    }
    let import = t.home().join("import.csv");
    std::fs::write(&import, "name,email,company\nNew One,new1@crm.test,OwnCo\n").expect("import file");
    let import = import.display().to_string();
    let failures = run_matrix(&t, CRM_CASES, &[("{import}", import.as_str())]);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

const READERS: &[&str] = &["admin", "management", "sales", "support", "client"];
const TEAM: &[&str] = &["admin", "management", "support"];

/// Every ticket, project, SLA and outbox command. Ticket 1 is on P1 (granted to the client
/// account), ticket 2 on P2 (not granted): for the client it does not exist.
const TICKET_CASES: &[(&str, &[&str])] = &[
    ("ticket list", READERS),
    ("ticket list --sla ok,at-risk --unread --assignee @me", READERS),
    ("ticket show 1", READERS),
    ("ticket show 1 --internal", TEAM),
    ("ticket create --project P1 --type urgent --subject S --body B", &["admin", "management", "support", "client"]),
    ("ticket reply 1 --body B", &["admin", "management", "support", "client"]),
    ("ticket note 1 --body B", TEAM),
    ("ticket status 1 in_progress", TEAM),
    ("ticket assign 1 support-user", TEAM),
    ("ticket attachment get 1 -o -", READERS),
    ("ticket sla explain 1", READERS),
    ("ticket project list", READERS),
    ("ticket project show P1", READERS),
    ("ticket project create --name P3 --company Co1", &["admin", "management"]),
    ("ticket project grant P2 --user client-user", &["admin", "management"]),
    ("ticket project revoke P1 --user client-user", &["admin", "management"]),
    ("ticket sla policy list", &["admin", "management", "sales", "support"]),
    ("ticket sla policy set urgent --warn 80%", &["admin", "management"]),
    ("ticket sla recompute", &["admin", "management"]),
    ("ticket sla check --at now", &["admin", "management", "sales", "support"]),
    ("mail outbox list", &["admin"]),
    ("mail outbox retry 1", &["admin"]),
    ("mail outbox flush", &["admin"]),
];

#[test]
fn every_role_and_ticket_command_pair_is_allowed_or_denied() {
    let mut t = World::new();
    t.init();
    for role in ROLES.iter().filter(|r| **r != "admin") {
        t.create_user(&user_of(role), &[role]).ok();
    }
    t.run_as("sales-user", &["client", "create", "--name", "C1", "--email", "c1@crm.test", "--company", "Co1"]).ok();
    t.run_as("sales-user", &["client", "create", "--name", "C2", "--email", "c2@crm.test", "--company", "Co2"]).ok();
    t.sql().execute("UPDATE users SET client_id = (SELECT id FROM clients WHERE email = 'c1@crm.test') WHERE username = 'client-user'", []).expect("link");
    t.run_as(ADMIN, &["ticket", "project", "create", "--name", "P1", "--company", "Co1"]).ok();
    t.run_as(ADMIN, &["ticket", "project", "create", "--name", "P2", "--company", "Co2"]).ok();
    t.run_as(ADMIN, &["ticket", "project", "grant", "P1", "--user", "client-user"]).ok();
    let file = t.home().join("log.txt");
    std::fs::write(&file, "log").expect("file");
    t.run_as(
        "client-user",
        &[
            "ticket",
            "create",
            "--project",
            "P1",
            "--type",
            "urgent",
            "--subject",
            "Down",
            "--body",
            "Help",
            "--attach",
            file.to_str().expect("path"),
        ],
    )
    .ok();
    t.run_as(
        "support-user",
        &["ticket", "create", "--project", "P2", "--type", "maintenance", "--subject", "Other", "--body", "Theirs"],
    )
    .ok();
    // One failed message to retry; nothing else due, so a flush has nothing to reach a server for.
    t.sql()
        .execute_batch("UPDATE outbox SET status = 'sent'; UPDATE outbox SET status = 'failed' WHERE id = 1;")
        .expect("outbox");
    for role in ROLES {
        t.token(&user_of(role));
    }
    let failures = run_matrix(&t, TICKET_CASES, &[]);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));

    // Foreign ids answer "not found" to the client, never "forbidden".
    for line in [
        "ticket show 2",
        "ticket reply 2 --body B",
        "ticket status 2 open",
        "ticket sla explain 2",
        "ticket project show P2",
    ] {
        let mut w = World::clone_from(&t);
        let args: Vec<&str> = line.split(' ').collect();
        let before = w.snapshot();
        let out = w.run_as("client-user", &args);
        assert_eq!(out.code, 6, "{line}: {out:?}");
        assert_eq!(w.snapshot(), before, "{line}");
    }
}

const POPULATION_READERS: &[&str] = &["admin", "management", "sales", "marketing"];
const POPULATION_MANAGERS: &[&str] = &["admin", "management", "marketing"];

/// Fields, groups, segments and the imports and exports of every entity. The field `sector`,
/// group `G1` (holding a@) and segment `S1` exist; contract 1 and a@ belong to sales-user.
const POPULATION_CASES: &[(&str, &[&str])] = &[
    ("client field list", POPULATION_READERS),
    ("client field show sector", POPULATION_READERS),
    ("client field create budget --type number", POPULATION_MANAGERS),
    ("client field update sector --label Sector", POPULATION_MANAGERS),
    ("client field delete sector --yes", POPULATION_MANAGERS),
    ("client update a@crm.test --field sector=retail", &["admin", "management", "sales"]),
    ("client update b@crm.test --consent granted", &["admin", "management"]),
    ("client group list", POPULATION_READERS),
    ("client group show G1", POPULATION_READERS),
    ("client group create G2", POPULATION_MANAGERS),
    ("client group add G1 b@crm.test", POPULATION_MANAGERS),
    ("client group remove G1 a@crm.test", POPULATION_MANAGERS),
    ("client group delete G1 --yes", POPULATION_MANAGERS),
    ("client segment list", POPULATION_READERS),
    ("client segment show S1", POPULATION_READERS),
    ("client segment show S1 --count", POPULATION_READERS),
    ("client segment show --filter stage=lead", POPULATION_READERS),
    ("client segment create S2 --filter group=G1", POPULATION_MANAGERS),
    ("client segment update S1 --filter stage=won", POPULATION_MANAGERS),
    ("client segment delete S1 --yes", POPULATION_MANAGERS),
    ("client segment freeze S1 --into G3", POPULATION_MANAGERS),
    ("client import {clients} --group G1", POPULATION_MANAGERS),
    ("client company import {companies}", &["admin", "management", "sales"]),
    ("client company export", STAFF),
    ("contract import {contracts} --on-duplicate update", &["admin", "management", "sales"]),
    ("contract export", STAFF),
    ("event export", STAFF),
];

#[test]
fn every_role_and_population_command_pair_is_allowed_or_denied() {
    let mut t = World::new();
    t.init();
    for role in ROLES.iter().filter(|r| **r != "admin") {
        t.create_user(&user_of(role), &[role]).ok();
    }
    t.create_user("sales2-user", &["sales"]).ok();
    t.run_as("sales-user", &["client", "create", "--name", "Ann", "--email", "a@crm.test"]).ok();
    t.run_as("sales2-user", &["client", "create", "--name", "Bob", "--email", "b@crm.test"]).ok();
    t.run_as(ADMIN, &["contract", "create", "--client", "a@crm.test", "--total", "100", "--signed"]).ok();
    t.run_as(ADMIN, &["client", "field", "create", "sector", "--type", "choice", "--choices", "retail,hotel"]).ok();
    t.run_as(ADMIN, &["client", "group", "create", "G1"]).ok();
    t.run_as(ADMIN, &["client", "group", "add", "G1", "a@crm.test"]).ok();
    t.run_as(ADMIN, &["client", "segment", "create", "S1", "--filter", "stage = lead"]).ok();
    for role in ROLES {
        t.token(&user_of(role));
    }
    let write = |name: &str, text: &str| {
        let p = t.home().join(name);
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    };
    let clients = write("clients.csv", "name,email\nNew One,new1@crm.test\n");
    let companies = write("companies.csv", "name,industry\nImpCo,Events\n");
    let contracts = write("contracts.csv", "id,client,total,due\n1,a@crm.test,100,40\n");
    let vars =
        [("{clients}", clients.as_str()), ("{companies}", companies.as_str()), ("{contracts}", contracts.as_str())];
    let failures = run_matrix(&t, POPULATION_CASES, &vars);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
