//! The one place that writes to stdout. Commands hand over serde values; this module renders
//! them as a table (people), JSON or CSV (scripts). Status messages, warnings and errors go to
//! stderr, so stdout carries data only.

use std::io::{self, IsTerminal, Write};

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use serde_json::Value;

use crate::Result;
use crate::domain::{spreadsheet, time};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

pub struct Output {
    pub format: Format,
    quiet: bool,
    color: bool,
}

/// For records printed whole in JSON and without a table form.
pub const NO_COLUMNS: &[&str] = &[];

/// A colour for a cell, chosen by column and value.
pub type Style = fn(&str, &Value) -> Option<comfy_table::Color>;

impl Output {
    pub fn new(format: Format, quiet: bool, no_color: bool) -> Self {
        Output { format, quiet, color: !no_color && io::stdout().is_terminal() }
    }

    /// A full-sentence status message on stderr (silenced by `--quiet`).
    pub fn status(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", message.as_ref());
        }
    }

    /// A progress bar on stderr for a long batch, when stderr is a terminal and not `--quiet`;
    /// nothing otherwise.
    pub fn progress(&self, what: &'static str) -> Option<indicatif::ProgressBar> {
        if self.quiet || !io::stderr().is_terminal() {
            return None;
        }
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} {msg} ({per_sec}, {elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(what);
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(bar)
    }

    /// A summary that must reach cron even with `--quiet` (the SLA check's at-risk line).
    pub fn notice(&self, message: impl AsRef<str>) {
        eprintln!("{}", message.as_ref());
    }

    /// A warning on stderr; shown even with `--quiet`.
    pub fn warn(&self, message: impl AsRef<str>) {
        eprintln!("warning: {}", message.as_ref());
    }

    /// One record: a JSON object, a CSV header and row, or a two-column table.
    pub fn record<T: Serialize>(&self, value: &T, columns: &[impl AsRef<str>]) -> Result<()> {
        self.record_with(value, columns, None)
    }

    /// A record with its own human form (a card) for table output.
    pub fn record_with<T: Serialize>(
        &self,
        value: &T,
        columns: &[impl AsRef<str>],
        card: Option<String>,
    ) -> Result<()> {
        let columns: Vec<&str> = columns.iter().map(AsRef::as_ref).collect();
        let columns = columns.as_slice();
        if self.format == Format::Json {
            return write_json(value);
        }
        let v = serde_json::to_value(value)?;
        match self.format {
            Format::Json => write_json(&v),
            Format::Csv => write_csv(columns, std::slice::from_ref(&v)),
            Format::Table => {
                let text = card.unwrap_or_else(|| {
                    let mut t = new_table();
                    for c in columns {
                        t.add_row(vec![c.replace('_', " "), cell(v.get(*c), ", ", true)]);
                    }
                    t.to_string()
                });
                write_text(&text)
            }
        }
    }

    /// A listing: a JSON array (`[]` when empty), CSV with a header row, or a table. An empty
    /// table listing prints nothing on stdout and says so on stderr.
    pub fn list<T: Serialize>(&self, items: &[T], columns: &[&str], empty: &str) -> Result<()> {
        self.list_styled(items, columns, empty, None)
    }

    /// A listing whose table cells may be coloured (never with `NO_COLOR` or when piped).
    pub fn list_styled<T: Serialize>(
        &self,
        items: &[T],
        columns: &[&str],
        empty: &str,
        style: Option<Style>,
    ) -> Result<()> {
        let values = items.iter().map(serde_json::to_value).collect::<serde_json::Result<Vec<_>>>()?;
        if cfg!(debug_assertions)
            && let Some(Value::Object(first)) = values.first()
        {
            for c in columns {
                assert!(first.contains_key(*c), "column `{c}` is not a key of the listed records");
            }
        }
        match self.format {
            Format::Json => write_json(&Value::Array(values)),
            Format::Csv => write_csv(columns, &values),
            Format::Table if values.is_empty() => {
                self.status(empty);
                Ok(())
            }
            Format::Table => {
                let mut t = new_table();
                t.set_header(columns.iter().map(|c| c.replace('_', " ")).collect::<Vec<_>>());
                for v in &values {
                    t.add_row(
                        columns
                            .iter()
                            .map(|c| {
                                let text = cell(v.get(*c), ", ", true);
                                match (self.color, style, v.get(*c)) {
                                    (true, Some(f), Some(value)) => match f(c, value) {
                                        Some(color) => comfy_table::Cell::new(text).fg(color),
                                        None => comfy_table::Cell::new(text),
                                    },
                                    _ => comfy_table::Cell::new(text),
                                }
                            })
                            .collect::<Vec<_>>(),
                    );
                }
                write_text(&t.to_string())
            }
        }
    }
}

