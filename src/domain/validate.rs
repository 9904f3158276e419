//! Field rules shared by every entry point (CLI, import, a future server). Each returns the
//! cleaned value or an `Invalid` error that names the field and the rule.

use crate::{Error, Result};

/// Free text that people type: a name, a title. Trimmed; no control characters.
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if v.chars().count() > max_chars {
        return Err(Error::invalid(field, format!("must be at most {max_chars} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(v.to_string())
}

/// Longer text that may span lines (notes): trimmed, may be empty, no control characters
/// but newlines and tabs. Windows line endings (CRLF, as many mail clients paste) become LF.
pub fn notes(field: &str, value: &str, max_chars: usize) -> Result<String> {
    let normalised = value.replace("\r\n", "\n");
    let v = normalised.trim();
    if v.chars().count() > max_chars {
        return Err(Error::invalid(field, format!("must be at most {max_chars} characters")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(v.to_string())
}

/// The largest id a record may take: 2^53 − 1, the largest integer JSON readers (jq,
/// JavaScript) hold exactly. A bigger `--id` would make every later id unreadable to them.
pub const MAX_ID: i64 = (1 << 53) - 1;

/// An id given by a person or a file for a new record: 1..=2^53−1.
pub fn record_id(field: &str, id: i64) -> Result<i64> {
    if (1..=MAX_ID).contains(&id) {
        Ok(id)
    } else {
        Err(Error::invalid(field, format!("`{id}` must be between 1 and {MAX_ID} (2^53 - 1)")))
    }
}

/// How much of a typed or imported value an error message quotes.
pub const EXCERPT_CHARS: usize = 60;

/// A value quoted in a message, cut to a readable length (`abc…`, with its size when cut).
pub fn excerpt(value: &str) -> String {
    if value.chars().count() <= EXCERPT_CHARS {
        return value.to_string();
    }
    let head: String = value.chars().take(EXCERPT_CHARS).collect();
    format!("{head}… ({} bytes)", value.len())
}

/// Login names: 2–32 of `a-z 0-9 . _ -`, starting with a letter or digit; stored lower-case.
pub fn username(value: &str) -> Result<String> {
    let v = value.trim().to_lowercase();
    let ok_len = (2..=32).contains(&v.chars().count());
    let ok_chars = v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    let ok_start = v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok_len && ok_chars && ok_start {
        Ok(v)
    } else {
        Err(Error::invalid(
            "username",
            format!("`{value}` must be 2-32 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"),
        ))
    }
}

/// A practical e-mail check: one `@`, a non-empty local part, a dotted domain, no spaces.
/// Stored as typed (trimmed); compared case-insensitively.
pub fn email(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    let bad = || Error::invalid(field, format!("`{value}` must look like name@example.com"));
    if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = v.split_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !domain.contains('@')
        && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(bad());
    }
    Ok(v.to_string())
}

/// Passwords: at least 12 characters, at most 1024, not the username.
pub fn password(value: &str, username: &str) -> Result<()> {
    let n = value.chars().count();
    if n < 12 {
        return Err(Error::invalid("password", "must be at least 12 characters long"));
    }
    if n > 1024 {
        return Err(Error::invalid("password", "must be at most 1024 characters long"));
    }
    if value.trim().eq_ignore_ascii_case(username.trim()) {
        return Err(Error::invalid("password", "must not be the username"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_quotes_and_accents_but_not_control_characters() {
        assert_eq!(text("name", "  '; DROP TABLE users; --  ", 200).ok().as_deref(), Some("'; DROP TABLE users; --"));
        assert_eq!(text("name", "Aliénor Vichum", 200).ok().as_deref(), Some("Aliénor Vichum"));
        assert!(text("name", "a\u{0}b", 200).is_err());
        assert!(text("name", "   ", 200).is_err());
        assert!(text("name", &"x".repeat(201), 200).is_err());
    }

    #[test]
    fn notes_keep_lines_but_not_other_control_characters() {
        assert_eq!(notes("notes", " line 1\nline 2\t! ", 100).ok().as_deref(), Some("line 1\nline 2\t!"));
        assert_eq!(notes("notes", "", 100).ok().as_deref(), Some(""));
        assert!(notes("notes", "bell\u{7}", 100).is_err());
        assert_eq!(notes("body", "Bonjour,\r\n\r\nMerci.\r\n", 100).ok().as_deref(), Some("Bonjour,\n\nMerci."));
        assert!(notes("body", "a lone\rcarriage return", 100).is_err());
        assert!(notes("notes", &"x".repeat(101), 100).is_err());
    }

    #[test]
    fn ids_stay_within_what_json_readers_hold() {
        assert_eq!(record_id("id", 1).ok(), Some(1));
        assert_eq!(record_id("id", MAX_ID).ok(), Some(MAX_ID));
        for bad in [0, -1, MAX_ID + 1, i64::MAX] {
            assert!(record_id("id", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn excerpts_cut_long_values() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(10_000);
        let cut = excerpt(&long);
        assert!(cut.chars().count() < 100 && cut.ends_with("(20000 bytes)"), "{cut}");
    }

    #[test]
    fn usernames() {
        assert_eq!(username("Kate.H").ok().as_deref(), Some("kate.h"));
        for bad in ["k", "-kate", "kate hastroff", "kâte", &"k".repeat(33)] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for good in ["kevin@startup.io", "john.ouick@gmail.com", "jacky@loubouzin.grd", "a+b@x.fr"] {
            assert!(email("email", good).is_ok(), "{good}");
        }
        for bad in ["kevin", "kevin@", "@startup.io", "kevin@startup", "a b@c.de", "a@b@c.de", "a@.com", "a@b..com"] {
            let e = email("email", bad).expect_err(bad);
            assert!(e.message().starts_with("invalid email"), "{}", e.message());
        }
    }

    #[test]
    fn passwords() {
        assert!(password("correct horse battery", "kate").is_ok());
        assert!(password("short", "kate").is_err());
        assert!(password("kate.hastroff", "kate.hastroff").is_err());
    }
}
