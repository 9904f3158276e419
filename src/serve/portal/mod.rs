//! The client portal (`/portal`): the agency's clients follow their projects and tickets, open
//! tickets with files, read the public thread and answer, from a phone or a desktop. Each
//! request resumes the client account's session from its cookie and calls the ticket and
//! project services as that account — the portal can do nothing `rolo ticket …` would refuse
//! it, and a foreign or internal id is 404 as on the command line.
//!
//! Server-rendered HTML (no script), one stylesheet, French or English by `Accept-Language`;
//! every post carries its session's form token; the cookie is `HttpOnly`, `SameSite=Lax`,
//! `Secure` under HTTPS, and dies at logout or with a password change.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use super::pages::Lang;
use super::{App, blocking, client_ip};
use crate::domain::ticket::{NewAttachment, NewTicket};
use crate::service::authz::Session;
use crate::service::{portal, ticket};
use crate::{Error, ErrorKind, Result};

mod account;
mod views;

use views::Frame;

/// Files a post may carry at most.
const MAX_FILES: usize = 10;

/// The portal's own policy: its stylesheet and nothing else loads, forms post here only.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

pub(super) fn routes(max_attachment_bytes: u64) -> Router<Arc<App>> {
    // A post with files: the files' limit and room for the form's text.
    let upload = DefaultBodyLimit::max((max_attachment_bytes as usize).saturating_add(1024 * 1024));
    Router::new()
        .route("/portal", get(home))
        .route("/portal/", get(home))
        .route("/portal/style.css", get(style))
        .route("/portal/login", get(account::login_page).post(account::login))
        .route("/portal/logout", post(account::logout))
        .route("/portal/tickets", get(dashboard).post(create).layer(upload))
        .route("/portal/tickets/new", get(new_page))
        .route("/portal/tickets/{id}", get(ticket_page))
        .route("/portal/tickets/{id}/reply", post(reply).layer(upload))
        .route("/portal/tickets/{id}/reopen", post(reopen))
        .route("/portal/files/{id}", get(download))
        .route("/portal/password", get(account::password_page).post(account::change_password))
}

/// What a handler answers, built into a response with the session's cookie.
enum Reply {
    Page(StatusCode, String),
    SeeOther(String),
    File { name: String, mime: String, bytes: Vec<u8> },
}

/// A signed-in request: the client account, its session row, the page language.
struct Signed<'a> {
    session: Session<'a>,
    session_id: i64,
    lang: Lang,
    app: &'a App,
}

impl Signed<'_> {
    fn frame(&self) -> Frame {
        let csrf = portal::form_token(&self.app.secret, self.session_id);
        Frame::new(self.lang, Some(self.session.actor().full_name.clone()), csrf)
    }

    fn check_form(&self, form: &BTreeMap<String, String>) -> Result<()> {
        portal::check_form(&self.app.secret, self.session_id, form.get("csrf").map(String::as_str))
    }

    fn ticket_settings(&self) -> ticket::Settings<'_> {
        ticket::Settings {
            smtp: &self.app.settings.smtp,
            max_attachment_bytes: self.app.settings.max_attachment_bytes,
            public_url: self.app.public_url(),
        }
    }
}

fn cookie_in(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == portal::COOKIE)
        .map(|(_, value)| value.to_string())
}

fn secure(app: &App) -> bool {
    app.settings.tls.is_some() || app.public_url().is_some_and(|u| u.starts_with("https://"))
}

fn set_cookie(app: &App, value: Option<&str>) -> HeaderValue {
    let attrs = format!("; Path=/portal; HttpOnly; SameSite=Lax{}", if secure(app) { "; Secure" } else { "" });
    let cookie = match value {
        Some(v) => format!("{}={v}{attrs}", portal::COOKIE),
        None => format!("{}=; Max-Age=0{attrs}", portal::COOKIE),
    };
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn finish(app: &App, reply: Reply, cookie: Option<Option<String>>) -> Response {
    let mut response = match reply {
        Reply::Page(status, html) => (status, Html(html)).into_response(),
        Reply::SeeOther(to) => see_other(&to),
        Reply::File { name, mime, bytes } => download_response(&name, &mime, bytes),
    };
    let h = response.headers_mut();
    // A download carries its own (sandboxed) policy.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    if let Some(value) = cookie {
        h.append(header::SET_COOKIE, set_cookie(app, value.as_deref()));
    }
    response
}

