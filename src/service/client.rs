//! Clients (contact persons): their card, lifecycle stage, interactions. A user who creates a
//! client becomes its sales contact; "own" means "I am the sales contact".

use chrono::{DateTime, Utc};

use super::authz::{Grant, Session};
use super::{company, consent, refs};
use crate::db::{self, Tx};
use crate::domain::crm::{InteractionKind, Stage, phone};
use crate::domain::profile::{Consent, ConsentSource, FieldDef};
use crate::domain::{Permission, time, validate};
use crate::{Error, Result};

pub use crate::domain::client::{Client, StageChange};
pub use crate::domain::client::{ClientDetail, ClientInput, InteractionFilter, ListFilter, NewInteraction};
pub use crate::domain::interaction::Interaction;

pub fn list(session: &Session, f: &ListFilter) -> Result<Vec<Client>> {
    let mut all = Vec::new();
    list_each(session, f, |c| {
        all.push(c);
        Ok(())
    })?;
    Ok(all)
}

/// The listing handed to `each` client by client as it is read (a million rows in flat memory).
pub fn list_each(session: &Session, f: &ListFilter, each: impl FnMut(Client) -> Result<()>) -> Result<()> {
    session.require(Permission::ClientRead)?;
    let db = session.db();
    let sales_contact_id = match (&f.sales, f.mine) {
        (Some(u), _) => Some(refs::staff(db, "sales", u, None)?.id),
        (None, true) => Some(session.actor().id),
        (None, false) => None,
    };
    let company_id = match &f.company {
        Some(c) => match refs::company(db, c) {
            Ok(co) => Some(co.id),
            // An unknown company filters everything out; it is not an error.
            Err(e) if e.kind() == crate::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        },
        None => None,
    };
    let stage = f.stage.as_deref().map(|s| s.parse::<Stage>()).transpose()?;
    db::client::list_each(
        db,
        &db::client::Filter {
            sales_contact_id,
            stage: stage.map(|s| s.as_str().to_string()),
            company_id,
            search: f.search.clone().filter(|s| !s.trim().is_empty()),
            limit: f.limit,
        },
        each,
    )
}

pub fn show(session: &Session, key: &str) -> Result<ClientDetail> {
    session.require(Permission::ClientRead)?;
    let db = session.db();
    let client = refs::client(db, key)?;
    let contracts = if session.can(Permission::ContractRead) {
        db::contract::list(db, &db::contract::Filter { client_id: Some(client.id), ..Default::default() })?
    } else {
        Vec::new()
    };
    let interactions = if session.can(Permission::InteractionRead) {
        db::interaction::list(
            db,
            &db::interaction::Filter { client_id: Some(client.id), limit: Some(5), ..Default::default() },
        )?
    } else {
        Vec::new()
    };
    let stage_history = db::client::stage_history(db, client.id)?;
    let groups = db::population::groups_of(db, client.id)?;
    let fields = db::population::fields(db)?;
    Ok(ClientDetail { client, contracts, interactions, stage_history, groups, fields })
}

/// The company named on a client: an existing one, or one to create in the same transaction
/// (when the user may create companies).
pub(super) enum CompanyRef<'s> {
    Existing(i64),
    New(String, Grant<'s>),
}

pub(super) fn company_for<'s>(session: &'s Session, name: &str) -> Result<CompanyRef<'s>> {
    match refs::company(session.db(), name) {
        Ok(c) => Ok(CompanyRef::Existing(c.id)),
        Err(e) if e.kind() == crate::ErrorKind::NotFound && session.can(Permission::CompanyCreate) => {
            let name = validate::text("company", name, 200)?;
            Ok(CompanyRef::New(name, session.require(Permission::CompanyCreate)?))
        }
        Err(e) if e.kind() == crate::ErrorKind::NotFound => Err(Error::invalid(
            "company",
            format!("there is no company `{}` (and you may not create one)", name.trim()),
        )),
        Err(e) => Err(e),
    }
}

impl CompanyRef<'_> {
    pub(super) fn resolve(&self, session: &Session, tx: &Tx, now: DateTime<Utc>) -> Result<i64> {
        match self {
            CompanyRef::Existing(id) => Ok(*id),
            CompanyRef::New(name, grant) => company::insert_in(session, grant, tx, name, now),
        }
    }
}

