//! Companies, contracts and events: each row goes through the same service operation a person
//! would run (same checks, same permissions, one audit entry per record), inside the run's
//! single transaction, so a rejected row still rolls back the whole file.

use std::io::Read;

use serde_json::{Map, Value};

use super::{Applied, Columns, OnDuplicate, Options, Record, Report, finish, id_in, roll_back, rows};
use crate::db;
use crate::domain::crm::{Money, currency};
use crate::domain::{Permission, profile};
use crate::service::authz::Session;
use crate::service::{company, contract, event, refs};
use crate::{Error, Result};

/// Runs the rows of a file through `apply` in one transaction. Needs `import:run` and at
/// least one of the entity's `writes` (marketing, say, imports clients only); each row then
/// meets the rules of the operation it runs.
#[allow(clippy::too_many_arguments)]
fn run(
    session: &Session,
    input: Box<dyn Read>,
    columns: &Columns,
    opts: &Options,
    entity: &str,
    writes: &[Permission],
    mut progress: impl FnMut(u64),
    mut apply: impl FnMut(&mut Record) -> Result<Applied>,
) -> Result<Report> {
    let grant = session.require(Permission::ImportRun)?;
    if !writes.iter().any(|p| session.can(*p)) {
        let names: Vec<&str> = writes.iter().map(|p| p.as_str()).collect();
        return Err(session.deny(
            writes[0],
            entity,
            None,
            &format!("importing {entity} records needs one of: {}", names.join(", ")),
        ));
    }
    if opts.group.is_some() {
        return Err(Error::usage("--group applies to client imports only"));
    }
    let mut report = Report { dry_run: opts.dry_run, ..Default::default() };
    let rows = rows(input, columns, &opts.mapping, &mut report)?;
    let outcome = grant.write(|tx| {
        for (line, row) in rows {
            report.rows_read += 1;
            if report.rows_read.is_multiple_of(256) {
                progress(report.rows_read);
            }
            report.tally(line, row.and_then(|mut r| apply(&mut r)))?;
        }
        progress(report.rows_read);
        if report.must_roll_back() {
            return Err(roll_back());
        }
        grant.audit(
            tx,
            "import",
            entity,
            None,
            None,
            Some(&serde_json::json!({
                "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
                "skipped": report.skipped,
            })),
        )?;
        Ok(())
    });
    finish(report, outcome)
}

/// The columns of a company import and export: the keys of [`company::CompanyInput`], the
/// same list the CLI flags and the service take.
pub fn company_columns() -> Vec<String> {
    crate::domain::keys_of::<company::CompanyInput>()
}

/// Imports companies, keyed by name (case ignored).
pub fn import_companies(
    session: &Session,
    input: Box<dyn Read>,
    opts: &Options,
    progress: impl FnMut(u64),
) -> Result<Report> {
    let names = company_columns();
    let columns =
        Columns::new(&names.iter().map(String::as_str).collect::<Vec<_>>(), &[("company", "name")], &["name"]);
    let writes = [Permission::CompanyCreate, Permission::CompanyUpdateAny, Permission::CompanyUpdateOwn];
    run(session, input, &columns, opts, "company", &writes, progress, |row| {
        let input: company::CompanyInput = row.take_input()?;
        let name = input.name.clone().ok_or_else(|| Error::invalid("name", "is empty"))?;
        let Some(existing) = db::company::find_by_name(session.db(), &name)? else {
            company::create(session, &input)?;
            return Ok(Applied::Created);
        };
        match opts.on_duplicate {
            OnDuplicate::Skip => Ok(Applied::Skipped),
            OnDuplicate::Error => Err(Error::conflict(format!("company `{}` already exists", existing.name))),
            OnDuplicate::Update => {
                let before = db::company::fields_of(session.db(), existing.id)?;
                // The file's spelling of the name does not rename the company.
                let input = company::CompanyInput { name: None, ..input };
                if company::merge(session, before.clone(), &input)? == before {
                    return Ok(Applied::Unchanged);
                }
                company::update(session, &existing.id.to_string(), &input)?;
                Ok(Applied::Updated)
            }
        }
    })
}

