//! The e-mails a ticket change queues, in the transaction of the change.

use super::*;
use crate::Result;
use crate::db::{self, Read, Tx};
use crate::mail::html_escape;
use crate::service::mail::{self, Draft};
use crate::service::project;
use chrono::Utc;
use std::collections::HashSet;

/// E-mails of the people who act on a ticket: its assignee, or else the support team.
pub(super) fn team_emails(r: &impl Read, t: &Ticket) -> Result<Vec<String>> {
    if let Some(id) = t.assignee_id
        && let Some(u) = db::user::get(r, id)?.filter(|u| u.active)
    {
        return Ok(vec![u.email]);
    }
    let team = db::user::list(r, &db::user::Filter { role: Some("support"), ..Default::default() })?;
    Ok(team.into_iter().map(|u| u.email).collect())
}

/// What happened, for an e-mail.
pub(super) struct Notice<'a> {
    pub(super) kind: &'static str,
    pub(super) headline: &'a str,
    pub(super) body: &'a str,
}

/// Queues one e-mail per recipient (never to the person who acted).
pub(super) fn notify(
    tx: &Tx,
    settings: &Settings,
    t: &Ticket,
    to: Vec<String>,
    actor_email: &str,
    n: Notice,
) -> Result<usize> {
    let Notice { kind, headline, body } = n;
    let now = Utc::now();
    let about = format!("Ticket #{} \"{}\" ({}), status: {}.", t.id, t.subject, t.project, t.status);
    let html = format!(
        "<p><strong>{}</strong></p>\n<blockquote>{}</blockquote>\n<p>Ticket #{} &ldquo;{}&rdquo; ({}), status: {}.</p>",
        html_escape(headline),
        html_escape(body),
        t.id,
        html_escape(&t.subject),
        html_escape(&t.project),
        html_escape(&t.status)
    );
    // Clients follow the ticket in the portal when the server is reachable; staff answer
    // from the terminal.
    let portal = settings.public_url.map(|base| format!("{base}/portal/tickets/{}", t.id));
    let clients: HashSet<String> = match portal {
        Some(_) => project::client_emails(tx, t.project_id)?.into_iter().map(|e| e.to_lowercase()).collect(),
        None => HashSet::new(),
    };
    let mut n = 0;
    let mut seen = HashSet::new();
    for addr in to.into_iter().filter(|a| !a.eq_ignore_ascii_case(actor_email)) {
        if !seen.insert(addr.to_lowercase()) {
            continue;
        }
        let (text, html) = match &portal {
            Some(url) if clients.contains(&addr.to_lowercase()) => (
                format!("{headline}\n\n{body}\n\n{about}\n-- \nRead and answer it in your client space: {url}\n"),
                format!("{html}\n<p><a href=\"{}\">Read and answer it in your client space</a></p>", html_escape(url)),
            ),
            _ => (
                format!("{headline}\n\n{body}\n\n{about}\n-- \nReply with: rolo ticket reply {} --body …\n", t.id),
                html.clone(),
            ),
        };
        mail::enqueue(
            tx,
            settings.smtp,
            &Draft {
                to: addr,
                subject: format!("[{} #{}] {}", t.project, t.id, t.subject),
                text,
                html,
                ticket_id: Some(t.id),
                kind,
            },
            now,
        )?;
        n += 1;
    }
    Ok(n)
}
