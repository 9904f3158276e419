//! Internal errors and panics reach a Sentry DSN pointing at an HTTP listener on 127.0.0.1,
//! tagged with the command, without personal data.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::*;

/// A minimal HTTP server that answers 200 and hands each request body over.
fn listener() -> (String, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in l.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut length = 0usize;
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                let mut s = stream;
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
                let _ = tx.send(format!("{head}\n{}", String::from_utf8_lossy(&body)));
            });
        }
    });
    (format!("http://publickey@127.0.0.1:{port}/1"), rx)
}

fn received(rx: &mpsc::Receiver<String>) -> String {
    let mut all = String::new();
    while let Ok(body) = rx.recv_timeout(Duration::from_secs(5)) {
        all.push_str(&body);
        if all.contains("\"exception\"") {
            break;
        }
    }
    all
}

#[test]
fn a_panic_reaches_sentry_with_the_command_name() {
    let w = World::new();
    let (dsn, rx) = listener();
    let mut c = w.command();
    c.env("SENTRY_DSN", &dsn).args(["debug", "panic"]);
    let out = w.run_cmd(c, None);
    assert_eq!(out.code, 1, "{out:?}");
    let body = received(&rx);
    assert!(body.contains("deliberate panic"), "no panic event received: {body}");
    assert!(body.contains("debug panic"), "the command tag is missing: {body}");
}

#[test]
fn an_internal_error_reaches_sentry_without_personal_data() {
    let mut w = World::new();
    w.init();
    let token = w.token(ADMIN);
    // Break the schema under the program's feet: an internal error, not a user mistake.
    w.sql().execute_batch("DROP TABLE user_roles").expect("drop");
    let (dsn, rx) = listener();
    let mut c = w.command();
    c.env("SENTRY_DSN", &dsn).env("ROLO_TOKEN", &token).args(["user", "list"]);
    let out = w.run_cmd(c, None);
    assert_eq!(out.code, 1, "{out:?}");
    let body = received(&rx);
    assert!(body.contains("database error"), "no error event received: {body}");
    assert!(body.contains("user list"), "the command tag is missing: {body}");
    assert!(!body.contains("admin@rolo.test") && !body.contains("Ada Admin"), "personal data sent: {body}");
}

#[test]
fn an_unreachable_dsn_does_not_hold_a_command_up() {
    let w = World::new();
    // Nothing listens on this port: the flush gives up after its short timeout.
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut c = w.command();
    c.env("SENTRY_DSN", format!("http://k@127.0.0.1:{port}/1")).args(["debug", "panic"]);
    let started = std::time::Instant::now();
    let out = w.run_cmd(c, None);
    assert_eq!(out.code, 1);
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}
