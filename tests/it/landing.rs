//! Landing pages end to end: the real binary serving, headless Chromium filling the form, the
//! background worker of `rolo serve` delivering the double opt-in e-mail to a real SMTP server
//! on 127.0.0.1, and the CLI reading what was recorded.

use std::time::{Duration, Instant};

use crate::browser::{self, Browser};
use crate::harness::*;
use crate::serve::{Server, agent};
use crate::smtp::{self, SmtpServer};

fn write(w: &World, name: &str, text: &str) -> String {
    let p = w.home().join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

/// A demo world with an SMTP server, a public URL on a free port, and two pages: `direct`
/// (single opt-in) and `offre` (double opt-in), both into the group "Newsletter".
fn world() -> (World, SmtpServer, u16) {
    let mut w = World::demo();
    let smtp = SmtpServer::start(w.home(), None);
    let port = smtp::free_port();
    let cfg = write(
        &w,
        "config.toml",
        &format!(
            "[serve]\npublic_url = \"http://127.0.0.1:{port}\"\nwork_every_seconds = 1\nform_rate_per_minute = 6\n"
        ),
    );
    w.env.push(("ROLO_CONFIG".into(), cfg));
    w.env.push(("ROLO_SMTP_URL".into(), smtp.url()));
    let page = write(
        &w,
        "page.html",
        "<html><body><h1>Formation « Fiscalité 2027 » à Lyon</h1><p>Places limitées — inscrivez-vous !</p>\
         <!-- rolo:form --><p>L’Institut</p></body></html>",
    );
    w.run_as(
        "mark",
        &[
            "campaign",
            "template",
            "create",
            "offre-page",
            "--kind",
            "transactional",
            "--subject",
            "Offre",
            "--html-file",
            &page,
        ],
    )
    .ok();
    w.run_as("mark", &["client", "group", "create", "Newsletter"]).ok();
    let consent = "J’accepte de recevoir les offres de l’Institut « Fiscalité ».";
    for (slug, double) in [("direct", false), ("offre", true)] {
        let mut args = vec![
            "campaign",
            "page",
            "create",
            slug,
            "--template",
            "offre-page",
            "--group",
            "Newsletter",
            "--fields",
            "name,email,phone",
            "--consent-text",
            consent,
        ];
        if double {
            args.push("--double-opt-in");
        }
        w.run_as("mark", &args).ok();
    }
    (w, smtp, port)
}

fn client(w: &mut World, email: &str) -> serde_json::Value {
    w.run_as("mark", &["client", "show", email, "--json"]).ok().json()
}

#[test]
fn a_visitor_signs_up_in_a_real_browser() {
    if !smtp::available() || !browser::available() {
        return;
    }
    let (mut w, smtp, port) = world();
    let server = Server::start_with(&w, &["--listen", &format!("127.0.0.1:{port}")]);
    let base = format!("http://{}", server.base);
    let b = Browser::start("fr-FR");

    // Single opt-in, at phone size: the client exists with consent, group and ledger entry.
    b.size(390, 844);
    b.goto(&format!("{base}/p/direct"));
    let page = b.source();
    assert!(page.contains("Formation « Fiscalité 2027 » à Lyon") && page.contains("J’accepte"), "{page}");
    b.screenshot("landing-390x844");
    b.fill("#f-name", "Zoé O’Hara-Lefèvre");
    b.fill("#f-email", "zoe.ohara@exemple.fr");
    b.fill("#f-phone", "+33 6 12 34 56 78");
    b.click("#f-consent");
    b.click("button[type=submit]");
    let page = b.source_with("Merci");
    assert!(page.contains("Merci"), "{page}");
    let zoe = client(&mut w, "zoe.ohara@exemple.fr");
    assert_eq!(zoe["full_name"], "Zoé O’Hara-Lefèvre");
    assert_eq!(zoe["consent"], "granted");
    assert!(zoe["groups"].as_array().is_some_and(|g| g.iter().any(|x| x == "Newsletter")), "{zoe}");
    let ledger = w.run_as("mark", &["client", "privacy", "consent", "zoe.ohara@exemple.fr", "--json"]).ok().json();
    let last = ledger.as_array().and_then(|l| l.last()).cloned().expect("a ledger entry");
    assert_eq!(
        (last["source"].as_str(), last["consent"].as_str()),
        (Some("landing_page"), Some("granted")),
        "{ledger}"
    );
    assert_eq!(last["text_hash"].as_str().map(str::len), Some(64), "the text agreed to, hashed: {ledger}");

    // Without the form token (a forged cross-site post): refused, nothing created.
    let mut r = agent()
        .post(&format!("{base}/p/direct"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send("email=forged%40exemple.fr&name=X&consent=yes")
        .expect("POST");
    assert_eq!(r.status().as_u16(), 403, "{}", r.body_mut().read_to_string().unwrap_or_default());
    assert!(w.run_as("mark", &["client", "show", "forged@exemple.fr"]).code != 0, "nothing created");

    // Double opt-in, at desktop size: nothing granted until the e-mailed link is followed.
    b.size(1280, 800);
    b.goto(&format!("{base}/p/offre"));
    b.screenshot("landing-1280x800");
    b.fill("#f-name", "Léa Müller");
    b.fill("#f-email", "lea.muller@exemple.fr");
    b.click("#f-consent");
    b.click("button[type=submit]");
    let page = b.source_with("Vérifiez vos e-mails");
    assert!(page.contains("Vérifiez vos e-mails"), "{page}");
    assert_eq!(client(&mut w, "lea.muller@exemple.fr")["consent"], "unknown");
    let started = Instant::now();
    let mail = loop {
        if let Some(m) = smtp.to("lea.muller@exemple.fr").into_iter().next() {
            break m;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "the server's worker did not deliver the confirmation");
        std::thread::sleep(Duration::from_millis(200));
    };
    let link = mail
        .decoded
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{base}/p/offre/confirm/")))
        .expect("the confirmation link")
        .to_string();
    b.goto(&link);
    assert_eq!(client(&mut w, "lea.muller@exemple.fr")["consent"], "unknown", "opening the link alone grants nothing");
    b.click("button[type=submit]");
    let page = b.source_with("Inscription confirmée");
    assert!(page.contains("Inscription confirmée"), "{page}");
    let lea = client(&mut w, "lea.muller@exemple.fr");
    assert_eq!(lea["consent"], "granted");
    assert!(lea["groups"].as_array().is_some_and(|g| g.iter().any(|x| x == "Newsletter")), "{lea}");
    drop(b);

    // Past the per-address limit of form posts: 429 with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = agent()
            .post(&format!("{base}/p/direct"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send("email=x%40exemple.fr")
            .expect("POST");
        statuses.push((r.status().as_u16(), r.headers().contains_key("retry-after")));
    }
    assert!(statuses.contains(&(429, true)), "{statuses:?}");
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("zoe.ohara") && !log.contains("lea.muller"), "the access log names nobody: {log}");
}
