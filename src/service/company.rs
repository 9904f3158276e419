//! Companies: every field of seed 001, enums checked, the sales owner as the "own" scope.

use chrono::{DateTime, Utc};

use super::authz::{Grant, Session};
use super::refs;
use crate::db::{self, Tx};
use crate::domain::crm::{BusinessType, CompanySize, Money, currency, website};
use crate::domain::{Permission, validate};
use crate::{Error, Result};

pub use crate::domain::company::Company;
pub use crate::domain::company::{CompanyInput, ListFilter};

/// `Some("")` clears, `Some(x)` sets after `check`, `None` keeps `current`.
fn apply<T>(current: Option<T>, given: &Option<String>, check: impl FnOnce(&str) -> Result<T>) -> Result<Option<T>> {
    match given.as_deref().map(str::trim) {
        None => Ok(current),
        Some("") => Ok(None),
        Some(v) => check(v).map(Some),
    }
}

fn time_zone(v: &str) -> Result<String> {
    v.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| Error::invalid("time zone", format!("`{v}` is not an IANA time zone such as Europe/Paris")))
}

pub(crate) fn merge(
    session: &Session,
    mut f: crate::domain::company::Fields,
    input: &CompanyInput,
) -> Result<crate::domain::company::Fields> {
    if let Some(name) = &input.name {
        f.name = validate::text("name", name, 200)?;
    }
    f.logo = apply(f.logo, &input.logo, |v| validate::text("logo", v, 500))?;
    f.size = apply(f.size, &input.size, |v| v.parse::<CompanySize>().map(|s| s.as_str().to_string()))?;
    f.industry = apply(f.industry, &input.industry, |v| validate::text("industry", v, 100))?;
    f.business_type =
        apply(f.business_type, &input.business_type, |v| v.parse::<BusinessType>().map(|s| s.as_str().to_string()))?;
    f.country = apply(f.country, &input.country, |v| validate::text("country", v, 100))?;
    f.website = apply(f.website, &input.website, website)?;
    f.time_zone = apply(f.time_zone, &input.time_zone, time_zone)?;
    f.total_income = apply(f.total_income, &input.total_income, |v| Money::parse("total income", v).map(|m| m.minor))?;
    if let Some(c) = &input.currency {
        f.currency = currency(c)?;
    }
    f.sales_owner_id = apply(f.sales_owner_id, &input.sales_owner, |v| {
        refs::staff(session.db(), "sales owner", v, None).map(|u| u.id)
    })?;
    Ok(f)
}

pub fn list(session: &Session, f: &ListFilter) -> Result<Vec<Company>> {
    session.require(Permission::CompanyRead)?;
    db::company::list(
        session.db(),
        &db::company::Filter {
            owner_id: f.mine.then_some(session.actor().id),
            search: f.search.clone().filter(|s| !s.trim().is_empty()),
            limit: f.limit,
        },
    )
}

pub fn show(session: &Session, key: &str) -> Result<Company> {
    session.require(Permission::CompanyRead)?;
    refs::company(session.db(), key)
}

/// A new company's fields: a sales user who creates one becomes its sales owner.
fn new_fields(session: &Session, name: &str) -> crate::domain::company::Fields {
    let actor = session.actor();
    let owner = actor.roles.iter().any(|r| r == "sales").then_some(actor.id);
    crate::domain::company::Fields {
        name: name.to_string(),
        currency: "EUR".into(),
        sales_owner_id: owner,
        ..Default::default()
    }
}

/// Creates a company; a sales user who creates one becomes its sales owner.
pub fn create(session: &Session, input: &CompanyInput) -> Result<Company> {
    let grant = session.require(Permission::CompanyCreate)?;
    let name = input.name.as_deref().ok_or_else(|| Error::usage("a company needs --name"))?;
    let fields = merge(session, new_fields(session, name), input)?;
    let now = Utc::now();
    grant.write(|tx| {
        let id = insert_audited(session, &grant, tx, &fields, now)?;
        db::company::get(tx, id)?.ok_or_else(|| Error::internal("company vanished"))
    })
}

/// Creates a company by name inside a caller's transaction (a client naming a new company).
pub(super) fn insert_in(session: &Session, grant: &Grant, tx: &Tx, name: &str, now: DateTime<Utc>) -> Result<i64> {
    insert_audited(session, grant, tx, &new_fields(session, name), now)
}

fn insert_audited(
    session: &Session,
    grant: &Grant,
    tx: &Tx,
    fields: &crate::domain::company::Fields,
    now: DateTime<Utc>,
) -> Result<i64> {
    let id = db::company::insert(tx, fields, session.actor().id, now)?;
    let company = db::company::get(tx, id)?.ok_or_else(|| Error::internal("company vanished"))?;
    grant.audit(tx, "company.create", "company", Some(id), None, Some(&company))?;
    Ok(id)
}

pub fn update(session: &Session, key: &str, input: &CompanyInput) -> Result<Company> {
    session.require(Permission::CompanyRead)?;
    let before = refs::company(session.db(), key)?;
    let grant = session.require_scoped(
        Permission::CompanyUpdateAny,
        Permission::CompanyUpdateOwn,
        before.sales_owner_id == Some(session.actor().id),
        "company",
        Some(before.id),
    )?;
    if input.sales_owner.is_some() && !session.can(Permission::CompanyUpdateAny) {
        return Err(session.deny(
            Permission::CompanyUpdateAny,
            "company",
            Some(before.id),
            "changing the sales owner needs `company:update:any`",
        ));
    }
    let fields = merge(session, db::company::fields_of(session.db(), before.id)?, input)?;
    let now = Utc::now();
    grant.write(|tx| {
        db::company::update(tx, before.id, &fields, now)?;
        let after = db::company::get(tx, before.id)?.ok_or_else(|| Error::internal("company vanished"))?;
        grant.audit(tx, "company.update", "company", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

#[cfg(test)]
mod tests {
    use crate::db;
    use crate::domain::company::{Company, CompanyInput, Fields};
    use crate::service::testing;

    /// The INSERT, the SELECT and the row mapping agree on every field: a company with each
    /// field set reads back with each value in place.
    #[test]
    fn every_field_round_trips_through_insert_and_select() {
        let db = testing::demo();
        let fields = Fields {
            name: "Round Trip SARL".into(),
            logo: Some("logo.png".into()),
            size: Some("medium".into()),
            industry: Some("Events".into()),
            business_type: Some("B2B".into()),
            country: Some("France".into()),
            website: Some("https://rt.example".into()),
            time_zone: Some("Europe/Paris".into()),
            total_income: Some(123_456),
            currency: "EUR".into(),
            sales_owner_id: Some(3),
        };
        let admin = testing::session_as(&db, "admin");
        let id = db
            .write(&super::super::authz::system_key_for_tests(), |tx| {
                db::company::insert(tx, &fields, admin.actor().id, chrono::Utc::now())
            })
            .expect("insert");
        let back: Company = db::company::get(&db, id).expect("read").expect("found");
        assert_eq!(db::company::fields_of(&db, id).expect("fields"), fields);
        let input = serde_json::to_value(CompanyInput::from_company(&back)).expect("json");
        for key in crate::domain::keys_of::<CompanyInput>() {
            assert!(!input[&key].is_null(), "`{key}` did not read back");
        }
    }
}
