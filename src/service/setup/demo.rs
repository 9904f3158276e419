//! The demo database's records: seed 002's companies, clients, contracts and events exactly
//! (John Ouick's wedding, Lou Bouzin's general assembly), leads at every stage, planted
//! duplicates, interactions, custom fields, groups, a segment, projects and tickets in every
//! status. Data as tables; each function writes one kind of record.

use chrono::{DateTime, Utc};

use crate::db::{self, Tx};
use crate::domain::crm::phone;
use crate::domain::profile::ConsentSource;
use crate::domain::time;
use crate::{Error, Result};

/// Companies: name, size, industry, business type, country, sales owner.
const COMPANIES: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("Cool Startup LLC", "small", "Software", "B2B", "United States", "bill"),
    ("Lou Bouzin", "medium", "Retail", "B2C", "France", "bill"),
    ("Mairie de Mufflins", "small", "Public sector", "B2G", "France", "sam"),
    ("Acme Événements", "large", "Hospitality", "B2B", "Belgique", "sam"),
];

/// A client card of the demo.
struct DemoClient {
    name: &'static str,
    email: &'static str,
    phone: Option<&'static str>,
    company: Option<&'static str>,
    sales: &'static str,
    stage: &'static str,
    first: &'static str,
    last: Option<&'static str>,
}

#[expect(clippy::too_many_arguments, reason = "one row of the CLIENTS table")]
const fn client(
    name: &'static str,
    email: &'static str,
    phone: Option<&'static str>,
    company: Option<&'static str>,
    sales: &'static str,
    stage: &'static str,
    first: &'static str,
    last: Option<&'static str>,
) -> DemoClient {
    DemoClient { name, email, phone, company, sales, stage, first, last }
}

const CLIENTS: &[DemoClient] = &[
    client(
        "Kevin Casey",
        "kevin@startup.io",
        Some("+678 123 456 78"),
        Some("Cool Startup LLC"),
        "bill",
        "won",
        "2021-04-18",
        Some("2023-03-29"),
    ),
    client(
        "John Ouick",
        "john.ouick@gmail.com",
        Some("+1 234 567 8901"),
        None,
        "bill",
        "won",
        "2022-11-02",
        Some("2023-05-20"),
    ),
    client(
        "Jacky Blangier",
        "jacky@loubouzin.grd",
        Some("+ 666 12345"),
        Some("Lou Bouzin"),
        "bill",
        "won",
        "2022-09-12",
        Some("2023-04-28"),
    ),
    client(
        "Agathe Mercier",
        "agathe.mercier@mufflins.fr",
        Some("+33 2 54 00 11 22"),
        Some("Mairie de Mufflins"),
        "sam",
        "opportunity",
        "2023-01-10",
        None,
    ),
    client(
        "Léon Dupré",
        "leon.dupre@acme-evenements.be",
        Some("+32 2 555 01 02"),
        Some("Acme Événements"),
        "sam",
        "qualified",
        "2023-02-01",
        None,
    ),
    client("Zoë O'Brien", "zoe.obrien@example.ie", None, None, "bill", "lead", "2023-03-15", None),
    client("Marc Petit", "marc.petit@example.fr", None, None, "sam", "subscriber", "2023-04-01", None),
    client(
        "Nina Schulz",
        "nina.schulz@example.de",
        Some("+49 30 1234567"),
        None,
        "bill",
        "lost",
        "2022-06-06",
        Some("2022-12-01"),
    ),
    // Planted duplicates for `rolo client dedupe`: a second card for Kevin (same phone), one for
    // John under a tagged Gmail address, and Léon again at his company's domain.
    client(
        "K. Casey",
        "kcasey@startup.io",
        Some("+678 12345678"),
        Some("Cool Startup LLC"),
        "bill",
        "lead",
        "2023-01-05",
        None,
    ),
    client("Jon Ouick", "john.ouick+events@gmail.com", None, None, "sam", "subscriber", "2023-02-10", None),
    client("Leon Dupre", "l.dupre@acme-evenements.be", None, None, "sam", "lead", "2023-03-01", None),
];

/// Contracts: id (None: the next one), client, total and due in cents, signed.
const CONTRACTS: &[(Option<i64>, &str, i64, i64, bool)] = &[
    (Some(652), "john.ouick@gmail.com", 1_200_000, 300_000, true),
    (Some(412), "jacky@loubouzin.grd", 450_000, 0, true),
    (None, "kevin@startup.io", 800_000, 800_000, false),
];

