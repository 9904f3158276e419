//! The template and media libraries' records, and what people give to make them.

use serde::{Deserialize, Serialize};

use super::Rendered;
use crate::{Error, Result};

/// A template of the library, with its latest version.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Template {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub version: i64,
    pub subject: String,
    pub source_kind: String,
    pub has_text: bool,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: Option<String>,
}

/// One immutable version of a template.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TemplateVersion {
    pub template_id: i64,
    pub name: String,
    pub kind: String,
    pub version: i64,
    pub subject: String,
    pub source_kind: String,
    pub source: String,
    pub text: Option<String>,
    pub created_at: String,
    pub created_by: Option<String>,
}

/// What a person gives for a new template or a new version; `None` keeps the previous
/// version's part.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TemplateInput {
    pub kind: Option<String>,
    pub subject: Option<String>,
    pub html: Option<String>,
    pub mjml: Option<String>,
    /// The text part; an empty one removes it (derived from the HTML again).
    pub text: Option<String>,
}

/// A file of the media library.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Media {
    pub id: i64,
    pub name: String,
    pub sha256: String,
    pub mime: String,
    pub size: i64,
    pub created_at: String,
    pub created_by: Option<String>,
}

/// What `lint` found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Lint {
    pub template: String,
    pub version: i64,
    pub problems: Vec<String>,
}

/// A rendered preview of one version for one client (or sample values).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Preview {
    pub template: String,
    pub version: i64,
    pub client: Option<String>,
    #[serde(flatten)]
    pub rendered: Rendered,
}

/// Compiles MJML to HTML (the engine then renders the HTML).
pub fn mjml_to_html(source: &str) -> Result<String> {
    let parsed = mrml::parse(source).map_err(|e| Error::invalid("mjml", format!("not valid MJML: {e}")))?;
    parsed
        .element
        .render(&mrml::prelude::render::RenderOptions::default())
        .map_err(|e| Error::invalid("mjml", format!("MJML does not render: {e}")))
}

/// A template name: 1-100 characters, no quotes (templates name each other in `include`).
pub fn template_name(value: &str) -> Result<String> {
    let name = crate::domain::validate::text("name", value, 100)?;
    if name.contains(['"', '\'', '{', '}', '%']) {
        return Err(Error::invalid("name", "must not contain quotes, braces or %"));
    }
    Ok(name)
}
