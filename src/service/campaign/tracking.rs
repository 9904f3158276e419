//! Opens and clicks of campaign mail, for the pixel (`GET /o/TOKEN`) and the click redirect
//! (`GET /c/TOKEN`) of `rolo serve`. Tokens are signed; an open token names the send-log row
//! (tracking `full`) or only the campaign (`anonymous`, the campaign id with [`ANONYMOUS`]
//! set); a click token names the row (0 when anonymous) and the link as it was sent, so the
//! redirect never goes where the request says. A campaign whose tracking is now `off` records
//! nothing (its links still redirect). Opens and clicks made within [`MACHINE_WINDOW`] of
//! delivery, or by a known mail proxy or scanner, count as machines': the statistics keep them
//! apart.

use chrono::{DateTime, Utc};

use crate::db::inbound::Target;
use crate::db::{self, Db};
use crate::domain::token::{self, Purpose};
use crate::service::authz::system_key;
use crate::{Error, ErrorKind, Result};

/// Set in the id of an anonymous open token (above any send-log row id).
pub const ANONYMOUS: i64 = 1 << 44;
/// Seconds after delivery within which an open is a machine's (scanners fetch at once).
pub const MACHINE_WINDOW: i64 = 10;

/// User agents of mail proxies and link scanners (fetching images for the reader, not the reader).
const MACHINES: &[&str] = &[
    "googleimageproxy",
    "yahoomailproxy",
    "ymailproxy",
    "outlook-ios",
    "microsoft office",
    "barracuda",
    "proofpoint",
    "mimecast",
    "bot",
    "crawler",
    "curl",
    "python",
    "go-http-client",
];

/// The pixel's token for a message (`row`) of campaign `campaign` under its tracking mode; None
/// when nothing is tracked (mode `off`, or a test message outside the log).
pub fn open_token(secret: &[u8], tracking: &str, campaign: i64, row: i64) -> Option<String> {
    match tracking {
        _ if row <= 0 => None,
        "full" => Some(token::sign(secret, Purpose::Open, row)),
        "anonymous" => Some(token::sign(secret, Purpose::Open, ANONYMOUS | campaign)),
        _ => None,
    }
}

/// Whether an open is a machine's.
pub fn is_machine(user_agent: Option<&str>, seconds_after_delivery: Option<i64>) -> bool {
    let ua = user_agent.unwrap_or("").to_ascii_lowercase();
    ua.is_empty()
        || MACHINES.iter().any(|m| ua.contains(m))
        || seconds_after_delivery.is_some_and(|s| (0..MACHINE_WINDOW).contains(&s))
}

/// An event to store: what a token turned out to mean. Resolving reads only; [`record`]
/// writes a batch of events in one transaction (`rolo serve` commits many requests at once).
#[derive(Debug, Clone)]
pub enum Event {
    Open { campaign: i64, target: Option<Target>, machine: bool, at: DateTime<Utc> },
    Click { campaign: i64, link: i64, who: Option<(i64, Option<i64>)>, machine: bool, at: DateTime<Utc> },
}

/// Stores events, all or none.
pub fn record(db: &Db, events: &[Event]) -> Result<()> {
    db.write(&system_key(), |tx| {
        for e in events {
            match e {
                Event::Open { campaign, target, machine, at } => {
                    db::inbound::open(tx, *campaign, target.as_ref(), *machine, *at)?
                }
                Event::Click { campaign, link, who, machine, at } => {
                    db::links::click(tx, *campaign, *link, *who, *machine, *at)?
                }
            }
        }
        Ok(())
    })
}

/// The tracking mode of a campaign, and whether its links may recognise their recipient.
fn mode(db: &Db, campaign: i64) -> Result<(String, bool)> {
    db::campaign::tracking_of(db, campaign)?.ok_or_else(unknown)
}

