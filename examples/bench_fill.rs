//! Fills a Rolo database with synthetic clients, contracts and events for `scripts/bench.sh`,
//! through the same bundled SQLite (and so the same FTS5 trigram tokenizer) as the binary.
//!
//! Usage: bench_fill DB CLIENTS CONTRACTS EVENTS [TICKETS]

use std::time::Instant;

use rusqlite::{Connection, params};

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (db, clients, contracts, events, tickets) = match args.as_slice() {
        [_, db, c, k, e] => (db, c, k, e, "0"),
        [_, db, c, k, e, t] => (db, c, k, e, t.as_str()),
        _ => return Err("usage: bench_fill DB CLIENTS CONTRACTS EVENTS [TICKETS]".into()),
    };
    let n_tickets: u64 = tickets.parse()?;
    let (n_clients, n_contracts, n_events): (u64, u64, u64) = (clients.parse()?, contracts.parse()?, events.parse()?);
    let started = Instant::now();
    let mut c = Connection::open(db)?;
    c.execute_batch("PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;")?;
    let ids = |c: &Connection, role: &str| -> rusqlite::Result<Vec<i64>> {
        let mut s = c.prepare(
            "SELECT u.id FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id WHERE r.name = ?1",
        )?;
        s.query_map([role], |r| r.get(0))?.collect()
    };
    let (sales, support) = (ids(&c, "sales")?, ids(&c, "support")?);
    if sales.is_empty() || support.is_empty() {
        return Err("create sales and support users first".into());
    }
    let now = "2026-11-01T00:00:00.000Z";
    let stages = ["subscriber", "lead", "qualified", "opportunity", "won", "lost"];
    let first = ["Kevin", "John", "Lou", "Jacky", "Aliénor", "Kate", "Zoë", "Léon", "Marc", "Nina"];
    let last = ["Casey", "Ouick", "Bouzin", "Blangier", "Vichum", "Hastroff", "O'Brien", "Dupré", "Petit", "Schulz"];
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let n_companies = (n_clients / 20).max(1);
    let tx = c.transaction()?;
    {
        let mut s = tx.prepare(
            "INSERT INTO companies (name, currency, sales_owner_id, created_at, updated_at) VALUES (?1, 'EUR', ?2, ?3, ?3)",
        )?;
        for i in 1..=n_companies {
            s.execute(params![format!("Company {i}"), sales[rng.below(sales.len() as u64) as usize], now])?;
        }
        // The search index is filled once after the rows, as an import does.
        let trigger: String = tx.query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = 'clients_search_insert'",
            [],
            |r| r.get(0),
        )?;
        tx.execute_batch("DROP TRIGGER clients_search_insert")?;
        let before: i64 = tx.query_row("SELECT coalesce(max(id), 0) FROM clients", [], |r| r.get(0))?;
        let mut s = tx.prepare(
            "INSERT INTO clients (full_name, email, phone, phone_digits, company_id, sales_contact_id, stage,
                first_contact_at, created_at, updated_at, fields) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8, ?9)",
        )?;
        // Custom field values for the segment cases (the fields are registered afterwards by
        // bench.sh): a budget on three clients in ten, a sector on one in two.
        let sectors =
            ["Tech", "Hôtellerie", "Événementiel", "Secteur public", "Santé", "Industrie", "Commerce", "Banque"];
        for i in 1..=n_clients {
            let phone = format!("+33 6 {:02} {:02} {:02} {:02}", i % 100, i / 100 % 100, i / 10000 % 100, i % 97);
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            let company = (i % 3 != 0).then(|| 1 + rng.below(n_companies) as i64);
            s.execute(params![
                format!("{} {} {i}", first[rng.below(10) as usize], last[rng.below(10) as usize]),
                format!("client{i}@bench.test"),
                phone,
                digits,
                company,
                sales[rng.below(sales.len() as u64) as usize],
                stages[rng.below(6) as usize],
                now,
                {
                    let mut fields = serde_json::Map::new();
                    if rng.below(10) < 3 {
                        fields.insert("budget".into(), rng.below(20_000).into());
                    }
                    if rng.below(2) == 0 {
                        fields.insert("sector".into(), sectors[rng.below(8) as usize].into());
                    }
                    serde_json::Value::Object(fields).to_string()
                }
            ])?;
        }
        drop(s);
        tx.execute(
            "INSERT INTO clients_search (rowid, body) SELECT id, body FROM client_search_text WHERE id > ?1",
            [before],
        )?;
        tx.execute_batch(&trigger)?;
        let mut s = tx.prepare(
            "INSERT INTO contracts (client_id, total, due, signed, signed_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?;
        for _ in 0..n_contracts {
            let total = 1000 + rng.below(5_000_000) as i64;
            let due = if rng.below(10) < 6 { 0 } else { 1 + rng.below(total as u64) as i64 };
            let signed = rng.below(2) == 0;
            s.execute(params![1 + rng.below(n_clients) as i64, total, due, signed, signed.then_some(now), now])?;
        }
        let mut s = tx.prepare(
            "INSERT INTO events (contract_id, name, starts_at, ends_at, support_contact_id, location, attendees, notes,
                created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'Salle des fêtes', ?6, '', ?7, ?7)",
        )?;
        for i in 1..=n_events {
            let (y, m, d, h) = (2024 + rng.below(3), 1 + rng.below(12), 1 + rng.below(28), 9 + rng.below(10));
            let start = format!("{y}-{m:02}-{d:02}T{h:02}:00:00.000Z");
            let end = format!("{y}-{m:02}-{d:02}T{:02}:00:00.000Z", h + 1 + rng.below(4));
            let who = (rng.below(10) >= 3).then(|| support[rng.below(support.len() as u64) as usize]);
            s.execute(params![
                1 + rng.below(n_contracts) as i64,
                format!("Event {i}"),
                start,
                end,
                who,
                10 + rng.below(490) as i64,
                now
            ])?;
        }
        // Open tickets created over the last 30 days, a tenth of them waiting for the client.
        if n_tickets > 0 {
            tx.execute(
                "INSERT INTO projects (name, company_id, created_at, updated_at) VALUES ('Bench project', 1, ?1, ?1)",
                [now],
            )?;
            let project = tx.last_insert_rowid();
            let base = chrono_like_now();
            let mut t = tx.prepare(
                "INSERT INTO tickets (project_id, type, subject, status, author_id, assignee_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?;
            let mut h = tx.prepare(
                "INSERT INTO ticket_history (ticket_id, at, actor_id, field, old_value, new_value) VALUES (?1, ?2, ?3, 'status', ?4, ?5)",
            )?;
            let types = ["urgent", "maintenance", "evolution"];
            for i in 0..n_tickets {
                let created = base - rng.below(30 * 24 * 3600) as i64;
                let waiting = rng.below(10) == 0;
                let who = support[rng.below(support.len() as u64) as usize];
                let assignee = (rng.below(2) == 0).then_some(who);
                t.execute(params![
                    project,
                    types[rng.below(3) as usize],
                    format!("Ticket {i}"),
                    if waiting { "waiting_client" } else { "open" },
                    who,
                    assignee,
                    stamp(created)
                ])?;
                let id = tx.last_insert_rowid();
                h.execute(params![id, stamp(created), who, None::<String>, "open"])?;
                if waiting {
                    h.execute(params![id, stamp(created + 3600), who, "open", "waiting_client"])?;
                }
            }
        }
    }
    tx.commit()?;
    c.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")?;
    eprintln!(
        "filled {n_clients} clients, {n_contracts} contracts, {n_events} events, {n_tickets} tickets in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Seconds since the Unix epoch, now.
fn chrono_like_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// RFC 3339 UTC with milliseconds, as Rolo stores instants (civil-from-days, no dependency).
fn stamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
