//! The permission matrix of PERMISSIONS.md, as service tests: every service operation, run as
//! each of the six built-in roles on a fresh copy of the demo world, is allowed or denied as
//! the matrix says. A denial must be `Denied` (exit 5), leave every table but the audit log
//! as it was, and add a `denied` audit entry.

use std::io::Cursor;

use super::testing::{self, ROLES, settings, user_of};
use super::*;
use crate::domain::campaign::CampaignInput;
use crate::domain::client::{ClientInput, InteractionFilter, NewInteraction};
use crate::domain::company::CompanyInput;
use crate::domain::contract::{ContractPatch, NewContract};
use crate::domain::event::{EventInput, NewEvent};
use crate::domain::import::{OnDuplicate, Options};
use crate::domain::population::FieldInput;
use crate::domain::sla_policy::PolicyInput;
use crate::domain::template::TemplateInput;
use crate::domain::ticket::NewAttachment;
use crate::domain::user::{NewUser, UserPatch};
use crate::secrets::Secret;
use crate::{ErrorKind, Result};

type Op = fn(&Session) -> Result<()>;

struct Case {
    name: &'static str,
    allowed: &'static [&'static str],
    op: Op,
}

const ALL: &[&str] = &ROLES;
const STAFF: &[&str] = &["admin", "management", "sales", "support", "marketing"];
const MANAGERS: &[&str] = &["admin", "management"];
const ADMIN: &[&str] = &["admin"];
const READERS: &[&str] = &["admin", "management", "sales", "support", "client"];
const TEAM: &[&str] = &["admin", "management", "support"];
const POP_READERS: &[&str] = &["admin", "management", "sales", "marketing"];
const POP_MANAGERS: &[&str] = &["admin", "management", "marketing"];
const MAILERS: &[&str] = &["admin", "management", "marketing"];

macro_rules! case {
    ($name:literal, $allowed:expr, $op:expr) => {
        Case { name: $name, allowed: $allowed, op: $op }
    };
}

/// E-mail marketing: libraries, campaigns, pages and links, the suppression list.
mod marketing;

fn ok<T>(r: Result<T>) -> Result<()> {
    r.map(|_| ())
}

fn import_opts() -> Options {
    Options { dry_run: false, on_duplicate: OnDuplicate::Update, mapping: Default::default(), group: None }
}

fn file(text: &'static str) -> Box<dyn std::io::Read> {
    Box::new(Cursor::new(text.as_bytes()))
}

fn password() -> Secret<String> {
    Secret::new("a-fresh-password-42".into())
}

/// Accounts, roles and the audit log.
const ACCOUNT_CASES: &[Case] = &[
    case!("user list", MANAGERS, |s| ok(user::list(s, &Default::default()))),
    case!("user show", MANAGERS, |s| ok(user::show(s, "sam"))),
    case!("user create sales", MANAGERS, |s| {
        let u = NewUser {
            username: "newbie".into(),
            email: "newbie@rolo.test".into(),
            full_name: "Newbie".into(),
            roles: vec!["sales".into()],
            client: None,
            password: password(),
        };
        ok(user::create(s, u))
    }),
    case!("user create admin", ADMIN, |s| {
        let u = NewUser {
            username: "boss".into(),
            email: "boss@rolo.test".into(),
            full_name: "Boss".into(),
            roles: vec!["admin".into()],
            client: None,
            password: password(),
        };
        ok(user::create(s, u))
    }),
    case!("user update", MANAGERS, |s| {
        ok(user::update(s, "sam", UserPatch { full_name: Some("Renamed".into()), ..Default::default() }))
    }),
    case!("user deactivate", MANAGERS, |s| ok(user::deactivate(s, "sam"))),
    case!("user activate", MANAGERS, |s| ok(user::activate(s, "sam"))),
    case!("user passwd other", MANAGERS, |s| ok(user::change_password(s, "sam", None, &password()))),
    case!("role list", MANAGERS, |s| ok(role::list(s))),
    case!("role show", MANAGERS, |s| ok(role::show(s, "sales"))),
    case!("role create", ADMIN, |s| ok(role::create(s, "auditors", "", &["audit:read".into()]))),
    case!("role assign support", MANAGERS, |s| ok(role::assign(s, "support", "sam"))),
    case!("role unassign sales", MANAGERS, |s| ok(role::unassign(s, "sales", "sam"))),
    case!("role assign admin", ADMIN, |s| ok(role::assign(s, "admin", "sam"))),
    case!("role catalogue", ALL, |s| {
        role::catalogue(s);
        Ok(())
    }),
    case!("audit list", MANAGERS, |s| ok(audit::list(s, &Default::default()))),
    case!("audit verify", MANAGERS, |s| ok(audit::verify(s))),
    // The demo's application `intranet` (PERMISSIONS.md: managed by admin, read by management).
    case!("app list", MANAGERS, |s| ok(crate::service::app::list(s))),
    case!("app show", MANAGERS, |s| ok(crate::service::app::show(s, "intranet"))),
    case!("app create", ADMIN, |s| ok(crate::service::app::create(s, "billing", &["mail:send".into()], None))),
    case!("app rotate", ADMIN, |s| ok(crate::service::app::rotate(s, "intranet", None))),
    case!("app revoke", ADMIN, |s| ok(crate::service::app::revoke(s, "intranet"))),
];

