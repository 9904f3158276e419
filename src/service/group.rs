//! Groups (static sets of clients) and segments (saved filters over clients, frozen into
//! groups when a list must stop moving).

use chrono::Utc;

use super::authz::Session;
use super::refs;
use crate::db;
use crate::domain::profile::GroupKind;
use crate::domain::segment::{self, Check, Column, Lit, Plan};
use crate::domain::{Permission, validate};
use crate::{Error, Result};

pub use crate::domain::population::{Group, Segment};
pub use crate::domain::population::{GroupDetail, Membership, SegmentResult};

pub fn list(session: &Session) -> Result<Vec<Group>> {
    session.require(Permission::GroupRead)?;
    db::population::groups(session.db())
}

/// A group and its members by name (needs `group:read` and `client:read`).
pub fn show(session: &Session, key: &str, limit: Option<u32>) -> Result<GroupDetail> {
    session.require(Permission::GroupRead)?;
    session.require(Permission::ClientRead)?;
    let group = refs::group(session.db(), key)?;
    let members = Plan::Test(Column::Group, Check::Eq(Lit::Text(group.name.clone())));
    let clients = db::client::select_plan(session.db(), &members, limit, None)?;
    Ok(GroupDetail { group, clients })
}

/// Creates an empty group, `custom` or `system`; `imported` groups come from imports.
pub fn create(session: &Session, name: &str, kind: Option<&str>, description: Option<&str>) -> Result<Group> {
    let grant = session.require(Permission::GroupManage)?;
    let name = validate::text("name", name, 200)?;
    let kind = kind.map(str::parse::<GroupKind>).transpose()?.unwrap_or(GroupKind::Custom);
    let description = validate::notes("description", description.unwrap_or(""), 2000)?;
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let id = db::population::insert_group(tx, &name, kind.as_str(), &description, None, actor, now)?;
        let g = db::population::group(tx, "", Some(id))?.ok_or_else(|| Error::internal("group vanished"))?;
        grant.audit(tx, "group.create", "group", Some(id), None, Some(&g))?;
        Ok(g)
    })
}

/// Adds clients (ids or e-mails) to a group, or with `add = false` removes them. All named
/// clients must exist, or nothing changes.
pub fn set_members(session: &Session, key: &str, clients: &[String], add: bool) -> Result<Membership> {
    let grant = session.require(Permission::GroupManage)?;
    session.require(Permission::ClientRead)?;
    let group = refs::group(session.db(), key)?;
    if clients.is_empty() {
        return Err(Error::usage("name at least one client (id or e-mail)"));
    }
    let ids = clients.iter().map(|c| refs::client(session.db(), c).map(|c| c.id)).collect::<Result<Vec<_>>>()?;
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let mut changed = 0;
        for id in &ids {
            let did = if add {
                db::population::add_member(tx, group.id, *id, actor, now)?
            } else {
                db::population::remove_member(tx, group.id, *id)?
            };
            changed += usize::from(did);
        }
        if changed > 0 {
            db::population::touch_group(tx, group.id, now)?;
            grant.audit(
                tx,
                if add { "group.add" } else { "group.remove" },
                "group",
                Some(group.id),
                None,
                Some(&serde_json::json!({"clients": ids})),
            )?;
        }
        Ok(Membership { group: group.name.clone(), changed, unchanged: ids.len() - changed })
    })
}

/// Deletes a group (its members stay clients). System groups are kept.
pub fn delete(session: &Session, key: &str) -> Result<Group> {
    let grant = session.require(Permission::GroupManage)?;
    let group = refs::group(session.db(), key)?;
    if group.kind == GroupKind::System.as_str() {
        return Err(Error::conflict(format!("`{}` is a system group and cannot be deleted", group.name)));
    }
    grant.write(|tx| {
        db::population::delete_group(tx, group.id)?;
        grant.audit(tx, "group.delete", "group", Some(group.id), Some(&group), None)?;
        Ok(group.clone())
    })
}

pub fn list_segments(session: &Session) -> Result<Vec<Segment>> {
    session.require(Permission::SegmentRead)?;
    db::population::segments(session.db())
}

/// Parses and checks a filter against today's registry, groups included.
pub(crate) fn plan(session: &Session, filter: &str) -> Result<Plan> {
    let expr = segment::parse(filter)?;
    let plan = expr.plan(&db::population::fields(session.db())?, Utc::now())?;
    check_groups(session, &plan)?;
    Ok(plan)
}

