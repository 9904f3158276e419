//! Applications: the company's other programs, using Rolo's e-mailing service through the API
//! of `rolo serve` with a key (seed 000's second actor). Each holds scopes, never permissions of
//! a staff role.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What an application may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Send messages (and read the status of its own).
    #[serde(rename = "mail:send")]
    MailSend,
    /// Add or complete contacts with consent.
    #[serde(rename = "contact:subscribe")]
    ContactSubscribe,
}

impl Scope {
    pub const ALL: &'static [Scope] = &[Scope::MailSend, Scope::ContactSubscribe];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::MailSend => "mail:send",
            Scope::ContactSubscribe => "contact:subscribe",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = Error;
    fn from_str(s: &str) -> Result<Scope> {
        Scope::ALL.iter().copied().find(|x| x.as_str() == s.trim()).ok_or_else(|| {
            Error::invalid("scope", format!("`{}` is not a scope (mail:send, contact:subscribe)", s.trim()))
        })
    }
}

/// A key of an application, as `rolo app show` tells it (never the key itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Its first characters.
    pub prefix: String,
    pub created_at: String,
    /// When a rotated-out key stops working.
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Application {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Requests per second (0: no limit).
    pub rate: i64,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// API calls made with its keys.
    pub calls: i64,
    /// Messages it queued.
    pub messages: i64,
    pub last_used_at: Option<String>,
    pub keys: Vec<KeyInfo>,
}

/// A new application and its key, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct Issued {
    #[serde(flatten)]
    pub app: Application,
    pub key: String,
}

/// An application authenticated by its key: the principal of an API request.
#[derive(Debug, Clone)]
pub struct AppPrincipal {
    pub id: i64,
    pub name: String,
    /// The user who created it: contacts it adds are that user's clients.
    pub owner_id: i64,
    pub scopes: Vec<Scope>,
    pub rate: i64,
}

impl AppPrincipal {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// `Bearer` keys start with this, so a leaked one is recognisable by secret scanners.
pub const KEY_PREFIX: &str = "rolo_";

/// A name: letters, digits, `.`, `_`, `-`, 1 to 64.
pub fn check_name(s: &str) -> Result<String> {
    let s = s.trim();
    let ok = (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(s.to_string())
    } else {
        Err(Error::invalid("name", format!("`{s}` must be 1–64 letters, digits, `.`, `_` or `-`")))
    }
}
