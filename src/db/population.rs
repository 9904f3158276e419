//! The field registry, groups and segments, and the SQL of a segment's plan.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::query::Query;
use super::{Read, Tx, unique_violation};
use crate::Result;
use crate::domain::population::{FieldRow, Group, Segment};
use crate::domain::profile::{FieldDef, field_path};
use crate::domain::segment::{Check, Column, Lit, Op, Plan};

macro_rules! field_select {
    () => {
        "SELECT id, key, label, kind, choices, mandatory, public, origin, personal_data,
        (SELECT count(*) FROM clients WHERE json_type(clients.fields, '$.\"' || client_fields.key || '\"') IS NOT NULL),
        created_at, updated_at
     FROM client_fields"
    };
}

fn field_row(r: &Row<'_>) -> rusqlite::Result<FieldRow> {
    let bad =
        |i, e: crate::Error| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e));
    let choices: Option<String> = r.get(4)?;
    Ok(FieldRow {
        id: r.get(0)?,
        def: FieldDef {
            key: r.get(1)?,
            label: r.get(2)?,
            kind: r.get::<_, String>(3)?.parse().map_err(|e| bad(3, e))?,
            choices: match choices {
                Some(c) => serde_json::from_str(&c)
                    .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into()))?,
                None => Vec::new(),
            },
            mandatory: r.get(5)?,
            public: r.get(6)?,
            origin: r.get::<_, String>(7)?.parse().map_err(|e| bad(7, e))?,
            personal_data: r.get(8)?,
        },
        filled: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

/// The registry, by key, without the `filled` counts (what validation needs).
pub fn fields(r: &impl Read) -> Result<Vec<FieldDef>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT id, key, label, kind, choices, mandatory, public, origin, personal_data, 0, created_at, updated_at
         FROM client_fields ORDER BY key",
    )?;
    let rows = stmt.query_map([], field_row)?;
    Ok(rows.map(|r| r.map(|f| f.def)).collect::<rusqlite::Result<_>>()?)
}

/// The registry with how many clients fill each field.
pub fn field_rows(r: &impl Read) -> Result<Vec<FieldRow>> {
    let mut stmt = r.conn().prepare(concat!(field_select!(), " ORDER BY key"))?;
    let rows = stmt.query_map([], field_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn field(r: &impl Read, key: &str) -> Result<Option<FieldRow>> {
    Ok(r.conn().prepare(concat!(field_select!(), " WHERE key = ?1"))?.query_row([key.trim()], field_row).optional()?)
}

fn choices_json(def: &FieldDef) -> Option<String> {
    (!def.choices.is_empty()).then(|| serde_json::Value::from(def.choices.clone()).to_string())
}

pub fn insert_field(tx: &Tx, def: &FieldDef, by: i64, now: DateTime<Utc>) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn()
        .execute(
            "INSERT INTO client_fields (key, label, kind, choices, mandatory, public, origin, personal_data,
                created_at, created_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9)",
            params![
                def.key,
                def.label,
                def.kind.as_str(),
                choices_json(def),
                def.mandatory,
                def.public,
                def.origin.as_str(),
                def.personal_data,
                now,
                by
            ],
        )
        .map_err(|e| unique_violation(e, || format!("there is already a field `{}`", def.key)))?;
    let id = tx.conn().last_insert_rowid();
    index_field(tx, def)?;
    Ok(id)
}

pub fn update_field(tx: &Tx, def: &FieldDef, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "UPDATE client_fields SET label = ?2, kind = ?3, choices = ?4, mandatory = ?5, public = ?6, origin = ?7,
            personal_data = ?8, updated_at = ?9
         WHERE key = ?1",
        params![
            def.key,
            def.label,
            def.kind.as_str(),
            choices_json(def),
            def.mandatory,
            def.public,
            def.origin.as_str(),
            def.personal_data,
            now
        ],
    )?;
    Ok(())
}

/// Every distinct stored value of a field.
pub fn field_values(r: &impl Read, key: &str) -> Result<Vec<serde_json::Value>> {
    let mut stmt = r.conn().prepare(
        "SELECT DISTINCT json_quote(json_extract(fields, ?1)) FROM clients WHERE json_type(fields, ?1) IS NOT NULL",
    )?;
    let rows = stmt.query_map([field_path(key)], |r| r.get::<_, String>(0))?;
    rows.map(|t| {
        serde_json::from_str(&t?)
            .map_err(|e| crate::Error::internal("a stored field value is unreadable").with_source(e))
    })
    .collect()
}

