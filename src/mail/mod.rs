//! E-mail: composing messages (multipart text + HTML, our own Message-IDs, threading per
//! ticket) and delivering the outbox over SMTP with lettre. Nothing is sent directly: every
//! message is an outbox row first (see `service::mail`).

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{Message, SmtpTransport, Transport};

use crate::secrets::hex;
use crate::{Error, Result};

/// Where and as whom to send.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// lettre's URL form: `smtp://user:pass@host:port`, `smtps://…`, `?tls=required`.
    pub url: Option<String>,
    /// The From address, e.g. `Support <support@example.com>`.
    pub from: String,
    pub timeout: Duration,
}

impl SmtpSettings {
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
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(format!("<rolo.{}@{domain}>", hex(&bytes)))
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
}

/// An SMTP connection (opened lazily by lettre on the first send).
pub struct Smtp {
    transport: SmtpTransport,
    from: Mailbox,
}

impl Smtp {
    pub fn connect(settings: &SmtpSettings) -> Result<Smtp> {
        let url = settings
            .url
            .as_deref()
            .ok_or_else(|| Error::external("no SMTP server is configured (ROLO_SMTP_URL or [smtp] url)"))?;
        let transport = SmtpTransport::from_url(url)
            .map_err(|e| Error::new(crate::ErrorKind::Usage, format!("the SMTP URL is not valid: {e}")))?
            .timeout(Some(settings.timeout))
            .build();
        let from = settings.from.parse::<Mailbox>().map_err(|e| {
            Error::new(crate::ErrorKind::Usage, format!("the From address `{}` is not valid: {e}", settings.from))
        })?;
        Ok(Smtp { transport, from })
    }

    /// Sends one message; the error text is kept in the outbox.
    pub fn send(&self, m: &Outgoing) -> std::result::Result<(), String> {
        let to = m.to.parse::<Mailbox>().map_err(|e| format!("bad recipient {}: {e}", m.to))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject)
            .message_id(Some(m.message_id.to_string()));
        if let Some(r) = m.in_reply_to {
            builder = builder.in_reply_to(r.to_string());
        }
        if let Some(r) = m.references {
            builder = builder.references(r.to_string());
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(m.text.to_string(), m.html.to_string()))
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport.send(&message).map(|_| ()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_escaping() {
        let s =
            SmtpSettings { url: None, from: "Support <support@epic.example>".into(), timeout: Duration::from_secs(1) };
        assert_eq!(s.domain(), "epic.example");
        let id = new_message_id(&s.domain()).expect("id");
        assert!(id.starts_with("<rolo.") && id.ends_with("@epic.example>"), "{id}");
        assert_eq!(ticket_thread_id(42, "epic.example"), "<ticket-42@epic.example>");
        assert_eq!(html_escape("<b>\"x\" & 'y'</b>\nz"), "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;<br>\nz");
    }
}
