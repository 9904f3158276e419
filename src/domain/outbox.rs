//! The e-mail outbox: a message as queued and delivered.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    #[serde(skip)]
    pub text_body: String,
    #[serde(skip)]
    pub html_body: String,
    pub message_id: String,
    #[serde(skip)]
    pub in_reply_to: Option<String>,
    #[serde(skip)]
    pub references: Option<String>,
    pub ticket_id: Option<i64>,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

/// What a delivery run did.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub sent: usize,
    pub deferred: usize,
    pub failed: usize,
    pub errors: Vec<String>,
}

/// A one-off or transactional message (`rolo mail send`, later the HTTP API): from a template
/// with variables, or from a subject and a body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OneOff {
    pub to: String,
    /// `T` or `T@VERSION`.
    pub template: Option<String>,
    #[serde(default)]
    pub vars: std::collections::BTreeMap<String, String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    /// A repeat with the same key returns the first message and sends nothing new.
    pub idempotency_key: Option<String>,
}

/// What `mail send` did: the queued message, and whether it is new or a repeat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Queued {
    #[serde(flatten)]
    pub mail: Mail,
    pub repeated: bool,
}
