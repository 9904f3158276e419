//! E-mail: composing messages (multipart text + HTML, our own Message-IDs, threading per
//! ticket) and delivering the outbox over SMTP with lettre. Nothing is sent directly: every
//! message is an outbox row first (see `service::mail`).

use std::time::Duration;

use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{Message, SmtpTransport, Transport};

use crate::{Error, Result};

pub mod dkim;
mod plain;
#[cfg(test)]
pub(crate) use plain::read_data_block;

pub use dkim::{DkimSettings, Signer};

/// Where and as whom to send.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// lettre's URL form: `smtp://user:pass@host:port`, `smtps://…`, `?tls=required`.
    pub url: Option<String>,
    /// The From address, e.g. `Support <support@example.com>`.
    pub from: String,
    pub timeout: Duration,
    /// `[dkim]`: sign every message (campaigns, the outbox) when set.
    pub dkim: Option<DkimSettings>,
}

impl SmtpSettings {
    /// The DKIM signer of `[dkim]`, loaded (None when not configured).
    pub fn signer(&self) -> Result<Option<std::sync::Arc<Signer>>> {
        self.dkim.as_ref().map(|d| Signer::load(d).map(std::sync::Arc::new)).transpose()
    }

    /// The domain of our Message-IDs: the From address's.
    pub fn domain(&self) -> String {
        self.from
            .rsplit('@')
            .next()
            .map(|d| d.trim_end_matches('>').trim().to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "localhost".into())
    }
}

/// A fresh Message-ID of our own domain.
pub fn new_message_id(domain: &str) -> Result<String> {
    Ok(format!("<rolo.{}@{domain}>", crate::secrets::random_hex(12)?))
}

/// The thread every message about a ticket refers to.
pub fn ticket_thread_id(ticket: i64, domain: &str) -> String {
    format!("<ticket-{ticket}@{domain}>")
}

/// Escapes text for HTML and keeps its line breaks.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>\n"),
            c => out.push(c),
        }
    }
    out
}

/// One message ready for the wire.
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub references: Option<&'a str>,
    /// The envelope sender (a VERP address, so that a bounce names the message); the From
    /// address when None.
    pub return_path: Option<&'a str>,
    /// Files sent with it.
    pub attachments: &'a [FilePart],
}

/// A file attached to a message.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub filename: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// The transport of the configured server, with up to `connections` pooled connections.
fn transport(settings: &SmtpSettings, connections: u32) -> Result<SmtpTransport> {
    use lettre::transport::smtp::PoolConfig;
    let url = settings
        .url
        .as_deref()
        .ok_or_else(|| Error::external("no SMTP server is configured (ROLO_SMTP_URL or [smtp] url)"))?;
    Ok(SmtpTransport::from_url(url)
        .map_err(|e| Error::new(crate::ErrorKind::Usage, format!("the SMTP URL is not valid: {e}")))?
        .timeout(Some(settings.timeout))
        .pool_config(PoolConfig::new().max_size(connections.max(1)))
        .build())
}

/// The connection of the outbox: one pooled connection to the configured server.
pub struct Smtp {
    pool: SmtpPool,
    from: Mailbox,
}

impl Smtp {
    pub fn connect(settings: &SmtpSettings) -> Result<Smtp> {
        let from = settings.from.parse::<Mailbox>().map_err(|e| {
            Error::new(crate::ErrorKind::Usage, format!("the From address `{}` is not valid: {e}", settings.from))
        })?;
        Ok(Smtp { pool: SmtpPool::connect(settings, 1)?, from })
    }

