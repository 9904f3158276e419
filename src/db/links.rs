//! The links of campaign mail and their clicks, short links and their hits.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Read, Tx};
use crate::Result;
use crate::domain::campaign::{Bucket, LinkClicks};
use crate::domain::links::ShortLink;

/// The id of a campaign's link, registered on first use.
pub fn campaign_link(tx: &Tx, campaign_id: i64, url: &str, now: DateTime<Utc>) -> Result<i64> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO campaign_links (campaign_id, url, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (campaign_id, url) DO NOTHING",
        )?
        .execute(params![campaign_id, url, super::utc_text(now)])?;
    Ok(tx.conn().query_row(
        "SELECT id FROM campaign_links WHERE campaign_id = ?1 AND url = ?2",
        params![campaign_id, url],
        |r| r.get(0),
    )?)
}

/// A link of campaign mail with what a click on it needs of its campaign.
pub struct LinkTarget {
    pub campaign_id: i64,
    pub url: String,
    pub tracking: String,
    pub autologin: bool,
}

/// A link and its campaign's tracking mode and autologin switch, in one read (every click).
pub fn campaign_link_by_id(r: &impl Read, id: i64) -> Result<Option<LinkTarget>> {
    Ok(r.conn()
        .prepare_cached(
            "SELECT l.campaign_id, l.url, c.tracking, c.autologin
             FROM campaign_links l JOIN campaigns c ON c.id = l.campaign_id WHERE l.id = ?1",
        )?
        .query_row([id], |r| {
            Ok(LinkTarget { campaign_id: r.get(0)?, url: r.get(1)?, tracking: r.get(2)?, autologin: r.get(3)? })
        })
        .optional()?)
}

/// A click on a link of campaign mail: `row` names the recipient (tracking `full`), or nobody.
pub fn click(
    tx: &Tx,
    campaign_id: i64,
    link_id: i64,
    row: Option<(i64, Option<i64>)>,
    machine: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO mail_events (kind, send_log_id, campaign_id, client_id, link_id, machine, created_at)
             VALUES ('click', ?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            row.map(|r| r.0),
            campaign_id,
            row.and_then(|r| r.1),
            link_id,
            machine,
            super::utc_text(now)
        ])?;
    Ok(())
}

/// Clicks per link of a campaign, by people (machines apart): all of them, and recipients
/// (each once; anonymous clicks count each).
pub fn link_clicks(r: &impl Read, campaign_id: i64) -> Result<Vec<LinkClicks>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT l.url,
                count(e.id) FILTER (WHERE e.machine = 0),
                count(DISTINCT e.send_log_id) FILTER (WHERE e.machine = 0)
                    + count(e.id) FILTER (WHERE e.machine = 0 AND e.send_log_id IS NULL),
                count(e.id) FILTER (WHERE e.machine = 1)
         FROM campaign_links l LEFT JOIN mail_events e ON e.link_id = l.id AND e.kind = 'click'
         WHERE l.campaign_id = ?1 GROUP BY l.id ORDER BY 3 DESC, l.id",
    )?;
    let rows = stmt.query_map([campaign_id], |r| {
        Ok(LinkClicks { url: r.get(0)?, clicks: r.get(1)?, unique: r.get(2)?, machine: r.get(3)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Opens and clicks by people per period (`strftime` pattern cut to an hour or a day).
pub fn timeline(r: &impl Read, campaign_id: i64, by_day: bool) -> Result<Vec<Bucket>> {
    let cut = if by_day { 10 } else { 13 };
    let mut stmt = r.conn().prepare_cached(
        "SELECT substr(created_at, 1, ?2) AS t, count(*) FILTER (WHERE kind = 'open'), count(*) FILTER (WHERE kind = 'click')
         FROM mail_events WHERE campaign_id = ?1 AND kind IN ('open', 'click') AND machine = 0
         GROUP BY t ORDER BY t",
    )?;
    let rows = stmt.query_map(params![campaign_id, cut], |r| {
        Ok(Bucket { period: r.get(0)?, opens: r.get(1)?, clicks: r.get(2)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const SHORT: &str = "SELECT s.id, s.code, s.url, s.campaign_id, s.expires_at, u.username, s.created_at,
        (SELECT count(*) FROM short_link_hits h WHERE h.link_id = s.id AND h.machine = 0),
        (SELECT count(DISTINCT h.send_log_id) FROM short_link_hits h WHERE h.link_id = s.id AND h.machine = 0),
        (SELECT count(*) FROM short_link_hits h WHERE h.link_id = s.id AND h.machine = 1)
    FROM short_links s JOIN users u ON u.id = s.created_by";

fn short_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ShortLink> {
    Ok(ShortLink {
        id: r.get(0)?,
        code: r.get(1)?,
        url: r.get(2)?,
        campaign_id: r.get(3)?,
        expires_at: r.get(4)?,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
        clicks: r.get(7)?,
        recipients: r.get(8)?,
        machine_clicks: r.get(9)?,
    })
}

pub fn short_links(r: &impl Read) -> Result<Vec<ShortLink>> {
    let mut stmt = r.conn().prepare(&[SHORT, " ORDER BY s.code"].concat())?;
    let rows = stmt.query_map([], short_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn short_link(r: &impl Read, code: &str) -> Result<Option<ShortLink>> {
    Ok(r.conn().prepare_cached(&[SHORT, " WHERE s.code = ?1"].concat())?.query_row([code], short_row).optional()?)
}

pub struct NewShortLink<'a> {
    pub code: &'a str,
    pub url: &'a str,
    pub campaign_id: Option<i64>,
    pub expires_at: Option<&'a str>,
}

pub fn insert_short_link(tx: &Tx, s: &NewShortLink, by: i64, now: DateTime<Utc>) -> Result<i64> {
    tx.conn().execute(
        "INSERT INTO short_links (code, url, campaign_id, expires_at, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![s.code, s.url, s.campaign_id, s.expires_at, by, super::utc_text(now)],
    )?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn delete_short_link(tx: &Tx, id: i64) -> Result<()> {
    tx.conn().execute("DELETE FROM short_links WHERE id = ?1", [id])?;
    Ok(())
}

/// Where a short link goes and whether it may still be followed: (id, url, expires_at).
pub fn short_target(r: &impl Read, code: &str) -> Result<Option<(i64, String, Option<String>)>> {
    Ok(r.conn()
        .prepare_cached("SELECT id, url, expires_at FROM short_links WHERE code = ?1")?
        .query_row([code], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

pub fn short_hit(tx: &Tx, link_id: i64, row: Option<i64>, machine: bool, now: DateTime<Utc>) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO short_link_hits (link_id, send_log_id, machine, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![link_id, row, machine, super::utc_text(now)])?;
    Ok(())
}

/// Hits of a short link per day, by people.
pub fn short_timeline(r: &impl Read, link_id: i64) -> Result<Vec<Bucket>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT substr(created_at, 1, 10) AS t, 0, count(*) FROM short_link_hits
         WHERE link_id = ?1 AND machine = 0 GROUP BY t ORDER BY t",
    )?;
    let rows = stmt.query_map([link_id], |r| Ok(Bucket { period: r.get(0)?, opens: r.get(1)?, clicks: r.get(2)? }))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
