//! The portal's account pages: logging in (client accounts only, the CLI's check and
//! lockout), logging out, and changing the password.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;

use super::super::pages::Lang;
use super::views::{self, Frame};
use super::{App, Params, Reply, blocking, client_ip, cookie_in, finish, internal, see_other, signed_in};
use crate::secrets::Secret;
use crate::service::{portal, user};
use crate::{ErrorKind, Result};

/// Only a path of this portal is a place to go back to after logging in.
fn safe_next(next: Option<&String>) -> String {
    match next {
        Some(n) if n.starts_with("/portal/") && !n.contains("//") && !n.contains('\\') => n.clone(),
        _ => "/portal/tickets".into(),
    }
}

pub(super) async fn login_page(State(app): State<Arc<App>>, Query(q): Params, headers: HeaderMap) -> Response {
    let lang = Lang::of(&headers);
    let mut frame = Frame::new(lang, None, portal::login_form_token(&app.secret, Utc::now()));
    if q.get("done").is_some_and(|d| d == "password") {
        frame.notice = Some(
            if lang == Lang::Fr {
                "Mot de passe changé. Connectez-vous avec le nouveau."
            } else {
                "Password changed. Log in with the new one."
            }
            .into(),
        );
    }
    if q.get("done").is_some_and(|d| d == "logout") {
        frame.notice = Some(if lang == Lang::Fr { "Vous êtes déconnecté." } else { "You are logged out." }.into());
    }
    let page = views::login(&frame, "", &safe_next(q.get("next")));
    finish(&app, page.map(|p| Reply::Page(StatusCode::OK, p)).unwrap_or_else(|e| internal(lang, &e)), None)
}

pub(super) async fn login(
    State(app): State<Arc<App>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let lang = Lang::of(&headers);
    if let Some(refused) = over_limit(&app, &peer, &headers, lang) {
        return refused;
    }
    let app2 = app.clone();
    let outcome = blocking(move || {
        let app = app2;
        let next = safe_next(form.get("next"));
        let username = form.get("username").cloned().unwrap_or_default();
        let refused = |status: StatusCode, message: String| -> Result<(Reply, Option<Option<String>>)> {
            let mut frame = Frame::new(lang, None, portal::login_form_token(&app.secret, Utc::now()));
            frame.error = Some(message);
            Ok((Reply::Page(status, views::login(&frame, &username, &next)?), None))
        };
        if let Err(e) = portal::check_login_form(&app.secret, form.get("csrf").map(String::as_str), Utc::now()) {
            return refused(StatusCode::FORBIDDEN, e.message().to_string());
        }
        let password = Secret::new(form.get("password").cloned().unwrap_or_default());
        let db = app.pool.get()?;
        match portal::login(&db, &username, &password) {
            Ok(opened) => Ok((Reply::SeeOther(next), Some(Some(opened.cookie)))),
            Err(e) if e.kind() == ErrorKind::Auth => refused(StatusCode::UNAUTHORIZED, login_error(lang, e.message())),
            Err(e) => Err(e),
        }
    })
    .await;
    match outcome {
        Ok((reply, cookie)) => finish(&app, reply, cookie),
        Err(e) => finish(&app, internal(lang, &e), None),
    }
}

/// The service's reason, in the page's language for the usual ones.
fn login_error(lang: Lang, message: &str) -> String {
    match lang {
        Lang::Fr if message.contains("locked") => {
            "Trop d’essais : ce compte est bloqué pour 15 minutes. Réessayez plus tard.".into()
        }
        Lang::Fr if message.contains("client accounts") => {
            "Cet espace est réservé aux comptes clients ; l’équipe utilise le terminal.".into()
        }
        Lang::Fr if message.contains("deactivated") => "Ce compte est désactivé.".into(),
        Lang::Fr => "Identifiant ou mot de passe incorrect.".into(),
        Lang::En => message.to_string(),
    }
}

pub(super) async fn logout(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let lang = Lang::of(&headers);
    let Some(cookie) = cookie_in(&headers) else { return see_other("/portal/login") };
    let app2 = app.clone();
    let outcome = blocking(move || {
        let db = app2.pool.get()?;
        let r = match portal::resume(&db, &cookie) {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::Auth => return Ok(Reply::SeeOther("/portal/login".into())),
            Err(e) => return Err(e),
        };
        portal::check_form(&app2.secret, r.session_id, form.get("csrf").map(String::as_str))?;
        // The current cookie names the session even when resuming just rotated it.
        let current = r.new_cookie.unwrap_or(cookie);
        portal::logout(&db, &current)?;
        Ok(Reply::SeeOther("/portal/login?done=logout".into()))
    })
    .await;
    match outcome {
        Ok(reply) => finish(&app, reply, Some(None)),
        Err(e) if e.kind() == ErrorKind::Denied => {
            let frame = Frame::new(lang, None, String::new());
            let page = views::message(&frame, if lang == Lang::Fr { "Refusé" } else { "Refused" }, e.message());
            finish(
                &app,
                page.map(|p| Reply::Page(StatusCode::FORBIDDEN, p)).unwrap_or_else(|e| internal(lang, &e)),
                None,
            )
        }
        Err(e) => finish(&app, internal(lang, &e), None),
    }
}

/// 429 when the address is past the form-post limit this minute (login, password change).
fn over_limit(app: &App, peer: &ConnectInfo<SocketAddr>, headers: &HeaderMap, lang: Lang) -> Option<Response> {
    app.forms.check(client_ip(peer, headers)).err().map(|wait| super::super::recipients::too_many(lang, wait))
}

pub(super) async fn password_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    signed_in(app, &headers, "/portal/password".into(), |s| {
        Ok(Reply::Page(StatusCode::OK, views::password(&s.frame())?))
    })
    .await
}

pub(super) async fn change_password(
    State(app): State<Arc<App>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let lang = Lang::of(&headers);
    if let Some(refused) = over_limit(&app, &peer, &headers, lang) {
        return refused;
    }
    signed_in(app, &headers, "/portal/password".into(), move |s| {
        s.check_form(&form)?;
        let field = |k: &str| Secret::new(form.get(k).cloned().unwrap_or_default());
        let (current, new, again) = (field("current"), field("new"), field("again"));
        let refused = |message: String| -> Result<Reply> {
            let mut frame = s.frame();
            frame.error = Some(message);
            Ok(Reply::Page(StatusCode::BAD_REQUEST, views::password(&frame)?))
        };
        if new.expose() != again.expose() {
            return refused(
                if s.lang == Lang::Fr {
                    "Les deux nouveaux mots de passe diffèrent."
                } else {
                    "The two new passwords differ."
                }
                .into(),
            );
        }
        let me = s.session.actor().username.clone();
        match user::change_password(&s.session, &me, Some(&current), &new) {
            // Every session of the account ends with its password, this one too.
            Ok(_) => Ok(Reply::SeeOther("/portal/login?done=password".into())),
            Err(e) if matches!(e.kind(), ErrorKind::Auth | ErrorKind::Invalid | ErrorKind::Usage) => {
                refused(e.message().to_string())
            }
            Err(e) => Err(e),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_portal_paths_are_places_to_return_to() {
        for bad in ["https://evil.example/", "//evil.example", "/portal//evil", "/p/x", "/portal\\..", ""] {
            assert_eq!(safe_next(Some(&bad.to_string())), "/portal/tickets", "{bad}");
        }
        assert_eq!(safe_next(Some(&"/portal/tickets/3".to_string())), "/portal/tickets/3");
        assert_eq!(safe_next(None), "/portal/tickets");
    }
}
