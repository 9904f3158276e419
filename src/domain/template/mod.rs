//! E-mail templates: rendering in a sandboxed engine (MiniJinja: HTML auto-escaping, undefined
//! variables are errors, an execution limit), CSS inlined into the HTML, the text part derived
//! from the HTML when the template has none, and the lint rules of MARKETING.md.
//!
//! A template may `{% include %}` or `{% extends %}` others of the library by name (a shared
//! layout and footer) and show media of the library with `{{ media("logo.png") }}`. Variables
//! are the client's standard fields and public custom fields (`client.…`), its company
//! (`company.…`), the campaign (`campaign.…`) and the links (`unsubscribe_url`,
//! `view_online_url`, `preferences_url`). A private custom field is refused by name.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};

use crate::domain::crm::closed_set;
use crate::{Error, Result};

mod lint;
mod records;

pub use lint::{body_problems, links};
pub use records::{Lint, Media, Preview, Template, TemplateInput, TemplateVersion, mjml_to_html, template_name};

closed_set! {
    /// A campaign template honours consent and the suppression list and must carry an
    /// unsubscribe link; a transactional one is service mail (receipts, notifications).
    TemplateKind, "kind" {
        Campaign => "campaign",
        Transactional => "transactional",
    }
}

/// How much work one render may do (MiniJinja fuel: roughly one unit per instruction). A
/// template that loops forever or explodes stops with an error instead of holding a sender.
pub const FUEL: u64 = 200_000;
/// Gmail clips a message body past 102 KB.
pub const MAX_BODY_BYTES: usize = 102 * 1024;
/// The links every e-mail may use.
pub const LINKS: &[&str] = &["unsubscribe_url", "view_online_url", "preferences_url"];
/// The client's standard fields a template may use (`client.name`…).
pub const CLIENT_FIELDS: &[&str] = &["name", "first_name", "last_name", "email", "phone", "company", "stage"];
/// The company's fields a template may use.
pub const COMPANY_FIELDS: &[&str] = &["name", "industry", "country", "website", "size"];
/// The campaign's fields a template may use.
pub const CAMPAIGN_FIELDS: &[&str] = &["id", "name"];

/// One template as the engine sees it: the body source (HTML already, MJML compiled) and its
/// optional text part, by name (case ignored).
#[derive(Debug, Clone, Default)]
pub struct Library {
    sources: HashMap<String, String>,
}

impl Library {
    pub fn new() -> Self {
        Library::default()
    }

    /// Adds the body source of a template (the latest version of every included one, the
    /// pinned version of the one being rendered).
    pub fn insert(&mut self, name: &str, source: &str) {
        self.sources.insert(name.to_lowercase(), source.to_string());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.sources.get(&name.to_lowercase()).map(String::as_str)
    }
}

/// What a template may know about the recipient and the mailing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Context {
    pub client: BTreeMap<String, serde_json::Value>,
    pub company: BTreeMap<String, serde_json::Value>,
    pub campaign: BTreeMap<String, serde_json::Value>,
    pub unsubscribe_url: String,
    pub view_online_url: String,
    pub preferences_url: String,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Media of the library the HTML shows, by name.
    pub media: Vec<String>,
}

/// The names a template's text may use: the public custom fields of the registry and the
/// private ones (named in errors).
#[derive(Debug, Clone, Default)]
pub struct Variables {
    pub public_fields: BTreeSet<String>,
    pub private_fields: BTreeSet<String>,
}

/// Resolves `media("name")` to the `src` an image takes (`cid:…` while media travel with the
/// message, a public URL once `rolo serve` serves them); None when the library has no such file.
pub type MediaResolver = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Parts of one template version, as stored.
#[derive(Debug, Clone)]
pub struct Parts<'a> {
    pub name: &'a str,
    pub subject: &'a str,
    pub text: Option<&'a str>,
}

fn engine_error(what: &str, e: minijinja::Error) -> Error {
    let mut msg = format!("{what}: {}", e.kind());
    if let Some(detail) = e.detail() {
        msg.push_str(&format!(" ({detail})"));
    }
    if let (Some(name), Some(line)) = (e.name(), e.line()) {
        msg.push_str(&format!(" in `{name}` line {line}"));
    }
    Error::invalid("template", msg)
}

