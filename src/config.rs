//! Configuration: the config file, then environment variables, then flags. This is the one
//! module that reads environment variables, so every knob is listed here.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::secrets::StoreChoice;
use crate::{Error, ErrorKind, Result};

/// The environment, read once.
#[derive(Debug, Default, Clone)]
pub struct Env {
    pub db: Option<String>,
    pub config: Option<String>,
    pub token: Option<String>,
    pub token_store: Option<String>,
    pub sentry_dsn: Option<String>,
    pub no_input: bool,
    pub no_color: bool,
    pub ci: bool,
    pub password: Option<String>,
    pub new_password: Option<String>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub xdg_config_home: Option<String>,
    pub xdg_data_home: Option<String>,
    pub home: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn flag(name: &str) -> bool {
    var(name).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
}

impl Env {
    pub fn read() -> Env {
        Env {
            db: var("ROLO_DB"),
            config: var("ROLO_CONFIG"),
            token: var("ROLO_TOKEN"),
            token_store: var("ROLO_TOKEN_STORE"),
            sentry_dsn: var("SENTRY_DSN"),
            no_input: flag("ROLO_NO_INPUT"),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            ci: flag("CI"),
            password: var("ROLO_PASSWORD"),
            new_password: var("ROLO_NEW_PASSWORD"),
            smtp_url: var("ROLO_SMTP_URL"),
            smtp_from: var("ROLO_SMTP_FROM"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            xdg_data_home: var("XDG_DATA_HOME"),
            home: var("HOME"),
        }
    }

    fn base(&self, xdg: &Option<String>, fallback: &str) -> PathBuf {
        match (xdg, &self.home) {
            (Some(x), _) => PathBuf::from(x),
            (None, Some(h)) => Path::new(h).join(fallback),
            (None, None) => PathBuf::from("."),
        }
    }

    /// `$XDG_CONFIG_HOME/rolo` (or `~/.config/rolo`).
    pub fn config_dir(&self) -> PathBuf {
        self.base(&self.xdg_config_home, ".config").join("rolo")
    }

    /// `$XDG_DATA_HOME/rolo` (or `~/.local/share/rolo`).
    pub fn data_dir(&self) -> PathBuf {
        self.base(&self.xdg_data_home, ".local/share").join("rolo")
    }
}

/// The config file (`config.example.toml` documents every key).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database: Option<PathBuf>,
    #[serde(default)]
    pub sentry: SentrySection,
    #[serde(default)]
    pub backup: BackupSection,
    #[serde(default)]
    pub smtp: SmtpSection,
    #[serde(default)]
    pub tickets: TicketsSection,
    #[serde(default)]
    pub serve: ServeSection,
    #[serde(default)]
    pub campaign: CampaignSection,
    pub dkim: Option<DkimSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimSection {
    /// The DNS selector (`SELECTOR._domainkey.DOMAIN`).
    pub selector: String,
    /// A PEM private key, RSA or Ed25519 (relative to the config file).
    pub key_file: PathBuf,
    /// The signing domain (default: each message's From domain).
    pub domain: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    /// Where `rolo serve` answers for recipients (unsubscribe links, one-click header).
    pub public_url: Option<String>,
    /// Seconds between two passes of the server's background delivery (default 5; 0: none).
    pub work_every_seconds: Option<u64>,
    /// Form posts per minute and address (default 10; 0: no limit).
    pub form_rate_per_minute: Option<u32>,
    /// Landing page and short link views per minute and address (default 120; 0: no limit).
    pub page_rate_per_minute: Option<u32>,
}

/// How `rolo serve` runs, from `[serve]`.
#[derive(Debug, Clone)]
pub struct Serve {
    pub work_every: u64,
    pub form_rate: u32,
    pub page_rate: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSection {
    /// Sending threads, each with its SMTP connection (default 4).
    pub workers: Option<usize>,
    /// Messages per second to one recipient domain (default 0: no limit).
    pub domain_rate: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    pub url: Option<String>,
    pub from: Option<String>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketsSection {
    pub max_attachment_mb: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentrySection {
    pub dsn: Option<String>,
    pub environment: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSection {
    pub dir: Option<PathBuf>,
    pub keep: Option<usize>,
    /// How often `rolo serve` takes a backup (`6h`, `1d`…); `rolo backup list` warns when the
    /// newest is older.
    pub every: Option<String>,
}

/// Everything a command needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct Config {
    pub db_path: PathBuf,
    pub sentry_dsn: Option<String>,
    pub sentry_environment: Option<String>,
    pub backup_dir: PathBuf,
    pub backup_keep: Option<usize>,
    pub backup_every: Option<chrono::Duration>,
    pub token_store: StoreChoice,
    pub token_dir: PathBuf,
    pub smtp: crate::mail::SmtpSettings,
    pub max_attachment_bytes: u64,
    pub public_url: Option<String>,
    pub campaign_workers: usize,
    pub campaign_domain_rate: u32,
    pub serve: Serve,
    pub env: Env,
}

impl Config {
    /// Flags win over the environment, which wins over the file.
    pub fn load(flag_db: Option<&Path>, flag_config: Option<&Path>) -> Result<Config> {
        let env = Env::read();
        let explicit = flag_config.map(Path::to_path_buf).or_else(|| env.config.as_ref().map(PathBuf::from));
        let path = explicit.clone().unwrap_or_else(|| env.config_dir().join("config.toml"));
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<FileConfig>(&text).map_err(|e| {
                Error::new(ErrorKind::Invalid, format!("config file {}: {}", path.display(), e.message()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => FileConfig::default(),
            Err(e) => {
                return Err(Error::usage(format!("cannot read the config file {}: {e}", path.display())));
            }
        };
        let relative_to_config =
            |p: PathBuf| if p.is_relative() { path.parent().unwrap_or(Path::new(".")).join(p) } else { p };
        let db_path = flag_db
            .map(Path::to_path_buf)
            .or_else(|| env.db.as_ref().map(PathBuf::from))
            .or_else(|| file.database.map(relative_to_config))
            .unwrap_or_else(|| env.data_dir().join("rolo.db"));
        let backup_dir = file.backup.dir.map(relative_to_config).unwrap_or_else(|| {
            db_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("backups")
        });
        let backup_every = file
            .backup
            .every
            .as_deref()
            .map(|e| crate::domain::time::parse_duration("[backup] every", e))
            .transpose()
            .map_err(|e| Error::new(ErrorKind::Invalid, format!("config file {}: {}", path.display(), e.message())))?
            .filter(|d| *d > chrono::Duration::zero());
        let token_store = StoreChoice::parse(env.token_store.as_deref().unwrap_or(""))?;
        let smtp = crate::mail::SmtpSettings {
            url: env.smtp_url.clone().or(file.smtp.url),
            from: env.smtp_from.clone().or(file.smtp.from).unwrap_or_else(|| "Rolo <rolo@localhost>".to_string()),
            timeout: std::time::Duration::from_secs(file.smtp.timeout_seconds.unwrap_or(5).clamp(1, 120)),
            dkim: file.dkim.map(|d| crate::mail::DkimSettings {
                selector: d.selector,
                key_file: relative_to_config(d.key_file),
                domain: d.domain.filter(|d| !d.is_empty()),
            }),
        };
        Ok(Config {
            db_path,
            sentry_dsn: env.sentry_dsn.clone().or(file.sentry.dsn).filter(|d| !d.is_empty()),
            sentry_environment: file.sentry.environment,
            backup_dir,
            backup_keep: file.backup.keep,
            backup_every,
            token_store,
            token_dir: env.config_dir().join("sessions"),
            smtp,
            max_attachment_bytes: file.tickets.max_attachment_mb.unwrap_or(25).clamp(1, 1024) * 1024 * 1024,
            serve: Serve {
                work_every: file.serve.work_every_seconds.unwrap_or(5),
                form_rate: file.serve.form_rate_per_minute.unwrap_or(10),
                page_rate: file.serve.page_rate_per_minute.unwrap_or(120),
            },
            public_url: file.serve.public_url.map(|u| u.trim_end_matches('/').to_string()).filter(|u| !u.is_empty()),
            campaign_workers: file.campaign.workers.unwrap_or(8).clamp(1, 64),
            campaign_domain_rate: file.campaign.domain_rate.unwrap_or(0),
            env,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../config.example.toml");
        let parsed: FileConfig = toml::from_str(text).expect("config.example.toml must parse");
        assert!(parsed.backup.keep.is_some());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<FileConfig>("[backup]\nkeeep = 3\n").is_err());
    }
}
