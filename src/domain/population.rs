//! Population management's records: the field registry row, groups and saved segments.

use std::collections::BTreeMap;

use crate::domain::client::Client;
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

/// What a person may set on a field; `None` leaves it alone.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct FieldInput {
    pub label: Option<String>,
    pub kind: Option<String>,
    /// For `choice`: the accepted values, comma-separated.
    pub choices: Option<String>,
    pub mandatory: Option<bool>,
    pub public: Option<bool>,
    pub origin: Option<String>,
    pub personal_data: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupDetail {
    #[serde(flatten)]
    pub group: Group,
    pub clients: Vec<Client>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Membership {
    pub group: String,
    pub changed: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentResult {
    pub name: Option<String>,
    pub filter: String,
    pub count: i64,
    /// Absent with `--count`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<Client>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Suggestion {
    pub domain: String,
    pub suggested_name: String,
    /// An existing company for this domain: its website's, or the one colleagues at the domain
    /// already belong to.
    pub existing_company: Option<String>,
    pub clients: usize,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Count {
    pub key: String,
    pub clients: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub clients: usize,
    pub customers: usize,
    pub by_stage: Vec<Count>,
    /// The ten largest companies, and clients with none.
    pub by_company: Vec<Count>,
    /// Share of clients (0-100) with each field filled in.
    pub completeness: BTreeMap<String, u8>,
    pub duplicates_suspected: usize,
    /// New clients per month (first contact), oldest first.
    pub growth_by_month: Vec<Count>,
}
