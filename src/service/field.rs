//! The registry of custom client fields (`rolo client field …`). Values are checked against
//! it wherever they come in: create, update, import.

use chrono::Utc;

use super::authz::Session;
use super::refs;
use crate::db;
use crate::domain::profile::{self, FieldDef, FieldKind, FieldOrigin};
use crate::domain::{Permission, validate};
use crate::{Error, Result};

pub use crate::domain::population::FieldInput;
pub use crate::domain::population::FieldRow;

pub fn list(session: &Session) -> Result<Vec<FieldRow>> {
    session.require(Permission::FieldRead)?;
    db::population::field_rows(session.db())
}

pub fn show(session: &Session, key: &str) -> Result<FieldRow> {
    session.require(Permission::FieldRead)?;
    refs::field(session.db(), key)
}

fn choices(kind: FieldKind, given: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for c in given.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let c = validate::text("choices", c, 100)?;
        if out.iter().any(|o| o.to_lowercase() == c.to_lowercase()) {
            return Err(Error::invalid("choices", format!("`{c}` is listed twice")));
        }
        out.push(c);
    }
    match (kind, out.is_empty()) {
        (FieldKind::Choice, true) => Err(Error::invalid("choices", "a choice field needs --choices a,b,c")),
        (FieldKind::Choice, false) => Ok(out),
        (_, true) => Ok(out),
        (_, false) => Err(Error::invalid("choices", "only a choice field has choices")),
    }
}

fn apply(mut def: FieldDef, input: &FieldInput) -> Result<FieldDef> {
    if let Some(l) = &input.label {
        def.label = validate::text("label", l, 100)?;
    }
    if let Some(k) = &input.kind {
        def.kind = k.parse()?;
    }
    if let Some(c) = &input.choices {
        def.choices = choices(def.kind, c)?;
    } else if def.kind != FieldKind::Choice {
        def.choices.clear();
    } else if def.choices.is_empty() {
        return Err(Error::invalid("choices", "a choice field needs --choices a,b,c"));
    }
    if let Some(o) = &input.origin {
        def.origin = o.parse()?;
    }
    def.mandatory = input.mandatory.unwrap_or(def.mandatory);
    def.public = input.public.unwrap_or(def.public);
    def.personal_data = input.personal_data.unwrap_or(def.personal_data);
    Ok(def)
}

/// Registers a field (needs `field:manage`). Clients already present simply have no value;
/// `client stats` shows how complete the field is.
pub fn create(session: &Session, key: &str, input: &FieldInput) -> Result<FieldRow> {
    let grant = session.require(Permission::FieldManage)?;
    let key = profile::field_key(key)?;
    let blank = FieldDef {
        key: key.clone(),
        label: key.replace('_', " "),
        kind: FieldKind::Text,
        choices: Vec::new(),
        mandatory: false,
        public: false,
        origin: FieldOrigin::Community,
        personal_data: false,
    };
    let kind = input.kind.as_deref().map(str::parse::<FieldKind>).transpose()?.unwrap_or(FieldKind::Text);
    let def = apply(FieldDef { kind, ..blank }, &FieldInput { kind: None, ..input.clone() })?;
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let id = db::population::insert_field(tx, &def, actor, now)?;
        grant.audit(tx, "field.create", "field", Some(id), None, Some(&def))?;
        db::population::field(tx, &key)?.ok_or_else(|| Error::internal("field vanished"))
    })
}

/// Changes a field. A new type or a narrower list of choices must still fit every stored
/// value; the error says how many clients hold one that does not.
pub fn update(session: &Session, key: &str, input: &FieldInput) -> Result<FieldRow> {
    let grant = session.require(Permission::FieldManage)?;
    let before = refs::field(session.db(), key)?;
    if before.def.origin == FieldOrigin::System
        && input.kind.as_deref().is_some_and(|k| k.trim() != before.def.kind.as_str())
    {
        return Err(Error::conflict(format!("`{}` is a system field; its type cannot change", before.def.key)));
    }
    let after = apply(before.def.clone(), input)?;
    if after == before.def {
        return Ok(before);
    }
    let misfits: Vec<String> = db::population::field_values(session.db(), &after.key)?
        .into_iter()
        .filter(|v| !after.accepts(v))
        .map(|v| profile::display(&v))
        .collect();
    if !misfits.is_empty() {
        let shown: Vec<&str> = misfits.iter().take(5).map(String::as_str).collect();
        return Err(Error::conflict(format!(
            "clients hold values of `{}` the new definition refuses ({}); change them first",
            after.key,
            shown.join(", ")
        )));
    }
    let now = Utc::now();
    grant.write(|tx| {
        db::population::update_field(tx, &after, now)?;
        if after.kind != before.def.kind {
            db::population::index_field(tx, &after)?;
        }
        grant.audit(tx, "field.update", "field", Some(before.id), Some(&before.def), Some(&after))?;
        db::population::field(tx, &after.key)?.ok_or_else(|| Error::internal("field vanished"))
    })
}

/// Deletes a community field and every client's value of it; system fields stay.
pub fn delete(session: &Session, key: &str) -> Result<(FieldRow, usize)> {
    let grant = session.require(Permission::FieldManage)?;
    let before = refs::field(session.db(), key)?;
    if before.def.origin == FieldOrigin::System {
        return Err(Error::conflict(format!("`{}` is a system field and cannot be deleted", before.def.key)));
    }
    grant.write(|tx| {
        let cleared = db::population::delete_field(tx, &before.def.key)?;
        grant.audit(
            tx,
            "field.delete",
            "field",
            Some(before.id),
            Some(&serde_json::json!({"field": before.def, "values_removed": cleared})),
            None,
        )?;
        Ok((before.clone(), cleared))
    })
}
