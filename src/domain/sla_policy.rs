//! An SLA policy as stored: targets in minutes, warning threshold, calendar.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyRow {
    #[serde(rename = "type")]
    pub kind: String,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    pub warn_percent: i64,
    pub calendar: serde_json::Value,
    pub updated_at: String,
}
