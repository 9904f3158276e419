//! Signed tokens for the links of campaign mail and the pages of `rolo serve` (unsubscribe,
//! VERP return path, opens, clicks, autologin, sign-up confirmation, form CSRF): `ID.MAC` or
//! `ID-ID.MAC`, where MAC is an HMAC-SHA-256 of the purpose and the ids under the database's
//! secret, cut to 128 bits. A token carries no e-mail address; a forged or altered one does not
//! verify (compared in constant time).

use ring::hmac;

use crate::secrets::hex;

/// What a token may be used for: one token never serves another purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Unsubscribe,
    Bounce,
    Open,
    Click,
    /// A recipient recognised on a landing page (pre-filled form), never a staff session.
    Autologin,
    /// The confirmation link of a double opt-in sign-up.
    Confirm,
    /// A landing page's form, as served at a given minute.
    Form,
    /// The VERP return path of an outbox message (notifications, one-off and API mail).
    OutboxBounce,
    /// The client portal's login form, as served at a given minute.
    PortalLogin,
    /// The forms of a client portal session (its row id).
    PortalForm,
}

impl Purpose {
    fn tag(self) -> &'static [u8] {
        match self {
            Purpose::Unsubscribe => b"u",
            Purpose::Bounce => b"b",
            Purpose::Open => b"o",
            Purpose::Click => b"c",
            Purpose::Autologin => b"a",
            Purpose::Confirm => b"k",
            Purpose::Form => b"f",
            Purpose::OutboxBounce => b"ob",
            Purpose::PortalLogin => b"pl",
            Purpose::PortalForm => b"pf",
        }
    }
}

fn mac(secret: &[u8], purpose: Purpose, id: &str) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(purpose.tag());
    ctx.update(b":");
    ctx.update(id.as_bytes());
    ctx.sign()
}

/// The token of `id` (a send-log row, say) for a purpose.
pub fn sign(secret: &[u8], purpose: Purpose, id: i64) -> String {
    sign_text(secret, purpose, &format!("{id:x}"))
}

/// The id a token names, if it is genuine.
pub fn verify(secret: &[u8], purpose: Purpose, token: &str) -> Option<i64> {
    let id = verify_text(secret, purpose, token)?;
    if id.contains('-') {
        return None;
    }
    i64::from_str_radix(id, 16).ok()
}

/// The token of two ids (a send-log row and a link, say).
pub fn sign_pair(secret: &[u8], purpose: Purpose, a: i64, b: i64) -> String {
    sign_text(secret, purpose, &format!("{a:x}-{b:x}"))
}

/// The two ids a token names, if it is genuine.
pub fn verify_pair(secret: &[u8], purpose: Purpose, token: &str) -> Option<(i64, i64)> {
    let (a, b) = verify_text(secret, purpose, token)?.split_once('-')?;
    Some((i64::from_str_radix(a, 16).ok()?, i64::from_str_radix(b, 16).ok()?))
}

fn sign_text(secret: &[u8], purpose: Purpose, id: &str) -> String {
    let tag = mac(secret, purpose, id);
    format!("{id}.{}", hex(&tag.as_ref()[..16]))
}

/// The signed text of a genuine token: hex ids, at most two, joined by `-`.
fn verify_text<'t>(secret: &[u8], purpose: Purpose, token: &'t str) -> Option<&'t str> {
    let (id, given) = token.split_once('.')?;
    let well_formed = id.split('-').count() <= 2
        && id
            .split('-')
            .all(|part| !part.is_empty() && part.len() <= 16 && part.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed || given.len() != 32 {
        return None;
    }
    let given: Vec<u8> =
        (0..16).map(|i| u8::from_str_radix(given.get(2 * i..2 * i + 2)?, 16).ok()).collect::<Option<_>>()?;
    let expected = mac(secret, purpose, id);
    // Every byte is compared whatever the first difference: no timing tells how close a forgery was.
    let diff = expected.as_ref()[..16].iter().zip(&given).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    (diff == 0).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_as_signed() {
        let secret = b"a secret of the database";
        let t = sign(secret, Purpose::Unsubscribe, 42);
        assert_eq!(verify(secret, Purpose::Unsubscribe, &t), Some(42));
        assert_eq!(verify(secret, Purpose::Click, &t), None, "another purpose");
        assert_eq!(verify(b"another secret", Purpose::Unsubscribe, &t), None, "another database");
        let (id, mac) = t.split_once('.').expect("dot");
        assert_eq!(verify(secret, Purpose::Unsubscribe, &format!("2b.{mac}")), None, "another id");
        assert_eq!(verify(secret, Purpose::Unsubscribe, &format!("{id}.{}", &mac[..31])), None, "truncated");
        let pair = sign_pair(secret, Purpose::Click, 7, 300);
        assert_eq!(verify_pair(secret, Purpose::Click, &pair), Some((7, 300)));
        assert_eq!(verify(secret, Purpose::Click, &pair), None, "a pair is not a single id");
        assert_eq!(verify_pair(secret, Purpose::Click, &sign(secret, Purpose::Click, 7)), None, "nor the reverse");
        let (ids, mac) = pair.split_once('.').expect("dot");
        assert_eq!(ids, "7-12c");
        assert_eq!(verify_pair(secret, Purpose::Click, &format!("7-12d.{mac}")), None, "another link");
        for junk in ["", ".", "zz.00", "2a", &"f".repeat(100), "1-2-3.00", "-.00", "é.00"] {
            assert_eq!(verify(secret, Purpose::Unsubscribe, junk), None, "{junk}");
        }
    }
}
