//! SLA clocks in business time.
//!
//! A [`Calendar`] says when the team works: a time zone, weekly hours (`mon-fri 09:00-18:00`,
//! several ranges per day, or `24x7`) and holidays. A ticket has two clocks — first response
//! and resolution — that start at creation, pause while the ticket waits for the client, and
//! stop at the first public staff reply (first response) or when the ticket is resolved or
//! closed (resolution). [`evaluate`] gives each clock's state as of any instant. The
//! business-time arithmetic is in `calendar`.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

mod calendar;

pub use calendar::{Calendar, CalendarSpec, Measure, Ruler};

/// A ticket's status, as the clocks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// open or in progress: clocks run
    Running,
    /// waiting for the client: clocks pause
    Waiting,
    /// resolved or closed: clocks stop
    Done,
}

impl Phase {
    pub fn of(status: &str) -> Phase {
        match status {
            "waiting_client" => Phase::Waiting,
            "resolved" | "closed" => Phase::Done,
            _ => Phase::Running,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Met,
    Paused,
    Ok,
    AtRisk,
    Breached,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Met => "met",
            State::Paused => "paused",
            State::Ok => "ok",
            State::AtRisk => "at-risk",
            State::Breached => "breached",
        }
    }

    pub fn parse(s: &str) -> Result<State> {
        match s.trim() {
            "met" => Ok(State::Met),
            "paused" => Ok(State::Paused),
            "ok" => Ok(State::Ok),
            "at-risk" | "at_risk" => Ok(State::AtRisk),
            "breached" => Ok(State::Breached),
            other => Err(Error::invalid("sla", format!("`{other}` is not one of: ok, at-risk, breached, paused, met"))),
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One ticket's timeline as far as the clocks care.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub created: DateTime<Utc>,
    pub first_response: Option<DateTime<Utc>>,
    /// Status changes after creation, in order: (when, new phase).
    pub changes: Vec<(DateTime<Utc>, Phase)>,
}

/// One clock's state as of an instant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Clock {
    pub state: State,
    pub target_seconds: i64,
    pub elapsed_seconds: i64,
    pub remaining_seconds: i64,
    pub paused_seconds: i64,
    /// When a running clock will breach (business time from now).
    pub deadline: Option<DateTime<Utc>>,
    /// When a stopped clock stopped.
    pub stopped_at: Option<DateTime<Utc>>,
}

/// A policy for one ticket type.
#[derive(Debug, Clone)]
pub struct Policy {
    pub first_response_seconds: i64,
    pub resolution_seconds: i64,
    pub warn_percent: i64,
    pub calendar: Calendar,
}

impl Timeline {
    /// The phases over `[created, until)` as (start, end, phase) segments.
    fn segments(&self, until: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>, Phase)> {
        let mut out = Vec::new();
        let (mut start, mut phase) = (self.created, Phase::Running);
        for (at, next) in self.changes.iter().filter(|(at, _)| *at < until) {
            if *at > start {
                out.push((start, *at, phase));
            }
            start = start.max(*at);
            phase = *next;
        }
        if until > start {
            out.push((start, until, phase));
        }
        out
    }

    fn phase_at(&self, at: DateTime<Utc>) -> Phase {
        self.changes.iter().rev().find(|(t, _)| *t <= at).map_or(Phase::Running, |(_, p)| *p)
    }