/// What an open token means: the event to store (None when the campaign no longer tracks); a
/// forged, altered or unknown token is "not found".
pub fn resolve_open(db: &Db, secret: &[u8], token: &str, user_agent: Option<&str>) -> Result<Option<Event>> {
    let id = token::verify(secret, Purpose::Open, token).filter(|id| *id > 0).ok_or_else(unknown)?;
    let at = Utc::now();
    if id & ANONYMOUS != 0 {
        let campaign = id & !ANONYMOUS;
        return Ok(match mode(db, campaign)?.0.as_str() {
            "off" => None,
            _ => Some(Event::Open { campaign, target: None, machine: is_machine(user_agent, None), at }),
        });
    }
    let target = db::inbound::target(db, id)?.ok_or_else(unknown)?;
    if mode(db, target.campaign_id)?.0 != "full" {
        return Ok(None);
    }
    let machine = is_machine(user_agent, seconds_since(&target, at));
    Ok(Some(Event::Open { campaign: target.campaign_id, target: Some(target), machine, at }))
}

fn seconds_since(target: &Target, at: DateTime<Utc>) -> Option<i64> {
    target
        .sent_at
        .as_deref()
        .and_then(|s| crate::domain::time::parse_stored(s).ok())
        .map(|sent| (at - sent).num_seconds())
}

/// Records an open; a forged, altered or unknown token is "not found" and records nothing.
pub fn open_by_token(db: &Db, token: &str, user_agent: Option<&str>) -> Result<()> {
    let secret = super::token_secret(db)?;
    match resolve_open(db, &secret, token, user_agent)? {
        Some(e) => record(db, &[e]),
        None => Ok(()),
    }
}

/// Whether a path of this server (after the public URL) is a landing page or a short link:
/// links there may carry the recipient's autologin token.
pub fn leads_to_page(path: &str) -> bool {
    path.starts_with("/p/") || path.starts_with("/s/")
}

/// What a click token means: the event to store (None when the campaign no longer tracks)
/// and where it goes — the link as sent, with the recipient's autologin token when it leads to
/// one of this server's pages and the campaign allows it. A forged, altered or mismatched
/// token is "not found".
pub fn resolve_click(
    db: &Db,
    secret: &[u8],
    token: &str,
    user_agent: Option<&str>,
    public: Option<&str>,
) -> Result<(Option<Event>, String)> {
    let (row, link) =
        token::verify_pair(secret, Purpose::Click, token).filter(|(r, l)| *r >= 0 && *l > 0).ok_or_else(unknown)?;
    let db::links::LinkTarget { campaign_id: campaign, url, tracking, autologin } =
        db::links::campaign_link_by_id(db, link)?.ok_or_else(unknown)?;
    let target = match row {
        0 => None,
        r => Some(db::inbound::target(db, r)?.filter(|t| t.campaign_id == campaign).ok_or_else(unknown)?),
    };
    let at = Utc::now();
    let event = (tracking != "off").then(|| Event::Click {
        campaign,
        link,
        who: target.as_ref().map(|t| (t.row, t.client_id)),
        machine: is_machine(user_agent, target.as_ref().and_then(|t| seconds_since(t, at))),
        at,
    });
    let own_page = public.and_then(|p| url.strip_prefix(p)).is_some_and(leads_to_page);
    let to = match target {
        Some(t) if own_page && autologin => {
            crate::domain::links::with_param(&url, "r", &token::sign(secret, Purpose::Autologin, t.row))
        }
        _ => url,
    };
    Ok((event, to))
}

/// Records a click and answers where it goes (see [`resolve_click`]).
pub fn click_by_token(db: &Db, token: &str, user_agent: Option<&str>, public: Option<&str>) -> Result<String> {
    let secret = super::token_secret(db)?;
    let (event, to) = resolve_click(db, &secret, token, user_agent, public)?;
    if let Some(e) = event {
        record(db, &[e])?;
    }
    Ok(to)
}

