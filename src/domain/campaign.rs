//! Campaigns: states, the audience definition, approval bound to a hash of the content, the
//! per-recipient send log and the suppression list.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::crm::closed_set;
use crate::secrets::hex;
use crate::{Error, Result};

closed_set! {
    /// Where a campaign stands. Editing anything that reaches recipients sends an approved
    /// campaign back to `draft`.
    CampaignStatus, "status" {
        Draft => "draft",
        PendingApproval => "pending_approval",
        Approved => "approved",
        Scheduled => "scheduled",
        Sending => "sending",
        Paused => "paused",
        Sent => "sent",
        Cancelled => "cancelled",
    }
}

closed_set! {
    /// What the tracking of a campaign records: per recipient, counts only, or nothing.
    Tracking, "tracking" {
        Full => "full",
        Anonymous => "anonymous",
        Off => "off",
    }
}

closed_set! {
    /// A recipient's row in the send log.
    SendStatus, "status" {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
        Deferred => "deferred",
        Unknown => "unknown",
    }
}

closed_set! {
    /// Why an address is on the suppression list.
    SuppressionReason, "reason" {
        Unsubscribed => "unsubscribed",
        HardBounce => "hard_bounce",
        Complaint => "complaint",
        Manual => "manual",
        Erased => "erased",
    }
}

/// One group or segment of an audience definition, by kind and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AudiencePart {
    pub exclude: bool,
    /// `group` or `segment`.
    pub kind: String,
    pub id: i64,
    pub name: String,
}

impl AudiencePart {
    pub fn label(&self) -> String {
        format!("{}{}:{}", if self.exclude { "-" } else { "" }, self.kind, self.name)
    }
}

/// `group:NAME` or `segment:NAME`, as typed.
pub fn parse_audience(input: &str) -> Result<(String, String)> {
    let (kind, name) = input.split_once(':').ok_or_else(|| {
        Error::invalid(
            "audience",
            format!("`{}` must be group:NAME or segment:NAME", crate::domain::validate::excerpt(input)),
        )
    })?;
    let kind = kind.trim().to_ascii_lowercase();
    if kind != "group" && kind != "segment" {
        return Err(Error::invalid("audience", format!("`{kind}` is not group or segment")));
    }
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("audience", "names no group or segment"));
    }
    Ok((kind, name.to_string()))
}

/// A campaign as read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub template: String,
    pub template_version: i64,
    pub from: String,
    pub reply_to: Option<String>,
    pub tracking: String,
    /// Whether its links recognise their recipient on a landing page (pre-filled forms).
    pub autologin: bool,
    /// Messages per second (0: as fast as the server takes them).
    pub rate: i64,
    pub status: String,
    pub author: String,
    pub author_id: i64,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub approval_hash: Option<String>,
    pub approval_comment: Option<String>,
    pub scheduled_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub audience: Vec<AudiencePart>,
    pub created_at: String,
    pub updated_at: String,
}

/// What a person gives to create or change a campaign; `None` keeps the current value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CampaignInput {
    pub name: Option<String>,
    /// `T` or `T@VERSION` (the latest version when not given).
    pub template: Option<String>,
    /// `group:G` or `segment:S`; replaces the list when not empty.
    #[serde(default)]
    pub audience: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub tracking: Option<String>,
    /// `on` or `off`: links recognise their recipient on a landing page.
    pub autologin: Option<String>,
    /// `N/s` or `N`.
    pub rate: Option<String>,
}

/// Who would receive a campaign now, and how many are left out, by reason.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AudienceReport {
    pub campaign_id: i64,
    pub eligible: usize,
    pub selected: usize,
    pub excluded: usize,
    pub no_consent: usize,
    pub suppressed: usize,
    pub invalid: usize,
    pub duplicate: usize,
    /// The first recipients, by name (all of them with `--limit`).
    pub recipients: Vec<Recipient>,
}

/// One recipient of a campaign.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Recipient {
    pub client_id: i64,
    pub name: String,
    pub email: String,
}

