//! The segment filter language: a saved filter over clients.
//!
//! ```text
//! stage in (lead, qualified) and company = "Cool Startup LLC"
//! consent = granted and not group = "Newsletter 2025" and last_contact < -90d
//! sector = retail or (budget >= 10000 and vip = yes) and phone is not empty
//! ```
//!
//! Subjects: `name`, `email`, `phone`, `stage`, `consent`, `company`, `sales`, `group`,
//! `created`, `first_contact`, `last_contact`, custom fields by key (or `field.KEY`), and
//! engagement with campaign mail: `last_open`, `last_click` (by people, not mail proxies) and
//! `sends_since_engagement` (campaign messages sent since the last open or click), so that
//! `last_open < -180d or sends_since_engagement >= 5` is the inactive segment.
//! Tests: `=`, `!=`, `<`, `<=`, `>`, `>=`, `~` (contains), `in (…)`, `is [not] empty`; joined
//! with `and`, `or`, `not` and parentheses. Values are bare words or quoted (`"…"`, `'…'`).
//!
//! [`parse`] gives the syntax tree; [`Expr::plan`] checks it against the field registry and
//! types its values. The database layer turns a plan into SQL fragments with bound values: no
//! text typed here ever becomes SQL.

use std::fmt;

use chrono::{DateTime, Utc};

use super::time;
use crate::Result;
use crate::domain::crm::Stage;
use crate::domain::profile::{self, Consent, FieldDef, FieldKind};

mod parse;

pub use parse::parse;
use parse::{KEYWORDS, err, is_word_char};

/// The longest filter accepted, and the deepest nesting.
pub const MAX_LEN: usize = 4000;
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "~",
        }
    }
}

/// The syntax tree of a filter, as typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare { subject: String, op: Op, value: String },
    In { subject: String, values: Vec<String> },
    Empty { subject: String, negated: bool },
}

fn quote(v: &str) -> String {
    let bare = !v.is_empty() && v.chars().all(is_word_char) && !KEYWORDS.iter().any(|k| v.eq_ignore_ascii_case(k));
    if bare { v.to_string() } else { format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")) }
}

/// The canonical text of a filter: fully parenthesised, values quoted where needed. It
/// parses back to the same tree.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(a, b) => write!(f, "({a} and {b})"),
            Expr::Or(a, b) => write!(f, "({a} or {b})"),
            Expr::Not(e) => write!(f, "not {e}"),
            Expr::Compare { subject, op, value } => write!(f, "{subject} {} {}", op.as_str(), quote(value)),
            Expr::In { subject, values } => {
                write!(f, "{subject} in (")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&quote(v))?;
                }
                f.write_str(")")
            }
            Expr::Empty { subject, negated } => {
                write!(f, "{subject} is {}empty", if *negated { "not " } else { "" })
            }
        }
    }
}

/// A column of a client a plan tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Name,
    Email,
    Phone,
    Stage,
    Consent,
    Company,
    Sales,
    Group,
    Created,
    FirstContact,
    LastContact,
    /// The last open or click of a campaign message by the person (not a machine).
    LastOpen,
    LastClick,
    /// Campaign messages sent to the client since their last open or click (all, if none).
    SendsSinceEngagement,
    /// A custom field: its JSON path in `clients.fields` and its kind.
    Field {
        path: String,
        kind: FieldKind,
    },
}

/// A typed value to bind.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Text(String),
    Int(i64),
    Real(f64),
}

/// What is checked of a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Equal (text: ignoring case); a missing value is not equal.
    Eq(Lit),
    /// Ordered comparison with `<`, `<=`, `>`, `>=`.
    Cmp(Op, Lit),
    /// Text containing the value, ignoring case.
    Contains(String),
    /// No value.
    Empty,
}

/// A filter checked and typed, ready to be turned into SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    And(Box<Plan>, Box<Plan>),
    Or(Vec<Plan>),
    Not(Box<Plan>),
    Test(Column, Check),
}

