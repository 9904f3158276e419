//! `rolo init`: the first administrator of a new database, and the demo database.

use chrono::Utc;

use super::authz::{Actor, audit_as, system_key};
use crate::db::{self, Db};
use crate::domain::audit::Outcome;
use crate::domain::permission::ADMIN_ROLE;
pub use crate::domain::user::{DemoAccount, NewAdmin};
use crate::domain::{time, validate};
use crate::secrets::Secret;
use crate::service::auth;
use crate::{Error, Result};

/// Creates the first admin. Refused on a database that already has users.
pub fn init(db: &Db, admin: NewAdmin) -> Result<crate::domain::user::User> {
    let username = validate::username(&admin.username)?;
    let email = validate::email("email", &admin.email)?;
    let full_name = validate::text("name", &admin.full_name, 200)?;
    validate::password(admin.password.expose(), &username)?;
    if db::user::count(db)? > 0 {
        return Err(already_initialised(db));
    }
    let hash = auth::hash_password(&admin.password)?;
    let now = time::format_utc(Utc::now());
    db.write(&system_key(), |tx| {
        // Checked again under the write lock: two `init`s racing create one admin.
        if db::user::count(tx)? > 0 {
            return Err(already_initialised(db));
        }
        let id = db::user::insert(
            tx,
            &db::user::NewUser {
                username: &username,
                full_name: &full_name,
                email: &email,
                password_hash: &hash,
                created_by: None,
                now: &now,
            },
        )?;
        let role = db::role::find(tx, ADMIN_ROLE)?.ok_or_else(|| Error::internal("the admin role is missing"))?;
        db::role::grant(tx, id, role.id, None, &now)?;
        tx.set_meta("initialised_at", &now)?;
        let user = db::user::get(tx, id)?.ok_or_else(|| Error::internal("admin vanished"))?;
        let actor = Actor::load(tx, user.clone())?;
        audit_as(tx, Some(&actor), "init", "user", Some(id), Outcome::Ok, None, None, Some(&user))?;
        Ok(user)
    })
}

fn already_initialised(db: &Db) -> Error {
    Error::conflict(format!("{} is already initialised; log in with `rolo login`", db.path().display()))
}

/// The demo staff: one per built-in role, named after the people of seed 002 where it has them.
const DEMO_STAFF: &[(&str, &str, &str, &str)] = &[
    ("admin", "Ada Admin", "admin@epicevents.example", "admin"),
    ("mia", "Mia Manager", "mia@epicevents.example", "management"),
    ("bill", "Bill Boquet", "bill@epicevents.example", "sales"),
    ("kate", "Kate Hastroff", "kate@epicevents.example", "support"),
    ("alienor", "Aliénor Vichum", "alienor@epicevents.example", "support"),
    ("sam", "Sam Seller", "sam@epicevents.example", "sales"),
    ("mark", "Mark Etting", "mark@epicevents.example", "marketing"),
    ("kevin", "Kevin Casey", "kevin@startup.io", "client"),
];

fn demo_password(username: &str) -> String {
    format!("{username}-demo-password")
}

/// Whether this database was made by `init --demo`.
pub fn is_demo(db: &Db) -> Result<bool> {
    Ok(db.meta("demo")?.as_deref() == Some("1"))
}

/// The demo accounts and their passwords (public by design: it is a demo).
pub fn demo_accounts() -> Vec<DemoAccount> {
    DEMO_STAFF
        .iter()
        .map(|(u, n, _, r)| DemoAccount {
            username: u.to_string(),
            full_name: n.to_string(),
            role: r.to_string(),
            password: demo_password(u),
        })
        .collect()
}

