//! The file formats an import reads: CSV (delimiter sniffed; UTF-8 with or without BOM, or
//! Windows-1252 as French Excel saves it), JSON lines, and `.xlsx` workbooks. Each yields rows
//! of the entity's columns, streamed (a workbook is read whole by its library).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Read};

use super::sheet;
use super::{Columns, Record, Report};
use crate::domain::{spreadsheet, validate};
use crate::{Error, Result};

/// An opened input: a workbook read whole, or a text stream.
enum Opened {
    Sheet(Vec<Vec<String>>),
    Csv(Box<dyn BufRead>, u8),
    JsonLines(Box<dyn BufRead>),
}

pub(crate) type Row = (u64, Result<Record>);

/// Opens an input and streams its rows as (line number, record); also returns the headers
/// that name no column (JSON keys that name none are simply not read).
pub(crate) fn rows(
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
    use crate::ErrorKind;

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
