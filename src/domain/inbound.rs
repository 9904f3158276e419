//! What comes back: delivery status notifications (RFC 3464), complaints in the Abuse
//! Reporting Format (RFC 5965) and mails to the `mailto:` unsubscribe address, read from the raw
//! message an MTA hands over. Pure parsing: which recipient it names and what happened; the
//! service decides what to do about it.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What a returned message says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A permanent failure (`Action: failed`, `Status: 5.x.x`).
    HardBounce,
    /// A temporary one (`Status: 4.x.x`, or `Action: delayed`).
    SoftBounce,
    /// A feedback report: the recipient marked the message as spam.
    Complaint,
    /// A mail to `unsubscribe+TOKEN@…`.
    Unsubscribe,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::HardBounce => "hard_bounce",
            Kind::SoftBounce => "soft_bounce",
            Kind::Complaint => "complaint",
            Kind::Unsubscribe => "unsubscribe",
        }
    }
}

/// A returned message, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub kind: Kind,
    /// `Status:` (e.g. `5.1.1`) of a DSN.
    pub status: Option<String>,
    /// `Diagnostic-Code:` of a DSN, or `Feedback-Type:` of a complaint.
    pub detail: Option<String>,
    /// `Final-Recipient:` / `Original-Rcpt-To:`: the address that failed or complained.
    pub recipient: Option<String>,
    /// Tokens of our return paths (`bounce+TOKEN@`) found anywhere in the message.
    pub bounce_tokens: Vec<String>,
    /// Tokens of our unsubscribe addresses in the message's own recipient headers.
    pub unsubscribe_tokens: Vec<String>,
    /// The Message-ID of the returned original message, when it came back.
    pub original_message_id: Option<String>,
    /// This message's own Message-ID (to recognise it when it is fed twice).
    pub message_id: Option<String>,
}

/// A bounce or complaint about an outbox message (its API status shows them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageEvent {
    /// hard_bounce, soft_bounce or complaint
    pub kind: String,
    /// The DSN status (`5.1.1`).
    pub status: Option<String>,
    pub detail: Option<String>,
    pub at: String,
}

/// What `rolo mail inbound` did with a returned message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboundReport {
    /// hard_bounce, soft_bounce, complaint or unsubscribe
    pub kind: String,
    /// The campaign of the message (None for outbox mail: notifications, one-off, API).
    pub campaign_id: Option<i64>,
    /// The outbox message it is about (None for campaign mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox_id: Option<i64>,
    /// The address the message was sent to.
    pub recipient: String,
    pub status: Option<String>,
    pub detail: Option<String>,
    /// This message had been recorded before: nothing changed.
    pub repeated: bool,
    /// The address joined the suppression list now.
    pub suppressed: bool,
    /// The client's marketing consent was withdrawn now.
    pub consent_withdrawn: bool,
}

/// One MIME entity: unfolded headers and the raw body.
struct Entity<'a> {
    headers: Vec<(String, String)>,
    body: &'a str,
}

impl Entity<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// (type/subtype lower-cased, parameters with lower-cased names).
    fn content_type(&self) -> (String, Vec<(String, String)>) {
        let raw = self.header("Content-Type").unwrap_or("text/plain");
        let mut parts = split_params(raw).into_iter();
        let kind = parts.next().unwrap_or_default().trim().to_lowercase();
        let params = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                Some((k.trim().to_lowercase(), v.trim().trim_matches('"').to_string()))
            })
            .collect();
        (kind, params)
    }

    /// The body with its transfer encoding undone (base64, quoted-printable), as text.
    fn decoded(&self) -> String {
        match self.header("Content-Transfer-Encoding").map(|e| e.trim().to_lowercase()).as_deref() {
            Some("base64") => {
                use base64::Engine;
                let compact: String = self.body.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            }
            Some("quoted-printable") => quoted_printable(self.body),
            _ => self.body.to_string(),
        }
    }
}

