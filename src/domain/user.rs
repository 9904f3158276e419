//! Accounts: staff and client users as read (never the password hash).

use serde::{Deserialize, Serialize};

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