/// A row of the send log.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SendRow {
    pub id: i64,
    pub campaign_id: i64,
    pub client_id: Option<i64>,
    pub email: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub message_id: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}

/// The send log counted by status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub total: i64,
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub deferred: i64,
    pub unknown: i64,
    /// Messages that came back (`rolo mail inbound`), each counted once.
    #[serde(default)]
    pub hard_bounces: i64,
    #[serde(default)]
    pub soft_bounces: i64,
    #[serde(default)]
    pub complaints: i64,
    /// Unsubscribe mails (and, with `rolo serve`, one-click unsubscriptions).
    #[serde(default)]
    pub unsubscribes: i64,
    /// Recipients who opened (a person, not a mail proxy or scanner), each counted once; in
    /// the `anonymous` tracking mode, opens.
    #[serde(default)]
    pub opens: i64,
    /// Opens made by machines (mail proxies, scanners, within seconds of delivery).
    #[serde(default)]
    pub machine_opens: i64,
    /// Recipients who clicked a link (people; each once; in the `anonymous` mode, clicks).
    #[serde(default)]
    pub clicks: i64,
    /// Clicks made by link scanners and mail proxies.
    #[serde(default)]
    pub machine_clicks: i64,
    /// Percentages of the messages sent (one decimal): people who opened, hard bounces,
    /// complaints, unsubscriptions.
    #[serde(default)]
    pub open_rate: f64,
    #[serde(default)]
    pub click_rate: f64,
    #[serde(default)]
    pub bounce_rate: f64,
    #[serde(default)]
    pub complaint_rate: f64,
    #[serde(default)]
    pub unsubscribe_rate: f64,
}

impl Progress {
    /// Fills the rates from the counts (0 before anything was sent).
    pub fn with_rates(mut self) -> Progress {
        let rate = |n: i64| if self.sent > 0 { (n as f64 * 1000.0 / self.sent as f64).round() / 10.0 } else { 0.0 };
        self.open_rate = rate(self.opens);
        self.click_rate = rate(self.clicks);
        self.bounce_rate = rate(self.hard_bounces);
        self.complaint_rate = rate(self.complaints);
        self.unsubscribe_rate = rate(self.unsubscribes);
        self
    }
}

/// Clicks on one link of a campaign's messages.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LinkClicks {
    pub url: String,
    /// Clicks by people.
    pub clicks: i64,
    /// Recipients who clicked (each once; in the `anonymous` mode, clicks).
    pub unique: i64,
    /// Clicks by link scanners and mail proxies.
    pub machine: i64,
}

/// Opens and clicks by people in one hour (`2026-12-01T14`) or day (`2026-12-01`), UTC.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Bucket {
    pub period: String,
    pub opens: i64,
    pub clicks: i64,
}

/// `rolo campaign stats`: the counts and rates, clicks per link, and engagement over time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignStats {
    pub campaign_id: i64,
    #[serde(flatten)]
    pub progress: Progress,
    pub links: Vec<LinkClicks>,
    pub timeline: Vec<Bucket>,
}

/// A campaign with its audience counts, approval state and progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignDetail {
    #[serde(flatten)]
    pub campaign: Campaign,
    /// The hash of what reaches recipients now; approval is valid while it equals
    /// `approval_hash`.
    pub content_hash: String,
    pub approval_valid: bool,
    pub progress: Progress,
}

/// The DNS TXT record that publishes the `[dkim]` key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DkimRecord {
    /// `SELECTOR._domainkey.DOMAIN`
    pub name: String,
    pub kind: String,
    /// `v=DKIM1; k=rsa; p=…`
    pub value: String,
    pub algorithm: String,
}

/// What a send run did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SendReport {
    pub campaign_id: i64,
    pub frozen: usize,
    pub sent: usize,
    pub failed: usize,
    pub deferred: usize,
    pub marked_unknown: usize,
    pub status: String,
    pub errors: Vec<String>,
}

/// An entry of the suppression list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Suppression {
    pub mailbox_hash: String,
    pub email: Option<String>,
    pub reason: String,
    pub source: String,
    pub created_at: String,
    pub created_by: Option<String>,
}