/// Clients, companies, interactions, contracts and events, with ownership: bill (sales) owns
/// Kevin, contract 652 and company "Cool Startup LLC"; sam owns Agathe, contract 700 and
/// "Mairie de Mufflins"; kate (support) is on event 109, alienor on 1023.
const CRM_CASES: &[Case] = &[
    case!("client list", STAFF, |s| ok(client::list(s, &Default::default()))),
    case!("client show", STAFF, |s| ok(client::show(s, "kevin@startup.io"))),
    case!("client create", &["admin", "sales"], |s| {
        let input = ClientInput { name: Some("New".into()), email: Some("new@crm.test".into()), ..Default::default() };
        ok(client::create(s, &input))
    }),
    case!("client update own", &["admin", "management", "sales"], |s| {
        ok(client::update(
            s,
            "kevin@startup.io",
            &ClientInput { phone: Some("+33100000000".into()), ..Default::default() },
        ))
    }),
    case!("client update other", MANAGERS, |s| {
        let input = ClientInput { phone: Some("+33100000000".into()), ..Default::default() };
        ok(client::update(s, "agathe.mercier@mufflins.fr", &input))
    }),
    case!("client update reassign", MANAGERS, |s| {
        let input = ClientInput { sales_contact: Some("sam".into()), ..Default::default() };
        ok(client::update(s, "kevin@startup.io", &input))
    }),
    case!("client stage own", &["admin", "management", "sales"], |s| ok(client::set_stage(
        s,
        "kcasey@startup.io",
        "qualified"
    ))),
    case!("client stage other", MANAGERS, |s| ok(client::set_stage(s, "agathe.mercier@mufflins.fr", "won"))),
    case!("client delete", ADMIN, |s| ok(client::delete(s, "zoe.obrien@example.ie"))),
    case!("client dedupe", STAFF, |s| ok(dedupe::dedupe(s, None))),
    case!("client merge own", &["admin", "management", "sales"], |s| ok(dedupe::merge(
        s,
        "kevin@startup.io",
        "kcasey@startup.io"
    ))),
    case!("client merge other", MANAGERS, |s| ok(dedupe::merge(
        s,
        "leon.dupre@acme-evenements.be",
        "l.dupre@acme-evenements.be"
    ))),
    case!("client stats", STAFF, |s| ok(population::stats(s))),
    case!("company suggest", STAFF, |s| ok(population::suggest_companies(s))),
    case!("company list", STAFF, |s| ok(company::list(s, &Default::default()))),
    case!("company show", STAFF, |s| ok(company::show(s, "Lou Bouzin"))),
    case!("company create", &["admin", "management", "sales"], |s| {
        ok(company::create(s, &CompanyInput { name: Some("NewCo".into()), ..Default::default() }))
    }),
    case!("company update own", &["admin", "management", "sales"], |s| {
        ok(company::update(s, "Lou Bouzin", &CompanyInput { industry: Some("Events".into()), ..Default::default() }))
    }),
    case!("company update other", MANAGERS, |s| {
        let input = CompanyInput { industry: Some("Events".into()), ..Default::default() };
        ok(company::update(s, "Mairie de Mufflins", &input))
    }),
    case!("interaction add", &["admin", "management", "sales", "support"], |s| {
        let input = NewInteraction {
            client: "kevin@startup.io".into(),
            kind: "meeting".into(),
            at: None,
            notes: String::new(),
        };
        ok(client::add_interaction(s, &input))
    }),
    case!("interaction list", STAFF, |s| ok(client::list_interactions(s, &InteractionFilter::default()))),
    case!("contract list", STAFF, |s| ok(contract::list(s, &Default::default()))),
    case!("contract show", STAFF, |s| ok(contract::show(s, "652"))),
    case!("contract create", MANAGERS, |s| {
        let input = NewContract { client: "kevin@startup.io".into(), total: "100".into(), ..Default::default() };
        ok(contract::create(s, &input))
    }),
    case!("contract update own", &["admin", "management", "sales"], |s| {
        ok(contract::update(s, "652", &ContractPatch { due: Some("0".into()), ..Default::default() }))
    }),
    case!("contract update other", MANAGERS, |s| {
        ok(contract::update(s, "700", &ContractPatch { due: Some("0".into()), ..Default::default() }))
    }),
    case!("contract sign own", &["admin", "management", "sales"], |s| ok(contract::sign(s, "653"))),
    case!("event list", STAFF, |s| ok(event::list(s, &Default::default()))),
    case!("event list no support", &["admin", "management", "sales", "support"], |s| {
        ok(event::list(s, &crate::domain::event::ListFilter { no_support: true, ..Default::default() }))
    }),
    case!("event show", STAFF, |s| ok(event::show(s, "109"))),
    case!("event create own signed", &["sales"], |s| {
        let fields = EventInput {
            name: Some("Gala".into()),
            start: Some("2027-01-01".into()),
            end: Some("2027-01-02".into()),
            ..Default::default()
        };
        ok(event::create(s, &NewEvent { id: None, contract: "652".into(), fields }))
    }),
    case!("event update assigned", TEAM, |s| {
        ok(event::update(s, "109", &EventInput { notes: Some("Updated".into()), ..Default::default() }))
    }),
    case!("event update other", MANAGERS, |s| {
        ok(event::update(s, "1023", &EventInput { notes: Some("Updated".into()), ..Default::default() }))
    }),
    case!("event assign", MANAGERS, |s| ok(event::assign(s, "1024", Some("kate")))),
    case!("event support candidates", MANAGERS, |s| ok(event::support_candidates(s))),
];

