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

    /// Appends a custom field's JSON path (`$."key"`, see `profile::field_path`) as a literal,
    /// so that the field's expression index can serve the query; any other path is bound.
    pub fn push_json_path(&mut self, path: &str) -> &mut Self {
        let key = path.strip_prefix("$.\"").and_then(|p| p.strip_suffix('"')).unwrap_or("");
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            self.sql.push('\'');
            self.sql.push_str(path);
            self.sql.push('\'');
            self
        } else {
            self.bind("?", path.to_string())
        }
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn params(&self) -> Vec<&dyn ToSql> {
        self.params.iter().map(|p| p.as_ref()).collect()
    }
}
