//! `rolo campaign send|resume|pause|cancel|run|log|stats`.

use super::CampaignCommand;
use crate::cli::Ctx;
use crate::domain::campaign::SendReport;
use crate::service::Session;
use crate::service::campaign::{lifecycle, send};
use crate::{Error, Result};

const LOG_COLUMNS: &[&str] = &["id", "email", "status", "attempts", "sent_at", "last_error"];
const REPORT_COLUMNS: &[&str] = &["campaign_id", "status", "frozen", "sent", "failed", "deferred", "marked_unknown"];

pub(super) fn run(ctx: &Ctx, session: &Session, cmd: CampaignCommand) -> Result<()> {
    match cmd {
        CampaignCommand::Send { id, yes, resend_unknown } => {
            let c = lifecycle::show(session, id)?;
            let question = format!("Send campaign {} ({}) now?", c.campaign.id, c.campaign.name);
            if !ctx.prompt.confirm(&question, yes)? {
                ctx.out.status("Nothing sent.");
                return Ok(());
            }
            send_now(ctx, session, id, resend_unknown)
        }
        CampaignCommand::Resume { id, resend_unknown } => send_now(ctx, session, id, resend_unknown),
        CampaignCommand::Test { id, to, client } => {
            let message_id = send::test(session, id, &ctx.config.smtp, &options(ctx, false), &to, client.as_deref())?;
            ctx.out.status(format!("Sent a test of campaign {id} to {to} ({message_id})."));
            Ok(())
        }
        CampaignCommand::Pause { id } => {
            let c = lifecycle::pause(session, id)?;
            ctx.out.status(format!("Campaign {} is paused; messages in flight finish, `resume` continues.", c.id));
            Ok(())
        }
        CampaignCommand::Cancel { id } => {
            let c = lifecycle::cancel(session, id)?;
            ctx.out.status(format!("Campaign {} is cancelled; nothing more is sent.", c.id));
            Ok(())
        }
        CampaignCommand::Run => {
            let reports = send::run_due(session, &ctx.config.smtp, &options(ctx, false))?;
            ctx.out.list(&reports, REPORT_COLUMNS, "No campaign is due.")?;
            failed_server(&reports)
        }
        CampaignCommand::Log { id, status, limit } => {
            let rows = crate::service::campaign::lifecycle::log(session, id, status.as_deref(), limit)?;
            ctx.out.list(&rows, LOG_COLUMNS, "No rows match.")
        }
        CampaignCommand::Stats { id } => {
            let stats = lifecycle::stats(session, id)?;
            let v = serde_json::to_value(&stats.progress)?;
            let mut card = STATS_COLUMNS
                .iter()
                .map(|c| format!("{:<18}{}", c.replace('_', " "), v.get(*c).map(|x| x.to_string()).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("\n");
            if !stats.links.is_empty() {
                card.push_str("\n\nclicks per link (people, recipients, machines)");
                for l in &stats.links {
                    card.push_str(&format!("\n{:>6} {:>6} {:>6}  {}", l.clicks, l.unique, l.machine, l.url));
                }
            }
            card.push_str(&format!("\n\n{}", super::chart::chart(&stats.timeline, true)));
            ctx.out.record_with(&stats, STATS_COLUMNS, Some(card))
        }
        _ => unreachable!("dispatched by campaign::run"),
    }
}

/// The counts of `campaign stats`, in order (CSV columns; JSON has them all, with links and timeline).
const STATS_COLUMNS: &[&str] = &[
    "total",
    "sent",
    "queued",
    "sending",
    "deferred",
    "failed",
    "unknown",
    "hard_bounces",
    "soft_bounces",
    "complaints",
    "unsubscribes",
    "opens",
    "machine_opens",
    "clicks",
    "machine_clicks",
    "open_rate",
    "click_rate",
    "bounce_rate",
    "complaint_rate",
    "unsubscribe_rate",
];

fn options(ctx: &Ctx, resend_unknown: bool) -> send::Options {
    send::Options {
        resend_unknown,
        workers: ctx.config.campaign_workers,
        domain_rate: ctx.config.campaign_domain_rate,
        public_url: ctx.config.public_url.clone(),
        ..send::Options::default()
    }
}

fn send_now(ctx: &Ctx, session: &Session, id: i64, resend_unknown: bool) -> Result<()> {
    let bar = ctx.out.progress("sent");
    let report = send::send(session, id, &ctx.config.smtp, &options(ctx, resend_unknown), &|r: &SendReport| {
        if let Some(b) = &bar {
            b.set_position((r.sent + r.failed) as u64);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    ctx.out.status(format!(
        "Campaign {} is {}: {} sent, {} failed, {} deferred{}.",
        report.campaign_id,
        report.status,
        report.sent,
        report.failed,
        report.deferred,
        if report.marked_unknown > 0 {
            format!(", {} unknown (in flight at a crash)", report.marked_unknown)
        } else {
            String::new()
        }
    ));
    ctx.out.record(&report, REPORT_COLUMNS)?;
    failed_server(std::slice::from_ref(&report))
}

/// An unreachable SMTP server ends a send with exit 8: the rest waits in the send log.
fn failed_server(reports: &[SendReport]) -> Result<()> {
    match reports.iter().flat_map(|r| r.errors.first()).next() {
        Some(e) => Err(Error::external(format!("{e}; the rest stays queued: `rolo campaign resume` continues"))),
        None => Ok(()),
    }
}
