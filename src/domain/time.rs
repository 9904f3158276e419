//! Instants and durations: stored in UTC, typed by people in their own time zone.
//!
//! Accepted forms (CLI.md): RFC 3339, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM`, the spreadsheet form of
//! seed 002 (`4 Jun 2023 @ 1PM`), and relative forms `now`, `+3d`, `-2h`. A date without an
//! offset is read in the local time zone (`TZ`).

use chrono::{DateTime, Duration, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use crate::{Error, Result};

/// The one storage and wire format: RFC 3339 in UTC with milliseconds, which sorts as text.
pub fn format_utc(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    // chrono's `format` parses its pattern on every call: a tenth of a million-row import's CPU.
    if (0..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 {
        return format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond() / 1_000_000
        );
    }
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Reads a stored instant back (tolerates any RFC 3339 form).
pub fn parse_stored(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::internal(format!("stored instant `{s}` is unreadable")).with_source(e))
}

/// Shows an instant in the user's time zone, to the minute.
pub fn display_local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
}

/// Parses a date typed by a person (`field` names it in the error).
pub fn parse_instant(field: &str, input: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let s = input.trim();
    let bad = || {
        Error::invalid(
            field,
            format!(
                "`{input}` is not a date; use 2023-06-04, 2023-06-04 13:00, 4 Jun 2023 @ 1PM, \
                 an RFC 3339 instant, now, +3d or -2h"
            ),
        )
    };
    if s.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(rest) = s.strip_prefix('+') {
        return parse_duration(field, rest).map(|d| now + d);
    }
    if let Some(rest) = s.strip_prefix('-') {
        return parse_duration(field, rest).map(|d| now - d);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return no_leap_second(field, input, t.with_timezone(&Utc));
    }
    let naive = if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_time(NaiveTime::MIN)
    } else if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M") {
        t
    } else if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        t
    } else if let Some(t) = parse_spreadsheet(s) {
        t
    } else {
        return Err(bad());
    };
    let t = local_to_utc(naive)
        .ok_or_else(|| Error::invalid(field, format!("`{input}` does not exist in the local time zone")))?;
    no_leap_second(field, input, t)
}

/// chrono reads a second `:60` as a leap second, which would be stored as `…:60.000Z`, an
/// instant no other program reads. Rolo refuses it.
fn no_leap_second(field: &str, input: &str, t: DateTime<Utc>) -> Result<DateTime<Utc>> {
    use chrono::Timelike;
    if t.nanosecond() >= 1_000_000_000 {
        return Err(Error::invalid(field, format!("`{input}` has a second :60; seconds run from 00 to 59")));
    }
    Ok(t)
}

/// `4 Jun 2023 @ 1PM`, `5 Jun 2023 @ 2AM`, `4 Jun 2023 @ 1:30PM`, `4 June 2023 @ 13:00`.
fn parse_spreadsheet(s: &str) -> Option<NaiveDateTime> {
    let (date, time) = s.split_once('@')?;
    let date = date.trim();
    let date =
        NaiveDate::parse_from_str(date, "%d %b %Y").or_else(|_| NaiveDate::parse_from_str(date, "%d %B %Y")).ok()?;
    let time = time.trim().to_ascii_uppercase().replace(' ', "");
    let parsed = if time.ends_with("AM") || time.ends_with("PM") {
        let (digits, half) = time.split_at(time.len() - 2);
        let (h, m) = match digits.split_once(':') {
            Some((h, m)) => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
            None => (digits.parse::<u32>().ok()?, 0),
        };
        if !(1..=12).contains(&h) {
            return None;
        }
        let h = match (h, half) {
            (12, "AM") => 0,
            (12, _) => 12,
            (h, "PM") => h + 12,
            (h, _) => h,
        };
        NaiveTime::from_hms_opt(h, m, 0)?
    } else {
        NaiveTime::parse_from_str(&time, "%H:%M").ok()?
    };
    Some(date.and_time(parsed))
}

fn local_to_utc(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    // An ambiguous local time (clocks going back) takes the earlier instant.
    Local.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}

/// `30m`, `8h`, `2d`, `1h30m`, `90s`.
pub fn parse_duration(field: &str, input: &str) -> Result<Duration> {
    let bad = || Error::invalid(field, format!("`{input}` is not a duration; use forms like 30m, 8h, 2d, 1h30m"));
    let mut total = Duration::zero();
    let mut digits = String::new();
    let mut seen_unit = false;
    for c in input.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        if n > 100_000 {
            return Err(bad());
        }
        digits.clear();
        total += match c {
            'w' => Duration::weeks(n),
            'd' => Duration::days(n),
            'h' => Duration::hours(n),
            'm' => Duration::minutes(n),
            's' => Duration::seconds(n),
            _ => return Err(bad()),
        };
        seen_unit = true;
    }
    if !digits.is_empty() || !seen_unit {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_form_is_chronos_pattern() {
        use chrono::Datelike;
        let mut t = DateTime::<Utc>::from_timestamp(-62_167_219_200, 0).expect("year 0");
        let step = chrono::Duration::milliseconds(1_234_567_891_013);
        while t.year() < 9999 {
            assert_eq!(format_utc(t), t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            t += step;
        }
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500))
            .expect("a leap second")
            .and_utc();
        assert_eq!(format_utc(leap), leap.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).single().expect("valid")
    }

    #[test]
    fn storage_format_round_trips_and_sorts() {
        let t = now();
        assert_eq!(format_utc(t), "2026-11-21T12:00:00.000Z");
        assert_eq!(parse_stored(&format_utc(t)).ok(), Some(t));
    }

    #[test]
    fn accepts_the_documented_forms() {
        let n = now();
        assert_eq!(parse_instant("d", "now", n).ok(), Some(n));
        assert_eq!(parse_instant("d", "+3d", n).ok(), Some(n + Duration::days(3)));
        assert_eq!(parse_instant("d", "-2h", n).ok(), Some(n - Duration::hours(2)));
        assert_eq!(
            parse_instant("d", "2023-06-04T13:00:00+02:00", n).ok(),
            Utc.with_ymd_and_hms(2023, 6, 4, 11, 0, 0).single()
        );
        for s in ["2023-06-04", "2023-06-04 13:00", "4 Jun 2023 @ 1PM", "5 Jun 2023 @ 2AM", "4 June 2023 @ 1:30pm"] {
            assert!(parse_instant("d", s, n).is_ok(), "{s}");
        }
        assert_eq!(parse_spreadsheet("4 Jun 2023 @ 1PM").map(|t| t.to_string()), Some("2023-06-04 13:00:00".into()));
        assert_eq!(parse_spreadsheet("5 Jun 2023 @ 12AM").map(|t| t.to_string()), Some("2023-06-05 00:00:00".into()));
    }

    #[test]
    fn rejects_impossible_dates_with_the_field_name() {
        for s in [
            "2023-06-04 13:00:60",
            "2023-06-04T13:00:60Z",
            "2016-12-31T23:59:60Z",
            "2023-02-30",
            "yesterday-ish",
            "4 Jun 2023 @ 13PM",
            "",
            "+",
            "+3x",
            "2023-13-01",
        ] {
            let e = parse_instant("start", s, now()).expect_err(s);
            assert_eq!(e.kind(), crate::ErrorKind::Invalid);
            assert!(e.message().contains("start"), "{}", e.message());
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("d", "1h30m").ok(), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("d", "2d").ok(), Some(Duration::days(2)));
        assert!(parse_duration("d", "30").is_err());
        assert!(parse_duration("d", "h").is_err());
        assert!(parse_duration("d", "99999999999999999999d").is_err());
    }
}
