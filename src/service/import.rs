//! Batch import and export of clients.
//!
//! A file is CSV (delimiter sniffed among `,` `;` tab `|`; UTF-8 with or without BOM, or
//! Windows-1252 as French Excel writes it) or JSON lines. Columns are named like the create
//! flags (`name,email,phone,company,stage,first_contact,last_contact,sales_contact`), or mapped
//! from other headers. A run is one transaction: every row goes in, or none does; rejected rows
//! are reported with their line, field and reason. Rows are streamed: memory does not grow
//! with the file. Re-running the same file changes nothing.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Read};

use chrono::Utc;
use serde::Serialize;

use super::authz::Session;
use super::client::{self, ClientInput, CompanyRef};
use crate::db;
use crate::domain::crm::Stage;
use crate::domain::{Permission, time, validate};
use crate::{Error, ErrorKind, Result};

/// What to do with a row whose e-mail is already a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDuplicate {
    /// Leave the existing client alone.
    Skip,
    /// Update the existing client with the row's non-empty values.
    Update,
    /// Reject the row.
    Error,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub dry_run: bool,
    pub on_duplicate: OnDuplicate,
    /// Header in the file (any case) → column name.
    pub mapping: HashMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub line: u64,
    pub field: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
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
    pub dry_run: bool,
    pub written: bool,
    pub ignored_columns: Vec<String>,
    /// The first 1000 rejected rows.
    pub rejections: Vec<Rejected>,
}

const COLUMNS: &[&str] =
    &["name", "email", "phone", "company", "stage", "first_contact", "last_contact", "sales_contact"];
const MAX_REPORTED: usize = 1000;

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

/// Sniffs the head of the stream: encoding, format and delimiter. Returns a UTF-8 stream.
fn open(mut input: Box<dyn Read>, report: &mut Report) -> Result<(Box<dyn BufRead>, Option<u8>)> {
    let mut head = Vec::with_capacity(64 * 1024);
    input.by_ref().take(64 * 1024).read_to_end(&mut head).map_err(|e| Error::invalid("file", e))?;
    if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        return Err(Error::invalid("file", "UTF-16 is not supported; save it as UTF-8 (CSV UTF-8) or Windows-1252"));
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
    Ok((Box::new(BufReader::with_capacity(256 * 1024, stream)), delimiter))
}

/// The column a header names, through the mapping, the canonical names and a few aliases.
fn column_of(header: &str, mapping: &HashMap<String, String>) -> Option<&'static str> {
    let h = header.trim().trim_start_matches('\u{feff}');
    let mapped = mapping.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(h)).map(|(_, v)| v.as_str()).unwrap_or(h);
    let key = mapped.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    let key = match key.as_str() {
        "full_name" => "name",
        "first_contact_at" => "first_contact",
        "last_contact_at" => "last_contact",
        k => k,
    };
    COLUMNS.iter().find(|c| **c == key).copied()
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
    for (header, column) in &m.columns {
        if !COLUMNS.contains(&column.as_str()) {
            return Err(Error::invalid(
                "map",
                format!("`{header}` maps to `{column}`, not one of: {}", COLUMNS.join(", ")),
            ));
        }
    }
    Ok(m.columns)
}

type Row = (u64, Result<HashMap<&'static str, String>>);

/// Streams rows as (line number, column → value); also returns the CSV headers that map to
/// no column (JSON keys that map to none are simply not read).
fn rows<'a>(
    stream: Box<dyn BufRead + 'a>,
    delimiter: Option<u8>,
    opts: &Options,
) -> Result<(Box<dyn Iterator<Item = Row> + 'a>, Vec<String>)> {
    let mapping = opts.mapping.clone();
    match delimiter {
        None => {
            let lines = stream.lines().enumerate().filter_map(move |(i, line)| {
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
                let mut row = HashMap::new();
                for (k, v) in parsed {
                    let Some(col) = column_of(&k, &mapping) else { continue };
                    let text = match v {
                        serde_json::Value::Null => continue,
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    row.insert(col, text);
                }
                Some((n, Ok(row)))
            });
            Ok((Box::new(lines), Vec::new()))
        }
        Some(d) => {
            let mut reader =
                csv::ReaderBuilder::new().delimiter(d).flexible(true).has_headers(true).from_reader(stream);
            let headers = reader.byte_headers().map_err(|e| Error::invalid("header", e))?.clone();
            let mut ignored = Vec::new();
            let columns: Vec<Option<&'static str>> = headers
                .iter()
                .map(|h| String::from_utf8_lossy(h).into_owned())
                .map(|h| {
                    let c = column_of(&h, &mapping);
                    if c.is_none() && !h.trim().is_empty() {
                        ignored.push(h.trim().to_string());
                    }
                    c
                })
                .collect();
            for needed in ["name", "email"] {
                if !columns.contains(&Some(needed)) {
                    return Err(Error::invalid(
                        "header",
                        format!(
                            "no `{needed}` column (headers: {}); name it so or map it with --map",
                            String::from_utf8_lossy(headers.as_slice())
                        ),
                    ));
                }
            }
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
                let mut row = HashMap::new();
                for (value, col) in rec.iter().zip(&columns) {
                    let Some(col) = col else { continue };
                    match std::str::from_utf8(value) {
                        Ok(v) => {
                            row.insert(*col, v.to_string());
                        }
                        Err(_) => return (line, Err(Error::invalid(col, "is not valid UTF-8"))),
                    }
                }
                (line, Ok(row))
            });
            Ok((Box::new(records), ignored))
        }
    }
}

