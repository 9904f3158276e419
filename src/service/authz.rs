//! Authorization as a type. A service method starts with `session.require(Permission::…)?`;
//! the [`Grant`] it returns is the only way to open a write transaction (it carries the
//! [`WriteKey`] that `Db::write` demands), so a forgotten check does not compile. Denials are
//! written to the audit log before the error goes back to the caller.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::db::audit::NewEntry;
use crate::db::{self, Db, Tx, WriteKey};
use crate::domain::Permission;
use crate::domain::audit::Outcome;
use crate::domain::permission::{ADMIN_ROLE, CLIENT_ROLE};
use crate::{Error, Result};

/// The one [`WriteKey`]: constructible only in this module.
pub struct KeySeal(());

impl db::seal::Sealed for KeySeal {}
impl WriteKey for KeySeal {}

/// A key for writes that no logged-in user performs: login bookkeeping, `init`. Only the
/// service modules that need it call this, and each such call is an audited path.
pub(super) fn system_key() -> KeySeal {
    KeySeal(())
}

/// A write key for tests of the db layer.
#[cfg(test)]
pub(crate) fn system_key_for_tests() -> KeySeal {
    KeySeal(())
}

/// The acting user, as loaded from a valid session.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub roles: Vec<String>,
    pub permissions: BTreeSet<Permission>,
}

impl Actor {
    pub(super) fn load(db: &impl db::Read, user: crate::domain::user::User) -> Result<Actor> {
        let permissions =
            db::role::permissions_of_user(db, user.id)?.iter().filter_map(|p| p.parse::<Permission>().ok()).collect();
        Ok(Actor {
            id: user.id,
            username: user.username,
            full_name: user.full_name,
            email: user.email,
            roles: user.roles,
            permissions,
        })
    }

    /// Client accounts follow their own tickets and see nothing else.
    pub fn is_client(&self) -> bool {
        self.roles.iter().any(|r| r == CLIENT_ROLE)
    }

    /// Holds the built-in admin role.
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == ADMIN_ROLE)
    }
}

/// A logged-in user acting on one database. Every service method takes it first.
pub struct Session<'db> {
    db: &'db Db,
    actor: Actor,
}

impl<'db> Session<'db> {
    pub(super) fn new(db: &'db Db, actor: Actor) -> Self {
        Session { db, actor }
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The database, for reads. Writes need a [`Grant`].
    pub fn db(&self) -> &'db Db {
        self.db
    }

    pub fn can(&self, p: Permission) -> bool {
        self.actor.permissions.contains(&p)
    }

    /// Checks one permission; a denial is audited and answered with exit code 5.
    pub fn require(&self, p: Permission) -> Result<Grant<'_>> {
        if self.can(p) {
            return Ok(self.grant());
        }
        Err(self.deny(p, p.resource(), None, &format!("this needs the `{p}` permission")))
    }

    /// For `:own`/`:any` pairs: `any` passes outright, `own` passes when `is_owner` holds.
    /// `entity`/`id` name the record in the audit entry of a denial.
    pub fn require_scoped(
        &self,
        any: Permission,
        own: Permission,
        is_owner: bool,
        entity: &str,
        id: Option<i64>,
    ) -> Result<Grant<'_>> {
        if self.can(any) || (self.can(own) && is_owner) {
            return Ok(self.grant());
        }
        let missing = if self.can(own) { any } else { own };
        let why = if self.can(own) {
            format!("this {entity} is not yours; changing it needs `{any}`")
        } else {
            format!("this needs the `{own}` permission (for your own records) or `{any}`")
        };
        Err(self.deny(missing, entity, id, &why))
    }

    /// A grant for something every logged-in user may do to their own account (change their
    /// password, log out). The audit trail still names them.
    pub(super) fn self_service(&self) -> Grant<'_> {
        self.grant()
    }

    fn grant(&self) -> Grant<'_> {
        Grant { db: self.db, actor: &self.actor, key: system_key() }
    }

    /// Records a denial and returns the error to give back; `why` is a sentence for the user
    /// that names the permission. A failure to write the audit entry wins over the denial: a
    /// denial that leaves no trace would break the audit promise.
    pub fn deny(&self, p: Permission, entity: &str, id: Option<i64>, why: &str) -> Error {
        let at = chrono::Utc::now();
        let detail = format!("{p}: {why}");
        let entry = NewEntry {
            at,
            actor_id: Some(self.actor.id),
            actor: Some(&self.actor.username),
            action: "permission.denied",
            entity,
            entity_id: id,
            outcome: Outcome::Denied,
            detail: Some(&detail),
            before: None,
            after: None,
        };
        match self.db.write(&system_key(), |tx| db::audit::append(tx, &entry)) {
            Ok(()) => Error::denied(why),
            Err(e) => e,
        }
    }
}

/// Proof that the acting user may perform one write. Opens the transaction and writes its
/// audit entries.
pub struct Grant<'a> {
    db: &'a Db,
    actor: &'a Actor,
    key: KeySeal,
}

impl Grant<'_> {
    /// Runs `f` in one immediate transaction.
    pub fn write<T>(&self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        self.db.write(&self.key, f)
    }

    /// Appends an audit entry for a change made in `tx`, with before/after as JSON.
    pub fn audit(
        &self,
        tx: &Tx,
        action: &str,
        entity: &str,
        entity_id: Option<i64>,
        before: Option<&dyn erased::Json>,
        after: Option<&dyn erased::Json>,
    ) -> Result<()> {
        audit_as(tx, Some(self.actor), action, entity, entity_id, Outcome::Ok, None, before, after)
    }
}

/// Appends one audit entry (`actor` None for anonymous attempts such as a failed login).
#[allow(clippy::too_many_arguments)]
pub(super) fn audit_as(
    tx: &Tx,
    actor: Option<&Actor>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    outcome: Outcome,
    detail: Option<&str>,
    before: Option<&dyn erased::Json>,
    after: Option<&dyn erased::Json>,
) -> Result<()> {
    let at = chrono::Utc::now();
    let before = before.map(|v| v.to_json()).transpose()?;
    let after = after.map(|v| v.to_json()).transpose()?;
    db::audit::append(
        tx,
        &NewEntry {
            at,
            actor_id: actor.map(|a| a.id),
            actor: actor.map(|a| a.username.as_str()),
            action,
            entity,
            entity_id,
            outcome,
            detail,
            before: before.as_deref(),
            after: after.as_deref(),
        },
    )
}

/// Object-safe JSON serialization, so audit calls can take any `Serialize` record.
pub mod erased {
    pub trait Json {
        fn to_json(&self) -> crate::Result<String>;
    }

    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> crate::Result<String> {
            Ok(serde_json::to_string(self)?)
        }
    }
}
