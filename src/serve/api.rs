//! The API for the company's other applications (`/api/v1/…`): `Authorization: Bearer KEY`,
//! JSON in and out, errors as `application/problem+json` (RFC 9457) carrying the request id,
//! a rate per application (429 with `Retry-After`). The handlers call `service::api` and
//! `service::app`: the rules live there.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::{App, RequestId, blocking};
use crate::domain::app::AppPrincipal;
use crate::service::{api, app as apps};
use crate::{Error, ErrorKind};

/// A request body of the API beyond this is refused (413).
pub const API_BODY_LIMIT: usize = 1024 * 1024;

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/messages", post(send))
        .route("/api/v1/messages/{id}", get(status))
        .layer(DefaultBodyLimit::disable())
}

/// Requests per second per application: a bucket that holds one second's worth.
#[derive(Default)]
pub struct AppRates {
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
}

impl AppRates {
    /// Takes one request from the application's bucket; `Err(seconds)` to wait.
    fn take(&self, app: &AppPrincipal) -> Result<(), u64> {
        if app.rate <= 0 {
            return Ok(());
        }
        let rate = app.rate as f64;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = buckets.entry(app.id).or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(rate);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// An RFC 9457 problem.
fn problem(status: StatusCode, detail: &str, request: &RequestId) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "request_id": request.0,
    });
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

fn from_error(e: &Error, request: &RequestId) -> Response {
    let status = match e.kind() {
        ErrorKind::Usage => StatusCode::BAD_REQUEST,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Auth => StatusCode::UNAUTHORIZED,
        ErrorKind::Denied => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        _ => {
            eprintln!("rolo serve: API internal error ({}): {}", request.0, e.message());
            return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error; the request id is in the log", request);
        }
    };
    let mut r = problem(status, e.message(), request);
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The application a request's key names, within its rate.
async fn principal(app: &Arc<App>, headers: &HeaderMap, request: &RequestId) -> Result<AppPrincipal, Response> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|k| k.trim().to_string());
    let Some(key) = key else {
        return Err(from_error(&Error::auth("send the application's key as `Authorization: Bearer KEY`"), request));
    };
    let reader = app.clone();
    let found = blocking(move || apps::authenticate(&*reader.pool.get()?, &key, chrono::Utc::now())).await;
    let principal = found.map_err(|e| from_error(&e, request))?;
    if let Err(wait) = app.app_rates.take(&principal) {
        let mut r =
            problem(StatusCode::TOO_MANY_REQUESTS, &format!("over {} requests per second", principal.rate), request);
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Err(r);
    }
    Ok(principal)
}

/// `POST /api/v1/messages`: 202 with the queued message(s).
async fn send(State(app): State<Arc<App>>, request: Request) -> Response {
    let rid = request.extensions().get::<RequestId>().cloned().unwrap_or_default();
    let (parts, body) = request.into_parts();
    let principal = match principal(&app, &parts.headers, &rid).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > API_BODY_LIMIT) {
        return problem(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body is over {API_BODY_LIMIT} bytes"), &rid);
    }
    let json_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !json_type {
        return problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the message as application/json", &rid);
    }
    let bytes = match axum::body::to_bytes(Body::new(body), API_BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return problem(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body is over {API_BODY_LIMIT} bytes"), &rid);
        }
    };
    let message: api::NewMessage = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) if e.is_data() => return problem(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string(), &rid),
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("the body is not JSON: {e}"), &rid),
    };
    let key = parts.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(String::from);
    let sent = blocking(move || {
        let db = app.pool.get()?;
        api::send(&db, &principal, &app.settings.smtp, &message, key.as_deref())
    })
    .await;
    match sent {
        Ok((accepted, _)) => json(StatusCode::ACCEPTED, &accepted),
        Err(e) => from_error(&e, &rid),
    }
}

/// `GET /api/v1/messages/ID`: the status of one of the application's messages.
async fn status(State(app): State<Arc<App>>, UrlPath(id): UrlPath<String>, request: Request) -> Response {
    let rid = request.extensions().get::<RequestId>().cloned().unwrap_or_default();
    let principal = match principal(&app, request.headers(), &rid).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return problem(StatusCode::NOT_FOUND, "no such message", &rid);
    };
    match blocking(move || api::status(&*app.pool.get()?, &principal, id)).await {
        Ok(s) => json(StatusCode::OK, &s),
        Err(e) => from_error(&e, &rid),
    }
}

pub(super) async fn unknown_endpoint(request: Request) -> Response {
    let rid = request.extensions().get::<RequestId>().cloned().unwrap_or_default();
    problem(StatusCode::NOT_FOUND, "no such endpoint", &rid)
}
