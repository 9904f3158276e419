//! `rolo ticket sla …`: policies per ticket type, the check cron runs, explanations.

use super::{PolicyCommand, SlaCommand, sla_color};
use crate::Result;
use crate::cli::{Ctx, EXIT_SLA_AT_RISK, EXIT_SLA_BREACHED, Format};
use crate::db::Db;
use crate::service::{Session, sla, ticket};

const ALERT_COLUMNS: &[&str] = &["ticket_id", "project", "type", "subject", "assignee", "clock", "state", "deadline"];
const POLICY_COLUMNS: &[&str] = &["type", "first_response_minutes", "resolution_minutes", "warn_percent", "calendar"];

pub(super) fn run(ctx: &Ctx, db: &Db, session: &Session, cmd: SlaCommand) -> Result<()> {
    match cmd {
        SlaCommand::Policy(PolicyCommand::List) => {
            ctx.out.list(&sla::list_policies(session)?, POLICY_COLUMNS, "No policies.")
        }
        SlaCommand::Policy(set @ PolicyCommand::Set { .. }) => set_policy(ctx, session, set),
        SlaCommand::Check { at } => check(ctx, db, session, at.as_deref()),
        SlaCommand::Recompute => {
            let n = sla::recompute(session)?;
            ctx.out.status(format!("Recomputed the SLA projection of {n} ticket(s)."));
            Ok(())
        }
        SlaCommand::Explain { id, at } => {
            let e = sla::explain(session, &id, ticket::instant(at.as_deref())?)?;
            let text = e.steps.join("\n");
            ctx.out.record_with(&e, &["ticket_id", "type", "at", "warn_percent"], Some(text))
        }
    }
}

fn set_policy(ctx: &Ctx, session: &Session, cmd: PolicyCommand) -> Result<()> {
    let PolicyCommand::Set { kind, first_response, resolution, warn, time_zone, hours, holidays, no_holidays } = cmd
    else {
        unreachable!("only `set` comes here")
    };
    let holidays = match (no_holidays, holidays.is_empty()) {
        (true, _) => Some(Vec::new()),
        (false, true) => None,
        (false, false) => Some(holidays),
    };
    let input = sla::PolicyInput { first_response, resolution, warn, time_zone, hours, holidays };
    let p = sla::set_policy(session, &kind, &input)?;
    ctx.out.status(format!("SLA policy for {} tickets updated.", p.kind));
    ctx.out.record(&p, POLICY_COLUMNS)
}

/// For cron: the report on stdout, the summary on stderr, exit 10 when a clock is at risk and
/// 11 when one is breached.
fn check(ctx: &Ctx, db: &Db, session: &Session, at: Option<&str>) -> Result<()> {
    let report = sla::check(session, &ctx.config.smtp, ticket::instant(at)?)?;
    ctx.deliver_mail(db);
    match ctx.out.format {
        Format::Table => ctx.out.list_styled(&report.alerts, ALERT_COLUMNS, "", Some(sla_color))?,
        Format::Csv => ctx.out.list(&report.alerts, ALERT_COLUMNS, "")?,
        Format::Json => ctx.out.record(&report, crate::cli::output::NO_COLUMNS)?,
    }
    let summary = format!(
        "{} open ticket(s) checked: {} at risk, {} breached; {} notice(s) queued.",
        report.checked, report.at_risk, report.breached, report.notices_queued
    );
    let code = if report.breached > 0 {
        EXIT_SLA_BREACHED
    } else if report.at_risk > 0 {
        EXIT_SLA_AT_RISK
    } else {
        ctx.out.status(summary);
        return Ok(());
    };
    ctx.set_exit(code);
    ctx.out.notice(summary);
    Ok(())
}
