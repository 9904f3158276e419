//! DKIM signatures (RFC 6376) on outgoing mail: `relaxed/relaxed` canonicalization, `rsa-sha256`
//! or `ed25519-sha256` (RFC 8463), signed with `ring` over the exact bytes that go on the wire.
//! The signed headers include `List-Unsubscribe` and `List-Unsubscribe-Post`, as RFC 8058 asks
//! for one-click unsubscription to be trusted.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::signature::{self, Ed25519KeyPair, KeyPair, RsaKeyPair};

use crate::{Error, Result};

/// The headers a signature covers, when the message has them.
pub const SIGNED_HEADERS: &[&str] = &[
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "mime-version",
    "content-type",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "in-reply-to",
    "references",
];

/// `[dkim]` of the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct DkimSettings {
    /// The DNS selector: the key is published at `SELECTOR._domainkey.DOMAIN`.
    pub selector: String,
    /// A PEM private key: RSA (PKCS#1 or PKCS#8) or Ed25519 (PKCS#8).
    pub key_file: PathBuf,
    /// The signing domain (`d=`); default: the domain of each message's From address.
    pub domain: Option<String>,
}

enum Key {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A loaded signing key.
pub struct Signer {
    selector: String,
    domain: Option<String>,
    key: Key,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({}, {:?}, {})", self.selector, self.domain, self.algorithm())
    }
}

impl Signer {
    /// Reads the key file; an unreadable or unknown key is a clear error before anything is sent.
    pub fn load(settings: &DkimSettings) -> Result<Signer> {
        let text = std::fs::read_to_string(&settings.key_file).map_err(|e| {
            Error::usage(format!("[dkim] key_file {}: cannot read it: {e}", settings.key_file.display()))
        })?;
        Signer::from_pem(&settings.selector, settings.domain.as_deref(), &text, &settings.key_file)
    }

    fn from_pem(selector: &str, domain: Option<&str>, pem: &str, path: &Path) -> Result<Signer> {
        let bad = |why: &str| Error::usage(format!("[dkim] key_file {}: {why}", path.display()));
        let valid_label = |s: &str| {
            !s.is_empty()
                && s.split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        };
        if !valid_label(selector) {
            return Err(Error::usage(format!("[dkim] selector `{selector}` is not a DNS label")));
        }
        if let Some(d) = domain.filter(|d| !valid_label(d)) {
            return Err(Error::usage(format!("[dkim] domain `{d}` is not a domain name")));
        }
        let (label, der) = pem_block(pem).ok_or_else(|| bad("not a PEM private key"))?;
        let key = match label.as_str() {
            "RSA PRIVATE KEY" => Key::Rsa(RsaKeyPair::from_der(&der).map_err(|e| bad(&format!("RSA key: {e}")))?),
            "PRIVATE KEY" => match RsaKeyPair::from_pkcs8(&der) {
                Ok(k) => Key::Rsa(k),
                Err(_) => Key::Ed25519(
                    Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                        .map_err(|e| bad(&format!("neither an RSA nor an Ed25519 key: {e}")))?,
                ),
            },
            other => return Err(bad(&format!("a `{other}` block; expected a private key"))),
        };
        if let Key::Rsa(k) = &key
            && k.public().modulus_len() < 128
        {
            return Err(bad("an RSA key of fewer than 1024 bits"));
        }
        Ok(Signer { selector: selector.to_string(), domain: domain.map(str::to_lowercase), key })
    }