/// The environment of one render: the library as loader, HTML escaping for bodies, strict
/// undefined, fuel, and `media()` recording what it was asked for.
fn environment(
    library: &Library,
    media: MediaResolver,
    used: Arc<Mutex<Vec<String>>>,
    html: bool,
    strict: bool,
) -> Environment<'static> {
    let mut env = Environment::new();
    let sources = library.sources.clone();
    env.set_loader(move |name| Ok(sources.get(&name.to_lowercase()).cloned()));
    env.set_undefined_behavior(if strict { UndefinedBehavior::Strict } else { UndefinedBehavior::Lenient });
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(50);
    env.set_auto_escape_callback(move |_| if html { AutoEscape::Html } else { AutoEscape::None });
    env.add_function("media", move |name: String| -> std::result::Result<String, minijinja::Error> {
        used.lock().unwrap_or_else(PoisonError::into_inner).push(name.clone());
        match media(&name) {
            Some(src) => Ok(src),
            None if !strict => Ok(String::new()),
            None => {
                Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("no media named `{name}`")))
            }
        }
    });
    env
}

/// The variables of a template (and of what it includes or extends) that the context does not
/// define: each is unknown, or a private field named as such.
pub fn check_variables(
    library: &Library,
    main: &str,
    subject: &str,
    text: Option<&str>,
    vars: &Variables,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for source in chain(library, main).iter().map(String::as_str).chain([subject]).chain(text) {
        let env = Environment::new();
        let Ok(t) = env.template_from_str(source) else { continue };
        let mut found: Vec<String> = t.undeclared_variables(true).into_iter().collect();
        found.sort();
        for var in found {
            if seen.insert(var.clone())
                && let Some(p) = variable_problem(&var, vars)
            {
                problems.push(p);
            }
        }
    }
    problems
}

/// Why a variable may not be used, if it may not.
fn variable_problem(var: &str, vars: &Variables) -> Option<String> {
    let (root, rest) = var.split_once('.').unwrap_or((var, ""));
    let field = rest.split('.').next().unwrap_or("");
    let known = |list: &[&str]| rest.is_empty() || list.contains(&field);
    match root {
        "media" | "loop" | "range" | "namespace" | "super" | "self" => None,
        l if LINKS.contains(&l) => None,
        "client" if vars.private_fields.contains(field) => {
            Some(format!("`{var}` is a private field and may not appear in e-mails"))
        }
        "client" if known(CLIENT_FIELDS) || vars.public_fields.contains(field) => None,
        "company" if known(COMPANY_FIELDS) => None,
        "campaign" if known(CAMPAIGN_FIELDS) => None,
        _ => Some(format!("unknown variable `{var}`")),
    }
}

/// The sources a template pulls in through `include` and `extends`, itself first.
pub(crate) fn chain(library: &Library, main: &str) -> Vec<String> {
    chain_named(library, main).into_iter().map(|(_, s)| s).collect()
}

/// (name, source) of a template and of everything it pulls in, itself first.
pub fn chain_named(library: &Library, main: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut todo = vec![main.to_lowercase()];
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(src) = library.get(&name) else { continue };
        todo.extend(referenced_templates(src));
        out.push((name, src.to_string()));
    }
    out
}

/// The media names a source shows with `media("…")`.
pub fn referenced_media(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in source.split("media(").skip(1) {
        let part = part.trim_start();
        if let Some(q) = part.chars().next().filter(|c| *c == '"' || *c == '\'')
            && let Some(end) = part[1..].find(q)
        {
            out.push(part[1..1 + end].to_string());
        }
    }
    out
}

/// The names in `{% include "x" %}` and `{% extends "x" %}` of a source.
pub fn referenced_templates(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for part in source.split("{%").skip(1) {
        let stmt = part.split("%}").next().unwrap_or("").trim().trim_start_matches('-').trim();
        for kw in ["include", "extends", "import", "from"] {
            if let Some(rest) = stmt.strip_prefix(kw) {
                let rest = rest.trim_start();
                if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'')
                    && let Some(end) = rest[1..].find(q)
                {
                    names.push(rest[1..1 + end].to_lowercase());
                }
            }
        }
    }
    names
}

/// Renders subject, HTML (CSS inlined) and text (given, or derived from the HTML). A variable
/// the context does not define, or a private field, is an error that names it.
pub fn render(
    library: &Library,
    parts: &Parts,
    vars: &Variables,
    ctx: &Context,
    media: MediaResolver,
) -> Result<Rendered> {
    let problems = check_variables(library, parts.name, parts.subject, parts.text, vars);
    // A private field is named first: it is the one that must never leak.
    if let Some(p) = problems.iter().find(|p| p.contains("private")).or(problems.first()) {
        return Err(Error::invalid("template", p.clone()));
    }
    render_with(library, parts, ctx, media, true)
}

