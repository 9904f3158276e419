//! Service rules of what `rolo serve` does for recipients and visitors: click tracking, landing
//! page sign-ups (CSRF, honeypot, completion without overwriting, double opt-in), short links
//! and engagement segments; table-driven on the in-memory demo database.

use std::collections::BTreeMap;

use chrono::Utc;

use super::{pages, shortlinks, token_secret, tracking};
use crate::ErrorKind;
use crate::db::{self, Db, Read};
use crate::domain::page::Submitted;
use crate::domain::token::{self, Purpose};
use crate::service::authz::system_key_for_tests;
use crate::service::testing::{demo, session_as, settings};

const PUBLIC: &str = "https://crm.example";

fn kevin_row(db: &Db) -> i64 {
    db.conn()
        .query_row("SELECT id FROM send_log WHERE campaign_id = 1 AND email = 'kevin@startup.io'", [], |r| r.get(0))
        .expect("kevin's row")
}

fn link(db: &Db, campaign: i64, url: &str) -> i64 {
    db.write(&system_key_for_tests(), |tx| db::links::campaign_link(tx, campaign, url, Utc::now())).expect("link")
}

fn clicks(db: &Db) -> (i64, i64) {
    let p = db::campaign::progress(db, 1).expect("progress");
    (p.clicks, p.machine_clicks)
}

const BROWSER: Option<&str> = Some("Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0");

