//! Companies: the record as read (with its sales owner and client count), the fields as stored.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Company {
    pub id: i64,
    pub name: String,
    pub logo: Option<String>,
    pub size: Option<String>,
    pub industry: Option<String>,
    pub business_type: Option<String>,
    pub country: Option<String>,
    pub website: Option<String>,
    pub time_zone: Option<String>,
    pub total_income: Option<String>,
    pub currency: String,
    pub sales_owner_id: Option<i64>,
    pub sales_owner: Option<String>,
    pub clients: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// The editable fields, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields {
    pub name: String,
    pub logo: Option<String>,
    pub size: Option<String>,
    pub industry: Option<String>,
    pub business_type: Option<String>,
    pub country: Option<String>,
    pub website: Option<String>,
    pub time_zone: Option<String>,
    pub total_income: Option<i64>,
    pub currency: String,
    pub sales_owner_id: Option<i64>,
}
