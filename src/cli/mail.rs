//! `rolo mail outbox list|retry|flush`.

use clap::Subcommand;

use super::Ctx;
use crate::Result;
use crate::service::mail;

const COLUMNS: &[&str] = &["id", "to", "subject", "kind", "status", "attempts", "next_attempt_at", "last_error"];

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// The outbox: every e-mail Rolo sends is a row first
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Addresses no campaign reaches (unsubscribed, hard bounces, complaints, manual, erased)
    #[command(subcommand)]
    Suppression(SuppressionCommand),
    /// Send one message through the outbox: from a template (with --var) or a subject and body
    Send {
        /// The recipient's address
        #[arg(long)]
        to: String,
        /// The template, T or T@VERSION (a campaign template honours the suppression list)
        #[arg(long)]
        template: Option<String>,
        /// A template variable, KEY=VALUE (repeat)
        #[arg(long = "var", value_name = "KEY=VALUE", value_parser = key_value)]
        vars: Vec<(String, String)>,
        /// The subject (without a template)
        #[arg(long)]
        subject: Option<String>,
        /// The text (without a template; `-` reads stdin)
        #[arg(long)]
        body: Option<String>,
        /// A key that makes a repeat of this command a no-op (scripts that retry)
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// The DNS TXT record to publish for the [dkim] key (JSON keys: name, kind, value, algorithm)
    Dkim,
    /// Record a bounce (RFC 3464), a complaint (RFC 5965) or an unsubscribe mail, as an MTA pipe
    /// hands it over (JSON keys: kind, campaign_id, recipient, status, detail, repeated,
    /// suppressed, consent_withdrawn)
    Inbound {
        /// The raw message (`-` reads stdin)
        file: String,
    },
}

fn key_value(s: &str) -> std::result::Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