/// `a; b="x;y"; c=d` split on the semicolons outside quotes.
fn split_params(raw: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in raw.chars() {
        if c == ';' && !quoted {
            out.push(String::new());
            continue;
        }
        if c == '"' {
            quoted = !quoted;
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(b) = joined.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Headers (unfolded, in order) and body of a message or part; None when there is no header.
fn entity(text: &str) -> Option<Entity<'_>> {
    let (head, body) = match (text.find("\r\n\r\n"), text.find("\n\n")) {
        (Some(a), Some(b)) if b < a => (&text[..b], &text[b + 2..]),
        (Some(a), _) => (&text[..a], &text[a + 4..]),
        (None, Some(b)) => (&text[..b], &text[b + 2..]),
        (None, None) => (text, ""),
    };
    let headers = fields(head);
    (!headers.is_empty()).then_some(Entity { headers, body })
}

/// `Name: value` fields with continuation lines joined.
fn fields(block: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':')
            && !k.is_empty()
            && !k.contains(' ')
        {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// The parts of a multipart body, by its boundary.
fn parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let mut out = Vec::new();
    let mut current: Option<usize> = None;
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == delimiter || trimmed == format!("{delimiter}--") {
            if let Some(start) = current {
                out.push(&body[start..offset]);
            }
            current = (trimmed == delimiter).then_some(offset + line.len());
            if trimmed != delimiter {
                break;
            }
        }
        offset += line.len();
    }
    out
}

/// Every entity of a message, depth first (parts of multiparts; a returned message is not
/// opened further: its own parts are the original mail, not the report).
fn walk<'a>(e: Entity<'a>, out: &mut Vec<Entity<'a>>, depth: usize) {
    let (kind, params) = e.content_type();
    let boundary = params.iter().find(|(k, _)| k == "boundary").map(|(_, v)| v.clone());
    if depth < 8
        && kind.starts_with("multipart/")
        && let Some(b) = boundary
    {
        let body = e.body;
        out.push(e);
        for part in parts(body, &b) {
            if let Some(child) = entity(part).or(Some(Entity { headers: Vec::new(), body: part })) {
                walk(child, out, depth + 1);
            }
        }
    } else {
        out.push(e);
    }
}

/// An address out of `rfc822; a@b.example` or `<a@b.example>`.
fn address(value: &str) -> String {
    let v = value.split_once(';').map_or(value, |(_, a)| a);
    v.trim().trim_start_matches('<').trim_end_matches('>').trim().to_lowercase()
}

/// Tokens after `prefix` (`bounce+`) up to `@`, wherever they appear in `text`.
fn tokens(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(prefix) {
        let start = from + i + prefix.len();
        let token: String = text[start..].chars().take_while(|c| c.is_ascii_hexdigit() || *c == '.').collect();
        if text[start + token.len()..].starts_with('@') && !token.is_empty() && !out.contains(&token) {
            out.push(token);
        }
        from = start;
    }
    out
}

fn message_id(value: &str) -> String {
    value.trim().trim_start_matches('<').trim_end_matches('>').trim().to_string()
}

