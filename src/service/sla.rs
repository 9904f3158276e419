//! SLA policies and clocks: `rolo ticket sla policy list|set`, `check` (for cron) and
//! `explain`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::authz::{Grant, Session};
use super::mail::{self, Draft};
use crate::db::{self, Read};
use crate::domain::sla::{self, Calendar, CalendarSpec, Clock, Phase, Policy, State, Timeline};
use crate::domain::ticket::Ticket;
use crate::domain::{Permission, time};
use crate::mail::{SmtpSettings, html_escape};
use crate::{Error, Result};

pub use crate::domain::sla_policy::PolicyRow;
pub use crate::domain::sla_policy::{Alert, CheckReport, Explanation, PolicyInput};

pub const TYPES: [&str; 3] = ["urgent", "maintenance", "evolution"];

pub(super) fn ticket_type(t: &str) -> Result<&'static str> {
    TYPES
        .iter()
        .find(|k| **k == t.trim())
        .copied()
        .ok_or_else(|| Error::invalid("type", format!("`{}` is not one of: urgent, maintenance, evolution", t.trim())))
}

pub(super) fn policy_of(row: &PolicyRow) -> Result<Policy> {
    let spec: CalendarSpec = serde_json::from_value(row.calendar.clone())
        .map_err(|e| Error::internal(format!("stored calendar of `{}` is unreadable: {e}", row.kind)))?;
    Ok(Policy {
        first_response_seconds: row.first_response_minutes * 60,
        resolution_seconds: row.resolution_minutes * 60,
        warn_percent: row.warn_percent,
        calendar: Calendar::parse(&spec)?,
    })
}

pub(super) fn policies(r: &impl Read) -> Result<HashMap<String, Policy>> {
    db::sla::list(r)?.iter().map(|row| Ok((row.kind.clone(), policy_of(row)?))).collect()
}

pub fn list_policies(session: &Session) -> Result<Vec<PolicyRow>> {
    session.require(Permission::SlaRead)?;
    db::sla::list(session.db())
}

/// Changes a type's policy; unnamed parts keep their values. Durations in days are working
/// days of the policy's calendar.
pub fn set_policy(session: &Session, kind: &str, input: &PolicyInput) -> Result<PolicyRow> {
    let grant = session.require(Permission::SlaManage)?;
    let kind = ticket_type(kind)?;
    let before = db::sla::get(session.db(), kind)?.ok_or_else(|| Error::internal("policy missing"))?;
    let mut spec: CalendarSpec =
        serde_json::from_value(before.calendar.clone()).map_err(|e| Error::internal(e.to_string()))?;
    if let Some(tz) = &input.time_zone {
        spec.time_zone = tz.clone();
    }
    if let Some(h) = &input.hours {
        spec.hours = h.clone();
    }
    if let Some(hs) = &input.holidays {
        spec.holidays = hs.clone();
    }
    let calendar = Calendar::parse(&spec)?;
    let minutes = |field: &str, v: &Option<String>, current: i64| -> Result<i64> {
        match v {
            Some(v) => Ok((sla::parse_target(field, v, &calendar)? + 59) / 60),
            None => Ok(current),
        }
    };
    let first = minutes("first response", &input.first_response, before.first_response_minutes)?;
    let resolution = minutes("resolution", &input.resolution, before.resolution_minutes)?;
    let warn = match &input.warn {
        Some(w) => {
            let n: i64 = w
                .trim()
                .trim_end_matches('%')
                .parse()
                .map_err(|_| Error::invalid("warn", format!("`{w}` must be a percentage like 75%")))?;
            if !(1..=99).contains(&n) {
                return Err(Error::invalid("warn", format!("`{w}` must be between 1% and 99%")));
            }
            n
        }
        None => before.warn_percent,
    };
    let after = PolicyRow {
        kind: kind.to_string(),
        first_response_minutes: first,
        resolution_minutes: resolution,
        warn_percent: warn,
        calendar: serde_json::to_value(calendar.spec())?,
        updated_at: time::format_utc(Utc::now()),
    };
    let actor = session.actor().id;
    grant.write(|tx| {
        db::sla::upsert(tx, &after, actor)?;
        reproject(tx, None, Utc::now())?;
        grant.audit(tx, "sla.policy", "sla_policy", None, Some(&before), Some(&after))?;
        Ok(after.clone())
    })
}

