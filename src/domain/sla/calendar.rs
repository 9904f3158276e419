//! Business time: a [`Calendar`] of weekly hours and holidays in a time zone, and a [`Ruler`]
//! that unrolls one over a span so that many clocks cost two lookups each.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Working hours in minutes after local midnight, per weekday (Monday first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub tz: Tz,
    hours: [Vec<(u32, u32)>; 7],
    pub holidays: BTreeSet<NaiveDate>,
    spec: String,
}

/// The stored form of a calendar (JSON in `sla_policies.calendar`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalendarSpec {
    pub time_zone: String,
    pub hours: String,
    #[serde(default)]
    pub holidays: Vec<String>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(s: &str) -> Option<usize> {
    DAYS.iter().position(|d| s.eq_ignore_ascii_case(d))
}

fn minutes(s: &str) -> Option<u32> {
    let t = NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .ok()
        .or_else(|| (s.trim() == "24:00").then_some(NaiveTime::MIN))?;
    let m = if s.trim() == "24:00" { 24 * 60 } else { chrono::Timelike::hour(&t) * 60 + chrono::Timelike::minute(&t) };
    Some(m)
}

impl Calendar {
    /// `hours`: `24x7`, or `;`-separated groups `DAYS RANGES` where DAYS is `mon-fri`,
    /// `sat` or `mon,wed` and RANGES is `09:00-12:00,13:00-18:00`.
    pub fn parse(spec: &CalendarSpec) -> Result<Calendar> {
        let tz: Tz = spec.time_zone.trim().parse().map_err(|_| {
            Error::invalid("time zone", format!("`{}` is not an IANA time zone such as Europe/Paris", spec.time_zone))
        })?;
        let bad = || {
            Error::invalid(
                "hours",
                format!(
                    "`{}` must look like `mon-fri 09:00-18:00`, `mon-fri 09:00-12:00,13:00-17:00; sat 09:00-12:00` or `24x7`",
                    spec.hours
                ),
            )
        };
        let mut hours: [Vec<(u32, u32)>; 7] = Default::default();
        if spec.hours.trim().eq_ignore_ascii_case("24x7") {
            for d in &mut hours {
                d.push((0, 24 * 60));
            }
        } else {
            for group in spec.hours.split(';').map(str::trim).filter(|g| !g.is_empty()) {
                let (days, ranges) = group.split_once(' ').ok_or_else(bad)?;
                let mut which = Vec::new();
                for part in days.split(',') {
                    match part.split_once('-') {
                        Some((a, b)) => {
                            let (a, b) = (day_index(a).ok_or_else(bad)?, day_index(b).ok_or_else(bad)?);
                            if a > b {
                                return Err(bad());
                            }
                            which.extend(a..=b);
                        }
                        None => which.push(day_index(part).ok_or_else(bad)?),
                    }
                }
                for range in ranges.split(',') {
                    let (a, b) = range.split_once('-').ok_or_else(bad)?;
                    let (a, b) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
                    if a >= b {
                        return Err(bad());
                    }
                    for d in &which {
                        hours[*d].push((a, b));
                    }
                }
            }
            for d in &mut hours {
                d.sort_unstable();
                if d.windows(2).any(|w| w[0].1 > w[1].0) {
                    return Err(Error::invalid("hours", "ranges of one day overlap"));
                }
            }
        }
        if hours.iter().all(Vec::is_empty) {
            return Err(bad());
        }
        let holidays = spec
            .holidays
            .iter()
            .map(|h| {
                NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d")
                    .map_err(|_| Error::invalid("holiday", format!("`{h}` is not a date like 2026-12-25")))
            })
            .collect::<Result<_>>()?;
        Ok(Calendar { tz, hours, holidays, spec: spec.hours.trim().to_string() })
    }

    pub fn spec(&self) -> CalendarSpec {
        CalendarSpec {
            time_zone: self.tz.name().to_string(),
            hours: self.spec.clone(),
            holidays: self.holidays.iter().map(|d| d.to_string()).collect(),
        }
    }

    /// The length of an average working day, in seconds: what `1d` means in a target.
    pub fn day_seconds(&self) -> i64 {
        let days = self.hours.iter().filter(|d| !d.is_empty()).count() as i64;
        let weekly: i64 = self.hours.iter().flatten().map(|(a, b)| i64::from(b - a) * 60).sum();
        weekly / days.max(1)
    }