    pub fn algorithm(&self) -> &'static str {
        match self.key {
            Key::Rsa(_) => "rsa-sha256",
            Key::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// The signing domain for a message from `from_domain`.
    pub fn domain_for(&self, from_domain: &str) -> String {
        self.domain.clone().unwrap_or_else(|| from_domain.to_lowercase())
    }

    /// The TXT record to publish: (name, value).
    pub fn dns_record(&self, from_domain: &str) -> (String, String) {
        let (k, p) = match &self.key {
            Key::Rsa(k) => ("rsa", B64.encode(rsa_spki(k.public().as_ref()))),
            Key::Ed25519(k) => ("ed25519", B64.encode(k.public_key().as_ref())),
        };
        (format!("{}._domainkey.{}", self.selector, self.domain_for(from_domain)), format!("v=DKIM1; k={k}; p={p}"))
    }

    /// `message` (CRLF line ends, headers then body) with a `DKIM-Signature` header in front.
    pub fn sign(&self, message: &[u8], from_domain: &str, now: i64) -> Result<Vec<u8>> {
        let split = find(message, b"\r\n\r\n").map(|i| i + 2).unwrap_or(message.len());
        let (head, body) = (&message[..split], message.get(split + 2..).unwrap_or(b""));
        let headers = parse_headers(head);
        let body_hash = B64.encode(ring::digest::digest(&ring::digest::SHA256, &relaxed_body(body)));
        let mut names = Vec::new();
        let mut data = Vec::new();
        for name in SIGNED_HEADERS {
            // The bottom-most instance is the one a verifier takes for each name in h=.
            if let Some((_, raw)) = headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                names.push(*name);
                data.extend_from_slice(relaxed_header(raw).as_bytes());
                data.extend_from_slice(b"\r\n");
            }
        }
        let field = format!(
            "DKIM-Signature: v=1; a={}; c=relaxed/relaxed; d={}; s={};\r\n\tt={now}; h={};\r\n\tbh={body_hash};\r\n\tb=",
            self.algorithm(),
            self.domain_for(from_domain),
            self.selector,
            names.join(":"),
        );
        data.extend_from_slice(relaxed_header(&field).as_bytes());
        let sig = match &self.key {
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), &data, &mut sig)
                    .map_err(|_| Error::internal("DKIM: the RSA signature failed"))?;
                sig
            }
            // RFC 8463: Ed25519 signs the SHA-256 hash of the canonical data.
            Key::Ed25519(k) => k.sign(ring::digest::digest(&ring::digest::SHA256, &data).as_ref()).as_ref().to_vec(),
        };
        let mut out = Vec::with_capacity(message.len() + field.len() + 400);
        out.extend_from_slice(field.as_bytes());
        out.extend_from_slice(B64.encode(sig).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(message);
        Ok(out)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The first PEM block: its label and decoded bytes.
fn pem_block(pem: &str) -> Option<(String, Vec<u8>)> {
    let start = pem.find("-----BEGIN ")?;
    let rest = &pem[start + 11..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_string();
    let body = &rest[label_end + 5..];
    let end = body.find(&format!("-----END {label}-----"))?;
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    Some((label, B64.decode(b64).ok()?))
}

/// An RSAPublicKey wrapped as a SubjectPublicKeyInfo, the form DNS records carry.
fn rsa_spki(rsa_public_key: &[u8]) -> Vec<u8> {
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let n = content.len();
        if n < 128 {
            out.push(n as u8);
        } else {
            let bytes: Vec<u8> = n.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }
    // rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters.
    let algorithm =
        der(0x30, &[&[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01][..], &[0x05, 0x00]].concat());
    let bits = der(0x03, &[&[0u8][..], rsa_public_key].concat());
    der(0x30, &[algorithm, bits].concat())
}

/// (name, whole field with its folding) of each header, in order.
fn parse_headers(head: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(head);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((name, _)) = line.split_once(':') {
            out.push((name.trim().to_string(), line.to_string()));
        }
    }
    for (_, raw) in &mut out {
        if raw.ends_with("\r\n") {
            raw.truncate(raw.len() - 2);
        }
    }
    out
}

/// RFC 6376 3.4.2: lower-case name, unfolded, runs of white space as one space, none at the
/// ends of the value or around the colon.
fn relaxed_header(field: &str) -> String {
    let (name, value) = field.split_once(':').unwrap_or((field, ""));
    let unfolded = value.replace("\r\n", "");
    let value = unfolded.split([' ', '\t']).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    format!("{}:{}", name.trim().to_lowercase(), value)
}

/// RFC 6376 3.4.4: white space runs as one space, none at line ends, no empty lines at the
/// end, and a final CRLF unless the body is empty.
fn relaxed_body(body: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let body = body.strip_suffix(b"\r\n").unwrap_or(body);
    for raw in body.split(|b| *b == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let mut line = Vec::with_capacity(raw.len());
        let mut space = false;
        for &b in raw {
            if b == b' ' || b == b'\t' {
                space = true;
            } else {
                if space {
                    line.push(b' ');
                    space = false;
                }
                line.push(b);
            }
        }
        lines.push(line);
    }
    while lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    let mut out = Vec::with_capacity(body.len() + 2);
    for line in lines {
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_follow_rfc_6376() {
        // The examples of RFC 6376 3.4.5.
        assert_eq!(relaxed_header("A: X"), "a:X");
        assert_eq!(relaxed_header("B : Y\t\r\n\tZ  "), "b:Y Z");
        assert_eq!(relaxed_body(b" C \r\nD \t E\r\n\r\n\r\n"), b" C\r\nD E\r\n");
        assert_eq!(relaxed_body(b""), b"");
        assert_eq!(relaxed_body(b"\r\n\r\n"), b"");
    }

    #[test]
    fn bad_keys_and_names_are_usage_errors() {
        let p = Path::new("k.pem");
        for (selector, domain, pem) in [
            ("s1", None, "not a key"),
            ("s1", None, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            ("s1", None, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            ("bad selector", None, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            ("s1", Some("bad domain;"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        ] {
            let e = Signer::from_pem(selector, domain, pem, p).expect_err(pem);
            assert_eq!(e.kind(), crate::ErrorKind::Usage, "{}", e.message());
        }
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    /// Both key kinds sign; the Ed25519 signature checks against the published key over the
    /// canonical headers (the RSA one is checked by dkimpy end to end).
    #[test]
    fn rsa_and_ed25519_keys_sign_and_publish_their_records() {
        let message = b"From: A <a@x.example>\r\nTo: b@y.example\r\nSubject: Caf\xc3\xa9\r\nX-Other: no\r\n\r\nHello  world \r\n\r\n";
        for (file, algorithm, k) in
            [("dkim_rsa.pem", "rsa-sha256", "rsa"), ("dkim_ed25519.pem", "ed25519-sha256", "ed25519")]
        {
            let settings = DkimSettings { selector: "s1".into(), key_file: fixture(file), domain: None };
            let signer = Signer::load(&settings).expect(file);
            assert_eq!(signer.algorithm(), algorithm);
            let (name, record) = signer.dns_record("X.example");
            assert_eq!(name, "s1._domainkey.x.example");
            assert!(record.starts_with(&format!("v=DKIM1; k={k}; p=")), "{record}");
            let signed = signer.sign(message, "x.example", 1_800_000_000).expect("sign");
            let text = String::from_utf8_lossy(&signed);
            assert!(signed.ends_with(message), "the message follows its signature unchanged");
            let field = text.split("\r\nFrom:").next().expect("field");
            assert!(field.contains("h=from:to:subject;") && field.contains("d=x.example; s=s1;"), "{field}");
            if k == "ed25519" {
                let (unsigned, sig) = field.rsplit_once("b=").expect("b=");
                let mut data = Vec::new();
                for h in ["From: A <a@x.example>", "To: b@y.example", "Subject: Caf\u{e9}"] {
                    data.extend_from_slice(relaxed_header(h).as_bytes());
                    data.extend_from_slice(b"\r\n");
                }
                data.extend_from_slice(relaxed_header(&format!("{unsigned}b=")).as_bytes());
                let public = B64.decode(record.rsplit("p=").next().unwrap_or("")).expect("p=");
                let hash = ring::digest::digest(&ring::digest::SHA256, &data);
                signature::UnparsedPublicKey::new(&signature::ED25519, public)
                    .verify(hash.as_ref(), &B64.decode(sig.trim()).expect("b64"))
                    .expect("the Ed25519 signature verifies");
            }
        }
    }
}
