//! `.xlsx` workbooks: the first sheet, as rows of text cells. A workbook is a zip archive and
//! is read whole (up to [`MAX_BYTES`]); spreadsheets of events are small.

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};

use crate::{Error, Result};

pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Reads the workbook whose first bytes are `head` and the rest `input`.
pub fn read(mut head: Vec<u8>, input: Box<dyn Read>) -> Result<Vec<Vec<String>>> {
    input.take(MAX_BYTES + 1).read_to_end(&mut head).map_err(|e| Error::invalid("file", e))?;
    if head.len() as u64 > MAX_BYTES {
        return Err(Error::invalid("file", "an .xlsx file must be under 64 MiB; save the sheet as CSV"));
    }
    let mut book = Xlsx::new(Cursor::new(head))
        .map_err(|e| Error::invalid("file", format!("not a readable .xlsx workbook: {e}")))?;
    let range = match book.worksheet_range_at(0) {
        Some(r) => r.map_err(|e| Error::invalid("file", format!("the first sheet is unreadable: {e}")))?,
        None => return Err(Error::invalid("file", "the workbook has no sheet")),
    };
    Ok(range.rows().map(|row| row.iter().map(cell).collect()).collect())
}

/// A cell as the text a person would type: dates as `YYYY-MM-DD HH:MM`, whole numbers
/// without `.0`.
fn cell(d: &Data) -> String {
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(t) => {
            let (y, mo, da, h, mi, s, _) = t.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{da:02}")
            } else {
                format!("{y:04}-{mo:02}-{da:02} {h:02}:{mi:02}")
            }
        }
    }
}
