//! The links of a rendered message: found in `<a href>` attributes and replaced one by one (for
//! click tracking and recipient tokens). The HTML is the engine's serialisation (attributes
//! quoted, `&` escaped), so a small scanner suffices; values are unescaped before the callback
//! sees them and escaped again when written back.

use serde::{Deserialize, Serialize};

/// A short link (`/s/CODE`) and its hits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShortLink {
    pub id: i64,
    pub code: String,
    pub url: String,
    pub campaign_id: Option<i64>,
    pub expires_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    /// Hits by people.
    pub clicks: i64,
    /// Campaign recipients who followed it (each once).
    pub recipients: i64,
    /// Hits by link scanners and mail proxies.
    pub machine_clicks: i64,
}

/// Calls `f` with every `<a href>` URL of `html` (unescaped); a `Some` answer replaces it.
pub fn rewrite(html: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut rest = html;
    while let Some(start) = find_anchor(rest) {
        let (before, tag_and_after) = rest.split_at(start);
        out.push_str(before);
        let end = tag_end(tag_and_after);
        let tag = &tag_and_after[..end];
        out.push_str(&rewrite_tag(tag, &mut f));
        rest = &tag_and_after[end..];
    }
    out.push_str(rest);
    out
}

/// Every `<a href>` URL of `html`, unescaped, in order.
pub fn urls(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    rewrite(html, |u| {
        found.push(u.to_string());
        None
    });
    found
}

/// The byte offset of the next `<a` tag (followed by white space), any case.
fn find_anchor(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(i) = s[from..].find('<').map(|i| i + from) {
        if bytes.get(i + 1).is_some_and(|b| b.eq_ignore_ascii_case(&b'a'))
            && bytes.get(i + 2).is_some_and(|b| b.is_ascii_whitespace())
        {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

/// The length of a tag up to and including its `>` (quotes respected), or the rest.
fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    s.len()
}

fn rewrite_tag(tag: &str, f: &mut impl FnMut(&str) -> Option<String>) -> String {
    let lower = tag.to_ascii_lowercase();
    let mut search = 0;
    while let Some(i) = lower[search..].find("href").map(|i| i + search) {
        search = i + 4;
        // An attribute name: preceded by white space, followed by `=`.
        if !lower.as_bytes()[i - 1].is_ascii_whitespace() {
            continue;
        }
        let after = lower[i + 4..].trim_start();
        if !after.starts_with('=') {
            continue;
        }
        let value_at = tag.len() - after[1..].trim_start().len();
        let (open, close) = match tag[value_at..].chars().next() {
            Some(q @ ('"' | '\'')) => (value_at + 1, tag[value_at + 1..].find(q).map(|e| value_at + 1 + e)),
            _ => (value_at, tag[value_at..].find(|c: char| c.is_ascii_whitespace() || c == '>').map(|e| value_at + e)),
        };
        let Some(close) = close else { return tag.to_string() };
        let url = unescape(&tag[open..close]);
        return match f(&url) {
            Some(new) => format!("{}{}{}", &tag[..open], escape(&new), &tag[close..]),
            None => tag.to_string(),
        };
    }
    tag.to_string()
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('\'', "&#39;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `url` with `key=value` added to its query (before any `#fragment`).
pub fn with_param(url: &str, key: &str, value: &str) -> String {
    let (base, fragment) = match url.find('#') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{key}={value}{fragment}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_and_replaced_and_nothing_else_moves() {
        // (html, expected urls, html after replacing each url by "X<url>")
        let cases: &[(&str, &[&str], &str)] = &[
            ("<p>no link</p>", &[], "<p>no link</p>"),
            (
                r#"<a href="https://a.example/?x=1&amp;y=2">A</a>"#,
                &["https://a.example/?x=1&y=2"],
                r#"<a href="Xhttps://a.example/?x=1&amp;y=2">A</a>"#,
            ),
            (
                r#"<A class="b" HREF='https://b.example/é'>B</A> <abbr href="no">"#,
                &["https://b.example/é"],
                r#"<A class="b" HREF='Xhttps://b.example/é'>B</A> <abbr href="no">"#,
            ),
            (
                r#"<a data-x=">" title="hreflang" href=https://c.example/>C</a>"#,
                &["https://c.example/"],
                r#"<a data-x=">" title="hreflang" href=Xhttps://c.example/>C</a>"#,
            ),
            (
                r##"<a name="top">T</a><a href="#top">up</a>"##,
                &["#top"],
                r##"<a name="top">T</a><a href="X#top">up</a>"##,
            ),
            (
                r#"<a href="https://q.example/?q=&quot;x&quot;">"#,
                &[r#"https://q.example/?q="x""#],
                r#"<a href="Xhttps://q.example/?q=&quot;x&quot;">"#,
            ),
            ("<a href=\"unterminated", &[], "<a href=\"unterminated"),
        ];
        for (html, expected, rewritten) in cases {
            assert_eq!(&urls(html), expected, "{html}");
            assert_eq!(&rewrite(html, |u| Some(format!("X{u}"))), rewritten, "{html}");
        }
    }

    #[test]
    fn params_go_before_the_fragment() {
        assert_eq!(with_param("https://x/p/a", "r", "1.2"), "https://x/p/a?r=1.2");
        assert_eq!(with_param("https://x/p/a?b=c#f", "r", "t"), "https://x/p/a?b=c&r=t#f");
    }
}
