//! A real SMTP server on 127.0.0.1 for the tests: Python's aiosmtpd (installed by `.ci/run`)
//! storing the exact bytes of every message it accepts in a Maildir
//! (`tests/fixtures/maildir_smtp.py`), and a reader for what arrived.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    child: Option<Child>,
    pub port: u16,
    pub maildir: PathBuf,
}

/// Whether aiosmtpd can run here; on CI its absence is a failure, not a skip.
pub fn available() -> bool {
    let ok = Command::new("python3").args(["-c", "import aiosmtpd"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var("CI").is_err(), "CI must provide aiosmtpd (pip install aiosmtpd)");
        eprintln!("SKIPPED: python3 -m aiosmtpd is not installed");
    }
    ok
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl SmtpServer {
    /// Starts a server on `port` (a fresh one when None) writing into `dir/maildir`.
    pub fn start(dir: &Path, port: Option<u16>) -> SmtpServer {
        let maildir = dir.join("maildir");
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
        }
        let port = port.unwrap_or_else(free_port);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/maildir_smtp.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        SmtpServer { child: Some(child), port, maildir }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        let mut files: Vec<_> = std::fs::read_dir(self.maildir.join("new"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().map(|f| Received::parse(&std::fs::read_to_string(f).expect("read message"))).collect()
    }

    pub fn to(&self, addr: &str) -> Vec<Received> {
        self.messages().into_iter().filter(|m| m.header("To").is_some_and(|t| t.contains(addr))).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A received message: headers and the decoded text of every part.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub raw: String,
    /// The whole message with quoted-printable undone (to search for text).
    pub decoded: String,
}

impl Received {
    fn parse(raw: &str) -> Received {
        let raw = raw.replace("\r\n", "\n");
        let head = raw.split("\n\n").next().unwrap_or("");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
            } else if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        Received { headers, decoded: decode_qp(&raw), raw }
    }

    /// A header with its RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) decoded.
    pub fn header_text(&self, name: &str) -> Option<String> {
        use base64::Engine;
        let raw = self.header(name)?;
        let mut out = String::new();
        let mut rest = raw;
        while let Some(start) = rest.find("=?") {
            out.push_str(&rest[..start]);
            let word = &rest[start + 2..];
            let parts: Vec<&str> = word.splitn(3, '?').collect();
            let Some(end) = parts.get(2).and_then(|p| p.find("?=")) else {
                out.push_str(&rest[start..]);
                return Some(out);
            };
            let text = &parts[2][..end];
            let bytes = match parts[1].to_ascii_lowercase().as_str() {
                "b" => base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_default(),
                _ => {
                    let mut b = Vec::new();
                    let t = text.replace('_', " ");
                    let mut i = 0;
                    let tb = t.as_bytes();
                    while i < tb.len() {
                        if tb[i] == b'=' && i + 2 < tb.len() {
                            b.push(u8::from_str_radix(&t[i + 1..i + 3], 16).unwrap_or(b'?'));
                            i += 3;
                        } else {
                            b.push(tb[i]);
                            i += 1;
                        }
                    }
                    b
                }
            };
            out.push_str(&String::from_utf8_lossy(&bytes));
            rest = &parts[2][end + 2..];
            // White space between two encoded words is not part of the text.
            if rest.trim_start().starts_with("=?") {
                rest = rest.trim_start();
            }
        }
        out.push_str(rest);
        Some(out)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn decode_qp(s: &str) -> String {
    let joined = s.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(joined.get(i + 1..i + 3).unwrap_or(""), 16)
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