/// Applies what a person typed to a client's card, checking every value (custom fields
/// against the `registry`).
pub(super) fn merge(
    session: &Session,
    mut f: crate::domain::client::Fields,
    input: &ClientInput,
    registry: &[FieldDef],
    now: chrono::DateTime<Utc>,
) -> Result<crate::domain::client::Fields> {
    if let Some(n) = &input.name {
        f.full_name = validate::text("name", n, 200)?;
    }
    if let Some(e) = &input.email {
        f.email = validate::email("email", e)?;
    }
    match input.phone.as_deref().map(str::trim) {
        Some("") => (f.phone, f.phone_digits) = (None, None),
        Some(p) => {
            let (shown, digits) = phone(p)?;
            (f.phone, f.phone_digits) = (Some(shown), Some(digits));
        }
        None => {}
    }
    if let Some(s) = &input.sales_contact {
        f.sales_contact_id = match s.trim() {
            "" => None,
            u => Some(refs::staff(session.db(), "sales contact", u, None)?.id),
        };
    }
    if let Some(d) = &input.first_contact {
        f.first_contact_at = time::format_utc(time::parse_instant("first contact", d, now)?);
    }
    match input.last_contact.as_deref().map(str::trim) {
        Some("") => f.last_contact_at = None,
        Some(d) => f.last_contact_at = Some(time::format_utc(time::parse_instant("last contact", d, now)?)),
        None => {}
    }
    if let Some(c) = &input.consent {
        f.consent = c.parse::<Consent>()?.as_str().to_string();
    }
    for (key, raw) in &input.fields {
        let def = registry.iter().find(|d| d.key == key.trim()).ok_or_else(|| {
            Error::invalid("field", format!("`{key}` is not a client field (see `rolo client field list`)"))
        })?;
        match def.parse(raw)? {
            Some(v) => {
                f.profile.insert(def.key.clone(), v);
            }
            None if def.mandatory => return Err(Error::invalid(&def.key, "is mandatory and cannot be cleared")),
            None => {
                f.profile.remove(&def.key);
            }
        }
    }
    Ok(f)
}

/// A new client must fill every mandatory field.
pub(crate) fn check_mandatory(f: &crate::domain::client::Fields, registry: &[FieldDef]) -> Result<()> {
    match registry.iter().find(|d| d.mandatory && !f.profile.contains_key(&d.key)) {
        Some(d) => Err(Error::invalid(&d.key, format!("is mandatory ({}); give it a value", d.label))),
        None => Ok(()),
    }
}

/// Creates a client; the creator becomes its sales contact. A company named but unknown is
/// created on the way when the user may create companies.
pub fn create(session: &Session, input: &ClientInput) -> Result<Client> {
    let grant = session.require(Permission::ClientCreate)?;
    let now = Utc::now();
    let stamp = now;
    let name = input.name.as_deref().ok_or_else(|| Error::usage("a client needs --name"))?;
    let email = input.email.as_deref().ok_or_else(|| Error::usage("a client needs --email"))?;
    if input.sales_contact.is_some() {
        return Err(Error::usage(
            "the creator becomes the sales contact; reassign with `client update --sales-contact`",
        ));
    }
    let stage = input.stage.as_deref().map(str::parse::<Stage>).transpose()?.unwrap_or(Stage::Lead);
    let base = crate::domain::client::Fields::new(
        name.to_string(),
        email.to_string(),
        Some(session.actor().id),
        time::format_utc(stamp),
    );
    let registry = db::population::fields(session.db())?;
    let mut fields = merge(session, base, &ClientInput { company: None, ..input.clone() }, &registry, now)?;
    check_mandatory(&fields, &registry)?;
    if db::client::find_by_email(session.db(), &fields.email)?.is_some() {
        return Err(Error::conflict(format!("a client with the e-mail `{}` already exists", fields.email)));
    }
    let company = input
        .company
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| company_for(session, c))
        .transpose()?;
    let actor = session.actor().id;
    grant.write(|tx| {
        if let Some(c) = &company {
            fields.company_id = Some(c.resolve(session, tx, stamp)?);
        }
        let id = db::client::insert(tx, &fields, stage.as_str(), actor, stamp)?;
        let by = Some(actor);
        consent::note(tx, &consent::change(id, None, &fields.consent, ConsentSource::Manual, by), stamp)?;
        let client = reload(tx, id)?;
        grant.audit(tx, "client.create", "client", Some(id), None, Some(&client))?;
        Ok(client)
    })
}

fn reload(tx: &Tx, id: i64) -> Result<Client> {
    db::client::get(tx, id)?.ok_or_else(|| Error::internal("client vanished inside its own transaction"))
}

/// The permission to change a client: any client, or my own.
fn require_update<'s>(session: &'s Session, client: &Client) -> Result<Grant<'s>> {
    session.require_scoped(
        Permission::ClientUpdateAny,
        Permission::ClientUpdateOwn,
        client.sales_contact_id == Some(session.actor().id),
        "client",
        Some(client.id),
    )
}

