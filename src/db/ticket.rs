//! Tickets, their threads, attachments, history and read markers.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::query::Query;
use super::{Read, Tx};
use crate::Result;
use crate::domain::ticket::{AttachmentInfo, Change, ClockData, Message, Ticket};

// CROSS JOIN keeps tickets the outer loop (SQLite does not reorder it), so newest-first pages
// stop after LIMIT rows instead of sorting every ticket of the few projects.
macro_rules! select {
    () => {
        "SELECT t.id, t.project_id, p.name, co.name, t.type, t.subject, t.status, t.author_id, au.username,
            t.assignee_id, asg.username, t.first_response_at, t.created_at, t.updated_at
         FROM tickets t CROSS JOIN projects p ON p.id = t.project_id CROSS JOIN companies co ON co.id = p.company_id
         CROSS JOIN users au ON au.id = t.author_id LEFT JOIN users asg ON asg.id = t.assignee_id"
    };
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        id: r.get(0)?,
        project_id: r.get(1)?,
        project: r.get(2)?,
        company: r.get(3)?,
        kind: r.get(4)?,
        subject: r.get(5)?,
        status: r.get(6)?,
        author_id: r.get(7)?,
        author: r.get(8)?,
        assignee_id: r.get(9)?,
        assignee: r.get(10)?,
        first_response_at: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
    })
}

pub fn get(r: &impl Read, id: i64) -> Result<Option<Ticket>> {
    Ok(r.conn().query_row(concat!(select!(), " WHERE t.id = ?1"), [id], from_row).optional()?)
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub statuses: Vec<String>,
    pub kind: Option<String>,
    pub project_id: Option<i64>,
    pub company_id: Option<i64>,
    pub assignee_id: Option<i64>,
    /// A client account: only tickets of projects granted to it.
    pub member_id: Option<i64>,
    /// Only tickets with messages this user has not read (internal notes count for staff).
    pub unread_for: Option<(i64, bool)>,
    pub since: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Overall SLA states wanted now (0 met, 1 paused, 2 ok, 3 at-risk, 4 breached), read
    /// from the stored projections, and the instant "now".
    pub sla_now: Option<(Vec<u8>, DateTime<Utc>)>,
    /// Only tickets with a smaller id (keyset paging, newest first).
    pub before_id: Option<i64>,
    pub limit: Option<u32>,
}

pub fn list_query(f: &Filter) -> Query {
    filtered(select!(), f)
}

/// The ids of the tickets a filter selects, newest first (for SLA filtering before loading).
pub fn list_ids(r: &impl Read, f: &Filter) -> Result<Vec<i64>> {
    let q = filtered("SELECT t.id FROM tickets t CROSS JOIN projects p ON p.id = t.project_id", f);
    let mut stmt = r.conn().prepare_cached(q.sql())?;
    let rows = stmt.query_map(q.params().as_slice(), |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Tickets by id, in the order given.
pub fn get_many(r: &impl Read, ids: &[i64]) -> Result<Vec<Ticket>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut q = Query::new(select!());
        q.push(" WHERE t.id IN (");
        for (i, id) in chunk.iter().enumerate() {
            q.bind(if i == 0 { "?" } else { ", ?" }, *id);
        }
        q.push(")");
        let mut stmt = r.conn().prepare(q.sql())?;
        let found: std::collections::HashMap<i64, Ticket> = stmt
            .query_map(q.params().as_slice(), from_row)?
            .map(|t| t.map(|t| (t.id, t)))
            .collect::<rusqlite::Result<_>>()?;
        let mut found = found;
        out.extend(chunk.iter().filter_map(|id| found.remove(id)));
    }
    Ok(out)
}

