//! Staff and client accounts: create, update, deactivate, passwords, role membership.

use chrono::Utc;

use super::authz::Session;
use crate::db::{self, Tx};
use crate::domain::permission::{ADMIN_ROLE, CLIENT_ROLE};
use crate::domain::{Permission, validate};
use crate::secrets::Secret;
use crate::service::auth;
use crate::{Error, Result};

pub use crate::domain::user::User;
pub use crate::domain::user::{ListFilter, NewUser, UserPatch};

pub fn list(session: &Session, f: &ListFilter) -> Result<Vec<User>> {
    session.require(Permission::UserRead)?;
    db::user::list(
        session.db(),
        &db::user::Filter {
            search: f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()),
            role: f.role.as_deref(),
            include_inactive: f.include_inactive,
            limit: f.limit,
        },
    )
}

/// Anyone may see their own account; other accounts need `user:read`.
pub fn show(session: &Session, username: &str) -> Result<User> {
    if !is_self(session, username) {
        session.require(Permission::UserRead)?;
    }
    find(session, username)
}

fn is_self(session: &Session, username: &str) -> bool {
    session.actor().username == username.trim().to_lowercase()
}

pub(super) fn find(session: &Session, username: &str) -> Result<User> {
    db::user::find_by_username(session.db(), username)?.ok_or_else(|| Error::not_found("user", username.trim()))
}

pub fn create(session: &Session, input: NewUser) -> Result<User> {
    let grant = session.require(Permission::UserCreate)?;
    let username = validate::username(&input.username)?;
    let email = validate::email("email", &input.email)?;
    let full_name = validate::text("name", &input.full_name, 200)?;
    validate::password(input.password.expose(), &username)?;
    if input.roles.is_empty() {
        return Err(Error::usage("give the new user at least one role with --role"));
    }
    let roles = input.roles.iter().map(|r| role_for_assignment(session, r)).collect::<Result<Vec<_>>>()?;
    check_role_mix(roles.iter().map(|r| r.name.as_str()))?;
    let client_id = match &input.client {
        Some(key) if roles.iter().any(|r| r.name == CLIENT_ROLE) => Some(
            super::refs::client(session.db(), key)
                .map_err(|_| Error::invalid("client", format!("there is no client contact `{}`", key.trim())))?
                .id,
        ),
        Some(_) => return Err(Error::invalid("client", "only a client account (role `client`) is linked to a client")),
        None => None,
    };
    let hash = auth::hash_password(&input.password)?;
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let id = db::user::insert(
            tx,
            &db::user::NewUser {
                username: &username,
                full_name: &full_name,
                email: &email,
                password_hash: &hash,
                created_by: Some(actor),
                now,
            },
        )?;
        for role in &roles {
            db::role::grant(tx, id, role.id, Some(actor), now)?;
        }
        if let Some(client_id) = client_id {
            db::user::link_client(tx, id, client_id)?;
        }
        let user = reload(tx, id)?;
        grant.audit(tx, "user.create", "user", Some(id), None, Some(&user))?;
        Ok(user)
    })
}

/// Looks up a role for giving it to someone. Handing out `admin` or a custom role (which may
/// hold any permission) needs `role:manage`: managers create staff, not administrators.
pub(super) fn role_for_assignment(session: &Session, name: &str) -> Result<crate::domain::role::Role> {
    let role = db::role::find(session.db(), name.trim())?.ok_or_else(|| {
        let known = db::role::list(session.db())
            .map(|rs| rs.into_iter().map(|r| r.name).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        Error::invalid("role", format!("`{}` does not exist (roles: {known})", name.trim()))
    })?;
    if role.name == ADMIN_ROLE || !role.builtin {
        session.require(Permission::RoleManage)?;
    }
    Ok(role)
}

/// A client account holds the `client` role alone: staff permissions on a client login would
/// open the CRM to the company's customers.
pub(super) fn check_role_mix<'a>(roles: impl Iterator<Item = &'a str> + Clone) -> Result<()> {
    let has_client = roles.clone().any(|r| r == CLIENT_ROLE);
    if has_client && roles.clone().any(|r| r != CLIENT_ROLE) {
        return Err(Error::invalid("role", "a client account cannot also hold staff roles"));
    }
    Ok(())
}

