//! A campaign from draft to approval: create, update (back to draft), submit, approve by
//! someone else (bound to a hash of the content), reject, schedule; and what it would send to
//! whom (`audience`).

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::template::{self as library, version_of};
use crate::db::{self, Read};
use crate::domain::campaign::{
    self, AudiencePart, AudienceReport, Campaign, CampaignDetail, CampaignInput, CampaignStatus, ContentParts,
    Recipient, Tracking,
};
use crate::domain::segment::{Check, Column, Lit, Plan};
use crate::domain::template::{self, TemplateKind, TemplateVersion};
use crate::domain::{Permission, validate};
use crate::mail;
use crate::service::authz::Session;
use crate::service::{group, refs};
use crate::{Error, Result};

/// A campaign by id, or "not found".
pub(crate) fn get(r: &impl Read, id: i64) -> Result<Campaign> {
    db::campaign::get(r, id)?.ok_or_else(|| Error::not_found("campaign", id))
}

pub fn list(session: &Session, status: Option<&str>, mine: bool) -> Result<Vec<Campaign>> {
    session.require(Permission::CampaignRead)?;
    let status = status.map(str::parse::<CampaignStatus>).transpose()?;
    db::campaign::list(session.db(), status.map(|s| s.as_str()), mine.then_some(session.actor().id), None)
}

pub fn show(session: &Session, id: i64) -> Result<CampaignDetail> {
    session.require(Permission::CampaignRead)?;
    let c = get(session.db(), id)?;
    let content_hash = content_hash(session.db(), &c)?;
    let approval_valid = c.approval_hash.as_deref() == Some(content_hash.as_str());
    let progress = db::campaign::progress(session.db(), id)?.with_rates();
    Ok(CampaignDetail { campaign: c, content_hash, approval_valid, progress })
}

/// `rolo campaign stats`: counts and rates, clicks per link, and opens and clicks by people
/// per hour (per day once they span more than two days).
pub fn stats(session: &Session, id: i64) -> Result<crate::domain::campaign::CampaignStats> {
    session.require(Permission::CampaignRead)?;
    let db = session.db();
    get(db, id)?;
    let progress = db::campaign::progress(db, id)?.with_rates();
    let mut timeline = db::links::timeline(db, id, false)?;
    if timeline.len() > 48 {
        timeline = db::links::timeline(db, id, true)?;
    }
    Ok(crate::domain::campaign::CampaignStats {
        campaign_id: id,
        progress,
        links: db::links::link_clicks(db, id)?,
        timeline,
    })
}

/// `T` or `T@VERSION`: the version a campaign pins (the latest when not given).
fn pinned(r: &impl Read, spec: &str) -> Result<TemplateVersion> {
    let (name, version) = match spec.rsplit_once('@') {
        Some((n, v)) => {
            let v = v
                .trim()
                .parse::<i64>()
                .map_err(|_| Error::invalid("template", format!("`{v}` is not a version number")))?;
            (n, Some(v))
        }
        None => (spec, None),
    };
    let v = version_of(r, name, version).map_err(|e| Error::invalid("template", e.message()))?;
    if v.kind != TemplateKind::Campaign.as_str() {
        return Err(Error::invalid(
            "template",
            format!("{} is a transactional template; campaigns use campaign templates", v.name),
        ));
    }
    Ok(v)
}

/// Turns `group:G` / `segment:S` into parts of the audience definition.
fn parts(r: &impl Read, include: &[String], exclude: &[String]) -> Result<Vec<AudiencePart>> {
    let mut out = Vec::new();
    for (list, is_exclude) in [(include, false), (exclude, true)] {
        for spec in list {
            let (kind, name) = campaign::parse_audience(spec)?;
            let (id, name) = if kind == "group" {
                let g = refs::group(r, &name).map_err(|e| Error::invalid("audience", e.message()))?;
                (g.id, g.name)
            } else {
                let s = refs::segment(r, &name).map_err(|e| Error::invalid("audience", e.message()))?;
                (s.id, s.name)
            };
            out.push(AudiencePart { exclude: is_exclude, kind, id, name });
        }
    }
    Ok(out)
}

