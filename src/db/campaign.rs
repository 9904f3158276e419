//! Campaigns, their audience definition and the send log (the suppression list is in
//! `db::suppression`, re-exported here).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::query::Query;
use super::{Read, Tx};
use crate::Result;
use crate::domain::campaign::{AudiencePart, Campaign, Progress, SendRow};
use crate::domain::segment::Plan;

pub use super::suppression::{
    mailbox_salt, suppress, suppressed_hashes, suppression, suppressions, unsuppress, unsuppress_unsubscribed,
};

/// The editable settings of a campaign, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub name: String,
    pub template_id: i64,
    pub template_version: i64,
    pub from: String,
    pub reply_to: Option<String>,
    pub tracking: String,
    pub rate: i64,
    /// Whether its links recognise their recipient on a landing page.
    pub autologin: bool,
}

const SELECT: &str = "SELECT c.id, c.name, t.name, c.template_version, c.from_addr, c.reply_to, c.tracking, c.rate,
        c.status, au.username, c.author_id, ap.username, c.approved_at, c.approval_hash, c.approval_comment,
        c.scheduled_at, c.started_at, c.finished_at, c.created_at, c.updated_at, c.template_id, c.autologin
    FROM campaigns c JOIN templates t ON t.id = c.template_id JOIN users au ON au.id = c.author_id
    LEFT JOIN users ap ON ap.id = c.approved_by";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Campaign> {
    Ok(Campaign {
        id: r.get(0)?,
        name: r.get(1)?,
        template: r.get(2)?,
        template_version: r.get(3)?,
        from: r.get(4)?,
        reply_to: r.get(5)?,
        tracking: r.get(6)?,
        autologin: r.get(21)?,
        rate: r.get(7)?,
        status: r.get(8)?,
        author: r.get(9)?,
        author_id: r.get(10)?,
        approved_by: r.get(11)?,
        approved_at: r.get(12)?,
        approval_hash: r.get(13)?,
        approval_comment: r.get(14)?,
        scheduled_at: r.get(15)?,
        started_at: r.get(16)?,
        finished_at: r.get(17)?,
        audience: Vec::new(),
        created_at: r.get(18)?,
        updated_at: r.get(19)?,
    })
}

fn with_audience(r: &impl Read, mut c: Campaign) -> Result<Campaign> {
    c.audience = audience(r, c.id)?;
    Ok(c)
}

pub fn get(r: &impl Read, id: i64) -> Result<Option<Campaign>> {
    let sql = [SELECT, " WHERE c.id = ?1"].concat();
    let found = r.conn().query_row(&sql, [id], from_row).optional()?;
    found.map(|c| with_audience(r, c)).transpose()
}

