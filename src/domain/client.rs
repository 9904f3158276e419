//! Clients (contact persons): the card as read, the fields as stored, the stage history.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Client {
    pub id: i64,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub company_id: Option<i64>,
    pub company: Option<String>,
    pub sales_contact_id: Option<i64>,
    pub sales_contact: Option<String>,
    pub sales_contact_name: Option<String>,
    pub stage: String,
    pub customer: bool,
    pub first_contact_at: String,
    pub last_contact_at: Option<String>,
    pub consent: String,
    /// Custom profile field values, by field key.
    pub fields: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields {
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub phone_digits: Option<String>,
    pub company_id: Option<i64>,
    pub sales_contact_id: Option<i64>,
    pub first_contact_at: String,
    pub last_contact_at: Option<String>,
    pub consent: String,
    pub profile: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageChange {
    pub from: Option<String>,
    pub to: String,
    pub at: String,
    pub by: Option<String>,
}

impl Fields {
    /// A new client's card: no phone, company or contact dates but the first, consent unknown.
    pub fn new(full_name: String, email: String, sales_contact_id: Option<i64>, first_contact_at: String) -> Self {
        Fields {
            full_name,
            email,
            phone: None,
            phone_digits: None,
            company_id: None,
            sales_contact_id,
            first_contact_at,
            last_contact_at: None,
            consent: "unknown".into(),
            profile: Map::new(),
        }
    }
}