/// Reads a returned message. A DSN with several recipients reports the first failed one (a
/// campaign message has one recipient). Not a report we understand: an `Invalid` error.
pub fn parse(raw: &[u8]) -> Result<Inbound> {
    let text = String::from_utf8_lossy(raw);
    // An MTA pipe may hand over an mbox `From ` line first.
    let text = match text.strip_prefix("From ") {
        Some(rest) => rest.split_once('\n').map_or("", |(_, r)| r).to_string(),
        None => text.into_owned(),
    };
    let top = entity(&text).ok_or_else(|| Error::invalid("message", "this is not an e-mail message (no headers)"))?;
    let own_id = top.header("Message-ID").map(message_id);
    let failed_recipients = top.header("X-Failed-Recipients").map(address);
    let recipients_of_top: String = ["To", "Delivered-To", "X-Original-To", "Envelope-To", "Cc"]
        .iter()
        .filter_map(|h| top.header(h))
        .collect::<Vec<_>>()
        .join(" ");
    let mut all = Vec::new();
    walk(top, &mut all, 0);
    let mut found = Inbound {
        kind: Kind::SoftBounce,
        status: None,
        detail: None,
        recipient: None,
        bounce_tokens: tokens(&text, "bounce+"),
        unsubscribe_tokens: Vec::new(),
        original_message_id: None,
        message_id: own_id,
    };
    let mut report = None;
    for e in &all {
        let (kind, _) = e.content_type();
        match kind.as_str() {
            "message/delivery-status" | "message/global-delivery-status" if report.is_none() => {
                report = Some(delivery_status(&e.decoded(), &mut found)?);
            }
            "message/feedback-report" if report.is_none() => {
                let f = fields(&e.decoded().replace("\r\n\r\n", "\n").replace("\n\n", "\n"));
                let get = |n: &str| f.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.clone());
                found.detail = get("Feedback-Type");
                found.recipient = get("Original-Rcpt-To").map(|a| address(&a));
                report = Some(Kind::Complaint);
            }
            "message/rfc822" | "text/rfc822-headers" | "message/global" | "message/global-headers"
                if found.original_message_id.is_none() =>
            {
                let decoded = e.decoded();
                if let Some(original) = entity(decoded.trim_start()) {
                    found.original_message_id = original.header("Message-ID").map(message_id);
                    if found.recipient.is_none() {
                        found.recipient = original.header("To").map(address);
                    }
                }
            }
            _ => {}
        }
    }
    match report {
        Some(kind) => found.kind = kind,
        // Exim's own bounce (and qmail-like ones): no RFC 3464 part, but the failed addresses in
        // `X-Failed-Recipients` and the remote server's answer in the text.
        None if failed_recipients.is_some() => {
            found.recipient = failed_recipients;
            let reply = smtp_reply(&text);
            found.kind = match &reply {
                Some((code, _)) if code.starts_with('4') => Kind::SoftBounce,
                _ => Kind::HardBounce,
            };
            found.status = reply
                .as_ref()
                .map(|(code, enhanced)| enhanced.clone().unwrap_or_else(|| format!("{}.0.0", &code[..1])));
            found.detail = reply.map(|(code, _)| format!("SMTP {code}"));
        }
        None => {
            found.unsubscribe_tokens = tokens(&recipients_of_top, "unsubscribe+");
            if found.unsubscribe_tokens.is_empty() {
                return Err(Error::invalid(
                    "message",
                    "neither a delivery status notification (RFC 3464), a feedback report (RFC 5965) nor a mail to an unsubscribe address",
                ));
            }
            found.kind = Kind::Unsubscribe;
            found.bounce_tokens.clear();
        }
    }
    Ok(found)
}

/// The first SMTP reply a plain-text bounce quotes (`550 5.1.1 …`): its code and, when given,
/// its enhanced status.
fn smtp_reply(text: &str) -> Option<(String, Option<String>)> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let code = words.next()?.trim_end_matches('-');
        let ok =
            code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) && matches!(code.as_bytes()[0], b'4' | b'5');
        if !ok {
            return None;
        }
        let enhanced = words.next().filter(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
        Some((code.to_string(), enhanced.map(String::from)))
    })
}