    /// When the ticket's current run of "done" phases began (resolved then closed is one
    /// run), if it is done at `at`.
    fn done_since(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut since = None;
        for (t, p) in self.changes.iter().rev().filter(|(t, _)| *t <= at) {
            if *p != Phase::Done {
                break;
            }
            since = Some(*t);
        }
        since
    }
}

fn clock(
    policy: &Policy,
    m: &impl Measure,
    t: &Timeline,
    target: i64,
    stop: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Clock {
    let end = stop.map_or(at, |s| s.min(at));
    let (mut elapsed, mut paused) = (0, 0);
    for (a, b, phase) in t.segments(end) {
        let secs = m.between(a, b);
        match phase {
            Phase::Running => elapsed += secs,
            Phase::Waiting => paused += secs,
            Phase::Done => {}
        }
    }
    let remaining = target - elapsed;
    let stopped = stop.filter(|s| *s <= at);
    let state = if stopped.is_some() {
        if elapsed <= target { State::Met } else { State::Breached }
    } else if remaining <= 0 {
        State::Breached
    } else if t.phase_at(at) == Phase::Waiting {
        State::Paused
    } else if elapsed * 100 >= target * policy.warn_percent {
        State::AtRisk
    } else {
        State::Ok
    };
    let deadline = (matches!(state, State::Ok | State::AtRisk)).then(|| m.after(at, remaining)).flatten();
    Clock {
        state,
        target_seconds: target,
        elapsed_seconds: elapsed,
        remaining_seconds: remaining,
        paused_seconds: paused,
        deadline,
        stopped_at: stopped,
    }
}

/// Both clocks of a ticket as of `at`: (first response, resolution).
pub fn evaluate(policy: &Policy, t: &Timeline, at: DateTime<Utc>) -> (Clock, Clock) {
    evaluate_with(policy, &policy.calendar, t, at)
}

/// [`evaluate`] with a given measure (a [`Ruler`] when evaluating many tickets).
pub fn evaluate_with(policy: &Policy, m: &impl Measure, t: &Timeline, at: DateTime<Utc>) -> (Clock, Clock) {
    let done = t.done_since(at);
    let first_stop = match (t.first_response, done) {
        (Some(r), Some(d)) => Some(r.min(d)),
        (r, d) => r.or(d),
    };
    let first = clock(policy, m, t, policy.first_response_seconds, first_stop, at);
    let resolution = clock(policy, m, t, policy.resolution_seconds, done, at);
    (first, resolution)
}

/// A ticket's clocks projected forward from the instant they were evaluated, assuming the
/// ticket does not change: stored with the ticket so "breached now" is an index lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Projection {
    /// The worst state of the clocks that no longer run (stopped or paused).
    pub fixed: State,
    /// Whether any clock still runs.
    pub running: bool,
    /// The earliest instant a running clock reaches its warning threshold.
    pub warn_at: Option<DateTime<Utc>>,
    /// The earliest instant a running clock breaches.
    pub breach_at: Option<DateTime<Utc>>,
}

impl Projection {
    /// The overall state at `t` (not before the instant the projection was made).
    pub fn state_at(&self, t: DateTime<Utc>) -> State {
        let running = if !self.running {
            State::Met
        } else if self.breach_at.is_some_and(|b| b <= t) {
            State::Breached
        } else if self.warn_at.is_some_and(|w| w <= t) {
            State::AtRisk
        } else {
            State::Ok
        };
        self.fixed.max(running)
    }
}

/// Projects both clocks of `t` forward from `at` (see [`Projection`]).
pub fn project(policy: &Policy, m: &impl Measure, t: &Timeline, at: DateTime<Utc>) -> Projection {
    let (first, resolution) = evaluate_with(policy, m, t, at);
    let mut p = Projection { fixed: State::Met, running: false, warn_at: None, breach_at: None };
    let earliest = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    for c in [&first, &resolution] {
        match c.state {
            State::Ok | State::AtRisk => {
                p.running = true;
                let warn_after = (c.target_seconds * policy.warn_percent + 99) / 100 - c.elapsed_seconds;
                let warn = if warn_after <= 0 { Some(at) } else { m.after(at, warn_after) };
                p.warn_at = earliest(p.warn_at, warn);
                p.breach_at = earliest(p.breach_at, m.after(at, c.remaining_seconds));
            }
            fixed => p.fixed = p.fixed.max(fixed),
        }
    }
    p
}

/// The state that sums a ticket up: the worse of its two clocks.
pub fn overall(first: &Clock, resolution: &Clock) -> State {
    first.state.max(resolution.state)
}

/// Parses an SLA target: `30m`, `8h`, `2d` (working days of the calendar), `1h30m`.
pub fn parse_target(field: &str, input: &str, calendar: &Calendar) -> Result<i64> {
    let s = input.trim();
    // Days are working days: split them off and count each as the calendar's average day.
    let mut total = 0i64;
    let mut rest = String::new();
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if c == 'd' {
            let n: i64 = digits
                .parse()
                .map_err(|_| Error::invalid(field, format!("`{input}` is not a duration like 8h or 2d")))?;
            total += n * calendar.day_seconds();
            digits.clear();
        } else {
            rest.push_str(&digits);
            rest.push(c);
            digits.clear();
        }
    }
    rest.push_str(&digits);
    if !rest.is_empty() {
        total += super::time::parse_duration(field, &rest)?.num_seconds();
    }
    if total <= 0 {
        return Err(Error::invalid(field, format!("`{input}` must be a positive duration like 8h or 2d")));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("instant").with_timezone(&Utc)
    }

