//! `client list --search TEXT`: one answer (domain::search's rule, in the listing's by-name
//! order), reached three ways depending on how many clients match.
//!
//! - A page (`--limit` up to [`PAGE_MAX`]) is first looked for by walking the listing order and
//!   testing each client: a text found in one client in ten fills a page of 20 after ~200 rows,
//!   where sorting its 100,000 matches would take tens of milliseconds.
//! - When that walk reads [`WALK_MIN`] clients (or `WALK_PER_ROW` per row asked for) without
//!   filling the page, the text is rare: the trigram index proposes candidates, each is checked
//!   and the few matches are sorted.
//! - With no page, a text shorter than a trigram, or more than [`INDEX_MAX`] matches, every
//!   client is read in order and the matches stream out.

use super::{Filter, by_ids, first_hits, from_row, push_filters, push_row_filters};
use crate::Result;
use crate::db::Read;
use crate::db::query::Query;
use crate::domain::client::Client;
use crate::domain::search::{Haystack, Needle};

const PAGE_MAX: usize = 1000;
const WALK_MIN: usize = 1000;
const WALK_PER_ROW: usize = 50;
const INDEX_MAX: usize = 50_000;

pub(super) fn each(r: &impl Read, f: &Filter, needle: &Needle, each: impl FnMut(Client) -> Result<()>) -> Result<()> {
    let limit = f.limit.map(|l| l as usize);
    if let Some(page) = limit.filter(|l| *l <= PAGE_MAX) {
        let budget = (page * WALK_PER_ROW).max(WALK_MIN);
        let walk = first_hits(r, &walk_query(f, budget), page, budget, |row| matches(needle, row))?;
        if let Some(ids) = walk {
            return by_ids(r, &ids, each);
        }
    }
    if let Some(mut hits) = index_hits(r, f, needle)? {
        hits.sort_unstable();
        hits.dedup();
        hits.truncate(limit.unwrap_or(usize::MAX));
        let ids: Vec<i64> = hits.into_iter().map(|(_, id)| id).collect();
        return by_ids(r, &ids, each);
    }
    walk_all(r, f, needle, limit, each)
}

const CANDIDATE: &str = "SELECT c.id, c.full_name, c.email, c.phone, co.name
     FROM clients c LEFT JOIN companies co ON co.id = c.company_id WHERE 1";

/// The walk in listing order over the filtered clients, `LIMIT ?` rows (a test checks its plan
/// reads an index in order, with no sort).
pub fn walk_query(f: &Filter, rows: usize) -> Query {
    let mut q = Query::new(CANDIDATE);
    push_filters(&mut q, f);
    q.push(" ORDER BY c.full_name, c.id");
    q.bind(" LIMIT ?", i64::try_from(rows).unwrap_or(i64::MAX));
    q
}

/// The candidates the search index proposes for an FTS5 query (see `Needle::index_query`).
pub fn index_query(f: &Filter, fts: String) -> Query {
    let mut q = Query::new(CANDIDATE);
    q.bind(" AND c.id IN (SELECT rowid FROM clients_search WHERE clients_search MATCH ?)", fts);
    push_row_filters(&mut q, f);
    q
}

/// The clients of some companies (by a JSON array of ids).
pub fn company_query(f: &Filter, companies: String) -> Query {
    let mut q = Query::new(CANDIDATE);
    q.bind(" AND c.company_id IN (SELECT value FROM json_each(?))", companies);
    push_row_filters(&mut q, f);
    q
}

/// Reads candidate rows, keeping the matches as (name, id); stops (false) past `max`.
fn collect(r: &impl Read, q: &Query, needle: &Needle, max: usize, hits: &mut Vec<(String, i64)>) -> Result<bool> {
    let mut stmt = r.conn().prepare_cached(q.sql())?;
    let mut rows = stmt.query(q.params().as_slice())?;
    while let Some(row) = rows.next()? {
        if matches(needle, row)? {
            if hits.len() == max {
                return Ok(false);
            }
            hits.push((text(row, 1)?.to_string(), row.get(0)?));
        }
    }
    Ok(true)
}

/// Whether a candidate row (`CANDIDATE`'s columns) is a match.
fn matches(needle: &Needle, row: &rusqlite::Row<'_>) -> rusqlite::Result<bool> {
    Ok(needle.matches(&Haystack {
        name: text(row, 1)?,
        email: text(row, 2)?,
        phone: row.get_ref(3)?.as_str_or_null().map_err(|e| conversion(3, e))?,
        company: row.get_ref(4)?.as_str_or_null().map_err(|e| conversion(4, e))?,
    }))
}

fn text<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(i)?.as_str().map_err(|e| conversion(i, e))
}

fn conversion(i: usize, e: rusqlite::types::FromSqlError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
}

