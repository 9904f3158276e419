//! `rolo serve` end to end: the real binary on a free port of 127.0.0.1, a real HTTP client
//! (ureq), the real database file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::*;

pub(crate) struct Server {
    pub(crate) child: Child,
    /// `127.0.0.1:PORT`
    pub(crate) base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub(crate) fn start(w: &World) -> Server {
        Server::start_with(w, &["--listen", "127.0.0.1:0"])
    }

    /// `rolo serve ARGS…`, once it says where it listens.
    pub(crate) fn start_with(w: &World, args: &[&str]) -> Server {
        let mut c = w.command();
        c.arg("serve").args(args).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("rolo serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut seen = Vec::new();
        let base = loop {
            let line = lines.next().unwrap_or_else(|| panic!("rolo serve ended: {seen:?}")).expect("utf-8");
            seen.push(line.clone());
            if let Some(addr) = line.split("listening on ").nth(1) {
                break addr.trim().trim_start_matches("http://").trim_start_matches("https://").to_string();
            }
        };
        let log = Arc::new(Mutex::new(seen));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().expect("log").push(line);
            }
        });
        Server { child, base, log }
    }

    /// SIGTERM; the exit code and what it logged.
    pub(crate) fn stop(mut self) -> (Option<i32>, String) {
        std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        let status = self.child.wait().expect("wait");
        std::thread::sleep(Duration::from_millis(100));
        (status.code(), self.log.lock().expect("log").join("\n"))
    }
}

/// A test that fails before `stop` leaves no server behind.
impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// (status, body) of a GET.
fn get(url: &str, lang: &str) -> (u16, String) {
    let mut r = agent().get(url).header("Accept-Language", lang).call().expect("GET");
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
}

fn post(url: &str, body: &str) -> u16 {
    agent()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(body)
        .expect("POST")
        .status()
        .as_u16()
}

/// The unsubscribe token of Kevin's message in the demo's sent campaign.
fn kevin_token(w: &World) -> String {
    let c = w.sql();
    let secret: String =
        c.query_row("SELECT value FROM meta WHERE key = 'token_secret'", [], |r| r.get(0)).expect("secret");
    let row: i64 = c
        .query_row("SELECT id FROM send_log WHERE campaign_id = 1 AND email = 'kevin@startup.io'", [], |r| r.get(0))
        .expect("row");
    rolo::domain::token::sign(secret.as_bytes(), rolo::domain::token::Purpose::Unsubscribe, row)
}