/// Deletes a field and every client's value of it. Returns how many clients had one.
/// The expression index of a custom field, (re)made for its type: a segment on it
/// (`budget >= 10000`, `sector = Tech`) reads an index range instead of every client's JSON.
pub fn index_field(tx: &Tx, def: &FieldDef) -> Result<()> {
    use crate::domain::profile::FieldKind;
    let key = indexable_key(&def.key)?;
    let path = format!("json_extract(fields, '$.\"{key}\"')");
    // Text and choices are indexed without case, as segments compare them.
    let value =
        if matches!(def.kind, FieldKind::Text | FieldKind::Choice) { format!("{path} COLLATE NOCASE") } else { path };
    tx.conn().execute_batch(&format!(
        "DROP INDEX IF EXISTS clients_field_{key}; CREATE INDEX clients_field_{key} ON clients ({value});"
    ))?;
    Ok(())
}

fn unindex_field(tx: &Tx, key: &str) -> Result<()> {
    let key = indexable_key(key)?;
    tx.conn().execute_batch(&format!("DROP INDEX IF EXISTS clients_field_{key}"))?;
    Ok(())
}

/// Indexes every registered field (migration 0020).
pub(super) fn index_all_fields(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    let t = Tx { conn: tx };
    for def in fields(&t)? {
        index_field(&t, &def)?;
    }
    Ok(())
}

/// A key goes into index DDL as is: only what `profile::field_key` accepts.
fn indexable_key(key: &str) -> Result<&str> {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        Ok(key)
    } else {
        Err(crate::Error::internal(format!("`{key}` is not a field key")))
    }
}

pub fn delete_field(tx: &Tx, key: &str) -> Result<usize> {
    let n = tx.conn().execute(
        "UPDATE clients SET fields = json_remove(fields, ?1) WHERE json_type(fields, ?1) IS NOT NULL",
        [field_path(key)],
    )?;
    tx.conn().execute("DELETE FROM client_fields WHERE key = ?1", [key])?;
    unindex_field(tx, key)?;
    Ok(n)
}

macro_rules! group_select {
    () => {
        "SELECT g.id, g.name, g.kind, g.description, g.segment,
        (SELECT count(*) FROM client_group_members m WHERE m.group_id = g.id), g.created_at, u.username, g.updated_at
     FROM client_groups g LEFT JOIN users u ON u.id = g.created_by"
    };
}

