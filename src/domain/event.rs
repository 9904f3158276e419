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
