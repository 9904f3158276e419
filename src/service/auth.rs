//! Logging in and out, and turning stored tokens back into a [`Session`].
//!
//! Passwords are argon2id at OWASP parameters (19 MiB, 2 passes) and checked only at login.
//! A login yields an access token (1 h) and a refresh token (30 days), 256 random bits each;
//! the database keeps only their SHA-256 digests, so every other command verifies with one
//! fast hash. An expired access token is refreshed transparently and both tokens rotate.
//! Five failed logins in a row lock the account for 15 minutes.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::authz::{Actor, Session, audit_as, system_key};
use crate::db::{self, Db};
use crate::domain::audit::Outcome;
use crate::domain::{time, validate};
use crate::secrets::{Secret, StoredTokens, hex};
use crate::{Error, Result};

pub const ACCESS_TTL: Duration = Duration::hours(1);
pub const REFRESH_TTL: Duration = Duration::days(30);
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT: Duration = Duration::minutes(15);

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| Error::internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into a PHC string.
pub fn hash_password(password: &Secret<String>) -> Result<String> {
    let hash = argon2()?
        .hash_password(password.expose().as_bytes())
        .map_err(|e| Error::internal(format!("password hashing failed: {e}")))?;
    Ok(hash.to_string())
}

fn verify_password(password: &Secret<String>, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    argon2().is_ok_and(|a| a.verify_password(password.expose().as_bytes(), &parsed).is_ok())
}

/// A hash of a password nobody has, verified against for unknown users so that a wrong
/// username takes as long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let random = new_token("decoy").map(|t| t.expose().clone()).unwrap_or_default();
        hash_password(&Secret::new(random)).unwrap_or_default()
    })
}

fn new_token(kind: &str) -> Result<Secret<String>> {
    Ok(Secret::new(format!("rolo_{kind}_{}", crate::secrets::random_hex(32)?)))
}

/// The SHA-256 digest under which a token is stored.
pub fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A fresh pair of tokens, with their expiry.
pub struct IssuedTokens {
    pub tokens: StoredTokens,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_expires_at: DateTime<Utc>,
}

fn issue(now: DateTime<Utc>) -> Result<IssuedTokens> {
    Ok(IssuedTokens {
        tokens: StoredTokens { access: new_token("at")?, refresh: new_token("rt")? },
        access_expires_at: now + ACCESS_TTL,
        refresh_expires_at: now + REFRESH_TTL,
    })
}

/// The digests a session row keeps of a fresh pair of tokens.
fn digests(t: &IssuedTokens) -> (String, String) {
    (digest(t.tokens.access.expose()), digest(t.tokens.refresh.expose()))
}

const WRONG_CREDENTIALS: &str = "wrong username or password";

/// One audited login attempt, in its own transaction (a failure must leave its trace even
/// though the login itself fails).
fn audit_attempt(
    db: &Db,
    actor: Option<&Actor>,
    action: &str,
    user_id: Option<i64>,
    outcome: Outcome,
    detail: &str,
) -> Result<()> {
    db.write(&system_key(), |tx| audit_as(tx, actor, action, "user", user_id, outcome, Some(detail), None, None))
}

/// Checks a username and password; on success opens a session and returns its tokens.
pub fn login(db: &Db, username: &str, password: &Secret<String>) -> Result<(Actor, IssuedTokens)> {
    login_where(db, username, password, |_| None).map(|(actor, tokens, _)| (actor, tokens))
}