fn timeline(d: &crate::domain::ticket::ClockData) -> Result<Timeline> {
    Ok(Timeline {
        created: time::parse_stored(&d.created_at)?,
        first_response: d.first_response_at.as_deref().map(time::parse_stored).transpose()?,
        changes: d.changes.iter().map(|(at, s)| Ok((time::parse_stored(at)?, Phase::of(s)))).collect::<Result<_>>()?,
    })
}

/// Walks the clocks of the given tickets (those open at `at` when None) with one ruler per
/// policy, reaching `horizon` past `at`, so 100k tickets cost 100k lookups, not 100k walks
/// over calendars.
fn for_each_clock(
    r: &impl Read,
    ids: Option<&[i64]>,
    at: DateTime<Utc>,
    horizon: Duration,
    mut f: impl FnMut(i64, &Policy, &sla::Ruler, &Timeline) -> Result<()>,
) -> Result<()> {
    let data = db::ticket::clock_data(r, ids, at)?;
    let policies = policies(r)?;
    let timelines = data.iter().map(|d| Ok((d.id, d.kind.as_str(), timeline(d)?))).collect::<Result<Vec<_>>>()?;
    let earliest = timelines.iter().map(|(_, _, t)| t.created).min().unwrap_or(at).min(at);
    let rulers: HashMap<&str, _> =
        policies.iter().map(|(k, p)| (k.as_str(), p.calendar.ruler(earliest, at + horizon))).collect();
    for (id, kind, t) in &timelines {
        let (Some(policy), Some(ruler)) = (policies.get(*kind), rulers.get(kind)) else { continue };
        f(*id, policy, ruler, t)?;
    }
    Ok(())
}

/// Both clocks of each ticket (those open at `at` when `ids` is None).
pub(super) fn evaluate_many(
    r: &impl Read,
    ids: Option<&[i64]>,
    at: DateTime<Utc>,
) -> Result<HashMap<i64, (Clock, Clock)>> {
    let mut out = HashMap::new();
    for_each_clock(r, ids, at, Duration::days(60), |id, policy, ruler, t| {
        out.insert(id, sla::evaluate_with(policy, ruler, t, at));
        Ok(())
    })?;
    Ok(out)
}

/// Recomputes and stores the SLA projection of the given tickets (all when None) as of `at`,
/// inside the caller's transaction. Called by every change to a ticket and by policy changes.
pub(super) fn reproject(tx: &db::Tx, ids: Option<&[i64]>, at: DateTime<Utc>) -> Result<()> {
    let all;
    let ids = match ids {
        Some(ids) => ids,
        None => {
            all = db::ticket::list_ids(tx, &db::ticket::Filter::default())?;
            &all
        }
    };
    // Projections look further ahead than a check: a deadline may be months away.
    for_each_clock(tx, Some(ids), at, Duration::days(400), |id, policy, ruler, t| {
        let p = sla::project(policy, ruler, t, at);
        db::ticket::set_projection(tx, id, p.fixed as i64, p.running, p.warn_at, p.breach_at)
    })
}

/// Recomputes every ticket's stored SLA projection (after a restore or an outside change).
pub fn recompute(session: &Session) -> Result<usize> {
    let grant = session.require(Permission::SlaManage)?;
    grant.write(|tx| {
        let n = db::ticket::list_ids(tx, &db::ticket::Filter::default())?.len();
        reproject(tx, None, Utc::now())?;
        grant.audit(tx, "sla.recompute", "ticket", None, None, Some(&n))?;
        Ok(n)
    })
}

