//! Clients: import with e-mail de-duplication, custom field columns and an optional group;
//! export in the same columns.

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, Utc};

use super::{Applied, Columns, OnDuplicate, Options, Record, Report, finish, roll_back, rows};
use crate::db;
use crate::domain::crm::Stage;
use crate::domain::profile::{self, ConsentSource, FieldDef, GroupKind};
use crate::domain::{Permission, time, validate};
use crate::service::authz::Session;
use crate::service::client::{self, ClientInput, CompanyRef};
use crate::service::consent;
use crate::{Error, ErrorKind, Result};

/// The client's own columns; custom field keys follow them.
const FIXED: &[&str] =
    &["name", "email", "phone", "company", "stage", "first_contact", "last_contact", "sales_contact", "consent"];
const ALIASES: &[(&str, &str)] =
    &[("full_name", "name"), ("first_contact_at", "first_contact"), ("last_contact_at", "last_contact")];

fn columns(registry: &[FieldDef]) -> Columns {
    let mut names: Vec<&str> = FIXED.to_vec();
    names.extend(registry.iter().map(|f| f.key.as_str()));
    Columns::new(&names, ALIASES, &["name", "email"])
}

/// The export's header: the import columns, custom fields included.
pub fn export_columns(session: &Session) -> Result<Vec<String>> {
    Ok(columns(&db::population::fields(session.db())?).names.to_vec())
}

fn input_of(row: &mut Record) -> ClientInput {
    ClientInput {
        name: row.take("name"),
        email: row.take("email"),
        phone: row.take("phone"),
        company: row.take("company"),
        sales_contact: row.take("sales_contact"),
        stage: row.take("stage"),
        first_contact: row.take("first_contact"),
        last_contact: row.take("last_contact"),
        consent: row.take("consent"),
        fields: row.rest(FIXED.len()).collect(),
    }
}

/// Imports clients from a stream. Needs `import:run` (PERMISSIONS.md: sales import their own
/// clients, marketing imports clients), and `group:manage` to fill a group. New clients get
/// the importer as sales contact when the importer may create clients; updates need
/// `client:update:any`, or `client:update:own` for one's own clients.
pub fn import_clients(
    session: &Session,
    input: Box<dyn Read>,
    opts: &Options,
    mut progress: impl FnMut(u64),
) -> Result<Report> {
    let grant = session.require(Permission::ImportRun)?;
    let group_grant = opts.group.as_ref().map(|_| session.require(Permission::GroupManage)).transpose()?;
    let group_name = opts.group.as_deref().map(|g| validate::text("group", g, 200)).transpose()?;
    let mut report = Report { dry_run: opts.dry_run, group: group_name.clone(), ..Default::default() };
    let registry = db::population::fields(session.db())?;
    let rows = rows(input, &columns(&registry), &opts.mapping, &mut report)?;
    let now = Utc::now();
    let stamp = now;
    let actor = session.actor().id;
    let owner = session.can(Permission::ClientCreate).then_some(actor);
    let may_assign = session.can(Permission::ClientUpdateAny);
    let companies_before = db::company::count(session.db())?;
    let ctx = RowContext { session, opts, registry: &registry, may_assign, owner, stamp, now };
    let outcome = grant.write(|tx| {
        let group = match (&group_name, &group_grant) {
            (Some(name), Some(g)) => Some(import_group(tx, g, name, actor, stamp)?),
            _ => None,
        };
        let mut bulk = db::client::begin_bulk(tx)?;
        let mut company_ids: HashMap<String, i64> = HashMap::new();
        // E-mails already met in this file, as 64-bit hashes (8 bytes a row, not the address).
        let mut seen: HashMap<u64, u64> = HashMap::new();
        for (line, row) in rows {
            report.rows_read += 1;
            if report.rows_read.is_multiple_of(4096) {
                progress(report.rows_read);
                db::client::bulk_progress(tx, &mut bulk, report.rows_read)?;
            }
            let result = row.and_then(|mut row| {
                let input = input_of(&mut row);
                if let Some(first) = input.email.as_deref().and_then(|e| seen_before(&mut seen, e, line)) {
                    return match opts.on_duplicate {
                        OnDuplicate::Skip => Ok((Applied::Skipped, None)),
                        _ => Err(Error::invalid(
                            "email",
                            format!(
                                "`{}` already appears on line {first} of this file",
                                input.email.unwrap_or_default()
                            ),
                        )),
                    };
                }
                apply_row(&ctx, tx, input, &mut company_ids)
            });
            let result = match (result, group) {
                (Ok((applied, Some(id))), Some(g)) => {
                    if db::population::add_member(tx, g, id, actor, stamp)? {
                        report.grouped += 1;
                    }
                    Ok(applied)
                }
                (r, _) => r.map(|(applied, _)| applied),
            };
            report.tally(line, result)?;
        }
        progress(report.rows_read);
        report.companies_created = db::company::count(tx)?.saturating_sub(companies_before);
        if report.must_roll_back() {
            return Err(roll_back());
        }
        // The index builds at the end need the memory more than these do.
        drop((seen, company_ids));
        db::client::end_bulk(tx, bulk)?;
        if let Some(g) = group.filter(|_| report.grouped > 0) {
            db::population::touch_group(tx, g, stamp)?;
        }
        grant.audit(
            tx,
            "client.import",
            "client",
            None,
            None,
            Some(&serde_json::json!({
                "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
                "skipped": report.skipped, "companies_created": report.companies_created,
                "group": report.group, "grouped": report.grouped,
            })),
        )?;
        Ok(())
    });
    db::client::bulk_settings_off(session.db())?;
    finish(report, outcome)
}

