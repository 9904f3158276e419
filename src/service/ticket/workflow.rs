//! Statuses and their transition table, and assignment.

use super::notify::*;
use super::*;
use crate::db::{self};
use crate::domain::Permission;
use crate::service::authz::{Grant, Session};
use crate::service::{project, refs, sla as sla_service};
use crate::{Error, Result};
use chrono::Utc;

/// Where staff may move a ticket. Clients only reopen (see [`client_may`]).
pub(super) fn staff_may(from: &str, to: &str) -> bool {
    match from {
        "open" => ["in_progress", "waiting_client", "resolved", "closed"].contains(&to),
        "in_progress" => ["open", "waiting_client", "resolved", "closed"].contains(&to),
        "waiting_client" => ["open", "in_progress", "resolved", "closed"].contains(&to),
        "resolved" => ["open", "in_progress", "closed"].contains(&to),
        "closed" => to == "open",
        _ => false,
    }
}

/// A client may reopen its ticket; only staff close.
pub(super) fn client_may(from: &str, to: &str) -> bool {
    to == "open" && ["waiting_client", "resolved", "closed"].contains(&from)
}

pub(super) fn check_transition(session: &Session, t: &Ticket, to: &str) -> Result<()> {
    if t.status == to {
        return Err(Error::conflict(format!("ticket {} is already {to}", t.id)));
    }
    if is_client(session) {
        if !client_may(&t.status, to) {
            return Err(session.deny(
                Permission::TicketStatus,
                "ticket",
                Some(t.id),
                "a client may only reopen its ticket; staff move it otherwise (`ticket:status`)",
            ));
        }
    } else if !staff_may(&t.status, to) {
        return Err(Error::conflict(format!(
            "ticket {} cannot go from {} to {to} (closed tickets can only be reopened)",
            t.id, t.status
        )));
    }
    Ok(())
}

/// Moves a ticket to another status (transition table above). Staff changes are public
/// updates: the client is e-mailed.
pub fn set_status(session: &Session, settings: &Settings, key: &str, status: &str) -> Result<Outcome> {
    let t = refs::ticket(session, key)?;
    let grant: Grant = session.require(Permission::TicketStatus)?;
    let to = parse_status(status)?;
    check_transition(session, &t, to)?;
    let now = Utc::now();
    let actor = session.actor();
    grant.write(|tx| {
        db::ticket::set_status(tx, t.id, actor.id, &t.status, to, now)?;
        sla_service::reproject(tx, Some(&[t.id]), Utc::now())?;
        let after = reload(tx, t.id)?;
        let headline = format!("{} changed the status from {} to {to}.", actor.full_name, t.status);
        let to_list =
            if is_client(session) { team_emails(tx, &after)? } else { project::client_emails(tx, after.project_id)? };
        let queued = notify(
            tx,
            settings,
            &after,
            to_list,
            &actor.email,
            Notice { kind: "ticket.status", headline: &headline, body: "" },
        )?;
        grant.audit(tx, "ticket.status", "ticket", Some(t.id), Some(&t), Some(&after))?;
        Ok(Outcome { ticket: after, emails_queued: queued })
    })
}

/// Assigns a ticket to a collaborator who can answer tickets.
pub fn assign(session: &Session, settings: &Settings, key: &str, username: &str) -> Result<Outcome> {
    let t = refs::ticket(session, key)?;
    let grant = session.require(Permission::TicketAssign)?;
    let user = refs::staff(session.db(), "assignee", username, None)?;
    let perms = db::role::permissions_of_user(session.db(), user.id)?;
    if !perms.iter().any(|p| p == Permission::TicketReply.as_str()) {
        return Err(Error::invalid("assignee", format!("`{}` cannot answer tickets (no ticket:reply)", user.username)));
    }
    if t.assignee_id == Some(user.id) {
        return Err(Error::conflict(format!("ticket {} is already assigned to {}", t.id, user.username)));
    }
    let now = Utc::now();
    let actor = session.actor();
    grant.write(|tx| {
        db::ticket::set_assignee(tx, t.id, actor.id, t.assignee.as_deref(), Some((user.id, &user.username)), now)?;
        let after = reload(tx, t.id)?;
        let headline = format!("{} assigned this ticket to you.", actor.full_name);
        let queued = notify(
            tx,
            settings,
            &after,
            vec![user.email.clone()],
            &actor.email,
            Notice { kind: "ticket.assign", headline: &headline, body: "" },
        )?;
        grant.audit(tx, "ticket.assign", "ticket", Some(t.id), Some(&t), Some(&after))?;
        Ok(Outcome { ticket: after, emails_queued: queued })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::service::testing;

    /// Every (from, to) pair of the five statuses: staff follow the table, a client only
    /// reopens its own ticket; anything else changes nothing.
    #[test]
    fn the_transition_table_for_staff_and_clients() {
        let template = testing::demo();
        // (from, to, staff may, client may)
        let table: Vec<(&str, &str, bool, bool)> = STATUSES
            .iter()
            .flat_map(|from| STATUSES.iter().map(move |to| (*from, *to)))
            .filter(|(from, to)| from != to)
            .map(|(from, to)| {
                let staff = match from {
                    "closed" => to == "open",
                    "resolved" => to != "waiting_client",
                    _ => true,
                };
                let client = to == "open" && ["waiting_client", "resolved", "closed"].contains(&from);
                (from, to, staff, client)
            })
            .collect();
        assert_eq!(table.len(), 20);
        for (from, to, staff_ok, client_ok) in table {
            for (user, allowed) in [("kate", staff_ok), ("kevin", client_ok)] {
                let db = template.copy_in_memory().expect("copy");
                db.exec_bound_for_test("UPDATE tickets SET status = ?1 WHERE id = 1", from).expect("status");
                let before = db.dump().expect("dump");
                let session = testing::session_as(&db, user);
                let outcome = set_status(&session, &testing::settings(), "1", to);
                match (outcome, allowed) {
                    (Ok(o), true) => assert_eq!(o.ticket.status, to, "{user} {from} → {to}"),
                    (Err(e), false) => {
                        let expected = if user == "kevin" { ErrorKind::Denied } else { ErrorKind::Conflict };
                        assert_eq!(e.kind(), expected, "{user} {from} → {to}: {e}");
                        assert_eq!(db.dump().expect("dump"), before, "{user} {from} → {to} changed something");
                    }
                    (r, _) => panic!("{user} {from} → {to}: expected allowed={allowed}, got {r:?}"),
                }
            }
        }
    }
}
