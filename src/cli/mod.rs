//! The command tree (clap) and its glue: parse, prompt for what is missing, call a service,
//! print what it returns. No permission or validation rule lives here.

mod app;
mod audit;
mod auth;
mod backup;
mod campaign;
mod client;
mod contract;
mod dbfile;
mod edit;
mod event;
mod import;
mod init;
mod mail;
pub mod output;
mod prompt;
mod ticket;
mod user;

use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, Subcommand};

use crate::config::Config;
use crate::db::Db;
use crate::secrets::{self, StoredTokens, TokenStore};
use crate::service::{self, Session};
use crate::{ErrorKind, Result, telemetry};
use output::{Format, Output};
use prompt::Prompter;

/// Rolo — a terminal CRM for small service companies.
///
/// Clients, contracts and events; projects and tickets; campaigns. One SQLite database shared
/// by the staff, each with their own login and role.
#[derive(Debug, Parser)]
#[command(name = "rolo", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub globals: Globals,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct Globals {
    /// Output format
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Same as --format json
    #[arg(long, global = true)]
    pub json: bool,
    /// Never prompt; a missing value is an error (also ROLO_NO_INPUT=1, or no terminal)
    #[arg(long, global = true)]
    pub no_input: bool,
    /// No status messages on stderr
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Database file (overrides ROLO_DB and the config)
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Config file (default $XDG_CONFIG_HOME/rolo/config.toml; also ROLO_CONFIG)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database and its first administrator
    Init(init::InitArgs),
    /// Log in and keep the session in the system keyring
    Login(auth::LoginArgs),
    /// Revoke the current session (safe to run twice)
    Logout,
    /// Show who is logged in, with roles and permissions
    Whoami,
    /// Clients, their companies and interactions
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Contracts with clients
    #[command(subcommand)]
    Contract(contract::ContractCommand),
    /// Events organised under signed contracts
    #[command(subcommand)]
    Event(event::EventCommand),
    /// Projects and tickets, SLA clocks, attachments
    #[command(subcommand)]
    Ticket(ticket::TicketCommand),
    /// E-mail marketing: templates, media, campaigns
    #[command(subcommand)]
    Campaign(campaign::CampaignCommand),
    /// The e-mail outbox
    #[command(subcommand)]
    Mail(mail::MailCommand),
    /// Staff and client accounts, and roles
    #[command(subcommand)]
    User(user::UserCommand),
    /// The audit log of every change and every denied attempt
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Applications that use the e-mailing service through the API: scoped keys, rotation
    #[command(subcommand)]
    App(app::AppCommand),
    /// Online backups, verification and restore
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Encryption at rest (SQLCipher): encrypt, decrypt or rekey the database file
    #[command(subcommand)]
    Db(dbfile::DbCommand),
    /// The HTTP side for campaign recipients (open pixel, click redirect, unsubscribe,
    /// landing pages, short links, media) with the background delivery of the outbox and of
    /// due campaigns; /healthz; stops cleanly on SIGTERM
    Serve(ServeArgs),
    /// Print a shell completion script
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Internal checks for operators
    #[command(subcommand, hide = true)]
    Debug(DebugCommand),
}

#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Panic on purpose, to check that crash reports reach Sentry
    Panic,
}

impl Cli {
    /// Parses the process arguments once; also returns the command path (`user create`) for
    /// Sentry tags.
    pub fn parse_args() -> std::result::Result<(Cli, String), clap::Error> {
        use clap::FromArgMatches;
        let matches = Cli::command().try_get_matches()?;
        let mut names = Vec::new();
        let mut m = &matches;
        while let Some((name, sub)) = m.subcommand() {
            names.push(name.to_string());
            m = sub;
        }
        Ok((Cli::from_arg_matches(&matches)?, names.join(" ")))
    }
}

/// The exit codes of the CLI contract (CLI.md), by error kind.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Internal => 1,
        ErrorKind::Usage => 2,
        ErrorKind::Invalid => 3,
        ErrorKind::Auth => 4,
        ErrorKind::Denied => 5,
        ErrorKind::NotFound => 6,
        ErrorKind::Conflict => 7,
        ErrorKind::External => 8,
    }
}

/// `rolo ticket sla check`: at least one clock at risk. Not a failure: a report for cron.
pub const EXIT_SLA_AT_RISK: u8 = 10;
/// `rolo ticket sla check`: at least one clock breached.
pub const EXIT_SLA_BREACHED: u8 = 11;

