//! Clients (contact persons), their lifecycle stage history, and the search index.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::query::Query;
use super::{Read, Tx, unique_violation};
use crate::Result;
use crate::domain::client::{Client, Fields, StageChange};

fn profile_of(text: &str) -> rusqlite::Result<Map<String, Value>> {
    super::json_column(15, text)
}

macro_rules! select {
    () => {
        "SELECT c.id, c.full_name, c.email, c.phone, c.company_id, co.name, c.sales_contact_id, u.username,
            u.full_name, c.stage, c.first_contact_at, c.last_contact_at, c.created_at, c.updated_at, c.consent, c.fields
         FROM clients c LEFT JOIN companies co ON co.id = c.company_id LEFT JOIN users u ON u.id = c.sales_contact_id"
    };
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Client> {
    let stage: String = r.get(9)?;
    Ok(Client {
        id: r.get(0)?,
        full_name: r.get(1)?,
        email: r.get(2)?,
        phone: r.get(3)?,
        company_id: r.get(4)?,
        company: r.get(5)?,
        sales_contact_id: r.get(6)?,
        sales_contact: r.get(7)?,
        sales_contact_name: r.get(8)?,
        customer: stage == "won",
        stage,
        first_contact_at: r.get(10)?,
        last_contact_at: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
        consent: r.get(14)?,
        fields: profile_of(&r.get::<_, String>(15)?)?,
    })
}

pub fn get(r: &impl Read, id: i64) -> Result<Option<Client>> {
    Ok(r.conn().query_row(concat!(select!(), " WHERE c.id = ?1"), [id], from_row).optional()?)
}

pub fn find_by_email(r: &impl Read, email: &str) -> Result<Option<Client>> {
    Ok(r.conn()
        .prepare_cached(concat!(select!(), " WHERE c.email = ?1"))?
        .query_row([email.trim()], from_row)
        .optional()?)
}

/// Whether a client has this e-mail (case-insensitive): its id.
pub fn id_by_email(r: &impl Read, email: &str) -> Result<Option<i64>> {
    Ok(r.conn()
        .prepare_cached("SELECT id FROM clients WHERE email = ?1")?
        .query_row([email.trim()], |r| r.get(0))
        .optional()?)
}

/// Every client in id order, one at a time (exports stream; memory does not grow).
pub fn for_each(r: &impl Read, f: impl FnMut(&Client) -> Result<()>) -> Result<usize> {
    super::stream(r, concat!(select!(), " ORDER BY c.id"), from_row, f)
}

pub fn fields_of(r: &impl Read, id: i64) -> Result<Fields> {
    Ok(r.conn().query_row(
        "SELECT full_name, email, phone, phone_digits, company_id, sales_contact_id, first_contact_at, last_contact_at,
            consent, fields
         FROM clients WHERE id = ?1",
        [id],
        |r| {
            Ok(Fields {
                full_name: r.get(0)?,
                email: r.get(1)?,
                phone: r.get(2)?,
                phone_digits: r.get(3)?,
                company_id: r.get(4)?,
                sales_contact_id: r.get(5)?,
                first_contact_at: r.get(6)?,
                last_contact_at: r.get(7)?,
                consent: r.get(8)?,
                profile: profile_of(&r.get::<_, String>(9)?)?,
            })
        },
    )?)
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub sales_contact_id: Option<i64>,
    pub stage: Option<String>,
    pub company_id: Option<i64>,
    pub search: Option<String>,
    pub limit: Option<u32>,
}

mod search;
pub use search::{company_query, index_query as search_index_query, walk_query as search_walk_query};

/// The listing query without a search (see [`search`]), exposed so a test can check its plan
/// uses indexes.
pub fn list_query(f: &Filter) -> Query {
    let mut q = Query::new(concat!(select!(), " WHERE 1"));
    push_filters(&mut q, f);
    q.push(" ORDER BY c.full_name, c.id");
    q.bind(" LIMIT ?", f.limit.map_or(-1, i64::from));
    q
}

fn push_filters(q: &mut Query, f: &Filter) {
    if let Some(id) = f.sales_contact_id {
        q.bind(" AND c.sales_contact_id = ?", id);
    }
    if let Some(s) = &f.stage {
        q.bind(" AND c.stage = ?", s.clone());
    }
    if let Some(id) = f.company_id {
        q.bind(" AND c.company_id = ?", id);
    }
}

/// The same filters as mere checks on rows another index found (`+` keeps SQLite from
/// walking, say, a seller's 50,000 clients to meet a search's few candidates).
fn push_row_filters(q: &mut Query, f: &Filter) {
    if let Some(id) = f.sales_contact_id {
        q.bind(" AND +c.sales_contact_id = ?", id);
    }
    if let Some(s) = &f.stage {
        q.bind(" AND +c.stage = ?", s.clone());
    }
    if let Some(id) = f.company_id {
        q.bind(" AND +c.company_id = ?", id);
    }
}

pub fn list(r: &impl Read, f: &Filter) -> Result<Vec<Client>> {
    let mut all = Vec::new();
    list_each(r, f, |c| {
        all.push(c);
        Ok(())
    })?;
    Ok(all)
}

/// The listing handed to `each` row by row as SQLite reads it (memory stays flat).
pub fn list_each(r: &impl Read, f: &Filter, mut each: impl FnMut(Client) -> Result<()>) -> Result<()> {
    if let Some(needle) = f.search.as_deref().and_then(crate::domain::search::Needle::new) {
        return search::each(r, f, &needle, each);
    }
    let q = list_query(f);
    let mut stmt = r.conn().prepare_cached(q.sql())?;
    let mut rows = stmt.query(q.params().as_slice())?;
    while let Some(row) = rows.next()? {
        each(from_row(row)?)?;
    }
    Ok(())
}

fn email_taken(f: &Fields) -> String {
    format!("a client with the e-mail `{}` already exists", f.email)
}

pub fn insert(tx: &Tx, f: &Fields, stage: &str, by: i64, now: DateTime<Utc>) -> Result<i64> {
    let stamp = super::utc_text(now);
    tx.conn()
        .prepare_cached(
            "INSERT INTO clients (full_name, email, phone, phone_digits, company_id, sales_contact_id, stage,
                first_contact_at, last_contact_at, created_at, created_by, updated_at, consent, fields)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10, ?12, ?13)",
        )?
        .execute(params![
            f.full_name,
            f.email,
            f.phone,
            f.phone_digits,
            f.company_id,
            f.sales_contact_id,
            stage,
            f.first_contact_at,
            f.last_contact_at,
            stamp,
            by,
            f.consent,
            Value::Object(f.profile.clone()).to_string()
        ])
        .map_err(|e| unique_violation(e, || email_taken(f)))?;
    let id = tx.conn().last_insert_rowid();
    record_stage(tx, id, None, stage, by, now)?;
    Ok(id)
}