/// Fills an empty database with the demo accounts. On a demo database made earlier this is a
/// no-op that returns the same accounts; on any other non-empty database it is refused.
pub fn demo(db: &Db) -> Result<Vec<DemoAccount>> {
    if db::user::count(db)? > 0 {
        return if is_demo(db)? { Ok(demo_accounts()) } else { Err(already_initialised(db)) };
    }
    let now = time::format_utc(Utc::now());
    let hashes = DEMO_STAFF
        .iter()
        .map(|(u, ..)| auth::hash_password(&Secret::new(demo_password(u))))
        .collect::<Result<Vec<_>>>()?;
    db.write(&system_key(), |tx| {
        if db::user::count(tx)? > 0 {
            return Err(already_initialised(db));
        }
        let mut admin_id = None;
        for ((username, name, email, role), hash) in DEMO_STAFF.iter().zip(&hashes) {
            let id = db::user::insert(
                tx,
                &db::user::NewUser {
                    username,
                    full_name: name,
                    email,
                    password_hash: hash,
                    created_by: admin_id,
                    now: &now,
                },
            )?;
            admin_id.get_or_insert(id);
            let role = db::role::find(tx, role)?.ok_or_else(|| Error::internal("built-in role missing"))?;
            db::role::grant(tx, id, role.id, admin_id, &now)?;
        }
        demo_crm(tx, &now)?;
        demo_population(tx, &now)?;
        tx.set_meta("initialised_at", &now)?;
        tx.set_meta("demo", "1")?;
        audit_as(tx, None, "init.demo", "database", None, Outcome::Ok, Some("demo database created"), None, None)?;
        Ok(demo_accounts())
    })
}

/// Population management in the demo: two custom fields with values, consent, a group of
/// each kind and a saved segment.
fn demo_population(tx: &db::Tx, now: &str) -> Result<()> {
    use crate::domain::profile::{FieldDef, FieldKind, FieldOrigin, GroupKind};
    let mark =
        db::user::find_by_username(tx, "mark")?.map(|u| u.id).ok_or_else(|| Error::internal("demo user missing"))?;
    let field = |key: &str, label: &str, kind, choices: &[&str], origin, personal_data| FieldDef {
        key: key.into(),
        label: label.into(),
        kind,
        choices: choices.iter().map(|c| c.to_string()).collect(),
        mandatory: false,
        public: false,
        origin,
        personal_data,
    };
    let sectors = ["Événementiel", "Hôtellerie", "Secteur public", "Tech"];
    db::population::insert_field(
        tx,
        &field("sector", "Secteur", FieldKind::Choice, &sectors, FieldOrigin::System, false),
        mark,
        now,
    )?;
    db::population::insert_field(
        tx,
        &field("budget", "Budget annuel (€)", FieldKind::Number, &[], FieldOrigin::Community, false),
        mark,
        now,
    )?;
    let values: &[(&str, &str, Option<i64>, &str)] = &[
        ("kevin@startup.io", "Tech", Some(20_000), "granted"),
        ("jacky@loubouzin.grd", "Événementiel", Some(8_000), "granted"),
        ("agathe.mercier@mufflins.fr", "Secteur public", Some(15_000), "granted"),
        ("leon.dupre@acme-evenements.be", "Hôtellerie", None, "granted"),
        ("marc.petit@example.fr", "Tech", None, "withdrawn"),
    ];
    for (email, sector, budget, consent) in values {
        let id = db::client::id_by_email(tx, email)?.ok_or_else(|| Error::internal("demo client missing"))?;
        let mut f = db::client::fields_of(tx, id)?;
        f.profile.insert("sector".into(), (*sector).into());
        if let Some(b) = budget {
            f.profile.insert("budget".into(), (*b).into());
        }
        f.consent = (*consent).into();
        db::client::update(tx, id, &f, now)?;
    }
    let customers = db::population::insert_group(
        tx,
        "Clients 2023",
        GroupKind::Custom.as_str(),
        "signed in 2023",
        None,
        mark,
        now,
    )?;
    let salon = db::population::insert_group(
        tx,
        "Salon Event Pro 2023",
        GroupKind::Imported.as_str(),
        "badge scans of the trade show",
        None,
        mark,
        now,
    )?;
    for (group, email) in [
        (customers, "kevin@startup.io"),
        (customers, "jacky@loubouzin.grd"),
        (customers, "john.ouick@gmail.com"),
        (salon, "leon.dupre@acme-evenements.be"),
        (salon, "marc.petit@example.fr"),
        (salon, "zoe.obrien@example.ie"),
    ] {
        let id = db::client::id_by_email(tx, email)?.ok_or_else(|| Error::internal("demo client missing"))?;
        db::population::add_member(tx, group, id, mark, now)?;
    }
    db::population::insert_segment(
        tx,
        "Warm leads",
        "stage in (lead, qualified, opportunity) and consent = granted",
        "leads who agreed to hear from us",
        mark,
        now,
    )?;
    Ok(())
}

