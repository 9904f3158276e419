//! What `rolo backup verify` reports about a file.

use serde::{Deserialize, Serialize};

/// What a sound backup file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub schema_version: i64,
    pub users: i64,
    pub integrity: String,
}
