//! Tickets: the record, its thread (messages and attachments), its history, and what the SLA
//! clocks need of it.

use serde::{Deserialize, Serialize};

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