/// What every handler gets: configuration, the printer, and whether it may prompt.
pub struct Ctx {
    pub config: Config,
    pub out: Output,
    pub prompt: Prompter,
    /// The exit code of a command that succeeded but reports a state (SLA check).
    exit: std::cell::Cell<u8>,
}

impl Ctx {
    /// Ends a successful command with another exit code than 0 (SLA check).
    pub fn set_exit(&self, code: u8) {
        self.exit.set(code);
    }

    pub fn open_db(&self) -> Result<Db> {
        Db::open(&self.config.db_path)
    }

    /// The database key for the token store: its absolute path.
    fn db_key(&self) -> String {
        let p = &self.config.db_path;
        std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).display().to_string()
    }

    /// The token store for this database. With the automatic choice, a token file left by an
    /// earlier fallback is used directly, so headless machines do not probe D-Bus each time.
    fn store(&self, for_saving: bool) -> Box<dyn TokenStore> {
        let key = self.db_key();
        let dir = &self.config.token_dir;
        if self.config.token_store == secrets::StoreChoice::Auto {
            let file = secrets::FileStore::new(dir, &key);
            if !for_saving && file.load().ok().flatten().is_some() {
                return Box::new(file);
            }
        }
        let (store, warning) = secrets::open_store(self.config.token_store, &key, dir);
        if let (Some(w), true) = (warning, for_saving) {
            self.out.warn(w);
        }
        store
    }

    fn credentials(&self) -> Result<(service::auth::Credentials, Option<Box<dyn TokenStore>>)> {
        if let Some(token) = &self.config.env.token {
            let creds = service::auth::Credentials { access: Some(secrets::Secret::new(token.clone())), refresh: None };
            return Ok((creds, None));
        }
        let store = self.store(false);
        let stored = store.load()?;
        let creds = service::auth::Credentials {
            access: stored.as_ref().map(|t| t.access.clone()),
            refresh: stored.map(|t| t.refresh),
        };
        Ok((creds, Some(store)))
    }

    /// Resumes the logged-in session, storing rotated tokens.
    pub fn session<'db>(&self, db: &'db Db) -> Result<Session<'db>> {
        let (creds, store) = self.credentials()?;
        let resumed = service::auth::resume(db, &creds)?;
        if let (Some(issued), Some(store)) = (&resumed.rotated, store) {
            store.save(&issued.tokens)?;
        }
        telemetry::set_user(resumed.session.actor().id);
        Ok(resumed.session)
    }

    fn save_tokens(&self, tokens: &StoredTokens) -> Result<String> {
        let store = self.store(true);
        store.save(tokens)?;
        let file = secrets::FileStore::new(&self.config.token_dir, &self.db_key());
        if store.describe() != file.describe() {
            // A file left by an earlier fallback would otherwise shadow the keyring entry.
            file.clear()?;
        }
        Ok(store.describe())
    }

    /// Whether the session comes from `ROLO_TOKEN` rather than the store.
    fn token_from_env(&self) -> bool {
        self.config.env.token.is_some()
    }

    fn clear_tokens(&self) -> Result<()> {
        // Both places: a login may have fallen back to the file earlier.
        let key = self.db_key();
        secrets::FileStore::new(&self.config.token_dir, &key).clear()?;
        if self.config.token_store != secrets::StoreChoice::File {
            let keyring = secrets::KeyringStore::new(&key);
            if self.config.token_store == secrets::StoreChoice::Keyring || keyring.reachable() {
                keyring.clear()?;
            }
        }
        Ok(())
    }

    pub fn backup_settings(&self) -> service::backup::Settings {
        service::backup::Settings {
            dir: self.config.backup_dir.clone(),
            keep: self.config.backup_keep,
            every: self.config.backup_every,
        }
    }

    pub fn db_path(&self) -> &Path {
        &self.config.db_path
    }

    /// Delivers queued e-mail right after a command, with the short SMTP timeout (the same
    /// service call a server's background worker makes). Failures are warnings: the messages
    /// stay queued for `rolo mail outbox flush`.
    pub fn deliver_mail(&self, db: &Db) {
        match service::mail::deliver_pending(db, &self.config.smtp) {
            Ok(service::mail::Pending::NoServer { queued: true }) => {
                self.out.warn("e-mail is queued but no SMTP server is configured (ROLO_SMTP_URL or [smtp] url)")
            }
            Ok(service::mail::Pending::NoServer { queued: false }) => {}
            Ok(service::mail::Pending::Delivered(r)) if r.errors.is_empty() => {}
            Ok(service::mail::Pending::Delivered(r)) => self.out.warn(format!(
                "{} e-mail(s) could not be delivered and stay queued ({}); `rolo mail outbox flush` retries",
                r.deferred + r.failed,
                r.errors.first().map(String::as_str).unwrap_or("")
            )),
            Err(e) => self.out.warn(format!("e-mail delivery failed and will be retried: {e}")),
        }
    }

    pub fn ticket_settings(&self) -> service::ticket::Settings<'_> {
        service::ticket::Settings {
            smtp: &self.config.smtp,
            max_attachment_bytes: self.config.max_attachment_bytes,
            public_url: self.config.public_url.as_deref(),
        }
    }
}