/// Tickets, projects, SLA and the outbox. Ticket 1 is on "Cool Startup Website", granted to
/// kevin; ticket 6 is on "Lou Bouzin Booking App", which kevin was not granted.
const TICKET_CASES: &[Case] = &[
    case!("ticket list", READERS, |s| ok(ticket::list(s, &Default::default()))),
    case!("ticket show", READERS, |s| ok(ticket::show(s, "1", false))),
    case!("ticket show internal", TEAM, |s| ok(ticket::show(s, "1", true))),
    case!("ticket create", &["admin", "management", "support", "client"], |s| {
        ok(testing::ticket(s, "Cool Startup Website", "urgent", "Down"))
    }),
    case!("ticket reply", &["admin", "management", "support", "client"], |s| {
        ok(ticket::reply(s, &settings(), "1", "B", Vec::new(), None))
    }),
    case!("ticket note", TEAM, |s| {
        let file = NewAttachment { name: "n.txt".into(), bytes: b"n".to_vec() };
        ok(ticket::note(s, &settings(), "1", "B", vec![file]))
    }),
    case!("ticket status", TEAM, |s| ok(ticket::set_status(s, &settings(), "1", "in_progress"))),
    case!("ticket assign", TEAM, |s| ok(ticket::assign(s, &settings(), "1", "alienor"))),
    case!("ticket attachment", READERS, |s| ok(ticket::attachment(s, 1))),
    case!("sla explain", READERS, |s| ok(sla::explain(s, "1", chrono::Utc::now()))),
    case!("project list", READERS, |s| ok(project::list(s, None))),
    case!("project show", READERS, |s| ok(project::visible(s, "Cool Startup Website"))),
    case!("project create", MANAGERS, |s| ok(project::create(s, "P3", "Lou Bouzin", ""))),
    case!("project grant", MANAGERS, |s| ok(project::set_access(s, "Lou Bouzin Booking App", "kevin", true))),
    case!("project revoke", MANAGERS, |s| ok(project::set_access(s, "Cool Startup Website", "kevin", false))),
    case!("sla policy list", &["admin", "management", "sales", "support"], |s| ok(sla::list_policies(s))),
    case!("sla policy set", MANAGERS, |s| {
        ok(sla::set_policy(s, "urgent", &PolicyInput { warn: Some("80%".into()), ..Default::default() }))
    }),
    case!("sla recompute", MANAGERS, |s| ok(sla::recompute(s))),
    case!("sla check", &["admin", "management", "sales", "support"], |s| {
        ok(sla::check(s, settings().smtp, chrono::Utc::now()))
    }),
    // Whoever sends mail (`mail:send`: admin, management, marketing) follows the outbox.
    case!("mail outbox list", MAILERS, |s| ok(mail::list(s, None, None))),
    case!("mail outbox retry", MAILERS, |s| ok(mail::retry(s, 1))),
];