/// [`login`] for one kind of account: `refuse` names why an account that gave the right
/// password may not open this kind of session (the client portal takes client accounts only);
/// the refusal is audited and opens nothing. Returns the session's id too.
pub fn login_where(
    db: &Db,
    username: &str,
    password: &Secret<String>,
    refuse: impl Fn(&Actor) -> Option<&'static str>,
) -> Result<(Actor, IssuedTokens, i64)> {
    let now = Utc::now();
    let Some(user) = db::user::find_by_username(db, username)? else {
        verify_password(password, decoy_hash());
        let detail = format!("unknown username `{}`", validate::excerpt(username.trim()));
        audit_attempt(db, None, "login.failed", None, Outcome::Failed, &detail)?;
        return Err(Error::auth(WRONG_CREDENTIALS));
    };
    let actor = Actor::load(db, user.clone())?;
    let locked_until = user.locked_until.as_deref().map(time::parse_stored).transpose()?;
    if let Some(until) = locked_until.filter(|u| *u > now) {
        audit_attempt(db, Some(&actor), "login.locked", Some(user.id), Outcome::Denied, "attempt while locked")?;
        return Err(Error::auth(format!(
            "account `{}` is locked after {MAX_FAILED_LOGINS} failed logins until {}; try again later",
            user.username,
            time::display_local(until)
        )));
    }
    if !verify_password(password, &db::user::password_hash(db, user.id)?) {
        return Err(wrong_password(db, &actor, now));
    }
    if !user.active {
        audit_attempt(db, Some(&actor), "login.failed", Some(user.id), Outcome::Denied, "account deactivated")?;
        return Err(Error::auth(format!("account `{}` is deactivated", user.username)));
    }
    if let Some(why) = refuse(&actor) {
        audit_attempt(db, Some(&actor), "login.failed", Some(user.id), Outcome::Denied, why)?;
        return Err(Error::auth(why));
    }
    let issued = issue(now)?;
    let (ah, rh) = digests(&issued);
    let sid = db.write(&system_key(), |tx| {
        db::user::record_login(tx, user.id, now)?;
        let tokens = db::session::NewTokens {
            access_hash: &ah,
            access_expires_at: issued.access_expires_at,
            refresh_hash: &rh,
            refresh_expires_at: issued.refresh_expires_at,
        };
        let sid = db::session::insert(tx, user.id, &tokens, now)?;
        audit_as(tx, Some(&actor), "login", "session", Some(sid), Outcome::Ok, None, None, None)?;
        Ok(sid)
    })?;
    Ok((actor, issued, sid))
}

/// Counts a wrong password; the fifth in a row locks the account for 15 minutes. Returns the
/// error to answer (or the failure to record it, which wins).
fn wrong_password(db: &Db, actor: &Actor, now: DateTime<Utc>) -> Error {
    let recorded = db.write(&system_key(), |tx| {
        let failures = db::user::add_failed_login(tx, actor.id)?;
        audit_as(
            tx,
            Some(actor),
            "login.failed",
            "user",
            Some(actor.id),
            Outcome::Failed,
            Some("wrong password"),
            None,
            None,
        )?;
        if failures < MAX_FAILED_LOGINS {
            return Ok(false);
        }
        db::user::lock(tx, actor.id, now + LOCKOUT)?;
        let detail = format!("{failures} failed logins in a row: locked for 15 minutes");
        audit_as(tx, Some(actor), "login.lockout", "user", Some(actor.id), Outcome::Denied, Some(&detail), None, None)?;
        Ok(true)
    });
    match recorded {
        Ok(true) => Error::auth(format!("{WRONG_CREDENTIALS}; the account is now locked for 15 minutes")),
        Ok(false) => Error::auth(WRONG_CREDENTIALS),
        Err(e) => e,
    }
}

/// The credentials a command presents: from the store, or `ROLO_TOKEN` (access only).
pub struct Credentials {
    pub access: Option<Secret<String>>,
    pub refresh: Option<Secret<String>>,
}

/// A resumed session, and new tokens to store when the old ones were rotated.
pub struct Resumed<'db> {
    pub session: Session<'db>,
    /// The session's row: stable across rotations (the portal's form tokens name it).
    pub session_id: i64,
    pub rotated: Option<IssuedTokens>,
    pub access_expires_at: DateTime<Utc>,
}

const NOT_LOGGED_IN: &str = "not logged in; run `rolo login`";

