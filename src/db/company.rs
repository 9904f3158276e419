//! Companies: the natural grouping of client contacts.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::query::Query;
use super::{Read, Tx, unique_violation};
use crate::Result;
use crate::domain::company::{Company, Fields};
use crate::domain::crm::Money;

const SELECT: &str = "SELECT co.id, co.name, co.logo, co.size, co.industry, co.business_type, co.country, co.website,
        co.time_zone, co.total_income, co.currency, co.sales_owner_id, u.username,
        (SELECT count(*) FROM clients c WHERE c.company_id = co.id), co.created_at, co.updated_at
    FROM companies co LEFT JOIN users u ON u.id = co.sales_owner_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Company> {
    Ok(Company {
        id: r.get(0)?,
        name: r.get(1)?,
        logo: r.get(2)?,
        size: r.get(3)?,
        industry: r.get(4)?,
        business_type: r.get(5)?,
        country: r.get(6)?,
        website: r.get(7)?,
        time_zone: r.get(8)?,
        total_income: r.get::<_, Option<i64>>(9)?.map(|m| Money { minor: m }.to_decimal()),
        currency: r.get(10)?,
        sales_owner_id: r.get(11)?,
        sales_owner: r.get(12)?,
        clients: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
    })
}

pub fn fields_of(r: &impl Read, id: i64) -> Result<Fields> {
    Ok(r.conn().query_row(
        "SELECT name, logo, size, industry, business_type, country, website, time_zone, total_income, currency,
                sales_owner_id FROM companies WHERE id = ?1",
        [id],
        |r| {
            Ok(Fields {
                name: r.get(0)?,
                logo: r.get(1)?,
                size: r.get(2)?,
                industry: r.get(3)?,
                business_type: r.get(4)?,
                country: r.get(5)?,
                website: r.get(6)?,
                time_zone: r.get(7)?,
                total_income: r.get(8)?,
                currency: r.get(9)?,
                sales_owner_id: r.get(10)?,
            })
        },
    )?)
}

pub fn count(r: &impl Read) -> Result<u64> {
    Ok(r.conn().query_row("SELECT count(*) FROM companies", [], |row| row.get::<_, i64>(0))? as u64)
}

pub fn get(r: &impl Read, id: i64) -> Result<Option<Company>> {
    let sql = [SELECT, " WHERE co.id = ?1"].concat();
    Ok(r.conn().query_row(&sql, [id], from_row).optional()?)
}

pub fn find_by_name(r: &impl Read, name: &str) -> Result<Option<Company>> {
    let sql = [SELECT, " WHERE co.name = ?1"].concat();
    Ok(r.conn().query_row(&sql, [name.trim()], from_row).optional()?)
}

#[derive(Debug, Default)]
pub struct Filter {
    pub owner_id: Option<i64>,
    pub search: Option<String>,
    pub limit: Option<u32>,
}

pub fn list(r: &impl Read, f: &Filter) -> Result<Vec<Company>> {
    let mut q = Query::new(SELECT);
    q.push(" WHERE 1");
    if let Some(id) = f.owner_id {
        q.bind(" AND co.sales_owner_id = ?", id);
    }
    if let Some(s) = &f.search {
        q.bind(" AND instr(lower(co.name), lower(?)) > 0", s.clone());
    }
    q.push(" ORDER BY co.name");
    q.bind(" LIMIT ?", f.limit.map_or(-1, i64::from));
    let mut stmt = r.conn().prepare(q.sql())?;
    let rows = stmt.query_map(q.params().as_slice(), from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn insert(tx: &Tx, f: &Fields, by: i64, now: DateTime<Utc>) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn()
        .execute(
            "INSERT INTO companies (name, logo, size, industry, business_type, country, website, time_zone,
                total_income, currency, sales_owner_id, created_at, created_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?12)",
            params![
                f.name,
                f.logo,
                f.size,
                f.industry,
                f.business_type,
                f.country,
                f.website,
                f.time_zone,
                f.total_income,
                f.currency,
                f.sales_owner_id,
                now,
                by
            ],
        )
        .map_err(|e| unique_violation(e, || format!("a company named `{}` already exists", f.name)))?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn update(tx: &Tx, id: i64, f: &Fields, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn()
        .execute(
            "UPDATE companies SET name = ?2, logo = ?3, size = ?4, industry = ?5, business_type = ?6, country = ?7,
                website = ?8, time_zone = ?9, total_income = ?10, currency = ?11, sales_owner_id = ?12, updated_at = ?13
             WHERE id = ?1",
            params![
                id,
                f.name,
                f.logo,
                f.size,
                f.industry,
                f.business_type,
                f.country,
                f.website,
                f.time_zone,
                f.total_income,
                f.currency,
                f.sales_owner_id,
                now
            ],
        )
        .map_err(|e| unique_violation(e, || format!("a company named `{}` already exists", f.name)))?;
    Ok(())
}
