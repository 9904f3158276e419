//! The few pages recipients see, in French or English by `Accept-Language`. Plain HTML, no
//! script, one small inline style; every value escaped; addresses shown masked (a forwarded
//! link does not tell a stranger the whole address).

use axum::http::{HeaderMap, header};

use crate::mail::html_escape;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    /// The first of French or English the browser asks for (English otherwise).
    pub fn of(headers: &HeaderMap) -> Lang {
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        for tag in accept.split(',') {
            let code = tag.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if code.starts_with("fr") {
                return Lang::Fr;
            }
            if code.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::En
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
}

/// `k•••@startup.io`
pub fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

fn page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;\
         padding:0 1rem;line-height:1.5;color:#1f2a44}}button{{font-size:1rem;padding:.6rem 1.2rem}}</style>\
         </head><body><main><h1>{}</h1>{}</main></body></html>\n",
        lang.code(),
        html_escape(title),
        html_escape(title),
        body
    )
}

pub fn unsubscribe_form(lang: Lang, email: &str) -> String {
    let who = html_escape(&mask(email));
    let (title, text, button) = match lang {
        Lang::Fr => ("Se désabonner", format!("Ne plus recevoir nos e-mails à l’adresse {who} ?"), "Me désabonner"),
        Lang::En => ("Unsubscribe", format!("Stop receiving our e-mails at {who}?"), "Unsubscribe"),
    };
    let body = format!(
        "<p>{text}</p><form method=\"post\"><input type=\"hidden\" name=\"confirm\" value=\"1\">\
         <button type=\"submit\">{button}</button></form>"
    );
    page(lang, title, &body)
}

pub fn unsubscribed(lang: Lang, email: &str) -> String {
    let who = html_escape(&mask(email));
    match lang {
        Lang::Fr => page(lang, "Désabonnement confirmé", &format!("<p>{who} ne recevra plus nos e-mails.</p>")),
        Lang::En => page(lang, "You are unsubscribed", &format!("<p>{who} will not receive our e-mails any more.</p>")),
    }
}

pub fn not_found(lang: Lang) -> String {
    match lang {
        Lang::Fr => page(lang, "Lien inconnu", "<p>Ce lien n’existe pas ou n’est plus valable.</p>"),
        Lang::En => page(lang, "Unknown link", "<p>This link does not exist or is no longer valid.</p>"),
    }
}

pub fn internal(lang: Lang) -> String {
    match lang {
        Lang::Fr => page(lang, "Erreur", "<p>Une erreur est survenue ; réessayez plus tard.</p>"),
        Lang::En => page(lang, "Error", "<p>Something went wrong; please try again later.</p>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_masks_and_escaping() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of(&h), Lang::En);
        h.insert(header::ACCEPT_LANGUAGE, "de-DE, fr-CH;q=0.9, en;q=0.8".parse().expect("header"));
        assert_eq!(Lang::of(&h), Lang::Fr);
        assert_eq!(mask("kevin@startup.io"), "k•••@startup.io");
        let html = unsubscribe_form(Lang::En, "<script>@x.example");
        assert!(!html.contains("<script>") && html.contains("&lt;•••@x.example"), "{html}");
    }
}
