//! `rolo serve`: the HTTP side, for those who never use a terminal. Today it serves campaign
//! recipients their unsubscribe page, RFC 8058 one-click unsubscription and the images of the
//! media library; every request calls
//! the same services as the CLI, off the async threads, through a pool of connections.
//!
//! Hardening: headers must arrive within [`HEADER_TIMEOUT`] (a client trickling them byte by
//! byte is cut off, and costs one idle task meanwhile), bodies over [`BODY_LIMIT`] are 413,
//! every answer carries security headers and no cache, and the access log on stderr names no
//! token and no person. SIGTERM or Ctrl-C stops accepting, lets requests in flight finish
//! (at most [`DRAIN`]), and exits 0.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

use crate::db::pool::Pool;
use crate::service::campaign::inbound;
use crate::{Error, ErrorKind, Result};

mod pages;

/// Request bodies beyond this are refused (413): nothing here takes more than a form.
pub const BODY_LIMIT: usize = 64 * 1024;
/// A request's headers must be complete within this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests in flight may finish after SIGTERM.
pub const DRAIN: Duration = Duration::from_secs(20);

/// What every handler shares.
struct App {
    pool: Arc<Pool>,
}

/// Runs the server until SIGTERM or Ctrl-C. `ready` is told the bound address (port 0 picks one).
pub fn run(db_path: &Path, listen: SocketAddr, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let pool = Pool::open(db_path, 16)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the server runtime: {e}")))?;
    runtime.block_on(serve(Arc::new(App { pool }), listen, ready))
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/u/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/m/{hash}", get(media))
        .route("/o/{token}", get(open_pixel))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(access_log_and_headers))
        .with_state(app)
}

async fn serve(app: Arc<App>, listen: SocketAddr, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::usage(format!("cannot listen on {listen}: {e}")))?;
    ready(listener.local_addr()?);
    let service = TowerToHyperService::new(router(app));
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service.clone()).into_owned();
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = watched.await;
                });
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    eprintln!("rolo serve: stopping; waiting for requests in flight");
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        eprintln!("rolo serve: requests still running after {} s were cut off", DRAIN.as_secs());
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}

/// One line per request on stderr: method, the route (tokens cut off), status, milliseconds.
async fn access_log_and_headers(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = route_of(request.uri().path());
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    eprintln!("{method} {route} {} {} ms", response.status().as_u16(), started.elapsed().as_millis());
    response
}

/// `/u/…` for `/u/TOKEN`: the log never holds a token.
fn route_of(path: &str) -> String {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    match (parts.next(), parts.next()) {
        (Some(first), Some(_)) => format!("/{first}/…"),
        _ => path.chars().take(64).collect(),
    }
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let ok = blocking(move || app.pool.get()?.ping()).await;
    match ok {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response(),
    }
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
/// 1×1 GIF; a forged token is 404.
async fn open_pixel(State(app): State<Arc<App>>, UrlPath(token): UrlPath<String>, headers: HeaderMap) -> Response {
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(String::from);
    let lang = pages::Lang::of(&headers);
    let recorded =
        blocking(move || crate::service::campaign::tracking::open_by_token(&*app.pool.get()?, &token, ua.as_deref()))
            .await;
    match recorded {
        Ok(()) => ([(header::CONTENT_TYPE, "image/gif")], PIXEL).into_response(),
        Err(e) => failure(lang, &e),
    }
}

async fn not_found(headers: HeaderMap) -> Response {
    (StatusCode::NOT_FOUND, Html(pages::not_found(pages::Lang::of(&headers)))).into_response()
}

/// A service error as a page: "not found" for unknown or forged tokens, 500 otherwise (logged
/// without the request's data).
fn failure(lang: pages::Lang, e: &Error) -> Response {
    match e.kind() {
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, Html(pages::not_found(lang))).into_response(),
        _ => {
            eprintln!("rolo serve: internal error: {}", e.message());
            (StatusCode::INTERNAL_SERVER_ERROR, Html(pages::internal(lang))).into_response()
        }
    }
}

/// Runs database work on the blocking pool, never on the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal(format!("a request's worker failed: {e}")))?
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_log_names_routes_not_tokens() {
        assert_eq!(super::route_of("/u/1f.0123456789abcdef"), "/u/…");
        assert_eq!(super::route_of("/healthz"), "/healthz");
        assert_eq!(super::route_of("/"), "/");
    }
}