    /// Sends one message; the error says whether to try again (see [`SendError`]).
    pub fn send(&self, m: &Outgoing) -> std::result::Result<(), SendError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| SendError::Invalid(format!("{what}: {e}"));
        let to = m.to.parse::<Mailbox>().map_err(|e| bad(&format!("bad recipient {}", m.to), &e))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(m.subject)
            .message_id(Some(m.message_id.to_string()));
        if let Some(r) = m.in_reply_to {
            builder = builder.in_reply_to(r.to_string());
        }
        if let Some(r) = m.references {
            builder = builder.references(r.to_string());
        }
        let body = MultiPart::alternative_plain_html(m.text.to_string(), m.html.to_string());
        let body = if m.attachments.is_empty() {
            body
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for f in m.attachments {
                let ct = f.mime.parse().map_err(|e| bad(&format!("bad type {} of {}", f.mime, f.filename), &e))?;
                mixed = mixed.singlepart(Attachment::new(f.filename.clone()).body(f.bytes.clone(), ct));
            }
            mixed
        };
        let message = builder.multipart(body).map_err(|e| bad("cannot build the message", &e))?;
        let sender = self.from.email.to_string();
        let return_path = m.return_path.unwrap_or(&sender);
        self.pool.deliver(&message, self.from.email.domain(), return_path, to.email)
    }
}

/// A formatted message with its DKIM signature in front.
fn sign(signer: &Signer, from_domain: &str, formatted: &[u8]) -> Result<Vec<u8>> {
    signer.sign(formatted, from_domain, chrono::Utc::now().timestamp())
}

/// A file shown inside the HTML (`cid:`), sent with the message.
pub struct InlinePart {
    pub cid: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// A campaign message: multipart text + HTML (with inline media), list headers, and its own
/// return path (VERP) so that a bounce names its recipient.
pub struct CampaignMail<'a> {
    pub from: &'a str,
    pub reply_to: Option<&'a str>,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub message_id: &'a str,
    /// Extra headers: List-Unsubscribe, List-Unsubscribe-Post, List-Id…
    pub headers: &'a [(&'static str, String)],
    pub inline: &'a [&'a InlinePart],
    /// The envelope sender: `bounce+TOKEN@domain`.
    pub return_path: &'a str,
}

/// Why a message was not accepted.
#[derive(Debug, Clone)]
pub enum SendError {
    /// 5xx: the server will never take it. `user_unknown` for 550/5.1.1-style refusals.
    Permanent { message: String, user_unknown: bool },
    /// 4xx: try again later.
    Transient(String),
    /// The server could not be reached or the connection broke: nothing was decided.
    Connection(String),
    /// The message itself is malformed (a bad address).
    Invalid(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Permanent { message, .. } | SendError::Transient(message) => f.write_str(message),
            SendError::Connection(m) => write!(f, "the SMTP server could not be reached: {m}"),
            SendError::Invalid(m) => f.write_str(m),
        }
    }
}

/// The domain of an address (`Name <a@b.example>` → `b.example`).
pub fn domain_of(address: &str) -> String {
    address.rsplit('@').next().map(|d| d.trim_end_matches('>').trim().to_lowercase()).unwrap_or_default()
}

/// A From/Reply-To address: `addr@example.com` or `Name <addr@example.com>`.
pub fn check_mailbox(field: &str, value: &str) -> Result<String> {
    value.trim().parse::<Mailbox>().map(|m| m.to_string()).map_err(|e| {
        Error::invalid(field, format!("`{}` is not an address like \"Name <a@example.com>\": {e}", value.trim()))
    })
}

/// A pool of SMTP connections shared by several sending threads: the plain client for a
/// plain relay URL (see `plain`), lettre for TLS and authenticated servers.
#[derive(Clone)]
pub struct SmtpPool {
    transport: SmtpTransport,
    plain: Option<std::sync::Arc<plain::PlainPool>>,
    signer: Option<std::sync::Arc<Signer>>,
}

impl SmtpPool {
    pub fn connect(settings: &SmtpSettings, connections: u32) -> Result<SmtpPool> {
        let transport = transport(settings, connections)?;
        let plain = settings
            .url
            .as_deref()
            .and_then(plain::Target::of_url)
            .map(|target| std::sync::Arc::new(plain::PlainPool::new(target, &settings.domain(), settings.timeout)));
        Ok(SmtpPool { transport, plain, signer: settings.signer()? })
    }