/// Applies what a person gave to a campaign's settings, checking each value.
fn settings(r: &impl Read, mut s: db::campaign::Settings, input: &CampaignInput) -> Result<db::campaign::Settings> {
    if let Some(n) = &input.name {
        s.name = validate::text("name", n, 200)?;
    }
    if let Some(t) = &input.template {
        let v = pinned(r, t)?;
        (s.template_id, s.template_version) = (v.template_id, v.version);
    }
    if let Some(f) = &input.from {
        s.from = mail::check_mailbox("from", f)?;
    }
    match input.reply_to.as_deref().map(str::trim) {
        Some("") => s.reply_to = None,
        Some(r) => s.reply_to = Some(mail::check_mailbox("reply-to", r)?),
        None => {}
    }
    if let Some(t) = &input.tracking {
        s.tracking = t.parse::<Tracking>()?.as_str().to_string();
    }
    if let Some(r) = &input.rate {
        s.rate = campaign::parse_rate(r)?;
    }
    if let Some(a) = &input.autologin {
        s.autologin = match a.trim().to_ascii_lowercase().as_str() {
            "on" | "yes" | "true" => true,
            "off" | "no" | "false" => false,
            other => return Err(Error::invalid("autologin", format!("`{other}` is neither on nor off"))),
        };
    }
    Ok(s)
}

pub fn create(session: &Session, input: &CampaignInput) -> Result<Campaign> {
    let grant = session.require(Permission::CampaignEdit)?;
    let db = session.db();
    for (given, flag) in
        [(input.name.is_some(), "--name"), (input.template.is_some(), "--template"), (input.from.is_some(), "--from")]
    {
        if !given {
            return Err(Error::usage(format!("a campaign needs {flag}")));
        }
    }
    if input.audience.is_empty() {
        return Err(Error::usage("a campaign needs at least one --audience group:G or segment:S"));
    }
    let blank = db::campaign::Settings {
        name: String::new(),
        template_id: 0,
        template_version: 0,
        from: String::new(),
        reply_to: None,
        tracking: Tracking::Full.as_str().into(),
        rate: 0,
        autologin: true,
    };
    let s = settings(db, blank, input)?;
    let audience = parts(db, &input.audience, &input.exclude)?;
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let id = db::campaign::insert(tx, &s, actor, now)?;
        db::campaign::set_audience(tx, id, &audience)?;
        let created = get(tx, id)?;
        grant.audit(tx, "campaign.create", "campaign", Some(id), None, Some(&created))?;
        Ok(created)
    })
}