/// The group an import fills: an existing one by name, or a new `imported` group.
fn import_group(
    tx: &db::Tx,
    grant: &crate::service::Grant,
    name: &str,
    actor: i64,
    stamp: DateTime<Utc>,
) -> Result<i64> {
    if let Some(existing) = db::population::group(tx, name, None)? {
        return Ok(existing.id);
    }
    let id = db::population::insert_group(
        tx,
        name,
        GroupKind::Imported.as_str(),
        "filled by client import",
        None,
        actor,
        stamp,
    )?;
    grant.audit(tx, "group.create", "group", Some(id), None, Some(&serde_json::json!({"name": name})))?;
    Ok(id)
}

/// Whether a file names this e-mail again (case ignored): the line it first appeared on.
/// Addresses are kept as 64-bit hashes, 8 bytes a row, not the address.
fn seen_before(seen: &mut HashMap<u64, u64>, email: &str, line: u64) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    email.to_lowercase().hash(&mut h);
    seen.insert(h.finish(), line)
}

struct RowContext<'a> {
    session: &'a Session<'a>,
    opts: &'a Options,
    registry: &'a [FieldDef],
    may_assign: bool,
    owner: Option<i64>,
    stamp: DateTime<Utc>,
    now: chrono::DateTime<Utc>,
}

