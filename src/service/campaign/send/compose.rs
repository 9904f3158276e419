//! One recipient's message: rendered, its links and pixel signed, its headers (List-Unsubscribe,
//! List-Id, VERP return path) set.

use std::sync::PoisonError;

use chrono::Utc;

use super::Run;
use crate::db::{self, Db};
use crate::domain::campaign::{Campaign, SendRow};
use crate::domain::links;
use crate::domain::template::{self, Parts};
use crate::domain::token::{self, Purpose};
use crate::mail::{CampaignMail, InlinePart};
use crate::service::authz::system_key;
use crate::service::campaign::template::client_context;
use crate::service::campaign::tracking;
use crate::{Error, Result};

/// A message ready to go; its inline media are the run's, shared by every recipient.
pub(super) struct Composed<'r> {
    pub(super) subject: String,
    pub(super) html: String,
    pub(super) text: String,
    pub(super) message_id: String,
    pub(super) return_path: String,
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) inline: Vec<&'r InlinePart>,
}

impl Composed<'_> {
    /// The message as sent from campaign `c` to `to`, under `subject`.
    pub(super) fn mail<'m>(&'m self, c: &'m Campaign, to: &'m str, subject: &'m str) -> CampaignMail<'m> {
        CampaignMail {
            from: &c.from,
            reply_to: c.reply_to.as_deref(),
            to,
            subject,
            text: &self.text,
            html: &self.html,
            message_id: &self.message_id,
            headers: &self.headers,
            inline: &self.inline,
            return_path: &self.return_path,
        }
    }
}

pub(super) fn compose<'r>(run: &'r Run, db: &Db, row: &SendRow) -> Result<Composed<'r>> {
    let client = match row.client_id {
        Some(id) => db::client::get(db, id)?,
        None => None,
    }
    .ok_or_else(|| Error::invalid("recipient", "the client was deleted after the audience was frozen"))?;
    compose_with(run, db, client_context(db, &client, &run.vars)?, row.id)
}

/// A message for one recipient's context; `row` names its send-log row in the tokens (0 for
/// a test message outside the log).
pub(super) fn compose_with<'r>(run: &'r Run, db: &Db, mut ctx: template::Context, row: i64) -> Result<Composed<'r>> {
    let c = run.campaign;
    let unsubscribe = token::sign(&run.secret, Purpose::Unsubscribe, row);
    let mailto = format!("mailto:unsubscribe+{unsubscribe}@{}?subject=unsubscribe", run.domain);
    let public = &run.public;
    ctx.unsubscribe_url = match public {
        Some(p) => format!("{p}/u/{unsubscribe}"),
        None => mailto.clone(),
    };
    ctx.view_online_url = public.as_ref().map(|p| format!("{p}/v/{unsubscribe}")).unwrap_or_default();
    ctx.preferences_url = ctx.unsubscribe_url.clone();
    ctx.campaign.insert("id".into(), c.id.into());
    ctx.campaign.insert("name".into(), c.name.clone().into());
    let v = run.version;
    let rendered = template::render(
        &run.library,
        &Parts { name: &v.name, subject: &v.subject, text: v.text.as_deref() },
        &run.vars,
        &ctx,
        run.media.clone(),
    )?;
    let mut headers = vec![(
        "List-Unsubscribe",
        match public {
            Some(p) => format!("<{mailto}>, <{p}/u/{unsubscribe}>"),
            None => format!("<{mailto}>"),
        },
    )];
    if public.is_some() {
        headers.push(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".to_string()));
    }
    // A phrase only when it stays plain ASCII: an encoded word may not sit in a quoted string.
    let list_id = format!("<campaign-{}.{}>", c.id, run.domain);
    let printable = c.name.chars().all(|ch| ch.is_ascii_graphic() || ch == ' ') && !c.name.contains(['"', '\\']);
    headers.push(("List-Id", if printable { format!("\"{}\" {list_id}", c.name) } else { list_id }));
    headers.push(("Precedence", "bulk".to_string()));
    let inline = rendered.media.iter().filter_map(|n| run.inline.get(&n.to_lowercase())).collect();
    let mut rand = [0u8; 8];
    getrandom::fill(&mut rand).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    let mut html = rendered.html;
    if let (Some(p), Some(t)) =
        (public, crate::service::campaign::tracking::open_token(&run.secret, &c.tracking, c.id, row))
    {
        html = with_pixel(&html, &format!("{p}/o/{t}"));
    }
    if let Some(p) = public.as_deref().filter(|_| row > 0) {
        html = track_links(run, db, &html, p, row)?;
    }
    Ok(Composed {
        subject: rendered.subject,
        html,
        text: rendered.text,
        message_id: format!("<c{}.r{}.{}@{}>", c.id, row, crate::secrets::hex(&rand), run.domain),
        return_path: format!("bounce+{}@{}", token::sign(&run.secret, Purpose::Bounce, row), run.domain),
        headers,
        inline,
    })
}

/// The HTML with the open-tracking pixel at the end of its body.
fn with_pixel(html: &str, url: &str) -> String {
    let pixel = format!(
        "<img src=\"{url}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;width:1px;height:1px;border:0\">"
    );
    match html.to_ascii_lowercase().rfind("</body>") {
        Some(i) => format!("{}{pixel}{}", &html[..i], &html[i..]),
        None => format!("{html}{pixel}"),
    }
}

/// The message's web links through `/c/TOKEN` (tracking `full` or `anonymous`), so a click is
/// counted and redirected to the link as sent. Links to this server's own landing pages and
/// short links carry the recipient's autologin token when the campaign allows it (through the
/// redirect when clicks are tracked). Unsubscribe, view-online and media links stay as they are.
fn track_links(run: &Run, db: &Db, html: &str, public: &str, row: i64) -> Result<String> {
    let c = run.campaign;
    let clicker = match c.tracking.as_str() {
        "full" => Some(row),
        "anonymous" => Some(0),
        _ => None,
    };
    let mut failure = None;
    let html = links::rewrite(html, |url| {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return None;
        }
        let own = url.strip_prefix(public).filter(|rest| rest.starts_with('/'));
        if own.is_some_and(|rest| !tracking::leads_to_page(rest)) {
            return None;
        }
        match clicker {
            Some(who) => match link_id(run, db, url) {
                Ok(link) => Some(format!("{public}/c/{}", token::sign_pair(&run.secret, Purpose::Click, who, link))),
                Err(e) => {
                    failure.get_or_insert(e);
                    None
                }
            },
            None if own.is_some() && c.autologin => {
                Some(links::with_param(url, "r", &token::sign(&run.secret, Purpose::Autologin, row)))
            }
            None => None,
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(html),
    }
}

/// The id of a link of the campaign, registered the first time any worker meets it.
fn link_id(run: &Run, db: &Db, url: &str) -> Result<i64> {
    if let Some(id) = run.links.lock().unwrap_or_else(PoisonError::into_inner).get(url) {
        return Ok(*id);
    }
    let id = db.write(&system_key(), |tx| db::links::campaign_link(tx, run.campaign.id, url, Utc::now()))?;
    run.links.lock().unwrap_or_else(PoisonError::into_inner).insert(url.to_string(), id);
    Ok(id)
}
