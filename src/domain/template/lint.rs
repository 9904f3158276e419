//! The rules `lint` checks on a rendered body besides variables: an unsubscribe link in a
//! campaign template, `alt` on images, no `http://` links, the size Gmail clips at, a text part.

use super::{Library, MAX_BODY_BYTES, TemplateKind, chain};

/// The problems of a rendered body and its template that lint reports besides variables.
pub fn body_problems(kind: TemplateKind, library: &Library, main: &str, text: Option<&str>, html: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let sources = chain(library, main);
    if kind == TemplateKind::Campaign && !sources.iter().any(|s| s.contains("unsubscribe_url")) {
        problems.push("no unsubscribe link: a campaign template must use {{ unsubscribe_url }}".to_string());
    }
    for tag in tags(html, "img") {
        if !has_attribute(&tag, "alt") {
            problems.push(format!("image without alt text: {}", crate::domain::validate::excerpt(&tag)));
        }
    }
    for url in links(html).into_iter().filter(|u| u.to_ascii_lowercase().starts_with("http://")) {
        problems.push(format!("insecure link `{}`: use https://", crate::domain::validate::excerpt(&url)));
    }
    if html.len() > MAX_BODY_BYTES {
        problems.push(format!("the body is {} KB; Gmail clips messages past 102 KB", html.len() / 1024));
    }
    if text.is_none() {
        problems.push("no text part: give one (--text-file) rather than rely on the derived one".to_string());
    }
    problems
}

/// The opening tags of an element in an HTML text (case ignored), as written.
fn tags(html: &str, name: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&open) {
        let start = from + i;
        let after = lower.as_bytes().get(start + open.len()).copied().unwrap_or(b'>');
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e + 1);
        if after.is_ascii_whitespace() || after == b'>' || after == b'/' {
            out.push(html[start..end].to_string());
        }
        from = end.max(start + 1);
    }
    out
}

fn has_attribute(tag: &str, attr: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    lower.match_indices(attr).any(|(i, _)| {
        lower[..i].ends_with(char::is_whitespace) && lower[i + attr.len()..].trim_start().starts_with('=')
    })
}

/// The targets of `href` and `src` attributes.
pub fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href", "src"] {
        let lower = html.to_ascii_lowercase();
        for (i, _) in lower.match_indices(attr) {
            let rest = html[i + attr.len()..].trim_start();
            let Some(rest) = rest.strip_prefix('=') else { continue };
            let rest = rest.trim_start();
            let value = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
                _ => rest.split(|c: char| c.is_whitespace() || c == '>').next().unwrap_or(""),
            };
            out.push(value.to_string());
        }
    }
    out
}
