//! `rolo campaign …`: e-mail marketing. The template and media libraries have their files.

mod media;
mod template;

use clap::Subcommand;

use crate::Result;
use crate::cli::Ctx;

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// The template library: versioned templates, lint and previews
    #[command(subcommand)]
    Template(template::TemplateCommand),
    /// The media library: images and files used by templates, stored once by content
    #[command(subcommand)]
    Media(media::MediaCommand),
}

pub fn run(ctx: &Ctx, cmd: CampaignCommand) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    match cmd {
        CampaignCommand::Template(cmd) => template::run(ctx, &session, cmd),
        CampaignCommand::Media(cmd) => media::run(ctx, &session, cmd),
    }
}

/// Reads a file named by a flag, as text; its name in the error when it cannot be read.
pub(crate) fn read_text(flag: &str, path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| crate::Error::invalid(flag, format!("cannot read {}: {e}", path.display())))
}