/// The per-recipient fields of a DSN: the first recipient that failed, else the first that was
/// delayed. A DSN that only reports deliveries is not a bounce.
fn delivery_status(body: &str, found: &mut Inbound) -> Result<Kind> {
    let normal = body.replace("\r\n", "\n");
    let mut best: Option<(Kind, Vec<(String, String)>)> = None;
    for group in normal.split("\n\n").skip(1) {
        let f = fields(group);
        let get = |n: &str| f.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.to_lowercase());
        let action = get("Action").unwrap_or_default();
        let status = get("Status").unwrap_or_default();
        let kind = if action.starts_with("failed") && status.starts_with('5') {
            Kind::HardBounce
        } else if action.starts_with("failed") || action.starts_with("delayed") || status.starts_with('4') {
            Kind::SoftBounce
        } else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((Kind::SoftBounce, _)) => kind == Kind::HardBounce,
            Some(_) => false,
        };
        if better {
            best = Some((kind, f));
        }
    }
    let (kind, f) = best.ok_or_else(|| {
        Error::invalid("message", "this delivery status notification reports no failed or delayed recipient")
    })?;
    let get = |n: &str| f.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.clone());
    found.status = get("Status").map(|s| s.split_whitespace().next().unwrap_or("").to_string());
    found.detail = get("Diagnostic-Code").map(|d| d.chars().take(300).collect());
    found.recipient = get("Final-Recipient").or_else(|| get("Original-Recipient")).map(|a| address(&a));
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/bounces").join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Each real-world sample reads as Sisimai says it is (corpus README).
    #[test]
    fn the_corpus_reads_as_sisimai_says() {
        for (file, kind, status, recipient, original) in [
            (
                "postfix-userunknown-5.1.1.eml",
                Kind::HardBounce,
                Some("5.1.1"),
                "kijitora@example.co.jp",
                Some("A8F82EDD-E518-4F5C-8C70-BC4EFF24AB9F@example.ne.jp"),
            ),
            ("exchange2007-userunknown-5.1.1.eml", Kind::HardBounce, Some("5.1.1"), "mikeneko@example.co.jp", None),
            (
                "gmail-userunknown-5.1.1.eml",
                Kind::HardBounce,
                Some("5.1.1"),
                "libsisimai-2@googlegroups.com",
                Some("144493c0-8548-4b2b-987f-ae719df82545@Spark"),
            ),
            (
                "gmail-delayed-4.4.1.eml",
                Kind::SoftBounce,
                Some("4.4.1"),
                "sotoneko@nora.nyaan.jp",
                Some("CAByYQsFyrGN=Aa73R9b-3-tiR7uFpUan+9CAWRmKP4z_GriF5Q@mail.gmail.example.com"),
            ),
            (
                "arf-yahoo-abuse.eml",
                Kind::Complaint,
                None,
                "this-local-part-does-not-exist-on-yahoo@yahoo.com",
                Some("000000000000000000000000.smtp@example.com"),
            ),
        ] {
            let r = parse(&corpus(file)).unwrap_or_else(|e| panic!("{file}: {}", e.message()));
            assert_eq!(r.kind, kind, "{file}");
            assert_eq!(r.status.as_deref(), status, "{file}");
            assert_eq!(r.recipient.as_deref(), Some(recipient), "{file}");
            assert_eq!(r.original_message_id.as_deref(), original, "{file}");
        }
    }

    /// Exim, as it bounces by default: a DSN (Exim 4.x `multipart/report`) or, from older or
    /// differently configured ones, plain text with `X-Failed-Recipients`.
    #[test]
    fn exim_bounces_are_read_with_or_without_a_report() {
        let verp = "bounce+1f.0123456789abcdef0123456789abcdef@institut.example";
        let report = format!(
            "Return-path: <>\r\nReceived: from Debian-exim by mx1.example.net with local (Exim 4.96)\r\n\
             X-Failed-Recipients: marie.dupont@example.net\r\nAuto-Submitted: auto-replied\r\n\
             From: Mail Delivery System <Mailer-Daemon@mx1.example.net>\r\nTo: {verp}\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=1701443102-eximdsn-1804289383\r\n\
             MIME-Version: 1.0\r\nSubject: Mail delivery failed: returning message to sender\r\n\
             Message-Id: <E1r8yJW-0003bH-2N@mx1.example.net>\r\n\r\n--1701443102-eximdsn-1804289383\r\n\
             Content-type: text/plain; charset=us-ascii\r\n\r\nThis message was created automatically by mail delivery software.\r\n\r\n\
             A message that you sent could not be delivered to one or more of its\r\nrecipients. This is a permanent error. The following address(es) failed:\r\n\r\n\
             \x20 marie.dupont@example.net\r\n    host mx.example.net [192.0.2.25]\r\n    SMTP error from remote mail server after RCPT TO:<marie.dupont@example.net>:\r\n\
             \x20   550 5.1.1 <marie.dupont@example.net>: Recipient address rejected: User unknown\r\n\r\n\
             --1701443102-eximdsn-1804289383\r\nContent-type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx1.example.net\r\n\r\n\
             Action: failed\r\nFinal-Recipient: rfc822;marie.dupont@example.net\r\nStatus: 5.0.0\r\nRemote-MTA: dns; mx.example.net\r\n\
             Diagnostic-Code: smtp; 550 5.1.1 <marie.dupont@example.net>: Recipient address rejected: User unknown\r\n\r\n\
             --1701443102-eximdsn-1804289383\r\nContent-type: message/rfc822\r\n\r\nMessage-ID: <c3.r41.abcd@institut.example>\r\n\
             To: marie.dupont@example.net\r\nSubject: Invitation\r\n\r\nBonjour\r\n--1701443102-eximdsn-1804289383--\r\n"
        );
        let r = parse(report.as_bytes()).expect("an Exim DSN");
        assert_eq!((r.kind, r.status.as_deref()), (Kind::HardBounce, Some("5.0.0")));
        assert_eq!(r.recipient.as_deref(), Some("marie.dupont@example.net"));
        assert_eq!(r.original_message_id.as_deref(), Some("c3.r41.abcd@institut.example"));
        assert_eq!(r.bounce_tokens, ["1f.0123456789abcdef0123456789abcdef"]);
        // (reply quoted in the text, expected kind, expected status)
        for (reply, kind, status) in [
            ("550 5.1.1 <marie.dupont@example.net>: User unknown", Kind::HardBounce, "5.1.1"),
            ("452 4.2.2 Mailbox full", Kind::SoftBounce, "4.2.2"),
            ("550 Administrative prohibition", Kind::HardBounce, "5.0.0"),
        ] {
            let plain = format!(
                "From: Mail Delivery System <Mailer-Daemon@mx1.example.net>\nTo: {verp}\n\
                 X-Failed-Recipients: Marie.Dupont@example.net\nSubject: Mail delivery failed: returning message to sender\n\n\
                 This message was created automatically by mail delivery software.\n\n  marie.dupont@example.net\n\
                 \x20   SMTP error from remote mail server after RCPT TO:<marie.dupont@example.net>:\n    {reply}\n"
            );
            let r = parse(plain.as_bytes()).expect(reply);
            assert_eq!((r.kind, r.status.as_deref()), (kind, Some(status)), "{reply}");
            assert_eq!(r.recipient.as_deref(), Some("marie.dupont@example.net"), "{reply}");
        }
    }

    #[test]
    fn tokens_and_unsubscribe_mails_and_garbage() {
        let t = "To: <bounce+1f.0123456789abcdef0123456789abcdef@institut.example>\n";
        assert_eq!(tokens(t, "bounce+"), ["1f.0123456789abcdef0123456789abcdef"]);
        let mail = b"From: a@b.example\r\nTo: unsubscribe+2a.00112233445566778899aabbccddeeff@institut.example\r\nSubject: unsubscribe\r\n\r\n";
        let r = parse(mail).expect("an unsubscribe mail");
        assert_eq!((r.kind, r.unsubscribe_tokens.len()), (Kind::Unsubscribe, 1));
        for garbage in [
            &b""[..],
            b"\x00\x01\x02 not mail",
            b"From: a@b.example\r\nSubject: hello\r\n\r\nJust a letter.",
            b"Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\nAction: delivered\r\nStatus: 2.0.0\r\n--x--\r\n",
        ] {
            let e = parse(garbage).expect_err("garbage");
            assert_eq!(e.kind(), crate::ErrorKind::Invalid, "{}", e.message());
        }
    }
}