/// The matches through the index and the companies table, or `None` when there are too many
/// to sort in memory or the text is too short for trigrams.
fn index_hits(r: &impl Read, f: &Filter, needle: &Needle) -> Result<Option<Vec<(String, i64)>>> {
    let Some(fts) = needle.index_query() else { return Ok(None) };
    let mut hits = Vec::new();
    if !collect(r, &index_query(f, fts), needle, INDEX_MAX, &mut hits)? {
        return Ok(None);
    }
    let mut companies = Vec::new();
    let mut stmt = r.conn().prepare_cached("SELECT id, name FROM companies")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        if needle.matches_company(text(row, 1)?) {
            companies.push(row.get::<_, i64>(0)?);
        }
    }
    if !companies.is_empty() {
        let q = company_query(f, serde_json::to_string(&companies)?);
        if !collect(r, &q, needle, INDEX_MAX, &mut hits)? {
            return Ok(None);
        }
    }
    Ok(Some(hits))
}

fn walk_all(
    r: &impl Read,
    f: &Filter,
    needle: &Needle,
    limit: Option<usize>,
    mut each: impl FnMut(Client) -> Result<()>,
) -> Result<()> {
    let mut q = Query::new(concat!(select!(), " WHERE 1"));
    push_filters(&mut q, f);
    q.push(" ORDER BY c.full_name, c.id");
    let mut stmt = r.conn().prepare_cached(q.sql())?;
    let mut rows = stmt.query(q.params().as_slice())?;
    let mut left = limit.unwrap_or(usize::MAX);
    while left > 0
        && let Some(row) = rows.next()?
    {
        let c = from_row(row)?;
        let h =
            Haystack { name: &c.full_name, email: &c.email, phone: c.phone.as_deref(), company: c.company.as_deref() };
        if needle.matches(&h) {
            left -= 1;
            each(c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, client};

    /// 3,000 clients: one in ten a Casey, one Zoë Dupré, companies, phones.
    fn population() -> Db {
        let db = Db::open_in_memory().expect("db");
        let c = db.conn();
        c.execute_batch(
            "INSERT INTO companies (name, currency, created_at, updated_at) VALUES
                ('Crêperie Œuf', 'EUR', 'x', 'x'), ('Acme', 'EUR', 'x', 'x');",
        )
        .expect("companies");
        let first = ["Kevin", "Aliénor", "Léon", "Nina", "John"];
        let last = ["Casey", "Ouick", "Petit", "Schulz", "Bouzin", "Blangier", "Vichum", "O'Brien", "Hastroff", "Marc"];
        let mut insert = c
            .prepare(
                "INSERT INTO clients (full_name, email, phone, phone_digits, company_id, sales_contact_id, stage,
                    first_contact_at, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'x', 'x', 'x')",
            )
            .expect("prepare");
        for i in 0..3000_i64 {
            let name = if i == 1717 {
                "Zoë Dupré".to_string()
            } else {
                format!("{} {}", first[(i % 5) as usize], last[(i / 5 % 10) as usize])
            };
            let phone = format!("+33 6 {:02} {:02} 00", i % 100, i / 100);
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            let company = match i % 700 {
                0 => Some(1),
                1..=300 => Some(2),
                _ => None,
            };
            let stage = if i % 3 == 0 { "won" } else { "lead" };
            insert
                .execute(rusqlite::params![name, format!("c{i}@ex.test"), phone, digits, company, None::<i64>, stage])
                .expect("client");
        }
        drop(insert);
        db
    }

    #[test]
    fn every_way_to_search_gives_the_listing_in_order() {
        let db = population();
        let everyone = client::list(&db, &Filter::default()).expect("all");
        assert_eq!(everyone.len(), 3000);
        // What a search must return: the rule applied to every client, in listing order.
        let expected = |f: &Filter, text: &str| -> Vec<i64> {
            let needle = Needle::new(text).expect("needle");
            everyone
                .iter()
                .filter(|c| f.stage.as_deref().is_none_or(|s| s == c.stage))
                .filter(|c| {
                    needle.matches(&Haystack {
                        name: &c.full_name,
                        email: &c.email,
                        phone: c.phone.as_deref(),
                        company: c.company.as_deref(),
                    })
                })
                .map(|c| c.id)
                .take(f.limit.map_or(usize::MAX, |l| l as usize))
                .collect()
        };
        // Dense (the walk fills the page), rare (the walk gives up: the index), a company
        // (its clients), a phone as typed, too short for trigrams (walks), nobody.
        let texts = ["casey", "CASEY", "zoe dupre", "DUPRÉ", "creperie", "œuf", "6 12", "ie", "e", "nobody-here"];
        let mut checked = 0;
        for text in texts {
            for limit in [Some(1), Some(20), Some(5000), None] {
                for stage in [None, Some("won".to_string())] {
                    let f = Filter { search: Some(text.into()), limit, stage, ..Default::default() };
                    let got: Vec<i64> = client::list(&db, &f).expect("search").iter().map(|c| c.id).collect();
                    assert_eq!(got, expected(&f, text), "{text:?} limit {limit:?} stage {:?}", f.stage);
                    checked += got.len();
                }
            }
        }
        assert!(checked > 10_000, "the cases return clients ({checked})");
    }
}
