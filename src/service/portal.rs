//! The client portal's rules (seed 003's web space for clients): who may open a portal session
//! (client accounts only, through the CLI's password check, lockout and audit), the cookie that
//! carries it (the session's two tokens, stored hashed like CLI sessions), and the tokens that
//! protect its forms. Its pages call the ticket and project services as the client account, so
//! the portal shows and does exactly what `rolo ticket …` allows that account.

use chrono::{DateTime, Utc};

use super::auth::{self, Credentials};
use super::authz::Session;
use super::{project, ticket};
use crate::db::Db;
use crate::domain::project::Project;
use crate::domain::ticket::{ListFilter, TicketRow};
use crate::domain::token::{self, Purpose};
use crate::secrets::Secret;
use crate::{Error, Result};

/// The cookie's name.
pub const COOKIE: &str = "rolo_portal";
/// How long a login form may wait before it is posted.
const LOGIN_FORM_MINUTES: i64 = 120;
/// Tickets on a dashboard page (newest first; `before` pages on).
pub const DASHBOARD_TICKETS: u32 = 50;

const STAFF_REFUSED: &str = "this space is for client accounts; staff use the terminal (`rolo login`)";
const FORM_REFUSED: &str = "this form has expired or did not come from this site; reload the page and try again";

/// A portal session just opened: the cookie's value and the session's row.
pub struct Opened {
    pub cookie: String,
    pub session_id: i64,
}

fn cookie_of(t: &auth::IssuedTokens) -> String {
    format!("{}.{}", t.tokens.access.expose(), t.tokens.refresh.expose())
}

/// Logs a client account in (a staff account with the right password is refused and audited).
pub fn login(db: &Db, username: &str, password: &Secret<String>) -> Result<Opened> {
    let refuse = |a: &super::authz::Actor| (!a.is_client()).then_some(STAFF_REFUSED);
    let (_, tokens, session_id) = auth::login_where(db, username.trim(), password, refuse)?;
    Ok(Opened { cookie: cookie_of(&tokens), session_id })
}

/// A resumed portal session: the client account, its session row, and the new cookie value
/// when the tokens were rotated (the access token lasts an hour, the session 30 days).
pub struct Resumed<'db> {
    pub session: Session<'db>,
    pub session_id: i64,
    pub new_cookie: Option<String>,
}

fn credentials(cookie: &str) -> Credentials {
    let (access, refresh) = cookie.split_once('.').unwrap_or((cookie, ""));
    let some = |t: &str| (!t.is_empty()).then(|| Secret::new(t.to_string()));
    Credentials { access: some(access), refresh: some(refresh) }
}

/// The session a cookie names, if it is a live session of a client account.
pub fn resume<'db>(db: &'db Db, cookie: &str) -> Result<Resumed<'db>> {
    let r = auth::resume(db, &credentials(cookie))?;
    if !r.session.actor().is_client() {
        return Err(Error::auth(STAFF_REFUSED));
    }
    Ok(Resumed { new_cookie: r.rotated.as_ref().map(cookie_of), session_id: r.session_id, session: r.session })
}

/// Revokes the cookie's session; `false` when it named none.
pub fn logout(db: &Db, cookie: &str) -> Result<bool> {
    auth::logout(db, &credentials(cookie))
}

/// The token of a login form served now.
pub fn login_form_token(secret: &[u8], now: DateTime<Utc>) -> String {
    token::sign_pair(secret, Purpose::PortalLogin, 0, now.timestamp() / 60)
}

/// A login post must carry a login form of this server, served in the last two hours.
pub fn check_login_form(secret: &[u8], token: Option<&str>, now: DateTime<Utc>) -> Result<()> {
    let fresh = token
        .and_then(|t| token::verify_pair(secret, Purpose::PortalLogin, t))
        .is_some_and(|(zero, minute)| zero == 0 && (0..=LOGIN_FORM_MINUTES).contains(&(now.timestamp() / 60 - minute)));
    if fresh { Ok(()) } else { Err(Error::denied(FORM_REFUSED)) }
}

/// The token every form of a session carries (it names the session's row, so it outlives
/// the hourly rotation of the cookie and dies with the session).
pub fn form_token(secret: &[u8], session_id: i64) -> String {
    token::sign(secret, Purpose::PortalForm, session_id)
}

/// A post of a session must carry that session's form token.
pub fn check_form(secret: &[u8], session_id: i64, token: Option<&str>) -> Result<()> {
    match token.and_then(|t| token::verify(secret, Purpose::PortalForm, t)) {
        Some(id) if id == session_id => Ok(()),
        _ => Err(Error::denied(FORM_REFUSED)),
    }
}

