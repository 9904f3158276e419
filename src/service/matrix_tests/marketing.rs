//! The permission matrix of e-mail marketing: the template and media libraries, landing pages
//! and short links, campaigns, one-off mail, the suppression list and returned mail.

use super::*;

/// The template and media libraries (PERMISSIONS.md: managed by admin, management and
/// marketing, read by sales). The demo's library holds the templates `welcome` (used by
/// campaigns) and `farewell`, and `logo.png`.
const LIBRARY_CASES: &[Case] = &[
    case!("template list", POP_READERS, |s| ok(campaign::template::list(s))),
    case!("template show", POP_READERS, |s| ok(campaign::template::show(s, "welcome", None))),
    case!("template create", POP_MANAGERS, |s| {
        let input = TemplateInput {
            subject: Some("Hello".into()),
            html: Some("<p>{{ unsubscribe_url }}</p>".into()),
            ..Default::default()
        };
        ok(campaign::template::create(s, "new", &input))
    }),
    case!("template update", POP_MANAGERS, |s| {
        ok(campaign::template::update(
            s,
            "welcome",
            &TemplateInput { subject: Some("Hi".into()), ..Default::default() },
        ))
    }),
    case!("template delete", POP_MANAGERS, |s| ok(campaign::template::delete(s, "farewell"))),
    case!("template lint", POP_READERS, |s| ok(campaign::template::lint(s, "welcome", None))),
    case!("template preview", POP_READERS, |s| ok(campaign::template::preview(s, "welcome", None, None))),
    case!("media list", POP_READERS, |s| ok(campaign::media::list(s))),
    case!("media show", POP_READERS, |s| ok(campaign::media::show(s, "logo.png"))),
    case!("media add", POP_MANAGERS, |s| ok(campaign::media::add(s, "banner.png", b"png"))),
    case!("media remove", POP_MANAGERS, |s| ok(campaign::media::remove(s, "logo.png"))),
    // The demo's landing page `offer` and short link `promo`.
    case!("page list", POP_READERS, |s| ok(campaign::pages::list(s))),
    case!("page show", POP_READERS, |s| ok(campaign::pages::show(s, "offer"))),
    case!("page create", POP_MANAGERS, |s| {
        let input = crate::domain::page::PageInput {
            slug: Some("spring".into()),
            template: Some("farewell".into()),
            consent_text: Some("I want the spring news.".into()),
            ..Default::default()
        };
        ok(campaign::pages::create(s, &input))
    }),
    case!("page update", POP_MANAGERS, |s| {
        ok(campaign::pages::update(
            s,
            "offer",
            &crate::domain::page::PageInput { active: Some(false), ..Default::default() },
        ))
    }),
    case!("page delete", POP_MANAGERS, |s| ok(campaign::pages::delete(s, "offer"))),
    case!("link list", POP_READERS, |s| ok(campaign::shortlinks::list(s))),
    case!("link stats", POP_READERS, |s| ok(campaign::shortlinks::stats(s, "promo"))),
    case!("link create", POP_MANAGERS, |s| {
        let input = campaign::shortlinks::NewLink { url: "https://example.com/spring".into(), ..Default::default() };
        ok(campaign::shortlinks::create(s, &input))
    }),
    case!("link delete", POP_MANAGERS, |s| ok(campaign::shortlinks::delete(s, "promo"))),
];