#[test]
fn one_click_unsubscribe_over_http() {
    let mut w = World::demo();
    w.token("mark");
    let token = kevin_token(&w);
    let server = Server::start(&w);
    let base = format!("http://{}", server.base);
    // A client that sends its headers byte by byte holds nobody up, and is cut off.
    let mut slow = TcpStream::connect(&server.base).expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").expect("trickle");
    let slow_started = Instant::now();

    assert_eq!(get(&format!("{base}/healthz"), "en"), (200, "ok\n".to_string()));
    let before = w.snapshot();
    // GET shows the page and changes nothing (link scanners open every link).
    let (status, page) = get(&format!("{base}/u/{token}"), "fr-FR,fr;q=0.9");
    assert_eq!(status, 200);
    assert!(
        page.contains("Se désabonner") && page.contains("k•••@startup.io") && page.contains("method=\"post\""),
        "{page}"
    );
    assert!(!page.contains("kevin@startup.io"), "the page masks the address");
    // Forged, altered and foreign tokens: 404, nothing recorded.
    let altered = format!("{}{}", &token[..token.len() - 1], if token.ends_with('0') { "1" } else { "0" });
    for bad in [altered.as_str(), "1.00000000000000000000000000000000", "%2e%2e%2fetc", "x"] {
        assert_eq!(get(&format!("{base}/u/{bad}"), "en").0, 404, "{bad}");
        assert_eq!(post(&format!("{base}/u/{bad}"), "List-Unsubscribe=One-Click"), 404, "{bad}");
    }
    // A 10 MB body is refused (413) from its Content-Length, before it is read.
    let mut raw = TcpStream::connect(&server.base).expect("connect");
    let head = format!(
        "POST /u/{token} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        10 * 1024 * 1024
    );
    raw.write_all(head.as_bytes()).expect("headers");
    // The server may close before the body is all written: its answer is what counts.
    let _ = raw.write_all(&vec![b'x'; 10 * 1024 * 1024]);
    let mut answer = String::new();
    raw.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let _ = raw.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(w.snapshot(), before, "GET, forged tokens and a refused body change nothing");

    // RFC 8058 one-click: the POST a mailbox provider sends.
    assert_eq!(post(&format!("{base}/u/{token}"), "List-Unsubscribe=One-Click"), 200);
    assert_eq!(post(&format!("{base}/u/{token}"), "confirm=1"), 200, "a repeat is harmless");
    let c = w.sql();
    let reason: String =
        c.query_row("SELECT reason FROM suppressions WHERE email = 'kevin@startup.io'", [], |r| r.get(0)).expect("s");
    let consent: String =
        c.query_row("SELECT consent FROM clients WHERE email = 'kevin@startup.io'", [], |r| r.get(0)).expect("c");
    assert_eq!((reason.as_str(), consent.as_str()), ("unsubscribed", "withdrawn"));
    let stats = w.run_as("mark", &["campaign", "stats", "1", "--json"]).ok().json();
    assert_eq!(stats["unsubscribes"].as_i64(), Some(1), "recorded once: {stats}");
    let ledger = w.run_as("mark", &["client", "privacy", "consent", "kevin@startup.io", "--json"]).ok().json();
    let last = ledger.as_array().and_then(|l| l.last()).expect("an entry").clone();
    assert_eq!((last["source"].as_str(), last["detail"].as_str()), (Some("unsubscribe"), Some("campaign 1")));

    // The trickling client was cut off by the header timeout (10 s), not served.
    slow.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    let held = slow_started.elapsed();
    assert!(held < Duration::from_secs(14), "cut off after {held:?}");
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"), "{}", String::from_utf8_lossy(&answer));

    // The media library's images, and nothing else of the blob store.
    let logo: (String, Vec<u8>) = w
        .sql()
        .query_row("SELECT m.sha256, b.data FROM media m JOIN blobs b ON b.sha256 = m.sha256 LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("the demo logo");
    let mut r = agent().get(&format!("{base}/m/{}", logo.0)).call().expect("GET");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("image/png"));
    assert!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()).is_some_and(|c| c.contains("immutable")));
    assert_eq!(r.body_mut().read_to_vec().expect("bytes"), logo.1);
    let secret = w.home().join("contract.pdf");
    std::fs::write(&secret, b"%PDF-1.4 a private attachment").expect("write");
    w.run_as("kate", &["ticket", "reply", "2", "--body", "Le contrat", "--attach", secret.to_str().expect("utf-8")])
        .ok();
    let attachment: String = w
        .sql()
        .query_row("SELECT sha256 FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM media)", [], |r| r.get(0))
        .expect("the attachment's blob");
    for hash in [attachment.as_str(), &"0".repeat(64), "..%2f..%2fetc%2fpasswd", "LOGO"] {
        assert_eq!(get(&format!("{base}/m/{hash}"), "en").0, 404, "{hash}");
    }

    // SIGTERM: exit 0; the access log names routes, never a token or an address.
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("POST /u/… 200") && log.contains("GET /healthz 200"), "{log}");
    assert!(!log.contains(&token) && !log.contains("kevin"), "{log}");
}

