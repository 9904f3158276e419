//! Listing tickets (filters, SLA states at any instant, unread marks) and showing a thread.

use super::*;
use crate::db::{self, Read};
use crate::domain::sla::State;
use crate::domain::{Permission, time};
use crate::service::authz::Session;
use crate::service::{project, refs, sla as sla_service};
use crate::{Error, Result};
use chrono::Utc;
use std::collections::HashSet;

pub fn list(session: &Session, f: &ListFilter) -> Result<Vec<TicketRow>> {
    let member_id = if session.can(Permission::TicketReadAny) {
        None
    } else if session.can(Permission::TicketReadOwn) {
        Some(session.actor().id)
    } else {
        return Err(session.deny(
            Permission::TicketReadOwn,
            "ticket",
            None,
            "this needs the `ticket:read:own` or `ticket:read:any` permission",
        ));
    };
    let now = Utc::now();
    let at = f.at.as_deref().map(|d| time::parse_instant("at", d, now)).transpose()?;
    let wanted_sla = split_list(&f.sla).map(State::parse).collect::<Result<HashSet<_>>>()?;
    let internal = session.can(Permission::TicketNote);
    let mut filter = resolve_filter(session, f, now, member_id)?;
    filter.unread_for = f.unread.then_some((session.actor().id, internal));
    filter.created_before = at;
    filter.before_id = f.before_id;
    // At "now", the stored projections answer the SLA filter in SQL (with the limit); at
    // another instant the clocks are evaluated and the limit applies after.
    filter.sla_now =
        (!wanted_sla.is_empty() && at.is_none()).then(|| (wanted_sla.iter().map(|s| *s as u8).collect(), now));
    filter.limit = if wanted_sla.is_empty() || at.is_none() { f.limit } else { None };
    let at = at.unwrap_or(now);
    let tickets = fetch(session.db(), &filter, &wanted_sla, at, f.limit)?;
    rows_of(session, tickets, at, f.unread, internal)
}

/// Comma-separated values of repeated flags (`--status open,resolved --status closed`).
fn split_list(values: &[String]) -> impl Iterator<Item = &str> {
    values.iter().flat_map(|s| s.split(',')).filter(|s| !s.trim().is_empty())
}

/// What the person typed, as ids and stored values (statuses, type, project, company,
/// assignee, since).
fn resolve_filter(
    session: &Session,
    f: &ListFilter,
    now: DateTime<Utc>,
    member_id: Option<i64>,
) -> Result<db::ticket::Filter> {
    let db = session.db();
    let statuses = split_list(&f.statuses).map(|s| parse_status(s).map(str::to_string)).collect::<Result<_>>()?;
    let kind = f.kind.as_deref().map(|k| sla_service::ticket_type(k).map(str::to_string)).transpose()?;
    let project_id = f.project.as_deref().map(|p| project::visible(session, p).map(|p| p.id)).transpose()?;
    let company_id = match &f.client {
        Some(c) => Some(match refs::company(db, c) {
            Ok(co) => co.id,
            Err(_) => refs::client(db, c)?
                .company_id
                .ok_or_else(|| Error::invalid("client", format!("`{c}` has no company")))?,
        }),
        None => None,
    };
    let assignee_id = match f.assignee.as_deref().map(str::trim) {
        Some("@me") => Some(session.actor().id),
        Some(u) => Some(refs::staff(db, "assignee", u, None)?.id),
        None => None,
    };
    let since = f.since.as_deref().map(|d| time::parse_instant("since", d, now)).transpose()?;
    // A client account granted one project (the usual case) lists that project: its index
    // gives the tickets newest first, where "any granted project" sorts them all first.
    let (project_id, member_id) = match (project_id, member_id) {
        (None, Some(uid)) => match db::project::granted(db, uid)?.as_slice() {
            [only] => (Some(*only), None),
            _ => (None, Some(uid)),
        },
        other => other,
    };
    Ok(db::ticket::Filter {
        statuses,
        kind,
        project_id,
        company_id,
        assignee_id,
        member_id,
        since,
        ..Default::default()
    })
}

/// The tickets of a filter. With SLA states wanted at another instant than now, the clocks
/// are evaluated first on the light clock data, and only the page is loaded in full.
fn fetch(
    db: &crate::db::Db,
    filter: &db::ticket::Filter,
    wanted_sla: &HashSet<State>,
    at: DateTime<Utc>,
    limit: Option<u32>,
) -> Result<Vec<Ticket>> {
    if wanted_sla.is_empty() || filter.sla_now.is_some() {
        return db::ticket::list(db, filter);
    }
    let ids = db::ticket::list_ids(db, filter)?;
    let clocks = sla_service::evaluate_many(db, Some(&ids), at)?;
    let keep: Vec<i64> = ids
        .into_iter()
        .filter(|id| clocks.get(id).is_some_and(|(a, b)| wanted_sla.contains(&crate::domain::sla::overall(a, b))))
        .take(limit.map_or(usize::MAX, |l| l as usize))
        .collect();
    db::ticket::get_many(db, &keep)
}

/// Listing rows: SLA state and nearest deadline at `at`, and the unread mark of the rows
/// shown (with `--unread` they are all unread already).
fn rows_of(
    session: &Session,
    tickets: Vec<Ticket>,
    at: DateTime<Utc>,
    all_unread: bool,
    internal: bool,
) -> Result<Vec<TicketRow>> {
    let db = session.db();
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let clocks = sla_service::evaluate_many(db, Some(&ids), at)?;
    let unread = if all_unread { HashSet::new() } else { unread_ids(db, &ids, session.actor().id, internal)? };
    Ok(tickets
        .into_iter()
        .map(|t| {
            let (state, deadline) = clocks.get(&t.id).map_or((State::Met, None), |(a, b)| summary(a, b));
            TicketRow { unread: all_unread || unread.contains(&t.id), ticket: t, sla: state, sla_deadline: deadline }
        })
        .collect())
}

pub(super) fn unread_ids(r: &impl Read, ids: &[i64], user: i64, internal: bool) -> Result<HashSet<i64>> {
    let mut out = HashSet::new();
    for id in ids {
        if db::ticket::is_unread(r, *id, user, internal)? {
            out.insert(*id);
        }
    }
    Ok(out)
}

/// The thread, oldest first. Internal notes only with `internal` (staff with `ticket:note`);
/// showing marks the thread read for this user.
pub fn show(session: &Session, key: &str, internal: bool) -> Result<TicketView> {
    let t = refs::ticket(session, key)?;
    if internal && !session.can(Permission::TicketNote) {
        return Err(session.deny(
            Permission::TicketNote,
            "ticket",
            Some(t.id),
            "internal notes need the `ticket:note` permission",
        ));
    }
    let db = session.db();
    let messages = db::ticket::messages(db, t.id, internal)?;
    let history = if is_client(session) { Vec::new() } else { db::ticket::history(db, t.id)? };
    let clocks = sla_service::evaluate_many(db, Some(&[t.id]), Utc::now())?;
    let (first, resolution) = clocks.get(&t.id).cloned().ok_or_else(|| Error::internal("no clocks for ticket"))?;
    let all = db::ticket::messages(db, t.id, session.can(Permission::TicketNote))?;
    if let Some(last) = all.last() {
        let grant = session.self_service();
        grant.write(|tx| db::ticket::mark_read(tx, t.id, session.actor().id, last.id))?;
    }
    let (sla, _) = summary(&first, &resolution);
    Ok(TicketView { ticket: t, sla, sla_first_response: first, sla_resolution: resolution, messages, history })
}