    fn office(holidays: &[&str]) -> Calendar {
        Calendar::parse(&CalendarSpec {
            time_zone: "Europe/Paris".into(),
            hours: "mon-fri 09:00-12:00,13:00-18:00".into(),
            holidays: holidays.iter().map(|h| h.to_string()).collect(),
        })
        .expect("calendar")
    }

    #[test]
    fn business_time_skips_nights_lunch_weekends_and_holidays() {
        let c = office(&["2026-12-25"]);
        assert_eq!(c.day_seconds(), 8 * 3600);
        // Friday 17:00 Paris (16:00Z) to Monday 10:00 Paris (09:00Z): 1 h + 1 h.
        assert_eq!(c.business_seconds(utc("2026-11-20T16:00:00Z"), utc("2026-11-23T09:00:00Z")), 2 * 3600);
        // Thursday 24 Dec 17:00 to Monday 28 Dec 10:00 with Christmas (Friday) off: 1 h + 1 h.
        assert_eq!(c.business_seconds(utc("2026-12-24T16:00:00Z"), utc("2026-12-28T09:00:00Z")), 2 * 3600);
        // Lunch does not count.
        assert_eq!(c.business_seconds(utc("2026-11-23T10:30:00Z"), utc("2026-11-23T12:30:00Z")), 3600);
        // Adding: 2 h from Friday 17:00 Paris lands Monday 10:00 Paris.
        assert_eq!(c.add(utc("2026-11-20T16:00:00Z"), 2 * 3600), Some(utc("2026-11-23T09:00:00Z")));
        // From Saturday, the first hour ends Monday 10:00.
        assert_eq!(c.add(utc("2026-11-21T10:00:00Z"), 3600), Some(utc("2026-11-23T09:00:00Z")));
    }

    #[test]
    fn a_ruler_agrees_with_the_calendar() {
        let c = office(&["2026-12-25"]);
        let r = c.ruler(utc("2026-11-01T00:00:00Z"), utc("2027-01-31T00:00:00Z"));
        let instants = [
            "2026-11-20T16:00:00Z",
            "2026-11-21T10:00:00Z",
            "2026-11-23T09:00:00Z",
            "2026-11-23T11:30:00Z",
            "2026-12-24T16:00:00Z",
            "2026-12-28T09:00:00Z",
            "2027-01-15T17:59:00Z",
        ];
        for a in instants {
            for b in instants {
                assert_eq!(r.between(utc(a), utc(b)), c.business_seconds(utc(a), utc(b)), "{a} {b}");
            }
            for secs in [0, 1, 1800, 3600, 8 * 3600, 100 * 3600, 1000 * 3600] {
                assert_eq!(r.after(utc(a), secs), c.add(utc(a), secs), "{a} + {secs}");
            }
        }
    }

    #[test]
    fn a_projection_agrees_with_evaluating_at_every_later_instant() {
        let p = policy();
        let timelines = [
            Timeline { created: utc("2026-11-20T16:00:00Z"), first_response: None, changes: vec![] },
            Timeline {
                created: utc("2026-11-23T08:00:00Z"),
                first_response: Some(utc("2026-11-23T08:30:00Z")),
                changes: vec![(utc("2026-11-23T09:00:00Z"), Phase::Waiting)],
            },
            Timeline {
                created: utc("2026-11-23T08:00:00Z"),
                first_response: Some(utc("2026-11-23T10:30:00Z")),
                changes: vec![
                    (utc("2026-11-23T09:00:00Z"), Phase::Waiting),
                    (utc("2026-11-23T14:00:00Z"), Phase::Running),
                ],
            },
            Timeline {
                created: utc("2026-11-23T08:00:00Z"),
                first_response: None,
                changes: vec![(utc("2026-11-23T15:00:00Z"), Phase::Done)],
            },
        ];
        for t in &timelines {
            for from in ["2026-11-20T16:30:00Z", "2026-11-23T08:10:00Z", "2026-11-23T12:00:00Z", "2026-11-23T16:00:00Z"]
            {
                let from = utc(from);
                if from < t.created {
                    continue;
                }
                // Only changes up to `from` are known when projecting.
                let known = Timeline {
                    changes: t.changes.iter().copied().filter(|(w, _)| *w <= from).collect(),
                    first_response: t.first_response.filter(|r| *r <= from),
                    ..t.clone()
                };
                let proj = project(&p, &p.calendar, &known, from);
                for minutes in (0..(6 * 24 * 60)).step_by(7) {
                    let at = from + Duration::minutes(minutes);
                    let (f, r) = evaluate(&p, &known, at);
                    assert_eq!(proj.state_at(at), overall(&f, &r), "from {from} at {at}: {proj:?}");
                }
            }
        }
    }

