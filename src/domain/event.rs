//! Events under signed contracts: the record as read and the fields as stored.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    pub contract_id: i64,
    pub name: String,
    pub client_id: i64,
    pub client_name: String,
    pub client_email: String,
    pub client_phone: Option<String>,
    pub company: Option<String>,
    pub sales_contact_id: Option<i64>,
    pub starts_at: String,
    pub ends_at: String,
    pub support_contact_id: Option<i64>,
    pub support_contact: Option<String>,
    pub support_contact_name: Option<String>,
    pub location: String,
    pub attendees: i64,
    pub notes: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields {
    pub name: String,
    pub starts_at: String,
    pub ends_at: String,
    pub support_contact_id: Option<i64>,
    pub location: String,
    pub attendees: i64,
    pub notes: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ListFilter {
    pub no_support: bool,
    pub mine: bool,
    pub support: Option<String>,
    pub contract: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<u32>,
}

/// What a person may set on an event (`None` leaves it alone).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub name: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub location: Option<String>,
    pub attendees: Option<i64>,
    pub notes: Option<String>,
}

impl EventInput {
    pub fn from_event(e: &Event) -> Self {
        EventInput {
            name: Some(e.name.clone()),
            start: Some(e.starts_at.clone()),
            end: Some(e.ends_at.clone()),
            location: Some(e.location.clone()),
            attendees: Some(e.attendees),
            notes: Some(e.notes.clone()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.start.is_none()
            && self.end.is_none()
            && self.location.is_none()
            && self.attendees.is_none()
            && self.notes.is_none()
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct NewEvent {
    /// Keep a number from another system (the spreadsheet's "Event ID").
    pub id: Option<i64>,
    pub contract: String,
    pub fields: EventInput,
}