pub fn update(tx: &Tx, id: i64, f: &Fields, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn()
        .execute(
            "UPDATE clients SET full_name = ?2, email = ?3, phone = ?4, phone_digits = ?5, company_id = ?6,
                sales_contact_id = ?7, first_contact_at = ?8, last_contact_at = ?9, updated_at = ?10,
                consent = ?11, fields = ?12
             WHERE id = ?1",
            params![
                id,
                f.full_name,
                f.email,
                f.phone,
                f.phone_digits,
                f.company_id,
                f.sales_contact_id,
                f.first_contact_at,
                f.last_contact_at,
                now,
                f.consent,
                Value::Object(f.profile.clone()).to_string()
            ],
        )
        .map_err(|e| unique_violation(e, || email_taken(f)))?;
    Ok(())
}

/// Moves a client to another stage and records the change.
pub fn set_stage(tx: &Tx, id: i64, from: &str, to: &str, by: i64, now: DateTime<Utc>) -> Result<()> {
    let stamp = super::utc_text(now);
    tx.conn().execute("UPDATE clients SET stage = ?2, updated_at = ?3 WHERE id = ?1", params![id, to, stamp])?;
    record_stage(tx, id, Some(from), to, by, now)
}

fn record_stage(tx: &Tx, id: i64, from: Option<&str>, to: &str, by: i64, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn()
        .prepare_cached(
            "INSERT INTO client_stage_history (client_id, from_stage, to_stage, at, by_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id, from, to, now, by])?;
    Ok(())
}

/// Moves "last contact" forward (never back).
pub fn touch_last_contact(tx: &Tx, id: i64, at: DateTime<Utc>) -> Result<()> {
    let at = super::utc_text(at);
    tx.conn().execute(
        "UPDATE clients SET last_contact_at = ?2 WHERE id = ?1 AND (last_contact_at IS NULL OR last_contact_at < ?2)",
        params![id, at],
    )?;
    Ok(())
}

pub fn stage_history(r: &impl Read, id: i64) -> Result<Vec<StageChange>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT h.from_stage, h.to_stage, h.at, u.username FROM client_stage_history h
         LEFT JOIN users u ON u.id = h.by_id WHERE h.client_id = ?1 ORDER BY h.at, h.id",
    )?;
    let rows =
        stmt.query_map([id], |r| Ok(StageChange { from: r.get(0)?, to: r.get(1)?, at: r.get(2)?, by: r.get(3)? }))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn contract_count(r: &impl Read, id: i64) -> Result<i64> {
    Ok(r.conn().query_row("SELECT count(*) FROM contracts WHERE client_id = ?1", [id], |r| r.get(0))?)
}