/// Streams every company in the import columns.
pub fn export_companies(session: &Session, mut emit: impl FnMut(&Map<String, Value>) -> Result<()>) -> Result<usize> {
    let companies = company::list(session, &company::ListFilter::default())?;
    for c in &companies {
        match serde_json::to_value(company::CompanyInput::from_company(c))? {
            Value::Object(row) => emit(&row)?,
            _ => return Err(Error::internal("a company input is not an object")),
        }
    }
    Ok(companies.len())
}

const CONTRACT_COLUMNS: &[&str] = &["id", "client", "total", "due", "currency", "signed"];
pub const CONTRACT_EXPORT: &[&str] = CONTRACT_COLUMNS;

/// Imports contracts. A row with an `id` keeps that number and is matched on it when run
/// again; a row without one is always a new contract (exports carry the id).
pub fn import_contracts(
    session: &Session,
    input: Box<dyn Read>,
    opts: &Options,
    progress: impl FnMut(u64),
) -> Result<Report> {
    let aliases = &[("contract_id", "id"), ("client_email", "client"), ("amount", "total"), ("total_amount", "total")];
    let columns = Columns::new(CONTRACT_COLUMNS, aliases, &["client", "total"]);
    let writes = [Permission::ContractCreate, Permission::ContractUpdateAny, Permission::ContractUpdateOwn];
    run(session, input, &columns, opts, "contract", &writes, progress, |row| {
        let id = id_in(row, "id")?;
        let client = row.take("client").ok_or_else(|| Error::invalid("client", "is empty"))?;
        let total = row.take("total").ok_or_else(|| Error::invalid("total", "is empty"))?;
        let due = row.take("due");
        let currency_given = row.take("currency");
        let signed = row.take("signed").map(|v| profile::boolean("signed", &v)).transpose()?;
        let existing = id.map(|id| db::contract::get(session.db(), id)).transpose()?.flatten();
        let Some(before) = existing else {
            contract::create(
                session,
                &contract::NewContract {
                    id,
                    client,
                    total,
                    due,
                    currency: currency_given,
                    signed: signed.unwrap_or(false),
                },
            )?;
            return Ok(Applied::Created);
        };
        match opts.on_duplicate {
            OnDuplicate::Skip => Ok(Applied::Skipped),
            OnDuplicate::Error => Err(Error::conflict(format!("contract {} already exists", before.id))),
            OnDuplicate::Update => {
                let named = refs::client(session.db(), &client)?;
                if named.id != before.client_id {
                    return Err(Error::invalid(
                        "client",
                        format!(
                            "contract {} belongs to {}; a contract does not change client",
                            before.id, before.client_email
                        ),
                    ));
                }
                let same = Money::parse("total", &total)?.minor == before.total_minor
                    && due
                        .as_deref()
                        .map(|d| Money::parse("due", d))
                        .transpose()?
                        .is_none_or(|d| d.minor == before.due_minor)
                    && currency_given.as_deref().map(currency).transpose()?.is_none_or(|c| c == before.currency)
                    && signed.is_none_or(|s| s == before.signed);
                if same {
                    return Ok(Applied::Unchanged);
                }
                contract::update(
                    session,
                    &before.id.to_string(),
                    &contract::ContractPatch { total: Some(total), due, currency: currency_given, signed },
                )?;
                Ok(Applied::Updated)
            }
        }
    })
}

/// Streams every contract in the import columns.
pub fn export_contracts(session: &Session, mut emit: impl FnMut(&Map<String, Value>) -> Result<()>) -> Result<usize> {
    session.require(Permission::ContractRead)?;
    db::contract::for_each(session.db(), |c| {
        let mut row = Map::new();
        row.insert("id".into(), c.id.into());
        row.insert("client".into(), c.client_email.clone().into());
        row.insert("total".into(), c.total.clone().into());
        row.insert("due".into(), c.due.clone().into());
        row.insert("currency".into(), c.currency.clone().into());
        row.insert("signed".into(), c.signed.into());
        emit(&row)
    })
}

const EVENT_COLUMNS: &[&str] = &["id", "contract", "name", "start", "end", "support", "location", "attendees", "notes"];
pub const EVENT_EXPORT: &[&str] = EVENT_COLUMNS;

