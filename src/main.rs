//! `rolo`: parse, run, map the error kind to an exit code. Nothing else.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use rolo::cli::{self, Cli};
use rolo::config::Config;
use rolo::{Error, ErrorKind, telemetry};

fn main() -> ExitCode {
    let (cli, command) = match Cli::parse_args() {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let config = match Config::load(cli.globals.db.as_deref(), cli.globals.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(&e, false),
    };
    let (_telemetry, warning) =
        telemetry::init(config.sentry_dsn.as_deref(), config.sentry_environment.as_deref(), &command);
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let reporting = config.sentry_dsn.is_some();
    match catch_unwind(AssertUnwindSafe(|| cli::run(cli, config))) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => fail(&e, reporting),
        Err(_) => {
            // The panic hook has printed the message and Sentry has captured it.
            eprintln!("error: rolo hit a bug and stopped; nothing was half-written (transactions roll back)");
            ExitCode::from(1)
        }
    }
}

fn fail(e: &Error, reporting: bool) -> ExitCode {
    // The reader went away (`rolo … | head`): the output simply ended.
    if e.is_broken_pipe() {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {e}");
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        eprintln!("  caused by: {c}");
        cause = c.source();
    }
    if e.kind() == ErrorKind::Internal && reporting {
        telemetry::capture(e);
    }
    ExitCode::from(cli::exit_code(e.kind()))
}
