//! E-mail marketing (seed 000): the template and media libraries, campaigns with their
//! approval bound to the content, audiences, the suppression list and the send engine.

pub mod inbound;
pub mod lifecycle;
pub mod media;
pub mod oneoff;
pub mod pages;
pub mod send;
pub mod shortlinks;
pub mod suppression;
pub mod template;
pub mod tracking;
#[cfg(test)]
mod web_tests;

use crate::Result;
use crate::db::Db;
use crate::service::authz::system_key;

/// The database's secret for signed tokens, made on first use (32 random bytes).
pub(crate) fn token_secret(db: &Db) -> Result<Vec<u8>> {
    if let Some(s) = db.meta("token_secret")? {
        return Ok(s.into_bytes());
    }
    let fresh = fresh_secret()?;
    db.write(&system_key(), |tx| {
        // Another process may have made it first: theirs wins.
        if let Some(existing) = tx_meta(tx)? {
            return Ok(existing);
        }
        tx.set_meta("token_secret", &fresh)?;
        Ok(fresh.clone())
    })
    .map(String::into_bytes)
}

/// `rolo mail dkim`: the TXT record to publish for the configured key (for the From domain
/// when `[dkim] domain` is not set). Reads no database: the key file is the whole input.
pub fn dkim_record(smtp: &crate::mail::SmtpSettings) -> Result<crate::domain::campaign::DkimRecord> {
    let signer = smtp.signer()?.ok_or_else(|| {
        crate::Error::usage("no DKIM key is configured: add [dkim] selector and key_file to the config file")
    })?;
    let (name, value) = signer.dns_record(&smtp.domain());
    Ok(crate::domain::campaign::DkimRecord { name, kind: "TXT".into(), value, algorithm: signer.algorithm().into() })
}

/// 32 random bytes, hex: a new database's token secret.
pub(crate) fn fresh_secret() -> Result<String> {
    crate::secrets::random_hex(32)
}

fn tx_meta(tx: &crate::db::Tx) -> Result<Option<String>> {
    tx.meta("token_secret")
}