pub fn update(session: &Session, key: &str, input: &ClientInput) -> Result<Client> {
    session.require(Permission::ClientRead)?;
    let before = refs::client(session.db(), key)?;
    let grant = require_update(session, &before)?;
    if input.sales_contact.is_some() && !session.can(Permission::ClientUpdateAny) {
        return Err(session.deny(
            Permission::ClientUpdateAny,
            "client",
            Some(before.id),
            "changing the sales contact needs `client:update:any`",
        ));
    }
    let now = Utc::now();
    let mut fields = merge(
        session,
        db::client::fields_of(session.db(), before.id)?,
        &ClientInput { company: None, ..input.clone() },
        &db::population::fields(session.db())?,
        now,
    )?;
    let company = match input.company.as_deref().map(str::trim) {
        Some("") => {
            fields.company_id = None;
            None
        }
        Some(c) => Some(company_for(session, c)?),
        None => None,
    };
    let stage = input.stage.as_deref().map(str::parse::<Stage>).transpose()?;
    let stamp = now;
    let actor = session.actor().id;
    grant.write(|tx| {
        if let Some(c) = &company {
            fields.company_id = Some(c.resolve(session, tx, stamp)?);
        }
        let change =
            consent::change(before.id, Some(&before.consent), &fields.consent, ConsentSource::Manual, Some(actor));
        consent::note(tx, &change, stamp)?;
        db::client::update(tx, before.id, &fields, stamp)?;
        if let Some(s) = stage.filter(|s| s.as_str() != before.stage) {
            db::client::set_stage(tx, before.id, &before.stage, s.as_str(), actor, stamp)?;
        }
        let after = reload(tx, before.id)?;
        grant.audit(tx, "client.update", "client", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

/// Moves a client along its lifecycle; the change is kept in the stage history.
pub fn set_stage(session: &Session, key: &str, stage: &str) -> Result<Client> {
    session.require(Permission::ClientRead)?;
    let before = refs::client(session.db(), key)?;
    let grant = require_update(session, &before)?;
    let stage = stage.parse::<Stage>()?;
    if stage.as_str() == before.stage {
        return Err(Error::conflict(format!("client {} is already at stage `{stage}`", before.id)));
    }
    let stamp = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        db::client::set_stage(tx, before.id, &before.stage, stage.as_str(), actor, stamp)?;
        let after = reload(tx, before.id)?;
        grant.audit(tx, "client.stage", "client", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

/// Deletes a client with no contracts (contracts are financial records and are kept).
pub fn delete(session: &Session, key: &str) -> Result<Client> {
    let grant = session.require(Permission::ClientDelete)?;
    let before = refs::client(session.db(), key)?;
    if db::client::contract_count(session.db(), before.id)? > 0 {
        return Err(Error::conflict(format!("client {} has contracts and cannot be deleted", before.id)));
    }
    grant.write(|tx| {
        if db::user::linked_to_client(tx, before.id)? {
            return Err(Error::conflict(format!("client {} has a client account; deactivate it instead", before.id)));
        }
        db::client::delete(tx, before.id)?;
        grant.audit(tx, "client.delete", "client", Some(before.id), Some(&before), None)?;
        Ok(before.clone())
    })
}

/// Logs an interaction; the client's "last contact" moves forward to it.
pub fn add_interaction(session: &Session, input: &NewInteraction) -> Result<Interaction> {
    let grant = session.require(Permission::InteractionCreate)?;
    let client = refs::client(session.db(), &input.client)?;
    let kind = input.kind.parse::<InteractionKind>()?;
    let now = Utc::now();
    let at = match &input.at {
        Some(d) => time::parse_instant("date", d, now)?,
        None => now,
    };
    let notes = validate::notes("notes", &input.notes, 10_000)?;
    let stamp = now;
    let actor = session.actor().id;
    grant.write(|tx| {
        let id = db::interaction::insert(tx, client.id, kind.as_str(), at, &notes, actor, stamp)?;
        db::client::touch_last_contact(tx, client.id, at)?;
        let created = db::interaction::get(tx, id)?;
        grant.audit(tx, "interaction.create", "interaction", Some(id), None, Some(&created))?;
        Ok(created)
    })
}

pub fn list_interactions(session: &Session, f: &InteractionFilter) -> Result<Vec<Interaction>> {
    session.require(Permission::InteractionRead)?;
    let client_id = f.client.as_deref().map(|c| refs::client(session.db(), c)).transpose()?.map(|c| c.id);
    let kind = f.kind.as_deref().map(str::parse::<InteractionKind>).transpose()?;
    db::interaction::list(
        session.db(),
        &db::interaction::Filter {
            client_id,
            author_id: f.mine.then_some(session.actor().id),
            kind: kind.map(|k| k.as_str().to_string()),
            limit: f.limit,
        },
    )
}
