//! `rolo campaign template …`: create, update (a new version each time), show, list, delete,
//! lint and preview templates.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::read_text;
use crate::cli::Ctx;
use crate::domain::template::TemplateInput;
use crate::service::Session;
use crate::service::campaign::template;
use crate::{Error, Result};

const COLUMNS: &[&str] = &["name", "kind", "version", "subject", "source_kind", "has_text", "updated_at", "updated_by"];
const VERSION_COLUMNS: &[&str] = &["name", "kind", "version", "subject", "source_kind", "created_at", "created_by"];

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// The library (JSON keys: id, name, kind, version, subject, source_kind, has_text,
    /// created_at, updated_at, updated_by)
    List,
    /// A template's latest version, or another (JSON keys: template_id, name, kind, version,
    /// subject, source_kind, source, text, created_at, created_by)
    #[command(disable_version_flag = true)]
    Show {
        /// The template's name
        template: String,
        /// Show this version instead of the latest
        #[arg(long)]
        version: Option<i64>,
    },
    /// Create a template (version 1)
    Create {
        /// The template's name (others include or extend it by this name)
        name: String,
        /// campaign (honours consent, needs an unsubscribe link) or transactional
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        #[command(flatten)]
        content: ContentArgs,
    },
    /// Save a new version (earlier ones stay: campaigns pin them); no flag opens the HTML in
    /// $EDITOR on a terminal
    Update {
        /// The template's name
        template: String,
        #[command(flatten)]
        content: ContentArgs,
    },
    /// Delete a template that no open campaign uses
    Delete {
        /// The template's name
        template: String,
    },
    /// Render with a real client's values (sample values without --client): the text part on
    /// the terminal, or the whole message as HTML with -o
    #[command(disable_version_flag = true)]
    Preview {
        /// The template's name
        template: String,
        /// Preview this version instead of the latest
        #[arg(long)]
        version: Option<i64>,
        /// The client whose values fill the template (id or e-mail)
        #[arg(long)]
        client: Option<String>,
        /// Write the rendered HTML to this file
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Name every problem (unknown or private variables, no unsubscribe link, images without
    /// alt, http:// links, a body over 102 KB, no text part); exit 3 when there is one
    #[command(disable_version_flag = true)]
    Lint {
        /// The template's name
        template: String,
        /// Lint this version instead of the latest
        #[arg(long)]
        version: Option<i64>,
    },
}

/// The parts of a version, each from a file.
#[derive(Debug, Args)]
pub struct ContentArgs {
    /// The subject line (may use variables: "Invitation, {{ client.first_name }}")
    #[arg(long)]
    subject: Option<String>,
    /// The HTML body
    #[arg(long, value_name = "FILE", conflicts_with = "mjml_file")]
    html_file: Option<PathBuf>,
    /// The body in MJML, compiled to HTML when rendered
    #[arg(long, value_name = "FILE")]
    mjml_file: Option<PathBuf>,
    /// The text part (without one, it is derived from the HTML); an empty file removes it
    #[arg(long, value_name = "FILE")]
    text_file: Option<PathBuf>,
}

impl ContentArgs {
    fn input(self, kind: Option<String>) -> Result<TemplateInput> {
        Ok(TemplateInput {
            kind,
            subject: self.subject,
            html: self.html_file.map(|p| read_text("html-file", &p)).transpose()?,
            mjml: self.mjml_file.map(|p| read_text("mjml-file", &p)).transpose()?,
            text: self.text_file.map(|p| read_text("text-file", &p)).transpose()?,
        })
    }

    fn is_empty(&self) -> bool {
        self.subject.is_none() && self.html_file.is_none() && self.mjml_file.is_none() && self.text_file.is_none()
    }
}

pub(super) fn run(ctx: &Ctx, session: &Session, cmd: TemplateCommand) -> Result<()> {
    match cmd {
        TemplateCommand::List => ctx.out.list(&template::list(session)?, COLUMNS, "The library has no templates yet."),
        TemplateCommand::Show { template: name, version } => {
            let v = template::show(session, &name, version)?;
            let card = format!(
                "{} v{} ({}, {})\nSubject: {}\n\n{}",
                v.name, v.version, v.kind, v.source_kind, v.subject, v.source
            );
            ctx.out.record_with(&v, VERSION_COLUMNS, Some(card))
        }
        TemplateCommand::Create { name, kind, content } => {
            let v = template::create(session, &name, &content.input(kind)?)?;
            ctx.out.status(format!("Created template {} (version 1).", v.name));
            ctx.out.record(&v, VERSION_COLUMNS)
        }
        TemplateCommand::Update { template: name, content } => update(ctx, session, &name, content),
        TemplateCommand::Delete { template: name } => {
            let t = template::delete(session, &name)?;
            ctx.out.status(format!("Deleted template {}; its versions stay for the campaigns that sent them.", t.name));
            Ok(())
        }
        TemplateCommand::Preview { template: name, version, client, output } => {
            let p = template::preview(session, &name, version, client.as_deref())?;
            if let Some(path) = output {
                std::fs::write(&path, &p.rendered.html)?;
                ctx.out.status(format!("Wrote the HTML of {} v{} to {}.", p.template, p.version, path.display()));
            }
            let text = format!("Subject: {}\n\n{}", p.rendered.subject, p.rendered.text);
            ctx.out.record_with(&p, &["template", "version", "subject"], Some(text))
        }
        TemplateCommand::Lint { template: name, version } => {
            let l = template::lint(session, &name, version)?;
            let text = l.problems.iter().map(|p| format!("- {p}")).collect::<Vec<_>>().join("\n");
            if l.problems.is_empty() {
                ctx.out.status(format!("{} v{}: no problems found.", l.template, l.version));
                return ctx.out.record(&l, &["template", "version"]);
            }
            ctx.out.record_with(&l, &["template", "version", "problems"], Some(text))?;
            Err(Error::invalid(
                "template",
                format!("{} v{} has {} problem(s)", l.template, l.version, l.problems.len()),
            ))
        }
    }
}

/// A new version from the flags, or from the HTML edited in $EDITOR on a terminal.
fn update(ctx: &Ctx, session: &Session, name: &str, content: ContentArgs) -> Result<()> {
    let input = if content.is_empty() {
        let current = template::show(session, name, None)?;
        let ext = if current.source_kind == "mjml" { ".mjml" } else { ".html" };
        match ctx.prompt.edit_text(&current.source, ext, "--subject, --html-file, --mjml-file or --text-file")? {
            Some(edited) if current.source_kind == "mjml" => TemplateInput { mjml: Some(edited), ..Default::default() },
            Some(edited) => TemplateInput { html: Some(edited), ..Default::default() },
            None => {
                ctx.out.status("No changes.");
                return Ok(());
            }
        }
    } else {
        content.input(None)?
    };
    let v = template::update(session, name, &input)?;
    ctx.out.status(format!("Saved template {} version {}.", v.name, v.version));
    ctx.out.record(&v, VERSION_COLUMNS)
}
