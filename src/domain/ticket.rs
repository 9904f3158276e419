//! Tickets: the record, its thread (messages and attachments), its history, and what the SLA
//! clocks need of it.

use serde::{Deserialize, Serialize};

use crate::domain::sla::{Clock, State};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ticket {
    pub id: i64,
    pub project_id: i64,
    pub project: String,
    pub company: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub status: String,
    pub author_id: i64,
    pub author: String,
    pub assignee_id: Option<i64>,
    pub assignee: Option<String>,
    pub first_response_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttachmentInfo {
    pub id: i64,
    pub name: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub id: i64,
    pub author: String,
    pub author_name: String,
    pub internal: bool,
    pub body: String,
    pub created_at: String,
    pub attachments: Vec<AttachmentInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    pub at: String,
    pub actor: Option<String>,
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What the SLA clocks need of a ticket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClockData {
    pub id: i64,
    pub kind: String,
    pub created_at: String,
    pub first_response_at: Option<String>,
    /// Status changes after creation: (when, new status).
    pub changes: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
/// A file to attach.
pub struct NewAttachment {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for NewAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewAttachment({}, {} bytes)", self.name, self.bytes.len())
    }
}

/// A ticket in a listing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketRow {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub sla: State,
    /// The nearest running deadline.
    pub sla_deadline: Option<String>,
    pub unread: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ListFilter {
    pub statuses: Vec<String>,
    pub kind: Option<String>,
    pub project: Option<String>,
    pub client: Option<String>,
    pub assignee: Option<String>,
    pub sla: Vec<String>,
    pub unread: bool,
    pub since: Option<String>,
    pub at: Option<String>,
    pub limit: Option<u32>,
    /// Only tickets older than this one (the next page of a newest-first listing).
    #[serde(default)]
    pub before_id: Option<i64>,
}

/// A ticket as a person reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketView {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub sla: State,
    pub sla_first_response: Clock,
    pub sla_resolution: Clock,
    pub messages: Vec<Message>,
    /// Every change (staff only).
    pub history: Vec<Change>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NewTicket {
    pub project: String,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<NewAttachment>,
}

/// What a change did: the ticket after it and how many e-mails it queued.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub emails_queued: usize,
}