fn see_other(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or_else(|_| HeaderValue::from_static("/portal/tickets"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// Always a download (never shown inline, so an uploaded HTML or SVG file runs nothing here),
/// its type as stored, its name in both forms of RFC 6266.
fn download_response(name: &str, mime: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' })
        .collect();
    let encoded = percent(name, b"-._~");
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mime = HeaderValue::from_str(mime).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, mime);
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    r
}

/// Runs `f` as the cookie's client account on a database connection. No session (or an
/// expired, revoked or staff one) goes to the login page, back here after.
async fn signed_in(
    app: Arc<App>,
    headers: &HeaderMap,
    back_to: String,
    f: impl FnOnce(&Signed) -> Result<Reply> + Send + 'static,
) -> Response {
    let lang = Lang::of(headers);
    let Some(cookie) = cookie_in(headers) else {
        return see_other(&login_url(&back_to));
    };
    let app2 = app.clone();
    let outcome = blocking(move || {
        let db = app2.pool.get()?;
        let r = portal::resume(&db, &cookie)?;
        let signed = Signed { session: r.session, session_id: r.session_id, lang, app: &app2 };
        let reply = f(&signed).or_else(|e| failure(&signed, e))?;
        Ok((reply, r.new_cookie))
    })
    .await;
    match outcome {
        Ok((reply, rotated)) => finish(&app, reply, rotated.map(Some)),
        Err(e) if e.kind() == ErrorKind::Auth => {
            // A dead cookie is cleared on the way to the login page.
            finish(&app, Reply::SeeOther(login_url(&back_to)), Some(None))
        }
        Err(e) => finish(&app, internal(lang, &e), None),
    }
}

fn login_url(back_to: &str) -> String {
    if back_to.is_empty() || back_to == "/portal/tickets" {
        "/portal/login".into()
    } else {
        format!("/portal/login?next={}", percent(back_to, b"-._~/"))
    }
}

/// Percent-encoding of every byte but ASCII letters, digits and `keep`.
fn percent(s: &str, keep: &[u8]) -> String {
    s.bytes()
        .map(
            |b| {
                if b.is_ascii_alphanumeric() || keep.contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            },
        )
        .collect()
}

/// A refusal of the service as a page: 404 for what this account cannot see, 403 for a form
/// without its token, 400 with the reason for a value that does not pass.
fn failure(s: &Signed, e: Error) -> Result<Reply> {
    let (status, heading) = match e.kind() {
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, if s.lang == Lang::Fr { "Introuvable" } else { "Not found" }),
        ErrorKind::Denied => (StatusCode::FORBIDDEN, if s.lang == Lang::Fr { "Refusé" } else { "Refused" }),
        ErrorKind::Invalid | ErrorKind::Usage | ErrorKind::Conflict => {
            (StatusCode::BAD_REQUEST, if s.lang == Lang::Fr { "Impossible" } else { "Not possible" })
        }
        _ => return Err(e),
    };
    let text = if e.kind() == ErrorKind::NotFound {
        if s.lang == Lang::Fr {
            "Cette page n’existe pas ou ne vous est pas ouverte."
        } else {
            "This page does not exist or is not open to you."
        }
        .to_string()
    } else {
        e.message().to_string()
    };
    Ok(Reply::Page(status, views::message(&s.frame(), heading, &text)?))
}

fn internal(lang: Lang, e: &Error) -> Reply {
    eprintln!("rolo serve: portal: internal error: {}", e.message());
    Reply::Page(StatusCode::INTERNAL_SERVER_ERROR, super::pages::internal(lang))
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        views::STYLE,
    )
        .into_response()
}

async fn home(headers: HeaderMap) -> Response {
    match cookie_in(&headers) {
        Some(_) => see_other("/portal/tickets"),
        None => see_other("/portal/login"),
    }
}

type Params = Query<BTreeMap<String, String>>;

fn parse_id(raw: &str) -> Result<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| Error::not_found("ticket", raw))
}