/// A campaign's tracking mode and autologin switch (what every pixel and click asks).
pub fn tracking_of(r: &impl Read, id: i64) -> Result<Option<(String, bool)>> {
    Ok(r.conn()
        .prepare_cached("SELECT tracking, autologin FROM campaigns WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The template a campaign pins (id), for looking its version up.
pub fn template_id(r: &impl Read, id: i64) -> Result<Option<i64>> {
    Ok(r.conn().query_row("SELECT template_id FROM campaigns WHERE id = ?1", [id], |r| r.get(0)).optional()?)
}

pub fn list(r: &impl Read, status: Option<&str>, author: Option<i64>, limit: Option<u32>) -> Result<Vec<Campaign>> {
    let mut q = Query::new(SELECT);
    q.push(" WHERE 1");
    if let Some(s) = status {
        q.bind(" AND c.status = ?", s.to_string());
    }
    if let Some(a) = author {
        q.bind(" AND c.author_id = ?", a);
    }
    q.push(" ORDER BY c.id DESC");
    q.bind(" LIMIT ?", limit.map_or(-1, i64::from));
    let mut stmt = r.conn().prepare(q.sql())?;
    let rows = stmt.query_map(q.params().as_slice(), from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(|c| with_audience(r, c)).collect()
}

pub fn insert(tx: &Tx, s: &Settings, author: i64, now: DateTime<Utc>) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "INSERT INTO campaigns (name, template_id, template_version, from_addr, reply_to, tracking, rate, author_id,
            created_at, updated_at, autologin)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
        params![
            s.name,
            s.template_id,
            s.template_version,
            s.from,
            s.reply_to,
            s.tracking,
            s.rate,
            author,
            now,
            s.autologin
        ],
    )?;
    Ok(tx.conn().last_insert_rowid())
}

/// Changes the settings; the approval is void and the campaign is a draft again.
pub fn update(tx: &Tx, id: i64, s: &Settings, now: DateTime<Utc>) -> Result<()> {
    tx.conn().execute(
        "UPDATE campaigns SET name = ?2, template_id = ?3, template_version = ?4, from_addr = ?5, reply_to = ?6,
            tracking = ?7, rate = ?8, status = 'draft', approved_by = NULL, approved_at = NULL,
            approval_hash = NULL, approval_comment = NULL, scheduled_at = NULL, updated_at = ?9, autologin = ?10
         WHERE id = ?1",
        params![
            id,
            s.name,
            s.template_id,
            s.template_version,
            s.from,
            s.reply_to,
            s.tracking,
            s.rate,
            super::utc_text(now),
            s.autologin
        ],
    )?;
    Ok(())
}

pub fn settings(r: &impl Read, id: i64) -> Result<Settings> {
    Ok(r.conn().query_row(
        "SELECT name, template_id, template_version, from_addr, reply_to, tracking, rate, autologin
         FROM campaigns WHERE id = ?1",
        [id],
        |r| {
            Ok(Settings {
                name: r.get(0)?,
                template_id: r.get(1)?,
                template_version: r.get(2)?,
                from: r.get(3)?,
                reply_to: r.get(4)?,
                tracking: r.get(5)?,
                rate: r.get(6)?,
                autologin: r.get(7)?,
            })
        },
    )?)
}

/// The audience definition, with the names of its groups and segments.
pub fn audience(r: &impl Read, id: i64) -> Result<Vec<AudiencePart>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT a.exclude, a.kind, a.ref_id, coalesce(g.name, s.name, '(deleted)')
         FROM campaign_audience a
         LEFT JOIN client_groups g ON a.kind = 'group' AND g.id = a.ref_id
         LEFT JOIN client_segments s ON a.kind = 'segment' AND s.id = a.ref_id
         WHERE a.campaign_id = ?1 ORDER BY a.exclude, a.kind, a.ref_id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(AudiencePart { exclude: r.get(0)?, kind: r.get(1)?, id: r.get(2)?, name: r.get(3)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn set_audience(tx: &Tx, id: i64, parts: &[AudiencePart]) -> Result<()> {
    tx.conn().execute("DELETE FROM campaign_audience WHERE campaign_id = ?1", [id])?;
    let mut stmt = tx.conn().prepare_cached(
        "INSERT OR IGNORE INTO campaign_audience (campaign_id, exclude, kind, ref_id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for p in parts {
        stmt.execute(params![id, p.exclude, p.kind, p.id])?;
    }
    Ok(())
}

pub fn set_status(tx: &Tx, id: i64, status: &str, now: DateTime<Utc>) -> Result<()> {
    tx.conn().execute(
        "UPDATE campaigns SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, status, super::utc_text(now)],
    )?;
    Ok(())
}

pub fn approve(tx: &Tx, id: i64, by: i64, hash: &str, comment: Option<&str>, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "UPDATE campaigns SET status = 'approved', approved_by = ?2, approved_at = ?3, approval_hash = ?4,
            approval_comment = ?5, updated_at = ?3 WHERE id = ?1",
        params![id, by, now, hash, comment],
    )?;
    Ok(())
}

/// Back to draft, the approval void (a rejection records its comment).
pub fn to_draft(tx: &Tx, id: i64, comment: Option<&str>, now: DateTime<Utc>) -> Result<()> {
    tx.conn().execute(
        "UPDATE campaigns SET status = 'draft', approved_by = NULL, approved_at = NULL, approval_hash = NULL,
            approval_comment = ?2, scheduled_at = NULL, updated_at = ?3 WHERE id = ?1",
        params![id, comment, super::utc_text(now)],
    )?;
    Ok(())
}

pub fn schedule(tx: &Tx, id: i64, at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<()> {
    tx.conn().execute(
        "UPDATE campaigns SET status = CASE WHEN ?2 IS NULL THEN 'approved' ELSE 'scheduled' END,
            scheduled_at = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, at.map(super::utc_text), super::utc_text(now)],
    )?;
    Ok(())
}

/// Scheduled campaigns that are due, and sends that a crash or a pause left behind.
pub fn due(r: &impl Read, now: DateTime<Utc>) -> Result<Vec<i64>> {
    let mut stmt = r.conn().prepare(
        "SELECT id FROM campaigns WHERE (status = 'scheduled' AND scheduled_at <= ?1)
            OR (status = 'sending' AND (lease_until IS NULL OR lease_until < ?1)) ORDER BY id",
    )?;
    let rows = stmt.query_map([super::utc_text(now)], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Who holds a campaign's lease, and until when.
pub fn lease(r: &impl Read, id: i64) -> Result<Option<(String, Option<i64>)>> {
    Ok(r.conn()
        .query_row(
            "SELECT lease_until, lease_owner FROM campaigns WHERE id = ?1 AND lease_until IS NOT NULL",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Takes the campaign for this sender (`owner`, a process id) until `until`.
pub fn take_lease(tx: &Tx, id: i64, owner: i64, until: DateTime<Utc>) -> Result<()> {
    tx.conn().execute(
        "UPDATE campaigns SET lease_until = ?2, lease_owner = ?3 WHERE id = ?1",
        params![id, super::utc_text(until), owner],
    )?;
    Ok(())
}

pub fn renew_lease(tx: &Tx, id: i64, until: DateTime<Utc>) -> Result<()> {
    tx.conn().execute("UPDATE campaigns SET lease_until = ?2 WHERE id = ?1", params![id, super::utc_text(until)])?;
    Ok(())
}

pub fn release_lease(tx: &Tx, id: i64) -> Result<()> {
    tx.conn().execute("UPDATE campaigns SET lease_until = NULL, lease_owner = NULL WHERE id = ?1", [id])?;
    Ok(())
}

pub fn mark_started(tx: &Tx, id: i64, now: DateTime<Utc>) -> Result<()> {
    tx.conn().execute(
        "UPDATE campaigns SET status = 'sending', started_at = coalesce(started_at, ?2), updated_at = ?2 WHERE id = ?1",
        params![id, super::utc_text(now)],
    )?;
    Ok(())
}

pub fn mark_finished(tx: &Tx, id: i64, now: DateTime<Utc>) -> Result<()> {
    tx.conn().execute(
        "UPDATE campaigns SET status = 'sent', finished_at = ?2, lease_until = NULL, lease_owner = NULL, updated_at = ?2
         WHERE id = ?1",
        params![id, super::utc_text(now)],
    )?;
    Ok(())
}

/// Streams the clients a plan selects, in id order: (id, name, e-mail, consent).
pub fn for_each_in_plan(r: &impl Read, plan: &Plan, mut f: impl FnMut(i64, &str, &str, &str)) -> Result<()> {
    let mut q = Query::new("SELECT c.id, c.full_name, c.email, c.consent FROM clients c WHERE ");
    super::population::push_plan(&mut q, plan);
    q.push(" ORDER BY c.id");
    let mut stmt = r.conn().prepare(q.sql())?;
    let mut rows = stmt.query(q.params().as_slice())?;
    while let Some(row) = rows.next()? {
        // Borrowed from SQLite's row: a million recipients allocate nothing here.
        let text = |i: usize| -> rusqlite::Result<&str> {
            row.get_ref(i)?
                .as_str()
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into()))
        };
        f(row.get(0)?, text(1)?, text(2)?, text(3)?);
    }
    Ok(())
}

/// Freezes recipients into the send log (a mailbox already there is skipped); returns how
/// many rows were added.
pub fn freeze(tx: &Tx, id: i64, rows: impl IntoIterator<Item = (i64, String, String)>) -> Result<usize> {
    // Rows come in client order, so the table and two of its indexes grow at their ends; the
    // (campaign, mailbox) index takes random inserts, which a larger cache keeps off the disk.
    tx.page_cache(Some(64 * 1024))?;
    // FREEZE_ROWS rows a statement: one statement per row spent as long binding and resetting
    // as SQLite spent inserting.
    let many = freeze_sql(FREEZE_ROWS);
    let mut n = 0;
    let mut chunk: Vec<(i64, String, String)> = Vec::with_capacity(FREEZE_ROWS);
    let flush = |chunk: &mut Vec<(i64, String, String)>| -> Result<usize> {
        let sql = if chunk.len() == FREEZE_ROWS { many.clone() } else { freeze_sql(chunk.len()) };
        let mut stmt = tx.conn().prepare_cached(&sql)?;
        stmt.raw_bind_parameter(1, id)?;
        for (i, (client, email, mailbox)) in chunk.iter().enumerate() {
            stmt.raw_bind_parameter(2 + 3 * i, client)?;
            stmt.raw_bind_parameter(3 + 3 * i, email)?;
            stmt.raw_bind_parameter(4 + 3 * i, mailbox)?;
        }
        chunk.clear();
        Ok(stmt.raw_execute()?)
    };
    for row in rows {
        chunk.push(row);
        if chunk.len() == FREEZE_ROWS {
            n += flush(&mut chunk)?;
        }
    }
    if !chunk.is_empty() {
        n += flush(&mut chunk)?;
    }
    tx.page_cache(None)?;
    Ok(n)
}

const FREEZE_ROWS: usize = 200;

fn freeze_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT OR IGNORE INTO send_log (campaign_id, client_id, email, mailbox) VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("(?1, ?{}, ?{}, ?{})", 2 + 3 * i, 3 + 3 * i, 4 + 3 * i));
    }
    sql
}

fn send_row(r: &Row<'_>) -> rusqlite::Result<SendRow> {
    Ok(SendRow {
        id: r.get(0)?,
        campaign_id: r.get(1)?,
        client_id: r.get(2)?,
        email: r.get(3)?,
        status: r.get(4)?,
        attempts: r.get(5)?,
        next_attempt_at: r.get(6)?,
        message_id: r.get(7)?,
        last_error: r.get(8)?,
        sent_at: r.get(9)?,
    })
}

const SEND_COLUMNS: &str =
    "id, campaign_id, client_id, email, status, attempts, next_attempt_at, message_id, last_error, sent_at";

/// Claims up to `n` rows that are due (queued, or deferred past their retry time): they are
/// `sending` from now on, so a crash leaves them `sending` and they are never sent again
/// without the operator's word.
pub fn claim(tx: &Tx, id: i64, n: usize, now: DateTime<Utc>) -> Result<Vec<SendRow>> {
    let mut stmt = tx.conn().prepare_cached(&claim_sql())?;
    let rows = stmt.query_map(params![id, super::utc_text(now), n as i64], send_row)?;
    let mut out: Vec<SendRow> = rows.collect::<rusqlite::Result<_>>()?;
    out.sort_by_key(|r| r.id);
    Ok(out)
}

/// Two index range scans that stop after ?3 rows each (`send_log_todo`, `send_log_due`): one
/// `OR` over the statuses read every row of the campaign for each batch of ten, which made a
/// 100,000-recipient send quadratic (274 msg/s; 2,800 msg/s with this).
pub(super) fn claim_sql() -> String {
    [
        "UPDATE send_log SET status = 'sending', attempts = attempts + 1 WHERE id IN (
            SELECT id FROM (SELECT id FROM send_log WHERE campaign_id = ?1 AND status = 'queued'
                            ORDER BY id LIMIT ?3)
            UNION ALL
            SELECT id FROM (SELECT id FROM send_log WHERE campaign_id = ?1 AND status = 'deferred'
                              AND next_attempt_at <= ?2 ORDER BY next_attempt_at LIMIT ?3)
            ORDER BY id LIMIT ?3) RETURNING ",
        SEND_COLUMNS,
    ]
    .concat()
}

/// Records what the SMTP server said of one message.
pub fn record(
    tx: &Tx,
    row: i64,
    status: &str,
    message_id: Option<&str>,
    error: Option<&str>,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "UPDATE send_log SET status = ?2, message_id = coalesce(?3, message_id), last_error = ?4,
                next_attempt_at = ?5, sent_at = CASE WHEN ?2 = 'sent' THEN ?6 ELSE sent_at END
             WHERE id = ?1",
        )?
        .execute(params![row, status, message_id, error, next.map(super::utc_text), super::utc_text(now)])?;
    Ok(())
}