fn unknown() -> Error {
    Error::new(ErrorKind::NotFound, "no such message")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Read;
    use crate::service::testing::demo;

    fn opens(db: &Db) -> (i64, i64) {
        let p = db::campaign::progress(db, 1).expect("progress");
        (p.opens, p.machine_opens)
    }

    #[test]
    fn opens_are_counted_once_per_recipient_and_machines_apart() {
        let template = demo();
        let row = |db: &Db| -> i64 {
            db.conn()
                .query_row("SELECT id FROM send_log WHERE campaign_id = 1 AND email = 'kevin@startup.io'", [], |r| {
                    r.get(0)
                })
                .expect("row")
        };
        const BROWSER: Option<&str> = Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15");
        // (tracking mode, which token, user agents of the loads, expected (opens, machine opens))
        type Case = (&'static str, fn(&[u8], i64) -> String, &'static [Option<&'static str>], (i64, i64));
        let cases: [Case; 5] = [
            ("full", |s, r| token::sign(s, Purpose::Open, r), &[BROWSER, BROWSER, BROWSER], (1, 0)),
            (
                "full",
                |s, r| token::sign(s, Purpose::Open, r),
                &[Some("Mozilla/5.0 (via ggpht.com GoogleImageProxy)")],
                (0, 1),
            ),
            ("full", |s, r| token::sign(s, Purpose::Open, r), &[None], (0, 1)),
            ("anonymous", |s, _| token::sign(s, Purpose::Open, ANONYMOUS | 1), &[BROWSER, BROWSER], (2, 0)),
            ("off", |s, r| token::sign(s, Purpose::Open, r), &[BROWSER], (0, 0)),
        ];
        for (mode, make, loads, expected) in cases {
            let db = template.copy_in_memory().expect("copy");
            db.conn().execute("UPDATE campaigns SET tracking = ?1 WHERE id = 1", [mode]).expect("mode");
            let t = make(&crate::service::campaign::token_secret(&db).expect("secret"), row(&db));
            for ua in loads {
                open_by_token(&db, &t, *ua).expect("an open");
            }
            assert_eq!(opens(&db), expected, "{mode} {loads:?}");
        }
    }

    #[test]
    fn forged_and_foreign_tokens_record_nothing() {
        let db = demo();
        let secret = crate::service::campaign::token_secret(&db).expect("secret");
        let good = token::sign(&secret, Purpose::Open, 1);
        let altered = format!("{}{}", &good[..good.len() - 1], if good.ends_with('0') { "1" } else { "0" });
        for bad in [
            altered,
            token::sign(&secret, Purpose::Unsubscribe, 1),
            token::sign(&secret, Purpose::Open, 0),
            token::sign(&secret, Purpose::Open, 999_999),
            token::sign(&secret, Purpose::Open, ANONYMOUS | 999),
            "junk".into(),
        ] {
            let e = open_by_token(&db, &bad, Some("Mozilla/5.0")).expect_err(&bad);
            assert_eq!(e.kind(), ErrorKind::NotFound, "{bad}");
        }
        assert_eq!(opens(&db), (0, 0));
    }

    /// Test messages (row 0, outside the log) and campaigns without tracking carry no pixel.
    #[test]
    fn which_messages_carry_a_pixel() {
        let s = b"secret";
        for (mode, row, some) in
            [("full", 7, true), ("anonymous", 7, true), ("off", 7, false), ("full", 0, false), ("anonymous", 0, false)]
        {
            assert_eq!(open_token(s, mode, 3, row).is_some(), some, "{mode} {row}");
        }
        let anonymous = open_token(s, "anonymous", 3, 7).expect("a token");
        assert_eq!(token::verify(s, Purpose::Open, &anonymous), Some(ANONYMOUS | 3), "names the campaign, not row 7");
    }

    #[test]
    fn the_first_seconds_after_delivery_belong_to_machines() {
        assert!(is_machine(Some("Mozilla/5.0"), Some(2)));
        assert!(!is_machine(Some("Mozilla/5.0"), Some(MACHINE_WINDOW)));
        assert!(!is_machine(Some("Mozilla/5.0"), None));
        assert!(is_machine(Some("Mozilla/5.0 (compatible; YahooMailProxy)"), Some(3600)));
    }
}
