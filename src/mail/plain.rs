//! A small SMTP client for plain connections to a relay (`smtp://host:port` with no TLS and no
//! credentials: a local Postfix, a loopback sink), used by the campaign sender.
//!
//! Why not lettre for these: lettre 0.11.23 writes the DATA terminator in a separate write on a
//! socket without `TCP_NODELAY`, so every message waits for the server's delayed ACK (~40 ms,
//! Nagle). This client sets `TCP_NODELAY`, writes the body and its terminator in one write, and
//! keeps connections open between messages (RSET after a refusal). TLS and authenticated URLs
//! still go through lettre.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::SendError;

/// Where to connect, when the URL allows the plain client.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

impl Target {
    /// `smtp://host[:port]` with no user, no password and no `tls` parameter.
    pub fn of_url(url: &str) -> Option<Target> {
        let rest = url.strip_prefix("smtp://")?;
        if rest.contains('@') || rest.contains('?') {
            return None;
        }
        let hostport = rest.trim_end_matches('/');
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (hostport, 25),
        };
        (!host.is_empty()).then(|| Target { host: host.to_string(), port })
    }
}

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// The server announced SMTPUTF8 (RFC 6531): it takes addresses beyond ASCII.
    utf8: bool,
}

/// A pool of plain SMTP connections.
pub struct PlainPool {
    target: Target,
    hello: String,
    timeout: Duration,
    idle: Mutex<Vec<Conn>>,
}

/// A reply: its code and text (the last line's).
type Reply = (u16, String);

fn io_error(e: std::io::Error) -> SendError {
    SendError::Connection(e.to_string())
}

impl Conn {
    fn read_reply(&mut self) -> Result<Reply, SendError> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).map_err(io_error)? == 0 {
                return Err(SendError::Connection("the server closed the connection".into()));
            }
            let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
            let last = line.as_bytes().get(3) != Some(&b'-');
            text.push_str(line.get(4..).unwrap_or("").trim_end());
            match code {
                Some(code) if last => return Ok((code, text)),
                Some(_) => text.push(' '),
                None => return Err(SendError::Connection(format!("not an SMTP reply: {}", line.trim_end()))),
            }
        }
    }

    fn command(&mut self, line: &str) -> Result<Reply, SendError> {
        self.writer.write_all(line.as_bytes()).map_err(io_error)?;
        self.read_reply()
    }
}

/// A reply that is not the expected success, as the error the sender acts on.
fn refusal((code, text): Reply) -> SendError {
    let message = format!("{code} {text}");
    if (400..500).contains(&code) {
        SendError::Transient(message)
    } else if (500..600).contains(&code) {
        let lower = text.to_lowercase();
        let user_unknown = matches!(code, 550 | 551 | 553)
            && (lower.contains("5.1.1")
                || lower.contains("unknown")
                || lower.contains("no such")
                || lower.contains("does not exist"));
        SendError::Permanent { message, user_unknown }
    } else {
        SendError::Connection(message)
    }
}