/// The CRM part of the demo: the two events of seed 002 exactly (ids, contracts, clients,
/// French location and notes), the client card of Kevin Casey, companies, leads at every stage
/// and interactions.
fn demo_crm(tx: &db::Tx, now: &str) -> Result<()> {
    use crate::domain::crm::phone;
    let user = |name: &str| -> Result<i64> {
        db::user::find_by_username(tx, name)?.map(|u| u.id).ok_or_else(|| Error::internal("demo user missing"))
    };
    let at = |s: &str| -> Result<String> { Ok(time::format_utc(time::parse_instant("date", s, Utc::now())?)) };
    let (bill, sam, kate, alienor, mia) = (user("bill")?, user("sam")?, user("kate")?, user("alienor")?, user("mia")?);

    let company = |name: &str, size: &str, industry: &str, btype: &str, country: &str, owner: i64| -> Result<i64> {
        db::company::insert(
            tx,
            &crate::domain::company::Fields {
                name: name.into(),
                size: Some(size.into()),
                industry: Some(industry.into()),
                business_type: Some(btype.into()),
                country: Some(country.into()),
                currency: "EUR".into(),
                sales_owner_id: Some(owner),
                ..Default::default()
            },
            owner,
            now,
        )
    };
    let cool = company("Cool Startup LLC", "small", "Software", "B2B", "United States", bill)?;
    let lou = company("Lou Bouzin", "medium", "Retail", "B2C", "France", bill)?;
    let mufflins = company("Mairie de Mufflins", "small", "Public sector", "B2G", "France", sam)?;
    let acme = company("Acme Événements", "large", "Hospitality", "B2B", "Belgique", sam)?;

    let client = |name: &str,
                  email: &str,
                  tel: Option<&str>,
                  company: Option<i64>,
                  sales: i64,
                  stage: &str,
                  first: &str,
                  last: Option<&str>|
     -> Result<i64> {
        let (phone, digits) = match tel {
            Some(t) => {
                let (p, d) = phone(t)?;
                (Some(p), Some(d))
            }
            None => (None, None),
        };
        db::client::insert(
            tx,
            &crate::domain::client::Fields {
                phone,
                phone_digits: digits,
                company_id: company,
                last_contact_at: last.map(at).transpose()?,
                ..crate::domain::client::Fields::new(name.into(), email.into(), Some(sales), at(first)?)
            },
            stage,
            sales,
            now,
        )
    };
    let kevin = client(
        "Kevin Casey",
        "kevin@startup.io",
        Some("+678 123 456 78"),
        Some(cool),
        bill,
        "won",
        "2021-04-18",
        Some("2023-03-29"),
    )?;
    let john = client(
        "John Ouick",
        "john.ouick@gmail.com",
        Some("+1 234 567 8901"),
        None,
        bill,
        "won",
        "2022-11-02",
        Some("2023-05-20"),
    )?;
    let jacky = client(
        "Jacky Blangier",
        "jacky@loubouzin.grd",
        Some("+ 666 12345"),
        Some(lou),
        bill,
        "won",
        "2022-09-12",
        Some("2023-04-28"),
    )?;
    client(
        "Agathe Mercier",
        "agathe.mercier@mufflins.fr",
        Some("+33 2 54 00 11 22"),
        Some(mufflins),
        sam,
        "opportunity",
        "2023-01-10",
        None,
    )?;
    client(
        "Léon Dupré",
        "leon.dupre@acme-evenements.be",
        Some("+32 2 555 01 02"),
        Some(acme),
        sam,
        "qualified",
        "2023-02-01",
        None,
    )?;
    client("Zoë O'Brien", "zoe.obrien@example.ie", None, None, bill, "lead", "2023-03-15", None)?;
    client("Marc Petit", "marc.petit@example.fr", None, None, sam, "subscriber", "2023-04-01", None)?;
    client(
        "Nina Schulz",
        "nina.schulz@example.de",
        Some("+49 30 1234567"),
        None,
        bill,
        "lost",
        "2022-06-06",
        Some("2022-12-01"),
    )?;
    // Planted duplicates for `rolo client dedupe`: a second card for Kevin (same phone), one for
    // John under a tagged Gmail address, and Léon again at his company's domain.
    client("K. Casey", "kcasey@startup.io", Some("+678 12345678"), Some(cool), bill, "lead", "2023-01-05", None)?;
    client("Jon Ouick", "john.ouick+events@gmail.com", None, None, sam, "subscriber", "2023-02-10", None)?;
    client("Leon Dupre", "l.dupre@acme-evenements.be", None, None, sam, "lead", "2023-03-01", None)?;

    let contract = |id: Option<i64>, client: i64, total: i64, due: i64, signed: bool| -> Result<i64> {
        db::contract::insert(
            tx,
            &crate::domain::contract::Fields {
                id,
                client_id: client,
                total,
                due,
                currency: "EUR".into(),
                signed_at: signed.then(|| now.to_string()),
            },
            mia,
            now,
        )
    };
    let c652 = contract(Some(652), john, 1_200_000, 300_000, true)?;
    let c412 = contract(Some(412), jacky, 450_000, 0, true)?;
    contract(None, kevin, 800_000, 800_000, false)?;

    let event = |id: i64,
                 contract: i64,
                 name: &str,
                 start: &str,
                 end: &str,
                 support: Option<i64>,
                 location: &str,
                 attendees: i64,
                 notes: &str|
     -> Result<i64> {
        db::event::insert(
            tx,
            Some(id),
            contract,
            &crate::domain::event::Fields {
                name: name.into(),
                starts_at: at(start)?,
                ends_at: at(end)?,
                support_contact_id: support,
                location: location.into(),
                attendees,
                notes: notes.into(),
            },
            bill,
            now,
        )
    };
    event(
        109,
        c652,
        "John Ouick Wedding",
        "4 Jun 2023 @ 1PM",
        "5 Jun 2023 @ 2AM",
        Some(kate),
        "53 Rue du Château, 41120 Candé-sur-Beuvron, France",
        75,
        "Wedding starts at 3PM, by the river. Catering is organized, reception starts at 5PM. Kate needs to organize the DJ for after party.",
    )?;
    event(
        1023,
        c412,
        "Lou Bouzin General Assembly",
        "5 May 2023 @ 3PM",
        "5 May 2023 @ 5PM",
        Some(alienor),
        "Salle des fêtes de Mufflins",
        200,
        "Assemblée générale des actionnaires (~200 personnes).",
    )?;
    event(
        1024,
        c412,
        "Lou Bouzin Summer Party",
        "7 Jul 2023 @ 7PM",
        "8 Jul 2023 @ 1AM",
        None,
        "Jardin des Plantes, Nantes",
        120,
        "",
    )?;

    for (client, kind, when, notes, by) in [
        (kevin, "meeting", "2021-04-18 10:00", "First meeting at their office.", bill),
        (kevin, "phone_call", "2023-03-29 15:30", "Wants a quote for the product launch.", bill),
        (john, "email", "2023-05-20 09:00", "Sent the wedding timeline.", bill),
        (jacky, "event_attendance", "2023-04-28 18:00", "Visited the Salle des fêtes.", bill),
        (jacky, "support_request", "2023-05-02 11:00", "Needs a projector for the assembly.", kate),
    ] {
        db::interaction::insert(tx, client, kind, &at(when)?, notes, by, now)?;
    }
    let kevin_account = user("kevin")?;
    db::user::link_client(tx, kevin_account, kevin)?;
    demo_tickets(tx, now, cool, lou, kevin_account, kate, mia)
}

