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
        match self.format {
            Format::Json => write_json(value),
            Format::Csv => {
                let mut w = self.lister(columns, "", None);
                w.push(value)?;
                w.finish()
            }
            Format::Table => {
                let v = serde_json::to_value(value)?;
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
        let mut w = self.lister(columns, empty, style);
        for item in items {
            w.push(item)?;
        }
        w.finish()
    }

    /// A listing written as its records arrive: JSON and CSV rows go out as they are pushed
    /// (memory stays flat however many there are); a table needs every row for its widths.
    pub fn lister<'a>(&'a self, columns: &'a [&'a str], empty: &'a str, style: Option<Style>) -> Lister<'a> {
        Lister { out: self, columns, empty, style, sink: None, rows: Vec::new(), count: 0 }
    }
}

/// See [`Output::lister`].
pub struct Lister<'a> {
    out: &'a Output,
    columns: &'a [&'a str],
    empty: &'a str,
    style: Option<Style>,
    sink: Option<Sink>,
    /// Table rows: each cell's text and the value it came from (for its colour).
    rows: Vec<Vec<(String, Option<comfy_table::Color>)>>,
    count: usize,
}

enum Sink {
    /// The output, and one record's text (written in memory, then in one piece).
    Json(io::BufWriter<io::StdoutLock<'static>>, Indented<Vec<u8>>),
    Csv(Box<csv::Writer<io::BufWriter<io::StdoutLock<'static>>>>),
}

impl Lister<'_> {
    pub fn push<T: Serialize>(&mut self, item: &T) -> Result<()> {
        self.count += 1;
        match self.out.format {
            Format::Json => {
                let Sink::Json(out, buf) =
                    self.sink.get_or_insert_with(|| Sink::Json(stdout_buffer(), Indented(Vec::new())))
                else {
                    unreachable!("a JSON listing has a JSON sink")
                };
                buf.0.clear();
                buf.0.extend_from_slice(if self.count == 1 { b"[\n  " } else { b",\n  " });
                serde_json::to_writer_pretty(&mut *buf, item)?;
                out.write_all(&buf.0)?;
            }
            Format::Csv => {
                let v = self.value(item)?;
                if self.sink.is_none() {
                    let mut w = csv::Writer::from_writer(stdout_buffer());
                    w.write_record(self.columns).map_err(csv_error)?;
                    self.sink = Some(Sink::Csv(Box::new(w)));
                }
                let Some(Sink::Csv(w)) = self.sink.as_mut() else { unreachable!("a CSV listing has a CSV sink") };
                w.write_record(self.columns.iter().map(|c| csv_cell(v.get(*c)))).map_err(csv_error)?;
            }
            Format::Table => {
                let v = self.value(item)?;
                let (color, style) = (self.out.color, self.style);
                self.rows.push(
                    self.columns
                        .iter()
                        .map(|c| {
                            let text = cell(v.get(*c), ", ", true);
                            let fg = match (color, style, v.get(*c)) {
                                (true, Some(f), Some(value)) => f(c, value),
                                _ => None,
                            };
                            (text, fg)
                        })
                        .collect(),
                );
            }
        }
        Ok(())
    }

    fn value<T: Serialize>(&self, item: &T) -> Result<Value> {
        let v = serde_json::to_value(item)?;
        if cfg!(debug_assertions)
            && self.count == 1
            && let Value::Object(first) = &v
        {
            for c in self.columns {
                assert!(first.contains_key(*c), "column `{c}` is not a key of the listed records");
            }
        }
        Ok(v)
    }

    pub fn finish(mut self) -> Result<()> {
        match (self.out.format, self.sink.take()) {
            (Format::Json, Some(Sink::Json(mut out, _))) => {
                out.write_all(b"\n]\n")?;
                out.flush()?;
            }
            (Format::Json, _) => write_text("[]")?,
            (Format::Csv, Some(Sink::Csv(mut w))) => w.flush()?,
            (Format::Csv, _) => {
                let mut w = csv::Writer::from_writer(stdout_buffer());
                w.write_record(self.columns).map_err(csv_error)?;
                w.flush()?;
            }
            (Format::Table, _) if self.rows.is_empty() => self.out.status(self.empty),
            (Format::Table, _) => write_text(&render_table(self.columns, &self.rows))?,
        }
        Ok(())
    }
}

/// A record pretty-printed as serde_json would inside the array: every new line indented
/// one level more. Only the formatter writes newlines (JSON strings escape theirs), each as a
/// write of its own.
struct Indented<W: Write>(W);

impl<W: Write> Write for Indented<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if buf == b"\n" {
            return self.0.write_all(b"\n  ");
        }
        match buf.iter().position(|b| *b == b'\n') {
            None => self.0.write_all(buf),
            Some(at) => {
                self.0.write_all(&buf[..at])?;
                self.0.write_all(b"\n  ")?;
                self.write_all(&buf[at + 1..])
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn stdout_buffer() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// A listing's table. Piped, it is Markdown written directly (what comfy-table makes of it,
/// without its per-cell layout work: a 10,000-row listing is a few milliseconds); on a
/// terminal, or with a cell of several lines or control characters, comfy-table lays it out.
fn render_table(columns: &[&str], rows: &[Vec<(String, Option<comfy_table::Color>)>]) -> String {
    let header: Vec<String> = columns.iter().map(|c| c.replace('_', " ")).collect();
    let plain = |s: &str| !s.chars().any(char::is_control);
    if !io::stdout().is_terminal() && rows.iter().flatten().all(|(text, _)| plain(text)) {
        return markdown_table(&header, rows.iter().map(|r| r.iter().map(|(text, _)| text.as_str())));
    }
    let mut t = new_table();
    t.set_header(header);
    for row in rows {
        t.add_row(row.iter().map(|(text, fg)| match fg {
            Some(color) => comfy_table::Cell::new(text).fg(*color),
            None => comfy_table::Cell::new(text),
        }));
    }
    t.to_string()
}

/// comfy-table's `ASCII_MARKDOWN` preset with layout disabled, byte for byte: each column as
/// wide as its widest cell, one space of padding, a `|---|` line under the header.
fn markdown_table<'r>(header: &[String], rows: impl Iterator<Item = impl Iterator<Item = &'r str>> + Clone) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows.clone() {
        for (w, text) in widths.iter_mut().zip(row) {
            *w = (*w).max(text.width());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        out.push('|');
        for (w, text) in widths.iter().zip(cells) {
            out.push(' ');
            out.push_str(text);
            out.extend(std::iter::repeat_n(' ', w - text.width() + 1));
            out.push('|');
        }
        out.push('\n');
    };
    line(&mut out, &mut header.iter().map(String::as_str));
    out.push('|');
    for w in &widths {
        out.extend(std::iter::repeat_n('-', w + 2));
        out.push('|');
    }
    out.push('\n');
    for mut row in rows {
        line(&mut out, &mut row);
    }
    out.pop();
    out
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
    let mut out = stdout_buffer();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    out.flush()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn comfy(header: &[String], rows: &[Vec<&str>]) -> String {
        let mut t = Table::new();
        t.load_preset(presets::ASCII_MARKDOWN).set_content_arrangement(ContentArrangement::Disabled);
        t.set_header(header.to_vec());
        for r in rows {
            t.add_row(r.clone());
        }
        t.to_string()
    }

    #[test]
    fn a_streamed_json_listing_is_serde_jsons_pretty_array() {
        let items = vec![
            serde_json::json!({"id": 1, "name": "Zoë \"Z\"\nO'Brien", "fields": {"budget": 10, "tags": ["a", "b"]}, "none": null}),
            serde_json::json!({"id": 2, "name": "", "fields": {}, "list": []}),
        ];
        let mut out = Indented(Vec::new());
        for (i, item) in items.iter().enumerate() {
            out.0.extend_from_slice(if i == 0 { b"[\n  " } else { b",\n  " });
            serde_json::to_writer_pretty(&mut out, item).expect("write");
        }
        out.0.extend_from_slice(b"\n]");
        assert_eq!(String::from_utf8(out.0).expect("utf-8"), serde_json::to_string_pretty(&items).expect("pretty"));
    }

    #[test]
    fn the_piped_table_is_comfy_tables_markdown_byte_for_byte() {
        let naughty = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/blns.txt"))
            .unwrap_or_default();
        let mut cases: Vec<Vec<&str>> = vec![
            vec!["1", "Aliénor Dupré", "", "  padded  "],
            vec!["22", "Zoë 🎉 O'Brien", "東京", "x"],
            vec!["", "", "", ""],
        ];
        let lines: Vec<&str> =
            naughty.lines().filter(|l| !l.starts_with('#') && !l.chars().any(char::is_control)).collect();
        for chunk in lines.chunks(4).filter(|c| c.len() == 4) {
            cases.push(chunk.to_vec());
        }
        assert!(cases.len() > 100 || naughty.is_empty(), "the corpus was read");
        let header: Vec<String> = ["id", "full name", "company", "note"].map(String::from).to_vec();
        for rows in [&cases[..1], &cases[..3], &cases[..]] {
            let ours = markdown_table(&header, rows.iter().map(|r| r.iter().copied()));
            assert_eq!(ours, comfy(&header, rows));
        }
        assert_eq!(markdown_table(&header, std::iter::empty::<std::vec::IntoIter<&str>>()), comfy(&header, &[]));
    }
}
