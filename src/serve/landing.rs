//! Landing pages (`/p/SLUG`, their sign-up form and its confirmation link) and short links
//! (`/s/CODE`). The visitor may fill this page's form and nothing else; pages and posts are
//! rate-limited per address.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Form, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::limits::PerAddress;
use super::recipients::too_many;
use super::{App, blocking, client_ip, failure, pages, redirect};
use crate::domain::page::Submitted;
use crate::service::campaign::{pages as landing, shortlinks};

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/p/{slug}", get(page).post(submit))
        .route("/p/{slug}/confirm/{token}", get(confirm_page).post(confirm))
        .route("/s/{code}", get(short))
}

type Params = Query<BTreeMap<String, String>>;
type Peer = ConnectInfo<SocketAddr>;

/// 429 when the request's address is past `limit` this minute.
fn over_limit(limit: &PerAddress, peer: &Peer, headers: &HeaderMap, lang: pages::Lang) -> Option<Response> {
    limit.check(client_ip(peer, headers)).err().map(|wait| too_many(lang, wait))
}

/// Where `/m/…` images of a page are served: this server, as the public knows it.
fn media_base(app: &App) -> String {
    app.public_url().unwrap_or("").to_string()
}

async fn page(
    State(app): State<Arc<App>>,
    peer: Peer,
    UrlPath(slug): UrlPath<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let lang = pages::Lang::of(&headers);
    if let Some(refused) = over_limit(&app.pages, &peer, &headers, lang) {
        return refused;
    }
    let r = q.get("r").cloned();
    let shown = blocking(move || landing::public_page(&*app.pool.get()?, &slug, r.as_deref(), &media_base(&app))).await;
    match shown {
        Ok(p) => Html(pages::landing(lang, &p)).into_response(),
        Err(e) => failure(lang, &e),
    }
}

async fn submit(
    State(app): State<Arc<App>>,
    peer: Peer,
    UrlPath(slug): UrlPath<String>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let lang = pages::Lang::of(&headers);
    if let Some(refused) = over_limit(&app.forms, &peer, &headers, lang) {
        return refused;
    }
    let done = blocking(move || {
        let public = app.public_url().unwrap_or("");
        let to = landing::SignupMail { smtp: &app.settings.smtp, public_url: public };
        landing::submit(&*app.pool.get()?, &slug, &form, &to)
    })
    .await;
    match done {
        Ok(Submitted::ConfirmationSent) => Html(pages::check_your_mail(lang)).into_response(),
        Ok(Submitted::Subscribed | Submitted::Ignored) => Html(pages::thanks(lang)).into_response(),
        Err(e) => failure(lang, &e),
    }
}

/// `GET …/confirm/TOKEN`: a page with a button; a GET alone confirms nothing (link scanners).
async fn confirm_page(
    State(app): State<Arc<App>>,
    UrlPath((slug, token)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let lang = pages::Lang::of(&headers);
    match blocking(move || landing::confirmation_target(&*app.pool.get()?, &slug, &token)).await {
        Ok((_, _, email)) => Html(pages::confirm_form(lang, &email)).into_response(),
        Err(e) => failure(lang, &e),
    }
}

async fn confirm(
    State(app): State<Arc<App>>,
    peer: Peer,
    UrlPath((slug, token)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let lang = pages::Lang::of(&headers);
    if let Some(refused) = over_limit(&app.forms, &peer, &headers, lang) {
        return refused;
    }
    match blocking(move || landing::confirm(&*app.pool.get()?, &slug, &token)).await {
        Ok(email) => Html(pages::confirmed(lang, &email)).into_response(),
        Err(e) => failure(lang, &e),
    }
}

/// `GET /s/CODE[?r=TOKEN]`: counts and redirects; a recipient's token rides along to this
/// server's landing pages (autologin).
async fn short(
    State(app): State<Arc<App>>,
    peer: Peer,
    UrlPath(code): UrlPath<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let lang = pages::Lang::of(&headers);
    if let Some(refused) = over_limit(&app.pages, &peer, &headers, lang) {
        return refused;
    }
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(String::from);
    let r = q.get("r").cloned();
    let target =
        blocking(move || shortlinks::follow(&*app.pool.get()?, &code, r.as_deref(), ua.as_deref(), app.public_url()))
            .await;
    match target {
        Ok(url) => redirect(&url),
        Err(e) => failure(lang, &e),
    }
}