/// Evaluates every open ticket as of `at`, lists the clocks at risk or breached, and queues
/// each warning and breach notice once (a second run queues nothing new and writes nothing).
pub fn check(session: &Session, smtp: &SmtpSettings, at: DateTime<Utc>) -> Result<CheckReport> {
    let grant = session.require(Permission::SlaRead)?;
    let db = session.db();
    let clocks = evaluate_many(db, None, at)?;
    let flagged: HashSet<i64> = clocks
        .iter()
        .filter(|(_, (f, r))| [f.state, r.state].iter().any(|s| matches!(s, State::AtRisk | State::Breached)))
        .map(|(id, _)| *id)
        .collect();
    let tickets = db::ticket::by_ids(db, &flagged)?;
    let alerts = alerts_of(&clocks, &tickets);
    let sent = db::sla::notices(db)?;
    let fresh: Vec<&Alert> =
        alerts.iter().filter(|a| !sent.contains(&format!("{} {} {}", a.ticket_id, a.clock, level(a)))).collect();
    let queued = if fresh.is_empty() { 0 } else { queue_notices(session, &grant, smtp, &fresh, &tickets)? };
    Ok(CheckReport {
        at: time::format_utc(at),
        checked: clocks.len(),
        at_risk: alerts.iter().filter(|a| a.state == State::AtRisk).count(),
        breached: alerts.iter().filter(|a| a.state == State::Breached).count(),
        notices_queued: queued,
        alerts,
    })
}

fn level(a: &Alert) -> &'static str {
    if a.state == State::Breached { "breached" } else { "at_risk" }
}

/// One alert per clock at risk or breached, by ticket id.
fn alerts_of(clocks: &HashMap<i64, (Clock, Clock)>, tickets: &HashMap<i64, Ticket>) -> Vec<Alert> {
    let mut ids: Vec<&i64> = tickets.keys().collect();
    ids.sort();
    let mut alerts = Vec::new();
    for id in ids {
        let (Some((first, resolution)), Some(t)) = (clocks.get(id), tickets.get(id)) else { continue };
        for (name, c) in [("first_response", first), ("resolution", resolution)] {
            if matches!(c.state, State::AtRisk | State::Breached) {
                alerts.push(Alert {
                    ticket_id: t.id,
                    project: t.project.clone(),
                    kind: t.kind.clone(),
                    subject: t.subject.clone(),
                    assignee: t.assignee.clone(),
                    clock: name.to_string(),
                    state: c.state,
                    deadline: c.deadline.map(time::format_utc),
                    remaining_seconds: c.remaining_seconds,
                });
            }
        }
    }
    alerts
}

/// Queues the notices not sent yet, to each ticket's assignee or else the support team, in one
/// transaction with one audit entry for the run.
fn queue_notices(
    session: &Session,
    grant: &Grant,
    smtp: &SmtpSettings,
    fresh: &[&Alert],
    tickets: &HashMap<i64, Ticket>,
) -> Result<usize> {
    let db = session.db();
    // Recipients are looked up once: each assignee, and the support team for the rest.
    let team: Vec<String> = db::user::list(db, &db::user::Filter { role: Some("support"), ..Default::default() })?
        .into_iter()
        .map(|u| u.email)
        .collect();
    let mut assignees = HashMap::new();
    for id in fresh.iter().filter_map(|a| tickets.get(&a.ticket_id).and_then(|t| t.assignee_id)) {
        if let std::collections::hash_map::Entry::Vacant(e) = assignees.entry(id) {
            e.insert(db::user::get(db, id)?.filter(|u| u.active).map(|u| u.email));
        }
    }
    let stamp = Utc::now();
    grant.write(|tx| {
        let mut queued = 0;
        let mut notified = Vec::new();
        for a in fresh {
            let Some(t) = tickets.get(&a.ticket_id) else { continue };
            if !db::sla::record_notice(tx, a.ticket_id, &a.clock, level(a), stamp)? {
                continue;
            }
            let to = match t.assignee_id.and_then(|id| assignees.get(&id).cloned().flatten()) {
                Some(email) => vec![email],
                None => team.clone(),
            };
            for draft in notice_drafts(a, t, to) {
                mail::enqueue(tx, smtp, &draft, stamp)?;
                queued += 1;
            }
            notified.push(serde_json::json!({"ticket": t.id, "clock": a.clock, "level": level(a)}));
        }
        // One entry for the run, listing every notice it queued.
        grant.audit(tx, "sla.notices", "ticket", None, None, Some(&notified))?;
        Ok(queued)
    })
}

