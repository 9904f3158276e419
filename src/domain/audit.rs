//! The audit log's records: an entry as read back, and the outcome of an audited attempt.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub actor: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub outcome: String,
    pub detail: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Whether the audited attempt went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Ok,
    Denied,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Filter {
    pub actor: Option<String>,
    pub entity: Option<String>,
    pub action: Option<String>,
    pub since: Option<String>,
    pub limit: Option<u32>,
}
