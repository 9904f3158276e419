//! `rolo campaign list|show|create|update|audience|submit|approve|reject|schedule|unschedule`.

use clap::Args;

use super::CampaignCommand;
use crate::Result;
use crate::cli::Ctx;
use crate::domain::campaign::CampaignInput;
use crate::domain::time;
use crate::service::Session;
use crate::service::campaign::lifecycle;

const COLUMNS: &[&str] =
    &["id", "name", "status", "template", "template_version", "author", "approved_by", "scheduled_at"];
const RECORD: &[&str] = &[
    "id",
    "name",
    "status",
    "template",
    "template_version",
    "from",
    "reply_to",
    "tracking",
    "autologin",
    "rate",
    "author",
    "approved_by",
    "approved_at",
    "scheduled_at",
];

/// What a campaign is made of.
#[derive(Debug, Args)]
pub struct CampaignArgs {
    /// The campaign's name (shown in List-Id)
    #[arg(long)]
    name: Option<String>,
    /// The template, T or T@VERSION (default: its latest version, pinned now)
    #[arg(long)]
    template: Option<String>,
    /// Who receives it: group:G or segment:S (repeat; replaces the list on update)
    #[arg(long = "audience", value_name = "group:G|segment:S")]
    audience: Vec<String>,
    /// Who never receives it: group:G or segment:S (repeat)
    #[arg(long = "exclude", value_name = "group:G|segment:S")]
    exclude: Vec<String>,
    /// The sender, "Name <address>"
    #[arg(long)]
    from: Option<String>,
    /// Where replies go (empty: none)
    #[arg(long)]
    reply_to: Option<String>,
    /// full (per recipient), anonymous (counts only) or off
    #[arg(long)]
    tracking: Option<String>,
    /// on (default): its links pre-fill landing pages for their recipient; off: they never do
    #[arg(long, value_name = "on|off")]
    autologin: Option<String>,
    /// Messages per second, e.g. 50/s (0: as fast as the server takes them)
    #[arg(long)]
    rate: Option<String>,
}

impl CampaignArgs {
    fn input(self) -> CampaignInput {
        CampaignInput {
            name: self.name,
            template: self.template,
            audience: self.audience,
            exclude: self.exclude,
            from: self.from,
            reply_to: self.reply_to,
            tracking: self.tracking,
            autologin: self.autologin,
            rate: self.rate,
        }
    }
}

pub(super) fn run(ctx: &Ctx, session: &Session, cmd: CampaignCommand) -> Result<()> {
    match cmd {
        CampaignCommand::List { status, mine } => {
            ctx.out.list(&lifecycle::list(session, status.as_deref(), mine)?, COLUMNS, "No campaigns.")
        }
        CampaignCommand::Show { id } => {
            let d = lifecycle::show(session, id)?;
            let p = &d.progress;
            let card = format!(
                "Campaign #{} {} — {}\nTemplate: {} v{}\nFrom: {}\nAudience: {}\nContent hash: {}\nApproval: {}\nProgress: {} recipients, {} sent, {} queued, {} deferred, {} failed, {} unknown",
                d.campaign.id,
                d.campaign.name,
                d.campaign.status,
                d.campaign.template,
                d.campaign.template_version,
                d.campaign.from,
                d.campaign.audience.iter().map(|a| a.label()).collect::<Vec<_>>().join(", "),
                d.content_hash,
                match (&d.campaign.approved_by, d.approval_valid) {
                    (Some(by), true) => format!("by {by}, valid"),
                    (Some(by), false) => format!("by {by}, STALE: the content changed since"),
                    (None, _) => "none".to_string(),
                },
                p.total,
                p.sent,
                p.queued,
                p.deferred,
                p.failed,
                p.unknown
            );
            ctx.out.record_with(&d, RECORD, Some(card))
        }
        CampaignCommand::Create(args) => {
            let c = lifecycle::create(session, &args.input())?;
            ctx.out.status(format!("Created campaign {} ({}), a draft.", c.id, c.name));
            ctx.out.record(&c, RECORD)
        }
        CampaignCommand::Update { id, args } => {
            let c = lifecycle::update(session, id, &args.input())?;
            ctx.out.status(format!("Updated campaign {}; it is a draft again.", c.id));
            ctx.out.record(&c, RECORD)
        }
        CampaignCommand::Audience { id, count, limit } => {
            let r = lifecycle::audience(session, id, if count { Some(0) } else { limit })?;
            let text = format!(
                "{} eligible of {} selected; left out: {} excluded, {} without consent, {} suppressed, {} invalid, {} duplicate mailboxes{}",
                r.eligible,
                r.selected,
                r.excluded,
                r.no_consent,
                r.suppressed,
                r.invalid,
                r.duplicate,
                r.recipients.iter().map(|x| format!("\n  {} <{}>", x.name, x.email)).collect::<String>()
            );
            ctx.out.record_with(
                &r,
                &["eligible", "selected", "excluded", "no_consent", "suppressed", "invalid", "duplicate"],
                Some(text),
            )
        }
        CampaignCommand::Submit { id } => changed(ctx, lifecycle::submit(session, id)?, "submitted for approval"),
        CampaignCommand::Approve { id, comment } => {
            changed(ctx, lifecycle::approve(session, id, comment.as_deref())?, "approved")
        }
        CampaignCommand::Reject { id, comment } => {
            changed(ctx, lifecycle::reject(session, id, &comment)?, "back to draft")
        }
        CampaignCommand::Schedule { id, at } => {
            let at = time::parse_instant("at", &at, chrono::Utc::now())?;
            changed(ctx, lifecycle::schedule(session, id, at)?, "scheduled")
        }
        CampaignCommand::Unschedule { id } => changed(ctx, lifecycle::unschedule(session, id)?, "unscheduled"),
        _ => unreachable!("dispatched by campaign::run"),
    }
}

fn changed(ctx: &Ctx, c: crate::domain::campaign::Campaign, what: &str) -> Result<()> {
    ctx.out.status(format!("Campaign {} is {what} ({}).", c.id, c.status));
    ctx.out.record(&c, RECORD)
}
