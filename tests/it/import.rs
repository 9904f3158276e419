//! `rolo client import` and `export`: encodings, delimiters, all-or-nothing, re-runs, round
//! trips, permissions, a crash mid-import, and arbitrary bytes.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::harness::*;

fn file(w: &World, name: &str, bytes: &[u8]) -> String {
    let p: PathBuf = w.home().join(name);
    std::fs::write(&p, bytes).expect("write");
    p.display().to_string()
}

fn clients(w: &mut World) -> Vec<Value> {
    w.run_as(ADMIN, &["client", "list", "--json"]).ok().json().as_array().cloned().unwrap_or_default()
}

fn staff() -> World {
    let mut w = World::new();
    w.init();
    w.create_user("bill", &["sales"]).ok();
    w.create_user("sam", &["sales"]).ok();
    w.create_user("kate", &["support"]).ok();
    w.create_user("mark", &["marketing"]).ok();
    // Log everyone in now, so later snapshots see no login bookkeeping.
    for u in [ADMIN, "bill", "sam", "kate", "mark"] {
        w.token(u);
    }
    w
}

#[test]
fn a_windows_1252_semicolon_file_with_accents_imports_through_a_mapping() {
    let mut w = staff();
    let csv = file(
        &w,
        "excel.csv",
        b"Nom complet;Courriel;T\xe9l\xe9phone;Soci\xe9t\xe9\r\nAm\xe9lie Poulain;amelie@cafe.fr;+33 1 42 00 00 01;Caf\xe9 des 2 Moulins\r\n\"O\x92Brien; Zo\xeb\";zoe@example.ie;;\r\n",
    );
    let map = file(&w, "map.toml", "[columns]\n\"Nom complet\" = \"name\"\n\"Courriel\" = \"email\"\n\"Téléphone\" = \"phone\"\n\"Société\" = \"company\"\n".as_bytes());
    let report = w.run_as("bill", &["client", "import", &csv, "--map", &map, "--format", "json"]).ok().json();
    assert_eq!(report["encoding"], "windows-1252");
    assert_eq!((report["created"].as_i64(), report["companies_created"].as_i64()), (Some(2), Some(1)));
    let all = clients(&mut w);
    let amelie = all.iter().find(|c| c["email"] == "amelie@cafe.fr").expect("amelie");
    assert_eq!(amelie["full_name"], "Amélie Poulain");
    assert_eq!(amelie["company"], "Café des 2 Moulins");
    assert_eq!(amelie["sales_contact"], "bill");
    assert!(all.iter().any(|c| c["full_name"] == "O’Brien; Zoë"));
}

#[test]
fn a_bad_row_in_the_middle_imports_nothing_and_is_named() {
    let mut w = staff();
    let csv = file(&w, "bad.csv", b"name,email,phone\nGood One,good@x.io,\nBad Mail,not-an-email,\nGood Two,two@x.io,\nBad Phone,p@x.io,call me\n");
    let before = w.snapshot();
    let out = w.run_as("bill", &["client", "import", &csv, "--format", "json"]).code(3);
    let report = out.json();
    assert_eq!(report["written"], false);
    assert_eq!(report["rejected"], 2);
    assert_eq!(
        report["rejections"][0],
        json!({"line": 3, "field": "email", "reason": "invalid email: `not-an-email` must look like name@example.com"})
    );
    assert_eq!(report["rejections"][1]["line"], 5);
    assert_eq!(report["rejections"][1]["field"], "phone");
    assert!(out.stderr.contains("nothing was imported"), "{out:?}");
    assert_eq!(w.snapshot(), before);
}

