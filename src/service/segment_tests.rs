//! Segments on custom fields at scale: the count reads the field's expression index, and a
//! page is the same whether it is found by walking the listing order or by sorting the few
//! members (db::client::select_plan).

use super::group;
use super::testing::{demo, session_as};
use crate::db::{self, Read};
use crate::domain::client::Client;

/// The demo plus 3,000 clients: a budget on one in three, a sector on one in two (a tenth in
/// `Tech`), and one rare budget of 999,999.
fn world() -> db::Db {
    let db = demo();
    db.exec_for_test(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
         INSERT INTO clients (full_name, email, stage, first_contact_at, created_at, updated_at, fields)
         SELECT 'Client ' || printf('%04d', (i * 7919) % 3000), 'c' || i || '@seg.test', 'lead', 'x', 'x', 'x',
            json_object(
                'budget', CASE WHEN i = 2999 THEN 999999 WHEN i % 3 = 0 THEN (i * 37) % 20000 END,
                'sector', CASE WHEN i % 2 = 0 THEN CASE WHEN i % 10 = 0 THEN 'Tech' ELSE 'Hôtellerie' END END
            )
         FROM n;
         UPDATE clients SET fields = json_remove(fields, '$.budget') WHERE json_type(fields, '$.budget') = 'null';
         UPDATE clients SET fields = json_remove(fields, '$.sector') WHERE json_type(fields, '$.sector') = 'null';",
    )
    .expect("clients");
    db
}

#[test]
fn a_field_segment_is_the_same_by_walk_or_by_sort_and_counts_from_its_index() {
    let db = world();
    let mark = session_as(&db, "mark");
    let everyone: Vec<Client> = db::client::list(&db, &db::client::Filter::default()).expect("all");
    let budget = |c: &Client| c.fields.get("budget").and_then(serde_json::Value::as_i64);
    let sector = |c: &Client| c.fields.get("sector").and_then(|v| v.as_str().map(str::to_lowercase));
    type Rule = fn(Option<i64>, Option<String>) -> bool;
    let cases: &[(&str, Rule)] = &[
        ("budget>=10000", |b, _| b.is_some_and(|b| b >= 10_000)),
        ("budget>500000", |b, _| b.is_some_and(|b| b > 500_000)),
        ("sector=tech", |_, s| s.as_deref() == Some("tech")),
        ("sector=Tech and budget<5000", |b, s| s.as_deref() == Some("tech") && b.is_some_and(|b| b < 5000)),
        ("not budget>=10000", |b, _| b.is_none_or(|b| b < 10_000)),
        ("budget=20000", |b, _| b == Some(20_000)),
    ];
    for (filter, rule) in cases {
        let expected: Vec<i64> = everyone.iter().filter(|c| rule(budget(c), sector(c))).map(|c| c.id).collect();
        assert!(!expected.is_empty(), "{filter} selects someone");
        for limit in [Some(1), Some(50), Some(2000), None] {
            let r = group::run(&mark, None, Some(filter), false, limit).expect(filter);
            assert_eq!(r.count, expected.len() as i64, "{filter}: count");
            let got: Vec<i64> = r.clients.expect("a page").iter().map(|c| c.id).collect();
            let want: Vec<i64> = expected.iter().copied().take(limit.map_or(usize::MAX, |l| l as usize)).collect();
            assert_eq!(got, want, "{filter} limit {limit:?}");
        }
    }
    // The counts read the fields' expression indexes, not every client's JSON.
    for (filter, index) in [("budget>=10000", "clients_field_budget"), ("sector=Tech", "clients_field_sector")] {
        let plan = group::plan(&mark, filter).expect("plan");
        let q = db::client::count_plan_query(&plan);
        let sql = format!("EXPLAIN QUERY PLAN {}", q.sql());
        let mut stmt = db.conn().prepare(&sql).expect("explain");
        let lines: Vec<String> = stmt
            .query_map(q.params().as_slice(), |r| r.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(
            lines
                .iter()
                // Covering: the value is read from the index, not from each member's JSON.
                .any(|l| l.contains(&format!("USING COVERING INDEX {index}"))),
            "{filter}: {lines:?}"
        );
    }
}
