//! Contracts: created by management, updated by management or the client's sales contact.

use chrono::Utc;

use super::authz::{Grant, Session};
use super::refs;
use crate::db::{self, Tx};
use crate::domain::crm::{Money, currency};
use crate::domain::{Permission, time, validate};
use crate::{Error, Result};

pub use crate::domain::contract::Contract;
pub use crate::domain::contract::{ContractDetail, ContractPatch, ListFilter, NewContract};

pub fn list(session: &Session, f: &ListFilter) -> Result<Vec<Contract>> {
    session.require(Permission::ContractRead)?;
    let client_id = match &f.client {
        Some(c) => match refs::client(session.db(), c) {
            Ok(c) => Some(c.id),
            Err(e) if e.kind() == crate::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        },
        None => None,
    };
    db::contract::list(
        session.db(),
        &db::contract::Filter {
            signed: f.signed,
            unpaid: f.unpaid,
            sales_contact_id: f.mine.then_some(session.actor().id),
            client_id,
            limit: f.limit,
        },
    )
}

pub fn show(session: &Session, key: &str) -> Result<ContractDetail> {
    session.require(Permission::ContractRead)?;
    let contract = refs::contract(session.db(), key)?;
    let events = if session.can(Permission::EventRead) {
        db::event::list(session.db(), &db::event::Filter { contract_id: Some(contract.id), ..Default::default() })?
    } else {
        Vec::new()
    };
    Ok(ContractDetail { contract, events })
}

fn amounts(total: &str, due: Option<&str>) -> Result<(i64, i64)> {
    let total = Money::parse("total", total)?.minor;
    let due = due.map(|d| Money::parse("due", d)).transpose()?.map_or(total, |m| m.minor);
    if due > total {
        return Err(Error::invalid(
            "due",
            format!(
                "{} must not exceed the total {}",
                Money { minor: due }.to_decimal(),
                Money { minor: total }.to_decimal()
            ),
        ));
    }
    Ok((total, due))
}

pub fn create(session: &Session, input: &NewContract) -> Result<Contract> {
    let grant = session.require(Permission::ContractCreate)?;
    let client = refs::client(session.db(), &input.client)
        .map_err(|e| if e.kind() == crate::ErrorKind::NotFound { Error::invalid("client", e.message()) } else { e })?;
    let (total, due) = amounts(&input.total, input.due.as_deref())?;
    let currency = input.currency.as_deref().map(currency).transpose()?.unwrap_or_else(|| "EUR".into());
    if let Some(id) = input.id {
        validate::record_id("id", id)?;
        if db::contract::get(session.db(), id)?.is_some() {
            return Err(Error::conflict(format!("contract {id} already exists")));
        }
    }
    let now = Utc::now();
    let fields = crate::domain::contract::Fields {
        id: input.id,
        client_id: client.id,
        total,
        due,
        currency,
        signed_at: input.signed.then(|| time::format_utc(now)),
    };
    let actor = session.actor().id;
    grant.write(|tx| {
        let id = db::contract::insert(tx, &fields, actor, now)?;
        let created = reload(tx, id)?;
        grant.audit(tx, "contract.create", "contract", Some(id), None, Some(&created))?;
        Ok(created)
    })
}

fn reload(tx: &Tx, id: i64) -> Result<Contract> {
    db::contract::get(tx, id)?.ok_or_else(|| Error::internal("contract vanished inside its own transaction"))
}

/// Any contract, or those of my own clients.
fn require_update<'s>(session: &'s Session, c: &Contract) -> Result<Grant<'s>> {
    session.require_scoped(
        Permission::ContractUpdateAny,
        Permission::ContractUpdateOwn,
        c.sales_contact_id == Some(session.actor().id),
        "contract",
        Some(c.id),
    )
}

pub fn update(session: &Session, id: &str, patch: &ContractPatch) -> Result<Contract> {
    session.require(Permission::ContractRead)?;
    let before = refs::contract(session.db(), id)?;
    let grant = require_update(session, &before)?;
    let total = patch.total.clone().unwrap_or_else(|| before.total.clone());
    let due = patch.due.clone().or_else(|| patch.total.is_none().then(|| before.due.clone()));
    let (total, due) = match (&patch.total, &patch.due) {
        // A new total with no new due keeps what was already paid.
        (Some(_), None) => {
            let t = Money::parse("total", &total)?.minor;
            let paid = before.total_minor - before.due_minor;
            if paid > t {
                return Err(Error::invalid(
                    "total",
                    format!("{} is less than what was already paid", Money { minor: t }.to_decimal()),
                ));
            }
            (t, t - paid)
        }
        _ => amounts(&total, due.as_deref())?,
    };
    let currency = patch.currency.as_deref().map(currency).transpose()?.unwrap_or_else(|| before.currency.clone());
    if patch.signed == Some(false) && before.signed && db::contract::event_count(session.db(), before.id)? > 0 {
        return Err(Error::conflict(format!("contract {} has events; it cannot be marked unsigned", before.id)));
    }
    let now = Utc::now();
    grant.write(|tx| {
        db::contract::update_amounts(tx, before.id, total, due, &currency, now)?;
        match patch.signed {
            Some(true) if !before.signed => db::contract::set_signed(tx, before.id, Some(now), now)?,
            Some(false) if before.signed => db::contract::set_signed(tx, before.id, None, now)?,
            _ => {}
        }
        let after = reload(tx, before.id)?;
        grant.audit(tx, "contract.update", "contract", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

pub fn sign(session: &Session, id: &str) -> Result<Contract> {
    session.require(Permission::ContractRead)?;
    let before = refs::contract(session.db(), id)?;
    let grant = require_update(session, &before)?;
    if before.signed {
        return Err(Error::conflict(format!("contract {} is already signed", before.id)));
    }
    let now = Utc::now();
    grant.write(|tx| {
        db::contract::set_signed(tx, before.id, Some(now), now)?;
        let after = reload(tx, before.id)?;
        grant.audit(tx, "contract.sign", "contract", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}