/// The pixel of a real campaign message, loaded from `rolo serve`: a load seconds after
/// delivery is a machine's; later loads by a browser are one human open however many.
#[test]
fn the_pixel_of_a_sent_campaign_counts_opens() {
    let Some((mut w, smtp, id)) = crate::campaigns::mailing(Some("https://crm.institut.example")) else { return };
    w.run_as("mia", &["campaign", "approve", &id]).ok();
    w.run_as("mark", &["campaign", "send", &id, "--yes"]).ok();
    let kevin = &smtp.to("kevin@startup.io")[0];
    let prefix = "https://crm.institut.example/o/";
    let start = kevin.decoded.find(prefix).expect("a pixel") + prefix.len();
    let token: String = kevin.decoded[start..].chars().take_while(|c| *c != '"').collect();
    let server = Server::start(&w);
    let base = format!("http://{}", server.base);
    let browser = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15";
    let load = |t: &str| {
        let mut r = agent().get(&format!("{base}/o/{t}")).header("User-Agent", browser).call().expect("GET");
        let gif = r.body_mut().read_to_vec().unwrap_or_default();
        (r.status().as_u16(), gif.starts_with(b"GIF89a") && gif.len() == 43)
    };
    let stats = |w: &mut World| {
        let s = w.run_as("mark", &["campaign", "stats", &id, "--json"]).ok().json();
        (s["opens"].as_i64(), s["machine_opens"].as_i64())
    };
    assert_eq!(load(&token), (200, true));
    assert_eq!(stats(&mut w), (Some(0), Some(1)), "seconds after delivery: a scanner");
    // An hour later, the reader opens it twice.
    w.sql()
        .execute("UPDATE send_log SET sent_at = '2026-01-01T00:00:00Z' WHERE campaign_id = ?1", [&id])
        .expect("an hour later");
    assert_eq!(load(&token), (200, true));
    assert_eq!(load(&token), (200, true));
    assert_eq!(stats(&mut w), (Some(1), Some(1)));
    let forged = format!("{}{}", &token[..token.len() - 1], if token.ends_with('0') { "1" } else { "0" });
    assert_eq!(load(&forged).0, 404);
    assert_eq!(stats(&mut w), (Some(1), Some(1)), "a forged token records nothing");

    // Clicks: every web link of the message goes through /c/TOKEN and lands where it pointed.
    let clicks: Vec<String> = kevin
        .decoded
        .split("href=\"https://crm.institut.example/c/")
        .skip(1)
        .map(|rest| rest.chars().take_while(|c| *c != '"').collect())
        .collect();
    assert_eq!(clicks.len(), 2, "the programme and the sign-up page: {}", kevin.decoded);
    assert!(kevin.decoded.contains("/u/"), "the unsubscribe link stays direct");
    let follow = |t: &str| {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        let r = agent.get(&format!("{base}/c/{t}")).header("User-Agent", browser).call().expect("GET");
        let to = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (r.status().as_u16(), to)
    };
    assert_eq!(follow(&clicks[0]), (302, "https://institut.example/programme?ville=Lyon&niveau=2".to_string()));
    assert_eq!(follow(&clicks[0]).0, 302);
    let (status, to) = follow(&clicks[1]);
    assert!(status == 302 && to.starts_with("https://crm.institut.example/p/offre?r="), "autologin rides along: {to}");
    for bad in
        [format!("{}0", clicks[0]), clicks[0].replacen('.', "-1.", 1), "0-1.00000000000000000000000000000000".into()]
    {
        assert_eq!(follow(&bad).0, 404, "{bad}");
    }
    let s = w.run_as("mark", &["campaign", "stats", &id, "--json"]).ok().json();
    assert_eq!((s["clicks"].as_i64(), s["machine_clicks"].as_i64()), (Some(1), Some(0)), "{s}");
    let links = s["links"].as_array().expect("links");
    let programme =
        links.iter().find(|l| l["url"].as_str().is_some_and(|u| u.contains("programme"))).expect("per link");
    assert_eq!((programme["clicks"].as_i64(), programme["unique"].as_i64()), (Some(2), Some(1)), "{s}");
    let table = w.run_as("mark", &["campaign", "stats", &id]).ok().stdout;
    assert!(table.contains("clicks per link") && table.contains("opens  █"), "{table}");
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
}

/// A scheduled campaign leaves while `rolo serve` runs, with no cron and no `campaign run`.
#[test]
fn the_server_sends_due_campaigns_by_itself() {
    let Some((mut w, smtp, id)) = crate::campaigns::mailing(None) else { return };
    w.run_as("mia", &["campaign", "approve", &id]).ok();
    w.run_as("mark", &["campaign", "schedule", &id, "--at", "+1s"]).ok();
    let server = Server::start_with(&w, &["--listen", "127.0.0.1:0", "--work-every", "1"]);
    let started = Instant::now();
    while w.run_as("mark", &["campaign", "show", &id, "--json"]).ok().json()["status"] != "sent" {
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not send the due campaign");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(smtp.to("kevin@startup.io").len(), 1, "once");
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains(&format!("campaign {id}:")), "{log}");
}

/// `--tls-cert`/`--tls-key`: HTTPS built in (checked by curl against the certificate); an
/// unreadable key is a usage error before anything listens.
#[test]
fn https_is_built_in() {
    let w = World::demo();
    let (cert, key) = (w.home().join("cert.pem"), w.home().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let (cert_s, key_s) = (cert.to_str().expect("utf-8"), key.to_str().expect("utf-8"));
    let server = Server::start_with(&w, &["--listen", "127.0.0.1:0", "--tls-cert", cert_s, "--tls-key", key_s]);
    let curl = |scheme: &str| {
        std::process::Command::new("curl")
            .args(["-sS", "--max-time", "5", "--cacert", cert_s, &format!("{scheme}://{}/healthz", server.base)])
            .output()
            .expect("curl")
    };
    let https = curl("https");
    assert_eq!(String::from_utf8_lossy(&https.stdout), "ok\n", "{}", String::from_utf8_lossy(&https.stderr));
    assert!(!curl("http").status.success(), "plain HTTP is not served on the TLS port");
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
    let mut c = w.command();
    let out = c
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert", cert_s, "--tls-key", "/nonexistent.pem"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the TLS key"));
}

