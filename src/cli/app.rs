//! `rolo app …`: applications that use the e-mailing service through `rolo serve`'s API.

use clap::Subcommand;

use super::Ctx;
use crate::Result;
use crate::service::app;

const COLUMNS: &[&str] = &["name", "scopes", "rate", "calls", "messages", "last_used_at", "revoked_at"];
const RECORD: &[&str] =
    &["name", "scopes", "rate", "created_by", "created_at", "calls", "messages", "last_used_at", "revoked_at", "keys"];

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Applications (JSON keys: id, name, scopes, rate, created_by, created_at, revoked_at,
    /// calls, messages, last_used_at, keys)
    List,
    /// One application: scopes, rate, usage, its keys (their first characters)
    Show {
        /// The application's name
        name: String,
    },
    /// Create an application; its key is printed once (only its SHA-256 is kept)
    Create {
        /// Letters, digits, `.`, `_` or `-`
        name: String,
        /// mail:send (send messages, read their status) or contact:subscribe (repeat)
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Requests per second, e.g. 20/s (default 20; 0: no limit)
        #[arg(long)]
        rate: Option<String>,
    },
    /// A new key, printed once; the old ones keep working for the grace period
    Rotate {
        /// The application's name
        name: String,
        /// How long the old keys keep working: 24h (default), 30m, 7d, 0
        #[arg(long)]
        grace: Option<String>,
    },
    /// Revoke an application: its keys stop at once
    Revoke {
        /// The application's name
        name: String,
    },
}

pub fn run(ctx: &Ctx, cmd: AppCommand) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    match cmd {
        AppCommand::List => ctx.out.list(&app::list(&session)?, COLUMNS, "No applications."),
        AppCommand::Show { name } => ctx.out.record(&app::show(&session, &name)?, RECORD),
        AppCommand::Create { name, scopes, rate } => {
            let issued = app::create(&session, &name, &scopes, rate.as_deref())?;
            ctx.out.status(format!(
                "Created application {}. Its key is shown this once; give it to the application \
                 (Authorization: Bearer KEY).",
                issued.app.name
            ));
            ctx.out.record(&issued, &["name", "scopes", "rate", "key"])
        }
        AppCommand::Rotate { name, grace } => {
            let grace = grace.as_deref().map(app::parse_grace).transpose()?;
            let issued = app::rotate(&session, &name, grace)?;
            ctx.out.status("New key shown this once; the previous keys stop at the end of the grace period.");
            ctx.out.record(&issued, &["name", "key", "keys"])
        }
        AppCommand::Revoke { name } => {
            let a = app::revoke(&session, &name)?;
            ctx.out.status(format!("Application {} revoked; its keys no longer work.", a.name));
            Ok(())
        }
    }
}