/// Fields, groups, segments, imports and exports.
const POPULATION_CASES: &[Case] = &[
    case!("field list", POP_READERS, |s| ok(field::list(s))),
    case!("field show", POP_READERS, |s| ok(field::show(s, "sector"))),
    case!("field create", POP_MANAGERS, |s| {
        ok(field::create(s, "score", &FieldInput { kind: Some("number".into()), ..Default::default() }))
    }),
    case!("field update", POP_MANAGERS, |s| {
        ok(field::update(s, "sector", &FieldInput { label: Some("Sector".into()), ..Default::default() }))
    }),
    case!("field delete", POP_MANAGERS, |s| ok(field::delete(s, "budget"))),
    case!("client field value own", &["admin", "management", "sales"], |s| {
        let input = ClientInput { fields: [("sector".into(), "Tech".into())].into(), ..Default::default() };
        ok(client::update(s, "kcasey@startup.io", &input))
    }),
    case!("client consent other", MANAGERS, |s| {
        let input = ClientInput { consent: Some("granted".into()), ..Default::default() };
        ok(client::update(s, "leon.dupre@acme-evenements.be", &input))
    }),
    case!("group list", POP_READERS, |s| ok(group::list(s))),
    case!("group show", POP_READERS, |s| ok(group::show(s, "Clients 2023", None))),
    case!("group create", POP_MANAGERS, |s| ok(group::create(s, "G2", None, None))),
    case!("group add", POP_MANAGERS, |s| ok(group::set_members(
        s,
        "Clients 2023",
        &["zoe.obrien@example.ie".into()],
        true
    ))),
    case!("group remove", POP_MANAGERS, |s| ok(group::set_members(
        s,
        "Clients 2023",
        &["kevin@startup.io".into()],
        false
    ))),
    case!("group delete", POP_MANAGERS, |s| ok(group::delete(s, "Clients 2023"))),
    case!("segment list", POP_READERS, |s| ok(group::list_segments(s))),
    case!("segment show", POP_READERS, |s| ok(group::run(s, Some("Warm leads"), None, false, None))),
    case!("segment count", POP_READERS, |s| ok(group::run(s, Some("Warm leads"), None, true, None))),
    case!("segment try filter", POP_READERS, |s| ok(group::run(s, None, Some("stage = lead"), false, None))),
    case!("segment create", POP_MANAGERS, |s| ok(group::create_segment(s, "S2", "group = \"Clients 2023\"", None))),
    case!("segment update", POP_MANAGERS, |s| ok(group::update_segment(s, "Warm leads", Some("stage = won"), None))),
    case!("segment delete", POP_MANAGERS, |s| ok(group::delete_segment(s, "Warm leads"))),
    case!("segment freeze", POP_MANAGERS, |s| ok(group::freeze(s, "Warm leads", "G3"))),
    case!("client import into group", POP_MANAGERS, |s| {
        let opts = Options { group: Some("Clients 2023".into()), ..import_opts() };
        ok(import::import_clients(s, file("name,email\nNew One,new1@crm.test\n"), &opts, |_| {}))
    }),
    case!("client import", &["admin", "management", "sales", "marketing"], |s| {
        ok(import::import_clients(s, file("name,email\nNew One,new1@crm.test\n"), &import_opts(), |_| {}))
    }),
    case!("company import", &["admin", "management", "sales"], |s| {
        ok(import::import_companies(s, file("name,industry\nImpCo,Events\n"), &import_opts(), |_| {}))
    }),
    case!("contract import", &["admin", "management", "sales"], |s| {
        ok(import::import_contracts(
            s,
            file("id,client,total,due\n652,john.ouick@gmail.com,4000,40\n"),
            &import_opts(),
            |_| {},
        ))
    }),
    // Who may run an event import at all (its rows then follow `event create` and `update`).
    case!("event import", &["admin", "management", "sales"], |s| {
        ok(import::import_events(s, file("id,contract,name,start,end\n"), &import_opts(), |_| {}))
    }),
    case!("client export", STAFF, |s| ok(import::export_clients(s, |_| Ok(())))),
    case!("company export", STAFF, |s| ok(import::export_companies(s, |_| Ok(())))),
    case!("contract export", STAFF, |s| ok(import::export_contracts(s, |_| Ok(())))),
    case!("event export", STAFF, |s| ok(import::export_events(s, |_| Ok(())))),
];

