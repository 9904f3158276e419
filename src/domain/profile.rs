//! Population management's plain types: custom profile fields and the rules their values
//! follow, marketing consent, group kinds.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::crm::closed_set;
use super::validate;
use crate::{Error, Result};

closed_set! {
    /// What a custom field holds.
    FieldKind, "type" {
        Text => "text",
        Number => "number",
        Date => "date",
        Bool => "bool",
        Choice => "choice",
    }
}

closed_set! {
    /// System fields belong to Rolo's model and are never deleted; community fields are free.
    FieldOrigin, "origin" {
        System => "system",
        Community => "community",
    }
}

closed_set! {
    /// E-mail marketing consent of a client.
    Consent, "consent" {
        Unknown => "unknown",
        Granted => "granted",
        Withdrawn => "withdrawn",
    }
}

closed_set! {
    /// Where a consent change came from (the consent ledger).
    ConsentSource, "source" {
        Manual => "manual",
        Import => "import",
        LandingPage => "landing_page",
        Api => "api",
        Unsubscribe => "unsubscribe",
        Complaint => "complaint",
        Migration => "migration",
    }
}

/// One entry of a client's consent ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentEntry {
    pub id: i64,
    pub client_id: i64,
    pub consent: String,
    pub previous: Option<String>,
    pub source: String,
    /// What it was about: a campaign, an imported file…
    pub detail: Option<String>,
    /// SHA-256 of the consent text the person was shown, when there was one.
    pub text_hash: Option<String>,
    /// The user who made the change (none for an MTA report or the migration).
    pub actor: Option<String>,
    pub created_at: String,
}

closed_set! {
    /// Where a static group comes from.
    GroupKind, "kind" {
        System => "system",
        Imported => "imported",
        Custom => "custom",
    }
}

/// Names a field key may not take: they are the client's own columns, and import files and
/// segment filters name both in the same place.
pub const RESERVED_KEYS: &[&str] = &[
    "id",
    "name",
    "full_name",
    "email",
    "phone",
    "company",
    "stage",
    "sales",
    "sales_contact",
    "first_contact",
    "last_contact",
    "created",
    "updated",
    "consent",
    "group",
    "groups",
    "fields",
    "customer",
];

/// The longest text value of a field.
pub const MAX_TEXT: usize = 1000;

/// A field key: 1–40 of `a-z 0-9 _`, starting with a letter, not a built-in column.
pub fn field_key(value: &str) -> Result<String> {
    let k = value.trim();
    let ok = !k.is_empty()
        && k.len() <= 40
        && k.starts_with(|c: char| c.is_ascii_lowercase())
        && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(Error::invalid(
            "key",
            format!("`{k}` is not a field key: 1-40 of a-z, 0-9 and _, starting with a letter"),
        ));
    }
    if RESERVED_KEYS.contains(&k) {
        return Err(Error::invalid("key", format!("`{k}` is a built-in client column; choose another key")));
    }
    Ok(k.to_string())
}

/// Where a field's value lives in a client's `fields` object (a JSON path, bound as a value).
pub fn field_path(key: &str) -> String {
    format!("$.\"{key}\"")
}

/// One entry of the field registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub choices: Vec<String>,
    pub mandatory: bool,
    pub public: bool,
    pub origin: FieldOrigin,
    pub personal_data: bool,
}

impl FieldDef {
    /// Parses a value typed by a person (or read from a file) into its stored form. An empty
    /// value is `None`: the field is cleared.
    pub fn parse(&self, raw: &str) -> Result<Option<Value>> {
        let v = raw.trim();
        if v.is_empty() {
            return Ok(None);
        }
        let field = self.key.as_str();
        let value = match self.kind {
            FieldKind::Text => Value::String(validate::text(field, v, MAX_TEXT)?),
            FieldKind::Number => number(field, v)?,
            FieldKind::Date => Value::String(date(field, v)?.format("%Y-%m-%d").to_string()),
            FieldKind::Bool => Value::Bool(boolean(field, v)?),
            FieldKind::Choice => match self.choices.iter().find(|c| c.to_lowercase() == v.to_lowercase()) {
                Some(c) => Value::String(c.clone()),
                None => {
                    return Err(Error::invalid(field, format!("`{v}` is not one of: {}", self.choices.join(", "))));
                }
            },
        };
        Ok(Some(value))
    }