fn input_of(row: &mut HashMap<&'static str, String>) -> ClientInput {
    let mut take = |k: &str| row.remove(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    ClientInput {
        name: take("name"),
        email: take("email"),
        phone: take("phone"),
        company: take("company"),
        sales_contact: take("sales_contact"),
        stage: take("stage"),
        first_contact: take("first_contact"),
        last_contact: take("last_contact"),
    }
}

/// Imports clients from a stream. Needs `import:run` (PERMISSIONS.md: sales import their own
/// clients, marketing imports clients). New clients get the importer as sales contact when
/// the importer may create clients; updates need `client:update:any`, or
/// `client:update:own` for one's own clients.
pub fn import_clients(session: &Session, input: Box<dyn Read>, opts: &Options) -> Result<Report> {
    let grant = session.require(Permission::ImportRun)?;
    let mut report = Report { dry_run: opts.dry_run, ..Default::default() };
    let (stream, delimiter) = open(input, &mut report)?;
    let now = Utc::now();
    let stamp = time::format_utc(now);
    let actor = session.actor().id;
    let owner = session.can(Permission::ClientCreate).then_some(actor);
    let may_assign = session.can(Permission::ClientUpdateAny);
    let companies_before = db::company::count(session.db())?;
    let (rows, ignored_columns) = rows(stream, delimiter, opts)?;
    report.ignored_columns = ignored_columns;
    let mut rolled_back = false;
    let outcome = grant.write(|tx| {
        let first_new = db::client::begin_bulk(tx)?;
        let mut company_ids: HashMap<String, i64> = HashMap::new();
        // E-mails already met in this file, as 64-bit hashes (8 bytes a row, not the address).
        let mut seen: HashMap<u64, u64> = HashMap::new();
        for (line, row) in rows {
            report.rows_read += 1;
            let result = row.and_then(|mut row| {
                let input = input_of(&mut row);
                if let Some(email) = &input.email {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    email.trim().to_lowercase().hash(&mut h);
                    if let Some(first) = seen.insert(h.finish(), line) {
                        return match opts.on_duplicate {
                            OnDuplicate::Skip => Ok(Applied::Skipped),
                            _ => Err(Error::invalid(
                                "email",
                                format!("`{}` already appears on line {first} of this file", email.trim()),
                            )),
                        };
                    }
                }
                apply_row(session, tx, input, opts, may_assign, owner, &stamp, now, &mut company_ids)
            });
            match result {
                Ok(Applied::Created) => report.created += 1,
                Ok(Applied::Updated) => report.updated += 1,
                Ok(Applied::Unchanged) => report.unchanged += 1,
                Ok(Applied::Skipped) => report.skipped += 1,
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
                    report.rejected += 1;
                    if report.rejections.len() < MAX_REPORTED {
                        report.rejections.push(Rejected {
                            line,
                            field: e.field().map(String::from),
                            reason: e.message().to_string(),
                        });
                    }
                }
                Err(e) => return Err(e),
            }
        }
        report.companies_created = db::company::count(tx)?.saturating_sub(companies_before);
        db::client::end_bulk(tx, first_new)?;
        if report.rejected > 0 || opts.dry_run {
            // Roll the whole run back: nothing of it is written.
            rolled_back = true;
            return Err(Error::new(ErrorKind::Conflict, "import rolled back"));
        }
        grant.audit(
            tx,
            "client.import",
            "client",
            None,
            None,
            Some(&serde_json::json!({
                "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
                "skipped": report.skipped, "companies_created": report.companies_created,
            })),
        )?;
        Ok(())
    });
    match outcome {
        Ok(()) => report.written = true,
        Err(_) if rolled_back => {}
        Err(e) => return Err(e),
    }
    Ok(report)
}

