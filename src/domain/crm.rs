//! The CRM's plain types: money, lifecycle stages, interaction kinds, company enums, phones.

use crate::{Error, Result};

/// Declares a closed set of values with their stored names; an unknown value is an `Invalid`
/// error that lists the accepted ones.
macro_rules! closed_set {
    ($(#[$m:meta])* $name:ident, $field:literal { $($variant:ident => $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<Self> {
                let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                $(if wanted == $text.to_ascii_lowercase() { return Ok($name::$variant); })*
                Err($crate::Error::invalid(
                    $field,
                    format!("`{}` is not one of: {}", s.trim(), [$($text),*].join(", ")),
                ))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use closed_set;

closed_set! {
    /// The lifecycle of a client contact; `won` makes a customer.
    Stage, "stage" {
        Subscriber => "subscriber",
        Lead => "lead",
        Qualified => "qualified",
        Opportunity => "opportunity",
        Won => "won",
        Lost => "lost",
    }
}

closed_set! {
    /// The nine kinds of interaction of seed 001.
    InteractionKind, "type" {
        PhoneCall => "phone_call",
        Meeting => "meeting",
        Email => "email",
        Chat => "chat",
        SocialMedia => "social_media",
        EventAttendance => "event_attendance",
        Sale => "sale",
        SupportRequest => "support_request",
        Survey => "survey",
    }
}

closed_set! {
    CompanySize, "size" {
        Enterprise => "enterprise",
        Large => "large",
        Medium => "medium",
        Small => "small",
    }
}

closed_set! {
    BusinessType, "business type" {
        B2b => "B2B",
        B2c => "B2C",
        B2g => "B2G",
    }
}

/// An amount in minor units (cents) with its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
}

impl Money {
    /// Parses `1250`, `1250.5`, `1250.50` (or with a decimal comma). At most two decimals, never
    /// negative, at most 999,999,999,999.99.
    pub fn parse(field: &str, input: &str) -> Result<Money> {
        let s = input.trim();
        let bad = |rule: &str| Error::invalid(field, format!("`{input}` {rule}"));
        if s.starts_with('-') {
            return Err(bad("must not be negative"));
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        let (units, cents) = match s.split_once(['.', ',']) {
            Some((u, c)) => (u, c),
            None => (s, ""),
        };
        if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) || !cents.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad("is not an amount like 1250.00"));
        }
        if cents.len() > 2 {
            return Err(bad("has more than two decimals"));
        }
        if units.trim_start_matches('0').len() > 12 {
            return Err(bad("is too large"));
        }
        let units: i64 = units.parse().map_err(|_| bad("is not an amount like 1250.00"))?;
        let cents: i64 = format!("{cents:0<2}").parse().map_err(|_| bad("is not an amount like 1250.00"))?;
        Ok(Money { minor: units * 100 + cents })
    }

    /// The decimal string of the JSON contract: `"1250.00"`.
    pub fn to_decimal(self) -> String {
        format!("{}.{:02}", self.minor / 100, self.minor % 100)
    }
}

/// Three upper-case letters (ISO 4217 shape); stored upper-case.
pub fn currency(input: &str) -> Result<String> {
    let c = input.trim().to_ascii_uppercase();
    if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(c)
    } else {
        Err(Error::invalid("currency", format!("`{input}` must be a three-letter code such as EUR")))
    }
}

/// A phone number as typed (validated loosely) and its digits for search.
pub fn phone(input: &str) -> Result<(String, String)> {
    let p = input.trim();
    let ok = p.chars().all(|c| c.is_ascii_digit() || " +-.()/".contains(c));
    let digits: String = p.chars().filter(char::is_ascii_digit).collect();
    if !ok || !(4..=20).contains(&digits.len()) {
        return Err(Error::invalid("phone", format!("`{input}` must be 4-20 digits, with spaces, +, -, ., / or ( )")));
    }
    Ok((p.to_string(), digits))
}

/// A web address: `https://…` or a bare domain (stored with `https://`).
pub fn website(input: &str) -> Result<String> {
    let w = input.trim();
    let rest = w.strip_prefix("https://").or_else(|| w.strip_prefix("http://")).unwrap_or(w);
    let host = rest.split('/').next().unwrap_or("");
    if host.contains('.') && !host.contains(char::is_whitespace) && host.len() <= 253 {
        Ok(if rest.len() == w.len() { format!("https://{w}") } else { w.to_string() })
    } else {
        Err(Error::invalid("website", format!("`{input}` must look like https://example.com")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_and_prints() {
        for (s, minor) in
            [("1000", 100000), ("1000.5", 100050), ("1000.50", 100050), ("0,99", 99), ("0", 0), ("+12.3", 1230)]
        {
            assert_eq!(Money::parse("total", s).map(|m| m.minor).ok(), Some(minor), "{s}");
        }
        assert_eq!(Money { minor: 125000 }.to_decimal(), "1250.00");
        assert_eq!(Money { minor: 5 }.to_decimal(), "0.05");
        for (s, rule) in [
            ("-1", "negative"),
            ("1.234", "two decimals"),
            ("abc", "amount"),
            ("1e5", "amount"),
            ("", "amount"),
            ("9999999999999", "too large"),
            (".5", "amount"),
        ] {
            let e = Money::parse("total", s).expect_err(s);
            assert!(e.message().contains(rule) && e.message().starts_with("invalid total"), "{s}: {}", e.message());
        }
    }

    #[test]
    fn enums_list_their_values_when_wrong() {
        assert_eq!("Phone call".parse::<InteractionKind>().ok(), Some(InteractionKind::PhoneCall));
        assert_eq!("b2b".parse::<BusinessType>().ok(), Some(BusinessType::B2b));
        let e = "huge".parse::<CompanySize>().expect_err("bad");
        assert_eq!(e.message(), "invalid size: `huge` is not one of: enterprise, large, medium, small");
    }

    #[test]
    fn phones_keep_their_form_and_yield_digits() {
        assert_eq!(phone("+678 123 456 78").ok(), Some(("+678 123 456 78".into(), "67812345678".into())));
        assert_eq!(phone("+ 666 12345").map(|p| p.1).ok(), Some("66612345".into()));
        assert!(phone("call me").is_err());
        assert!(phone("12").is_err());
    }
}
