//! An SLA policy as stored: targets in minutes, warning threshold, calendar.

use serde::{Deserialize, Serialize};

use crate::domain::sla::{CalendarSpec, Clock, State};

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

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PolicyInput {
    pub first_response: Option<String>,
    pub resolution: Option<String>,
    pub warn: Option<String>,
    pub time_zone: Option<String>,
    pub hours: Option<String>,
    pub holidays: Option<Vec<String>>,
}

/// One clock that needs attention.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alert {
    pub ticket_id: i64,
    pub project: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub assignee: Option<String>,
    pub clock: String,
    pub state: State,
    pub deadline: Option<String>,
    /// Business seconds left (negative once breached).
    pub remaining_seconds: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    pub at: String,
    pub checked: usize,
    pub at_risk: usize,
    pub breached: usize,
    pub notices_queued: usize,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Explanation {
    pub ticket_id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: String,
    pub calendar: CalendarSpec,
    pub warn_percent: i64,
    pub first_response: Clock,
    pub resolution: Clock,
    pub steps: Vec<String>,
}
