//! A login session as stored (token digests and expiry, never the tokens).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub access_expires_at: String,
    pub refresh_expires_at: String,
    pub revoked_at: Option<String>,
}
