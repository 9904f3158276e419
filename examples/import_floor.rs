//! The SQL floor of a client import, for `scripts/bench.sh` (QUALITY.md): SQLite itself,
//! through the same bundled library as the binary, loads the CSV into a scratch table, then one
//! transaction of `INSERT … SELECT` fills the real tables of a Rolo database — companies,
//! clients with every index maintained, their stage history, the search index — as an import
//! of new clients does, without any of Rolo's per-row rules.
//!
//! Usage: import_floor DB CSV   (DB made by `rolo init`; CSV `name,email,phone,company,stage`)
//! Prints `load SECONDS insert SECONDS total SECONDS` on stdout.

use std::time::Instant;

use rusqlite::{Connection, params};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, csv] = args.as_slice() else {
        return Err("usage: import_floor DB CSV".into());
    };
    let started = Instant::now();
    let mut c = Connection::open(db)?;
    // Rolo's connection settings, and the 64 MiB page cache its import takes for the run.
    c.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA journal_mode = WAL; PRAGMA cache_size = -65536;",
    )?;

    // What the sqlite3 shell's `.import` does: one transaction of prepared inserts.
    let tx = c.transaction()?;
    tx.execute_batch("CREATE TABLE import_scratch (name TEXT, email TEXT, phone TEXT, company TEXT, stage TEXT)")?;
    {
        let mut insert = tx.prepare("INSERT INTO import_scratch VALUES (?1, ?2, ?3, ?4, ?5)")?;
        let mut reader = csv::Reader::from_path(csv)?;
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record)? {
            insert.execute(params![&record[0], &record[1], &record[2], &record[3], &record[4]])?;
        }
    }
    tx.commit()?;
    let loaded = started.elapsed();

    let now = "2026-12-01T00:00:00.000Z";
    let step = std::cell::Cell::new(Instant::now());
    let lap = |what: &str| {
        if std::env::var_os("FLOOR_STEPS").is_some() {
            eprintln!("{what}: {:.2} s", step.get().elapsed().as_secs_f64());
        }
        step.set(Instant::now());
    };
    let tx = c.transaction()?;
    let first: i64 = tx.query_row("SELECT coalesce(max(id), 0) FROM clients", [], |r| r.get(0))?;
    // The search index is filled in one statement after the rows, not by its per-row trigger.
    let trigger: String = tx.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = 'clients_search_insert'",
        [],
        |r| r.get(0),
    )?;
    tx.execute_batch("DROP TRIGGER clients_search_insert")?;
    tx.execute(
        "INSERT OR IGNORE INTO companies (name, currency, created_at, updated_at)
         SELECT DISTINCT company, 'EUR', ?1, ?1 FROM import_scratch WHERE company <> ''",
        [now],
    )?;
    lap("companies");
    tx.execute(
        "INSERT INTO clients (full_name, email, phone, phone_digits, company_id, sales_contact_id, stage,
            first_contact_at, created_at, created_by, updated_at, consent, fields)
         SELECT s.name, s.email, s.phone,
            replace(replace(replace(replace(replace(replace(s.phone, ' ', ''), '+', ''), '-', ''), '.', ''), '(', ''), ')', ''),
            co.id, 1, s.stage, ?1, ?1, 1, ?1, 'unknown', '{}'
         FROM import_scratch s LEFT JOIN companies co ON co.name = s.company ORDER BY s.rowid",
        [now],
    )?;
    lap("clients");
    tx.execute(
        "INSERT INTO client_stage_history (client_id, from_stage, to_stage, at, by_id)
         SELECT id, NULL, stage, ?2, 1 FROM clients WHERE id > ?1",
        params![first, now],
    )?;
    lap("history");
    tx.execute(
        "INSERT INTO clients_search (rowid, body) SELECT id, body FROM client_search_text WHERE id > ?1",
        [first],
    )?;
    lap("search");
    tx.execute_batch(&trigger)?;
    tx.execute_batch("DROP TABLE import_scratch")?;
    tx.commit()?;
    let total = started.elapsed();
    println!(
        "load {:.2} insert {:.2} total {:.2}",
        loaded.as_secs_f64(),
        (total - loaded).as_secs_f64(),
        total.as_secs_f64()
    );
    Ok(())
}