    #[test]
    fn daylight_saving_changes_keep_local_hours() {
        let c = office(&[]);
        // Monday 30 March 2026 (summer time, UTC+2): 09:00-12:00 local is 07:00-10:00Z.
        assert_eq!(c.business_seconds(utc("2026-03-30T07:00:00Z"), utc("2026-03-30T10:00:00Z")), 3 * 3600);
    }

    #[test]
    fn calendars_and_targets_reject_nonsense() {
        for (tz, hours) in [
            ("Mars/Olympus", "mon-fri 09:00-18:00"),
            ("UTC", "weekdays"),
            ("UTC", "fri-mon 09:00-18:00"),
            ("UTC", "mon 18:00-09:00"),
        ] {
            assert!(
                Calendar::parse(&CalendarSpec { time_zone: tz.into(), hours: hours.into(), holidays: vec![] }).is_err(),
                "{tz} {hours}"
            );
        }
        let c = office(&[]);
        assert_eq!(parse_target("resolution", "2d", &c).ok(), Some(16 * 3600));
        assert_eq!(parse_target("resolution", "1d4h", &c).ok(), Some(12 * 3600));
        assert_eq!(parse_target("first response", "1h30m", &c).ok(), Some(5400));
        assert!(parse_target("first response", "0m", &c).is_err());
        assert!(parse_target("first response", "soon", &c).is_err());
    }

    fn policy() -> Policy {
        Policy { first_response_seconds: 3600, resolution_seconds: 4 * 3600, warn_percent: 75, calendar: office(&[]) }
    }

    #[test]
    fn clocks_warn_then_breach_and_pause_while_waiting_for_the_client() {
        let p = policy();
        // Created Monday 09:00 Paris (08:00Z).
        let t = Timeline { created: utc("2026-11-23T08:00:00Z"), first_response: None, changes: vec![] };
        let (f, _) = evaluate(&p, &t, utc("2026-11-23T08:30:00Z"));
        assert_eq!(f.state, State::Ok);
        assert_eq!(f.deadline, Some(utc("2026-11-23T09:00:00Z")));
        let (f, _) = evaluate(&p, &t, utc("2026-11-23T08:46:00Z"));
        assert_eq!(f.state, State::AtRisk);
        let (f, r) = evaluate(&p, &t, utc("2026-11-23T09:01:00Z"));
        assert_eq!((f.state, r.state), (State::Breached, State::Ok));

        // Answered at 09:30 Paris, waiting for the client 10:00-15:00 Paris: 5 h (4 business h) paused.
        let t = Timeline {
            created: utc("2026-11-23T08:00:00Z"),
            first_response: Some(utc("2026-11-23T08:30:00Z")),
            changes: vec![(utc("2026-11-23T09:00:00Z"), Phase::Waiting), (utc("2026-11-23T14:00:00Z"), Phase::Running)],
        };
        let (f, r) = evaluate(&p, &t, utc("2026-11-23T12:00:00Z"));
        assert_eq!(f.state, State::Met);
        assert_eq!(r.state, State::Paused);
        assert_eq!(r.elapsed_seconds, 3600);
        // Back at 15:00 Paris: 1 h used, 3 h left → deadline 18:00 Paris the same day.
        let (_, r) = evaluate(&p, &t, utc("2026-11-23T14:00:00Z"));
        assert_eq!(r.state, State::Ok);
        assert_eq!(r.paused_seconds, 4 * 3600);
        assert_eq!(r.deadline, Some(utc("2026-11-23T17:00:00Z")));
        // Without the pause the resolution clock would have breached by then.
        let straight = Timeline { changes: vec![], ..t.clone() };
        assert_eq!(evaluate(&p, &straight, utc("2026-11-23T14:00:00Z")).1.state, State::Breached);
        // Resolved in time: met, and it stays met later.
        let solved =
            Timeline { changes: [t.changes.clone(), vec![(utc("2026-11-23T15:00:00Z"), Phase::Done)]].concat(), ..t };
        assert_eq!(evaluate(&p, &solved, utc("2026-12-01T12:00:00Z")).1.state, State::Met);
    }
}