enum Applied {
    Created,
    Updated,
    Unchanged,
    Skipped,
}

#[allow(clippy::too_many_arguments)]
fn apply_row(
    session: &Session,
    tx: &db::Tx,
    mut input: ClientInput,
    opts: &Options,
    may_assign: bool,
    owner: Option<i64>,
    stamp: &str,
    now: chrono::DateTime<Utc>,
    companies: &mut HashMap<String, i64>,
) -> Result<Applied> {
    let name = input.name.clone().ok_or_else(|| Error::invalid("name", "is empty"))?;
    let email = validate::email("email", input.email.as_deref().ok_or_else(|| Error::invalid("email", "is empty"))?)?;
    let actor = session.actor().id;
    if let Some(u) = input.sales_contact.as_deref()
        && !may_assign
    {
        // Naming oneself (a re-imported export) is fine; assigning others needs client:update:any.
        if u.trim().eq_ignore_ascii_case(&session.actor().username) {
            input.sales_contact = None;
        } else {
            return Err(Error::invalid(
                "sales_contact",
                "only users with client:update:any assign clients; leave it empty",
            ));
        }
    }
    let stage = input.stage.as_deref().map(str::parse::<Stage>).transpose()?;
    let company_id = match input.company.take() {
        None => None,
        Some(c) => match companies.get(&c.to_lowercase()) {
            Some(id) => Some(*id),
            None => {
                let id = match client::company_for(session, &c)? {
                    CompanyRef::Existing(id) => id,
                    new @ CompanyRef::New(..) => new.resolve(session, tx, stamp)?,
                };
                companies.insert(c.to_lowercase(), id);
                Some(id)
            }
        },
    };
    let existing = match db::client::id_by_email(tx, &email)? {
        Some(id) => db::client::get(tx, id)?,
        None => None,
    };
    match existing {
        Some(existing) => match opts.on_duplicate {
            OnDuplicate::Skip => Ok(Applied::Skipped),
            OnDuplicate::Error => Err(Error::conflict(format!("`{email}` is already client {}", existing.id))),
            OnDuplicate::Update => {
                let own = existing.sales_contact_id == Some(actor);
                if !(session.can(Permission::ClientUpdateAny) || (own && session.can(Permission::ClientUpdateOwn))) {
                    return Err(Error::new(
                        ErrorKind::Denied,
                        format!("client {} is not yours to update (client:update:any)", existing.id),
                    ));
                }
                let before = db::client::fields_of(tx, existing.id)?;
                let mut after = client::merge(session, before.clone(), &input, now)?;
                if let Some(id) = company_id {
                    after.company_id = Some(id);
                }
                let stage_changes = stage.filter(|s| s.as_str() != existing.stage);
                if after == before && stage_changes.is_none() {
                    return Ok(Applied::Unchanged);
                }
                if after != before {
                    db::client::update(tx, existing.id, &after, stamp)?;
                }
                if let Some(s) = stage_changes {
                    db::client::set_stage(tx, existing.id, &existing.stage, s.as_str(), actor, stamp)?;
                }
                Ok(Applied::Updated)
            }
        },
        None => {
            let base = db::client::Fields {
                full_name: name,
                email: email.clone(),
                phone: None,
                phone_digits: None,
                company_id,
                sales_contact_id: owner,
                first_contact_at: stamp.to_string(),
                last_contact_at: None,
            };
            let fields = client::merge(session, base, &ClientInput { email: Some(email), ..input }, now)?;
            db::client::insert(tx, &fields, stage.unwrap_or(Stage::Lead).as_str(), actor, stamp)?;
            Ok(Applied::Created)
        }
    }
}

/// One client as exported: the import columns, so the file re-imports as is.
#[derive(Debug, Clone, Serialize)]
pub struct ExportRow {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub stage: String,
    pub sales_contact: Option<String>,
    pub first_contact: String,
    pub last_contact: Option<String>,
}

pub const EXPORT_COLUMNS: &[&str] = COLUMNS;

/// Streams every client to `emit` (needs `client:read`).
pub fn export_clients(session: &Session, mut emit: impl FnMut(&ExportRow) -> Result<()>) -> Result<usize> {
    session.require(Permission::ClientRead)?;
    db::client::for_each(session.db(), |c| {
        emit(&ExportRow {
            name: c.full_name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            company: c.company.clone(),
            stage: c.stage.clone(),
            sales_contact: c.sales_contact.clone(),
            first_contact: c.first_contact_at.clone(),
            last_contact: c.last_contact_at.clone(),
        })
    })
}
