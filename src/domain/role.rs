//! Roles and the permissions they hold.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<String>,
    pub users: i64,
}

/// A role with the active users who hold it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleDetail {
    #[serde(flatten)]
    pub role: Role,
    pub holders: Vec<String>,
}
