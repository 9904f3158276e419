//! Rolo, a terminal CRM over one SQLite database shared by several staff members.
//!
//! Data flows one way: `cli → service → db`.
//! - [`cli`] parses the command line (clap), prompts on a terminal, calls one service function
//!   and prints what it returns through `cli::output`, the only writer to stdout.
//! - [`service`] is where rules live: every operation takes the acting [`service::Session`]
//!   first, calls `session.require(permission)` and gets a [`service::Grant`] — the only way to
//!   open a write transaction — then validates, writes in one transaction, and audits.
//! - [`db`] is the only module that touches the SQLite driver; every statement is parameterized.
//! - [`domain`] holds plain types and rules: the permission catalogue, validation, time.
//! - [`secrets`] keeps session tokens in the OS keyring (or a 0600 file), [`config`] reads the
//!   config file and the environment, [`telemetry`] reports internal errors to Sentry.
//!
//! Errors carry an [`ErrorKind`] that `main` maps to the exit codes of the CLI contract.

pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
mod error;
pub mod mail;
pub mod secrets;
pub mod serve;
pub mod service;
pub mod telemetry;

pub use error::{Error, ErrorKind, Result};

/// The rules of ARCHITECTURE.md that a grep can check: data flows `cli → service → db`, the
/// SQLite driver stays in `db`, clap stays in `cli`, and the modules named below do not call
/// each other.
#[cfg(test)]
mod architecture_tests {
    use std::path::{Path, PathBuf};

    fn sources(dir: &str) -> Vec<(PathBuf, String)> {
        fn walk(p: &Path, out: &mut Vec<(PathBuf, String)>) {
            for e in std::fs::read_dir(p).expect("read_dir").flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push((p.clone(), std::fs::read_to_string(&p).expect("read")));
                }
            }
        }
        let mut out = Vec::new();
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir), &mut out);
        out
    }

    /// Lines of code (comments left out) that contain `needle`.
    fn uses(dir: &str, needle: &str) -> Vec<String> {
        sources(dir)
            .into_iter()
            .flat_map(|(p, text)| {
                text.lines()
                    .filter(|l| !l.trim_start().starts_with("//") && l.contains(needle))
                    .map(|l| format!("{}: {}", p.display(), l.trim()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn the_layers_keep_to_themselves() {
        for dir in ["service", "domain", "cli", "mail"] {
            assert!(uses(dir, "rusqlite").is_empty(), "{dir} names rusqlite: {:?}", uses(dir, "rusqlite"));
        }
        for dir in ["service", "domain", "db", "mail"] {
            assert!(uses(dir, "clap").is_empty(), "{dir} names clap: {:?}", uses(dir, "clap"));
        }
        assert!(uses("db", "service::").is_empty(), "db names the service layer: {:?}", uses("db", "service::"));
        assert!(uses("domain", "service::").is_empty(), "domain names services: {:?}", uses("domain", "service::"));
        assert!(uses("service", "pub use db::").is_empty());
    }

    #[test]
    fn sla_and_ticket_services_do_not_call_each_other() {
        let sla = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/service/sla.rs")).expect("sla");
        assert!(
            !sla.contains("super::ticket") && !sla.contains("service::ticket"),
            "service::sla calls service::ticket"
        );
    }
}
