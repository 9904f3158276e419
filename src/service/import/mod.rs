//! Batch import and export: clients, companies, contracts and events.
//!
//! A file is CSV (delimiter sniffed among `,` `;` tab `|`; UTF-8 with or without BOM, or
//! Windows-1252 as French Excel writes it), JSON lines, or an `.xlsx` workbook (its first
//! sheet). Columns are named like the create flags, or mapped from other headers. A run is one
//! transaction: every row goes in, or none does; rejected rows are reported with their line,
//! field and reason. Text files are streamed: memory does not grow with the file. Re-running
//! the same file changes nothing.

mod client;
mod records;
mod sheet;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::rc::Rc;

use crate::domain::{spreadsheet, validate};

use crate::{Error, ErrorKind, Result};

pub use client::{export_clients, export_columns as client_export_columns, import_clients};
pub use records::{
    COMPANY_EXPORT, CONTRACT_EXPORT, EVENT_EXPORT, export_companies, export_contracts, export_events, import_companies,
    import_contracts, import_events,
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

/// An opened input: a workbook read whole, or a text stream.
enum Opened {
    Sheet(Vec<Vec<String>>),
    Csv(Box<dyn BufRead>, u8),
    JsonLines(Box<dyn BufRead>),
}

pub(super) type Row = (u64, Result<Record>);

/// Opens an input and streams its rows as (line number, record); also returns the headers
/// that name no column (JSON keys that name none are simply not read).
pub(super) fn rows(
    input: Box<dyn Read>,
    columns: &Columns,
    mapping: &HashMap<String, String>,
    report: &mut Report,
) -> Result<Box<dyn Iterator<Item = Row>>> {
    columns.check_mapping(mapping)?;
    let (iter, ignored): (Box<dyn Iterator<Item = Row>>, Vec<String>) = match open(input, report)? {
        Opened::JsonLines(stream) => (json_rows(stream, columns, mapping), Vec::new()),
        Opened::Csv(stream, d) => csv_rows(stream, d, columns, mapping)?,
        Opened::Sheet(cells) => sheet_rows(cells, columns, mapping)?,
    };
    report.ignored_columns = ignored;
    Ok(iter)
}

fn json_rows(
    stream: Box<dyn BufRead>,
    columns: &Columns,
    mapping: &HashMap<String, String>,
) -> Box<dyn Iterator<Item = Row>> {
    let names = columns.names.clone();
    // The column of each JSON key, looked up once per distinct key.
    let mut index: HashMap<String, Option<usize>> = HashMap::new();
    let lookup = Columns { names: names.clone(), aliases: columns.aliases, required: columns.required };
    let mapping = mapping.clone();
    Box::new(stream.lines().enumerate().filter_map(move |(i, line)| {
        let n = i as u64 + 1;
        let line = match line {
            Ok(l) if l.trim().is_empty() => return None,
            Ok(l) => l,
            Err(e) => return Some((n, Err(Error::invalid("line", format!("unreadable: {e}"))))),
        };
        let parsed: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(&line) {
            Ok(m) => m,
            Err(e) => return Some((n, Err(Error::invalid("line", format!("not a JSON object: {e}"))))),
        };
        let mut row = Record::new(&names);
        for (k, v) in parsed {
            let col = *index.entry(k.clone()).or_insert_with(|| lookup.index_of(&k, &mapping));
            let Some(col) = col else { continue };
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => row.set(col, &s),
                other => row.set(col, &other.to_string()),
            }
        }
        Some((n, Ok(row)))
    }))
}

/// How many unknown headers a report names (a broken file may have thousands).
const MAX_IGNORED_SHOWN: usize = 50;

