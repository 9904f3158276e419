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
pub mod service;
pub mod telemetry;

pub use error::{Error, ErrorKind, Result};
