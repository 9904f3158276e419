//! `rolo serve`: the HTTP side, for those who never use a terminal. It serves campaign
//! recipients (open pixel, click redirect, unsubscribe page and RFC 8058 one-click, the media
//! library's images, landing pages, short links) and runs the background work a server owes
//! (the outbox, due campaigns). Every request calls the same services as the CLI, off the async
//! threads, through a pool of connections.
//!
//! Hardening: headers must arrive within [`HEADER_TIMEOUT`] (a client trickling them byte by
//! byte is cut off, and costs one idle task meanwhile), bodies over [`BODY_LIMIT`] are 413,
//! forms and pages are rate-limited per address (429 with `Retry-After`), every answer carries
//! security headers and no cache, and the access log on stderr names no token and no person.
//! HTTPS is built in (`--tls-cert`, `--tls-key`) or left to a reverse proxy (`--public-url`).
//! SIGTERM or Ctrl-C stops accepting, lets requests in flight finish (at most [`DRAIN`]), stops
//! the background work between two messages, and exits 0.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt;

use crate::db::pool::Pool;
use crate::mail::SmtpSettings;
use crate::service::campaign::send;
use crate::{Error, ErrorKind, Result};

mod api;
mod events;
mod landing;
mod limits;
mod pages;
mod portal;
mod recipients;
mod workers;

/// Request bodies beyond this are refused (413): nothing here takes more than a form.
pub const BODY_LIMIT: usize = 64 * 1024;
/// A request's headers must be complete within this (and a TLS handshake too).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests in flight may finish after SIGTERM.
pub const DRAIN: Duration = Duration::from_secs(20);

/// How a server runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub db_path: PathBuf,
    pub listen: SocketAddr,
    /// Where recipients reach this server (`https://crm.example.com`), without a trailing slash.
    pub public_url: Option<String>,
    /// PEM certificate chain and private key: HTTPS built in.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub smtp: SmtpSettings,
    /// How campaigns are sent by the background worker.
    pub campaign: send::Options,
    /// Seconds between two passes of the background worker (0: no background work).
    pub work_every: u64,
    /// Form posts (sign-ups, unsubscriptions, confirmations) per minute and address.
    pub form_rate: u32,
    /// Page views (landing pages, short links) per minute and address.
    pub page_rate: u32,
    /// The largest file a client may attach in the portal (`[tickets] max_attachment_mb`).
    pub max_attachment_bytes: u64,
    /// Where backups go, how many are kept, and how often the server takes one.
    pub backup: crate::service::backup::Settings,
}

/// What every handler shares.
struct App {
    pool: Arc<Pool>,
    /// The database's token secret, read once.
    secret: Vec<u8>,
    events: events::Writer,
    settings: Settings,
    forms: limits::PerAddress,
    pages: limits::PerAddress,
    app_rates: api::AppRates,
}

/// The id of a request, in its access log line, its `X-Request-Id` header and API problems.
#[derive(Debug, Clone, Default)]
struct RequestId(String);

impl App {
    fn public_url(&self) -> Option<&str> {
        self.settings.public_url.as_deref()
    }
}

/// Runs the server until SIGTERM or Ctrl-C. `ready` is told the bound address (port 0 picks one).
pub fn run(settings: Settings, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let tls = settings.tls.as_ref().map(|(cert, key)| tls_acceptor(cert, key)).transpose()?;
    let pool = Pool::open(&settings.db_path, DB_WORKERS)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the server runtime: {e}")))?;
    let halt = Arc::new(AtomicBool::new(false));
    let background = workers::start(&settings, halt.clone())?;
    let db = crate::db::Db::open(&settings.db_path)?;
    let secret = crate::service::campaign::token_secret(&db)?;
    let app = Arc::new(App {
        pool,
        secret,
        events: events::Writer::start(db)?,
        forms: limits::PerAddress::new(settings.form_rate),
        pages: limits::PerAddress::new(settings.page_rate),
        app_rates: api::AppRates::default(),
        settings,
    });
    let served = runtime.block_on(serve(app, tls, ready, &halt));
    halt.store(true, Ordering::SeqCst);
    if let Some(b) = background {
        eprintln!("rolo serve: waiting for the background work to stop");
        let _ = b.join();
    }
    served
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(recipients::routes())
        .merge(landing::routes())
        .merge(api::routes())
        .merge(portal::routes(app.settings.max_attachment_bytes))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(access_log_and_headers))
        .with_state(app)
}

