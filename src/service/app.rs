//! `rolo app …`: the applications that use the e-mailing service through the API, their scoped
//! keys (shown once, stored as SHA-256), rotation with a grace period, revocation; and the
//! authentication of an API request by its key.

use chrono::{DateTime, Duration, Utc};

use super::authz::{Session, system_key};
use crate::db;
use crate::domain::Permission;
use crate::domain::app::{AppPrincipal, Application, Issued, KEY_PREFIX, Scope, check_name};
use crate::secrets::hex;
use crate::{Error, ErrorKind, Result};

/// How long a rotated-out key keeps working when `rotate` is not told.
pub const DEFAULT_GRACE: Duration = Duration::hours(24);

pub fn list(session: &Session) -> Result<Vec<Application>> {
    session.require(Permission::AppRead)?;
    db::app::list(session.db())
}

pub fn show(session: &Session, name: &str) -> Result<Application> {
    session.require(Permission::AppRead)?;
    find(session.db(), name)
}

fn find(r: &impl db::Read, name: &str) -> Result<Application> {
    db::app::get(r, name)?.ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no application `{}`", name.trim())))
}

fn digest(key: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, key.as_bytes()).as_ref())
}

/// A fresh key: the prefix and 32 random bytes in hex.
fn fresh_key() -> Result<String> {
    Ok(format!("{KEY_PREFIX}{}", crate::secrets::random_hex(32)?))
}

fn shown_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX.len() + 6).collect()
}

/// Creates an application with its scopes and rate (`20/s`, `0` for none); the key is in the
/// answer and nowhere else.
pub fn create(session: &Session, name: &str, scopes: &[String], rate: Option<&str>) -> Result<Issued> {
    let grant = session.require(Permission::AppManage)?;
    let name = check_name(name)?;
    if scopes.is_empty() {
        return Err(Error::usage("an application needs at least one --scope (mail:send, contact:subscribe)"));
    }
    let mut parsed = scopes.iter().flat_map(|s| s.split(',')).map(str::parse::<Scope>).collect::<Result<Vec<_>>>()?;
    parsed.sort();
    parsed.dedup();
    let rate = match rate {
        Some(r) => crate::domain::campaign::parse_rate(r)?,
        None => 20,
    };
    if db::app::get(session.db(), &name)?.is_some() {
        return Err(Error::conflict(format!("an application `{name}` already exists")));
    }
    let key = fresh_key()?;
    let now = Utc::now();
    grant.write(|tx| {
        let scopes = serde_json::to_string(&parsed)?;
        let id = db::app::insert(tx, &db::app::NewApp { name: &name, scopes: &scopes, rate }, session.actor().id, now)?;
        db::app::add_key(tx, id, &digest(&key), &shown_prefix(&key), now)?;
        let app = find(tx, &name)?;
        grant.audit(tx, "app.create", "app", Some(id), None, Some(&app))?;
        Ok(Issued { app, key: key.clone() })
    })
}

/// A new key; the ones before keep working for `grace` (then answer 401).
pub fn rotate(session: &Session, name: &str, grace: Option<Duration>) -> Result<Issued> {
    let grant = session.require(Permission::AppManage)?;
    let app = find(session.db(), name)?;
    if app.revoked_at.is_some() {
        return Err(Error::conflict(format!("application `{}` is revoked", app.name)));
    }
    let grace = grace.unwrap_or(DEFAULT_GRACE);
    if grace < Duration::zero() {
        return Err(Error::invalid("grace", "must not be negative"));
    }
    let key = fresh_key()?;
    let now = Utc::now();
    grant.write(|tx| {
        db::app::expire_keys(tx, app.id, now + grace)?;
        db::app::add_key(tx, app.id, &digest(&key), &shown_prefix(&key), now)?;
        let after = find(tx, &app.name)?;
        let detail = serde_json::json!({"grace_seconds": grace.num_seconds()});
        grant.audit(tx, "app.rotate", "app", Some(app.id), Some(&detail), Some(&after))?;
        Ok(Issued { app: after, key: key.clone() })
    })
}

/// Revokes an application: every key stops at once.
pub fn revoke(session: &Session, name: &str) -> Result<Application> {
    let grant = session.require(Permission::AppManage)?;
    let app = find(session.db(), name)?;
    let now = Utc::now();
    grant.write(|tx| {
        db::app::revoke(tx, app.id, now)?;
        let after = find(tx, &app.name)?;
        grant.audit(tx, "app.revoke", "app", Some(app.id), Some(&app), Some(&after))?;
        Ok(after)
    })
}