    /// Sends one campaign message with its own envelope.
    pub fn send(&self, m: &CampaignMail) -> std::result::Result<(), SendError> {
        use lettre::message::SinglePart;
        use lettre::message::header::{HeaderName, HeaderValue};
        let bad = |what: &str, e: &dyn std::fmt::Display| SendError::Invalid(format!("{what}: {e}"));
        let from: Mailbox = m.from.parse().map_err(|e| bad("bad sender", &e))?;
        let to: Mailbox = m.to.parse().map_err(|e| bad("bad recipient", &e))?;
        let mut b =
            Message::builder().from(from).to(to.clone()).subject(m.subject).message_id(Some(m.message_id.to_string()));
        if let Some(r) = m.reply_to {
            b = b.reply_to(r.parse().map_err(|e| bad("bad reply-to", &e))?);
        }
        for (name, value) in m.headers {
            let name = HeaderName::new_from_ascii(name.to_string()).map_err(|e| bad("bad header", &e))?;
            b = b.raw_header(HeaderValue::new(name, value.clone()));
        }
        let text = MultiPart::alternative().singlepart(SinglePart::plain(m.text.to_string()));
        let body = if m.inline.is_empty() {
            text.singlepart(SinglePart::html(m.html.to_string()))
        } else {
            let mut related = MultiPart::related().singlepart(SinglePart::html(m.html.to_string()));
            for part in m.inline {
                let ct = part.mime.parse().map_err(|e| bad("bad media type", &e))?;
                related = related.singlepart(Attachment::new_inline(part.cid.clone()).body(part.bytes.clone(), ct));
            }
            text.multipart(related)
        };
        let message = b.multipart(body).map_err(|e| bad("cannot build the message", &e))?;
        self.deliver(&message, &domain_of(m.from), m.return_path, to.email)
    }

    /// Signs (when DKIM is configured) and sends a built message from the envelope sender
    /// `return_path` to `to`.
    fn deliver(
        &self,
        message: &Message,
        from_domain: &str,
        return_path: &str,
        to: lettre::Address,
    ) -> std::result::Result<(), SendError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| SendError::Invalid(format!("{what}: {e}"));
        let mut raw = message.formatted();
        if let Some(signer) = &self.signer {
            raw = sign(signer, from_domain, &raw).map_err(|e| SendError::Invalid(e.message().to_string()))?;
        }
        if let Some(plain) = &self.plain {
            return plain.send(return_path, to.as_ref(), &raw);
        }
        let envelope = lettre::address::Envelope::new(
            Some(return_path.parse().map_err(|e| bad("bad return path", &e))?),
            vec![to],
        )
        .map_err(|e| bad("bad envelope", &e))?;
        self.transport.send_raw(&envelope, &raw).map(|_| ()).map_err(classify)
    }
}

fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let text = e.to_string();
    if e.is_permanent() {
        let lower = text.to_lowercase();
        let user_unknown = e.status().is_some_and(|c| {
            c.to_string().starts_with("550") || c.to_string().starts_with("551") || c.to_string().starts_with("553")
        }) && (lower.contains("5.1.1")
            || lower.contains("unknown")
            || lower.contains("no such")
            || lower.contains("does not exist"));
        SendError::Permanent { message: text, user_unknown }
    } else if e.is_transient() {
        SendError::Transient(text)
    } else if e.is_client() {
        // Refused before a word was said, e.g. an address beyond ASCII for a server without
        // SMTPUTF8: this message, not the server, is the problem.
        SendError::Invalid(text)
    } else {
        SendError::Connection(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_escaping() {
        let s = SmtpSettings {
            url: None,
            from: "Support <support@epic.example>".into(),
            timeout: Duration::from_secs(1),
            dkim: None,
        };
        assert_eq!(s.domain(), "epic.example");
        let id = new_message_id(&s.domain()).expect("id");
        assert!(id.starts_with("<rolo.") && id.ends_with("@epic.example>"), "{id}");
        assert_eq!(ticket_thread_id(42, "epic.example"), "<ticket-42@epic.example>");
        assert_eq!(html_escape("<b>\"x\" & 'y'</b>\nz"), "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;<br>\nz");
    }
}
