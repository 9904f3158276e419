//! Batch import and export: clients, companies, contracts and events.
//!
//! A file is CSV (delimiter sniffed among `,` `;` tab `|`; UTF-8 with or without BOM, or
//! Windows-1252 as French Excel writes it), JSON lines, or an `.xlsx` workbook (its first
//! sheet). Columns are named like the create flags, or mapped from other headers. A run is one
//! transaction: every row goes in, or none does; rejected rows are reported with their line,
//! field and reason. Text files are streamed: memory does not grow with the file. Re-running
//! the same file changes nothing.

mod client;
mod formats;
mod records;
mod sheet;

use formats::rows;

use std::collections::HashMap;
use std::rc::Rc;

use crate::domain::validate;

use crate::{Error, ErrorKind, Result};

pub use client::{export_clients, export_columns as client_export_columns, import_clients};
pub use records::{
    CONTRACT_EXPORT, EVENT_EXPORT, company_columns, export_companies, export_contracts, export_events,
    import_companies, import_contracts, import_events,
};

pub use crate::domain::import::{Applied, OnDuplicate, Options, Rejected, Report};

/// The error a write closure returns to roll a run back on purpose.
fn roll_back() -> Error {
    Error::new(ErrorKind::Conflict, "import rolled back")
}

/// Ends a run: `outcome` is the write's result; a deliberate roll-back is not an error.
fn finish(mut report: Report, outcome: Result<()>) -> Result<Report> {
    match outcome {
        Ok(()) => report.written = true,
        Err(_) if report.must_roll_back() => {}
        Err(e) => return Err(e),
    }
    Ok(report)
}

/// The columns one kind of record has: canonical names, other spellings, and those every
/// row needs.
pub(super) struct Columns {
    pub names: Rc<[String]>,
    pub aliases: &'static [(&'static str, &'static str)],
    pub required: &'static [&'static str],
}

impl Columns {
    pub fn new(
        names: &[&str],
        aliases: &'static [(&'static str, &'static str)],
        required: &'static [&'static str],
    ) -> Self {
        Columns { names: names.iter().map(|n| n.to_string()).collect(), aliases, required }
    }

    /// The column a header names, through the mapping, the canonical names and the aliases.
    fn index_of(&self, header: &str, mapping: &HashMap<String, String>) -> Option<usize> {
        let h = header.trim().trim_start_matches('\u{feff}');
        let mapped =
            mapping.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(h)).map(|(_, v)| v.as_str()).unwrap_or(h);
        let key = mapped.trim().to_lowercase().replace([' ', '-'], "_");
        let key = self.aliases.iter().find(|(a, _)| *a == key).map_or(key.as_str(), |(_, c)| c);
        self.names.iter().position(|n| n == key)
    }

    /// A mapping may only name known columns.
    fn check_mapping(&self, mapping: &HashMap<String, String>) -> Result<()> {
        for (header, column) in mapping {
            if !self.names.iter().any(|n| n == column.trim()) {
                return Err(Error::invalid(
                    "map",
                    format!("`{header}` maps to `{column}`, not one of: {}", self.names.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn check_required(&self, found: &[Option<usize>], headers: &[String]) -> Result<()> {
        for needed in self.required {
            let i = self.names.iter().position(|n| n == needed);
            if !found.contains(&i) {
                // The headers are quoted cut short: a file whose first line is 20 MB of text
                // gets a one-line answer, not its first line back.
                let shown =
                    validate::excerpt(&headers.iter().take(40).map(String::as_str).collect::<Vec<_>>().join(","));
                return Err(Error::invalid(
                    "header",
                    format!("no `{needed}` column (headers: {shown}); name it so or map it with --map"),
                ));
            }
        }
        Ok(())
    }
}

/// One row: a value (trimmed, non-empty) per column.
pub(super) struct Record {
    names: Rc<[String]>,
    values: Vec<Option<String>>,
}

impl Record {
    fn new(names: &Rc<[String]>) -> Self {
        Record { names: names.clone(), values: vec![None; names.len()] }
    }

    fn set(&mut self, index: usize, value: &str) {
        let v = value.trim();
        if !v.is_empty() {
            self.values[index] = Some(v.to_string());
        }
    }

    /// Takes a column's value out of the row.
    pub fn take(&mut self, column: &str) -> Option<String> {
        let i = self.names.iter().position(|n| n == column)?;
        self.values[i].take()
    }

    /// The row as a JSON object of its non-empty columns, for an input that is a serde type
    /// whose keys are the columns.
    pub fn take_input<T: serde::de::DeserializeOwned>(&mut self) -> Result<T> {
        let map: serde_json::Map<String, serde_json::Value> = self
            .names
            .iter()
            .zip(self.values.iter_mut())
            .filter_map(|(k, v)| v.take().map(|v| (k.clone(), serde_json::Value::String(v))))
            .collect();
        serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| Error::invalid("line", format!("does not fit the columns: {e}")))
    }

    /// The values of the columns after the first `fixed` (custom fields), by name.
    pub fn rest(&mut self, fixed: usize) -> impl Iterator<Item = (String, String)> + '_ {
        let names = self.names.clone();
        self.values.iter_mut().enumerate().skip(fixed).filter_map(move |(i, v)| v.take().map(|v| (names[i].clone(), v)))
    }
}

/// A text column that must hold a positive integer id.
pub(super) fn id_in(record: &mut Record, column: &str) -> Result<Option<i64>> {
    record
        .take(column)
        .map(|v| {
            let id = v.trim_start_matches('#').parse::<i64>().map_err(|_| {
                Error::invalid(column, format!("`{}` is not an id (a positive integer)", validate::excerpt(&v)))
            })?;
            validate::record_id(column, id)
        })
        .transpose()
}

/// Reads a `--map` file: `[columns]` with `"Header in the file" = "column"`.
pub fn parse_mapping(text: &str) -> Result<HashMap<String, String>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct MapFile {
        columns: HashMap<String, String>,
    }
    let m: MapFile = toml::from_str(text)
        .map_err(|e| Error::invalid("map", format!("{} (expected [columns] \"Header\" = \"name\")", e.message())))?;
    Ok(m.columns)
}
