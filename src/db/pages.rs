//! Landing pages and their sign-ups.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Read, Tx};
use crate::Result;
use crate::domain::page::LandingPage;

const SELECT: &str = "SELECT p.id, p.slug, t.name, g.name, p.fields, p.consent_text, p.double_opt_in, p.active,
        u.username, p.created_by, p.created_at, p.updated_at, p.template_id, p.group_id,
        (SELECT count(*) FROM page_signups s WHERE s.page_id = p.id AND s.status = 'confirmed'),
        (SELECT count(*) FROM page_signups s WHERE s.page_id = p.id AND s.status = 'pending')
    FROM landing_pages p JOIN templates t ON t.id = p.template_id JOIN users u ON u.id = p.created_by
    LEFT JOIN client_groups g ON g.id = p.group_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<LandingPage> {
    let fields: String = r.get(4)?;
    Ok(LandingPage {
        id: r.get(0)?,
        slug: r.get(1)?,
        template: r.get(2)?,
        group: r.get(3)?,
        fields: serde_json::from_str(&fields).unwrap_or_default(),
        consent_text: r.get(5)?,
        double_opt_in: r.get(6)?,
        active: r.get(7)?,
        created_by: r.get(8)?,
        owner_id: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
        template_id: r.get(12)?,
        group_id: r.get(13)?,
        signups: r.get(14)?,
        pending: r.get(15)?,
    })
}

pub fn list(r: &impl Read) -> Result<Vec<LandingPage>> {
    let mut stmt = r.conn().prepare(&[SELECT, " ORDER BY p.slug"].concat())?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(r: &impl Read, slug: &str) -> Result<Option<LandingPage>> {
    Ok(r.conn().prepare_cached(&[SELECT, " WHERE p.slug = ?1"].concat())?.query_row([slug], from_row).optional()?)
}

pub fn by_id(r: &impl Read, id: i64) -> Result<Option<LandingPage>> {
    Ok(r.conn().prepare_cached(&[SELECT, " WHERE p.id = ?1"].concat())?.query_row([id], from_row).optional()?)
}

/// A page's settings as stored.
pub struct Settings<'a> {
    pub slug: &'a str,
    pub template_id: i64,
    pub group_id: Option<i64>,
    pub fields: &'a [String],
    pub consent_text: &'a str,
    pub double_opt_in: bool,
    pub active: bool,
}

pub fn insert(tx: &Tx, s: &Settings, by: i64, now: DateTime<Utc>) -> Result<i64> {
    tx.conn().execute(
        "INSERT INTO landing_pages (slug, template_id, group_id, fields, consent_text, double_opt_in, active,
            created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![
            s.slug,
            s.template_id,
            s.group_id,
            serde_json::to_string(s.fields)?,
            s.consent_text,
            s.double_opt_in,
            s.active,
            by,
            super::utc_text(now)
        ],
    )?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn update(tx: &Tx, id: i64, s: &Settings, now: DateTime<Utc>) -> Result<()> {
    tx.conn().execute(
        "UPDATE landing_pages SET slug = ?2, template_id = ?3, group_id = ?4, fields = ?5, consent_text = ?6,
            double_opt_in = ?7, active = ?8, updated_at = ?9 WHERE id = ?1",
        params![
            id,
            s.slug,
            s.template_id,
            s.group_id,
            serde_json::to_string(s.fields)?,
            s.consent_text,
            s.double_opt_in,
            s.active,
            super::utc_text(now)
        ],
    )?;
    Ok(())
}

pub fn delete(tx: &Tx, id: i64) -> Result<()> {
    tx.conn().execute("DELETE FROM landing_pages WHERE id = ?1", [id])?;
    Ok(())
}

pub fn insert_signup(
    tx: &Tx,
    page: i64,
    client: i64,
    confirmed: bool,
    text_hash: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "INSERT INTO page_signups (page_id, client_id, status, text_hash, created_at, confirmed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?3 = 'confirmed' THEN ?5 END)",
        params![page, client, if confirmed { "confirmed" } else { "pending" }, text_hash, now],
    )?;
    Ok(tx.conn().last_insert_rowid())
}

/// A sign-up of a page.
pub struct Signup {
    pub page_id: i64,
    pub client_id: Option<i64>,
    pub text_hash: String,
}

pub fn signup(r: &impl Read, id: i64) -> Result<Option<Signup>> {
    Ok(r.conn()
        .query_row("SELECT page_id, client_id, text_hash FROM page_signups WHERE id = ?1", [id], |r| {
            Ok(Signup { page_id: r.get(0)?, client_id: r.get(1)?, text_hash: r.get(2)? })
        })
        .optional()?)
}

/// Confirms a pending sign-up; false when it was confirmed before.
pub fn confirm_signup(tx: &Tx, id: i64, now: DateTime<Utc>) -> Result<bool> {
    Ok(tx.conn().execute(
        "UPDATE page_signups SET status = 'confirmed', confirmed_at = ?2 WHERE id = ?1 AND status = 'pending'",
        params![id, super::utc_text(now)],
    )? == 1)
}
