//! Helpers for service tests on an in-memory database: the demo world (every role, clients of
//! two sellers, contracts, events, projects, tickets), a session as any user or role, copies
//! of a prepared state, and small builders.

use super::authz::{Actor, Session};
use super::ticket::Settings;
use crate::Result;
use crate::db::{self, Db};
use crate::domain::contract::NewContract;
use crate::domain::ticket::{NewAttachment, NewTicket};
use crate::mail::SmtpSettings;

/// The six built-in roles, in the order of PERMISSIONS.md.
pub const ROLES: [&str; 6] = ["admin", "management", "sales", "support", "marketing", "client"];

/// The demo user who holds each built-in role (`sam` and `alienor` are the "other" seller and
/// support user of ownership cases).
pub fn user_of(role: &str) -> &'static str {
    match role {
        "admin" => "admin",
        "management" => "mia",
        "sales" => "bill",
        "support" => "kate",
        "marketing" => "mark",
        "client" => "kevin",
        other => panic!("no demo user for role {other}"),
    }
}

/// A fresh in-memory database with its migrations.
pub fn empty() -> Db {
    Db::open_in_memory().expect("an in-memory database")
}

/// The demo database (`rolo init --demo`), plus what ownership cases need: contract 700 of
/// sam's client Agathe, an attachment Kevin sent on ticket 1, a failed outbox message 1, the
/// template `welcome` and the media `logo.png`.
pub fn demo() -> Db {
    let db = empty();
    super::setup::demo(&db).expect("the demo world");
    let mia = session_as(&db, "mia");
    super::contract::create(
        &mia,
        &NewContract {
            id: Some(700),
            client: "agathe.mercier@mufflins.fr".into(),
            total: "500".into(),
            ..Default::default()
        },
    )
    .expect("contract 700");
    let kevin = session_as(&db, "kevin");
    let file = NewAttachment { name: "log.txt".into(), bytes: b"log".to_vec() };
    super::ticket::reply(&kevin, &settings(), "1", "Here is the log.", vec![file], None).expect("attachment");
    let mark = session_as(&db, "mark");
    super::campaign::media::add(&mark, "logo.png", b"\x89PNG demo").expect("media");
    let welcome = crate::domain::template::TemplateInput {
        subject: Some("Bienvenue, {{ client.first_name }}".into()),
        html: Some("<p>Bonjour {{ client.name }}</p><img src=\"{{ media('logo.png') }}\" alt=\"Logo\"><a href=\"{{ unsubscribe_url }}\">Se désabonner</a>".into()),
        text: Some("Bonjour {{ client.name }}\nSe désabonner : {{ unsubscribe_url }}".into()),
        ..Default::default()
    };
    super::campaign::template::create(&mark, "welcome", &welcome).expect("template");
    campaigns(&db);
    db.exec_for_test(
        "UPDATE outbox SET status = 'sent';
         UPDATE outbox SET status = 'failed' WHERE id = (SELECT min(id) FROM outbox);",
    )
    .expect("outbox");
    db
}

/// Besides the demo's campaigns (1 sent, 2 scheduled, 3 pending approval, 4 approved, 5 a
/// draft, 6 cancelled, 7 paused), campaign 8 in the middle of sending; an address on the
/// suppression list; the template `farewell` that no campaign uses.
fn campaigns(db: &Db) {
    use crate::domain::campaign::CampaignInput;
    let mark = session_as(db, "mark");
    let input = CampaignInput {
        name: Some("Sending now".into()),
        template: Some("welcome".into()),
        audience: vec!["group:Clients 2023".into()],
        from: Some("Institut <news@institut.example>".into()),
        ..Default::default()
    };
    let c = super::campaign::lifecycle::create(&mark, &input).expect("campaign");
    assert_eq!(c.id, 8, "the demo has seven campaigns");
    super::campaign::lifecycle::submit(&mark, 8).expect("submit");
    super::campaign::lifecycle::approve(&session_as(db, "mia"), 8, None).expect("approve");
    db.exec_for_test("UPDATE campaigns SET status = 'sending' WHERE id = 8").expect("state");
    super::campaign::suppression::add(&mark, "nobody@example.com", "manual").expect("suppression");
    let farewell = crate::domain::template::TemplateInput {
        subject: Some("Au revoir".into()),
        html: Some("<p>{{ unsubscribe_url }}</p>".into()),
        ..Default::default()
    };
    super::campaign::template::create(&mark, "farewell", &farewell).expect("template");
    let page = crate::domain::page::PageInput {
        slug: Some("offer".into()),
        template: Some("farewell".into()),
        group: Some("Clients 2023".into()),
        fields: Some(vec!["name".into(), "email".into(), "phone".into()]),
        consent_text: Some("J’accepte de recevoir les offres de l’Institut.".into()),
        ..Default::default()
    };
    super::campaign::pages::create(&mark, &page).expect("landing page");
    let link = super::campaign::shortlinks::NewLink {
        url: "/p/offer".into(),
        code: Some("promo".into()),
        ..Default::default()
    };
    super::campaign::shortlinks::create(&mark, &link).expect("short link");
    super::app::create(&session_as(db, "admin"), "intranet", &["mail:send".into()], None).expect("application");
}

/// A session as a user of the database, without a login (no password, no token).
pub fn session_as<'db>(db: &'db Db, username: &str) -> Session<'db> {
    let user = db::user::find_by_username(db, username).expect("read").unwrap_or_else(|| panic!("no user {username}"));
    Session::new(db, Actor::load(db, user).expect("actor"))
}

/// Ticket settings with no SMTP server: notifications stay queued in the outbox.
pub fn settings() -> Settings<'static> {
    static SMTP: std::sync::OnceLock<SmtpSettings> = std::sync::OnceLock::new();
    let smtp = SMTP.get_or_init(|| SmtpSettings {
        url: None,
        from: "Epic Support <support@epic.test>".into(),
        timeout: std::time::Duration::from_secs(1),
        dkim: None,
    });
    Settings { smtp, max_attachment_bytes: 1024 * 1024, public_url: None }
}

/// Opens a ticket as `session`.
pub fn ticket(session: &Session, project: &str, kind: &str, subject: &str) -> Result<i64> {
    let input = NewTicket {
        project: project.into(),
        kind: kind.into(),
        subject: subject.into(),
        body: "Something is wrong.".into(),
        attachments: Vec::new(),
    };
    super::ticket::create(session, &settings(), input).map(|o| o.ticket.id)
}
