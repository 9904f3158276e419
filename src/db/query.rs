//! A tiny builder for listings: fixed SQL fragments joined with bound values, never a value
//! spliced into the text. Fragments are `&'static str`, so only literals can go in.

use rusqlite::types::ToSql;

#[derive(Default)]
pub struct Query {
    sql: String,
    params: Vec<Box<dyn ToSql>>,
}

impl Query {
    pub fn new(base: &'static str) -> Self {
        Query { sql: base.to_string(), params: Vec::new() }
    }

    /// Appends a fixed fragment.
    pub fn push(&mut self, fragment: &'static str) -> &mut Self {
        self.sql.push_str(fragment);
        self
    }

    /// Appends a fragment with one `?` placeholder and its value.
    pub fn bind(&mut self, fragment: &'static str, value: impl ToSql + 'static) -> &mut Self {
        self.sql.push_str(fragment);
        self.params.push(Box::new(value));
        self
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn params(&self) -> Vec<&dyn ToSql> {
        self.params.iter().map(|p| p.as_ref()).collect()
    }
}

/// Turns a search text into an FTS5 trigram query (a quoted phrase, or two alternatives when
/// the text also reads as a phone number). `None` when too short for trigrams.
pub fn fts_phrase(text: &str) -> Option<String> {
    let t = text.trim();
    if t.chars().count() < 3 {
        return None;
    }
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let phone_like = digits.len() >= 3 && t.chars().all(|c| c.is_ascii_digit() || " +-.()/".contains(c));
    Some(if phone_like && digits != t { format!("{} OR {}", quote(t), quote(&digits)) } else { quote(t) })
}