impl Expr {
    /// Checks the tree against the client columns and the field registry, and types its
    /// values. Relative dates (`-30d`) are read against `now`.
    pub fn plan(&self, fields: &[FieldDef], now: DateTime<Utc>) -> Result<Plan> {
        Ok(match self {
            Expr::And(a, b) => Plan::And(Box::new(a.plan(fields, now)?), Box::new(b.plan(fields, now)?)),
            Expr::Or(a, b) => Plan::Or(vec![a.plan(fields, now)?, b.plan(fields, now)?]),
            Expr::Not(e) => Plan::Not(Box::new(e.plan(fields, now)?)),
            Expr::Empty { subject, negated } => {
                let col = column(subject, fields)?;
                if matches!(
                    col,
                    Column::Name
                        | Column::Email
                        | Column::Stage
                        | Column::Consent
                        | Column::Created
                        | Column::SendsSinceEngagement
                ) {
                    return Err(err(format!("`{subject}` is never empty")));
                }
                let t = Plan::Test(col, Check::Empty);
                if *negated { Plan::Not(Box::new(t)) } else { t }
            }
            Expr::In { subject, values } => {
                let col = column(subject, fields)?;
                let tests = values
                    .iter()
                    .map(|v| Ok(Plan::Test(col.clone(), check(subject, &col, Op::Eq, v, now)?)))
                    .collect::<Result<Vec<_>>>()?;
                Plan::Or(tests)
            }
            Expr::Compare { subject, op, value } => {
                let col = column(subject, fields)?;
                match op {
                    Op::Ne => Plan::Not(Box::new(Plan::Test(col.clone(), check(subject, &col, Op::Eq, value, now)?))),
                    op => Plan::Test(col.clone(), check(subject, &col, *op, value, now)?),
                }
            }
        })
    }
}

fn column(subject: &str, fields: &[FieldDef]) -> Result<Column> {
    Ok(match subject {
        "name" | "full_name" => Column::Name,
        "email" => Column::Email,
        "phone" => Column::Phone,
        "stage" => Column::Stage,
        "consent" => Column::Consent,
        "company" => Column::Company,
        "sales" | "sales_contact" => Column::Sales,
        "group" => Column::Group,
        "created" => Column::Created,
        "first_contact" => Column::FirstContact,
        "last_contact" => Column::LastContact,
        "last_open" => Column::LastOpen,
        "last_click" => Column::LastClick,
        "sends_since_engagement" => Column::SendsSinceEngagement,
        s => {
            let key = s.strip_prefix("field.").unwrap_or(s);
            match fields.iter().find(|f| f.key == key) {
                Some(f) => Column::Field { path: profile::field_path(&f.key), kind: f.kind },
                None => {
                    return Err(err(format!(
                        "`{s}` is neither a client column (name, email, phone, stage, consent, company, sales, \
                         group, created, first_contact, last_contact, last_open, last_click, \
                         sends_since_engagement) nor a field key (see `rolo client field list`)"
                    )));
                }
            }
        }
    })
}