/// The e-mail of one SLA notice, one draft per recipient.
fn notice_drafts(a: &Alert, t: &Ticket, to: Vec<String>) -> Vec<Draft> {
    let what = if a.state == State::Breached { "breached" } else { "at risk" };
    let deadline = match &a.deadline {
        Some(d) => format!("Deadline: {d}"),
        None => format!("Over by {} business minutes.", (-a.remaining_seconds).max(0) / 60),
    };
    let text = format!(
        "The {} target of ticket #{} \"{}\" ({}) is {what}.\n\n{deadline}\n\n-- \nrolo ticket sla explain {}\n",
        a.clock.replace('_', " "),
        t.id,
        t.subject,
        t.project,
        t.id
    );
    to.into_iter()
        .map(|to| Draft {
            to,
            subject: format!("[{} #{}] SLA {what}: {}", t.project, t.id, t.subject),
            html: format!("<p>{}</p>", html_escape(&text)),
            text: text.clone(),
            ticket_id: Some(t.id),
            kind: "sla",
        })
        .collect()
}

/// How each deadline of a ticket was computed.
pub fn explain(session: &Session, key: &str, at: DateTime<Utc>) -> Result<Explanation> {
    let t = super::refs::ticket(session, key)?;
    let created = time::parse_stored(&t.created_at)?;
    if at < created {
        return Err(Error::invalid(
            "at",
            format!(
                "ticket {} did not exist yet at {} (it was created {}); there is no deadline to explain",
                t.id,
                time::format_utc(at),
                t.created_at
            ),
        ));
    }
    let row = db::sla::get(session.db(), &t.kind)?.ok_or_else(|| Error::internal("policy missing"))?;
    let policy = policy_of(&row)?;
    let data = db::ticket::clock_data(session.db(), Some(&[t.id]), at)?;
    let d = data.first().ok_or_else(|| Error::not_found("ticket", key))?;
    let tl = timeline(d)?;
    let (first, resolution) = sla::evaluate(&policy, &tl, at);
    let hm = |s: i64| format!("{}h{:02}", s / 3600, (s.abs() % 3600) / 60);
    let mut steps = vec![
        format!(
            "Policy `{}`: first response {} and resolution {} of business time; warning at {}%.",
            t.kind,
            hm(policy.first_response_seconds),
            hm(policy.resolution_seconds),
            policy.warn_percent
        ),
        format!(
            "Calendar: {} in {}, {} holiday(s); a working day is {}.",
            row.calendar["hours"].as_str().unwrap_or(""),
            policy.calendar.tz.name(),
            policy.calendar.holidays.len(),
            hm(policy.calendar.day_seconds())
        ),
        format!("Created {}; clocks run while open or in progress, pause while waiting for the client.", t.created_at),
    ];
    for (when, phase) in &tl.changes {
        steps.push(format!(
            "{}: {}",
            time::format_utc(*when),
            match phase {
                Phase::Running => "running (open / in progress)",
                Phase::Waiting => "paused (waiting for the client)",
                Phase::Done => "stopped (resolved / closed)",
            }
        ));
    }
    for (name, c) in [("First response", &first), ("Resolution", &resolution)] {
        steps.push(format!(
            "{name}: {} used, {} paused, {} {} → {}{}.",
            hm(c.elapsed_seconds),
            hm(c.paused_seconds),
            hm(c.remaining_seconds.abs()),
            if c.remaining_seconds >= 0 { "left" } else { "over" },
            c.state,
            c.deadline.map(|d| format!(", due {}", time::format_utc(d))).unwrap_or_default()
        ));
    }
    Ok(Explanation {
        ticket_id: t.id,
        kind: t.kind,
        at: time::format_utc(at),
        calendar: policy.calendar.spec(),
        warn_percent: policy.warn_percent,
        first_response: first,
        resolution,
        steps,
    })
}