fn apply_row(
    ctx: &RowContext,
    tx: &db::Tx,
    mut input: ClientInput,
    companies: &mut HashMap<String, i64>,
) -> Result<(Applied, Option<i64>)> {
    let session = ctx.session;
    let name = input.name.clone().ok_or_else(|| Error::invalid("name", "is empty"))?;
    let email = validate::email("email", input.email.as_deref().ok_or_else(|| Error::invalid("email", "is empty"))?)?;
    let actor = session.actor().id;
    // Who the row names as sales contact is checked only when it changes something: an
    // exported file names other sellers on rows the importer does not touch.
    let named_contact = input.sales_contact.take();
    let stage = input.stage.as_deref().map(str::parse::<Stage>).transpose()?;
    let company_id = match input.company.take() {
        None => None,
        Some(c) => match companies.get(&c.to_lowercase()) {
            Some(id) => Some(*id),
            None => {
                let id = match client::company_for(session, &c)? {
                    CompanyRef::Existing(id) => id,
                    new @ CompanyRef::New(..) => new.resolve(session, tx, ctx.stamp)?,
                };
                companies.insert(c.to_lowercase(), id);
                Some(id)
            }
        },
    };
    let existing = match db::client::id_by_email(tx, &email)? {
        Some(id) => db::client::get(tx, id)?,
        None => None,
    };
    let Some(existing) = existing else {
        if let Some(u) = named_contact.as_deref().filter(|u| !u.trim().is_empty())
            && !ctx.may_assign
            && !u.trim().eq_ignore_ascii_case(&session.actor().username)
        {
            return Err(cannot_assign());
        }
        let input = ClientInput { sales_contact: named_contact.filter(|_| ctx.may_assign), ..input };
        let base = crate::domain::client::Fields {
            company_id,
            ..crate::domain::client::Fields::new(name, email.clone(), ctx.owner, time::format_utc(ctx.stamp))
        };
        let fields = client::merge(session, base, &ClientInput { email: Some(email), ..input }, ctx.registry, ctx.now)?;
        client::check_mandatory(&fields, ctx.registry)?;
        let id = db::client::insert(tx, &fields, stage.unwrap_or(Stage::Lead).as_str(), actor, ctx.stamp)?;
        let change = consent::change(id, None, &fields.consent, ConsentSource::Import, Some(actor));
        consent::note(tx, &change, ctx.stamp)?;
        return Ok((Applied::Created, Some(id)));
    };
    match ctx.opts.on_duplicate {
        OnDuplicate::Skip => Ok((Applied::Skipped, Some(existing.id))),
        OnDuplicate::Error => Err(Error::conflict(format!("`{email}` is already client {}", existing.id))),
        OnDuplicate::Update => {
            let before = db::client::fields_of(tx, existing.id)?;
            let input = ClientInput { sales_contact: named_contact, ..input };
            let mut after = client::merge(session, before.clone(), &input, ctx.registry, ctx.now)?;
            if let Some(id) = company_id {
                after.company_id = Some(id);
            }
            let stage_changes = stage.filter(|s| s.as_str() != existing.stage);
            // A row equal to what is stored changes nothing and needs no right.
            if after == before && stage_changes.is_none() {
                return Ok((Applied::Unchanged, Some(existing.id)));
            }
            let own = existing.sales_contact_id == Some(actor);
            if !(session.can(Permission::ClientUpdateAny) || (own && session.can(Permission::ClientUpdateOwn))) {
                return Err(Error::new(
                    ErrorKind::Denied,
                    format!("client {} is not yours to update (client:update:any)", existing.id),
                ));
            }
            if after.sales_contact_id != before.sales_contact_id && !ctx.may_assign {
                return Err(cannot_assign());
            }
            if after != before {
                let change = consent::change(
                    existing.id,
                    Some(&before.consent),
                    &after.consent,
                    ConsentSource::Import,
                    Some(actor),
                );
                consent::note(tx, &change, ctx.stamp)?;
                db::client::update(tx, existing.id, &after, ctx.stamp)?;
            }
            if let Some(s) = stage_changes {
                db::client::set_stage(tx, existing.id, &existing.stage, s.as_str(), actor, ctx.stamp)?;
            }
            Ok((Applied::Updated, Some(existing.id)))
        }
    }
}

fn cannot_assign() -> Error {
    Error::invalid("sales_contact", "only users with client:update:any assign clients; leave it empty")
}

/// Streams every client to `emit` in the import columns (needs `client:read`), so the file
/// re-imports as is.
pub fn export_clients(
    session: &Session,
    mut emit: impl FnMut(&serde_json::Map<String, serde_json::Value>) -> Result<()>,
) -> Result<usize> {
    session.require(Permission::ClientRead)?;
    let registry = db::population::fields(session.db())?;
    db::client::for_each(session.db(), |c| {
        let mut row = serde_json::Map::new();
        let mut put = |k: &str, v: Option<&str>| {
            row.insert(k.to_string(), v.map_or(serde_json::Value::Null, serde_json::Value::from));
        };
        put("name", Some(&c.full_name));
        put("email", Some(&c.email));
        put("phone", c.phone.as_deref());
        put("company", c.company.as_deref());
        put("stage", Some(&c.stage));
        put("first_contact", Some(&c.first_contact_at));
        put("last_contact", c.last_contact_at.as_deref());
        put("sales_contact", c.sales_contact.as_deref());
        put("consent", Some(&c.consent));
        for f in &registry {
            let v = c.fields.get(&f.key).map(profile::display);
            put(&f.key, v.as_deref());
        }
        emit(&row)
    })
}
