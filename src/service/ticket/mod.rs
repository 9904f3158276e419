//! Tickets: the thread (public replies and internal notes), attachments, statuses with an
//! explicit transition table, assignment, read markers, SLA states — and the notifications
//! each change queues in the same transaction.
//!
//! Visibility: staff with `ticket:read:any` see every ticket; client accounts
//! (`ticket:read:own`) see only tickets of projects granted to them, and anything else answers
//! "not found". Internal notes and their attachments never reach a client: not in `show`, not
//! in JSON, not in e-mail.

mod files;
pub(crate) use files::mime_of;
mod list;
mod notify;
mod thread;
mod workflow;
pub use files::{attachment, check_attachment_size};
pub use list::{list, show};
pub use thread::{create, note, reply};
pub use workflow::{assign, set_status};

use chrono::{DateTime, Utc};

use super::authz::Session;
use crate::db::{self, Tx};
use crate::domain::permission::CLIENT_ROLE;
use crate::domain::sla::{Clock, State};
use crate::domain::time;
use crate::mail::SmtpSettings;
use crate::{Error, Result};

pub use crate::domain::ticket::{AttachmentInfo, Change, Message, Ticket};
pub use crate::domain::ticket::{ListFilter, NewAttachment, NewTicket, Outcome, TicketRow, TicketView};

pub const STATUSES: [&str; 5] = ["open", "in_progress", "waiting_client", "resolved", "closed"];

fn parse_status(s: &str) -> Result<&'static str> {
    STATUSES
        .iter()
        .find(|k| **k == s.trim())
        .copied()
        .ok_or_else(|| Error::invalid("status", format!("`{}` is not one of: {}", s.trim(), STATUSES.join(", "))))
}

/// Settings the ticket service needs from the configuration.
pub struct Settings<'a> {
    pub smtp: &'a SmtpSettings,
    pub max_attachment_bytes: u64,
    /// Where `rolo serve` is reached (`[serve] public_url`): e-mails to clients then link to the
    /// ticket in the portal.
    pub public_url: Option<&'a str>,
}

fn is_client(session: &Session) -> bool {
    session.actor().roles.iter().any(|r| r == CLIENT_ROLE)
}

fn summary(first: &Clock, resolution: &Clock) -> (State, Option<String>) {
    let deadline = [first.deadline, resolution.deadline].into_iter().flatten().min().map(time::format_utc);
    (crate::domain::sla::overall(first, resolution), deadline)
}

fn reload(tx: &Tx, id: i64) -> Result<Ticket> {
    db::ticket::get(tx, id)?.ok_or_else(|| Error::internal("ticket vanished inside its own transaction"))
}

/// The instant to evaluate at: `--at` or now.
pub fn instant(at: Option<&str>) -> Result<DateTime<Utc>> {
    let now = Utc::now();
    at.map(|d| time::parse_instant("at", d, now)).transpose().map(|t| t.unwrap_or(now))
}