async fn dashboard(State(app): State<Arc<App>>, Query(q): Params, headers: HeaderMap) -> Response {
    let back = "/portal/tickets".to_string();
    signed_in(app, &headers, back, move |s| {
        let status = q.get("status").filter(|v| !v.is_empty()).cloned();
        let project = q.get("project").filter(|v| !v.is_empty()).map(|p| parse_id(p)).transpose()?;
        let key = project.map(|p| p.to_string());
        let before = q.get("before").filter(|v| !v.is_empty()).map(|b| parse_id(b)).transpose()?;
        let d = portal::dashboard(&s.session, status.as_deref(), key.as_deref(), before)?;
        Ok(Reply::Page(StatusCode::OK, views::tickets(&s.frame(), &d, status.as_deref(), project)?))
    })
    .await
}

/// What a browser posted: its text fields and its files (empty file inputs skipped).
struct Posted {
    fields: BTreeMap<String, String>,
    files: Vec<NewAttachment>,
}

/// Reads a multipart form; a body over the limit is 413.
async fn read_multipart(mut m: Multipart) -> std::result::Result<Posted, (StatusCode, String)> {
    let mut posted = Posted { fields: BTreeMap::new(), files: Vec::new() };
    loop {
        let field = match m.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(posted),
            Err(e) => return Err((e.status(), e.body_text())),
        };
        let name = field.name().unwrap_or("").to_string();
        match field.file_name().map(String::from) {
            Some(file_name) => {
                let bytes = field.bytes().await.map_err(|e| (e.status(), e.body_text()))?;
                // A browser names the file alone; anything path-like is cut to its last part.
                let file_name = file_name.rsplit(['/', '\\']).next().unwrap_or("").trim().to_string();
                if file_name.is_empty() && bytes.is_empty() {
                    continue;
                }
                if posted.files.len() == MAX_FILES {
                    return Err((StatusCode::BAD_REQUEST, format!("at most {MAX_FILES} files per message")));
                }
                posted.files.push(NewAttachment { name: file_name, bytes: bytes.to_vec() });
            }
            None => {
                let text = field.text().await.map_err(|e| (e.status(), e.body_text()))?;
                posted.fields.insert(name, text);
            }
        }
    }
}

fn too_large(app: &App, lang: Lang, status: StatusCode, detail: &str) -> Response {
    let max = views::size(lang, app.settings.max_attachment_bytes);
    let text = if status == StatusCode::PAYLOAD_TOO_LARGE {
        match lang {
            Lang::Fr => format!("Les fichiers dépassent la limite de {max} par message. Rien n’a été envoyé."),
            Lang::En => format!("The files are over the {max} limit per message. Nothing was sent."),
        }
    } else {
        detail.to_string()
    };
    let frame = Frame::new(lang, None, String::new());
    let heading = if lang == Lang::Fr { "Impossible" } else { "Not possible" };
    let page = views::message(&frame, heading, &text).unwrap_or_default();
    finish(app, Reply::Page(status, page), None)
}

async fn new_page(State(app): State<Arc<App>>, Query(q): Params, headers: HeaderMap) -> Response {
    signed_in(app, &headers, "/portal/tickets/new".into(), move |s| {
        let projects = crate::service::project::list(&s.session, None)?;
        let draft =
            views::NewTicketDraft { project: q.get("project").and_then(|p| p.parse().ok()), ..Default::default() };
        let max = s.app.settings.max_attachment_bytes;
        Ok(Reply::Page(StatusCode::OK, views::new_ticket(&s.frame(), &projects, &draft, max)?))
    })
    .await
}

async fn create(State(app): State<Arc<App>>, headers: HeaderMap, m: Multipart) -> Response {
    let lang = Lang::of(&headers);
    let posted = match read_multipart(m).await {
        Ok(p) => p,
        Err((status, detail)) => return too_large(&app, lang, status, &detail),
    };
    signed_in(app, &headers, "/portal/tickets/new".into(), move |s| {
        s.check_form(&posted.fields)?;
        let field = |k: &str| posted.fields.get(k).cloned().unwrap_or_default();
        let input = NewTicket {
            project: field("project"),
            kind: field("type"),
            subject: field("subject"),
            body: field("body"),
            attachments: posted.files,
        };
        match ticket::create(&s.session, &s.ticket_settings(), input) {
            Ok(outcome) => Ok(Reply::SeeOther(format!("/portal/tickets/{}", outcome.ticket.id))),
            Err(e) if matches!(e.kind(), ErrorKind::Invalid | ErrorKind::Usage) => {
                // The form again, as typed, with the reason (files must be chosen again).
                let projects = crate::service::project::list(&s.session, None)?;
                let draft = views::NewTicketDraft {
                    project: field("project").parse().ok(),
                    kind: field("type"),
                    subject: field("subject"),
                    body: field("body"),
                };
                let mut frame = s.frame();
                frame.error = Some(e.message().to_string());
                let max = s.app.settings.max_attachment_bytes;
                Ok(Reply::Page(StatusCode::BAD_REQUEST, views::new_ticket(&frame, &projects, &draft, max)?))
            }
            Err(e) => Err(e),
        }
    })
    .await
}

