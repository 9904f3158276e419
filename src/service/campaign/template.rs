//! `rolo campaign template …`: the library of versioned templates, lint and previews.

use std::sync::Arc;

use chrono::Utc;

use crate::db::{self, Read};
use crate::domain::client::Client;
use crate::domain::template::{
    self, Context, Library, Lint, MediaResolver, Parts, Preview, Template, TemplateInput, TemplateKind,
    TemplateVersion, Variables,
};
use crate::domain::{Permission, validate};
use crate::service::authz::Session;
use crate::service::refs;
use crate::{Error, Result};

const MAX_SOURCE: usize = 512 * 1024;

pub fn list(session: &Session) -> Result<Vec<Template>> {
    session.require(Permission::TemplateRead)?;
    db::template::list(session.db())
}

/// A template by name (case ignored), or "not found".
pub(crate) fn find(r: &impl Read, name: &str) -> Result<Template> {
    db::template::find(r, name)?.ok_or_else(|| Error::not_found("template", name.trim()))
}

/// One version (the latest by default) of a template.
pub(crate) fn version_of(r: &impl Read, name: &str, version: Option<i64>) -> Result<TemplateVersion> {
    let t = find(r, name)?;
    db::template::version(r, t.id, version)?
        .ok_or_else(|| Error::not_found("version", format!("{} of template {}", version.unwrap_or(0), t.name)))
}

pub fn show(session: &Session, name: &str, version: Option<i64>) -> Result<TemplateVersion> {
    session.require(Permission::TemplateRead)?;
    version_of(session.db(), name, version)
}

/// Checks what a person gives for a version and fills what they left out from `base`.
fn content(input: &TemplateInput, base: Option<&TemplateVersion>) -> Result<(String, String, String, Option<String>)> {
    let subject = match (&input.subject, base) {
        (Some(s), _) => validate::text("subject", s, 300)?,
        (None, Some(b)) => b.subject.clone(),
        (None, None) => return Err(Error::usage("a template needs --subject")),
    };
    let (kind, source) = match (&input.html, &input.mjml, base) {
        (Some(_), Some(_), _) => return Err(Error::usage("give --html-file or --mjml-file, not both")),
        (Some(h), None, _) => ("html", h.clone()),
        (None, Some(m), _) => {
            template::mjml_to_html(m)?;
            ("mjml", m.clone())
        }
        (None, None, Some(b)) => (b.source_kind.as_str(), b.source.clone()),
        (None, None, None) => return Err(Error::usage("a template needs --html-file or --mjml-file")),
    };
    if source.len() > MAX_SOURCE || source.trim().is_empty() {
        return Err(Error::invalid("body", format!("must hold 1 to {} KB of text", MAX_SOURCE / 1024)));
    }
    let text = match (&input.text, base) {
        (Some(t), _) if t.trim().is_empty() => None,
        (Some(t), _) => Some(validate::notes("text", t, MAX_SOURCE)?),
        (None, Some(b)) => b.text.clone(),
        (None, None) => None,
    };
    // Syntax is checked now; variables and links are lint's business.
    let env = minijinja::Environment::new();
    let html = if kind == "mjml" { template::mjml_to_html(&source)? } else { source.clone() };
    for (part, src) in
        [("subject", subject.as_str()), ("body", html.as_str())].into_iter().chain(text.as_deref().map(|t| ("text", t)))
    {
        env.template_from_str(src).map_err(|e| Error::invalid(part, format!("is not a valid template: {e}")))?;
    }
    Ok((subject, kind.to_string(), source, text))
}

/// Creates a template and its version 1.
pub fn create(session: &Session, name: &str, input: &TemplateInput) -> Result<TemplateVersion> {
    let grant = session.require(Permission::TemplateManage)?;
    let name = template::template_name(name)?;
    let kind = input.kind.as_deref().map(str::parse::<TemplateKind>).transpose()?.unwrap_or(TemplateKind::Campaign);
    let (subject, source_kind, source, text) = content(input, None)?;
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let id = db::template::insert(tx, &name, kind.as_str(), actor, now)?;
        let v = TemplateVersion { template_id: id, subject, source_kind, source, text, ..Default::default() };
        let n = db::template::add_version(tx, &v, actor, now)?;
        let created = db::template::version(tx, id, Some(n))?.ok_or_else(|| Error::internal("version vanished"))?;
        grant.audit(tx, "template.create", "template", Some(id), None, Some(&created))?;
        Ok(created)
    })
}

