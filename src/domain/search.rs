//! What `client list --search TEXT` finds: a client whose name, e-mail, phone (as typed or as
//! digits) or company name contains the text, ignoring case and accents. The search index only
//! proposes candidates (clients sharing the text's trigrams); this is the rule each one is held
//! to, and the one a walk in listing order applies to every row it reads.

use unicode_normalization::UnicodeNormalization;

/// A search text, folded once.
#[derive(Debug, Clone)]
pub struct Needle {
    text: String,
    folded: String,
    /// The digits of a text that reads as a phone number ("06 12", "+33-6"), else `None`.
    digits: Option<String>,
}

/// Lower case without accents: what the index's `trigram remove_diacritics 1` compares.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.nfd().filter(|c| !is_mark(*c)).flat_map(char::to_lowercase).collect()
}

fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x300..=0x36F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// The fields a search looks at, as stored.
pub struct Haystack<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub company: Option<&'a str>,
}

impl Needle {
    /// `None` for a blank text (no search).
    pub fn new(text: &str) -> Option<Needle> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let phone_like = !digits.is_empty() && text.chars().all(|c| c.is_ascii_digit() || " +-.()/".contains(c));
        Some(Needle { text: text.to_string(), folded: fold(text), digits: phone_like.then_some(digits) })
    }

    pub fn matches(&self, h: &Haystack<'_>) -> bool {
        let has = |field: &str| contains_folded(field, &self.folded);
        has(h.name)
            || has(h.email)
            || h.company.is_some_and(has)
            || h.phone.is_some_and(|p| {
                has(p)
                    || self
                        .digits
                        .as_deref()
                        .is_some_and(|d| p.chars().filter(char::is_ascii_digit).collect::<String>().contains(d))
            })
    }

    /// Whether a company name matches (its clients all do).
    pub fn matches_company(&self, name: &str) -> bool {
        contains_folded(name, &self.folded)
    }

    /// The FTS5 query for the candidates: every trigram of the text must be in the client's
    /// indexed text (name, e-mail, phone digits); a phone-like text also tries its digits.
    /// `None` when the text is shorter than a trigram.
    pub fn index_query(&self) -> Option<String> {
        let all = |s: &str| -> Option<String> {
            let chars: Vec<char> = s.chars().collect();
            if chars.len() < 3 {
                return None;
            }
            let mut grams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
            grams.sort();
            grams.dedup();
            Some(grams.iter().map(|g| format!("\"{}\"", g.replace('"', "\"\""))).collect::<Vec<_>>().join(" AND "))
        };
        let text = all(&self.text);
        let digits = self.digits.as_deref().filter(|d| *d != self.text).and_then(all);
        match (text, digits) {
            (Some(t), Some(d)) => Some(format!("({t}) OR ({d})")),
            (t, d) => t.or(d),
        }
    }
}

fn contains_folded(field: &str, folded_needle: &str) -> bool {
    if field.is_ascii() && folded_needle.is_ascii() {
        let (hay, needle) = (field.as_bytes(), folded_needle.as_bytes());
        return needle.len() <= hay.len()
            && hay.windows(needle.len()).any(|w| w.iter().zip(needle).all(|(a, b)| a.to_ascii_lowercase() == *b));
    }
    fold(field).contains(folded_needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hay<'a>(name: &'a str, email: &'a str, phone: Option<&'a str>, company: Option<&'a str>) -> Haystack<'a> {
        Haystack { name, email, phone, company }
    }

    #[test]
    fn a_search_ignores_case_and_accents_in_every_field() {
        let kevin = hay("Aliénor Dupré", "A.Dupre@Exemple.FR", Some("+33 6 12 34 56 78"), Some("Crêperie Œuf"));
        let cases: &[(&str, bool)] = &[
            ("alienor", true),
            ("ALIÉNOR", true),
            ("dupré", true),
            ("nor du", true),
            ("exemple.fr", true),
            ("a.dupre@", true),
            ("creperie", true),
            ("œuf", true),
            ("6 12 34", true),
            ("0612", false),
            ("612345", true),
            ("+33-6-12", true),
            ("dupont", false),
            ("é", true),
            ("z", false),
        ];
        for (q, expected) in cases {
            assert_eq!(Needle::new(q).expect("a needle").matches(&kevin), *expected, "{q}");
        }
        assert!(Needle::new("   ").is_none());
    }

    #[test]
    fn the_index_query_asks_for_every_trigram_and_quotes_them() {
        let query = |text: &str| Needle::new(text).expect("a needle").index_query();
        assert_eq!(query("ab"), None);
        assert_eq!(query("casey").expect("a query"), "\"ase\" AND \"cas\" AND \"sey\"");
        assert_eq!(query("a\"bc").expect("a query"), "\"\"\"bc\" AND \"a\"\"b\"");
        assert_eq!(
            query("6 12").expect("a query"),
            "(\" 12\" AND \"6 1\") OR (\"612\")",
            "a phone as typed is indexed through its digits"
        );
        assert_eq!(query("612").expect("a query"), "\"612\"");
    }
}
