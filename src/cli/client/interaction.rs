//! `rolo client interaction …`: calls, meetings, e-mails… with a client.

use clap::Subcommand;

use crate::Result;
use crate::cli::Ctx;
use crate::domain::crm::InteractionKind;
use crate::service::{Session, client};

const INTERACTION_COLUMNS: &[&str] = &["id", "at", "type", "client_name", "author", "notes"];

#[derive(Debug, Subcommand)]
pub enum InteractionCommand {
    /// Log an interaction; the client's last contact moves to its date
    Add {
        /// The client (id or e-mail)
        #[arg(long)]
        client: Option<String>,
        /// phone_call, meeting, email, chat, social_media, event_attendance, sale, support_request, survey
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// When it happened (default now)
        #[arg(long)]
        date: Option<String>,
        /// What was said or done
        #[arg(long)]
        notes: Option<String>,
    },
    /// Newest first (JSON keys: id, client_id, client_name, type, at, notes, author, created_at)
    List {
        /// Only this client's (id or e-mail), like every other noun's positional record
        #[arg(value_name = "CLIENT", conflicts_with = "client")]
        for_client: Option<String>,
        /// Only this client's (id or e-mail); same as the positional CLIENT
        #[arg(long)]
        client: Option<String>,
        /// Only those I logged
        #[arg(long)]
        mine: bool,
        /// Only this type: phone_call, meeting, email, chat, social_media, event_attendance, sale, support_request, survey
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// At most N interactions
        #[arg(long)]
        limit: Option<u32>,
    },
}

pub(super) fn run(ctx: &Ctx, session: &Session, cmd: InteractionCommand) -> Result<()> {
    match cmd {
        InteractionCommand::Add { client: c, kind, date, notes } => {
            let kinds: Vec<&str> = InteractionKind::ALL.iter().map(|k| k.as_str()).collect();
            let input = client::NewInteraction {
                client: ctx.prompt.text(c, "Client (id or e-mail)", "--client")?,
                kind: ctx.prompt.select(kind, "Type", &kinds, "--type")?,
                at: date,
                notes: ctx.prompt.optional(notes, "Notes (optional)")?.unwrap_or_default(),
            };
            let created = client::add_interaction(session, &input)?;
            ctx.out.status(format!("Logged {} with {}.", created.kind, created.client_name));
            ctx.out.record(&created, INTERACTION_COLUMNS)
        }
        InteractionCommand::List { for_client, client: c, mine, kind, limit } => {
            let c = for_client.or(c);
            let items =
                client::list_interactions(session, &client::InteractionFilter { client: c, mine, kind, limit })?;
            ctx.out.list(&items, INTERACTION_COLUMNS, "No interactions match.")
        }
    }
}
