//! Short links (`/s/CODE`): `rolo campaign link …` for staff, and the redirect `rolo serve`
//! makes for anyone. A hit is counted (people and machines apart, and the campaign recipient
//! when the link carries their autologin token) and redirected to the stored URL; an expired
//! or unknown code is 404.

use chrono::Utc;

use crate::db::{self, Db};
use crate::domain::Permission;
use crate::domain::campaign::Bucket;
use crate::domain::links::ShortLink;
use crate::domain::token::{self, Purpose};
use crate::domain::{time, validate};
use crate::service::authz::{Session, system_key};
use crate::{Error, ErrorKind, Result};

pub fn list(session: &Session) -> Result<Vec<ShortLink>> {
    session.require(Permission::LinkRead)?;
    db::links::short_links(session.db())
}

fn find(db: &Db, code: &str) -> Result<ShortLink> {
    db::links::short_link(db, code.trim())?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no short link `{}`", code.trim())))
}

/// What a new short link is.
#[derive(Debug, Clone, Default)]
pub struct NewLink {
    pub url: String,
    pub code: Option<String>,
    pub campaign: Option<i64>,
    /// A date or instant (`2027-01-31`, `+30d`).
    pub expires: Option<String>,
}

pub fn create(session: &Session, input: &NewLink) -> Result<ShortLink> {
    let grant = session.require(Permission::LinkManage)?;
    let db = session.db();
    let url = validate::text("url", &input.url, 2000)?;
    let web = url.starts_with("https://") || url.starts_with("http://");
    if !(web || (url.starts_with('/') && !url.starts_with("//"))) || url.chars().any(char::is_whitespace) {
        return Err(Error::invalid("url", "give an http(s):// address or a path of this server (`/p/offer`)"));
    }
    let code = match &input.code {
        Some(c) => {
            let c = c.trim();
            let ok =
                (1..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(Error::invalid("code", format!("`{c}` must be 1–64 letters, digits, `-` or `_`")));
            }
            c.to_string()
        }
        None => random_code()?,
    };
    if db::links::short_link(db, &code)?.is_some() {
        return Err(Error::conflict(format!("the short link `{code}` already exists")));
    }
    if let Some(id) = input.campaign {
        db::campaign::get(db, id)?.ok_or_else(|| Error::not_found("campaign", id))?;
    }
    let now = Utc::now();
    let expires = input.expires.as_deref().map(|e| time::parse_instant("expires", e, now)).transpose()?;
    if expires.is_some_and(|e| e <= now) {
        return Err(Error::invalid("expires", "is in the past"));
    }
    let expires = expires.map(time::format_utc);
    let new =
        db::links::NewShortLink { code: &code, url: &url, campaign_id: input.campaign, expires_at: expires.as_deref() };
    grant.write(|tx| {
        let id = db::links::insert_short_link(tx, &new, session.actor().id, now)?;
        let link = db::links::short_link(tx, &code)?.ok_or_else(|| Error::internal("short link vanished"))?;
        grant.audit(tx, "link.create", "link", Some(id), None, Some(&link))?;
        Ok(link)
    })
}

pub fn delete(session: &Session, code: &str) -> Result<ShortLink> {
    let grant = session.require(Permission::LinkManage)?;
    let link = find(session.db(), code)?;
    grant.write(|tx| {
        db::links::delete_short_link(tx, link.id)?;
        grant.audit(tx, "link.delete", "link", Some(link.id), Some(&link), None)?;
        Ok(link.clone())
    })
}

/// A link's counts and its hits per day.
pub fn stats(session: &Session, code: &str) -> Result<(ShortLink, Vec<Bucket>)> {
    session.require(Permission::LinkRead)?;
    let link = find(session.db(), code)?;
    let days = db::links::short_timeline(session.db(), link.id)?;
    Ok((link, days))
}

/// Seven random letters and digits.
fn random_code() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 7];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect())
}

/// `GET /s/CODE`: counts the hit and answers where it goes. A recipient's autologin token
/// (`r`) is counted as theirs and carried on to this server's landing pages.
pub fn follow(db: &Db, code: &str, r: Option<&str>, user_agent: Option<&str>, public: Option<&str>) -> Result<String> {
    let (id, url, expires) =
        db::links::short_target(db, code)?.ok_or_else(|| Error::new(ErrorKind::NotFound, "no such link"))?;
    let now = Utc::now();
    if expires.as_deref().and_then(|e| time::parse_stored(e).ok()).is_some_and(|e| e <= now) {
        return Err(Error::new(ErrorKind::NotFound, "this link has expired"));
    }
    let secret = super::token_secret(db)?;
    let row = r.and_then(|t| token::verify(&secret, Purpose::Autologin, t)).filter(|row| *row > 0);
    let row = match row {
        Some(row) => db::inbound::target(db, row)?.map(|t| t.row),
        None => None,
    };
    let machine = super::tracking::is_machine(user_agent, None);
    db.write(&system_key(), |tx| db::links::short_hit(tx, id, row, machine, now))?;
    let path = url.strip_prefix(public.unwrap_or("\u{0}")).unwrap_or(&url);
    Ok(match (r, row) {
        (Some(t), Some(_)) if path.starts_with("/p/") => crate::domain::links::with_param(&url, "r", t),
        _ => url,
    })
}
