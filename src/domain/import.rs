//! What a batch import is asked to do: the options of every `… import` run.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// What to do with a row whose record already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDuplicate {
    /// Leave the existing record alone.
    Skip,
    /// Update the existing record with the row's non-empty values.
    Update,
    /// Reject the row.
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Options {
    pub dry_run: bool,
    pub on_duplicate: OnDuplicate,
    /// Header in the file (any case) → column name.
    pub mapping: HashMap<String, String>,
    /// Put every client of the file in this group (created as `imported` when new).
    pub group: Option<String>,
}