pub fn delete(tx: &Tx, id: i64) -> Result<()> {
    tx.conn().execute("DELETE FROM clients WHERE id = ?1", [id])?;
    Ok(())
}

/// A bulk load of clients in one transaction (see [`begin_bulk`]).
pub struct Bulk {
    /// The last client id before the load.
    pub first_new: i64,
    before: i64,
    indexes_down: bool,
    /// What the load took down (the search trigger, secondary indexes), as the statements
    /// that create them again.
    dropped: Vec<String>,
}

/// A load this many rows long (and as long as the table was) rebuilds the secondary indexes
/// once at the end instead of updating them row by row.
const REBUILD_AFTER: u64 = 50_000;

/// Starts a bulk load in `tx`. Everything here is undone with the transaction if the load
/// fails, and other connections see none of it (they wait for the write lock anyway):
/// - the per-row search-index trigger is dropped: [`end_bulk`] indexes the new clients in one
///   statement, and a single-row insert without a trigger needs no statement journal (each
///   row's pages were copied into one before);
/// - a 16 MiB page cache (index builds sort in temporary files when the database is in clear,
///   see `Db::open`);
/// - `secure_delete` eases to `FAST` (deleted cells still zeroed, freed pages not rewritten):
///   the pages a load frees hold index entries and search-index segments it rebuilds from rows
///   that stay; an erasure runs with the full setting.
pub fn begin_bulk(tx: &Tx) -> Result<Bulk> {
    let trigger: String = tx.conn().query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = 'clients_search_insert'",
        [],
        |r| r.get(0),
    )?;
    tx.conn().execute_batch("DROP TRIGGER clients_search_insert; PRAGMA secure_delete = FAST;")?;
    tx.page_cache(Some(16 * 1024))?;
    let (first_new, before) = tx
        .conn()
        .query_row("SELECT coalesce(max(id), 0), count(*) FROM clients", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Bulk { first_new, before, indexes_down: false, dropped: vec![trigger] })
}

