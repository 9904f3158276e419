//! Contracts between the company and a client. The sales contact is the client's.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::query::Query;
use super::{Read, Tx, unique_violation};
use crate::Result;
use crate::domain::contract::{Contract, Fields};
use crate::domain::crm::Money;

macro_rules! select {
    () => {
        "SELECT k.id, k.client_id, c.full_name, c.email, co.name, k.sales_contact_id, u.username, k.total, k.due,
            k.currency, k.signed, k.signed_at, k.created_at, k.updated_at
         FROM contracts k JOIN clients c ON c.id = k.client_id LEFT JOIN companies co ON co.id = c.company_id
         LEFT JOIN users u ON u.id = k.sales_contact_id"
    };
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Contract> {
    let total: i64 = r.get(7)?;
    let due: i64 = r.get(8)?;
    Ok(Contract {
        id: r.get(0)?,
        client_id: r.get(1)?,
        client_name: r.get(2)?,
        client_email: r.get(3)?,
        company: r.get(4)?,
        sales_contact_id: r.get(5)?,
        sales_contact: r.get(6)?,
        total: Money { minor: total }.to_decimal(),
        due: Money { minor: due }.to_decimal(),
        currency: r.get(9)?,
        signed: r.get(10)?,
        signed_at: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
        total_minor: total,
        due_minor: due,
    })
}

pub fn get(r: &impl Read, id: i64) -> Result<Option<Contract>> {
    Ok(r.conn().query_row(concat!(select!(), " WHERE k.id = ?1"), [id], from_row).optional()?)
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub signed: Option<bool>,
    pub unpaid: bool,
    pub sales_contact_id: Option<i64>,
    pub client_id: Option<i64>,
    pub limit: Option<u32>,
}

pub fn list_query(f: &Filter) -> Query {
    let mut q = Query::new(select!());
    q.push(" WHERE 1");
    match f.signed {
        Some(true) => q.push(" AND k.signed = 1"),
        Some(false) => q.push(" AND k.signed = 0"),
        None => &mut q,
    };
    if f.unpaid {
        q.push(" AND k.due > 0");
    }
    if let Some(id) = f.sales_contact_id {
        q.bind(" AND k.sales_contact_id = ?", id);
    }
    if let Some(id) = f.client_id {
        q.bind(" AND k.client_id = ?", id);
    }
    q.push(" ORDER BY k.id");
    q.bind(" LIMIT ?", f.limit.map_or(-1, i64::from));
    q
}

pub fn list(r: &impl Read, f: &Filter) -> Result<Vec<Contract>> {
    let q = list_query(f);
    let mut stmt = r.conn().prepare_cached(q.sql())?;
    let rows = stmt.query_map(q.params().as_slice(), from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn insert(tx: &Tx, f: &Fields, by: i64, now: DateTime<Utc>) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn()
        .execute(
            "INSERT INTO contracts (id, client_id, total, due, currency, signed, signed_at, created_at, created_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8)",
            params![f.id, f.client_id, f.total, f.due, f.currency, f.signed_at.is_some(), f.signed_at, now, by],
        )
        .map_err(|e| unique_violation(e, || format!("contract {} already exists", f.id.unwrap_or_default())))?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn update_amounts(tx: &Tx, id: i64, total: i64, due: i64, currency: &str, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "UPDATE contracts SET total = ?2, due = ?3, currency = ?4, updated_at = ?5 WHERE id = ?1",
        params![id, total, due, currency, now],
    )?;
    Ok(())
}

pub fn set_signed(tx: &Tx, id: i64, signed_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    let signed_at = signed_at.map(super::utc_text);
    tx.conn().execute(
        "UPDATE contracts SET signed = ?2, signed_at = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, signed_at.is_some(), signed_at, now],
    )?;
    Ok(())
}

pub fn event_count(r: &impl Read, id: i64) -> Result<i64> {
    Ok(r.conn().query_row("SELECT count(*) FROM events WHERE contract_id = ?1", [id], |r| r.get(0))?)
}

/// Every contract in id order, one at a time (exports stream; memory does not grow).
pub fn for_each(r: &impl Read, f: impl FnMut(&Contract) -> Result<()>) -> Result<usize> {
    super::stream(r, concat!(select!(), " ORDER BY k.id"), from_row, f)
}