#[test]
fn clicks_count_each_recipient_once_and_go_where_the_message_pointed() {
    let template = demo();
    // (tracking mode, anonymous token?, user agents of the clicks, expected (clicks, machine), per-link clicks)
    type Case = (&'static str, bool, &'static [Option<&'static str>], (i64, i64), i64);
    let cases: [Case; 5] = [
        ("full", false, &[BROWSER, BROWSER, BROWSER], (1, 0), 3),
        ("full", false, &[Some("Mozilla/5.0 (compatible; Barracuda link protection)")], (0, 1), 0),
        ("anonymous", true, &[BROWSER, BROWSER], (2, 0), 2),
        ("off", false, &[BROWSER], (0, 0), 0),
        ("off", true, &[BROWSER], (0, 0), 0),
    ];
    for (mode, anonymous, loads, expected, per_link) in cases {
        let db = template.copy_in_memory().expect("copy");
        db.conn().execute("UPDATE campaigns SET tracking = ?1 WHERE id = 1", [mode]).expect("mode");
        let url = "https://institut.example/formations?ville=Lyon&niveau=2#dates";
        let l = link(&db, 1, url);
        let who = if anonymous { 0 } else { kevin_row(&db) };
        let t = token::sign_pair(&token_secret(&db).expect("secret"), Purpose::Click, who, l);
        for ua in loads {
            assert_eq!(tracking::click_by_token(&db, &t, *ua, Some(PUBLIC)).expect("a click"), url, "{mode}");
        }
        assert_eq!(clicks(&db), expected, "{mode} {loads:?}");
        let links = db::links::link_clicks(&db, 1).expect("per link");
        assert_eq!((links.len(), links[0].clicks), (1, per_link), "{mode}");
    }
}

#[test]
fn forged_altered_and_mismatched_click_tokens_record_nothing() {
    let db = demo();
    let secret = token_secret(&db).expect("secret");
    let row = kevin_row(&db);
    let l = link(&db, 1, "https://institut.example/a");
    let other_campaign = link(&db, 2, "https://evil.example/");
    let good = token::sign_pair(&secret, Purpose::Click, row, l);
    let altered = format!("{}{}", &good[..good.len() - 1], if good.ends_with('0') { "1" } else { "0" });
    for bad in [
        altered,
        token::sign_pair(&secret, Purpose::Open, row, l),
        token::sign_pair(&secret, Purpose::Click, row, other_campaign),
        token::sign_pair(&secret, Purpose::Click, row, 999),
        token::sign_pair(&secret, Purpose::Click, 999_999, l),
        token::sign_pair(b"another database", Purpose::Click, row, l),
        token::sign(&secret, Purpose::Click, row),
        format!("{:x}-{:x}.{}", row, other_campaign, good.split_once('.').expect("dot").1),
    ] {
        let e = tracking::click_by_token(&db, &bad, BROWSER, Some(PUBLIC)).expect_err(&bad);
        assert_eq!(e.kind(), ErrorKind::NotFound, "{bad}");
    }
    assert_eq!(clicks(&db), (0, 0));
}

#[test]
fn links_to_our_pages_carry_the_recipient_unless_the_campaign_says_no() {
    let template = demo();
    for (autologin, url, recognised) in [
        (true, format!("{PUBLIC}/p/offer"), true),
        (true, format!("{PUBLIC}/s/promo?utm=x"), true),
        (true, "https://elsewhere.example/p/offer".to_string(), false),
        (false, format!("{PUBLIC}/p/offer"), false),
    ] {
        let db = template.copy_in_memory().expect("copy");
        db.conn().execute("UPDATE campaigns SET autologin = ?1 WHERE id = 1", [autologin]).expect("autologin");
        // Autologin lasts AUTOLOGIN_DAYS after delivery.
        db.exec_for_test("UPDATE send_log SET sent_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE campaign_id = 1")
            .expect("fresh");
        let secret = token_secret(&db).expect("secret");
        let t = token::sign_pair(&secret, Purpose::Click, kevin_row(&db), link(&db, 1, &url));
        let to = tracking::click_by_token(&db, &t, BROWSER, Some(PUBLIC)).expect("click");
        let r = to.split_once("r=").map(|(_, r)| r.to_string());
        assert_eq!(r.is_some(), recognised, "{url} → {to}");
        if let Some(r) = r {
            let who = pages::recipient(&db, &secret, &r).expect("read").expect("kevin");
            assert_eq!(who.email, "kevin@startup.io");
            let page = pages::public_page(&db, "offer", Some(&r), PUBLIC).expect("page");
            let email = page.fields.iter().find(|f| f.key == "email").expect("email field");
            assert_eq!(email.value, "kevin@startup.io", "the form is pre-filled");
        }
    }
}

fn form(db: &Db, slug: &str, pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut f: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    if !f.contains_key("form_token") {
        let page = pages::public_page(db, slug, None, PUBLIC).expect("page");
        f.insert("form_token".into(), page.form_token);
    }
    f
}

fn signup_mail() -> pages::SignupMail<'static> {
    pages::SignupMail { smtp: settings().smtp, public_url: PUBLIC }
}

fn consent_and_groups(db: &Db, email: &str) -> (String, Vec<String>, i64) {
    let c = db::client::find_by_email(db, email).expect("read").expect("client");
    let ledger: i64 = db
        .conn()
        .query_row(
            "SELECT count(*) FROM consent_ledger WHERE client_id = ?1 AND source = 'landing_page'",
            [c.id],
            |r| r.get(0),
        )
        .expect("ledger");
    (c.consent, db::population::groups_of(db, c.id).expect("groups"), ledger)
}

#[test]
fn a_sign_up_passes_the_rules_of_client_create_or_changes_nothing() {
    let template = demo();
    let page_id: i64 =
        template.conn().query_row("SELECT id FROM landing_pages WHERE slug = 'offer'", [], |r| r.get(0)).expect("page");
    let secret = token_secret(&template).expect("secret");
    let stale = token::sign_pair(&secret, Purpose::Form, page_id, Utc::now().timestamp() / 60 - 121);
    let foreign = token::sign_pair(&secret, Purpose::Form, page_id + 1, Utc::now().timestamp() / 60);
    let long = "x".repeat(201);
    let ok = [("email", "zoé.o'hara@exemple.fr"), ("name", "Zoé O'Hara"), ("consent", "yes")];
    // (what is posted, the expected error kind, or None for a sign-up)
    type Case<'a> = (Vec<(&'a str, &'a str)>, Option<ErrorKind>);
    let cases: Vec<Case> = vec![
        (ok.to_vec(), None),
        ([&ok[..], &[("form_token", "")]].concat(), Some(ErrorKind::Denied)),
        ([&ok[..], &[("form_token", stale.as_str())]].concat(), Some(ErrorKind::Denied)),
        ([&ok[..], &[("form_token", foreign.as_str())]].concat(), Some(ErrorKind::Denied)),
        (vec![("email", "zoe@exemple.fr"), ("name", "Zoé")], Some(ErrorKind::Invalid)),
        (vec![("email", "not an address"), ("consent", "yes")], Some(ErrorKind::Invalid)),
        (vec![("email", "zoe@exemple.fr"), ("phone", "call me maybe"), ("consent", "yes")], Some(ErrorKind::Invalid)),
        (vec![("email", "zoe@exemple.fr"), ("name", long.as_str()), ("consent", "yes")], Some(ErrorKind::Invalid)),
    ];
    for (posted, expected) in cases {
        let db = template.copy_in_memory().expect("copy");
        let before = db.dump().expect("dump");
        let f = form(&db, "offer", &posted);
        match (pages::submit(&db, "offer", &f, &signup_mail()), expected) {
            (Ok(Submitted::Subscribed), None) => {
                let (consent, groups, ledger) = consent_and_groups(&db, "zoé.o'hara@exemple.fr");
                assert_eq!((consent.as_str(), ledger), ("granted", 1));
                assert_eq!(groups, ["Clients 2023"]);
                let hash: String = db
                    .conn()
                    .query_row("SELECT text_hash FROM consent_ledger ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
                    .expect("hash");
                let text = "J’accepte de recevoir les offres de l’Institut.";
                let expected =
                    crate::secrets::hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref());
                assert_eq!(hash, expected, "the ledger names the text agreed to");
                assert_eq!(db.audit_count("ok").expect("audit") - template.audit_count("ok").expect("audit"), 1);
            }
            (Err(e), Some(kind)) => {
                assert_eq!(e.kind(), kind, "{posted:?}: {e}");
                assert_eq!(db.dump().expect("dump"), before, "{posted:?} changed the database");
            }
            (other, _) => panic!("{posted:?}: {other:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn robots_are_ignored_and_strangers_cannot_overwrite_a_client() {
    let db = demo();
    let before = db.dump().expect("dump");
    let robot = form(&db, "offer", &[("email", "bot@spam.example"), ("consent", "yes"), ("website", "http://spam")]);
    assert_eq!(pages::submit(&db, "offer", &robot, &signup_mail()).expect("honeypot"), Submitted::Ignored);
    assert_eq!(db.dump().expect("dump"), before, "a filled honeypot records nothing");

    let kevin = db::client::find_by_email(&db, "kevin@startup.io").expect("read").expect("kevin");
    let f = form(
        &db,
        "offer",
        &[("email", "KEVIN@startup.io"), ("name", "Mallory"), ("phone", "+33 6 12 34 56 78"), ("consent", "yes")],
    );
    assert_eq!(pages::submit(&db, "offer", &f, &signup_mail()).expect("sign-up"), Submitted::Subscribed);
    let after = db::client::get(&db, kevin.id).expect("read").expect("kevin");
    assert_eq!(after.full_name, kevin.full_name, "the typed name does not replace the client's");
    assert!(after.phone.is_some(), "an empty value is completed");
    if kevin.phone.is_some() {
        assert_eq!(after.phone, kevin.phone, "a value the client has is kept");
    }
    assert_eq!(after.consent, "granted");
    assert_eq!(
        db::client::find_by_email(&db, "kevin@startup.io").expect("read").map(|c| c.id),
        Some(kevin.id),
        "no duplicate"
    );
}

#[test]
fn double_opt_in_grants_consent_only_when_the_link_is_followed() {
    let db = demo();
    let mark = session_as(&db, "mark");
    let input = crate::domain::page::PageInput { double_opt_in: Some(true), ..Default::default() };
    pages::update(&mark, "offer", &input).expect("double opt-in");
    super::suppression::add(&mark, "lea@exemple.fr", "unsubscribed").expect("she unsubscribed once");
    let f = form(&db, "offer", &[("email", "lea@exemple.fr"), ("name", "Léa"), ("consent", "yes")]);
    assert_eq!(pages::submit(&db, "offer", &f, &signup_mail()).expect("sign-up"), Submitted::ConfirmationSent);
    let suppressed = |db: &Db| -> i64 {
        db.conn()
            .query_row("SELECT count(*) FROM suppressions WHERE email = 'lea@exemple.fr'", [], |r| r.get(0))
            .expect("n")
    };
    assert_eq!(suppressed(&db), 1, "a sign-up alone lifts nothing");
    let (consent, groups, ledger) = consent_and_groups(&db, "lea@exemple.fr");
    assert_eq!((consent.as_str(), groups.len(), ledger), ("unknown", 0, 0), "nothing granted before the link");
    let mail =
        db::outbox::list(&db, Some("queued"), None).expect("outbox").into_iter().find(|m| m.to == "lea@exemple.fr");
    let mail = mail.expect("a confirmation e-mail in the outbox");
    let link = mail.text_body.split_whitespace().find(|w| w.starts_with(PUBLIC)).expect("the link").to_string();
    let token = link.rsplit('/').next().expect("token");
    assert!(link.starts_with(&format!("{PUBLIC}/p/offer/confirm/")), "{link}");
    assert_eq!(
        pages::confirmation_target(&db, "offer", "1.00000000000000000000000000000000")
            .map(|_| ())
            .expect_err("forged")
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(pages::confirm(&db, "offer", token).expect("confirm"), "lea@exemple.fr");
    assert_eq!(pages::confirm(&db, "offer", token).expect("again"), "lea@exemple.fr", "repeating is harmless");
    let (consent, groups, ledger) = consent_and_groups(&db, "lea@exemple.fr");
    assert_eq!((consent.as_str(), groups, ledger), ("granted", vec!["Clients 2023".to_string()], 1));
    assert_eq!(suppressed(&db), 0, "confirmed from her mailbox: her unsubscription is lifted");
}

#[test]
fn pages_turned_off_or_unknown_are_not_found() {
    let db = demo();
    let mark = session_as(&db, "mark");
    pages::update(&mark, "offer", &crate::domain::page::PageInput { active: Some(false), ..Default::default() })
        .expect("off");
    for slug in ["offer", "nope", "../etc"] {
        let e = pages::public_page(&db, slug, None, PUBLIC).expect_err(slug);
        assert_eq!(e.kind(), ErrorKind::NotFound, "{slug}");
    }
    let bad = [("slug", "Bad Slug"), ("fields", "name,salary_secret")];
    for (what, value) in bad {
        let mut input = crate::domain::page::PageInput {
            slug: Some("x".into()),
            template: Some("farewell".into()),
            consent_text: Some("Yes".into()),
            ..Default::default()
        };
        match what {
            "slug" => input.slug = Some(value.into()),
            _ => input.fields = Some(vec![value.into()]),
        }
        let e = pages::create(&mark, &input).expect_err(what);
        assert_eq!(e.kind(), ErrorKind::Invalid, "{what}: {e}");
    }
}

#[test]
fn short_links_count_expire_and_carry_the_recipient_to_pages() {
    let db = demo();
    let mark = session_as(&db, "mark");
    let secret = token_secret(&db).expect("secret");
    let r = token::sign(&secret, Purpose::Autologin, kevin_row(&db));
    assert_eq!(shortlinks::follow(&db, "promo", None, BROWSER, Some(PUBLIC)).expect("follow"), "/p/offer");
    let carried = shortlinks::follow(&db, "promo", Some(&r), BROWSER, Some(PUBLIC)).expect("follow");
    assert_eq!(carried, format!("/p/offer?r={r}"));
    let forged = shortlinks::follow(&db, "promo", Some("1.00"), BROWSER, Some(PUBLIC)).expect("follow");
    assert_eq!(forged, "/p/offer", "a bad token is dropped, the link still works");
    shortlinks::follow(&db, "promo", None, Some("curl/8.0"), Some(PUBLIC)).expect("a machine");
    let (link, days) = shortlinks::stats(&mark, "promo").expect("stats");
    assert_eq!((link.clicks, link.recipients, link.machine_clicks), (3, 1, 1));
    assert_eq!(days.iter().map(|d| d.clicks).sum::<i64>(), 3);
    let new = shortlinks::NewLink {
        url: "https://example.com/".into(),
        code: Some("old".into()),
        expires: Some("+1d".into()),
        ..Default::default()
    };
    shortlinks::create(&mark, &new).expect("create");
    db.exec_for_test("UPDATE short_links SET expires_at = '2000-01-01T00:00:00.000Z' WHERE code = 'old'")
        .expect("expire");
    for code in ["old", "missing"] {
        assert_eq!(shortlinks::follow(&db, code, None, BROWSER, None).expect_err(code).kind(), ErrorKind::NotFound);
    }
    for (url, code) in [("javascript:alert(1)", None), ("//evil.example", None), ("https://x.example", Some("a b"))] {
        let input = shortlinks::NewLink { url: url.into(), code: code.map(String::from), ..Default::default() };
        assert_eq!(shortlinks::create(&mark, &input).expect_err(url).kind(), ErrorKind::Invalid, "{url}");
    }
}

#[test]
fn engagement_makes_inactive_addresses_a_segment() {
    let db = demo();
    let mark = session_as(&db, "mark");
    let count = |filter: &str| crate::service::group::run(&mark, None, Some(filter), true, None).expect(filter).count;
    let sent_to: i64 = db
        .conn()
        .query_row("SELECT count(DISTINCT client_id) FROM send_log WHERE status = 'sent'", [], |r| r.get(0))
        .expect("count");
    assert!(sent_to >= 2, "the demo's sent campaign reached several clients");
    assert_eq!(count("last_open is not empty"), 0);
    assert_eq!(count("sends_since_engagement >= 1"), sent_to);
    let t = token::sign(&token_secret(&db).expect("secret"), Purpose::Open, kevin_row(&db));
    db.exec_for_test("UPDATE send_log SET sent_at = '2026-01-01T00:00:00.000Z' WHERE campaign_id = 1").expect("age");
    tracking::open_by_token(&db, &t, BROWSER).expect("open");
    assert_eq!(count("last_open > -1d"), 1);
    assert_eq!(count("sends_since_engagement >= 1"), sent_to - 1, "kevin engaged after his last message");
    assert_eq!(count("last_open is not empty and last_click is empty and sends_since_engagement = 0"), 1);
    for bad in ["sends_since_engagement ~ 3", "sends_since_engagement >= many", "last_open = yesterday"] {
        let e = crate::service::group::run(&mark, None, Some(bad), true, None).expect_err(bad);
        assert_eq!(e.kind(), ErrorKind::Invalid, "{bad}: {e}");
    }
}

#[test]
fn view_online_shows_the_recipients_own_message() {
    let db = demo();
    let secret = token_secret(&db).expect("secret");
    let t = token::sign(&secret, Purpose::Unsubscribe, kevin_row(&db));
    let html = super::send::view_online(&db, &t, PUBLIC).expect("the message");
    let kevin = db::client::find_by_email(&db, "kevin@startup.io").expect("read").expect("kevin");
    let first = kevin.full_name.split_whitespace().next().expect("a first name");
    assert!(html.contains(&format!("Bonjour {first}")), "{html}");
    assert!(html.contains(&format!("{PUBLIC}/u/{t}")), "its unsubscribe link: {html}");
    for bad in
        [token::sign(&secret, Purpose::Open, kevin_row(&db)), token::sign(&secret, Purpose::Unsubscribe, 0), "x".into()]
    {
        assert_eq!(super::send::view_online(&db, &bad, PUBLIC).expect_err(&bad).kind(), ErrorKind::NotFound);
    }
}

/// The Big List of Naughty Strings in every field of a sign-up, and as tokens and slugs: each
/// is a sign-up or a named refusal, never an internal error or a panic; stored text reads
/// back as typed.
#[test]
fn naughty_strings_are_signed_up_or_refused_never_crash() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/blns.txt");
    let text = std::fs::read_to_string(path).expect("the corpus");
    let db = demo();
    for (i, line) in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).enumerate() {
        for (field, value) in [("name", line.to_string()), ("email", line.to_string()), ("phone", line.to_string())] {
            let email = if field == "email" { value.clone() } else { format!("naughty{i}@exemple.fr") };
            let mut posted = vec![("email", email.as_str()), ("consent", "yes")];
            if field != "email" {
                posted.push((field, value.as_str()));
            }
            match pages::submit(&db, "offer", &form(&db, "offer", &posted), &signup_mail()) {
                Ok(_) if field == "name" => {
                    let c = db::client::find_by_email(&db, &email).expect("read").expect("created");
                    let expected = if value.trim().is_empty() { email.as_str() } else { value.trim() };
                    assert_eq!(c.full_name, expected, "line {i}: a blank name falls back to the address");
                }
                Ok(_) => {}
                Err(e) => assert!(
                    matches!(e.kind(), ErrorKind::Invalid | ErrorKind::Conflict),
                    "line {i} as {field}: {:?} {e}",
                    e.kind()
                ),
            }
        }
        for e in [
            tracking::click_by_token(&db, line, BROWSER, Some(PUBLIC)).map(|_| ()),
            tracking::open_by_token(&db, line, BROWSER),
            pages::public_page(&db, line, Some(line), PUBLIC).map(|_| ()),
            shortlinks::follow(&db, line, Some(line), BROWSER, None).map(|_| ()),
            pages::confirm(&db, "offer", line).map(|_| ()),
            super::send::view_online(&db, line, PUBLIC).map(|_| ()),
        ]
        .into_iter()
        .filter_map(Result::err)
        {
            assert_eq!(e.kind(), ErrorKind::NotFound, "line {i}: {e}");
        }
    }
}
