//! `rolo init`: the first administrator of a new database, and the demo database (its data
//! in `demo`).

mod demo;
mod demo_mail;

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
    let now = Utc::now();
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
                now,
            },
        )?;
        let role = db::role::find(tx, ADMIN_ROLE)?.ok_or_else(|| Error::internal("the admin role is missing"))?;
        db::role::grant(tx, id, role.id, None, now)?;
        tx.set_meta("initialised_at", &time::format_utc(now))?;
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
    let now = Utc::now();
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
                &db::user::NewUser { username, full_name: name, email, password_hash: hash, created_by: admin_id, now },
            )?;
            admin_id.get_or_insert(id);
            let role = db::role::find(tx, role)?.ok_or_else(|| Error::internal("built-in role missing"))?;
            db::role::grant(tx, id, role.id, admin_id, now)?;
        }
        demo::fill(tx, now)?;
        tx.set_meta("initialised_at", &time::format_utc(now))?;
        tx.set_meta("demo", "1")?;
        audit_as(tx, None, "init.demo", "database", None, Outcome::Ok, Some("demo database created"), None, None)?;
        Ok(demo_accounts())
    })
}