/// Told how many rows the load has read so far: once they are [`REBUILD_AFTER`] and as many
/// as the table had, the secondary indexes of `clients` (not the unique ones, which the load
/// checks against) are dropped, to be rebuilt by [`end_bulk`]: a sorted build writes each
/// index page once, where row-by-row updates rewrite them again and again.
pub fn bulk_progress(tx: &Tx, bulk: &mut Bulk, rows: u64) -> Result<()> {
    if bulk.indexes_down || rows < REBUILD_AFTER || rows < u64::try_from(bulk.before).unwrap_or(0) {
        return Ok(());
    }
    let indexes: Vec<(String, String)> = {
        let mut stmt = tx.conn().prepare(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'clients' AND sql IS NOT NULL
                AND sql NOT LIKE 'CREATE UNIQUE%'",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?
    };
    for (name, sql) in indexes {
        // Names come from the schema (migrations, field indexes), quoted all the same.
        tx.conn().execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
        bulk.dropped.push(sql);
    }
    bulk.indexes_down = true;
    Ok(())
}

/// Puts back what the load took down and indexes the new clients for search. (A load that
/// rolls back instead gets all of it back with the transaction.)
pub fn end_bulk(tx: &Tx, bulk: Bulk) -> Result<()> {
    for sql in &bulk.dropped {
        tx.conn().execute_batch(sql)?;
    }
    tx.conn().execute(
        "INSERT INTO clients_search (rowid, body) SELECT id, body FROM client_search_text WHERE id > ?1",
        [bulk.first_new],
    )?;
    Ok(())
}

/// The connection's settings as before [`begin_bulk`] (they are not part of the transaction):
/// called after the load's transaction, whether it committed or not.
pub fn bulk_settings_off(r: &impl Read) -> Result<()> {
    r.conn().execute_batch("PRAGMA secure_delete = ON")?;
    r.conn().pragma_update(None, "cache_size", -i64::from(super::DEFAULT_PAGE_CACHE_KIB))?;
    Ok(())
}

/// Moves everything attached to client `from` onto client `to`: contracts, interactions,
/// stage history, group memberships and client accounts (their tickets follow them). Returns
/// (contracts, interactions) moved.
pub fn move_records(tx: &Tx, from: i64, to: i64) -> Result<(usize, usize)> {
    let c = tx.conn();
    let contracts = c.execute("UPDATE contracts SET client_id = ?2 WHERE client_id = ?1", [from, to])?;
    let interactions = c.execute("UPDATE interactions SET client_id = ?2 WHERE client_id = ?1", [from, to])?;
    c.execute("UPDATE client_stage_history SET client_id = ?2 WHERE client_id = ?1", [from, to])?;
    c.execute("UPDATE OR IGNORE client_group_members SET client_id = ?2 WHERE client_id = ?1", [from, to])?;
    c.execute("UPDATE users SET client_id = ?2 WHERE client_id = ?1", [from, to])
        .map_err(|e| unique_violation(e, || "both clients have a client account; deactivate one first".to_string()))?;
    Ok((contracts, interactions))
}

/// The clients with these ids, in listing order.
pub(crate) fn by_ids(r: &impl Read, ids: &[i64], mut each: impl FnMut(Client) -> Result<()>) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut stmt = r.conn().prepare_cached(concat!(
        select!(),
        " WHERE c.id IN (SELECT value FROM json_each(?1)) ORDER BY c.full_name, c.id"
    ))?;
    let mut rows = stmt.query([serde_json::to_string(ids)?])?;
    while let Some(row) = rows.next()? {
        each(from_row(row)?)?;
    }
    Ok(())
}

/// A page of a segment (`--limit` up to this) is first looked for by walking the listing
/// order, as a search's is (see `search`): a segment of one client in six fills a page of 50
/// after ~300 rows instead of sorting its 166,000 members.
const PLAN_PAGE_MAX: usize = 1000;

/// The walk over clients in listing order, each with whether the plan selects it.
pub fn plan_walk_query(plan: &crate::domain::segment::Plan, rows: usize) -> Query {
    let mut q = Query::new("SELECT c.id, ");
    super::population::push_plan(&mut q, plan);
    q.bind(" FROM clients c ORDER BY c.full_name, c.id LIMIT ?", i64::try_from(rows).unwrap_or(i64::MAX));
    q
}