/// A mailbox as campaigns compare it: lower-case, `+tags` and Gmail dots ignored.
pub fn mailbox(email: &str) -> String {
    let e = email.trim().to_lowercase();
    let Some((local, domain)) = e.rsplit_once('@') else { return e };
    let local = local.split('+').next().unwrap_or(local);
    let domain = if domain == "googlemail.com" { "gmail.com" } else { domain };
    let local = if domain == "gmail.com" { local.replace('.', "") } else { local.to_string() };
    format!("{local}@{domain}")
}

/// The key under which the suppression list keeps a mailbox: HMAC-SHA-256 of the normalised
/// mailbox under the database's own random salt (`db::campaign::mailbox_salt`). An erased
/// person's entry holds no address, and a table of hashed addresses made for another database
/// (or plain SHA-256 of a mailing list) matches nothing here.
pub fn mailbox_hash(salt: &[u8], email: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, salt);
    hex(ring::hmac::sign(&key, mailbox(email).as_bytes()).as_ref())
}

/// `25/s`, `25`: messages per second (0 means no limit).
pub fn parse_rate(input: &str) -> Result<i64> {
    let t = input.trim().trim_end_matches("/s").trim();
    t.parse::<i64>()
        .ok()
        .filter(|n| (0..=100_000).contains(n))
        .ok_or_else(|| Error::invalid("rate", format!("`{input}` is not a rate like 50/s")))
}

/// Everything that reaches recipients, hashed: the pinned template version and what it
/// includes, media, subject, sender, reply-to, audience definition and tracking mode.
#[derive(Debug, Serialize)]
pub struct ContentParts<'a> {
    pub template: &'a str,
    pub version: i64,
    pub subject: &'a str,
    pub text: Option<&'a str>,
    /// (name, source) of the template and each template it pulls in, sorted.
    pub sources: Vec<(String, String)>,
    /// (name, sha256) of the media the sources name, sorted.
    pub media: Vec<(String, String)>,
    pub from: &'a str,
    pub reply_to: Option<&'a str>,
    pub tracking: &'a str,
    pub audience: Vec<String>,
}

impl ContentParts<'_> {
    pub fn hash(&self) -> Result<String> {
        Ok(hex(&Sha256::digest(serde_json::to_vec(self)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_percentages_of_what_was_sent() {
        let p = Progress { sent: 3, opens: 1, hard_bounces: 2, complaints: 0, unsubscribes: 3, ..Default::default() };
        let p = p.with_rates();
        assert_eq!((p.open_rate, p.bounce_rate, p.complaint_rate, p.unsubscribe_rate), (33.3, 66.7, 0.0, 100.0));
        let none = Progress { opens: 5, ..Default::default() }.with_rates();
        assert_eq!(none.open_rate, 0.0, "nothing sent, no rate");
    }

    #[test]
    fn mailboxes_compare_like_people_expect() {
        assert_eq!(mailbox(" John.Ouick+events@GMAIL.com "), "johnouick@gmail.com");
        assert_eq!(mailbox("jacky@loubouzin.grd"), "jacky@loubouzin.grd");
        assert_eq!(mailbox("a.b+x@example.com"), "a.b@example.com");
        assert_eq!(mailbox_hash(b"s", "A@x.example"), mailbox_hash(b"s", "a@X.EXAMPLE"));
        assert_ne!(mailbox_hash(b"s", "a@x.example"), mailbox_hash(b"t", "a@x.example"), "salted");
    }

    #[test]
    fn audiences_and_rates_parse() {
        assert_eq!(parse_audience("group:Clients 2023").ok(), Some(("group".into(), "Clients 2023".into())));
        assert!(parse_audience("team:x").is_err() && parse_audience("group:").is_err() && parse_audience("x").is_err());
        assert_eq!(parse_rate("50/s").ok(), Some(50));
        assert!(parse_rate("fast").is_err() && parse_rate("-1").is_err());
    }
}