/// Events: id, contract, name, start, end, support, location, attendees, notes (seed 002's two
/// examples exactly).
type EventRow =
    (i64, i64, &'static str, &'static str, &'static str, Option<&'static str>, &'static str, i64, &'static str);

const EVENTS: &[EventRow] = &[
    (
        109,
        652,
        "John Ouick Wedding",
        "4 Jun 2023 @ 1PM",
        "5 Jun 2023 @ 2AM",
        Some("kate"),
        "53 Rue du Château, 41120 Candé-sur-Beuvron, France",
        75,
        "Wedding starts at 3PM, by the river. Catering is organized, reception starts at 5PM. Kate needs to organize the DJ for after party.",
    ),
    (
        1023,
        412,
        "Lou Bouzin General Assembly",
        "5 May 2023 @ 3PM",
        "5 May 2023 @ 5PM",
        Some("alienor"),
        "Salle des fêtes de Mufflins",
        200,
        "Assemblée générale des actionnaires (~200 personnes).",
    ),
    (
        1024,
        412,
        "Lou Bouzin Summer Party",
        "7 Jul 2023 @ 7PM",
        "8 Jul 2023 @ 1AM",
        None,
        "Jardin des Plantes, Nantes",
        120,
        "",
    ),
];

/// Interactions: client, kind, when, notes, by.
const INTERACTIONS: &[(&str, &str, &str, &str, &str)] = &[
    ("kevin@startup.io", "meeting", "2021-04-18 10:00", "First meeting at their office.", "bill"),
    ("kevin@startup.io", "phone_call", "2023-03-29 15:30", "Wants a quote for the product launch.", "bill"),
    ("john.ouick@gmail.com", "email", "2023-05-20 09:00", "Sent the wedding timeline.", "bill"),
    ("jacky@loubouzin.grd", "event_attendance", "2023-04-28 18:00", "Visited the Salle des fêtes.", "bill"),
    ("jacky@loubouzin.grd", "support_request", "2023-05-02 11:00", "Needs a projector for the assembly.", "kate"),
];

/// Writes the demo's records in the caller's transaction (users exist already).
pub(super) fn fill(tx: &Tx, now: DateTime<Utc>) -> Result<()> {
    companies(tx, now)?;
    clients(tx, now)?;
    contracts_and_events(tx, now)?;
    for (email, kind, when, notes, by) in INTERACTIONS {
        db::interaction::insert(tx, client_id(tx, email)?, kind, at(when)?, notes, user(tx, by)?, now)?;
    }
    db::user::link_client(tx, user(tx, "kevin")?, client_id(tx, "kevin@startup.io")?)?;
    tickets(tx, now)?;
    population(tx, now)?;
    super::demo_mail::fill(tx, now)
}

/// The id of a demo staff member, by username.
pub(super) fn user(tx: &Tx, name: &str) -> Result<i64> {
    db::user::find_by_username(tx, name)?.map(|u| u.id).ok_or_else(|| Error::internal("demo user missing"))
}

fn client_id(tx: &Tx, email: &str) -> Result<i64> {
    db::client::id_by_email(tx, email)?.ok_or_else(|| Error::internal("demo client missing"))
}

fn company_id(tx: &Tx, name: &str) -> Result<i64> {
    db::company::find_by_name(tx, name)?.map(|c| c.id).ok_or_else(|| Error::internal("demo company missing"))
}

fn at(s: &str) -> Result<DateTime<Utc>> {
    time::parse_instant("date", s, Utc::now())
}

fn companies(tx: &Tx, now: DateTime<Utc>) -> Result<()> {
    for (name, size, industry, btype, country, owner) in COMPANIES {
        let owner = user(tx, owner)?;
        let fields = crate::domain::company::Fields {
            name: name.to_string(),
            size: Some(size.to_string()),
            industry: Some(industry.to_string()),
            business_type: Some(btype.to_string()),
            country: Some(country.to_string()),
            currency: "EUR".into(),
            sales_owner_id: Some(owner),
            ..Default::default()
        };
        db::company::insert(tx, &fields, owner, now)?;
    }
    Ok(())
}

