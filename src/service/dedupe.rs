//! Likely duplicate clients, and merging two clients into one.
//!
//! Two cards are suspects when they share a mailbox (e-mails equal once case, `+tags` and, for
//! Gmail, dots are ignored), a phone number (by its digits), or a name (case, accents and
//! spacing ignored) within the same company or the same e-mail domain (webmail excluded).

use std::collections::HashMap;

use chrono::Utc;

use super::authz::Session;
use super::refs;
use crate::db;
use crate::domain::Permission;
pub use crate::domain::client::{Merged, Suspect};
use crate::{Error, Result};

/// Public webmail domains: sharing one says nothing about the firm.
pub(super) const WEBMAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.fr",
    "hotmail.com",
    "hotmail.fr",
    "outlook.com",
    "outlook.fr",
    "live.com",
    "live.fr",
    "icloud.com",
    "me.com",
    "aol.com",
    "gmx.com",
    "gmx.de",
    "gmx.fr",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "sfr.fr",
    "wanadoo.fr",
    "proton.me",
    "protonmail.com",
    "yandex.ru",
    "mail.ru",
    "web.de",
];

fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        c => c,
    }
}

/// A name for comparison: lower case, no accents, single spaces, no punctuation.
pub fn name_key(name: &str) -> String {
    let lower: String =
        name.to_lowercase().chars().map(fold).map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A mailbox for comparison: lower case, no `+tag`, and for Gmail no dots.
pub fn mailbox_key(email: &str) -> Option<(String, String)> {
    let (local, domain) = email.trim().to_lowercase().split_once('@').map(|(l, d)| (l.to_string(), d.to_string()))?;
    let local = local.split('+').next().unwrap_or("").to_string();
    let domain = if domain == "googlemail.com" { "gmail.com".to_string() } else { domain };
    let local = if domain == "gmail.com" { local.replace('.', "") } else { local };
    Some((local, domain))
}

/// Ranked suspects, strongest first; each pair once, with its best reason.
pub fn dedupe(session: &Session, limit: Option<u32>) -> Result<Vec<Suspect>> {
    session.require(Permission::ClientRead)?;
    let mut all = Vec::new();
    db::client::for_each(session.db(), |c| {
        all.push(c.clone());
        Ok(())
    })?;
    let mut pairs: HashMap<(i64, i64), (u8, String)> = HashMap::new();
    let mut consider = |groups: HashMap<String, Vec<usize>>, score: u8, why: &dyn Fn(&str) -> String| {
        for (key, members) in groups {
            for (i, a) in members.iter().enumerate() {
                for b in &members[i + 1..] {
                    let (x, y) = (all[*a].id.min(all[*b].id), all[*a].id.max(all[*b].id));
                    let entry = pairs.entry((x, y)).or_insert((0, String::new()));
                    if score > entry.0 {
                        *entry = (score, why(&key));
                    }
                }
            }
        }
    };
    let group = |key: &dyn Fn(&crate::domain::client::Client) -> Option<String>| {
        let mut g: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in all.iter().enumerate() {
            if let Some(k) = key(c) {
                g.entry(k).or_default().push(i);
            }
        }
        g.retain(|_, v| v.len() > 1);
        g
    };
    let mailbox = group(&|c| mailbox_key(&c.email).map(|(l, d)| format!("{l}@{d}")));
    consider(mailbox, 95, &|k| format!("same mailbox ({k})"));
    let digits = |c: &crate::domain::client::Client| {
        c.phone.as_ref().map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>())
    };
    let phone = group(&|c| digits(c).filter(|d| d.len() >= 6));
    consider(phone, 90, &|k| format!("same phone ({k})"));
    let in_company = group(&|c| c.company_id.map(|co| format!("{co}\u{1f}{}", name_key(&c.full_name))));
    consider(in_company, 80, &|k| {
        format!("same name in the same company ({})", k.split('\u{1f}').nth(1).unwrap_or(""))
    });
    let in_domain = group(&|c| {
        let (_, domain) = mailbox_key(&c.email)?;
        (!WEBMAIL.contains(&domain.as_str())).then(|| format!("{domain}\u{1f}{}", name_key(&c.full_name)))
    });
    consider(in_domain, 70, &|k| {
        format!("same name at the same e-mail domain ({})", k.split('\u{1f}').next().unwrap_or(""))
    });
    let by_id: HashMap<i64, &crate::domain::client::Client> = all.iter().map(|c| (c.id, c)).collect();
    let mut out: Vec<Suspect> = pairs
        .into_iter()
        .filter_map(|((a, b), (score, reason))| {
            let (keep, other) = (by_id.get(&a)?, by_id.get(&b)?);
            Some(Suspect {
                keep_id: keep.id,
                keep_name: keep.full_name.clone(),
                keep_email: keep.email.clone(),
                other_id: other.id,
                other_name: other.full_name.clone(),
                other_email: other.email.clone(),
                reason,
                score,
            })
        })
        .collect();
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.keep_id.cmp(&b.keep_id)).then(a.other_id.cmp(&b.other_id)));
    if let Some(l) = limit {
        out.truncate(l as usize);
    }
    Ok(out)
}