/// Rows a crash left in `sending`: they become `unknown`.
pub fn mark_unknown(tx: &Tx, id: i64) -> Result<usize> {
    Ok(tx.conn().execute(
        "UPDATE send_log SET status = 'unknown', last_error = 'in flight when a sender stopped'
         WHERE campaign_id = ?1 AND status = 'sending'",
        [id],
    )?)
}

/// `--resend-unknown`: the operator accepts that some of these may receive a second copy.
pub fn requeue_unknown(tx: &Tx, id: i64) -> Result<usize> {
    Ok(tx
        .conn()
        .execute("UPDATE send_log SET status = 'queued' WHERE campaign_id = ?1 AND status = 'unknown'", [id])?)
}

/// Deferred rows whose retry time has come, or all deferred rows (`resume`).
pub fn requeue_deferred(tx: &Tx, id: i64) -> Result<usize> {
    Ok(tx.conn().execute(
        "UPDATE send_log SET status = 'queued', next_attempt_at = NULL WHERE campaign_id = ?1 AND status = 'deferred'",
        [id],
    )?)
}

pub fn progress(r: &impl Read, id: i64) -> Result<Progress> {
    let mut stmt =
        r.conn().prepare_cached("SELECT status, count(*) FROM send_log WHERE campaign_id = ?1 GROUP BY status")?;
    let mut p = Progress::default();
    let rows = stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (status, n) = row?;
        p.total += n;
        match status.as_str() {
            "queued" => p.queued = n,
            "sending" => p.sending = n,
            "sent" => p.sent = n,
            "failed" => p.failed = n,
            "deferred" => p.deferred = n,
            _ => p.unknown = n,
        }
    }
    let mut stmt =
        // Messages, not reports: two DSNs about one message count once.
        r.conn().prepare_cached(
            "SELECT kind, count(DISTINCT send_log_id) FROM mail_events WHERE campaign_id = ?1 GROUP BY kind",
        )?;
    let rows = stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (kind, n) = row?;
        match kind.as_str() {
            "hard_bounce" => p.hard_bounces = n,
            "soft_bounce" => p.soft_bounces = n,
            "complaint" => p.complaints = n,
            "unsubscribe" => p.unsubscribes = n,
            _ => {}
        }
    }
    // Opens and clicks: each recipient once (tracking `full`), each anonymous one (tracking
    // `anonymous`).
    let mut stmt = r.conn().prepare_cached(
        "SELECT kind, machine, count(DISTINCT send_log_id) + count(*) - count(send_log_id)
         FROM mail_events WHERE campaign_id = ?1 AND kind IN ('open', 'click') GROUP BY kind, machine",
    )?;
    let rows = stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, i64>(2)?)))?;
    for row in rows {
        match row? {
            (k, false, n) if k == "open" => p.opens = n,
            (k, true, n) if k == "open" => p.machine_opens = n,
            (_, false, n) => p.clicks = n,
            (_, true, n) => p.machine_clicks = n,
        }
    }
    Ok(p)
}

pub fn log(r: &impl Read, id: i64, status: Option<&str>, limit: Option<u32>) -> Result<Vec<SendRow>> {
    let sql = [
        "SELECT ",
        SEND_COLUMNS,
        " FROM send_log WHERE campaign_id = ?1 AND (?2 IS NULL OR status = ?2) ORDER BY id LIMIT ?3",
    ]
    .concat();
    let mut stmt = r.conn().prepare(&sql)?;
    let rows = stmt.query_map(params![id, status, limit.map_or(-1, i64::from)], send_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn send_row_by_id(r: &impl Read, row: i64) -> Result<Option<SendRow>> {
    let sql = ["SELECT ", SEND_COLUMNS, " FROM send_log WHERE id = ?1"].concat();
    Ok(r.conn().query_row(&sql, [row], send_row).optional()?)
}
