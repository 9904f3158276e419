//! The few pages recipients see, in French or English by `Accept-Language`. Plain HTML, no
//! script, one small inline style; every value escaped; addresses shown masked (a forwarded
//! link does not tell a stranger the whole address).

use axum::http::{HeaderMap, header};

use crate::domain::page::PublicPage;
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

pub fn too_many(lang: Lang) -> String {
    match lang {
        Lang::Fr => {
            page(lang, "Trop de demandes", "<p>Trop de demandes depuis votre adresse ; réessayez dans une minute.</p>")
        }
        Lang::En => {
            page(lang, "Too many requests", "<p>Too many requests from your address; try again in a minute.</p>")
        }
    }
}

/// A request refused for a reason the visitor can act on (the message names it).
pub fn problem(lang: Lang, message: &str) -> String {
    let back = match lang {
        Lang::Fr => "Revenez à la page précédente pour corriger.",
        Lang::En => "Go back to the previous page to correct it.",
    };
    let title = match lang {
        Lang::Fr => "Impossible d’enregistrer",
        Lang::En => "This could not be saved",
    };
    page(lang, title, &format!("<p>{}</p><p>{back}</p>", html_escape(message)))
}

/// A landing page: its template, then the sign-up form (at `<!-- rolo:form -->` when the
/// template places it, else at the end of its body).
pub fn landing(lang: Lang, p: &PublicPage) -> String {
    let (send, required) = match lang {
        Lang::Fr => ("Envoyer", "obligatoire"),
        Lang::En => ("Send", "required"),
    };
    let mut form = String::from(
        "<form method=\"post\" class=\"rolo-signup\" style=\"max-width:32rem;margin:1.5rem auto;font-family:system-ui,sans-serif\">",
    );
    form.push_str(&format!("<input type=\"hidden\" name=\"form_token\" value=\"{}\">", html_escape(&p.form_token)));
    if let Some(r) = &p.recipient {
        form.push_str(&format!("<input type=\"hidden\" name=\"r\" value=\"{}\">", html_escape(r)));
    }
    for f in &p.fields {
        let id = format!("f-{}", html_escape(&f.key));
        let req = if f.required { " required" } else { "" };
        let star = if f.required { format!(" <small>({required})</small>") } else { String::new() };
        let label = html_escape(match (f.key.as_str(), lang) {
            ("name", Lang::Fr) => "Nom",
            ("phone", Lang::Fr) => "Téléphone",
            _ => &f.label,
        });
        let value = html_escape(&f.value);
        let control = match f.input {
            "checkbox" => {
                let checked = if ["true", "yes", "1"].contains(&f.value.as_str()) { " checked" } else { "" };
                format!("<input type=\"checkbox\" id=\"{id}\" name=\"{}\" value=\"yes\"{checked}>", html_escape(&f.key))
            }
            "select" => {
                let mut s =
                    format!("<select id=\"{id}\" name=\"{}\"{req}><option value=\"\"></option>", html_escape(&f.key));
                for c in &f.choices {
                    let sel = if *c == f.value { " selected" } else { "" };
                    s.push_str(&format!("<option{sel}>{}</option>", html_escape(c)));
                }
                s.push_str("</select>");
                s
            }
            input => format!(
                "<input type=\"{input}\" id=\"{id}\" name=\"{}\" value=\"{value}\"{req} style=\"width:100%;padding:.5rem;font-size:1rem\">",
                html_escape(&f.key)
            ),
        };
        form.push_str(&format!("<p><label for=\"{id}\">{label}{star}</label><br>{control}</p>"));
    }
    // The honeypot: out of sight and out of the tab order; people leave it empty.
    form.push_str(&format!(
        "<p style=\"position:absolute;left:-10000px\" aria-hidden=\"true\"><label for=\"f-hp\">Website</label>\
         <input type=\"text\" id=\"f-hp\" name=\"{}\" tabindex=\"-1\" autocomplete=\"off\"></p>",
        crate::domain::page::HONEYPOT
    ));
    form.push_str(&format!(
        "<p><input type=\"checkbox\" id=\"f-consent\" name=\"consent\" value=\"yes\" required> \
         <label for=\"f-consent\">{}</label></p>\
         <p><button type=\"submit\" style=\"font-size:1rem;padding:.6rem 1.2rem\">{send}</button></p></form>",
        html_escape(&p.consent_text)
    ));
    // A page made for e-mail may lack the viewport line phones need.
    let html = match (p.html.contains("viewport"), p.html.to_ascii_lowercase().find("<head>")) {
        (true, _) => p.html.clone(),
        (false, Some(i)) => format!("{}{VIEWPORT}{}", &p.html[..i + 6], &p.html[i + 6..]),
        (false, None) => format!("{VIEWPORT}{}", p.html),
    };
    if let Some(i) = html.find("<!-- rolo:form -->") {
        return format!("{}{form}{}", &html[..i], &html[i + "<!-- rolo:form -->".len()..]);
    }
    match html.to_ascii_lowercase().rfind("</body>") {
        Some(i) => format!("{}{form}{}", &html[..i], &html[i..]),
        None => page(lang, &p.slug, &format!("{html}{form}")),
    }
}

const VIEWPORT: &str = "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";

pub fn thanks(lang: Lang) -> String {
    match lang {
        Lang::Fr => page(lang, "Merci !", "<p>Votre inscription est enregistrée.</p>"),
        Lang::En => page(lang, "Thank you!", "<p>Your subscription is recorded.</p>"),
    }
}

pub fn check_your_mail(lang: Lang) -> String {
    match lang {
        Lang::Fr => page(
            lang,
            "Vérifiez vos e-mails",
            "<p>Nous vous avons écrit : ouvrez le lien du message pour confirmer votre inscription.</p>",
        ),
        Lang::En => page(
            lang,
            "Check your e-mail",
            "<p>We have written to you: open the link in that message to confirm your subscription.</p>",
        ),
    }
}

pub fn confirm_form(lang: Lang, email: &str) -> String {
    let who = html_escape(&mask(email));
    let (title, text, button) = match lang {
        Lang::Fr => ("Confirmer l’inscription", format!("Confirmer l’inscription de {who} ?"), "Je confirme"),
        Lang::En => ("Confirm your subscription", format!("Confirm the subscription of {who}?"), "Confirm"),
    };
    page(lang, title, &format!("<p>{text}</p><form method=\"post\"><button type=\"submit\">{button}</button></form>"))
}

pub fn confirmed(lang: Lang, email: &str) -> String {
    let who = html_escape(&mask(email));
    match lang {
        Lang::Fr => page(lang, "Inscription confirmée", &format!("<p>{who} est inscrit. Merci !</p>")),
        Lang::En => page(lang, "Subscription confirmed", &format!("<p>{who} is subscribed. Thank you!</p>")),
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