/// The message with dot-stuffing, CRLF line ends and the terminator, ready for one write.
fn data_block(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in message {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
        prev = b;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

impl PlainPool {
    pub fn new(target: Target, hello: &str, timeout: Duration) -> PlainPool {
        PlainPool { target, hello: hello.to_string(), timeout, idle: Mutex::new(Vec::new()) }
    }

    fn connect(&self) -> Result<Conn, SendError> {
        let addr = (self.target.host.as_str(), self.target.port)
            .to_socket_addrs()
            .map_err(io_error)?
            .next()
            .ok_or_else(|| SendError::Connection(format!("{} does not resolve", self.target.host)))?;
        let stream = TcpStream::connect_timeout(&addr, self.timeout).map_err(io_error)?;
        stream.set_nodelay(true).map_err(io_error)?;
        stream.set_read_timeout(Some(self.timeout)).map_err(io_error)?;
        stream.set_write_timeout(Some(self.timeout)).map_err(io_error)?;
        let mut conn =
            Conn { reader: BufReader::new(stream.try_clone().map_err(io_error)?), writer: stream, utf8: false };
        let greeting = conn.read_reply()?;
        if greeting.0 != 220 {
            return Err(SendError::Connection(format!("unexpected greeting {} {}", greeting.0, greeting.1)));
        }
        let ehlo = conn.command(&format!("EHLO {}\r\n", self.hello))?;
        if ehlo.0 != 250 {
            return Err(SendError::Connection(format!("EHLO refused: {} {}", ehlo.0, ehlo.1)));
        }
        // The reply's lines are joined by spaces; the first is the greeting, each other one a
        // keyword and its parameters.
        conn.utf8 = ehlo.1.split(' ').skip(1).any(|w| w.eq_ignore_ascii_case("SMTPUTF8"));
        Ok(conn)
    }

    /// Sends one message from `from` (the envelope sender) to `to`.
    pub fn send(&self, from: &str, to: &str, message: &[u8]) -> Result<(), SendError> {
        if [from, to].iter().any(|a| a.contains(['\r', '\n', '<', '>'])) {
            return Err(SendError::Invalid("an address holds a line break or an angle bracket".into()));
        }
        let reused = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut conn = match reused {
            Some(c) => c,
            None => self.connect()?,
        };
        let outcome = transaction(&mut conn, from, to, message);
        match &outcome {
            Ok(()) => self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(conn),
            // Nothing was said for a message refused before its transaction.
            Err(SendError::Invalid(_)) => self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(conn),
            // A refusal leaves the session usable once reset; a broken connection is dropped.
            Err(SendError::Transient(_) | SendError::Permanent { .. }) => {
                if conn.command("RSET\r\n").is_ok_and(|r| r.0 == 250) {
                    self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(conn);
                }
            }
            Err(_) => {}
        }
        outcome
    }
}

fn transaction(conn: &mut Conn, from: &str, to: &str, message: &[u8]) -> Result<(), SendError> {
    // An address beyond ASCII needs a server that announced SMTPUTF8, and says so in MAIL FROM.
    let international = !from.is_ascii() || !to.is_ascii();
    if international && !conn.utf8 {
        return Err(SendError::Invalid(format!(
            "the SMTP server does not take addresses beyond ASCII (no SMTPUTF8), so it cannot deliver to {to}"
        )));
    }
    let param = if international { " SMTPUTF8" } else { "" };
    let r = conn.command(&format!("MAIL FROM:<{from}>{param}\r\n"))?;
    if r.0 != 250 {
        return Err(refusal(r));
    }
    let r = conn.command(&format!("RCPT TO:<{to}>\r\n"))?;
    if r.0 != 250 && r.0 != 251 {
        return Err(refusal(r));
    }
    let r = conn.command("DATA\r\n")?;
    if r.0 != 354 {
        return Err(refusal(r));
    }
    conn.writer.write_all(&data_block(message)).map_err(io_error)?;
    let r = conn.read_reply()?;
    if r.0 != 250 {
        return Err(refusal(r));
    }
    Ok(())
}

/// The body a scripted test server reads after `354`, up to and with `CRLF.CRLF`.
#[cfg(test)]
pub(crate) fn read_data_block(r: &mut impl std::io::Read) -> Vec<u8> {
    let mut body = Vec::new();
    while !body.ends_with(b"\r\n.\r\n") {
        let mut b = [0u8; 1];
        r.read_exact(&mut b).expect("body");
        body.push(b[0]);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_urls_take_the_plain_client() {
        assert!(Target::of_url("smtp://127.0.0.1:2525").is_some_and(|t| t.port == 2525 && t.host == "127.0.0.1"));
        assert!(Target::of_url("smtp://relay.local").is_some_and(|t| t.port == 25));
        for tls in ["smtps://h:465", "smtp://u:p@h:587", "smtp://h:587?tls=required", "smtp://", "smtp://h:notaport"] {
            assert!(Target::of_url(tls).is_none(), "{tls}");
        }
    }

    #[test]
    fn data_is_dot_stuffed_and_terminated_once() {
        assert_eq!(data_block(b"Subject: x\r\n\r\n.hidden\r\nend"), b"Subject: x\r\n\r\n..hidden\r\nend\r\n.\r\n");
        assert_eq!(data_block(b"a\nb\n"), b"a\r\nb\r\n.\r\n");
    }

    #[test]
    fn replies_become_the_errors_the_sender_acts_on() {
        assert!(matches!(refusal((451, "try later".into())), SendError::Transient(_)));
        assert!(matches!(refusal((550, "5.1.1 user unknown".into())), SendError::Permanent { user_unknown: true, .. }));
        assert!(matches!(refusal((552, "too big".into())), SendError::Permanent { user_unknown: false, .. }));
    }

    /// A scripted server on loopback: refuses the first recipient, takes the second.
    #[test]
    fn a_refusal_keeps_the_connection_for_the_next_message() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut line = String::new();
            let say = |s: &mut TcpStream, text: &str| s.write_all(text.as_bytes()).expect("write");
            say(&mut s, "220 test\r\n");
            let mut rcpts = 0;
            let mut delivered = Vec::new();
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let cmd = line.trim_end().to_string();
                if cmd.starts_with("EHLO") {
                    say(&mut s, "250-test\r\n250 PIPELINING\r\n");
                } else if cmd.starts_with("RCPT") {
                    rcpts += 1;
                    say(&mut s, if rcpts == 1 { "550 5.1.1 no such user\r\n" } else { "250 ok\r\n" });
                } else if cmd == "DATA" {
                    say(&mut s, "354 go\r\n");
                    let body = read_data_block(&mut r);
                    delivered.push(body);
                    say(&mut s, "250 queued\r\n");
                    return delivered;
                } else {
                    say(&mut s, "250 ok\r\n");
                }
            }
            delivered
        });
        let pool = PlainPool::new(Target { host: "127.0.0.1".into(), port }, "rolo.test", Duration::from_secs(5));
        let first = pool.send("b@x.example", "gone@x.example", b"Subject: 1\r\n\r\nhi");
        assert!(matches!(first, Err(SendError::Permanent { user_unknown: true, .. })), "{first:?}");
        pool.send("b@x.example", "ok@x.example", b"Subject: 2\r\n\r\nhello").expect("second message");
        let delivered = server.join().expect("server");
        assert_eq!(delivered, vec![b"Subject: 2\r\n\r\nhello\r\n.\r\n".to_vec()]);
    }

    /// A server on loopback that announces SMTPUTF8 or not; returns the commands it read.
    fn recording_server(utf8: bool) -> (u16, std::thread::JoinHandle<Vec<String>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut seen = Vec::new();
            s.write_all(b"220 test\r\n").expect("greet");
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return seen;
                }
                let cmd = line.trim_end().to_string();
                seen.push(cmd.clone());
                let reply: &[u8] = if cmd.starts_with("EHLO") {
                    if utf8 { b"250-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n" } else { b"250-test\r\n250 8BITMIME\r\n" }
                } else if cmd == "DATA" {
                    s.write_all(b"354 go\r\n").expect("write");
                    read_data_block(&mut r);
                    b"250 queued\r\n"
                } else {
                    b"250 ok\r\n"
                };
                s.write_all(reply).expect("write");
            }
        });
        (port, server)
    }

    #[test]
    fn addresses_beyond_ascii_need_smtputf8() {
        let (port, server) = recording_server(true);
        let pool = PlainPool::new(Target { host: "127.0.0.1".into(), port }, "rolo.test", Duration::from_secs(5));
        pool.send("b@x.example", "léa@exemple.fr", b"Subject: 1\r\n\r\nhi").expect("sent with SMTPUTF8");
        pool.send("b@x.example", "leo@exemple.fr", b"Subject: 2\r\n\r\nhi").expect("sent plain");
        drop(pool);
        let seen = server.join().expect("server");
        assert!(seen.contains(&"MAIL FROM:<b@x.example> SMTPUTF8".to_string()), "{seen:?}");
        assert_eq!(seen.iter().filter(|c| c.as_str() == "MAIL FROM:<b@x.example>").count(), 1, "{seen:?}");

        // Without SMTPUTF8 the message is refused here, nothing is said for it, and the
        // connection serves the next message.
        let (port, server) = recording_server(false);
        let pool = PlainPool::new(Target { host: "127.0.0.1".into(), port }, "rolo.test", Duration::from_secs(5));
        let refused = pool.send("b@x.example", "léa@exemple.fr", b"Subject: 1\r\n\r\nhi");
        assert!(matches!(&refused, Err(SendError::Invalid(m)) if m.contains("SMTPUTF8")), "{refused:?}");
        pool.send("b@x.example", "leo@exemple.fr", b"Subject: 2\r\n\r\nhi").expect("next message");
        drop(pool);
        let seen = server.join().expect("server");
        assert_eq!(seen.iter().filter(|c| c.starts_with("EHLO")).count(), 1, "{seen:?}");
        assert!(!seen.iter().any(|c| c.contains("léa")), "{seen:?}");
    }
}