/// Runs one parsed command line; returns the exit code of a success (0, or 10/11 for an SLA
/// check that found clocks at risk or breached).
pub fn run(cli: Cli, config: Config) -> Result<u8> {
    let g = &cli.globals;
    let format = if g.json { Format::Json } else { g.format.unwrap_or(Format::Table) };
    let prompt = Prompter::detect(g.no_input, config.env.no_input, config.env.ci);
    crate::db::key::allow_prompt(prompt.interactive);
    let ctx = Ctx { out: Output::new(format, g.quiet, config.env.no_color), prompt, config, exit: 0.into() };
    dispatch(&ctx, cli.command)?;
    Ok(ctx.exit.get())
}

fn dispatch(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::Init(args) => init::run(ctx, args),
        Command::Login(args) => auth::login(ctx, args),
        Command::Logout => auth::logout(ctx),
        Command::Whoami => auth::whoami(ctx),
        Command::Client(cmd) => client::run(ctx, cmd),
        Command::Contract(cmd) => contract::run(ctx, cmd),
        Command::Event(cmd) => event::run(ctx, cmd),
        Command::Ticket(cmd) => ticket::run(ctx, cmd),
        Command::Campaign(cmd) => campaign::run(ctx, cmd),
        Command::Mail(cmd) => mail::run(ctx, cmd),
        Command::User(cmd) => user::run(ctx, cmd),
        Command::Audit(cmd) => audit::run(ctx, cmd),
        Command::App(cmd) => app::run(ctx, cmd),
        Command::Backup(cmd) => backup::run(ctx, cmd),
        Command::Db(cmd) => dbfile::run(ctx, cmd),
        Command::Serve(args) => {
            // The schema is checked (and migrated) before the first request.
            ctx.open_db()?;
            let c = &ctx.config;
            let public_url = args.public_url.map(|u| u.trim_end_matches('/').to_string()).or(c.public_url.clone());
            let scheme = if args.tls_cert.is_some() { "https" } else { "http" };
            let settings = crate::serve::Settings {
                db_path: c.db_path.clone(),
                listen: args.listen,
                tls: args.tls_cert.zip(args.tls_key),
                smtp: c.smtp.clone(),
                campaign: crate::service::campaign::send::Options {
                    workers: c.campaign_workers,
                    domain_rate: c.campaign_domain_rate,
                    public_url: public_url.clone(),
                    ..Default::default()
                },
                public_url,
                work_every: args.work_every.unwrap_or(c.serve.work_every),
                form_rate: c.serve.form_rate,
                page_rate: c.serve.page_rate,
                max_attachment_bytes: c.max_attachment_bytes,
                backup: ctx.backup_settings(),
            };
            crate::serve::run(settings, |addr| eprintln!("rolo serve: listening on {scheme}://{addr}"))
        }
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "rolo", &mut buf);
            output::raw(&buf)
        }
        Command::Debug(DebugCommand::Panic) => panic!("deliberate panic from `rolo debug panic`"),
    }
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one, printed on stderr)
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Where recipients reach this server, e.g. https://crm.example.com (default: [serve] public_url)
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// PEM certificate chain: serve HTTPS (with --tls-key)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Seconds between two passes of the background delivery (outbox, due campaigns); 0: none
    #[arg(long, value_name = "SECONDS")]
    work_every: Option<u64>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    /// Relative dates start with a minus; each date flag takes them as its value.
    #[test]
    fn relative_dates_are_values_not_flags() {
        for line in [
            "rolo audit list --since -7d",
            "rolo ticket list --since -2h --at -1d",
            "rolo ticket sla check --at -1h",
            "rolo ticket sla explain 1 --at -30m",
            "rolo event list --from -30d --to -1d",
            "rolo event update 1 --start -2h --end -1h",
            "rolo client update 1 --last-contact -3d",
            "rolo campaign schedule 1 --at -1h",
            "rolo campaign link create https://x.example --expires -1d",
        ] {
            let args: Vec<&str> = line.split(' ').collect();
            assert!(super::Cli::try_parse_from(&args).is_ok(), "{line}");
        }
    }
}