/// Turns credentials into a session, refreshing (and rotating) an expired access token.
pub fn resume<'db>(db: &'db Db, creds: &Credentials) -> Result<Resumed<'db>> {
    let now = Utc::now();
    if let Some(access) = &creds.access
        && let Some(row) = db::session::by_access_hash(db, &digest(access.expose()))?
    {
        if row.revoked_at.is_some() {
            return Err(Error::auth("this session was revoked; log in again with `rolo login`"));
        }
        let expires = time::parse_stored(&row.access_expires_at)?;
        if expires > now {
            let session = open(db, row.user_id)?;
            return Ok(Resumed { session, session_id: row.id, rotated: None, access_expires_at: expires });
        }
    }
    let Some(refresh) = &creds.refresh else {
        return Err(Error::auth(if creds.access.is_some() {
            "the session token has expired or is not known to this database; log in again with `rolo login`"
        } else {
            NOT_LOGGED_IN
        }));
    };
    let Some(row) = db::session::by_refresh_hash(db, &digest(refresh.expose()))? else {
        return Err(Error::auth(
            "the session is not known to this database (revoked or replaced); log in again with `rolo login`",
        ));
    };
    if row.revoked_at.is_some() {
        return Err(Error::auth("this session was revoked; log in again with `rolo login`"));
    }
    if time::parse_stored(&row.refresh_expires_at)? <= now {
        return Err(Error::auth("the session has expired; log in again with `rolo login`"));
    }
    let session = open(db, row.user_id)?;
    let issued = issue(now)?;
    let (ah, rh) = digests(&issued);
    db.write(&system_key(), |tx| {
        let tokens = db::session::NewTokens {
            access_hash: &ah,
            access_expires_at: issued.access_expires_at,
            refresh_hash: &rh,
            refresh_expires_at: issued.refresh_expires_at,
        };
        db::session::rotate(tx, row.id, &tokens, now)?;
        audit_as(tx, Some(session.actor()), "session.refresh", "session", Some(row.id), Outcome::Ok, None, None, None)
    })?;
    let access_expires_at = issued.access_expires_at;
    Ok(Resumed { session, session_id: row.id, rotated: Some(issued), access_expires_at })
}

pub(crate) fn open(db: &Db, user_id: i64) -> Result<Session<'_>> {
    let user = db::user::get(db, user_id)?.ok_or_else(|| Error::auth(NOT_LOGGED_IN))?;
    if !user.active {
        return Err(Error::auth(format!("account `{}` is deactivated", user.username)));
    }
    Ok(Session::new(db, Actor::load(db, user)?))
}

/// Revokes the session these credentials belong to; `false` when there was none to revoke.
pub fn logout(db: &Db, creds: &Credentials) -> Result<bool> {
    let mut row = None;
    if let Some(a) = &creds.access {
        row = db::session::by_access_hash(db, &digest(a.expose()))?;
    }
    if row.is_none()
        && let Some(r) = &creds.refresh
    {
        row = db::session::by_refresh_hash(db, &digest(r.expose()))?;
    }
    let Some(row) = row.filter(|r| r.revoked_at.is_none()) else { return Ok(false) };
    let user = db::user::get(db, row.user_id)?;
    let actor = user.map(|u| Actor::load(db, u)).transpose()?;
    let stamp = Utc::now();
    db.write(&system_key(), |tx| {
        db::session::revoke(tx, row.id, "logout", stamp)?;
        audit_as(tx, actor.as_ref(), "logout", "session", Some(row.id), Outcome::Ok, None, None, None)
    })?;
    Ok(true)
}

/// Verifies a user's password without the login bookkeeping (for re-authentication).
pub(super) fn login_check(db: &Db, user_id: i64, password: &Secret<String>) -> Result<Option<()>> {
    let hash = db::user::password_hash(db, user_id)?;
    Ok(verify_password(password, &hash).then_some(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_owasp_parameters_and_verify() {
        let pw = Secret::new("correct horse battery".to_string());
        let h = hash_password(&pw).expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&pw, &h));
        assert!(!verify_password(&Secret::new("wrong horse battery".into()), &h));
        assert!(!verify_password(&pw, decoy_hash()));
    }

    #[test]
    fn tokens_are_256_bits_and_distinct() {
        let a = new_token("at").expect("token");
        let b = new_token("at").expect("token");
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), "rolo_at_".len() + 64);
        assert_eq!(digest(a.expose()).len(), 64);
    }
}