fn filtered(base: &'static str, f: &Filter) -> Query {
    let mut q = Query::new(base);
    q.push(" WHERE 1");
    if !f.statuses.is_empty() {
        q.push(" AND t.status IN (");
        for (i, s) in f.statuses.iter().enumerate() {
            q.bind(if i == 0 { "?" } else { ", ?" }, s.clone());
        }
        q.push(")");
    }
    if let Some(k) = &f.kind {
        q.bind(" AND t.type = ?", k.clone());
    }
    if let Some(id) = f.project_id {
        q.bind(" AND t.project_id = ?", id);
    }
    if let Some(id) = f.company_id {
        q.bind(" AND p.company_id = ?", id);
    }
    if let Some(id) = f.assignee_id {
        q.bind(" AND t.assignee_id = ?", id);
    }
    if let Some(uid) = f.member_id {
        q.bind(" AND t.project_id IN (SELECT project_id FROM project_access WHERE user_id = ?)", uid);
    }
    if let Some((uid, internal)) = f.unread_for {
        // A message the user did not write, may see, and is past their read marker.
        q.bind(" AND EXISTS (SELECT 1 FROM ticket_messages m WHERE m.ticket_id = t.id AND m.author_id <> ?", uid);
        q.bind(" AND (? OR m.internal = 0)", internal);
        q.bind(
            " AND m.id > coalesce((SELECT r.last_message_id FROM ticket_reads r WHERE r.ticket_id = t.id AND r.user_id = ?), 0))",
            uid,
        );
    }
    if let Some(s) = &f.since {
        q.bind(" AND t.created_at >= ?", super::utc_text(*s));
    }
    if let Some(b) = &f.created_before {
        // As of another instant: a ticket does not exist before its creation.
        q.bind(" AND t.created_at <= ?", super::utc_text(*b));
    }
    if let Some((states, now)) = &f.sla_now {
        let now = super::utc_text(*now);
        // Mirrors domain::sla::Projection::state_at, one OR branch per wanted state.
        for (i, state) in states.iter().enumerate() {
            q.push(if i == 0 { " AND (" } else { " OR " });
            match state {
                4 => q.bind("(t.sla_fixed = 4 OR t.sla_breach_at <= ?)", now.clone()),
                3 => q
                    .bind("(t.sla_warn_at <= ? AND t.sla_fixed < 4", now.clone())
                    .bind(" AND t.sla_breach_at > ?)", now.clone()),
                2 => q
                    .bind("(t.sla_warn_at > ? AND t.sla_running = 1 AND t.sla_fixed < 4", now.clone())
                    .bind(" AND t.sla_breach_at > ?)", now.clone()),
                1 => q.push("(t.sla_fixed = 1 AND t.sla_running = 0)"),
                _ => q.push("(t.sla_fixed = 0 AND t.sla_running = 0)"),
            };
        }
        if !states.is_empty() {
            q.push(")");
        }
    }
    if let Some(id) = f.before_id {
        q.bind(" AND t.id < ?", id);
    }
    q.push(" ORDER BY t.id DESC");
    q.bind(" LIMIT ?", f.limit.map_or(-1, i64::from));
    q
}

pub fn list(r: &impl Read, f: &Filter) -> Result<Vec<Ticket>> {
    let q = list_query(f);
    let mut stmt = r.conn().prepare_cached(q.sql())?;
    let rows = stmt.query_map(q.params().as_slice(), from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn insert(tx: &Tx, project_id: i64, kind: &str, subject: &str, author_id: i64, now: DateTime<Utc>) -> Result<i64> {
    let stamp = super::utc_text(now);
    tx.conn().execute(
        "INSERT INTO tickets (project_id, type, subject, author_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![project_id, kind, subject, author_id, stamp],
    )?;
    let id = tx.conn().last_insert_rowid();
    record(tx, id, Some(author_id), "status", None, Some("open"), now)?;
    Ok(id)
}

/// One line of a ticket's history.
pub fn record(
    tx: &Tx,
    ticket: i64,
    actor: Option<i64>,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "INSERT INTO ticket_history (ticket_id, at, actor_id, field, old_value, new_value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![ticket, now, actor, field, old, new],
    )?;
    Ok(())
}

pub fn set_status(tx: &Tx, id: i64, actor: i64, old: &str, new: &str, now: DateTime<Utc>) -> Result<()> {
    let stamp = super::utc_text(now);
    tx.conn().execute("UPDATE tickets SET status = ?2, updated_at = ?3 WHERE id = ?1", params![id, new, stamp])?;
    record(tx, id, Some(actor), "status", Some(old), Some(new), now)
}

pub fn set_assignee(
    tx: &Tx,
    id: i64,
    actor: i64,
    old: Option<&str>,
    new: Option<(i64, &str)>,
    now: DateTime<Utc>,
) -> Result<()> {
    let stamp = super::utc_text(now);
    tx.conn().execute(
        "UPDATE tickets SET assignee_id = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, new.map(|n| n.0), stamp],
    )?;
    record(tx, id, Some(actor), "assignee", old, new.map(|n| n.1), now)
}

/// Stops the first-response clock (the first public staff reply only).
pub fn set_first_response(tx: &Tx, id: i64, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "UPDATE tickets SET first_response_at = ?2 WHERE id = ?1 AND first_response_at IS NULL",
        params![id, now],
    )?;
    Ok(())
}

