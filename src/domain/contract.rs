//! Contracts: the record as read (money as decimal strings), the fields as stored (minor units).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Contract {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub client_email: String,
    pub company: Option<String>,
    pub sales_contact_id: Option<i64>,
    pub sales_contact: Option<String>,
    pub total: String,
    pub due: String,
    pub currency: String,
    pub signed: bool,
    pub signed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub total_minor: i64,
    #[serde(skip)]
    pub due_minor: i64,
}

pub struct Fields {
    pub id: Option<i64>,
    pub client_id: i64,
    pub total: i64,
    pub due: i64,
    pub currency: String,
    pub signed_at: Option<String>,
}