/// The application an `Authorization: Bearer KEY` names, counted as one call; an unknown,
/// revoked or expired key is an authentication error (401).
pub fn authenticate(db: &db::Db, key: &str, now: DateTime<Utc>) -> Result<AppPrincipal> {
    let refused = || Error::auth("this API key is unknown, revoked or expired");
    if !key.starts_with(KEY_PREFIX) || key.len() > 200 {
        return Err(refused());
    }
    let app = db::app::principal(db, &digest(key), now)?.ok_or_else(refused)?;
    db.write(&system_key(), |tx| db::app::touch(tx, app.id, now))?;
    Ok(app)
}

/// `--grace 24h`, `30m`, `7d`, `0`.
pub fn parse_grace(text: &str) -> Result<Duration> {
    let t = text.trim();
    let (n, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = n.parse().map_err(|_| Error::invalid("grace", format!("`{t}` is not a duration like 24h")))?;
    match unit {
        "" | "s" if n == 0 => Ok(Duration::zero()),
        "s" => Ok(Duration::seconds(n)),
        "m" => Ok(Duration::minutes(n)),
        "h" => Ok(Duration::hours(n)),
        "d" => Ok(Duration::days(n)),
        _ => Err(Error::invalid("grace", format!("`{t}` is not a duration like 24h"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::{demo, session_as};

    #[test]
    fn keys_open_only_their_application_while_it_stands() {
        let db = demo();
        let admin = session_as(&db, "admin");
        let issued = create(&admin, "billing", &["mail:send".into()], Some("5/s")).expect("create");
        assert!(issued.key.starts_with(KEY_PREFIX) && issued.key.len() == KEY_PREFIX.len() + 64);
        assert!(!db.dump().expect("dump").contains(&issued.key), "only the hash is stored");
        let now = Utc::now();
        let app = authenticate(&db, &issued.key, now).expect("the key opens it");
        assert_eq!(
            (app.name.as_str(), app.rate, app.has(Scope::MailSend), app.has(Scope::ContactSubscribe)),
            ("billing", 5, true, false)
        );
        for bad in
            ["", "rolo_", &issued.key[..issued.key.len() - 1], &format!("{}0", issued.key), &issued.key.to_uppercase()]
        {
            assert_eq!(authenticate(&db, bad, now).expect_err(bad).kind(), ErrorKind::Auth, "{bad:?}");
        }
        // Rotation: both keys during the grace period, only the new one after.
        let rotated = rotate(&admin, "billing", Some(Duration::hours(1))).expect("rotate");
        assert!(authenticate(&db, &issued.key, now).is_ok() && authenticate(&db, &rotated.key, now).is_ok());
        let later = now + Duration::hours(2);
        assert_eq!(authenticate(&db, &issued.key, later).expect_err("old").kind(), ErrorKind::Auth);
        assert!(authenticate(&db, &rotated.key, later).is_ok());
        let shown = show(&admin, "billing").expect("show");
        assert_eq!((shown.keys.len(), shown.calls), (2, 4), "two keys listed, four successful calls counted");
        revoke(&admin, "billing").expect("revoke");
        assert_eq!(authenticate(&db, &rotated.key, now).expect_err("revoked").kind(), ErrorKind::Auth);
        assert_eq!(rotate(&admin, "billing", None).expect_err("revoked").kind(), ErrorKind::Conflict);
    }

    #[test]
    fn bad_names_scopes_and_rates_are_named() {
        let db = demo();
        let admin = session_as(&db, "admin");
        for (name, scopes, rate, field) in [
            ("bad name", vec!["mail:send".to_string()], None, "name"),
            ("ok", vec!["mail:everything".to_string()], None, "scope"),
            ("ok", vec!["mail:send".to_string()], Some("fast"), "rate"),
        ] {
            let e = create(&admin, name, &scopes, rate).expect_err(name);
            assert!(e.kind() == ErrorKind::Invalid && e.message().contains(field), "{field}: {e}");
        }
        assert_eq!(create(&admin, "ok", &[], None).expect_err("no scope").kind(), ErrorKind::Usage);
        create(&admin, "ok", &["mail:send,contact:subscribe".into()], None).expect("create");
        assert_eq!(create(&admin, "OK", &["mail:send".into()], None).expect_err("dup").kind(), ErrorKind::Conflict);
        assert_eq!(parse_grace("24h").expect("24h"), Duration::hours(24));
        assert_eq!(parse_grace("0").expect("0"), Duration::zero());
        assert!(parse_grace("soon").is_err() && parse_grace("5w").is_err());
    }
}