pub fn touch(tx: &Tx, id: i64, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute("UPDATE tickets SET updated_at = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

pub fn add_message(tx: &Tx, ticket: i64, author: i64, internal: bool, body: &str, now: DateTime<Utc>) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "INSERT INTO ticket_messages (ticket_id, author_id, internal, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![ticket, author, internal, body, now],
    )?;
    Ok(tx.conn().last_insert_rowid())
}

/// The thread, oldest first; internal notes only when asked for.
pub fn messages(r: &impl Read, ticket: i64, include_internal: bool) -> Result<Vec<Message>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT m.id, u.username, u.full_name, m.internal, m.body, m.created_at FROM ticket_messages m
         JOIN users u ON u.id = m.author_id WHERE m.ticket_id = ?1 AND (?2 OR m.internal = 0) ORDER BY m.id",
    )?;
    let mut list: Vec<Message> = stmt
        .query_map(params![ticket, include_internal], |r| {
            Ok(Message {
                id: r.get(0)?,
                author: r.get(1)?,
                author_name: r.get(2)?,
                internal: r.get(3)?,
                body: r.get(4)?,
                created_at: r.get(5)?,
                attachments: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut att = r
        .conn()
        .prepare_cached("SELECT id, name, mime, size, sha256 FROM attachments WHERE message_id = ?1 ORDER BY id")?;
    for m in &mut list {
        m.attachments = att
            .query_map([m.id], |r| {
                Ok(AttachmentInfo {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    mime: r.get(2)?,
                    size: r.get(3)?,
                    sha256: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(list)
}

/// Stores a file's bytes once per content.
pub fn put_blob(tx: &Tx, sha256: &str, data: &[u8]) -> Result<()> {
    tx.conn().execute(
        "INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?1, ?2, ?3)",
        params![sha256, data.len() as i64, data],
    )?;
    Ok(())
}

pub fn add_attachment(tx: &Tx, message: i64, sha256: &str, name: &str, mime: &str, size: i64) -> Result<i64> {
    tx.conn().execute(
        "INSERT INTO attachments (message_id, sha256, name, mime, size) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![message, sha256, name, mime, size],
    )?;
    Ok(tx.conn().last_insert_rowid())
}

/// An attachment with the ticket it belongs to and whether its message is internal.
pub fn attachment(r: &impl Read, id: i64) -> Result<Option<(AttachmentInfo, i64, bool)>> {
    Ok(r.conn()
        .query_row(
            "SELECT a.id, a.name, a.mime, a.size, a.sha256, m.ticket_id, m.internal FROM attachments a
             JOIN ticket_messages m ON m.id = a.message_id WHERE a.id = ?1",
            [id],
            |r| {
                Ok((
                    AttachmentInfo {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        mime: r.get(2)?,
                        size: r.get(3)?,
                        sha256: r.get(4)?,
                    },
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()?)
}

pub fn blob(r: &impl Read, sha256: &str) -> Result<Vec<u8>> {
    Ok(r.conn().query_row("SELECT data FROM blobs WHERE sha256 = ?1", [sha256], |r| r.get(0))?)
}

pub fn blob_count(r: &impl Read) -> Result<i64> {
    Ok(r.conn().query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))?)
}

pub fn history(r: &impl Read, ticket: i64) -> Result<Vec<Change>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT h.at, u.username, h.field, h.old_value, h.new_value FROM ticket_history h
         LEFT JOIN users u ON u.id = h.actor_id WHERE h.ticket_id = ?1 ORDER BY h.id",
    )?;
    let rows = stmt.query_map([ticket], |r| {
        Ok(Change { at: r.get(0)?, actor: r.get(1)?, field: r.get(2)?, old: r.get(3)?, new: r.get(4)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether `user` has messages to read on a ticket (internal notes count for staff).
pub fn is_unread(r: &impl Read, ticket: i64, user: i64, internal: bool) -> Result<bool> {
    Ok(r.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM ticket_messages m WHERE m.ticket_id = ?1 AND m.author_id <> ?2 AND (?3 OR m.internal = 0)
            AND m.id > coalesce((SELECT last_message_id FROM ticket_reads WHERE ticket_id = ?1 AND user_id = ?2), 0))",
        params![ticket, user, internal],
        |row| row.get(0),
    )?)
}

pub fn mark_read(tx: &Tx, ticket: i64, user: i64, last_message_id: i64) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO ticket_reads (ticket_id, user_id, last_message_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (ticket_id, user_id) DO UPDATE SET last_message_id = max(last_message_id, excluded.last_message_id)",
        params![ticket, user, last_message_id],
    )?;
    Ok(())
}

/// Clock data for the tickets that were open at `at` (or are open now), in one pass.
pub fn clock_data(r: &impl Read, ids: Option<&[i64]>, at: DateTime<Utc>) -> Result<Vec<ClockData>> {
    let at = super::utc_text(at);
    let mut out: Vec<ClockData> = Vec::new();
    // A page of tickets (show, explain, a listing's page): one indexed lookup each, as long as
    // they are few next to the table (its largest id, read from the rowid index at no cost);
    // past that, one pass over the table beats a lookup per ticket.
    let few = match ids {
        Some(ids) if ids.len() <= 64 => true,
        Some(ids) => {
            let largest: i64 = r.conn().query_row("SELECT coalesce(max(id), 0) FROM tickets", [], |row| row.get(0))?;
            (ids.len() as i64).saturating_mul(16) <= largest
        }
        None => false,
    };
    {
        let mut push = |row: &Row<'_>| -> rusqlite::Result<()> {
            let d = ClockData {
                id: row.get(0)?,
                kind: row.get(1)?,
                created_at: row.get(2)?,
                first_response_at: row.get(3)?,
                changes: Vec::new(),
            };
            out.push(d);
            Ok(())
        };
        match ids {
            Some(ids) if few => {
                let mut stmt = r
                    .conn()
                    .prepare_cached("SELECT id, type, created_at, first_response_at FROM tickets WHERE id = ?1")?;
                for id in ids {
                    let mut rows = stmt.query([id])?;
                    while let Some(row) = rows.next()? {
                        push(row)?;
                    }
                }
            }
            // Many: one pass over the table, keeping the wanted ones.
            Some(ids) => {
                let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
                let mut stmt = r.conn().prepare_cached(
                    "SELECT id, type, created_at, first_response_at FROM tickets WHERE created_at <= ?1 ORDER BY id",
                )?;
                let mut rows = stmt.query([&at])?;
                while let Some(row) = rows.next()? {
                    if wanted.contains(&row.get::<_, i64>(0)?) {
                        push(row)?;
                    }
                }
            }
            None => {
                let mut stmt = r.conn().prepare_cached(
                    "SELECT id, type, created_at, first_response_at FROM tickets
                     WHERE created_at <= ?1 AND (status NOT IN ('resolved', 'closed')
                        OR id IN (SELECT ticket_id FROM ticket_history WHERE field = 'status' AND at > ?1))
                     ORDER BY id",
                )?;
                let mut rows = stmt.query([&at])?;
                while let Some(row) = rows.next()? {
                    push(row)?;
                }
            }
        }
    }
    // A few tickets: their own history rows, through the (ticket_id, at) index.
    if few {
        let mut stmt = r.conn().prepare_cached(
            "SELECT at, new_value FROM ticket_history
             WHERE ticket_id = ?1 AND field = 'status' AND old_value IS NOT NULL AND at <= ?2 ORDER BY id",
        )?;
        for d in &mut out {
            d.changes =
                stmt.query_map(params![d.id, at], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
        }
        return Ok(out);
    }
    // Many: both sides sorted by ticket id, walked together.
    out.sort_by_key(|d| d.id);
    let mut stmt = r.conn().prepare_cached(
        "SELECT h.ticket_id, h.at, h.new_value FROM ticket_history h
         WHERE h.field = 'status' AND h.old_value IS NOT NULL AND h.at <= ?1 ORDER BY h.ticket_id, h.id",
    )?;
    let mut rows = stmt.query([&at])?;
    let mut i = 0;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        while i < out.len() && out[i].id < id {
            i += 1;
        }
        if i < out.len() && out[i].id == id {
            out[i].changes.push((row.get(1)?, row.get(2)?));
        }
    }
    Ok(out)
}

/// Tickets by id, in one query (for reports over many tickets).
pub fn by_ids(r: &impl Read, ids: &std::collections::HashSet<i64>) -> Result<std::collections::HashMap<i64, Ticket>> {
    let mut stmt = r.conn().prepare_cached(concat!(select!(), " ORDER BY t.id"))?;
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        if ids.contains(&id) {
            out.insert(id, from_row(row)?);
        }
    }
    Ok(out)
}

/// Stores a ticket's projected SLA clocks.
pub fn set_projection(
    tx: &Tx,
    id: i64,
    fixed: i64,
    running: bool,
    warn_at: Option<DateTime<Utc>>,
    breach_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let (warn_at, breach_at) = (warn_at.map(super::utc_text), breach_at.map(super::utc_text));
    tx.conn()
        .prepare_cached(
            "UPDATE tickets SET sla_fixed = ?2, sla_running = ?3, sla_warn_at = ?4, sla_breach_at = ?5 WHERE id = ?1",
        )?
        .execute(params![id, fixed, running, warn_at, breach_at])?;
    Ok(())
}