/// Adds a version; the earlier ones stay as they were (campaigns pin them).
pub fn update(session: &Session, name: &str, input: &TemplateInput) -> Result<TemplateVersion> {
    let grant = session.require(Permission::TemplateManage)?;
    if input.kind.is_some() {
        return Err(Error::usage("a template's kind is fixed; create another template"));
    }
    let before = version_of(session.db(), name, None)?;
    let (subject, source_kind, source, text) = content(input, Some(&before))?;
    if (&subject, &source_kind, &source, &text) == (&before.subject, &before.source_kind, &before.source, &before.text)
    {
        return Err(Error::conflict(format!("template {} is unchanged (version {})", before.name, before.version)));
    }
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        let v = TemplateVersion { subject, source_kind, source, text, ..before.clone() };
        let n = db::template::add_version(tx, &v, actor, now)?;
        let after =
            db::template::version(tx, before.template_id, Some(n))?.ok_or_else(|| Error::internal("vanished"))?;
        grant.audit(
            tx,
            "template.update",
            "template",
            Some(before.template_id),
            Some(&before.version),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Deletes a template no open campaign pins (its versions stay for sent campaigns).
pub fn delete(session: &Session, name: &str) -> Result<Template> {
    let grant = session.require(Permission::TemplateManage)?;
    let t = find(session.db(), name)?;
    let open = db::template::used_by_open_campaigns(session.db(), t.id)?;
    if !open.is_empty() {
        let ids: Vec<String> = open.iter().map(i64::to_string).collect();
        return Err(Error::conflict(format!("template {} is used by campaign(s) {}", t.name, ids.join(", "))));
    }
    let now = Utc::now();
    grant.write(|tx| {
        db::template::delete(tx, t.id, now)?;
        grant.audit(tx, "template.delete", "template", Some(t.id), Some(&t), None)?;
        Ok(t.clone())
    })
}

/// The library the engine renders from: the latest version of every template, with `main`
/// pinned at its version; MJML compiled to HTML.
pub(crate) fn library(r: &impl Read, main: &TemplateVersion) -> Result<Library> {
    let mut lib = Library::new();
    for v in db::template::latest_versions(r)?.iter().chain([main]) {
        let html = if v.source_kind == "mjml" { template::mjml_to_html(&v.source)? } else { v.source.clone() };
        lib.insert(&v.name, &html);
    }
    Ok(lib)
}

/// Public and private custom fields of the registry.
pub(crate) fn variables(r: &impl Read) -> Result<Variables> {
    let mut vars = Variables::default();
    for f in db::population::fields(r)? {
        if f.public {
            vars.public_fields.insert(f.key)
        } else {
            vars.private_fields.insert(f.key)
        };
    }
    Ok(vars)
}

/// The content-id under which a media file travels inside a message.
pub(crate) fn media_cid(sha256: &str) -> String {
    format!("{}@media.rolo", &sha256[..sha256.len().min(24)])
}

/// `media("name")` as an inline part (`cid:`), while no public URL serves the library.
pub(crate) fn inline_media(r: &impl Read) -> Result<MediaResolver> {
    let by_name: std::collections::HashMap<String, String> =
        db::template::media_list(r)?.into_iter().map(|m| (m.name.to_lowercase(), media_cid(&m.sha256))).collect();
    Ok(Arc::new(move |name: &str| by_name.get(&name.to_lowercase()).map(|cid| format!("cid:{cid}"))))
}

/// `media("name")` as a link to `rolo serve` (`BASE/m/SHA256`) once `[serve] public_url` is
/// set: campaigns then link images instead of attaching them.
pub(crate) fn public_media(r: &impl Read, base: &str) -> Result<MediaResolver> {
    let base = base.trim_end_matches('/').to_string();
    let by_name: std::collections::HashMap<String, String> =
        db::template::media_list(r)?.into_iter().map(|m| (m.name.to_lowercase(), m.sha256)).collect();
    Ok(Arc::new(move |name: &str| by_name.get(&name.to_lowercase()).map(|sha| format!("{base}/m/{sha}"))))
}

/// What a template may know of a client: standard fields, public custom fields, company.
pub(crate) fn client_context(r: &impl Read, c: &Client, vars: &Variables) -> Result<Context> {
    let (first, last) = template::split_name(&c.full_name);
    let mut client = std::collections::BTreeMap::new();
    for (k, v) in [
        ("name", Some(c.full_name.clone())),
        ("first_name", Some(first)),
        ("last_name", Some(last)),
        ("email", Some(c.email.clone())),
        ("phone", c.phone.clone()),
        ("company", c.company.clone()),
        ("stage", Some(c.stage.clone())),
    ] {
        client.insert(k.to_string(), v.unwrap_or_default().into());
    }
    // A value the client does not have reads as empty text, never as "none".
    for key in &vars.public_fields {
        client.insert(key.clone(), c.fields.get(key).cloned().unwrap_or_else(|| "".into()));
    }
    let co = c.company_id.map(|id| db::company::get(r, id)).transpose()?.flatten().unwrap_or_default();
    let mut company = std::collections::BTreeMap::new();
    for (k, v) in [
        ("name", Some(co.name)),
        ("industry", co.industry),
        ("country", co.country),
        ("website", co.website),
        ("size", co.size),
    ] {
        company.insert(k.to_string(), v.unwrap_or_default().into());
    }
    Ok(Context { client, company, ..Context::default() })
}

/// Lint: every problem of a version, named (variables, unsubscribe link, images without alt,
/// `http://` links, size, text part).
pub fn lint(session: &Session, name: &str, version: Option<i64>) -> Result<Lint> {
    session.require(Permission::TemplateRead)?;
    let db = session.db();
    let v = version_of(db, name, version)?;
    let lib = library(db, &v)?;
    let vars = variables(db)?;
    let mut problems = template::check_variables(&lib, &v.name, &v.subject, v.text.as_deref(), &vars);
    let kind = v.kind.parse::<TemplateKind>()?;
    let sample = template::sample_context(&vars);
    let parts = Parts { name: &v.name, subject: &v.subject, text: v.text.as_deref() };
    // The body's own rules are checked on a render where unknown variables read as empty.
    match template::render_lenient(&lib, &parts, &sample, inline_media(db)?) {
        Ok(r) => problems.extend(template::body_problems(kind, &lib, &v.name, v.text.as_deref(), &r.html)),
        Err(e) => problems.push(e.message().trim_start_matches("invalid template: ").to_string()),
    }
    Ok(Lint { template: v.name, version: v.version, problems })
}

/// Renders a version with a real client's values (or sample values without one).
pub fn preview(session: &Session, name: &str, version: Option<i64>, client: Option<&str>) -> Result<Preview> {
    session.require(Permission::TemplateRead)?;
    let db = session.db();
    let v = version_of(db, name, version)?;
    let lib = library(db, &v)?;
    let vars = variables(db)?;
    let ctx = match client {
        Some(key) => {
            session.require(Permission::ClientRead)?;
            let c = refs::client(db, key)?;
            let mut ctx = client_context(db, &c, &vars)?;
            let sample = template::sample_context(&vars);
            (ctx.unsubscribe_url, ctx.view_online_url, ctx.preferences_url) =
                (sample.unsubscribe_url, sample.view_online_url, sample.preferences_url);
            ctx.campaign = sample.campaign;
            ctx
        }
        None => template::sample_context(&vars),
    };
    let rendered = template::render(
        &lib,
        &Parts { name: &v.name, subject: &v.subject, text: v.text.as_deref() },
        &vars,
        &ctx,
        inline_media(db)?,
    )?;
    Ok(Preview { template: v.name, version: v.version, client: client.map(str::to_string), rendered })
}