pub(super) fn reload(tx: &Tx, id: i64) -> Result<User> {
    db::user::get(tx, id)?.ok_or_else(|| Error::internal(format!("user {id} vanished inside its own transaction")))
}

/// Users may edit their own name and e-mail; other accounts need `user:update`.
pub fn update(session: &Session, username: &str, patch: UserPatch) -> Result<User> {
    let grant =
        if is_self(session, username) { session.self_service() } else { session.require(Permission::UserUpdate)? };
    let before = find(session, username)?;
    let email =
        patch.email.as_deref().map(|e| validate::email("email", e)).transpose()?.unwrap_or(before.email.clone());
    let full_name = patch
        .full_name
        .as_deref()
        .map(|n| validate::text("name", n, 200))
        .transpose()?
        .unwrap_or(before.full_name.clone());
    let now = Utc::now();
    grant.write(|tx| {
        db::user::update_profile(tx, before.id, &full_name, &email, now)?;
        let after = reload(tx, before.id)?;
        grant.audit(tx, "user.update", "user", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

/// Deactivates an account and revokes its sessions. Users are never deleted once they own
/// data; the last active admin cannot be deactivated.
pub fn deactivate(session: &Session, username: &str) -> Result<User> {
    let grant = session.require(Permission::UserDeactivate)?;
    let before = find(session, username)?;
    if before.id == session.actor().id {
        return Err(Error::conflict("you cannot deactivate your own account; ask another administrator"));
    }
    if !before.active {
        return Err(Error::conflict(format!("user `{}` is already deactivated", before.username)));
    }
    let now = Utc::now();
    grant.write(|tx| {
        if before.roles.iter().any(|r| r == ADMIN_ROLE) && db::user::count_active_admins(tx)? <= 1 {
            return Err(Error::conflict("this is the last active admin; give someone else the admin role first"));
        }
        db::user::set_active(tx, before.id, false, now)?;
        db::session::revoke_all_of_user(tx, before.id, "deactivated", now)?;
        let after = reload(tx, before.id)?;
        grant.audit(tx, "user.deactivate", "user", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

/// Lets a deactivated account log in again (and clears a lockout).
pub fn activate(session: &Session, username: &str) -> Result<User> {
    let grant = session.require(Permission::UserDeactivate)?;
    let before = find(session, username)?;
    let now = Utc::now();
    grant.write(|tx| {
        db::user::set_active(tx, before.id, true, now)?;
        let after = reload(tx, before.id)?;
        grant.audit(tx, "user.activate", "user", Some(before.id), Some(&before), Some(&after))?;
        Ok(after)
    })
}

/// Changes a password and revokes every session of that account. Changing one's own password
/// needs the current one; resetting someone else's needs `user:update`.
pub fn change_password(
    session: &Session,
    username: &str,
    current: Option<&Secret<String>>,
    new: &Secret<String>,
) -> Result<usize> {
    let own = is_self(session, username);
    let grant = if own { session.self_service() } else { session.require(Permission::UserUpdate)? };
    let target = find(session, username)?;
    if own {
        let current = current.ok_or_else(|| {
            Error::usage("changing your own password needs the current one (prompt or ROLO_PASSWORD)")
        })?;
        if auth::login_check(session.db(), target.id, current)?.is_none() {
            return Err(Error::auth("the current password is wrong"));
        }
    }
    validate::password(new.expose(), &target.username)?;
    let hash = auth::hash_password(new)?;
    let now = Utc::now();
    grant.write(|tx| {
        db::user::set_password(tx, target.id, &hash, now)?;
        let revoked = db::session::revoke_all_of_user(tx, target.id, "password changed", now)?;
        grant.audit(tx, "user.passwd", "user", Some(target.id), None, None)?;
        Ok(revoked)
    })
}
