//! Projects of client companies. Client accounts see only the projects granted to them; any
//! other id answers "not found", so ids do not leak.

use chrono::Utc;

use super::authz::Session;
use super::refs;
use crate::db::{self, Read};
use crate::domain::permission::CLIENT_ROLE;
use crate::domain::{Permission, validate};
use crate::{Error, Result};

pub use crate::domain::project::Project;

/// The projects this user may see: all for staff with `project:read:any`, granted ones for
/// client accounts.
pub fn list(session: &Session, company: Option<&str>) -> Result<Vec<Project>> {
    let member = member_scope(session)?;
    let company_id = company.map(|c| refs::company(session.db(), c)).transpose()?.map(|c| c.id);
    db::project::list(session.db(), member, company_id)
}

/// `None` for "all projects", `Some(user)` for "granted to this user".
fn member_scope(session: &Session) -> Result<Option<i64>> {
    if session.can(Permission::ProjectReadAny) {
        Ok(None)
    } else if session.can(Permission::ProjectReadOwn) {
        Ok(Some(session.actor().id))
    } else {
        Err(session.deny(
            Permission::ProjectReadOwn,
            "project",
            None,
            "this needs the `project:read:own` or `project:read:any` permission",
        ))
    }
}

/// A project by id or exact name, if this user may see it; otherwise "not found".
pub fn visible(session: &Session, key: &str) -> Result<Project> {
    let member = member_scope(session)?;
    let found = match key.trim().parse::<i64>() {
        Ok(id) => db::project::get(session.db(), id)?,
        Err(_) => db::project::find_by_name(session.db(), key)?,
    };
    match (found, member) {
        (Some(p), None) => Ok(p),
        (Some(p), Some(uid)) if db::project::has_access(session.db(), p.id, uid)? => Ok(p),
        _ => Err(Error::not_found("project", key.trim())),
    }
}

pub fn create(session: &Session, name: &str, company: &str, description: &str) -> Result<Project> {
    let grant = session.require(Permission::ProjectManage)?;
    let name = validate::text("name", name, 200)?;
    let company = refs::company(session.db(), company)
        .map_err(|e| if e.kind() == crate::ErrorKind::NotFound { Error::invalid("company", e.message()) } else { e })?;
    let description = validate::notes("description", description, 10_000)?;
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let id = db::project::insert(tx, &name, company.id, &description, actor, now)?;
        let p = db::project::get(tx, id)?.ok_or_else(|| Error::internal("project vanished"))?;
        grant.audit(tx, "project.create", "project", Some(id), None, Some(&p))?;
        Ok(p)
    })
}

/// Grants (or revokes) a client account access to a project.
pub fn set_access(session: &Session, project: &str, username: &str, grant_access: bool) -> Result<Project> {
    let grant = session.require(Permission::ProjectManage)?;
    let p = visible(session, project)?;
    let user = db::user::find_by_username(session.db(), username)?
        .filter(|u| u.active)
        .ok_or_else(|| Error::invalid("user", format!("there is no active user `{}`", username.trim())))?;
    if !user.roles.iter().any(|r| r == CLIENT_ROLE) {
        return Err(Error::invalid(
            "user",
            format!("`{}` is not a client account; staff see every project", user.username),
        ));
    }
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let changed = if grant_access {
            db::project::grant(tx, p.id, user.id, actor, now)?
        } else {
            db::project::revoke(tx, p.id, user.id)?
        };
        if !changed {
            let state = if grant_access { "already has" } else { "does not have" };
            return Err(Error::conflict(format!("`{}` {state} access to project `{}`", user.username, p.name)));
        }
        let action = if grant_access { "project.grant" } else { "project.revoke" };
        grant.audit(tx, action, "project", Some(p.id), None, Some(&user.username))?;
        Ok(p.clone())
    })
}

/// Usernames of the client accounts granted a project (for `show`).
pub fn members(session: &Session, p: &Project) -> Result<Vec<String>> {
    if !session.can(Permission::ProjectManage) {
        return Ok(Vec::new());
    }
    Ok(db::project::members(session.db(), p.id)?.into_iter().map(|(u, _)| u).collect())
}

pub(super) fn client_emails(r: &impl Read, project_id: i64) -> Result<Vec<String>> {
    Ok(db::project::members(r, project_id)?.into_iter().map(|(_, e)| e).collect())
}