fn clients(tx: &Tx, now: DateTime<Utc>) -> Result<()> {
    for c in CLIENTS {
        let sales = user(tx, c.sales)?;
        let (phone, digits) = match c.phone.map(phone).transpose()? {
            Some((p, d)) => (Some(p), Some(d)),
            None => (None, None),
        };
        let fields = crate::domain::client::Fields {
            phone,
            phone_digits: digits,
            company_id: c.company.map(|name| company_id(tx, name)).transpose()?,
            last_contact_at: c.last.map(at).transpose()?.map(time::format_utc),
            ..crate::domain::client::Fields::new(
                c.name.into(),
                c.email.into(),
                Some(sales),
                time::format_utc(at(c.first)?),
            )
        };
        db::client::insert(tx, &fields, c.stage, sales, now)?;
    }
    Ok(())
}

fn contracts_and_events(tx: &Tx, now: DateTime<Utc>) -> Result<()> {
    let (mia, bill) = (user(tx, "mia")?, user(tx, "bill")?);
    for (id, email, total, due, signed) in CONTRACTS {
        let fields = crate::domain::contract::Fields {
            id: *id,
            client_id: client_id(tx, email)?,
            total: *total,
            due: *due,
            currency: "EUR".into(),
            signed_at: signed.then(|| time::format_utc(now)),
        };
        db::contract::insert(tx, &fields, mia, now)?;
    }
    for (id, contract, name, start, end, support, location, attendees, notes) in EVENTS {
        let fields = crate::domain::event::Fields {
            name: name.to_string(),
            starts_at: time::format_utc(at(start)?),
            ends_at: time::format_utc(at(end)?),
            support_contact_id: support.map(|u| user(tx, u)).transpose()?,
            location: location.to_string(),
            attendees: *attendees,
            notes: notes.to_string(),
        };
        db::event::insert(tx, Some(*id), *contract, &fields, bill, now)?;
    }
    Ok(())
}

/// Population management in the demo: two custom fields with values, consent, a group of
/// each kind and a saved segment.
fn population(tx: &Tx, now: DateTime<Utc>) -> Result<()> {
    use crate::domain::profile::{FieldDef, FieldKind, FieldOrigin, GroupKind};
    let mark = user(tx, "mark")?;
    let field = |key: &str, label: &str, kind, choices: &[&str], origin, personal_data| FieldDef {
        key: key.into(),
        label: label.into(),
        kind,
        choices: choices.iter().map(|c| c.to_string()).collect(),
        mandatory: false,
        // The sector may appear in e-mails ("vos formations en Tech"); the budget never.
        public: key == "sector",
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
        let change = crate::service::consent::Change {
            detail: Some("demo data"),
            ..crate::service::consent::change(id, Some(&f.consent), consent, ConsentSource::Manual, None)
        };
        crate::service::consent::note(tx, &change, now)?;
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

/// Two projects, Kevin's access to one, and tickets in every status (times relative to now,
/// so SLA clocks show every state).
fn tickets(tx: &Tx, now: DateTime<Utc>) -> Result<()> {
    let (cool, lou) = (company_id(tx, "Cool Startup LLC")?, company_id(tx, "Lou Bouzin")?);
    let (kevin, kate, mia) = (user(tx, "kevin")?, user(tx, "kate")?, user(tx, "mia")?);
    let site =
        db::project::insert(tx, "Cool Startup Website", cool, "The public website and its contact forms.", mia, now)?;
    let booking =
        db::project::insert(tx, "Lou Bouzin Booking App", lou, "Room booking for the Salle des fêtes.", mia, now)?;
    db::project::grant(tx, site, kevin, mia, now)?;
    let ago = |hours: i64| Utc::now() - chrono::Duration::hours(hours);
    let ticket = |project: i64, kind: &str, subject: &str, body: &str, author: i64, hours_ago: i64| -> Result<i64> {
        let at = ago(hours_ago);
        let id = db::ticket::insert(tx, project, kind, subject, author, at)?;
        db::ticket::add_message(tx, id, author, false, body, at)?;
        Ok(id)
    };
    let reply = |id: i64, by: i64, internal: bool, body: &str, hours_ago: i64| -> Result<()> {
        let at = ago(hours_ago);
        db::ticket::add_message(tx, id, by, internal, body, at)?;
        if !internal {
            db::ticket::set_first_response(tx, id, at)?;
        }
        Ok(())
    };
    let status = |id: i64, by: i64, from: &str, to: &str, hours_ago: i64| {
        db::ticket::set_status(tx, id, by, from, to, ago(hours_ago))
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
    db::ticket::set_assignee(tx, t, mia, None, Some((kate, "kate")), ago(71))?;
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
    db::ticket::set_assignee(tx, t, mia, None, Some((kate, "kate")), ago(47))?;
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
    crate::service::sla::reproject(tx, None, Utc::now())
}