fn header_columns(
    headers: &[String],
    columns: &Columns,
    mapping: &HashMap<String, String>,
) -> Result<(Vec<Option<usize>>, Vec<String>)> {
    let mut ignored = Vec::new();
    let mut more = 0;
    let found: Vec<Option<usize>> = headers
        .iter()
        .map(|h| {
            let c = columns.index_of(h, mapping);
            if c.is_none() && !h.trim().is_empty() {
                if ignored.len() < MAX_IGNORED_SHOWN {
                    ignored.push(validate::excerpt(h.trim()));
                } else {
                    more += 1;
                }
            }
            c
        })
        .collect();
    if more > 0 {
        ignored.push(format!("… and {more} more"));
    }
    columns.check_required(&found, headers)?;
    Ok((found, ignored))
}

fn csv_rows(
    stream: Box<dyn BufRead>,
    delimiter: u8,
    columns: &Columns,
    mapping: &HashMap<String, String>,
) -> Result<(Box<dyn Iterator<Item = Row>>, Vec<String>)> {
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(stream);
    let headers: Vec<String> = reader
        .byte_headers()
        .map_err(|e| Error::invalid("header", e))?
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let (found, ignored) = header_columns(&headers, columns, mapping)?;
    let names = columns.names.clone();
    let width = headers.len();
    let records = reader.into_byte_records().map(move |rec| {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return (line, Err(Error::invalid("line", format!("malformed CSV: {e}"))));
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != width {
            return (
                line,
                Err(Error::invalid("line", format!("has {} fields where the header has {width}", rec.len()))),
            );
        }
        let mut row = Record::new(&names);
        for (value, col) in rec.iter().zip(&found) {
            let Some(col) = col else { continue };
            match std::str::from_utf8(value) {
                Ok(v) => row.set(*col, spreadsheet::unescape(v)),
                Err(_) => return (line, Err(Error::invalid(&names[*col], "is not valid UTF-8"))),
            }
        }
        (line, Ok(row))
    });
    Ok((Box::new(records), ignored))
}

fn sheet_rows(
    cells: Vec<Vec<String>>,
    columns: &Columns,
    mapping: &HashMap<String, String>,
) -> Result<(Box<dyn Iterator<Item = Row>>, Vec<String>)> {
    let mut lines = cells.into_iter().enumerate();
    let headers = lines.next().map(|(_, h)| h).unwrap_or_default();
    let (found, ignored) = header_columns(&headers, columns, mapping)?;
    let names = columns.names.clone();
    let rows = lines.filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty())).map(move |(i, cells)| {
        let mut row = Record::new(&names);
        for (value, col) in cells.iter().zip(&found) {
            if let Some(col) = col {
                row.set(*col, spreadsheet::unescape(value));
            }
        }
        (i as u64 + 1, Ok(row))
    });
    Ok((Box::new(rows), ignored))
}

/// Windows-1252 bytes 0x80–0x9F; the rest of the range is Latin-1.
const CP1252: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘', '’',
    '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// Decodes Windows-1252 to UTF-8 as it streams.
struct Cp1252<R> {
    inner: R,
    pending: Vec<u8>,
}