/// The ticket page (reading it clears its unread mark), with an error and the typed text
/// after a refused reply.
fn ticket_reply(s: &Signed, id: i64, error: Option<String>, draft: &str) -> Result<Reply> {
    let v = ticket::show(&s.session, &id.to_string(), false)?;
    let mut frame = s.frame();
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    frame.error = error;
    let forms = views::TicketForms {
        me: &s.session.actor().username,
        draft,
        max_attachment_bytes: s.app.settings.max_attachment_bytes,
    };
    Ok(Reply::Page(status, views::ticket(&frame, &v, &forms)?))
}

async fn ticket_page(State(app): State<Arc<App>>, UrlPath(raw): UrlPath<String>, headers: HeaderMap) -> Response {
    let back = format!("/portal/tickets/{}", percent(&raw, b"-._~"));
    signed_in(app, &headers, back, move |s| ticket_reply(s, parse_id(&raw)?, None, "")).await
}

async fn reply(
    State(app): State<Arc<App>>,
    UrlPath(raw): UrlPath<String>,
    headers: HeaderMap,
    m: Multipart,
) -> Response {
    let lang = Lang::of(&headers);
    let posted = match read_multipart(m).await {
        Ok(p) => p,
        Err((status, detail)) => return too_large(&app, lang, status, &detail),
    };
    let back = format!("/portal/tickets/{}", percent(&raw, b"-._~"));
    signed_in(app, &headers, back, move |s| {
        let id = parse_id(&raw)?;
        s.check_form(&posted.fields)?;
        let body = posted.fields.get("body").cloned().unwrap_or_default();
        match ticket::reply(&s.session, &s.ticket_settings(), &id.to_string(), &body, posted.files, None) {
            Ok(_) => Ok(Reply::SeeOther(format!("/portal/tickets/{id}"))),
            Err(e) if matches!(e.kind(), ErrorKind::Invalid | ErrorKind::Usage | ErrorKind::Conflict) => {
                ticket_reply(s, id, Some(e.message().to_string()), &body)
            }
            Err(e) => Err(e),
        }
    })
    .await
}

async fn reopen(
    State(app): State<Arc<App>>,
    UrlPath(raw): UrlPath<String>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let back = format!("/portal/tickets/{}", percent(&raw, b"-._~"));
    signed_in(app, &headers, back, move |s| {
        let id = parse_id(&raw)?;
        s.check_form(&form)?;
        ticket::set_status(&s.session, &s.ticket_settings(), &id.to_string(), "open")?;
        Ok(Reply::SeeOther(format!("/portal/tickets/{id}")))
    })
    .await
}

async fn download(State(app): State<Arc<App>>, UrlPath(raw): UrlPath<String>, headers: HeaderMap) -> Response {
    signed_in(app, &headers, "/portal/tickets".into(), move |s| {
        let id = raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| Error::not_found("attachment", &raw))?;
        let (info, bytes) = ticket::attachment(&s.session, id)?;
        Ok(Reply::File { name: info.name, mime: info.mime, bytes })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_name_the_file_in_both_forms_and_never_inline() {
        let r = download_response("Devis \"été\".pdf", "application/pdf", b"%PDF".to_vec());
        let d = r.headers()[header::CONTENT_DISPOSITION].to_str().expect("ascii");
        assert_eq!(d, "attachment; filename=\"Devis __t__.pdf\"; filename*=UTF-8''Devis%20%22%C3%A9t%C3%A9%22.pdf");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/pdf");
        let odd = download_response("x.bin", "not a type\n", Vec::new());
        assert_eq!(odd.headers()[header::CONTENT_TYPE], "application/octet-stream");
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; rolo_portal=at.rt; b=2"));
        assert_eq!(cookie_in(&h).as_deref(), Some("at.rt"));
        h.insert(header::COOKIE, HeaderValue::from_static("rolo_portalx=1"));
        assert_eq!(cookie_in(&h), None);
    }
}
