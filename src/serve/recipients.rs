//! What campaign recipients reach: the unsubscribe page and one-click unsubscription, the
//! open pixel, the click redirect and the media library's images. Each token names one action
//! for one message (the anonymous recipient's only rights); a forged one is 404.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::{App, blocking, failure, pages, redirect};
use crate::service::campaign::{inbound, tracking};

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/u/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/m/{hash}", get(media))
        .route("/o/{token}", get(open_pixel))
        .route("/c/{token}", get(click))
        .route("/v/{token}", get(view_online))
}

/// 429 with `Retry-After` when an address posts too often.
pub(super) fn too_many(lang: pages::Lang, wait: u64) -> Response {
    let mut r = (StatusCode::TOO_MANY_REQUESTS, Html(pages::too_many(lang))).into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// `GET /u/TOKEN`: the page and its button; a GET changes nothing (link scanners open links).
async fn unsubscribe_page(
    State(app): State<Arc<App>>,
    UrlPath(token): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let lang = pages::Lang::of(&headers);
    let target = blocking(move || inbound::unsubscribe_target(&*app.pool.get()?, &token)).await;
    match target {
        Ok(t) => Html(pages::unsubscribe_form(lang, &t.email)).into_response(),
        Err(e) => failure(lang, &e),
    }
}

/// `POST /u/TOKEN`: RFC 8058's `List-Unsubscribe=One-Click`, or the page's button.
/// Not rate-limited: RFC 8058 posts come from the mailbox providers' few servers, for many
/// recipients at once, and each token unsubscribes one address once.
async fn unsubscribe(
    State(app): State<Arc<App>>,
    UrlPath(token): UrlPath<String>,
    headers: HeaderMap,
    _body: Bytes,
) -> Response {
    let lang = pages::Lang::of(&headers);
    match blocking(move || inbound::unsubscribe_by_token(&*app.pool.get()?, &token)).await {
        Ok(r) => Html(pages::unsubscribed(lang, &r.recipient)).into_response(),
        Err(e) => failure(lang, &e),
    }
}

/// `GET /m/SHA256`: an image of the library, cached for good (its name is its content). Raster
/// images show inline; SVG, PDF and calendar files download (an SVG opened from our origin
/// could carry script).
async fn media(State(app): State<Arc<App>>, UrlPath(hash): UrlPath<String>, headers: HeaderMap) -> Response {
    let lang = pages::Lang::of(&headers);
    match blocking(move || crate::service::campaign::media::public_file(&*app.pool.get()?, &hash)).await {
        Ok((m, bytes)) => {
            let raster = ["image/png", "image/jpeg", "image/gif", "image/webp"].contains(&m.mime.as_str());
            let disposition = if raster { "inline" } else { "attachment" };
            let name: String = m.name.chars().filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c)).collect();
            let mut r = bytes.into_response();
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&m.mime) {
                h.insert(header::CONTENT_TYPE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
            r
        }
        Err(e) => failure(lang, &e),
    }
}

/// The smallest transparent GIF (1×1).
const PIXEL: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

/// `GET /o/TOKEN`: records an open (human or machine, by user agent and timing) and answers a
/// 1×1 GIF once it is stored; a forged token is 404.
async fn open_pixel(State(app): State<Arc<App>>, UrlPath(token): UrlPath<String>, headers: HeaderMap) -> Response {
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(String::from);
    let lang = pages::Lang::of(&headers);
    let reader = app.clone();
    let event =
        blocking(move || tracking::resolve_open(&*reader.pool.get()?, &reader.secret, &token, ua.as_deref())).await;
    let stored = match event {
        Ok(Some(e)) => app.events.store(e).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    match stored {
        Ok(()) => ([(header::CONTENT_TYPE, "image/gif")], PIXEL).into_response(),
        Err(e) => failure(lang, &e),
    }
}

/// `GET /c/TOKEN`: records a click and redirects (302) to the link the message carried.
async fn click(State(app): State<Arc<App>>, UrlPath(token): UrlPath<String>, headers: HeaderMap) -> Response {
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(String::from);
    let lang = pages::Lang::of(&headers);
    let reader = app.clone();
    let resolved = blocking(move || {
        let db = reader.pool.get()?;
        tracking::resolve_click(&db, &reader.secret, &token, ua.as_deref(), reader.public_url())
    })
    .await;
    let stored = match resolved {
        Ok((Some(e), to)) => app.events.store(e).await.map(|()| to),
        Ok((None, to)) => Ok(to),
        Err(e) => Err(e),
    };
    match stored {
        Ok(url) => redirect(&url),
        Err(e) => failure(lang, &e),
    }
}

/// `GET /v/TOKEN`: the message as the recipient was sent it, in the browser.
async fn view_online(State(app): State<Arc<App>>, UrlPath(token): UrlPath<String>, headers: HeaderMap) -> Response {
    let lang = pages::Lang::of(&headers);
    let public = app.public_url().unwrap_or("").to_string();
    match blocking(move || crate::service::campaign::send::view_online(&*app.pool.get()?, &token, &public)).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => failure(lang, &e),
    }
}
