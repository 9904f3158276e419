//! `rolo campaign …`: e-mail marketing. The template and media libraries have their files;
//! the campaigns themselves are in `lifecycle` (create to approval) and `sending`.

mod chart;
mod lifecycle;
mod media;
mod sending;
mod template;
mod web;

use clap::Subcommand;

use crate::Result;
use crate::cli::Ctx;

pub use lifecycle::CampaignArgs;

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Campaigns, newest first (JSON keys: id, name, template, template_version, from,
    /// reply_to, tracking, rate, status, author, approved_by, approved_at, approval_hash,
    /// approval_comment, scheduled_at, started_at, finished_at, audience, created_at, updated_at)
    List {
        /// Only this status: draft, pending_approval, approved, scheduled, sending, paused,
        /// sent, cancelled
        #[arg(long)]
        status: Option<String>,
        /// Only campaigns I wrote
        #[arg(long)]
        mine: bool,
    },
    /// A campaign: content hash, approval, audience definition, progress
    Show {
        /// The campaign id
        id: i64,
    },
    /// Create a campaign (a draft)
    Create(CampaignArgs),
    /// Change a campaign that has not started; it goes back to draft and its approval is void
    Update {
        /// The campaign id
        id: i64,
        #[command(flatten)]
        args: CampaignArgs,
    },
    /// Who would receive it now, and how many are left out, by reason
    Audience {
        /// The campaign id
        id: i64,
        /// Only the counts
        #[arg(long)]
        count: bool,
        /// List at most N recipients
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Ask for approval
    Submit {
        /// The campaign id
        id: i64,
    },
    /// Approve the exact content (someone else than the author, with campaign:approve)
    Approve {
        /// The campaign id
        id: i64,
        /// A word for the author
        #[arg(long)]
        comment: Option<String>,
    },
    /// Send one rendered message to an address, outside the send log (subject marked [TEST])
    Test {
        /// The campaign id
        id: i64,
        /// Where the test goes
        #[arg(long)]
        to: String,
        /// Fill it with this client's values (id or e-mail; sample values otherwise)
        #[arg(long)]
        client: Option<String>,
    },
    /// Send it back to draft with a reason
    Reject {
        /// The campaign id
        id: i64,
        /// Why (the author reads it in `show`)
        #[arg(long)]
        comment: String,
    },
    /// Send at a later instant (`rolo campaign run` or `rolo serve` starts it)
    Schedule {
        /// The campaign id
        id: i64,
        /// When: 2026-12-10 09:00, +2h…
        #[arg(allow_hyphen_values = true, long)]
        at: String,
    },
    /// Take a scheduled campaign off the schedule (it stays approved)
    Unschedule {
        /// The campaign id
        id: i64,
    },
    /// Send now, in the foreground, with a progress bar; resumes an interrupted send
    Send {
        /// The campaign id
        id: i64,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long)]
        yes: bool,
        /// Send again to the recipients a crash left `unknown` (some may get a second copy)
        #[arg(long)]
        resend_unknown: bool,
    },
    /// Stop sending after the messages in flight; `resume` continues
    Pause {
        /// The campaign id
        id: i64,
    },
    /// Continue a paused or interrupted send (same as `send`)
    Resume {
        /// The campaign id
        id: i64,
        /// Send again to the recipients a crash left `unknown`
        #[arg(long)]
        resend_unknown: bool,
    },
    /// Stop for good; nothing more is sent
    Cancel {
        /// The campaign id
        id: i64,
    },
    /// For cron: start due scheduled campaigns, continue interrupted sends
    Run,
    /// The per-recipient send log (JSON keys: id, campaign_id, client_id, email, status,
    /// attempts, next_attempt_at, message_id, last_error, sent_at)
    Log {
        /// The campaign id
        id: i64,
        /// Only this status: queued, sending, sent, failed, deferred, unknown
        #[arg(long)]
        status: Option<String>,
        /// At most N rows
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Sent, failed, deferred and unknown so far; bounces, complaints and unsubscribes recorded
    /// by `rolo mail inbound`; opens and clicks (people, each once; machines apart) from `rolo
    /// serve`, their rates, clicks per link, and a chart of opens and clicks over time
    Stats {
        /// The campaign id
        id: i64,
    },
    /// Landing pages with a sign-up form, served by `rolo serve` at /p/SLUG
    #[command(subcommand)]
    Page(web::PageCommand),
    /// Short links, served by `rolo serve` at /s/CODE
    #[command(subcommand)]
    Link(web::LinkCommand),
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
        CampaignCommand::Page(cmd) => web::pages(ctx, &session, cmd),
        CampaignCommand::Link(cmd) => web::links(ctx, &session, cmd),
        cmd @ (CampaignCommand::Send { .. }
        | CampaignCommand::Test { .. }
        | CampaignCommand::Resume { .. }
        | CampaignCommand::Pause { .. }
        | CampaignCommand::Cancel { .. }
        | CampaignCommand::Run
        | CampaignCommand::Log { .. }
        | CampaignCommand::Stats { .. }) => sending::run(ctx, &session, cmd),
        cmd => lifecycle::run(ctx, &session, cmd),
    }
}

/// Reads a file named by a flag, as text; its name in the error when it cannot be read.
pub(crate) fn read_text(flag: &str, path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| crate::Error::invalid(flag, format!("cannot read {}: {e}", path.display())))
}