/// SIGTERM while eight clients load the pixel and follow a link as fast as they can: no
/// request fails meanwhile (readers and the event writer share the file), exit 0, and every
/// open and click the server answered is in the database.
#[test]
fn sigterm_under_load_loses_no_accepted_event() {
    let w = World::demo();
    let secret: String =
        w.sql().query_row("SELECT value FROM meta WHERE key = 'token_secret'", [], |r| r.get(0)).expect("secret");
    let c = w.sql();
    c.execute("UPDATE campaigns SET tracking = 'anonymous' WHERE id = 1", []).expect("anonymous");
    c.execute(
        "INSERT INTO campaign_links (campaign_id, url, created_at) VALUES (1, 'https://institut.example/', '2026-01-01T00:00:00Z')",
        [],
    )
    .expect("link");
    let link = c.last_insert_rowid();
    drop(c);
    use rolo::domain::token::{Purpose, sign, sign_pair};
    let open = sign(secret.as_bytes(), Purpose::Open, (1 << 44) | 1);
    let click = sign_pair(secret.as_bytes(), Purpose::Click, 0, link);
    let server = Server::start(&w);
    let answered = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let loaders: Vec<_> = (0..8)
        .map(|i| {
            let path = if i % 2 == 0 { format!("/o/{open}") } else { format!("/c/{click}") };
            let (url, answered) = (format!("http://{}{path}", server.base), answered.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .max_redirects(0)
                    .timeout_global(Some(Duration::from_secs(10)))
                    .build()
                    .into();
                for _ in 0..100_000 {
                    match agent.get(&url).header("User-Agent", "Mozilla/5.0").call() {
                        Ok(r) if [200, 302].contains(&r.status().as_u16()) => {
                            answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        Ok(r) => panic!("{url}: unexpected {}", r.status()),
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(2500));
    let (code, log) = server.stop();
    for l in loaders {
        l.join().expect("no request failed while the server ran");
    }
    assert_eq!(code, Some(0), "{log}");
    let answered = answered.load(std::sync::atomic::Ordering::SeqCst);
    let stored: i64 = w
        .sql()
        .query_row("SELECT count(*) FROM mail_events WHERE kind IN ('open', 'click')", [], |r| r.get(0))
        .expect("count");
    assert!(answered > 100, "the load ran ({answered} answers)");
    assert_eq!(stored, answered, "every answered open and click is stored");
}

/// `rolo app`: the key is printed once and stored nowhere as such; management reads, sales is
/// refused (exit 5).
#[test]
fn application_keys_are_shown_once() {
    let mut w = World::demo();
    let made = w
        .run_as("admin", &["app", "create", "intranet", "--scope", "mail:send", "--rate", "5/s", "--json"])
        .ok()
        .json();
    let key = made["key"].as_str().expect("the key").to_string();
    assert!(key.starts_with("rolo_"), "{made}");
    let shown = w.run_as("mia", &["app", "show", "intranet", "--json"]).ok();
    assert!(!shown.stdout.contains(&key), "show never prints the key");
    assert_eq!(shown.json()["scopes"], serde_json::json!(["mail:send"]));
    let bytes =
        [std::fs::read(&w.db).expect("db"), std::fs::read(w.db.with_extension("db-wal")).unwrap_or_default()].concat();
    assert!(!String::from_utf8_lossy(&bytes).contains(&key), "only its hash is stored");
    assert_eq!(w.run_as("bill", &["app", "list"]).code, 5);
    let rotated = w.run_as("admin", &["app", "rotate", "intranet", "--grace", "1h", "--json"]).ok().json();
    assert_ne!(rotated["key"], made["key"]);
    assert_eq!(rotated["keys"].as_array().map(Vec::len), Some(2), "{rotated}");
    w.run_as("admin", &["app", "revoke", "intranet"]).ok();
    let after = w.run_as("mia", &["app", "show", "intranet", "--json"]).ok().json();
    assert!(after["revoked_at"].is_string() && after["keys"] == serde_json::json!([]), "{after}");
}