/// A table in the house style (boxes on a terminal, Markdown when piped).
pub fn new_table() -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    if !io::stdout().is_terminal() {
        t.load_preset(presets::ASCII_MARKDOWN).set_content_arrangement(ContentArrangement::Disabled);
    }
    t
}

/// Renders one value as cell text. Instants are shown in the local zone for people and kept
/// as RFC 3339 for CSV.
fn cell(v: Option<&Value>, sep: &str, human: bool) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => {
            if human && looks_like_instant(s) {
                time::parse_stored(s).map(time::display_local).unwrap_or_else(|_| s.clone())
            } else {
                s.clone()
            }
        }
        Some(Value::Bool(b)) => match (human, b) {
            (true, true) => "yes".into(),
            (true, false) => "no".into(),
            (false, b) => b.to_string(),
        },
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(items)) => items.iter().map(|i| cell(Some(i), sep, human)).collect::<Vec<_>>().join(sep),
        Some(o @ Value::Object(_)) => o.to_string(),
    }
}

/// A CSV cell: machine forms (RFC 3339 instants), and safe to open in a spreadsheet (a value
/// that would run as a formula gets a leading `'`, which imports take off again).
fn csv_cell(v: Option<&Value>) -> String {
    let text = cell(v, ";", false);
    match spreadsheet::escape(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
}

/// A stored instant as a person reads it, in their time zone.
pub fn when(stored: &str) -> String {
    time::parse_stored(stored).map(time::display_local).unwrap_or_else(|_| stored.to_string())
}

fn looks_like_instant(s: &str) -> bool {
    s.len() >= 20 && s.ends_with('Z') && s.as_bytes().get(10) == Some(&b'T') && s.as_bytes().get(4) == Some(&b'-')
}

fn write_json<T: Serialize + ?Sized>(v: &T) -> Result<()> {
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

fn write_csv(columns: &[&str], rows: &[Value]) -> Result<()> {
    let mut w = csv::Writer::from_writer(io::BufWriter::with_capacity(64 * 1024, io::stdout().lock()));
    let csv_err = |e: csv::Error| -> crate::Error {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => io.into(),
            other => crate::Error::internal(format!("CSV output failed: {other:?}")),
        }
    };
    w.write_record(columns).map_err(csv_err)?;
    for r in rows {
        w.write_record(columns.iter().map(|c| csv_cell(r.get(*c)))).map_err(csv_err)?;
    }
    w.flush()?;
    Ok(())
}

fn write_text(text: &str) -> Result<()> {
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Prints raw text on stdout (shell completions).
pub fn raw(bytes: &[u8]) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

/// Streams records to stdout as CSV (with a header) or JSON lines, one at a time.
pub struct Exporter {
    csv: Option<csv::Writer<io::BufWriter<io::StdoutLock<'static>>>>,
    json: Option<io::BufWriter<io::StdoutLock<'static>>>,
    columns: Vec<String>,
}

impl Exporter {
    pub fn new(format: Format, columns: &[impl AsRef<str>]) -> Result<Self> {
        let columns: Vec<String> = columns.iter().map(|c| c.as_ref().to_string()).collect();
        let out = io::BufWriter::with_capacity(256 * 1024, io::stdout().lock());
        if format == Format::Json {
            return Ok(Exporter { csv: None, json: Some(out), columns });
        }
        let mut w = csv::Writer::from_writer(out);
        w.write_record(&columns).map_err(csv_error)?;
        Ok(Exporter { csv: Some(w), json: None, columns })
    }

    pub fn write<T: Serialize>(&mut self, record: &T) -> Result<()> {
        if let Some(out) = self.json.as_mut() {
            serde_json::to_writer(&mut *out, record)?;
            out.write_all(b"\n")?;
            return Ok(());
        }
        let v = serde_json::to_value(record)?;
        if let Some(w) = self.csv.as_mut() {
            w.write_record(self.columns.iter().map(|c| csv_cell(v.get(c.as_str())))).map_err(csv_error)?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        if let Some(mut out) = self.json {
            out.flush()?;
        }
        if let Some(mut w) = self.csv {
            w.flush()?;
        }
        Ok(())
    }
}

fn csv_error(e: csv::Error) -> crate::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io.into(),
        other => crate::Error::internal(format!("CSV output failed: {other:?}")),
    }
}
