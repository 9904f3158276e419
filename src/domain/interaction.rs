//! Interactions with a client (calls, meetings, e-mails…).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interaction {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: String,
    pub notes: String,
    pub author: Option<String>,
    pub created_at: String,
}