#[derive(Debug, Subcommand)]
pub enum SuppressionCommand {
    /// The suppression list, newest first (JSON keys: mailbox_hash, email, reason, source, created_at, created_by)
    List {
        /// Only this reason: unsubscribed, hard_bounce, complaint, manual, erased
        #[arg(long)]
        reason: Option<String>,
        /// At most N entries
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Suppress an address (its mailbox: case, +tags and Gmail dots ignored)
    Add {
        /// The address
        address: String,
        /// Why: manual, unsubscribed, hard_bounce, complaint
        #[arg(long, default_value = "manual")]
        reason: String,
    },
    /// Let campaigns reach an address again
    Remove {
        /// The address
        address: String,
    },
}

const SUPPRESSION_COLUMNS: &[&str] = &["email", "reason", "source", "created_at", "created_by"];

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// The outbox, newest first (JSON keys: id, to, subject, message_id, ticket_id, kind, status, attempts,
    /// next_attempt_at, last_error, created_at, sent_at)
    List {
        /// queued, sending, sent or failed
        #[arg(long)]
        status: Option<String>,
        /// At most N messages
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Make a queued or failed message due now
    Retry {
        /// The outbox message id
        id: i64,
    },
    /// Deliver everything due (for cron); exit 8 if the server could not be reached
    Flush,
}

pub fn run(ctx: &Ctx, cmd: MailCommand) -> Result<()> {
    // The DKIM record needs no database: the key file is the whole input.
    let db = (!matches!(cmd, MailCommand::Dkim)).then(|| ctx.open_db()).transpose()?;
    let Some(db) = db else {
        let r = crate::service::campaign::dkim_record(&ctx.config.smtp)?;
        ctx.out.status(format!("Publish this TXT record before sending signed mail ({}):", r.algorithm));
        return ctx.out.record(&r, &["name", "kind", "value", "algorithm"]);
    };
    let session = ctx.session(&db)?;
    let cmd = match cmd {
        MailCommand::Outbox(cmd) => cmd,
        MailCommand::Suppression(cmd) => return suppression(ctx, &session, cmd),
        MailCommand::Dkim => return Ok(()),
        MailCommand::Inbound { file } => return inbound(ctx, &session, &file),
        MailCommand::Send { to, template, vars, subject, body, idempotency_key } => {
            let body = match body.as_deref() {
                Some("-") => Some(std::io::read_to_string(std::io::stdin())?),
                _ => body,
            };
            let input = crate::domain::outbox::OneOff {
                to,
                template,
                vars: vars.into_iter().collect(),
                subject,
                body,
                idempotency_key,
            };
            let q = crate::service::campaign::oneoff::send(&session, &ctx.config.smtp, &input)?;
            if q.repeated {
                ctx.out.status(format!("Message {} was queued before under this key; nothing new is sent.", q.mail.id));
            } else {
                ctx.out.status(format!("Queued message {} to {}.", q.mail.id, q.mail.to));
                ctx.deliver_mail(&db);
            }
            return ctx.out.record(&q, &["id", "to", "subject", "status", "repeated"]);
        }
    };
    match cmd {
        OutboxCommand::List { status, limit } => {
            ctx.out.list(&mail::list(&session, status.as_deref(), limit)?, COLUMNS, "The outbox is empty.")
        }
        OutboxCommand::Retry { id } => {
            let m = mail::retry(&session, id)?;
            ctx.out.status(format!("Message {} is due now.", m.id));
            ctx.deliver_mail(&db);
            ctx.out.record(&m, COLUMNS)
        }
        OutboxCommand::Flush => {
            let r = mail::flush(&session, &ctx.config.smtp)?;
            ctx.out.status(format!("{} sent, {} deferred, {} given up.", r.sent, r.deferred, r.failed));
            ctx.out.record(&r, &["sent", "deferred", "failed", "errors"])?;
            match r.errors.first() {
                Some(e) => Err(crate::Error::external(format!("the SMTP server failed: {e}; the rest stays queued"))),
                None => Ok(()),
            }
        }
    }
}

fn inbound(ctx: &Ctx, session: &crate::service::Session, file: &str) -> Result<()> {
    use std::io::Read as _;
    // Returned messages carry the original at most; anything larger is not one of them.
    const LIMIT: u64 = 64 * 1024 * 1024;
    let mut raw = Vec::new();
    let read = if file == "-" {
        std::io::stdin().take(LIMIT + 1).read_to_end(&mut raw)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(LIMIT + 1).read_to_end(&mut raw))
    };
    read.map_err(|e| crate::Error::usage(format!("cannot read {file}: {e}")))?;
    if raw.len() as u64 > LIMIT {
        return Err(crate::Error::invalid("message", "larger than 64 MiB: not a bounce or complaint"));
    }
    let r = crate::service::campaign::inbound::record(session, &raw)?;
    let what = r.kind.replace('_', " ");
    let of = match (r.campaign_id, r.outbox_id) {
        (Some(c), _) => format!("campaign {c}"),
        (None, Some(o)) => format!("outbox message {o}"),
        (None, None) => "a message".to_string(),
    };
    ctx.out.status(if r.repeated {
        format!("This {what} of {of} was recorded before; nothing changed.")
    } else {
        let mut s = format!("Recorded a {what} of {of} for {}", r.recipient);
        if r.suppressed {
            s.push_str("; the address is suppressed");
        }
        if r.consent_withdrawn {
            s.push_str("; marketing consent withdrawn");
        }
        s + "."
    });
    ctx.out.record(
        &r,
        &[
            "kind",
            "campaign_id",
            "outbox_id",
            "recipient",
            "status",
            "detail",
            "repeated",
            "suppressed",
            "consent_withdrawn",
        ],
    )
}

fn suppression(ctx: &Ctx, session: &crate::service::Session, cmd: SuppressionCommand) -> Result<()> {
    use crate::service::campaign::suppression;
    match cmd {
        SuppressionCommand::List { reason, limit } => ctx.out.list(
            &suppression::list(session, reason.as_deref(), limit)?,
            SUPPRESSION_COLUMNS,
            "The suppression list is empty.",
        ),
        SuppressionCommand::Add { address, reason } => {
            let s = suppression::add(session, &address, &reason)?;
            ctx.out.status(format!("No campaign will reach {address} ({}).", s.reason));
            ctx.out.record(&s, SUPPRESSION_COLUMNS)
        }
        SuppressionCommand::Remove { address } => {
            suppression::remove(session, &address)?;
            ctx.out.status(format!("Campaigns may reach {address} again."));
            Ok(())
        }
    }
}
