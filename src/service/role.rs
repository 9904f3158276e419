//! Roles: the six built-in ones and custom roles made from the permission catalogue.

use chrono::Utc;

use super::authz::Session;
use super::user::{check_role_mix, find, reload, role_for_assignment};
use crate::db;
use crate::domain::permission::ADMIN_ROLE;
use crate::domain::{Permission, validate};
use crate::{Error, Result};

pub use crate::domain::role::Role;
pub use crate::domain::role::RoleDetail;

pub fn list(session: &Session) -> Result<Vec<Role>> {
    session.require(Permission::RoleRead)?;
    db::role::list(session.db())
}

pub fn show(session: &Session, name: &str) -> Result<RoleDetail> {
    session.require(Permission::RoleRead)?;
    let role = find_role(session, name)?;
    let holders = db::role::holders(session.db(), role.id)?;
    Ok(RoleDetail { role, holders })
}

fn find_role(session: &Session, name: &str) -> Result<Role> {
    db::role::find(session.db(), name.trim())?.ok_or_else(|| Error::not_found("role", name.trim()))
}

/// The permission catalogue, for anyone logged in: it says what can exist, not who has it.
pub fn catalogue(_session: &Session) -> Vec<Permission> {
    Permission::ALL.to_vec()
}

fn parse_permissions(names: &[String]) -> Result<Vec<Permission>> {
    names.iter().map(|n| n.trim().parse::<Permission>()).collect()
}

pub fn create(session: &Session, name: &str, description: &str, permissions: &[String]) -> Result<Role> {
    let grant = session.require(Permission::RoleManage)?;
    let name = validate::username(name).map_err(|_| {
        Error::invalid("role", format!("`{name}` must be 2-32 characters of a-z, 0-9, '.', '_' or '-'"))
    })?;
    let description =
        if description.trim().is_empty() { String::new() } else { validate::text("description", description, 500)? };
    let permissions = parse_permissions(permissions)?;
    if permissions.is_empty() {
        return Err(Error::usage("give the role at least one --permission (see `rolo user role permissions`)"));
    }
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let id = db::role::insert(tx, &name, &description, actor, now)?;
        for p in &permissions {
            db::role::add_permission(tx, id, p.as_str())?;
        }
        let role = db::role::find(tx, &name)?.ok_or_else(|| Error::internal("role vanished"))?;
        grant.audit(tx, "role.create", "role", Some(id), None, Some(&role))?;
        Ok(role)
    })
}

/// Adds (`grant`) or removes permissions of a custom role. Built-in roles are fixed.
pub fn change_permissions(session: &Session, name: &str, permissions: &[String], add: bool) -> Result<Role> {
    let grant = session.require(Permission::RoleManage)?;
    let before = find_role(session, name)?;
    if before.builtin {
        return Err(Error::conflict(format!(
            "`{}` is a built-in role and its permissions are fixed; create a custom role instead",
            before.name
        )));
    }
    let permissions = parse_permissions(permissions)?;
    grant.write(|tx| {
        for p in &permissions {
            if add {
                db::role::add_permission(tx, before.id, p.as_str())?;
            } else {
                db::role::remove_permission(tx, before.id, p.as_str())?;
            }
        }
        let after = db::role::find(tx, &before.name)?.ok_or_else(|| Error::internal("role vanished"))?;
        let action = if add { "role.grant_permission" } else { "role.revoke_permission" };
        grant.audit(tx, action, "role", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

/// Gives a role to a user (`user:update`; `role:manage` too for admin and custom roles).
pub fn assign(session: &Session, role: &str, username: &str) -> Result<crate::domain::user::User> {
    let grant = session.require(Permission::UserUpdate)?;
    let role = role_for_assignment(session, role)?;
    let before = find(session, username)?;
    check_role_mix(before.roles.iter().map(String::as_str).chain([role.name.as_str()]))?;
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        if !db::role::grant(tx, before.id, role.id, Some(actor), now)? {
            return Err(Error::conflict(format!("`{}` already has the role `{}`", before.username, role.name)));
        }
        let after = reload(tx, before.id)?;
        grant.audit(tx, "user.grant_role", "user", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

/// Takes a role from a user; the last active admin keeps theirs.
pub fn unassign(session: &Session, role: &str, username: &str) -> Result<crate::domain::user::User> {
    let grant = session.require(Permission::UserUpdate)?;
    let role = role_for_assignment(session, role)?;
    let before = find(session, username)?;
    grant.write(|tx| {
        if role.name == ADMIN_ROLE
            && before.active
            && db::user::count_active_admins(tx)? <= 1
            && before.roles.iter().any(|r| r == ADMIN_ROLE)
        {
            return Err(Error::conflict("this is the last active admin; give someone else the admin role first"));
        }
        if !db::role::revoke(tx, before.id, role.id)? {
            return Err(Error::conflict(format!("`{}` does not have the role `{}`", before.username, role.name)));
        }
        let after = reload(tx, before.id)?;
        grant.audit(tx, "user.revoke_role", "user", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}
