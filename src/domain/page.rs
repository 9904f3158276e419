//! Landing pages (`/p/SLUG`): a template shown with a sign-up form for the fields it names.

use serde::{Deserialize, Serialize};

/// The standard client fields a sign-up form may ask for (custom fields of the registry too).
pub const STANDARD_FIELDS: &[&str] = &["name", "email", "phone"];
/// The hidden field a person never sees: a robot that fills it is ignored.
pub const HONEYPOT: &str = "website";
/// Minutes a served form may be posted back.
pub const FORM_MINUTES: i64 = 120;
/// Days an autologin link of a campaign recognises its recipient.
pub const AUTOLOGIN_DAYS: i64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LandingPage {
    pub id: i64,
    pub slug: String,
    pub template: String,
    pub group: Option<String>,
    /// The fields of the form, in order (`email` always among them).
    pub fields: Vec<String>,
    /// The consent sentence shown beside the box; its hash goes to the consent ledger.
    pub consent_text: String,
    pub double_opt_in: bool,
    pub active: bool,
    pub created_by: String,
    #[serde(skip)]
    pub owner_id: i64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub template_id: i64,
    #[serde(skip)]
    pub group_id: Option<i64>,
    /// Confirmed sign-ups.
    pub signups: i64,
    /// Sign-ups waiting for their confirmation link.
    pub pending: i64,
}

/// What a person gives to create or change a page; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct PageInput {
    pub slug: Option<String>,
    pub template: Option<String>,
    /// A group name (empty: none).
    pub group: Option<String>,
    pub fields: Option<Vec<String>>,
    pub consent_text: Option<String>,
    pub double_opt_in: Option<bool>,
    pub active: Option<bool>,
}

/// One input of a served form.
#[derive(Debug, Clone, Serialize)]
pub struct FormField {
    pub key: String,
    pub label: String,
    /// `email`, `tel`, `text`, `number`, `date`, `checkbox` or `select`.
    pub input: &'static str,
    pub required: bool,
    pub choices: Vec<String>,
    /// Pre-filled for a recognised recipient.
    pub value: String,
}

/// A page as a visitor gets it.
#[derive(Debug, Clone)]
pub struct PublicPage {
    pub slug: String,
    /// The template, rendered.
    pub html: String,
    pub fields: Vec<FormField>,
    pub consent_text: String,
    /// The signed form token (CSRF).
    pub form_token: String,
    /// The autologin token to post back, when the visitor came through a campaign link.
    pub recipient: Option<String>,
}

/// What a sign-up came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Consent granted now (single opt-in).
    Subscribed,
    /// A confirmation e-mail is on its way (double opt-in).
    ConfirmationSent,
    /// The honeypot was filled: answered as a success, nothing recorded.
    Ignored,
}

/// A slug: lower-case letters, digits and dashes, 1 to 64, starting with a letter or digit.
pub fn check_slug(what: &str, s: &str) -> crate::Result<String> {
    let s = s.trim();
    let ok = (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(crate::Error::invalid(what, format!("`{s}` must be 1–64 lower-case letters, digits or dashes")))
    }
}