/// Projects and tickets in every status; `kevin` (client) sees the Cool Startup website only.
fn demo_tickets(tx: &db::Tx, now: &str, cool: i64, lou: i64, kevin: i64, kate: i64, mia: i64) -> Result<()> {
    let site =
        db::project::insert(tx, "Cool Startup Website", cool, "The public website and its contact forms.", mia, now)?;
    let booking =
        db::project::insert(tx, "Lou Bouzin Booking App", lou, "Room booking for the Salle des fêtes.", mia, now)?;
    db::project::grant(tx, site, kevin, mia, now)?;
    let ago = |hours: i64| time::format_utc(Utc::now() - chrono::Duration::hours(hours));
    let ticket = |project: i64, kind: &str, subject: &str, body: &str, author: i64, hours_ago: i64| -> Result<i64> {
        let at = ago(hours_ago);
        let id = db::ticket::insert(tx, project, kind, subject, author, &at)?;
        db::ticket::add_message(tx, id, author, false, body, &at)?;
        Ok(id)
    };
    let reply = |id: i64, by: i64, internal: bool, body: &str, hours_ago: i64| -> Result<()> {
        let at = ago(hours_ago);
        db::ticket::add_message(tx, id, by, internal, body, &at)?;
        if !internal {
            db::ticket::set_first_response(tx, id, &at)?;
        }
        Ok(())
    };
    let status = |id: i64, by: i64, from: &str, to: &str, hours_ago: i64| {
        db::ticket::set_status(tx, id, by, from, to, &ago(hours_ago))
    };

    ticket(
        site,
        "urgent",
        "The contact form sends nothing",
        "Since this morning, messages from the contact form never arrive.",
        kevin,
        2,
    )?;

    let t = ticket(
        site,
        "evolution",
        "Add the new team members to the About page",
        "Three people joined; photos attached later.",
        kevin,
        72,
    )?;
    db::ticket::set_assignee(tx, t, mia, None, Some((kate, "kate")), &ago(71))?;
    reply(t, kate, false, "On it: send the photos when you have them.", 70)?;
    reply(t, kate, true, "Internal: the CMS needs an upgrade before this; do not promise a date.", 69)?;
    status(t, kate, "open", "in_progress", 69)?;

    let t = ticket(
        site,
        "maintenance",
        "Renew the TLS certificate",
        "The browser warns that the certificate expires soon.",
        kevin,
        48,
    )?;
    db::ticket::set_assignee(tx, t, mia, None, Some((kate, "kate")), &ago(47))?;
    reply(t, kate, false, "Which domain registrar do you use? We need access to renew it.", 46)?;
    status(t, kate, "open", "waiting_client", 46)?;

    let t = ticket(site, "maintenance", "Typo on the pricing page", "It says 'anual' instead of 'annual'.", kevin, 30)?;
    reply(t, kate, false, "Fixed, thank you!", 29)?;
    status(t, kate, "open", "resolved", 29)?;

    let t = ticket(site, "evolution", "Newsletter sign-up button", "Could the button be green?", kevin, 300)?;
    reply(t, kate, false, "Done and deployed.", 290)?;
    status(t, kate, "open", "resolved", 290)?;
    status(t, kate, "resolved", "closed", 200)?;

    ticket(booking, "urgent", "Booking calendar shows the wrong dates", "Bookings for May appear in June.", kate, 5)?;
    super::sla::reproject(tx, None, Utc::now())
}