    /// The working intervals of one local date, as UTC instants.
    fn intervals(&self, date: NaiveDate) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let day = if self.holidays.contains(&date) {
            &[][..]
        } else {
            &self.hours[date.weekday().num_days_from_monday() as usize][..]
        };
        day.iter().filter_map(move |(a, b)| {
            let at = |m: u32| -> Option<DateTime<Utc>> {
                let naive = if m >= 24 * 60 {
                    date.succ_opt()?.and_time(NaiveTime::MIN)
                } else {
                    date.and_time(NaiveTime::from_hms_opt(m / 60, m % 60, 0)?)
                };
                // A time skipped by a clock change starts at the next valid instant.
                self.tz
                    .from_local_datetime(&naive)
                    .earliest()
                    .or_else(|| self.tz.from_local_datetime(&(naive + Duration::hours(1))).earliest())
                    .map(|t| t.with_timezone(&Utc))
            };
            Some((at(*a)?, at(*b)?))
        })
    }

    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Business seconds in `[from, to)`.
    pub fn business_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        let mut date = self.local_date(from) - Duration::days(1);
        let last = self.local_date(to) + Duration::days(1);
        while date <= last {
            for (a, b) in self.intervals(date) {
                let (s, e) = (a.max(from), b.min(to));
                if e > s {
                    total += (e - s).num_seconds();
                }
            }
            date = date.succ_opt().unwrap_or(last + Duration::days(1));
        }
        total
    }

    /// The instant at which `seconds` of business time have passed after `from`; `None` when
    /// the calendar has no working time in the next ten years.
    pub fn add(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        if seconds <= 0 {
            return Some(from);
        }
        let mut left = seconds;
        let mut date = self.local_date(from) - Duration::days(1);
        for _ in 0..3700 {
            for (a, b) in self.intervals(date) {
                let s = a.max(from);
                if b <= s {
                    continue;
                }
                let span = (b - s).num_seconds();
                if left <= span {
                    return Some(s + Duration::seconds(left));
                }
                left -= span;
            }
            date = date.succ_opt()?;
        }
        None
    }
}

/// Business-time arithmetic, by a calendar directly or by a precomputed [`Ruler`].
pub trait Measure {
    /// Business seconds in `[from, to)`.
    fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64;
    /// When `seconds` of business time have passed after `from`.
    fn after(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>>;
}

impl Measure for Calendar {
    fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.business_seconds(from, to)
    }

    fn after(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        self.add(from, seconds)
    }
}

/// A calendar unrolled over a range of dates: each day's working intervals and the business
/// seconds before it, so that any span inside the range costs two lookups. Used to evaluate
/// many tickets at once (`rolo ticket sla check`).
#[derive(Debug)]
pub struct Ruler<'c> {
    calendar: &'c Calendar,
    first: NaiveDate,
    days: Vec<Vec<(DateTime<Utc>, DateTime<Utc>)>>,
    before: Vec<i64>,
}

impl Calendar {
    /// A ruler covering `[from, to]` (in UTC instants; a day of margin is added on each side).
    pub fn ruler(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Ruler<'_> {
        let first = self.local_date(from) - Duration::days(1);
        let last = self.local_date(to.max(from)) + Duration::days(1);
        let mut days = Vec::new();
        let mut before = Vec::new();
        let mut total = 0;
        let mut date = first;
        while date <= last {
            let day: Vec<_> = self.intervals(date).collect();
            before.push(total);
            total += day.iter().map(|(a, b)| (*b - *a).num_seconds()).sum::<i64>();
            days.push(day);
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        before.push(total);
        Ruler { calendar: self, first, days, before }
    }
}

impl Ruler<'_> {
    /// Business seconds from the start of the range to `t`; `None` outside the range.
    fn position(&self, t: DateTime<Utc>) -> Option<i64> {
        let index = usize::try_from((self.calendar.local_date(t) - self.first).num_days()).ok()?;
        let day = self.days.get(index)?;
        let within: i64 = day.iter().map(|(a, b)| if t <= *a { 0 } else { ((*b).min(t) - *a).num_seconds() }).sum();
        Some(self.before[index] + within)
    }
}

impl Measure for Ruler<'_> {
    fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        match (self.position(from), self.position(to)) {
            (Some(a), Some(b)) => b - a,
            _ => self.calendar.business_seconds(from, to),
        }
    }

    fn after(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        let Some(start) = self.position(from) else { return self.calendar.add(from, seconds) };
        let goal = start + seconds.max(0);
        // The first day whose end reaches the goal, then the interval inside it.
        let index = self.before.partition_point(|b| *b < goal).saturating_sub(1);
        if index >= self.days.len() || self.before[index + 1] < goal {
            return self.calendar.add(from, seconds);
        }
        let mut left = goal - self.before[index];
        for (a, b) in &self.days[index] {
            let span = (*b - *a).num_seconds();
            if left <= span {
                return Some((*a + Duration::seconds(left)).max(from));
            }
            left -= span;
        }
        self.calendar.add(from, seconds)
    }
}