fn check(subject: &str, col: &Column, op: Op, value: &str, now: DateTime<Utc>) -> Result<Check> {
    let refuse = || err(format!("`{subject}` cannot be tested with `{}`", op.as_str()));
    let text = || Lit::Text(value.to_string());
    match col {
        Column::Stage | Column::Consent | Column::Sales | Column::Group => {
            if op != Op::Eq {
                return Err(refuse());
            }
            let v = match col {
                Column::Stage => value.parse::<Stage>()?.as_str().to_string(),
                Column::Consent => value.parse::<Consent>()?.as_str().to_string(),
                _ => value.trim().to_string(),
            };
            Ok(Check::Eq(Lit::Text(v)))
        }
        Column::Name | Column::Email | Column::Phone | Column::Company => match op {
            Op::Eq => Ok(Check::Eq(text())),
            Op::Contains => Ok(Check::Contains(value.to_string())),
            _ => Err(refuse()),
        },
        Column::SendsSinceEngagement => match (op, value.trim().parse::<i64>()) {
            (Op::Contains, _) => Err(refuse()),
            (_, Ok(n)) if n >= 0 => Ok(if op == Op::Eq { Check::Eq(Lit::Int(n)) } else { Check::Cmp(op, Lit::Int(n)) }),
            _ => Err(err(format!("`{value}` is not a count of messages"))),
        },
        Column::Created | Column::FirstContact | Column::LastContact | Column::LastOpen | Column::LastClick => match op
        {
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                Ok(Check::Cmp(op, Lit::Text(time::format_utc(time::parse_instant(subject, value, now)?))))
            }
            _ => Err(err(format!("dates are compared with <, <=, > or >= (e.g. {subject} < -90d)"))),
        },
        Column::Field { kind, .. } => {
            let typed = |v: &str| -> Result<Lit> {
                Ok(match kind {
                    FieldKind::Number => match profile::number(subject, v)? {
                        serde_json::Value::Number(n) if n.is_i64() => Lit::Int(n.as_i64().unwrap_or_default()),
                        serde_json::Value::Number(n) => Lit::Real(n.as_f64().unwrap_or_default()),
                        _ => return Err(err(format!("`{v}` is not a number"))),
                    },
                    FieldKind::Date => Lit::Text(profile::date(subject, v)?.format("%Y-%m-%d").to_string()),
                    FieldKind::Bool => Lit::Int(i64::from(profile::boolean(subject, v)?)),
                    FieldKind::Text | FieldKind::Choice => Lit::Text(v.to_string()),
                })
            };
            match (op, kind) {
                (Op::Eq, _) => Ok(Check::Eq(typed(value)?)),
                (Op::Contains, FieldKind::Text | FieldKind::Choice) => Ok(Check::Contains(value.to_string())),
                (Op::Lt | Op::Le | Op::Gt | Op::Ge, FieldKind::Number | FieldKind::Date) => {
                    Ok(Check::Cmp(op, typed(value)?))
                }
                _ => Err(refuse()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::profile::FieldOrigin;

    fn fields() -> Vec<FieldDef> {
        let f = |key: &str, kind| FieldDef {
            key: key.into(),
            label: key.into(),
            kind,
            choices: vec!["retail".into(), "hotel".into()],
            mandatory: false,
            public: false,
            origin: FieldOrigin::Community,
            personal_data: false,
        };
        vec![f("sector", FieldKind::Choice), f("budget", FieldKind::Number), f("vip", FieldKind::Bool)]
    }

    #[test]
    fn the_documented_examples_parse_and_plan() {
        let now = Utc::now();
        for text in [
            "stage in (lead, qualified) and company = \"Cool Startup LLC\"",
            "consent = granted and not group = \"Newsletter 2025\" and last_contact < -90d",
            "sector = retail or (budget >= 10000 and vip = yes) and phone is not empty",
            "field.budget < '1,5' and budget > 0.5 and email ~ '@startup.io' and created >= 2024-01-01",
        ] {
            let e = parse(text).unwrap_or_else(|e| panic!("{text}: {}", e.message()));
            e.plan(&fields(), now).unwrap_or_else(|e| panic!("{text}: {}", e.message()));
            assert_eq!(parse(&e.to_string()).expect("must parse"), e, "{text}");
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let e = parse("a = 1 or b = 2 and not c = 3").expect("must parse");
        assert_eq!(e.to_string(), "(a = 1 or (b = 2 and not c = 3))");
    }

    #[test]
    fn errors_name_the_place_and_the_rule() {
        let now = Utc::now();
        let cases = [
            ("stage = ", "value is missing"),
            ("stage = lead and", "ends too soon"),
            ("(stage = lead", "missing `)`"),
            ("stage = lead stage = won", "unexpected `stage` at 14"),
            ("name = \"unclosed", "never closed"),
            ("stage ; lead", "unexpected `;` at 7"),
            ("stage in lead", "list in parentheses"),
            ("phone is full", "is not empty"),
        ];
        for (text, want) in cases {
            let e = parse(text).expect_err("must fail");
            assert!(e.message().contains(want), "{text}: {}", e.message());
        }
        let plan_err =
            |t: &str| parse(t).expect("must parse").plan(&fields(), now).expect_err("must fail").message().to_string();
        assert!(plan_err("stage = rich").contains("subscriber, lead"));
        assert!(plan_err("colour = red").contains("neither a client column"));
        assert!(plan_err("vip > 3").contains("cannot be tested with `>`"));
        assert!(plan_err("budget = lots").contains("not a number"));
        assert!(plan_err("created = 2024-01-01").contains("compared with <"));
        assert!(plan_err("email is empty").contains("never empty"));
        let deep = format!("{}stage = lead{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).expect_err("must fail").message().contains("nested"));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::profile::FieldOrigin;

    fn registry() -> Vec<FieldDef> {
        [
            ("sector", FieldKind::Choice),
            ("budget", FieldKind::Number),
            ("vip", FieldKind::Bool),
            ("since", FieldKind::Date),
        ]
        .into_iter()
        .map(|(key, kind)| FieldDef {
            key: key.into(),
            label: key.into(),
            kind,
            choices: vec!["retail".into()],
            mandatory: false,
            public: false,
            origin: FieldOrigin::Community,
            personal_data: false,
        })
        .collect()
    }

    /// Words of the language in any order: reaches far deeper than random characters.
    fn token_soup() -> impl Strategy<Value = String> {
        let word = prop::sample::select(vec![
            "stage",
            "company",
            "budget",
            "vip",
            "since",
            "group",
            "name",
            "consent",
            "last_contact",
            "and",
            "or",
            "not",
            "in",
            "is",
            "empty",
            "(",
            ")",
            ",",
            "=",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
            "~",
            "lead",
            "-30d",
            "yes",
            "\"a b\"",
            "'x''y'",
            "\"",
            "\\",
            "1e309",
            "-",
            "2024-02-30",
            "field.budget",
            "é",
        ]);
        prop::collection::vec(word, 0..24).prop_map(|w| w.join(" "))
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z][a-z0-9_]{0,6}", "\\PC{0,8}", Just(String::new()), Just("and".to_string())]
    }

    fn subject() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["stage", "name", "budget", "field.sector", "group"]).prop_map(String::from)
    }

    fn expr() -> impl Strategy<Value = Expr> {
        let op = prop::sample::select(vec![Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Contains]);
        let leaf = prop_oneof![
            (subject(), op, value()).prop_map(|(subject, op, value)| Expr::Compare { subject, op, value }),
            (subject(), prop::collection::vec(value(), 1..4))
                .prop_map(|(subject, values)| Expr::In { subject, values }),
            (subject(), any::<bool>()).prop_map(|(subject, negated)| Expr::Empty { subject, negated }),
        ];
        leaf.prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_text_parses_or_fails_cleanly(text in "\\PC{0,80}") {
            if let Ok(e) = parse(&text) {
                let _ = e.plan(&registry(), Utc::now());
            }
        }

        #[test]
        fn any_soup_of_tokens_parses_or_fails_cleanly(text in token_soup()) {
            match parse(&text) {
                Ok(e) => {
                    let _ = e.plan(&registry(), Utc::now());
                    prop_assert_eq!(parse(&e.to_string()).ok(), Some(e));
                }
                Err(e) => prop_assert_eq!(e.field(), Some("filter")),
            }
        }

        #[test]
        fn printed_trees_parse_back_to_themselves(e in expr()) {
            prop_assert_eq!(parse(&e.to_string()).ok(), Some(e));
        }
    }
}