/// Campaigns and the suppression list (PERMISSIONS.md: marketing edits and sends approved
/// campaigns, management and admin approve, never their own). In the demo, mark wrote
/// campaigns 1 (sent), 2 (scheduled), 3 (pending approval), 4 (approved), 5 (draft),
/// 6 (cancelled), 7 (paused) and 8 (sending).
const CAMPAIGN_CASES: &[Case] = &[
    case!("campaign list", MAILERS, |s| ok(campaign::lifecycle::list(s, None, false))),
    case!("campaign show", MAILERS, |s| ok(campaign::lifecycle::show(s, 1))),
    case!("campaign audience", MAILERS, |s| ok(campaign::lifecycle::audience(s, 4, None))),
    case!("campaign log", MAILERS, |s| ok(campaign::lifecycle::log(s, 1, None, None))),
    case!("campaign stats", MAILERS, |s| ok(campaign::lifecycle::stats(s, 1))),
    case!("campaign create", MAILERS, |s| {
        let input = CampaignInput {
            name: Some("New".into()),
            template: Some("welcome".into()),
            audience: vec!["segment:Warm leads".into()],
            from: Some("news@institut.example".into()),
            ..Default::default()
        };
        ok(campaign::lifecycle::create(s, &input))
    }),
    case!("campaign update", MAILERS, |s| {
        ok(campaign::lifecycle::update(s, 4, &CampaignInput { rate: Some("10/s".into()), ..Default::default() }))
    }),
    case!("campaign submit", MAILERS, |s| ok(campaign::lifecycle::submit(s, 5))),
    case!("campaign approve", MANAGERS, |s| ok(campaign::lifecycle::approve(s, 3, Some("ok")))),
    case!("campaign reject", MANAGERS, |s| ok(campaign::lifecycle::reject(s, 3, "not yet"))),
    case!("campaign schedule", MAILERS, |s| ok(campaign::lifecycle::schedule(s, 4, chrono::Utc::now()))),
    case!("campaign unschedule", MAILERS, |s| ok(campaign::lifecycle::unschedule(s, 2))),
    case!("campaign pause", MAILERS, |s| ok(campaign::lifecycle::pause(s, 8))),
    case!("campaign cancel", MAILERS, |s| ok(campaign::lifecycle::cancel(s, 4))),
    // Past the permission, a send needs an SMTP server: "none configured" is where it stops.
    case!("campaign send", MAILERS, |s| smtp_missing(campaign::send::send(
        s,
        2,
        settings().smtp,
        &Default::default(),
        &|_| {}
    ))),
    case!("campaign test", MAILERS, |s| {
        smtp_missing(campaign::send::test(s, 4, settings().smtp, &Default::default(), "me@example.com", None))
    }),
    case!("campaign run", MAILERS, |s| smtp_missing(campaign::send::run_due(s, settings().smtp, &Default::default()))),
    case!("mail send", MAILERS, |s| {
        let input = crate::domain::outbox::OneOff {
            to: "someone@example.com".into(),
            subject: Some("Hello".into()),
            body: Some("Text".into()),
            ..Default::default()
        };
        ok(campaign::oneoff::send(s, settings().smtp, &input))
    }),
    case!("suppression list", MAILERS, |s| ok(campaign::suppression::list(s, None, None))),
    case!("suppression add", MAILERS, |s| ok(campaign::suppression::add(s, "someone@example.com", "manual"))),
    case!("suppression remove", MAILERS, |s| ok(campaign::suppression::remove(s, "nobody@example.com"))),
    case!("client privacy consent", STAFF, |s| ok(crate::service::consent::history(s, "kevin@startup.io"))),
    case!("client privacy export", MANAGERS, |s| ok(crate::service::privacy::export(s, "kevin@startup.io"))),
    case!("client privacy erase", ADMIN, |s| ok(crate::service::privacy::erase(s, "kevin@startup.io", false))),
    case!("client privacy purge", ADMIN, |s| ok(crate::service::privacy::purge(s, "3y", false))),
    case!("client privacy purge --dry-run", ADMIN, |s| ok(crate::service::privacy::purge(s, "3y", true))),
    // An unsubscribe mail for the first row of the demo's sent campaign.
    case!("mail inbound", MANAGERS, |s| {
        let secret = campaign::token_secret(s.db())?;
        let row: i64 = crate::db::Read::conn(s.db())
            .query_row("SELECT min(id) FROM send_log WHERE campaign_id = 1", [], |r| r.get(0))
            .map_err(|e| crate::Error::internal(e.to_string()))?;
        let t = crate::domain::token::sign(&secret, crate::domain::token::Purpose::Unsubscribe, row);
        let raw = format!("From: a@example.com\r\nTo: unsubscribe+{t}@institut.example\r\n\r\nunsubscribe\r\n");
        ok(campaign::inbound::record(s, raw.as_bytes()))
    }),
];

#[test]
fn campaigns_and_the_suppression_list() {
    assert_matrix(CAMPAIGN_CASES);
}

#[test]
fn an_author_never_approves_their_own_campaign() {
    let db = testing::demo();
    let admin = testing::session_as(&db, "admin");
    let input = CampaignInput {
        name: Some("Mine".into()),
        template: Some("welcome".into()),
        audience: vec!["group:Clients 2023".into()],
        from: Some("news@institut.example".into()),
        ..Default::default()
    };
    let c = campaign::lifecycle::create(&admin, &input).expect("create");
    campaign::lifecycle::submit(&admin, c.id).expect("submit");
    let before = db.dump().expect("dump");
    let e = campaign::lifecycle::approve(&admin, c.id, None).expect_err("own campaign");
    assert_eq!(e.kind(), ErrorKind::Denied);
    assert_eq!(db.dump().expect("dump"), before);
}

#[test]
fn template_and_media_libraries() {
    assert_matrix(LIBRARY_CASES);
}
