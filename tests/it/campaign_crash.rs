//! `kill -9` at three moments of a 20,000-recipient send, each followed by `resume`: nobody
//! receives the message twice (counted at the SMTP server), everyone not in flight at a kill
//! receives it, and the log names the in-flight ones `unknown`.

use std::collections::HashMap;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::campaigns::submitted_campaign;
use crate::harness::*;
use crate::smtp;

const RECIPIENTS: usize = 20_000;

/// The counting sink of tests/fixtures/count_smtp.py: one line per delivered recipient.
struct Sink {
    child: Child,
    log: std::path::PathBuf,
}

impl Sink {
    fn start(w: &World, port: u16) -> Sink {
        let log = w.home().join("deliveries.log");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/count_smtp.py");
        let child = Command::new("python3")
            .args([script, &port.to_string(), log.to_str().expect("utf-8")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the counting SMTP server");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "the SMTP sink did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Sink { child, log }
    }

    fn deliveries(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().map(str::to_string).collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `rolo ARGS` as `user` in the background.
fn spawn_as(w: &mut World, user: &str, args: &[&str]) -> Child {
    let token = w.token(user);
    let mut c = w.command();
    c.env("ROLO_TOKEN", token).args(args).stdout(Stdio::null()).stderr(Stdio::null());
    c.spawn().expect("spawn rolo")
}

/// Kills the sender with SIGKILL once the server has counted `at` deliveries.
fn kill_at(sink: &Sink, mut child: Child, at: usize) {
    let started = Instant::now();
    while sink.deliveries().len() < at {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the send ended ({status}) before {at} deliveries");
        }
        assert!(started.elapsed() < Duration::from_secs(300), "stuck below {at} deliveries");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill -9");
    child.wait().expect("reap");
}

#[test]
fn kill_9_three_times_mid_send_then_resume_sends_everyone_once() {
    if !smtp::available() {
        return;
    }
    let mut w = World::demo();
    let port = smtp::free_port();
    let sink = Sink::start(&w, port);
    w.env.push(("ROLO_SMTP_URL".into(), format!("smtp://127.0.0.1:{port}")));
    let mut csv = String::from("name,email,consent\n");
    for i in 0..RECIPIENTS {
        csv.push_str(&format!("Destinataire {i},dest{i}@bulk.example,granted\n"));
    }
    let file = w.home().join("bulk.csv");
    std::fs::write(&file, csv).expect("write");
    w.run_as("mark", &["client", "import", file.to_str().expect("utf-8"), "--group", "Bulk"]).ok();
    let html = w.home().join("t.html");
    std::fs::write(
        &html,
        "<p>Bonjour {{ client.first_name }}</p><p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p>",
    )
    .expect("write");
    w.run_as(
        "mark",
        &[
            "campaign",
            "template",
            "create",
            "bulk",
            "--subject",
            "Nouvelles",
            "--html-file",
            html.to_str().expect("utf-8"),
        ],
    )
    .ok();
    let id = submitted_campaign(&mut w, "Bulk", "bulk", "group:Bulk", "news@institut.example");
    w.run_as("mia", &["campaign", "approve", &id]).ok();

    let first = spawn_as(&mut w, "mark", &["campaign", "send", &id, "--yes"]);
    kill_at(&sink, first, 1_500);
    let second = spawn_as(&mut w, "mark", &["campaign", "resume", &id]);
    kill_at(&sink, second, 7_000);
    let third = spawn_as(&mut w, "mark", &["campaign", "resume", &id]);
    kill_at(&sink, third, 13_000);
    w.run_as("mark", &["campaign", "resume", &id]).ok();

    let mut counts: HashMap<String, usize> = HashMap::new();
    for rcpt in sink.deliveries() {
        *counts.entry(rcpt).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "e-mailed twice: {twice:?}");
    let unknown: Vec<String> = w
        .run_as("mark", &["campaign", "log", &id, "--status", "unknown", "--json"])
        .ok()
        .json()
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["email"].as_str().expect("email").to_string())
        .collect();
    // At most the claimed batches of every worker (8 × 10) at each of the three kills.
    assert!(!unknown.is_empty() && unknown.len() <= 3 * 8 * 10, "in flight at the kills: {}", unknown.len());
    for i in 0..RECIPIENTS {
        let addr = format!("dest{i}@bulk.example");
        if !unknown.contains(&addr) {
            assert_eq!(counts.get(&addr), Some(&1), "{addr} was not in flight and must receive it once");
        }
    }
    let stats = w.run_as("mark", &["campaign", "stats", &id, "--json"]).ok().json();
    assert_eq!(stats["sent"].as_u64().expect("sent") as usize + unknown.len(), RECIPIENTS, "{stats}");
    let integrity: String = w.sql().query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
    assert_eq!(integrity, "ok");
}
