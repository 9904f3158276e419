//! Contacts that arrive from outside — a landing page's form, an application's API call — and
//! are not a staff member typing `client create`: the same checks (e-mail, name, phone, custom
//! fields against the registry, mandatory fields for a new client), the same dedupe (one client
//! per address), but an existing client is only *completed*: a value it has is never replaced,
//! since whoever submits may not be that person.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::db::{self, Db, Tx};
use crate::domain::client::Fields;
use crate::domain::crm;
use crate::domain::profile::{FieldDef, FieldKind};
use crate::domain::validate;
use crate::secrets::hex;
use crate::{Error, Result};

/// A contact checked, ready to be written.
#[derive(Debug, Clone)]
pub struct Checked {
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<(String, String)>,
    pub custom: serde_json::Map<String, serde_json::Value>,
    pub registry: Vec<FieldDef>,
}

/// Checks what was given; `fields` are custom field values by key, as typed (a `bool` field
/// given as a checkbox: present or not). Only the custom fields in `allowed` are read (all when
/// None); another key is refused by name.
pub fn check(
    db: &Db,
    email: &str,
    name: Option<&str>,
    phone: Option<&str>,
    fields: &BTreeMap<String, String>,
    allowed: Option<&[String]>,
) -> Result<Checked> {
    let given = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(String::from);
    let email = validate::email("email", email.trim())?;
    let name = given(name).map(|n| validate::text("name", &n, 200)).transpose()?;
    let phone = given(phone).map(|p| crm::phone(&p)).transpose()?;
    let registry = db::population::fields(db)?;
    let mut custom = serde_json::Map::new();
    match allowed {
        Some(keys) => {
            for d in registry.iter().filter(|d| keys.contains(&d.key)) {
                let raw = match (d.kind, fields.get(&d.key)) {
                    (FieldKind::Bool, v) => if v.is_some() { "yes" } else { "no" }.to_string(),
                    (_, Some(v)) => v.clone(),
                    (_, None) => String::new(),
                };
                if let Some(v) = d.parse(&raw)? {
                    custom.insert(d.key.clone(), v);
                }
            }
        }
        None => {
            for (key, raw) in fields {
                let d = registry.iter().find(|d| d.key == key.trim()).ok_or_else(|| {
                    Error::invalid("fields", format!("`{key}` is not a client field (see `rolo client field list`)"))
                })?;
                if let Some(v) = d.parse(raw)? {
                    custom.insert(d.key.clone(), v);
                }
            }
        }
    }
    Ok(Checked { email, name, phone, custom, registry })
}

/// Creates the client (owned by `owner`, a lead) or completes the one with this address.
/// Returns its id and its consent before (None for a new client).
pub fn upsert(tx: &Tx, c: &Checked, owner: i64, now: DateTime<Utc>) -> Result<(i64, Option<String>)> {
    match db::client::find_by_email(tx, &c.email)? {
        Some(existing) => {
            let mut f = db::client::fields_of(tx, existing.id)?;
            if f.phone.is_none()
                && let Some((shown, digits)) = &c.phone
            {
                (f.phone, f.phone_digits) = (Some(shown.clone()), Some(digits.clone()));
            }
            for (k, v) in &c.custom {
                f.profile.entry(k.clone()).or_insert_with(|| v.clone());
            }
            db::client::update(tx, existing.id, &f, now)?;
            Ok((existing.id, Some(existing.consent)))
        }
        None => {
            let mut f = Fields::new(
                c.name.clone().unwrap_or_else(|| c.email.clone()),
                c.email.clone(),
                Some(owner),
                crate::domain::time::format_utc(now),
            );
            (f.phone, f.phone_digits) = c.phone.clone().map_or((None, None), |(s, d)| (Some(s), Some(d)));
            f.profile = c.custom.clone();
            crate::service::client::check_mandatory(&f, &c.registry)?;
            Ok((db::client::insert(tx, &f, "lead", owner, now)?, None))
        }
    }
}

/// The SHA-256 of a consent text, as the ledger keeps it.
pub fn text_hash(text: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}
