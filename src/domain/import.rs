//! What a batch import is asked to do: the options of every `… import` run.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{ErrorKind, Result};

/// How many rejected rows a report lists.
const MAX_REPORTED: usize = 1000;

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Created,
    Updated,
    Unchanged,
    Skipped,
}

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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rejected {
    pub line: u64,
    pub field: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub encoding: String,
    pub rows_read: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub rejected: u64,
    pub companies_created: u64,
    /// The group the rows went into, and how many joined it.
    pub group: Option<String>,
    pub grouped: u64,
    pub dry_run: bool,
    pub written: bool,
    pub ignored_columns: Vec<String>,
    /// The first 1000 rejected rows.
    pub rejections: Vec<Rejected>,
}

impl Report {
    /// Counts a row's outcome. Bad data is a rejection (reported, the run goes on to find the
    /// others); anything else (a full disk, a bug) ends the run.
    pub fn tally(&mut self, line: u64, outcome: Result<Applied>) -> Result<()> {
        match outcome {
            Ok(Applied::Created) => self.created += 1,
            Ok(Applied::Updated) => self.updated += 1,
            Ok(Applied::Unchanged) => self.unchanged += 1,
            Ok(Applied::Skipped) => self.skipped += 1,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Invalid
                        | ErrorKind::Conflict
                        | ErrorKind::Usage
                        | ErrorKind::Denied
                        | ErrorKind::NotFound
                ) =>
            {
                self.rejected += 1;
                if self.rejections.len() < MAX_REPORTED {
                    self.rejections.push(Rejected {
                        line,
                        field: e.field().map(String::from),
                        reason: e.message().to_string(),
                    });
                }
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Whether the run must be rolled back: a rejected row, or a dry run.
    pub fn must_roll_back(&self) -> bool {
        self.rejected > 0 || self.dry_run
    }
}