/// A group a filter names must exist: a typo would otherwise silently select nobody.
fn check_groups(session: &Session, plan: &Plan) -> Result<()> {
    match plan {
        Plan::And(a, b) => check_groups(session, a).and_then(|_| check_groups(session, b)),
        Plan::Or(items) => items.iter().try_for_each(|p| check_groups(session, p)),
        Plan::Not(p) => check_groups(session, p),
        Plan::Test(Column::Group, Check::Eq(Lit::Text(name))) => match db::population::group(session.db(), name, None)?
        {
            Some(_) => Ok(()),
            None => Err(Error::invalid("filter", format!("there is no group `{name}`"))),
        },
        Plan::Test(..) => Ok(()),
    }
}

pub fn create_segment(session: &Session, name: &str, filter: &str, description: Option<&str>) -> Result<Segment> {
    let grant = session.require(Permission::SegmentManage)?;
    let name = validate::text("name", name, 200)?;
    let filter = filter.trim();
    plan(session, filter)?;
    let description = validate::notes("description", description.unwrap_or(""), 2000)?;
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let id = db::population::insert_segment(tx, &name, filter, &description, actor, now)?;
        let s = db::population::segment(tx, "", Some(id))?.ok_or_else(|| Error::internal("segment vanished"))?;
        grant.audit(tx, "segment.create", "segment", Some(id), None, Some(&s))?;
        Ok(s)
    })
}

pub fn update_segment(
    session: &Session,
    key: &str,
    filter: Option<&str>,
    description: Option<&str>,
) -> Result<Segment> {
    let grant = session.require(Permission::SegmentManage)?;
    let before = refs::segment(session.db(), key)?;
    let filter = filter.map(str::trim).unwrap_or(&before.filter).to_string();
    plan(session, &filter)?;
    let description = validate::notes("description", description.unwrap_or(&before.description), 2000)?;
    let now = Utc::now();
    grant.write(|tx| {
        db::population::update_segment(tx, before.id, &filter, &description, now)?;
        let after =
            db::population::segment(tx, "", Some(before.id))?.ok_or_else(|| Error::internal("segment vanished"))?;
        grant.audit(tx, "segment.update", "segment", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

pub fn delete_segment(session: &Session, key: &str) -> Result<Segment> {
    let grant = session.require(Permission::SegmentManage)?;
    let before = refs::segment(session.db(), key)?;
    grant.write(|tx| {
        db::population::delete_segment(tx, before.id)?;
        grant.audit(tx, "segment.delete", "segment", Some(before.id), Some(&before), None)?;
        Ok(before.clone())
    })
}

/// Runs a saved segment (by name or id) or a filter typed on the spot: how many clients it
/// selects, and unless `count_only`, who they are.
pub fn run(
    session: &Session,
    key: Option<&str>,
    filter: Option<&str>,
    count_only: bool,
    limit: Option<u32>,
) -> Result<SegmentResult> {
    session.require(Permission::SegmentRead)?;
    session.require(Permission::ClientRead)?;
    let (name, filter) = match (key, filter) {
        (Some(k), None) => {
            let s = refs::segment(session.db(), k)?;
            (Some(s.name), s.filter)
        }
        (None, Some(f)) => (None, f.trim().to_string()),
        _ => return Err(Error::usage("name a saved segment, or give --filter, not both")),
    };
    let plan = plan(session, &filter)?;
    let count = db::client::count_plan(session.db(), &plan)?;
    let clients =
        if count_only { None } else { Some(db::client::select_plan(session.db(), &plan, limit, Some(count))?) };
    Ok(SegmentResult { name, filter, count, clients })
}

/// Freezes a segment into a new group of the clients it selects now (needs `segment:read`
/// and `group:manage`).
pub fn freeze(session: &Session, key: &str, into: &str) -> Result<Group> {
    session.require(Permission::SegmentRead)?;
    let grant = session.require(Permission::GroupManage)?;
    let s = refs::segment(session.db(), key)?;
    let plan = plan(session, &s.filter)?;
    let name = validate::text("group", into, 200)?;
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let description = format!("segment `{}` frozen on {}", s.name, now.format("%Y-%m-%d"));
        let id = db::population::insert_group(
            tx,
            &name,
            GroupKind::Custom.as_str(),
            &description,
            Some(&s.filter),
            actor,
            now,
        )?;
        let added = db::client::add_plan_to_group(tx, &plan, id, actor, now)?;
        let g = db::population::group(tx, "", Some(id))?.ok_or_else(|| Error::internal("group vanished"))?;
        grant.audit(
            tx,
            "segment.freeze",
            "group",
            Some(id),
            None,
            Some(&serde_json::json!({"segment": s.name, "filter": s.filter, "members": added})),
        )?;
        Ok(g)
    })
}
