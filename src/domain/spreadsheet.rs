//! CSV files meet spreadsheets: a cell that starts with `=`, `+`, `-`, `@`, a tab or a CR is
//! run as a formula by Excel and LibreOffice (OWASP "CSV injection"). Exports prefix such a
//! cell with `'`, which spreadsheets show as text; imports take the prefix off again, so a
//! round trip gives back the exact value.

/// Whether a spreadsheet would read this cell as a formula, or it is already escaped text
/// that would otherwise lose its own leading `'` on re-import.
fn needs_prefix(cell: &str) -> bool {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => true,
        Some('\'') => needs_prefix(&cell[1..]),
        _ => false,
    }
}

/// The cell as an export writes it.
pub fn escape(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_prefix(cell) { format!("'{cell}").into() } else { cell.into() }
}

/// The value an import reads from a cell an export wrote.
pub fn unescape(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_prefix(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_round_trip() {
        for (value, written) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"),
            ("-3.5", "'-3.5"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=x", "''=x"),
            ("''=x", "'''=x"),
            ("'quoted", "'quoted"),
            ("O'Brien", "O'Brien"),
            ("plain", "plain"),
            ("", ""),
        ] {
            assert_eq!(escape(value), written, "{value}");
            assert_eq!(unescape(&escape(value)), value, "{value}");
        }
    }

    #[test]
    fn any_text_round_trips() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/blns.txt");
        let blns = std::fs::read_to_string(path).expect("the Big List of Naughty Strings in ../shared/corpus");
        for line in blns.lines() {
            assert_eq!(unescape(&escape(line)), line);
        }
    }
}
