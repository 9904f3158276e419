//! Sentry: internal errors and panics, tagged with the command and the acting user's id, with
//! no personal data. Initialised only when a DSN is configured, with a short flush timeout so
//! an unreachable server never holds a command up for more than two seconds.

use std::time::Duration;

use sentry::protocol::Event;

const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Keeps Sentry alive for the process; dropping it flushes queued events.
pub struct Telemetry {
    _guard: Option<sentry::ClientInitGuard>,
}

/// Starts Sentry when `dsn` is set. An unparsable DSN is reported once and ignored.
pub fn init(dsn: Option<&str>, environment: Option<&str>, command: &str) -> (Telemetry, Option<String>) {
    let Some(dsn) = dsn else { return (Telemetry { _guard: None }, None) };
    let parsed = match dsn.parse::<sentry::types::Dsn>() {
        Ok(d) => d,
        Err(e) => return (Telemetry { _guard: None }, Some(format!("ignoring the Sentry DSN: {e}"))),
    };
    let mut options = sentry::ClientOptions::new()
        .release(concat!("rolo@", env!("CARGO_PKG_VERSION")))
        .send_default_pii(false)
        .shutdown_timeout(FLUSH_TIMEOUT)
        .before_send(|event| Some(scrub(event)));
    options.dsn = Some(parsed);
    if let Some(env) = environment {
        options = options.environment(env.to_string());
    }
    let guard = sentry::init(options);
    sentry::configure_scope(|scope| {
        scope.set_tag("command", command);
        // The machine name can identify a person's laptop.
        scope.set_extra("server_name", "redacted".into());
    });
    (Telemetry { _guard: Some(guard) }, None)
}

/// Tags later events with the acting user's id (never the name or e-mail).
pub fn set_user(id: i64) {
    sentry::configure_scope(|scope| {
        scope.set_user(Some(sentry::User { id: Some(id.to_string()), ..Default::default() }));
    });
}

pub fn capture(error: &crate::Error) {
    sentry::capture_error(error);
}

/// Removes anything that looks like personal data from an event before it leaves.
fn scrub(mut event: Event<'static>) -> Event<'static> {
    event.server_name = None;
    if let Some(user) = event.user.as_mut() {
        user.email = None;
        user.username = None;
        user.ip_address = None;
        user.other.clear();
    }
    if let Some(m) = event.message.take() {
        event.message = Some(redact(&m));
    }
    for exc in event.exception.values.iter_mut() {
        if let Some(v) = exc.value.take() {
            exc.value = Some(redact(&v));
        }
    }
    event
}

/// Replaces e-mail addresses and quoted values (which may be names) in a message.
pub fn redact(text: &str) -> String {
    let words: Vec<String> =
        text.split(' ').map(|w| if w.contains('@') { "[email]".to_string() } else { w.to_string() }).collect();
    let joined = words.join(" ");
    let mut out = String::with_capacity(joined.len());
    let mut in_quote = false;
    for c in joined.chars() {
        if c == '`' {
            in_quote = !in_quote;
            if in_quote {
                out.push_str("`[redacted]");
            } else {
                out.push('`');
            }
        } else if !in_quote {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_emails_and_quoted_values() {
        assert_eq!(super::redact("user `Kevin Casey` kevin@startup.io failed"), "user `[redacted]` [email] failed");
    }
}