/// The certificate and key of `--tls-cert`/`--tls-key`, read before the port is opened.
fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<tokio_rustls::TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        Error::usage(format!("cannot read the TLS {what} {}: {e}", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("certificate", cert, &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad("certificate", cert, &e))?;
    if certs.is_empty() {
        return Err(bad("certificate", cert, &"no certificate in the file"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("key", key, &e))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| Error::usage(format!("the TLS certificate and key do not go together: {e}")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn serve(
    app: Arc<App>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    ready: impl FnOnce(SocketAddr),
    halt: &AtomicBool,
) -> Result<()> {
    let listen = app.settings.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::usage(format!("cannot listen on {listen}: {e}")))?;
    ready(listener.local_addr()?);
    let routes = router(app);
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let routes = routes.clone();
                // Each request learns the peer's address (rate limits), then goes to the router.
                let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    routes.clone().oneshot(req.map(axum::body::Body::new))
                });
                let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
                match &tls {
                    None => {
                        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                        let watched = graceful.watch(conn);
                        tokio::spawn(async move { let _ = watched.await; });
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        let watcher = graceful.watcher();
                        tokio::spawn(async move {
                            let Ok(Ok(stream)) = tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await else {
                                return;
                            };
                            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                            let _ = watcher.watch(conn).await;
                        });
                    }
                }
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    // The background work stops between two messages while requests finish.
    halt.store(true, Ordering::SeqCst);
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
async fn access_log_and_headers(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = route_of(request.uri().path());
    let mut id = [0u8; 8];
    let _ = getrandom::fill(&mut id);
    let id = crate::secrets::hex(&id);
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self' https: data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        // A route with its own policy (the portal's stylesheet, a download's sandbox) keeps it.
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    eprintln!("{method} {route} {} {} ms {id}", response.status().as_u16(), started.elapsed().as_millis());
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

/// The address a request comes from: the peer, or, when the peer is this machine (a reverse
/// proxy), the first address of `X-Forwarded-For`.
fn client_ip(request_peer: &ConnectInfo<SocketAddr>, headers: &axum::http::HeaderMap) -> Option<IpAddr> {
    let peer = request_peer.0.ip();
    if peer.is_loopback()
        && let Some(forwarded) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok())
        && let Some(first) = forwarded.split(',').next().and_then(|a| a.trim().parse().ok())
    {
        return Some(first);
    }
    Some(peer)
}

/// A 302 to `url`, its non-ASCII bytes percent-encoded (a header is ASCII).
fn redirect(url: &str) -> Response {
    let mut encoded = String::with_capacity(url.len());
    for b in url.bytes() {
        if b.is_ascii_graphic() {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    match HeaderValue::from_str(&encoded) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        return api::unknown_endpoint(request).await;
    }
    (StatusCode::NOT_FOUND, Html(pages::not_found(pages::Lang::of(request.headers())))).into_response()
}

/// A service error as a page: 404 for unknown or forged tokens, 403 for a refused form, 400
/// for a value that does not pass, 500 otherwise (logged without the request's data).
fn failure(lang: pages::Lang, e: &Error) -> Response {
    match e.kind() {
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, Html(pages::not_found(lang))).into_response(),
        ErrorKind::Denied => (StatusCode::FORBIDDEN, Html(pages::problem(lang, e.message()))).into_response(),
        ErrorKind::Invalid | ErrorKind::Usage | ErrorKind::Conflict => {
            (StatusCode::BAD_REQUEST, Html(pages::problem(lang, e.message()))).into_response()
        }
        _ => {
            eprintln!(
                "rolo serve: internal error: {}{}",
                e.message(),
                std::error::Error::source(e).map(|s| format!(" ({s:?})")).unwrap_or_default()
            );
            (StatusCode::INTERNAL_SERVER_ERROR, Html(pages::internal(lang))).into_response()
        }
    }
}

/// Database work at once: as many as the pool keeps connections, so a burst of requests
/// queues here instead of opening and closing connections by the hundred.
const DB_WORKERS: usize = 16;
static DB_PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(DB_WORKERS);

/// Runs database work on the blocking pool, never on the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    let _permit = DB_PERMITS.acquire().await.map_err(|_| Error::internal("the server is stopping"))?;
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

    #[test]
    fn redirects_encode_what_a_header_cannot_hold() {
        let r = super::redirect("https://x.example/café?q=a b");
        assert_eq!(r.headers()["location"], "https://x.example/caf%C3%A9?q=a%20b");
    }
}