    /// Whether a stored value still fits this definition (after a change of choices).
    pub fn accepts(&self, stored: &Value) -> bool {
        self.parse(&display(stored)).ok().flatten().as_ref() == Some(stored)
    }
}

/// A stored value as people read it (and as exports write it, re-importable).
pub fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `1234`, `-3.5`, `1 234,50` (a French decimal comma), `1e3`: a finite number. Integers are
/// kept as integers.
pub fn number(field: &str, v: &str) -> Result<Value> {
    let bad = || Error::invalid(field, format!("`{v}` is not a number"));
    let mut s: String = v.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '_')).collect();
    if s.contains(',') {
        if s.contains('.') {
            return Err(bad());
        }
        s = s.replace(',', ".");
    }
    if let Ok(i) = s.parse::<i64>() {
        return Ok(Value::from(i));
    }
    let f: f64 = s.parse().map_err(|_| bad())?;
    if !f.is_finite() {
        return Err(bad());
    }
    serde_json::Number::from_f64(f).map(Value::Number).ok_or_else(bad)
}

/// `2024-03-01` or the French `01/03/2024`.
pub fn date(field: &str, v: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%d/%m/%Y"))
        .map_err(|_| Error::invalid(field, format!("`{v}` is not a date (2024-03-01 or 01/03/2024)")))
}

/// yes/no in the forms people and spreadsheets write.
pub fn boolean(field: &str, v: &str) -> Result<bool> {
    match v.to_lowercase().as_str() {
        "true" | "yes" | "y" | "oui" | "o" | "1" | "vrai" | "x" => Ok(true),
        "false" | "no" | "n" | "non" | "0" | "faux" => Ok(false),
        _ => Err(Error::invalid(field, format!("`{v}` is not yes or no (true/false, yes/no, oui/non, 1/0)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: FieldKind, choices: &[&str]) -> FieldDef {
        FieldDef {
            key: "k".into(),
            label: "K".into(),
            kind,
            choices: choices.iter().map(|c| c.to_string()).collect(),
            mandatory: false,
            public: false,
            origin: FieldOrigin::Community,
            personal_data: false,
        }
    }

    #[test]
    fn values_are_parsed_into_their_stored_form() {
        let n = def(FieldKind::Number, &[]);
        assert_eq!(n.parse("1 234,50").expect("must parse"), Some(serde_json::json!(1234.5)));
        assert_eq!(n.parse("42").expect("must parse"), Some(serde_json::json!(42)));
        assert!(n.parse("NaN").is_err() && n.parse("inf").is_err() && n.parse("1,2.3").is_err());
        let d = def(FieldKind::Date, &[]);
        assert_eq!(d.parse("01/03/2024").expect("must parse"), Some(serde_json::json!("2024-03-01")));
        assert!(d.parse("2024-02-30").is_err());
        let b = def(FieldKind::Bool, &[]);
        assert_eq!(b.parse("Oui").expect("must parse"), Some(Value::Bool(true)));
        assert!(b.parse("maybe").is_err());
        let c = def(FieldKind::Choice, &["Retail", "Hôtellerie"]);
        assert_eq!(c.parse("hÔtellerie").expect("must parse"), Some(serde_json::json!("Hôtellerie")));
        let e = c.parse("Banking").expect_err("must fail");
        assert!(e.message().contains("Retail, Hôtellerie"), "{}", e.message());
        assert_eq!(def(FieldKind::Text, &[]).parse("  ").expect("must parse"), None);
        assert!(c.accepts(&serde_json::json!("Retail")) && !c.accepts(&serde_json::json!("retail")));
    }

    #[test]
    fn keys_are_checked() {
        assert_eq!(field_key(" sector ").expect("must parse"), "sector");
        for bad in ["", "Sector", "1x", "a-b", "email", "stage", &"x".repeat(41)] {
            assert!(field_key(bad).is_err(), "{bad}");
        }
    }
}