/// Renders with unknown variables as empty text, for lint to check the body's other rules.
pub fn render_lenient(library: &Library, parts: &Parts, ctx: &Context, media: MediaResolver) -> Result<Rendered> {
    render_with(library, parts, ctx, media, false)
}

fn render_with(
    library: &Library,
    parts: &Parts,
    ctx: &Context,
    media: MediaResolver,
    strict: bool,
) -> Result<Rendered> {
    render_value(library, parts, Value::from(minijinja::value::Serde(ctx)), media, strict)
}

/// The variables a transactional template (and what it pulls in, its subject and text) uses.
pub fn referenced_variables(library: &Library, parts: &Parts) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for source in chain(library, parts.name).iter().map(String::as_str).chain([parts.subject]).chain(parts.text) {
        let env = Environment::new();
        let Ok(t) = env.template_from_str(source) else { continue };
        for var in t.undeclared_variables(false) {
            if !["media", "loop", "range", "namespace", "super", "self"].contains(&var.as_str()) {
                used.insert(var);
            }
        }
    }
    used
}

/// The variables a transactional template names that `given` does not define.
pub fn missing_variables(
    library: &Library,
    parts: &Parts,
    given: &serde_json::Map<String, serde_json::Value>,
) -> Vec<String> {
    referenced_variables(library, parts).into_iter().filter(|v| !given.contains_key(v)).collect()
}

/// Renders a transactional template with the variables an application or a person gave.
pub fn render_vars(
    library: &Library,
    parts: &Parts,
    vars: &serde_json::Map<String, serde_json::Value>,
    media: MediaResolver,
) -> Result<Rendered> {
    let used = referenced_variables(library, parts);
    if let Some(v) = used.iter().find(|v| !vars.contains_key(*v)) {
        return Err(Error::invalid("var", format!("the template needs `{v}` (--var {v}=…)")));
    }
    if let Some(v) = vars.keys().find(|k| !used.contains(*k)) {
        return Err(Error::invalid("var", format!("the template does not use `{v}` (a misspelt variable?)")));
    }
    render_value(library, parts, Value::from(minijinja::value::Serde(vars)), media, true)
}

fn render_value(
    library: &Library,
    parts: &Parts,
    value: Value,
    media: MediaResolver,
    strict: bool,
) -> Result<Rendered> {
    let used = Arc::new(Mutex::new(Vec::new()));
    let env = environment(library, media.clone(), used.clone(), true, strict);
    let html = env
        .get_template(parts.name)
        .and_then(|t| t.render(value.clone()))
        .map_err(|e| engine_error("the HTML body does not render", e))?;
    let plain = environment(library, media, used.clone(), false, strict);
    let subject =
        plain.render_str(parts.subject, value.clone()).map_err(|e| engine_error("the subject does not render", e))?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let html = inline_css(&html)?;
    let text = match parts.text {
        Some(t) => plain.render_str(t, value).map_err(|e| engine_error("the text part does not render", e))?,
        None => text_of(&html),
    };
    let mut media: Vec<String> = used.lock().unwrap_or_else(PoisonError::into_inner).clone();
    media.sort();
    media.dedup();
    Ok(Rendered { subject, html, text, media })
}

/// Moves `<style>` rules onto the elements, as e-mail clients want them.
pub fn inline_css(html: &str) -> Result<String> {
    css_inline::CSSInliner::options()
        .load_remote_stylesheets(false)
        .build()
        .inline(html)
        .map_err(|e| Error::invalid("template", format!("its CSS cannot be inlined: {e}")))
}

/// The text part of an HTML body: readable text, links kept as footnotes, 78 columns.
pub fn text_of(html: &str) -> String {
    html2text::from_read(html.as_bytes(), 78).unwrap_or_default().trim_end().to_string()
}

/// A context with placeholder values, for lint and for previews without a client.
pub fn sample_context(vars: &Variables) -> Context {
    let mut client = BTreeMap::new();
    for (k, v) in [
        ("name", "Camille Exemple"),
        ("first_name", "Camille"),
        ("last_name", "Exemple"),
        ("email", "camille@example.com"),
        ("phone", "+33 1 23 45 67 89"),
        ("company", "Exemple SARL"),
        ("stage", "lead"),
    ] {
        client.insert(k.to_string(), serde_json::Value::from(v));
    }
    for f in &vars.public_fields {
        client.insert(f.clone(), serde_json::Value::from(format!("[{f}]")));
    }
    let company =
        COMPANY_FIELDS.iter().map(|k| (k.to_string(), serde_json::Value::from(format!("[company.{k}]")))).collect();
    let campaign = [("id", serde_json::Value::from(0)), ("name", serde_json::Value::from("[campaign]"))]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Context {
        client,
        company,
        campaign,
        unsubscribe_url: "https://example.invalid/u/sample".into(),
        view_online_url: "https://example.invalid/v/sample".into(),
        preferences_url: "https://example.invalid/p/sample".into(),
    }
}