/// The dashboard: the account's projects and their tickets, filtered by status and project.
pub struct Dashboard {
    pub projects: Vec<Project>,
    pub tickets: Vec<TicketRow>,
    /// The id to page on from (older tickets match too), if any.
    pub next_before: Option<i64>,
}

/// A page of the dashboard: the newest tickets matching, or those older than `before`.
pub fn dashboard(
    session: &Session,
    status: Option<&str>,
    project_key: Option<&str>,
    before: Option<i64>,
) -> Result<Dashboard> {
    let projects = project::list(session, None)?;
    let filter = ListFilter {
        statuses: status.map(|s| vec![s.to_string()]).unwrap_or_default(),
        project: project_key.map(String::from),
        limit: Some(DASHBOARD_TICKETS + 1),
        before_id: before,
        ..Default::default()
    };
    let mut tickets = ticket::list(session, &filter)?;
    let more = tickets.len() > DASHBOARD_TICKETS as usize;
    tickets.truncate(DASHBOARD_TICKETS as usize);
    let next_before = if more { tickets.last().map(|t| t.ticket.id) } else { None };
    Ok(Dashboard { projects, tickets, next_before })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing;

    fn pw(p: &str) -> Secret<String> {
        Secret::new(p.to_string())
    }

    #[test]
    fn only_client_accounts_open_a_portal_session() {
        let db = testing::demo();
        let opened = login(&db, "kevin", &pw("kevin-demo-password")).expect("kevin logs in");
        let r = resume(&db, &opened.cookie).expect("the cookie works");
        assert_eq!(r.session.actor().username, "kevin");
        assert_eq!(r.session_id, opened.session_id);
        assert!(r.new_cookie.is_none());
        // Every staff role is refused, with the right password, and nothing is opened.
        for role in ["admin", "management", "sales", "support", "marketing"] {
            let user = testing::user_of(role);
            let e = login(&db, user, &pw(&format!("{user}-demo-password"))).err().expect("refused");
            assert_eq!(e.kind(), crate::ErrorKind::Auth, "{role}");
            assert!(e.message().contains("client accounts"), "{role}: {}", e.message());
        }
        // A staff CLI session presented as a cookie is refused too.
        let (_, staff) = auth::login(&db, "kate", &pw("kate-demo-password")).expect("kate");
        let e = resume(&db, &cookie_of(&staff)).err().expect("not a portal session");
        assert_eq!(e.kind(), crate::ErrorKind::Auth);
    }

    #[test]
    fn cookies_that_are_not_a_live_session_are_refused() {
        let db = testing::demo();
        let opened = login(&db, "kevin", &pw("kevin-demo-password")).expect("login");
        let (access, refresh) = opened.cookie.split_once('.').expect("two tokens");
        let forged = format!("rolo_at_{}", "0".repeat(64));
        for bad in ["", ".", "garbage", &forged, &format!("{forged}.{forged}"), &format!("{access}x.{refresh}x")] {
            assert!(resume(&db, bad).is_err(), "{bad:?}");
        }
        assert!(logout(&db, &opened.cookie).expect("logout"));
        assert!(resume(&db, &opened.cookie).is_err(), "a logged-out cookie is dead");
        assert!(!logout(&db, &opened.cookie).expect("second logout"));
    }

    #[test]
    fn five_bad_passwords_lock_the_account_as_on_the_command_line() {
        let db = testing::demo();
        for _ in 0..5 {
            assert!(login(&db, "kevin", &pw("wrong")).is_err());
        }
        let e = login(&db, "kevin", &pw("kevin-demo-password")).err().expect("locked");
        assert!(e.message().contains("locked"), "{}", e.message());
    }

    #[test]
    fn form_tokens_belong_to_their_session_and_login_forms_expire() {
        let (secret, other) = (b"secret-of-this-database".as_slice(), b"another-database".as_slice());
        let t = form_token(secret, 7);
        assert!(check_form(secret, 7, Some(&t)).is_ok());
        let refused: [(&[u8], i64, Option<&str>); 5] = [
            (secret, 8, Some(&t)),
            (other, 7, Some(&t)),
            (secret, 7, None),
            (secret, 7, Some("")),
            (secret, 7, Some("7.00")),
        ];
        for (s, id, token) in refused {
            assert_eq!(
                check_form(s, id, token).err().map(|e| e.kind()),
                Some(crate::ErrorKind::Denied),
                "{id} {token:?}"
            );
        }
        let now = Utc::now();
        let login = login_form_token(secret, now);
        assert!(check_login_form(secret, Some(&login), now).is_ok());
        assert!(check_login_form(secret, Some(&login), now + chrono::Duration::minutes(119)).is_ok());
        assert!(check_login_form(secret, Some(&login), now + chrono::Duration::minutes(122)).is_err());
        assert!(check_login_form(other, Some(&login), now).is_err());
        assert!(check_login_form(secret, Some(&form_token(secret, 0)), now).is_err(), "another purpose");
        assert!(check_login_form(secret, None, now).is_err());
    }

    #[test]
    fn the_dashboard_shows_granted_projects_and_their_tickets_only() {
        let db = testing::demo();
        let kevin = testing::session_as(&db, "kevin");
        let all = dashboard(&kevin, None, None, None).expect("dashboard");
        let granted: Vec<i64> = all.projects.iter().map(|p| p.id).collect();
        assert!(!granted.is_empty());
        assert!(all.tickets.iter().all(|t| granted.contains(&t.ticket.project_id)));
        let staff = dashboard(&testing::session_as(&db, "kate"), None, None, None).expect("staff sees all");
        assert!(staff.tickets.len() > all.tickets.len(), "the demo has tickets Kevin must not see");
        let first = all.tickets[0].ticket.status.clone();
        let by_status = dashboard(&kevin, Some(&first), None, None).expect("by status");
        assert!(!by_status.tickets.is_empty() && by_status.tickets.iter().all(|t| t.ticket.status == first));
        let foreign = staff.projects.iter().find(|p| !granted.contains(&p.id)).expect("a foreign project");
        let e = dashboard(&kevin, None, Some(&foreign.id.to_string()), None).err().expect("not found");
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
        assert!(dashboard(&kevin, Some("nonsense"), None, None).is_err());
    }

    /// With a public URL, e-mails to the client link to the ticket in the portal; the team's
    /// e-mails keep the terminal's command; without one, nobody gets a link.
    #[test]
    fn mail_to_clients_links_to_the_ticket_in_the_portal() {
        for public_url in [Some("https://crm.example.com"), None] {
            let db = testing::demo();
            let base = testing::settings();
            let s = ticket::Settings { public_url, ..base };
            let before =
                crate::db::outbox::list(&db, None, None).expect("outbox").iter().map(|m| m.id).max().unwrap_or(0);
            ticket::reply(&testing::session_as(&db, "kate"), &s, "1", "C’est corrigé.", vec![], None).expect("staff");
            ticket::reply(&testing::session_as(&db, "kevin"), &s, "1", "Merci !", vec![], None).expect("client");
            let mails = crate::db::outbox::list(&db, None, None).expect("outbox");
            let new: Vec<_> = mails.iter().filter(|m| m.id > before).collect();
            let to_kevin = new.iter().find(|m| m.to == "kevin@startup.io").expect("a mail to Kevin");
            let to_team = new.iter().find(|m| m.to != "kevin@startup.io").expect("a mail to the team");
            let link = "https://crm.example.com/portal/tickets/1";
            assert_eq!(to_kevin.text_body.contains(link), public_url.is_some(), "{}", to_kevin.text_body);
            assert_eq!(to_kevin.html_body.contains(link), public_url.is_some(), "{}", to_kevin.html_body);
            assert!(!to_team.text_body.contains("/portal/") && to_team.text_body.contains("rolo ticket reply 1"));
        }
    }

    /// Pages of the dashboard follow each other newest first, without gaps or repeats.
    #[test]
    fn the_dashboard_pages_through_every_ticket_once() {
        let db = testing::demo();
        let kevin = testing::session_as(&db, "kevin");
        for i in 0..(DASHBOARD_TICKETS + 7) {
            let input = crate::domain::ticket::NewTicket {
                project: "Cool Startup Website".into(),
                kind: "maintenance".into(),
                subject: format!("Page test {i}"),
                body: "x".into(),
                attachments: vec![],
            };
            ticket::create(&kevin, &testing::settings(), input).expect("ticket");
        }
        let all: Vec<i64> =
            ticket::list(&kevin, &ListFilter::default()).expect("all").iter().map(|t| t.ticket.id).collect();
        let (mut seen, mut before, mut pages) = (Vec::new(), None, 0);
        loop {
            let page = dashboard(&kevin, None, None, before).expect("page");
            assert!(page.tickets.len() <= DASHBOARD_TICKETS as usize);
            seen.extend(page.tickets.iter().map(|t| t.ticket.id));
            pages += 1;
            match page.next_before {
                Some(id) => before = Some(id),
                None => break,
            }
        }
        assert_eq!(seen, all, "newest first, each once");
        assert_eq!(pages, all.len().div_ceil(DASHBOARD_TICKETS as usize));
    }
}
