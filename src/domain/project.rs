//! Projects of client companies, which client accounts are granted one by one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub company_id: i64,
    pub company: String,
    pub description: String,
    pub open_tickets: i64,
    pub created_at: String,
    pub updated_at: String,
}
