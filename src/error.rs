//! One error type for the whole library. Every failure carries an [`ErrorKind`]; each entry
//! point maps kinds to its own answers (the CLI to exit codes in `cli::exit_code`, a server to
//! HTTP statuses), so a caller can tell "denied" from "missing". The library itself knows
//! nothing of terminals or processes.

use std::fmt;

/// What went wrong, as far as a caller (or a shell script) needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A bug or an environment failure: reported to Sentry.
    Internal,
    /// Wrong invocation: a missing flag in non-interactive mode, a bad combination of flags.
    Usage,
    /// Data that breaks a rule; nothing was changed.
    Invalid,
    /// Not logged in, session expired or revoked, wrong credentials, locked account.
    Auth,
    /// The acting user lacks a permission; nothing was changed.
    Denied,
    /// No such record, or one the user may not see.
    NotFound,
    /// Duplicate, forbidden state transition, already done.
    Conflict,
    /// An external service (SMTP…) failed; the work is queued.
    External,
}

/// The longest message an error carries: one that quotes a huge input is cut, so a user gets
/// a line, not megabytes on stderr.
const MAX_MESSAGE_CHARS: usize = 1000;

fn cap(message: String) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}… (message cut)", &message[..at]),
        None => message,
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The library's error: a kind, a one-line message meant for the user, and an optional cause.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// The field an `Invalid` error is about, when there is one.
    field: Option<String>,
    source: Option<Source>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: cap(message.into()), field: None, source: None }
    }

    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// A field breaks a rule: `invalid email: must look like name@example.com`.
    pub fn invalid(field: &str, rule: impl fmt::Display) -> Self {
        Error { field: Some(field.to_string()), ..Error::new(ErrorKind::Invalid, format!("invalid {field}: {rule}")) }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Usage, message)
    }

    pub fn auth(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Auth, message)
    }

    /// `why` is a sentence for the user that names the missing permission.
    pub fn denied(why: &str) -> Self {
        Error::new(ErrorKind::Denied, format!("permission denied: {why}"))
    }

    /// `entity` is a noun ("user"), `key` what the caller typed.
    pub fn not_found(entity: &str, key: impl fmt::Display) -> Self {
        Error::new(ErrorKind::NotFound, format!("{entity} {key} not found"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Conflict, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    pub fn external(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::External, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    /// Whether this error comes from writing to a reader that went away (`rolo … | head`),
    /// which a command line treats as the end of its output, not as a failure.
    pub fn is_broken_pipe(&self) -> bool {
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            if c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
                return true;
            }
            cause = c.source();
        }
        false
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::internal("i/o error").with_source(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        if e.is_io() {
            return std::io::Error::from(e).into();
        }
        Error::internal("JSON error").with_source(e)
    }
}