#[test]
fn dry_runs_write_nothing_and_importing_twice_changes_nothing() {
    let mut w = staff();
    let jsonl = file(
        &w,
        "clients.jsonl",
        "\u{feff}{\"name\": \"Kevin Casey\", \"email\": \"kevin@startup.io\", \"phone\": \"+678 123 456 78\", \"company\": \"Cool Startup LLC\", \"stage\": \"won\"}\n\n{\"name\": \"John Ouick\", \"email\": \"john.ouick@gmail.com\", \"first_contact\": \"2022-11-02\"}\n{\"name\": \"Kevin again\", \"email\": \"KEVIN@startup.io\"}\n".as_bytes(),
    );
    let before = w.snapshot();
    let dry = w.run_as("bill", &["client", "import", &jsonl, "--dry-run", "--format", "json"]).ok().json();
    assert_eq!(
        (dry["format"].as_str(), dry["created"].as_i64(), dry["skipped"].as_i64()),
        (Some("jsonl"), Some(2), Some(1))
    );
    assert_eq!(w.snapshot(), before, "a dry run writes nothing");
    w.run_as("bill", &["client", "import", &jsonl]).ok();
    let once = w.snapshot();
    let again = w.run_as("bill", &["client", "import", &jsonl, "--format", "json"]).ok().json();
    assert_eq!((again["created"].as_i64(), again["skipped"].as_i64()), (Some(0), Some(3)));
    assert_eq!(w.snapshot(), once, "the same file twice yields the same database");
    // In update mode a file that names an e-mail twice contradicts itself: refused, with the line.
    let out =
        w.run_as("bill", &["client", "import", &jsonl, "--on-duplicate", "update", "--format", "json"]).code(3).json();
    assert_eq!(out["rejections"][0]["line"], 4);
    assert!(out["rejections"][0]["reason"].as_str().is_some_and(|r| r.contains("line 1")), "{out}");
    assert_eq!(w.snapshot(), once);
    // Without the duplicate, updating twice leaves the database as the first update did.
    let clean = file(&w, "clean.jsonl", "{\"name\": \"Kevin C.\", \"email\": \"kevin@startup.io\"}\n".as_bytes());
    assert_eq!(
        w.run_as("bill", &["client", "import", &clean, "--on-duplicate", "update", "--format", "json"]).ok().json()["updated"],
        1
    );
    let settled = w.snapshot();
    assert_eq!(
        w.run_as("bill", &["client", "import", &clean, "--on-duplicate", "update", "--format", "json"]).ok().json()["unchanged"],
        1
    );
    assert_eq!(w.snapshot(), settled);
    w.run_as("bill", &["client", "import", &jsonl, "--on-duplicate", "error"]).code(3);
    let kevin = clients(&mut w).into_iter().find(|c| c["email"] == "kevin@startup.io").expect("kevin");
    assert_eq!((kevin["stage"].as_str(), kevin["company"].as_str()), (Some("won"), Some("Cool Startup LLC")));
}

#[test]
fn updates_follow_ownership_and_imports_need_the_permission() {
    let mut w = staff();
    w.run_as("sam", &["client", "create", "--name", "Sam's", "--email", "sams@x.io"]).ok();
    let csv = file(&w, "upd.csv", b"name,email,phone\nSam's Client,sams@x.io,+33 6 00 00 00 00\n");
    let out = w.run_as("bill", &["client", "import", &csv, "--on-duplicate", "update", "--format", "json"]).code(3);
    assert!(out.json()["rejections"][0]["reason"].as_str().is_some_and(|r| r.contains("not yours")), "{out:?}");
    w.run_as("sam", &["client", "import", &csv, "--on-duplicate", "update"]).ok();
    w.run_as("kate", &["client", "import", &csv]).code(5);
    // Marketing imports clients (with no sales contact) but assigns nobody.
    let new = file(&w, "new.csv", b"name,email\nNew Lead,lead@x.io\n");
    w.run_as("mark", &["client", "import", &new]).ok();
    let lead = clients(&mut w).into_iter().find(|c| c["email"] == "lead@x.io").expect("lead");
    assert_eq!(lead["sales_contact"], Value::Null);
    let assign = file(&w, "assign.csv", b"name,email,sales_contact\nX,x@x.io,bill\n");
    w.run_as("mark", &["client", "import", &assign]).code(3);
    w.run_as(ADMIN, &["client", "import", &assign]).ok();
    // A missing required column is a clear error.
    let headless = file(&w, "h.csv", b"nom,courriel\nA,a@b.io\n");
    let out = w.run_as(ADMIN, &["client", "import", &headless]).code(3);
    assert!(out.stderr.contains("no `name` column"), "{out:?}");
}

