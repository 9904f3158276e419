//! Accounts: staff and client users as read (never the password hash).

use serde::{Deserialize, Serialize};

use crate::secrets::Secret;

/// A user as the rest of the program sees it (no password hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub roles: Vec<String>,
    /// For a client account: the client contact it belongs to.
    pub client_id: Option<i64>,
    pub active: bool,
    pub locked_until: Option<String>,
    pub last_login_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NewAdmin {
    pub username: String,
    pub email: String,
    pub full_name: String,
    #[serde(skip_serializing)]
    pub password: Secret<String>,
}

/// One account of the demo database, with its public demo password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoAccount {
    pub username: String,
    pub full_name: String,
    pub role: String,
    pub password: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ListFilter {
    pub search: Option<String>,
    pub role: Option<String>,
    pub include_inactive: bool,
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub full_name: String,
    pub roles: Vec<String>,
    /// For a client account: the e-mail (or id) of its client contact.
    pub client: Option<String>,
    #[serde(skip_serializing)]
    pub password: Secret<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UserPatch {
    pub email: Option<String>,
    pub full_name: Option<String>,
}
