//! Population management's records: the field registry row, groups and saved segments.

use serde::{Deserialize, Serialize};

use crate::domain::profile::FieldDef;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldRow {
    pub id: i64,
    #[serde(flatten)]
    pub def: FieldDef,
    /// How many clients have a value.
    pub filled: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub description: String,
    /// The segment filter it was frozen from, if any.
    pub segment: Option<String>,
    pub members: i64,
    pub created_at: String,
    pub created_by: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Segment {
    pub id: i64,
    pub name: String,
    pub filter: String,
    pub description: String,
    pub created_at: String,
    pub created_by: Option<String>,
    pub updated_at: String,
}