/// Merges `drop` into `keep`: contracts, interactions, stage history and client accounts move;
/// `keep`'s empty fields take `drop`'s values; `drop` is deleted. Both must be updatable by
/// the user (their own clients, or any with `client:update:any`).
pub fn merge(session: &Session, keep: &str, drop: &str) -> Result<Merged> {
    session.require(Permission::ClientRead)?;
    let (k, d) = (refs::client(session.db(), keep)?, refs::client(session.db(), drop)?);
    if k.id == d.id {
        return Err(Error::conflict("a client cannot be merged into itself"));
    }
    let me = session.actor().id;
    let grant = session.require_scoped(
        Permission::ClientUpdateAny,
        Permission::ClientUpdateOwn,
        k.sales_contact_id == Some(me),
        "client",
        Some(k.id),
    )?;
    session.require_scoped(
        Permission::ClientUpdateAny,
        Permission::ClientUpdateOwn,
        d.sales_contact_id == Some(me),
        "client",
        Some(d.id),
    )?;
    let now = Utc::now();
    grant.write(|tx| {
        let mut fields = db::client::fields_of(tx, k.id)?;
        let other = db::client::fields_of(tx, d.id)?;
        if fields.phone.is_none() {
            (fields.phone, fields.phone_digits) = (other.phone.clone(), other.phone_digits.clone());
        }
        fields.company_id = fields.company_id.or(other.company_id);
        fields.sales_contact_id = fields.sales_contact_id.or(other.sales_contact_id);
        fields.first_contact_at = fields.first_contact_at.clone().min(other.first_contact_at.clone());
        fields.last_contact_at = fields.last_contact_at.clone().max(other.last_contact_at.clone());
        let (contracts, interactions) = db::client::move_records(tx, d.id, k.id)?;
        db::client::delete(tx, d.id)?;
        db::client::update(tx, k.id, &fields, now)?;
        let after = db::client::get(tx, k.id)?.ok_or_else(|| Error::internal("client vanished"))?;
        grant.audit(
            tx,
            "client.merge",
            "client",
            Some(k.id),
            Some(&serde_json::json!({"keep": k, "drop": d})),
            Some(&after),
        )?;
        Ok(Merged { client: after, merged_from: d.id, contracts_moved: contracts, interactions_moved: interactions })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_accents_tags_and_gmail_dots() {
        assert_eq!(name_key("  Léon   DUPRÉ "), "leon dupre");
        assert_eq!(name_key("O'Brien, Zoë"), "o brien zoe");
        assert_eq!(mailbox_key("John.Ouick+events@GMAIL.com"), Some(("johnouick".into(), "gmail.com".into())));
        assert_eq!(mailbox_key("a.b+x@acme.fr"), Some(("a.b".into(), "acme.fr".into())));
        assert_eq!(mailbox_key("nobody"), None);
    }
}