/// Imports events (CSV, JSON lines or the support team's `.xlsx`). A row is matched on its
/// `id`, or else on contract, name and start. New events follow `event create`'s rule (the
/// client's sales contact, a signed contract); changes follow `event update` and `assign`.
pub fn import_events(
    session: &Session,
    input: Box<dyn Read>,
    opts: &Options,
    progress: impl FnMut(u64),
) -> Result<Report> {
    let aliases = &[
        ("event_id", "id"),
        ("contract_id", "contract"),
        ("event_name", "name"),
        ("event_date_start", "start"),
        ("event_date_end", "end"),
        ("starts_at", "start"),
        ("ends_at", "end"),
        ("support_contact", "support"),
    ];
    let columns = Columns::new(EVENT_COLUMNS, aliases, &["contract", "name", "start", "end"]);
    let writes = [Permission::EventCreateOwn, Permission::EventUpdateAny, Permission::EventUpdateOwn];
    run(session, input, &columns, opts, "event", &writes, progress, |row| {
        let id = id_in(row, "id")?;
        let contract_key = row.take("contract").ok_or_else(|| Error::invalid("contract", "is empty"))?;
        let support = row.take("support");
        let attendees = row
            .take("attendees")
            .map(|a| a.parse::<i64>().map_err(|_| Error::invalid("attendees", format!("`{a}` is not a whole number"))))
            .transpose()?;
        let input = event::EventInput {
            name: row.take("name"),
            start: row.take("start"),
            end: row.take("end"),
            location: row.take("location"),
            attendees,
            notes: row.take("notes"),
        };
        let contract = refs::contract(session.db(), &contract_key).map_err(|e| {
            if e.kind() == crate::ErrorKind::NotFound { Error::invalid("contract", e.message()) } else { e }
        })?;
        let existing = match id {
            Some(id) => db::event::get(session.db(), id)?,
            None => {
                let probe = event::merge(event::blank(), &input)?;
                match db::event::find_natural(session.db(), contract.id, &probe.name, &probe.starts_at)? {
                    Some(found) => db::event::get(session.db(), found)?,
                    None => None,
                }
            }
        };
        let Some(before) = existing else {
            let created = event::create(session, &event::NewEvent { id, contract: contract_key, fields: input })?;
            if let Some(s) = support {
                event::assign(session, &created.id.to_string(), Some(&s))?;
            }
            return Ok(Applied::Created);
        };
        match opts.on_duplicate {
            OnDuplicate::Skip => Ok(Applied::Skipped),
            OnDuplicate::Error => Err(Error::conflict(format!("event {} already exists", before.id))),
            OnDuplicate::Update => {
                if before.contract_id != contract.id {
                    return Err(Error::invalid(
                        "contract",
                        format!(
                            "event {} is under contract {}; an event does not change contract",
                            before.id, before.contract_id
                        ),
                    ));
                }
                let current = event::fields_of(&before);
                let fields_change = event::merge(current.clone(), &input)? != current;
                let support_change = support.as_deref().is_some_and(|s| Some(s) != before.support_contact.as_deref());
                if !fields_change && !support_change {
                    return Ok(Applied::Unchanged);
                }
                let key = before.id.to_string();
                if fields_change {
                    event::update(session, &key, &input)?;
                }
                if support_change {
                    event::assign(session, &key, support.as_deref())?;
                }
                Ok(Applied::Updated)
            }
        }
    })
}

/// Streams every event in the import columns.
pub fn export_events(session: &Session, mut emit: impl FnMut(&Map<String, Value>) -> Result<()>) -> Result<usize> {
    session.require(Permission::EventRead)?;
    db::event::for_each(session.db(), |e| {
        let mut row = Map::new();
        row.insert("id".into(), e.id.into());
        row.insert("contract".into(), e.contract_id.into());
        row.insert("name".into(), e.name.clone().into());
        row.insert("start".into(), e.starts_at.clone().into());
        row.insert("end".into(), e.ends_at.clone().into());
        row.insert("support".into(), e.support_contact.clone().map_or(Value::Null, Value::from));
        row.insert("location".into(), e.location.clone().into());
        row.insert("attendees".into(), e.attendees.into());
        row.insert("notes".into(), e.notes.clone().into());
        emit(&row)
    })
}