/// Changes a campaign that has not started sending; it goes back to draft and any approval
/// is void.
pub fn update(session: &Session, id: i64, input: &CampaignInput) -> Result<Campaign> {
    let grant = session.require(Permission::CampaignEdit)?;
    let db = session.db();
    let before = get(db, id)?;
    let status = before.status.parse::<CampaignStatus>()?;
    if !matches!(
        status,
        CampaignStatus::Draft | CampaignStatus::PendingApproval | CampaignStatus::Approved | CampaignStatus::Scheduled
    ) {
        return Err(Error::conflict(format!(
            "campaign {id} is {status}; only a campaign that has not started can change"
        )));
    }
    let s = settings(db, db::campaign::settings(db, id)?, input)?;
    let audience = if input.audience.is_empty() && input.exclude.is_empty() {
        None
    } else {
        let include = if input.audience.is_empty() {
            before.audience.iter().filter(|p| !p.exclude).map(|p| format!("{}:{}", p.kind, p.name)).collect()
        } else {
            input.audience.clone()
        };
        Some(parts(db, &include, &input.exclude)?)
    };
    let now = Utc::now();
    grant.write(|tx| {
        db::campaign::update(tx, id, &s, now)?;
        if let Some(a) = &audience {
            db::campaign::set_audience(tx, id, a)?;
        }
        let after = get(tx, id)?;
        grant.audit(tx, "campaign.update", "campaign", Some(id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

/// Everything that reaches recipients, hashed (see `ContentParts`).
pub(crate) fn content_hash(r: &impl Read, c: &Campaign) -> Result<String> {
    let tid = db::campaign::template_id(r, c.id)?.ok_or_else(|| Error::not_found("campaign", c.id))?;
    let v = db::template::version(r, tid, Some(c.template_version))?
        .ok_or_else(|| Error::internal("the pinned template version is missing"))?;
    let lib = library::library(r, &v)?;
    let mut sources = template::chain_named(&lib, &v.name);
    sources.sort();
    let mut media = Vec::new();
    for name in sources.iter().flat_map(|(_, s)| template::referenced_media(s)) {
        let sha = db::template::media_find(r, &name)?.map(|m| m.sha256).unwrap_or_default();
        media.push((name, sha));
    }
    media.sort();
    media.dedup();
    let mut audience: Vec<String> = c.audience.iter().map(|p| format!("{}:{}", p.label(), p.id)).collect();
    audience.sort();
    ContentParts {
        template: &v.name,
        version: v.version,
        subject: &v.subject,
        text: v.text.as_deref(),
        sources,
        media,
        from: &c.from,
        reply_to: c.reply_to.as_deref(),
        tracking: &c.tracking,
        audience,
    }
    .hash()
}

/// Moves a campaign between two states, checking where it stands.
fn transition(
    session: &Session,
    permission: Permission,
    id: i64,
    from: &[CampaignStatus],
    action: &str,
    apply: impl FnOnce(&db::Tx, &Campaign, DateTime<Utc>) -> Result<()>,
) -> Result<Campaign> {
    let grant = session.require(permission)?;
    let before = get(session.db(), id)?;
    let status = before.status.parse::<CampaignStatus>()?;
    if !from.contains(&status) {
        let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        return Err(Error::conflict(format!("campaign {id} is {status}; this needs it {}", allowed.join(" or "))));
    }
    let now = Utc::now();
    grant.write(|tx| {
        apply(tx, &before, now)?;
        let after = get(tx, id)?;
        grant.audit(tx, action, "campaign", Some(id), Some(&before.status), Some(&after))?;
        Ok(after)
    })
}

/// Asks for approval. The template must render for every variable it names.
pub fn submit(session: &Session, id: i64) -> Result<Campaign> {
    let c = get(session.db(), id)?;
    let v = db::template::version(
        session.db(),
        db::campaign::template_id(session.db(), id)?.unwrap_or(0),
        Some(c.template_version),
    )?
    .ok_or_else(|| Error::internal("the pinned template version is missing"))?;
    let lib = library::library(session.db(), &v)?;
    let problems =
        template::check_variables(&lib, &v.name, &v.subject, v.text.as_deref(), &library::variables(session.db())?);
    if let Some(p) = problems.first() {
        return Err(Error::invalid(
            "template",
            format!("{} v{}: {p} (see `rolo campaign template lint`)", v.name, v.version),
        ));
    }
    transition(session, Permission::CampaignEdit, id, &[CampaignStatus::Draft], "campaign.submit", |tx, _, now| {
        db::campaign::set_status(tx, id, CampaignStatus::PendingApproval.as_str(), now)
    })
}

/// Approves the exact content: someone else than the author, holding `campaign:approve`.
pub fn approve(session: &Session, id: i64, comment: Option<&str>) -> Result<Campaign> {
    session.require(Permission::CampaignApprove)?;
    let c = get(session.db(), id)?;
    if c.author_id == session.actor().id {
        return Err(session.deny(
            Permission::CampaignApprove,
            "campaign",
            Some(id),
            "you wrote this campaign; another person with `campaign:approve` must approve it",
        ));
    }
    let hash = content_hash(session.db(), &c)?;
    let comment = comment.map(|t| validate::notes("comment", t, 2000)).transpose()?;
    let by = session.actor().id;
    transition(
        session,
        Permission::CampaignApprove,
        id,
        &[CampaignStatus::PendingApproval],
        "campaign.approve",
        |tx, _, now| db::campaign::approve(tx, id, by, &hash, comment.as_deref(), now),
    )
}

pub fn reject(session: &Session, id: i64, comment: &str) -> Result<Campaign> {
    let comment = validate::text("comment", comment, 2000)?;
    transition(
        session,
        Permission::CampaignApprove,
        id,
        &[CampaignStatus::PendingApproval],
        "campaign.reject",
        |tx, _, now| db::campaign::to_draft(tx, id, Some(&comment), now),
    )
}

/// A stale approval (the content changed since) refuses to send: exit 7.
pub(crate) fn check_approval(r: &impl Read, c: &Campaign) -> Result<()> {
    let now = content_hash(r, c)?;
    match c.approval_hash.as_deref() {
        Some(h) if h == now => Ok(()),
        Some(_) => Err(Error::conflict(format!(
            "campaign {} changed since it was approved (a template, media or audience it uses); submit it again",
            c.id
        ))),
        None => Err(Error::conflict(format!("campaign {} is not approved", c.id))),
    }
}

pub fn schedule(session: &Session, id: i64, at: DateTime<Utc>) -> Result<Campaign> {
    check_approval(session.db(), &get(session.db(), id)?)?;
    transition(
        session,
        Permission::CampaignSend,
        id,
        &[CampaignStatus::Approved, CampaignStatus::Scheduled],
        "campaign.schedule",
        |tx, _, now| db::campaign::schedule(tx, id, Some(at), now),
    )
}

pub fn unschedule(session: &Session, id: i64) -> Result<Campaign> {
    transition(
        session,
        Permission::CampaignSend,
        id,
        &[CampaignStatus::Scheduled],
        "campaign.unschedule",
        |tx, _, now| db::campaign::schedule(tx, id, None, now),
    )
}

pub fn pause(session: &Session, id: i64) -> Result<Campaign> {
    transition(session, Permission::CampaignSend, id, &[CampaignStatus::Sending], "campaign.pause", |tx, _, now| {
        db::campaign::set_status(tx, id, CampaignStatus::Paused.as_str(), now)
    })
}

pub fn cancel(session: &Session, id: i64) -> Result<Campaign> {
    use CampaignStatus::*;
    transition(
        session,
        Permission::CampaignSend,
        id,
        &[Draft, PendingApproval, Approved, Scheduled, Sending, Paused],
        "campaign.cancel",
        |tx, _, now| {
            db::campaign::set_status(tx, id, Cancelled.as_str(), now)?;
            db::campaign::release_lease(tx, id)
        },
    )
}

/// The audience plan: included groups and segments, minus the excluded ones.
fn plans(session: &Session, c: &Campaign) -> Result<(Plan, Option<Plan>)> {
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for p in &c.audience {
        let plan = if p.kind == "group" {
            Plan::Test(Column::Group, Check::Eq(Lit::Text(p.name.clone())))
        } else {
            let s = refs::segment(session.db(), &p.name).map_err(|e| Error::invalid("audience", e.message()))?;
            group::plan(session, &s.filter)?
        };
        if p.exclude { exclude.push(plan) } else { include.push(plan) }
    }
    Ok((Plan::Or(include), (!exclude.is_empty()).then_some(Plan::Or(exclude))))
}

/// An eligible recipient: client id, name, e-mail, mailbox.
pub(crate) type Eligible = (i64, String, String, String);

/// Who a campaign reaches now: each eligible recipient (id, name, e-mail, mailbox), and the
/// others counted by reason.
pub(crate) fn recipients(session: &Session, c: &Campaign) -> Result<(Vec<Eligible>, AudienceReport)> {
    let mut out = Vec::new();
    let report = each_recipient(session, c, |e| out.push(e))?;
    Ok((out, report))
}

/// Hands each eligible recipient to `f`, in client order, as the database is read (a send
/// freezes a million recipients without holding them all); returns the counts by reason.
pub(crate) fn each_recipient(session: &Session, c: &Campaign, mut f: impl FnMut(Eligible)) -> Result<AudienceReport> {
    let db = session.db();
    let (include, exclude) = plans(session, c)?;
    let mut excluded_ids = HashSet::new();
    if let Some(plan) = &exclude {
        db::campaign::for_each_in_plan(db, plan, |id, _, _, _| {
            excluded_ids.insert(id);
        })?;
    }
    let suppressed = db::campaign::suppressed_hashes(db)?;
    let salt = db::campaign::mailbox_salt(db)?;
    let mut seen = HashSet::new();
    let mut report = AudienceReport { campaign_id: c.id, ..Default::default() };
    db::campaign::for_each_in_plan(db, &include, |id, name, email, consent| {
        report.selected += 1;
        if excluded_ids.contains(&id) {
            report.excluded += 1;
        } else if validate::email("email", email).is_err() {
            report.invalid += 1;
        } else if !suppressed.is_empty() && suppressed.contains(&campaign::mailbox_hash(&salt, email)) {
            report.suppressed += 1;
        } else if consent != "granted" {
            // Campaigns use campaign templates only: marketing mail needs granted consent.
            report.no_consent += 1;
        } else {
            let mailbox = campaign::mailbox(email);
            if !seen.insert(mailbox.clone()) {
                report.duplicate += 1;
            } else {
                report.eligible += 1;
                f((id, name.to_string(), email.to_string(), mailbox));
            }
        }
    })?;
    Ok(report)
}

/// The per-recipient send log.
pub fn log(
    session: &Session,
    id: i64,
    status: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<crate::domain::campaign::SendRow>> {
    session.require(Permission::CampaignRead)?;
    get(session.db(), id)?;
    let status = status.map(str::parse::<crate::domain::campaign::SendStatus>).transpose()?;
    db::campaign::log(session.db(), id, status.map(|s| s.as_str()), limit)
}

/// `rolo campaign audience`: who would receive it now, the others by reason.
pub fn audience(session: &Session, id: i64, limit: Option<u32>) -> Result<AudienceReport> {
    session.require(Permission::CampaignRead)?;
    let c = get(session.db(), id)?;
    let (list, mut report) = recipients(session, &c)?;
    report.recipients = list
        .into_iter()
        .take(limit.map_or(usize::MAX, |l| l as usize))
        .map(|(client_id, name, email, _)| Recipient { client_id, name, email })
        .collect();
    Ok(report)
}
