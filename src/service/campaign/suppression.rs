//! `rolo mail suppression …`: the one list of addresses no campaign reaches (unsubscribed,
//! hard bounces, complaints, manual, erased). Kept by mailbox hash, with the address in clear
//! until an erasure.

use chrono::Utc;

use crate::db;
use crate::domain::campaign::{self, Suppression, SuppressionReason};
use crate::domain::{Permission, validate};
use crate::service::authz::Session;
use crate::{Error, Result};

pub fn list(session: &Session, reason: Option<&str>, limit: Option<u32>) -> Result<Vec<Suppression>> {
    session.require(Permission::MailSuppress)?;
    let reason = reason.map(str::parse::<SuppressionReason>).transpose()?;
    db::campaign::suppressions(session.db(), reason.map(|r| r.as_str()), limit)
}

pub fn add(session: &Session, address: &str, reason: &str) -> Result<Suppression> {
    let grant = session.require(Permission::MailSuppress)?;
    let email = validate::email("address", address)?;
    let reason = reason.parse::<SuppressionReason>()?;
    let hash = campaign::mailbox_hash(&db::campaign::mailbox_salt(session.db())?, &email);
    let by = session.actor().id;
    grant.write(|tx| {
        if !db::campaign::suppress(tx, &hash, Some(&email), reason.as_str(), "manual", Some(by), Utc::now())? {
            return Err(Error::conflict(format!("{email} is already on the suppression list")));
        }
        let added = db::campaign::suppression(tx, &hash)?.ok_or_else(|| Error::internal("suppression vanished"))?;
        grant.audit(
            tx,
            "suppression.add",
            "suppression",
            None,
            None,
            Some(&serde_json::json!({"reason": reason.as_str()})),
        )?;
        Ok(added)
    })
}

pub fn remove(session: &Session, address: &str) -> Result<Suppression> {
    let grant = session.require(Permission::MailSuppress)?;
    let email = validate::email("address", address)?;
    let hash = campaign::mailbox_hash(&db::campaign::mailbox_salt(session.db())?, &email);
    let before = db::campaign::suppression(session.db(), &hash)?
        .ok_or_else(|| Error::not_found("suppressed address", &email))?;
    grant.write(|tx| {
        db::campaign::unsuppress(tx, &hash)?;
        grant.audit(
            tx,
            "suppression.remove",
            "suppression",
            None,
            Some(&serde_json::json!({"reason": before.reason})),
            None,
        )?;
        Ok(before.clone())
    })
}