#[test]
fn an_export_re_imports_as_is() {
    let mut demo = World::demo();
    let exported = demo.run_as("admin", &["client", "export"]).ok().stdout;
    assert!(
        exported.starts_with(
            "name,email,phone,company,stage,first_contact,last_contact,sales_contact,consent,budget,sector\n"
        ),
        "{exported}"
    );
    // Into the same database: every row is unchanged.
    let path = file(&demo, "export.csv", exported.as_bytes());
    let r =
        demo.run_as("admin", &["client", "import", &path, "--on-duplicate", "update", "--format", "json"]).ok().json();
    assert_eq!(r["unchanged"], r["rows_read"]);
    // Into a new database with the same sales staff: exporting it gives the same file.
    let mut fresh = World::new();
    fresh.init();
    fresh.create_user("bill", &["sales"]).ok();
    fresh.create_user("sam", &["sales"]).ok();
    let sectors = "Événementiel,Hôtellerie,Secteur public,Tech";
    fresh.run_as(ADMIN, &["client", "field", "create", "sector", "--type", "choice", "--choices", sectors]).ok();
    fresh.run_as(ADMIN, &["client", "field", "create", "budget", "--type", "number"]).ok();
    let path = file(&fresh, "export.csv", exported.as_bytes());
    fresh.run_as(ADMIN, &["client", "import", &path]).ok();
    let again = fresh.run_as(ADMIN, &["client", "export"]).ok().stdout;
    let sorted = |s: &str| {
        let mut l: Vec<String> = s.lines().map(String::from).collect();
        l.sort();
        l
    };
    assert_eq!(sorted(&again), sorted(&exported));
    // JSON lines carry the same rows.
    let jsonl = demo.run_as("admin", &["client", "export", "--format", "json"]).ok().stdout;
    assert_eq!(jsonl.lines().count(), exported.lines().count() - 1);
    assert!(jsonl.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()));
}

#[test]
fn a_kill_9_mid_import_leaves_the_database_as_before() {
    let mut w = staff();
    let mut big = String::from("name,email,company\n");
    for i in 0..150_000 {
        big.push_str(&format!("Client {i},client{i}@bulk.test,Company {}\n", i % 500));
    }
    let path = file(&w, "big.csv", big.as_bytes());
    let before = w.snapshot();
    let token = w.token("bill");
    let mut interrupted = 0;
    for delay in [150u64, 400] {
        let mut c = w.command();
        c.env("ROLO_TOKEN", &token)
            .args(["client", "import", &path])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = c.spawn().expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        if !child.wait().expect("wait").success() {
            interrupted += 1;
        }
    }
    assert!(interrupted > 0, "the import finished before it could be interrupted");
    let ok: String = w.sql().query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
    assert_eq!(ok, "ok");
    assert_eq!(w.snapshot(), before, "an interrupted import leaves nothing behind");
}

#[test]
fn arbitrary_bytes_are_clean_errors_never_panics() {
    let mut w = staff();
    let token = w.token(ADMIN);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet: &[u8] = b"name,email;\t|\"\n\r{}:@.x\xe9\xff\x00 ";
    for case in 0..40 {
        let len = (next() % 300) as usize;
        let mut bytes: Vec<u8> = if case % 2 == 0 { b"name,email\n".to_vec() } else { Vec::new() };
        bytes.extend((0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]));
        let path = file(&w, &format!("fuzz{case}.csv"), &bytes);
        let mut c = w.command();
        c.env("ROLO_TOKEN", &token).args(["client", "import", &path, "--dry-run"]);
        let out = w.run_cmd(c, None);
        assert!([0, 3].contains(&out.code), "case {case} {bytes:?}: {out:?}");
        assert!(!out.stderr.contains("panicked"), "{out:?}");
    }
}