fn group_row(r: &Row<'_>) -> rusqlite::Result<Group> {
    Ok(Group {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        description: r.get(3)?,
        segment: r.get(4)?,
        members: r.get(5)?,
        created_at: r.get(6)?,
        created_by: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

pub fn groups(r: &impl Read) -> Result<Vec<Group>> {
    let mut stmt = r.conn().prepare(concat!(group_select!(), " ORDER BY g.name"))?;
    let rows = stmt.query_map([], group_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A group by exact name (case ignored), or else by `id`.
pub fn group(r: &impl Read, name: &str, id: Option<i64>) -> Result<Option<Group>> {
    Ok(r.conn()
        .prepare(concat!(group_select!(), " WHERE g.name = ?1 OR g.id = ?2 ORDER BY g.name = ?1 DESC LIMIT 1"))?
        .query_row(params![name.trim(), id], group_row)
        .optional()?)
}

pub fn insert_group(
    tx: &Tx,
    name: &str,
    kind: &str,
    description: &str,
    segment: Option<&str>,
    by: i64,
    now: DateTime<Utc>,
) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn()
        .execute(
            "INSERT INTO client_groups (name, kind, description, segment, created_at, created_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)",
            params![name, kind, description, segment, now, by],
        )
        .map_err(|e| unique_violation(e, || format!("there is already a group `{name}`")))?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn delete_group(tx: &Tx, id: i64) -> Result<()> {
    tx.conn().execute("DELETE FROM client_groups WHERE id = ?1", [id])?;
    Ok(())
}

/// Adds a client to a group; false when it already was a member.
pub fn add_member(tx: &Tx, group: i64, client: i64, by: i64, now: DateTime<Utc>) -> Result<bool> {
    let now = super::utc_text(now);
    let n = tx
        .conn()
        .prepare_cached(
            "INSERT OR IGNORE INTO client_group_members (group_id, client_id, added_at, added_by) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![group, client, now, by])?;
    Ok(n == 1)
}

pub fn remove_member(tx: &Tx, group: i64, client: i64) -> Result<bool> {
    Ok(tx.conn().execute("DELETE FROM client_group_members WHERE group_id = ?1 AND client_id = ?2", [group, client])?
        == 1)
}

pub fn touch_group(tx: &Tx, id: i64, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute("UPDATE client_groups SET updated_at = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

/// The groups a client belongs to, by name.
pub fn groups_of(r: &impl Read, client: i64) -> Result<Vec<String>> {
    let mut stmt = r.conn().prepare_cached(
        "SELECT g.name FROM client_group_members m JOIN client_groups g ON g.id = m.group_id
         WHERE m.client_id = ?1 ORDER BY g.name",
    )?;
    let rows = stmt.query_map([client], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

macro_rules! segment_select {
    () => {
        "SELECT s.id, s.name, s.filter, s.description, s.created_at, u.username, s.updated_at
     FROM client_segments s LEFT JOIN users u ON u.id = s.created_by"
    };
}

fn segment_row(r: &Row<'_>) -> rusqlite::Result<Segment> {
    Ok(Segment {
        id: r.get(0)?,
        name: r.get(1)?,
        filter: r.get(2)?,
        description: r.get(3)?,
        created_at: r.get(4)?,
        created_by: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

pub fn segments(r: &impl Read) -> Result<Vec<Segment>> {
    let mut stmt = r.conn().prepare(concat!(segment_select!(), " ORDER BY s.name"))?;
    let rows = stmt.query_map([], segment_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A segment by exact name (case ignored), or else by `id`.
pub fn segment(r: &impl Read, name: &str, id: Option<i64>) -> Result<Option<Segment>> {
    Ok(r.conn()
        .prepare(concat!(segment_select!(), " WHERE s.name = ?1 OR s.id = ?2 ORDER BY s.name = ?1 DESC LIMIT 1"))?
        .query_row(params![name.trim(), id], segment_row)
        .optional()?)
}

pub fn insert_segment(
    tx: &Tx,
    name: &str,
    filter: &str,
    description: &str,
    by: i64,
    now: DateTime<Utc>,
) -> Result<i64> {
    let now = super::utc_text(now);
    tx.conn()
        .execute(
            "INSERT INTO client_segments (name, filter, description, created_at, created_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
            params![name, filter, description, now, by],
        )
        .map_err(|e| unique_violation(e, || format!("there is already a segment `{name}`")))?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn update_segment(tx: &Tx, id: i64, filter: &str, description: &str, now: DateTime<Utc>) -> Result<()> {
    let now = super::utc_text(now);
    tx.conn().execute(
        "UPDATE client_segments SET filter = ?2, description = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, filter, description, now],
    )?;
    Ok(())
}

pub fn delete_segment(tx: &Tx, id: i64) -> Result<()> {
    tx.conn().execute("DELETE FROM client_segments WHERE id = ?1", [id])?;
    Ok(())
}

/// Appends the SQL of a plan over the clients aliased `c`: fixed fragments and bound values.
pub fn push_plan(q: &mut Query, plan: &Plan) {
    match plan {
        Plan::And(a, b) => {
            q.push("(");
            push_plan(q, a);
            q.push(" AND ");
            push_plan(q, b);
            q.push(")");
        }
        Plan::Or(items) => {
            q.push("(");
            for (i, p) in items.iter().enumerate() {
                if i > 0 {
                    q.push(" OR ");
                }
                push_plan(q, p);
            }
            q.push(")");
        }
        // NULL-safe: "not X" is everyone X does not select, those without a value included.
        Plan::Not(p) => {
            q.push("NOT coalesce(");
            push_plan(q, p);
            q.push(", 0)");
        }
        Plan::Test(col, check) => push_test(q, col, check),
    }
}

fn bind_lit(q: &mut Query, fragment: &'static str, lit: &Lit) {
    match lit {
        Lit::Text(s) => q.bind(fragment, s.clone()),
        Lit::Int(i) => q.bind(fragment, *i),
        Lit::Real(f) => q.bind(fragment, *f),
    };
}

fn cmp_fragment(op: Op) -> &'static str {
    match op {
        Op::Lt => " < ?",
        Op::Le => " <= ?",
        Op::Gt => " > ?",
        Op::Ge => " >= ?",
        _ => " = ?",
    }
}

/// Engagement of a client with campaign mail (people, not machines), through the indexes on
/// `mail_events(client_id)` and `send_log(client_id)`.
const LAST_OPEN: &str =
    "(SELECT max(e.created_at) FROM mail_events e WHERE e.client_id = c.id AND e.kind = 'open' AND e.machine = 0)";
const LAST_CLICK: &str =
    "(SELECT max(e.created_at) FROM mail_events e WHERE e.client_id = c.id AND e.kind = 'click' AND e.machine = 0)";
const SENDS_SINCE_ENGAGEMENT: &str = "(SELECT count(*) FROM send_log s WHERE s.client_id = c.id AND s.status = 'sent'
    AND s.sent_at > coalesce((SELECT max(e.created_at) FROM mail_events e
        WHERE e.client_id = c.id AND e.kind IN ('open', 'click') AND e.machine = 0), ''))";

/// Each test is true or false, never NULL, so that `NOT` means "everyone else" (`x IS NOT
/// NULL AND …` rather than `coalesce(…)`, which would hide the column from its index).
fn push_test(q: &mut Query, col: &Column, check: &Check) {
    let plain = match col {
        Column::Name => Some("c.full_name"),
        Column::Email => Some("c.email"),
        Column::Phone => Some("c.phone"),
        Column::Stage => Some("c.stage"),
        Column::Consent => Some("c.consent"),
        Column::Created => Some("c.created_at"),
        Column::FirstContact => Some("c.first_contact_at"),
        Column::LastContact => Some("c.last_contact_at"),
        Column::LastOpen => Some(LAST_OPEN),
        Column::LastClick => Some(LAST_CLICK),
        Column::SendsSinceEngagement => Some(SENDS_SINCE_ENGAGEMENT),
        _ => None,
    };
    match (col, check) {
        // Stored canonical and never NULL: plain comparisons, which the indexes serve.
        (Column::Stage, Check::Eq(v)) => bind_lit(q, "(c.stage = ?)", v),
        (Column::Consent, Check::Eq(v)) => bind_lit(q, "(c.consent = ?)", v),
        (Column::Created | Column::FirstContact, Check::Cmp(op, v)) => {
            q.push("(");
            q.push(if *col == Column::Created { "c.created_at" } else { "c.first_contact_at" });
            bind_lit(q, cmp_fragment(*op), v);
            q.push(")");
        }
        (Column::LastContact, Check::Cmp(op, v)) => {
            q.push("(c.last_contact_at IS NOT NULL AND c.last_contact_at");
            bind_lit(q, cmp_fragment(*op), v);
            q.push(")");
        }
        (Column::Company, Check::Eq(v)) => {
            bind_lit(q, "(c.company_id IS NOT NULL AND c.company_id IN (SELECT id FROM companies WHERE name = ?))", v)
        }
        (Column::Company, Check::Contains(v)) => {
            q.bind(
                "(c.company_id IS NOT NULL AND c.company_id IN
                    (SELECT id FROM companies WHERE instr(lower(name), lower(?)) > 0))",
                v.clone(),
            );
        }
        (Column::Company, _) => {
            q.push("(c.company_id IS NULL)");
        }
        (Column::Sales, Check::Eq(v)) => bind_lit(
            q,
            "(c.sales_contact_id IS NOT NULL AND c.sales_contact_id IN
                (SELECT id FROM users WHERE username = ? COLLATE NOCASE))",
            v,
        ),
        (Column::Sales, _) => {
            q.push("(c.sales_contact_id IS NULL)");
        }
        (Column::Group, Check::Eq(v)) => bind_lit(
            q,
            "(c.id IN (SELECT m.client_id FROM client_group_members m JOIN client_groups g ON g.id = m.group_id
                WHERE g.name = ?))",
            v,
        ),
        (Column::Group, _) => {
            q.push("(c.id NOT IN (SELECT client_id FROM client_group_members))");
        }
        (Column::Field { path, kind }, check) => {
            use crate::domain::profile::FieldKind;
            match check {
                Check::Empty => q.bind("(json_type(c.fields, ?) IS NULL)", path.clone()),
                // Text and choices: `x COLLATE NOCASE = ?` alone, the expression their index
                // holds, so it covers the test (NULL without a value: `Not` is NULL-safe).
                Check::Eq(v) if matches!(kind, FieldKind::Text | FieldKind::Choice) => {
                    q.push("(json_extract(c.fields, ").push_json_path(path).push(") COLLATE NOCASE");
                    bind_lit(q, " = ?)", v);
                    q
                }
                // `x IS NOT NULL AND x op ?`: never NULL, and the field's index covers it.
                Check::Eq(v) | Check::Cmp(_, v) => {
                    q.push("(json_extract(c.fields, ")
                        .push_json_path(path)
                        .push(") IS NOT NULL AND json_extract(c.fields, ");
                    q.push_json_path(path).push(")");
                    match check {
                        Check::Cmp(op, _) => bind_lit(q, cmp_fragment(*op), v),
                        _ => bind_lit(q, " = ?", v),
                    }
                    q.push(")")
                }
                Check::Contains(v) => {
                    q.bind("coalesce(instr(lower(json_extract(c.fields, ?))", path.clone());
                    q.bind(", lower(?)) > 0, 0)", v.clone())
                }
            };
        }
        (_, check) => {
            let Some(column) = plain else { return };
            q.push("coalesce(");
            q.push(column);
            match check {
                Check::Eq(v) => bind_lit(q, " = ? COLLATE NOCASE, 0)", v),
                Check::Cmp(op, v) => {
                    bind_lit(q, cmp_fragment(*op), v);
                    q.push(", 0)");
                }
                Check::Contains(v) => {
                    q.push(" IS NOT NULL AND instr(lower(");
                    q.push(column);
                    q.bind("), lower(?)) > 0, 0)", v.clone());
                }
                Check::Empty => {
                    q.push(" IS NULL, 1)");
                }
            }
        }
    }
}