impl<R: Read> Read for Cp1252<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pending.is_empty() {
            let mut raw = vec![0u8; out.len().clamp(4, 16 * 1024) / 3 + 1];
            let n = self.inner.read(&mut raw)?;
            for b in &raw[..n] {
                let c = match *b {
                    0x80..=0x9f => CP1252[usize::from(*b - 0x80)],
                    b => char::from(b),
                };
                let mut tmp = [0u8; 4];
                self.pending.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
            self.pending.reverse();
        }
        let mut n = 0;
        while n < out.len() {
            match self.pending.pop() {
                Some(b) => {
                    out[n] = b;
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }
}

/// Sniffs the head of the stream: an `.xlsx` workbook, or text with its encoding, format and
/// delimiter (turned into a UTF-8 stream).
fn open(mut input: Box<dyn Read>, report: &mut Report) -> Result<Opened> {
    let mut head = Vec::with_capacity(64 * 1024);
    input.by_ref().take(64 * 1024).read_to_end(&mut head).map_err(|e| Error::invalid("file", e))?;
    if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        return Err(Error::invalid("file", "UTF-16 is not supported; save it as UTF-8 (CSV UTF-8) or Windows-1252"));
    }
    if head.starts_with(b"PK\x03\x04") {
        report.format = "xlsx".into();
        report.encoding = "utf-8".into();
        return Ok(Opened::Sheet(sheet::read(head, input)?));
    }
    let bom = head.starts_with(&[0xef, 0xbb, 0xbf]);
    if bom {
        head.drain(..3);
    }
    let utf8 = match std::str::from_utf8(&head) {
        Ok(_) => true,
        // Cut in the middle of a character at the end of the sample: still UTF-8.
        Err(e) => e.error_len().is_none(),
    };
    report.encoding = match (utf8, bom) {
        (true, true) => "utf-8 (bom)",
        (true, false) => "utf-8",
        (false, _) => "windows-1252",
    }
    .into();
    let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let delimiter = if first == Some(b'{') {
        report.format = "jsonl".into();
        None
    } else {
        report.format = "csv".into();
        let line = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
        let mut quoted = false;
        let mut counts = [0usize; 4];
        let candidates = [b',', b';', b'\t', b'|'];
        for b in line {
            if *b == b'"' {
                quoted = !quoted;
            } else if !quoted && let Some(i) = candidates.iter().position(|c| c == b) {
                counts[i] += 1;
            }
        }
        let best = (0..4).max_by_key(|i| (counts[*i], 4 - i)).unwrap_or(0);
        Some(candidates[best])
    };
    let stream: Box<dyn Read> = Box::new(Cursor::new(head).chain(input));
    let stream: Box<dyn Read> = if utf8 { stream } else { Box::new(Cp1252 { inner: stream, pending: Vec::new() }) };
    let stream: Box<dyn BufRead> = Box::new(BufReader::with_capacity(256 * 1024, stream));
    Ok(match delimiter {
        Some(d) => Opened::Csv(stream, d),
        None => Opened::JsonLines(stream),
    })
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn read_all(bytes: Vec<u8>) -> Result<u64> {
        let columns = Columns::new(&["name", "email", "phone"], &[("full_name", "name")], &["name", "email"]);
        let mut report = Report::default();
        let mapping = HashMap::from([("Nom".to_string(), "name".to_string())]);
        let mut n = 0;
        for (_, row) in rows(Box::new(Cursor::new(bytes)), &columns, &mapping, &mut report)? {
            if let Ok(mut r) = row {
                let _ = (r.take("name"), r.take("email"), r.rest(3).count());
            }
            n += 1;
        }
        Ok(n)
    }

    /// Bytes that look like the start of each format, then anything.
    fn input() -> impl Strategy<Value = Vec<u8>> {
        let head = prop::sample::select(vec![
            &b""[..],
            b"name,email\n",
            b"Nom;email;phone\r\n",
            b"\xef\xbb\xbfname\temail\n",
            b"{\"name\": ",
            b"PK\x03\x04",
            b"\xff\xfe",
            b"name,email\n\"",
        ]);
        (head, prop::collection::vec(any::<u8>(), 0..400)).prop_map(|(h, tail)| [h, &tail[..]].concat())
    }

    proptest! {
        #[test]
        fn any_bytes_read_as_rows_or_fail_cleanly(bytes in input()) {
            match read_all(bytes) {
                Ok(_) => {}
                Err(e) => prop_assert!(matches!(e.kind(), ErrorKind::Invalid), "{}", e.message()),
            }
        }

        #[test]
        fn csv_text_with_quotes_and_separators_reads_every_line(cells in prop::collection::vec("[^\\x00]{0,12}", 2..40)) {
            let mut text = String::from("name,email\n");
            for pair in cells.chunks(2) {
                let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
                text.push_str(&format!("{},{}\n", q(&pair[0]), q(pair.get(1).map_or("", String::as_str))));
            }
            prop_assert_eq!(read_all(text.into_bytes()).ok(), Some(cells.len().div_ceil(2) as u64));
        }
    }
}
