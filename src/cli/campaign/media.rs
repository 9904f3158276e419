//! `rolo campaign media …`: the media library.

use std::path::PathBuf;

use clap::Subcommand;

use crate::cli::Ctx;
use crate::service::Session;
use crate::service::campaign::media;
use crate::{Error, Result};

const COLUMNS: &[&str] = &["name", "mime", "size", "sha256", "created_at", "created_by"];

#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Add an image or file; templates show it with {{ media("NAME") }}
    Add {
        /// The file (png, jpg, gif, webp, svg, pdf, ics; at most 10 MiB)
        file: PathBuf,
        /// The name templates use (default: the file's name)
        #[arg(long)]
        name: Option<String>,
    },
    /// The library (JSON keys: id, name, sha256, mime, size, created_at, created_by)
    List,
    /// One file's details
    Show {
        /// The media's name
        name: String,
    },
    /// Remove a name from the library (sent messages keep their copy)
    Remove {
        /// The media's name
        name: String,
    },
}

pub(super) fn run(ctx: &Ctx, session: &Session, cmd: MediaCommand) -> Result<()> {
    match cmd {
        MediaCommand::Add { file, name } => {
            let name = match name {
                Some(n) => n,
                None => file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            };
            let size = std::fs::metadata(&file)
                .map_err(|e| Error::invalid("file", format!("cannot read {}: {e}", file.display())))?
                .len();
            media::check_size(size)?;
            let bytes = std::fs::read(&file)?;
            let m = media::add(session, &name, &bytes)?;
            ctx.out.status(format!("Added {} ({} bytes, {}).", m.name, m.size, m.mime));
            ctx.out.record(&m, COLUMNS)
        }
        MediaCommand::List => ctx.out.list(&media::list(session)?, COLUMNS, "The media library is empty."),
        MediaCommand::Show { name } => ctx.out.record(&media::show(session, &name)?, COLUMNS),
        MediaCommand::Remove { name } => {
            let m = media::remove(session, &name)?;
            ctx.out.status(format!("Removed {} from the library.", m.name));
            Ok(())
        }
    }
}