/// The clients a segment plan selects, by name, up to `limit`.
///
/// `members`, when the caller has counted them, says whether walking pays: a page of 50 from
/// 100,000 members of a million is ~500 rows away in name order, from 2,000 members ~25,000
/// rows away, where sorting those 2,000 is quicker.
pub fn select_plan(
    r: &impl Read,
    plan: &crate::domain::segment::Plan,
    limit: Option<u32>,
    members: Option<i64>,
) -> Result<Vec<Client>> {
    let mut all = Vec::new();
    if members == Some(0) || limit == Some(0) {
        return Ok(all);
    }
    if let Some(page) = limit.map(|l| l as usize).filter(|l| *l <= PLAN_PAGE_MAX) {
        let budget = (page * 100).max(2000);
        let worth_walking = match members {
            None => true,
            Some(m) => {
                let population: i64 =
                    r.conn().query_row("SELECT coalesce(max(id), 0) FROM clients", [], |r| r.get(0))?;
                let page = i64::try_from(page).unwrap_or(i64::MAX);
                page.saturating_mul(population) / m.max(1) <= i64::try_from(budget).unwrap_or(i64::MAX)
            }
        };
        if worth_walking && let Some(ids) = walk_plan(r, plan, page, budget)? {
            by_ids(r, &ids, |c| {
                all.push(c);
                Ok(())
            })?;
            return Ok(all);
        }
    }
    // Few members: they are chosen over bare rows first, and sorted (`+` keeps the planner
    // from walking the name index, which visits every client in random order when few match).
    let mut q = Query::new(concat!(select!(), " WHERE c.id IN (SELECT c.id FROM clients c WHERE "));
    super::population::push_plan(&mut q, plan);
    q.bind(" ORDER BY +c.full_name, c.id LIMIT ?)", limit.map_or(-1, i64::from));
    q.push(" ORDER BY c.full_name, c.id");
    let mut stmt = r.conn().prepare(q.sql())?;
    let rows = stmt.query_map(q.params().as_slice(), from_row)?;
    all.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    Ok(all)
}

/// The first `page` members in listing order, if at most `budget` clients hold them.
fn walk_plan(
    r: &impl Read,
    plan: &crate::domain::segment::Plan,
    page: usize,
    budget: usize,
) -> Result<Option<Vec<i64>>> {
    first_hits(r, &plan_walk_query(plan, budget), page, budget, |row| {
        Ok(row.get::<_, Option<i64>>(1)?.unwrap_or(0) != 0)
    })
}

/// Walks a query in listing order (ids first, at most `budget` rows: its `LIMIT`) until
/// `page` rows pass `hit`: their ids, or `None` when the budget ran out first (the rows that
/// pass are too far down the order to walk to). Searches and segments both page this way.
fn first_hits(
    r: &impl Read,
    q: &Query,
    page: usize,
    budget: usize,
    mut hit: impl FnMut(&Row<'_>) -> rusqlite::Result<bool>,
) -> Result<Option<Vec<i64>>> {
    let mut stmt = r.conn().prepare(q.sql())?;
    let mut rows = stmt.query(q.params().as_slice())?;
    let (mut ids, mut read) = (Vec::new(), 0);
    while ids.len() < page
        && let Some(row) = rows.next()?
    {
        read += 1;
        if hit(row)? {
            ids.push(row.get::<_, i64>(0)?);
        }
    }
    Ok((ids.len() >= page || read < budget).then_some(ids))
}

/// The count of a segment, exposed so a test can check its plan.
pub fn count_plan_query(plan: &crate::domain::segment::Plan) -> Query {
    let mut q = Query::new("SELECT count(*) FROM clients c WHERE ");
    super::population::push_plan(&mut q, plan);
    q
}

/// How many clients a segment plan selects.
pub fn count_plan(r: &impl Read, plan: &crate::domain::segment::Plan) -> Result<i64> {
    let q = count_plan_query(plan);
    Ok(r.conn().query_row(q.sql(), q.params().as_slice(), |r| r.get(0))?)
}

/// Puts every client a plan selects into a group; returns how many were added.
pub fn add_plan_to_group(
    tx: &Tx,
    plan: &crate::domain::segment::Plan,
    group: i64,
    by: i64,
    now: DateTime<Utc>,
) -> Result<usize> {
    let now = super::utc_text(now);
    let mut q =
        Query::new("INSERT OR IGNORE INTO client_group_members (group_id, client_id, added_at, added_by) SELECT ");
    q.bind("?", group);
    q.bind(", c.id, ?", now.to_string());
    q.bind(", ? FROM clients c WHERE ", by);
    super::population::push_plan(&mut q, plan);
    Ok(tx.conn().execute(q.sql(), q.params().as_slice())?)
}