/// A send that got past its permission and stopped for want of an SMTP server.
fn smtp_missing<T>(r: Result<T>) -> Result<()> {
    match r {
        Err(e) if e.kind() == ErrorKind::External => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Runs every case as every role on a fresh copy of `template`; returns the mismatches.
fn run(template: &crate::db::Db, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        for role in ROLES {
            let db = template.copy_in_memory().expect("copy");
            let session = testing::session_as(&db, user_of(role));
            let before = db.dump().expect("dump");
            let denied_before = db.audit_count("denied").expect("count");
            let outcome = (case.op)(&session);
            let expect_ok = case.allowed.contains(&role);
            let verdict = match (&outcome, expect_ok) {
                (Ok(()), true) => Ok(()),
                (Err(e), true) => Err(format!("expected success, got {:?}: {e}", e.kind())),
                (Ok(()), false) => Err("expected a denial, it succeeded".to_string()),
                (Err(e), false) if e.kind() != ErrorKind::Denied => {
                    Err(format!("expected Denied, got {:?}: {e}", e.kind()))
                }
                (Err(e), false) if !e.message().contains("permission denied") => {
                    Err(format!("a denial must name the missing permission: {e}"))
                }
                (Err(_), false) if db.dump().expect("dump") != before => {
                    Err("a denied call changed the database".to_string())
                }
                (Err(_), false) if db.audit_count("denied").expect("count") <= denied_before => {
                    Err("the denial was not audited".to_string())
                }
                (Err(_), false) => Ok(()),
            };
            if let Err(why) = verdict {
                failures.push(format!("{role:<10} {}: {why}", case.name));
            }
        }
    }
    failures
}

fn assert_matrix(cases: &[Case]) {
    let template = testing::demo();
    let failures = run(&template, cases);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn accounts_roles_and_audit() {
    assert_matrix(ACCOUNT_CASES);
}

#[test]
fn clients_companies_contracts_and_events_with_ownership() {
    assert_matrix(CRM_CASES);
}

#[test]
fn tickets_projects_sla_and_outbox() {
    assert_matrix(TICKET_CASES);
}

#[test]
fn fields_groups_segments_imports_and_exports() {
    assert_matrix(POPULATION_CASES);
}

#[test]
fn a_client_account_meets_not_found_for_foreign_ids_never_forbidden() {
    let template = testing::demo();
    let cases: &[(&str, Op)] = &[
        ("show", |s| ok(ticket::show(s, "6", false))),
        ("reply", |s| ok(ticket::reply(s, &settings(), "6", "B", Vec::new(), None))),
        ("status", |s| ok(ticket::set_status(s, &settings(), "6", "closed"))),
        ("explain", |s| ok(sla::explain(s, "6", chrono::Utc::now()))),
        ("project", |s| ok(project::visible(s, "Lou Bouzin Booking App"))),
        ("attachment of a note", |s| {
            let kate = testing::session_as(s.db(), "kate");
            let file = NewAttachment { name: "secret.txt".into(), bytes: b"internal".to_vec() };
            ticket::note(&kate, &settings(), "1", "internal", vec![file])?;
            let id = crate::db::ticket::messages(s.db(), 1, true)?
                .iter()
                .flat_map(|m| m.attachments.iter())
                .map(|a| a.id)
                .max()
                .expect("an attachment");
            ok(ticket::attachment(s, id))
        }),
    ];
    for (name, op) in cases {
        let db = template.copy_in_memory().expect("copy");
        let kevin = testing::session_as(&db, "kevin");
        let e = op(&kevin).expect_err(name);
        assert_eq!(e.kind(), ErrorKind::NotFound, "{name}: {e}");
    }
}

/// `rolo db encrypt|decrypt|rekey` (PERMISSIONS.md: backups and the database file are the
/// admin's): every other role is denied and the file stays as it was.
#[test]
fn the_database_encryption_is_for_admins_only() {
    use crate::service::encryption::{self, Change};
    let template = testing::demo();
    let dir = tempfile::tempdir().expect("tempdir");
    for role in ROLES {
        let path = dir.path().join(format!("{role}.db"));
        let db = template.copy_to_file(&path).expect("copy");
        let s = testing::session_as(&db, user_of(role));
        let planned = encryption::plan(&s, Change::Encrypt);
        if role == "admin" {
            let plan = planned.expect("admin encrypts");
            drop(s);
            drop(db);
            let done = encryption::apply(plan).expect("apply");
            assert!(done.encrypted && crate::db::key::is_encrypted(&path).expect("read"), "{done:?}");
            // Reopened with the key this process keeps; then rekeyed and decrypted.
            let db = crate::db::Db::open(&path).expect("reopen");
            let s = testing::session_as(&db, "admin");
            assert_eq!(encryption::plan(&s, Change::Encrypt).err().map(|e| e.kind()), Some(ErrorKind::Conflict));
            let plan = encryption::plan(&s, Change::Rekey).expect("rekey");
            drop(s);
            drop(db);
            encryption::apply(plan).expect("rekeyed");
            let db = crate::db::Db::open(&path).expect("reopen");
            let s = testing::session_as(&db, "admin");
            let plan = encryption::plan(&s, Change::Decrypt).expect("decrypt");
            drop(s);
            drop(db);
            encryption::apply(plan).expect("decrypted");
            assert!(!crate::db::key::is_encrypted(&path).expect("read"));
        } else {
            assert_eq!(planned.err().map(|e| e.kind()), Some(ErrorKind::Denied), "{role}");
            for change in [Change::Decrypt, Change::Rekey] {
                assert_eq!(encryption::plan(&s, change).err().map(|e| e.kind()), Some(ErrorKind::Denied), "{role}");
            }
            assert!(!crate::db::key::is_encrypted(&path).expect("read"), "{role}: the file changed");
        }
    }
}

#[test]
fn backups_are_for_admins_only() {
    let template = testing::demo();
    let dir = tempfile::tempdir().expect("tempdir");
    for role in ROLES {
        let here = dir.path().join(role);
        std::fs::create_dir_all(&here).expect("mkdir");
        let db = template.copy_to_file(&here.join("rolo.db")).expect("copy");
        let s = testing::session_as(&db, user_of(role));
        let cfg = backup::Settings { dir: here.join("backups"), keep: None, every: None };
        let created = backup::create(&s, &cfg);
        if role == "admin" {
            let file = std::path::PathBuf::from(created.expect("admin backs up").file.path);
            backup::list(&s, &cfg).expect("list");
            backup::verify(&s, &cfg, Some(&file)).expect("verify");
            backup::restore(&s, &cfg, &file).expect("restore");
        } else {
            assert_eq!(created.expect_err(role).kind(), ErrorKind::Denied, "{role}");
            assert!(!cfg.dir.exists(), "{role}: a denied backup wrote files");
            for r in [backup::list(&s, &cfg).map(|_| ()), backup::verify(&s, &cfg, None).map(|_| ())] {
                assert_eq!(r.expect_err(role).kind(), ErrorKind::Denied, "{role}");
            }
        }
    }
}
