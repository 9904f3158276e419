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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContractDetail {
    #[serde(flatten)]
    pub contract: Contract,
    pub events: Vec<crate::domain::event::Event>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ListFilter {
    pub signed: Option<bool>,
    pub unpaid: bool,
    pub mine: bool,
    pub client: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct NewContract {
    /// Keep a number from another system (the spreadsheet's "Contract ID").
    pub id: Option<i64>,
    pub client: String,
    pub total: String,
    pub due: Option<String>,
    pub currency: Option<String>,
    pub signed: bool,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ContractPatch {
    pub total: Option<String>,
    pub due: Option<String>,
    pub currency: Option<String>,
    pub signed: Option<bool>,
}
