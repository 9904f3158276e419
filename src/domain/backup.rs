//! What `rolo backup verify` reports about a file.

use serde::{Deserialize, Serialize};

/// What a sound backup file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub schema_version: i64,
    pub users: i64,
    pub integrity: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupFile {
    pub name: String,
    pub path: String,
    pub size_bytes: u64,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Created {
    #[serde(flatten)]
    pub file: BackupFile,
    pub rotated_out: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verified {
    pub path: String,
    pub integrity: String,
    pub schema_version: i64,
    pub users: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Restored {
    pub restored_from: String,
    pub safety_backup: String,
    pub schema_version: i64,
}
