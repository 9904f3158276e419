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
        .route("/api/v1/contacts", post(subscribe))
        .route("/api/v1/openapi.json", get(openapi))
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

/// The JSON body of a request, or the problem to answer: 413 past the limit (from its
/// Content-Length, before reading), 415 when it is not JSON, 400 when it does not parse, 422
/// when it parses but does not fit the schema.
async fn read_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    rid: &RequestId,
) -> Result<T, Response> {
    let too_big = || problem(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body is over {API_BODY_LIMIT} bytes"), rid);
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > API_BODY_LIMIT) {
        return Err(too_big());
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !json_type {
        return Err(problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the body as application/json", rid));
    }
    let bytes = axum::body::to_bytes(body, API_BODY_LIMIT).await.map_err(|_| too_big())?;
    serde_json::from_slice(&bytes).map_err(|e| match e.is_data() {
        true => problem(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string(), rid),
        false => problem(StatusCode::BAD_REQUEST, &format!("the body is not JSON: {e}"), rid),
    })
}

/// `POST /api/v1/messages`: 202 with the queued message(s).
async fn send(State(app): State<Arc<App>>, request: Request) -> Response {
    let rid = request.extensions().get::<RequestId>().cloned().unwrap_or_default();
    let (parts, body) = request.into_parts();
    let principal = match principal(&app, &parts.headers, &rid).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let message: api::NewMessage = match read_json(&parts.headers, body, &rid).await {
        Ok(m) => m,
        Err(r) => return r,
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

/// `POST /api/v1/contacts`: 201 for a new contact, 200 for one completed.
async fn subscribe(State(app): State<Arc<App>>, request: Request) -> Response {
    let rid = request.extensions().get::<RequestId>().cloned().unwrap_or_default();
    let (parts, body) = request.into_parts();
    let principal = match principal(&app, &parts.headers, &rid).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let contact: api::NewContact = match read_json(&parts.headers, body, &rid).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match blocking(move || api::subscribe(&*app.pool.get()?, &principal, &contact)).await {
        Ok(s) => json(if s.created { StatusCode::CREATED } else { StatusCode::OK }, &s),
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

/// `GET /api/v1/openapi.json`: the contract (no key needed).
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The OpenAPI 3.1 document of this API; `tests` check it against the handlers' types.
pub const OPENAPI: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use super::*;

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
    }

    /// The document is the contract: every schema names exactly the fields the handlers' types
    /// read or write, and every route of the router is in it.
    #[test]
    fn the_openapi_document_matches_the_types_and_routes() {
        let doc: Value = serde_json::from_str(OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let schema = |name: &str| doc["components"]["schemas"][name]["properties"].clone();
        let accepted = api::Accepted {
            id: 1,
            messages: vec![api::MessageRef { id: 1, to: "a@b.c".into(), status: "queued".into() }],
        };
        let status = api::MessageStatus {
            id: 1,
            to: String::new(),
            subject: String::new(),
            status: String::new(),
            attempts: 0,
            last_error: None,
            created_at: String::new(),
            sent_at: None,
            next_attempt_at: None,
            events: vec![api::MessageEvent { kind: String::new(), status: None, detail: None, at: String::new() }],
        };
        let subscribed = api::Subscribed { id: 1, created: true, consent: "granted".into(), groups: vec![] };
        let message = api::NewMessage {
            to: api::Recipients::One("a@b.c".into()),
            template: None,
            variables: Default::default(),
            subject: None,
            html: None,
            text: None,
            attachments: vec![api::ApiAttachment {
                filename: String::new(),
                content_type: None,
                content: String::new(),
            }],
        };
        let contact = api::NewContact {
            email: String::new(),
            name: None,
            phone: None,
            fields: Default::default(),
            groups: vec![],
            consent_text: String::new(),
        };
        for (name, value) in [
            ("Accepted", serde_json::to_value(&accepted)),
            ("MessageRef", serde_json::to_value(&accepted.messages[0])),
            ("MessageStatus", serde_json::to_value(&status)),
            ("MessageEvent", serde_json::to_value(&status.events[0])),
            ("Subscribed", serde_json::to_value(&subscribed)),
            ("NewMessage", serde_json::to_value(&message)),
            ("ApiAttachment", serde_json::to_value(&message.attachments[0])),
            ("NewContact", serde_json::to_value(&contact)),
        ] {
            assert_eq!(keys(&schema(name)), keys(&value.expect("serialise")), "{name}");
        }
        // Request bodies refuse what the document does not declare (additionalProperties: false).
        assert!(serde_json::from_value::<api::NewMessage>(json!({"to": "a@b.c", "cc": "x"})).is_err());
        assert!(
            serde_json::from_value::<api::NewContact>(json!({"email": "a", "consent_text": "x", "vip": 1})).is_err()
        );
        let problem_keys: BTreeSet<String> =
            ["type", "title", "status", "detail", "request_id"].iter().map(|s| s.to_string()).collect();
        assert_eq!(keys(&schema("Problem")), problem_keys);
        let paths = keys(&doc["paths"]);
        let source = include_str!("api.rs");
        for route in source.split(".route(\"").skip(1).map(|r| r.split('"').next().unwrap_or("")) {
            assert!(paths.contains(route), "{route} is served but not documented");
        }
        assert_eq!(paths.len(), source.matches(".route(\"").count(), "documented but not served");
    }
}