/// First and last name from a full name: the first word, and the rest.
pub fn split_name(full: &str) -> (String, String) {
    let mut words = full.split_whitespace();
    let first = words.next().unwrap_or("").to_string();
    (first, words.collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_media() -> MediaResolver {
        Arc::new(|name: &str| (name == "logo.png").then(|| "cid:logo".to_string()))
    }

    fn vars() -> Variables {
        Variables { public_fields: ["sector".to_string()].into(), private_fields: ["budget".to_string()].into() }
    }

    fn lib(pairs: &[(&str, &str)]) -> Library {
        let mut l = Library::new();
        for (n, s) in pairs {
            l.insert(n, s);
        }
        l
    }

    #[test]
    fn renders_with_a_layout_escapes_values_and_derives_text() {
        let l = lib(&[
            (
                "layout",
                "<html><head><style>p { color: red }</style></head><body>{% block body %}{% endblock %}<p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p></body></html>",
            ),
            (
                "invite",
                "{% extends \"layout\" %}{% block body %}<p>Bonjour {{ client.first_name }} « {{ client.sector }} »</p><img src=\"{{ media('logo.png') }}\" alt=\"Logo\">{% endblock %}",
            ),
        ]);
        let mut ctx = sample_context(&vars());
        ctx.client.insert("first_name".into(), "Zoë <O'Brien>".into());
        let r = render(
            &l,
            &Parts { name: "invite", subject: "Invitation pour {{ client.first_name }}", text: None },
            &vars(),
            &ctx,
            no_media(),
        )
        .expect("renders");
        assert_eq!(r.subject, "Invitation pour Zoë <O'Brien>");
        assert!(r.html.contains("Zoë &lt;O&#x27;Brien&gt;") || r.html.contains("Zoë &lt;O'Brien&gt;"), "{}", r.html);
        assert!(r.html.contains("style=\"color: red"), "CSS inlined: {}", r.html);
        assert!(r.text.contains("Bonjour Zoë <O'Brien>"), "{}", r.text);
        assert_eq!(r.media, ["logo.png"]);
    }

    #[test]
    fn private_and_unknown_variables_are_named_and_never_render() {
        let l = lib(&[("t", "{{ client.budget }} {{ client.shoe_size }} {{ secret }} {{ unsubscribe_url }}")]);
        let problems = check_variables(&l, "t", "Hi", None, &vars());
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("`client.budget` is a private field")));
        let e =
            render(&l, &Parts { name: "t", subject: "Hi", text: None }, &vars(), &sample_context(&vars()), no_media())
                .expect_err("a private field never renders");
        assert!(e.message().contains("client.budget"), "{}", e.message());
    }

    #[test]
    fn a_template_that_never_ends_runs_out_of_fuel() {
        let l = lib(&[(
            "t",
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}{{ unsubscribe_url }}",
        )]);
        let e = render(
            &l,
            &Parts { name: "t", subject: "s", text: Some("t") },
            &vars(),
            &sample_context(&vars()),
            no_media(),
        )
        .expect_err("fuel");
        assert_eq!(e.kind(), crate::ErrorKind::Invalid);
    }

    #[test]
    fn lint_names_every_planted_problem() {
        let html = format!(
            "<img src=\"https://x.example/a.png\"><a href=\"http://plain.example\">x</a>{}",
            "y".repeat(MAX_BODY_BYTES)
        );
        let l = lib(&[("t", "<p>no link</p>")]);
        let problems = body_problems(TemplateKind::Campaign, &l, "t", None, &html);
        for needle in ["unsubscribe", "alt", "http://plain.example", "102 KB", "text part"] {
            assert!(problems.iter().any(|p| p.contains(needle)), "{needle}: {problems:?}");
        }
        let ok = lib(&[("t", "<p>{{ unsubscribe_url }}</p>")]);
        assert!(
            body_problems(TemplateKind::Campaign, &ok, "t", Some("t"), "<img alt=\"x\" src=\"https://a\">").is_empty()
        );
    }

    #[test]
    fn includes_are_found() {
        assert_eq!(referenced_templates("{% extends \"Layout\" %}{%- include 'footer' -%}"), ["layout", "footer"]);
    }
}
