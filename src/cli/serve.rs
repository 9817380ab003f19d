//! `mailmfa serve`: the login service, in the foreground or under the Windows service manager.

use std::net::SocketAddr;

use clap::Args;
use serde_json::json;

use super::output::{self, Output};
use super::{CliError, CliResult};
use crate::serve::log::{self, LogFormat};
use crate::serve::{ServeError, ServeOptions};
use crate::service::{KeyFolder, StoreLocation};

/// `mailmfa serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address and port to listen on (default: the setting serve.listen, 127.0.0.1:8750).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// The most requests one commit takes (1 turns group commit off; for benchmarks).
    #[arg(long, value_name = "N", hide = true, default_value_t = crate::serve::MAX_BATCH)]
    max_batch: usize,
    /// How log lines are written: text or json (one object a line). The level comes from
    /// MAILMFA_LOG: info (default), warn or debug.
    #[arg(long, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Run under the Windows service manager (as the MSI installs it).
    #[arg(long, hide = true)]
    windows_service: bool,
}

/// Serves until Ctrl-C (or SIGTERM, or the service manager) stops it.
pub fn run(location: &StoreLocation, args: &ServeArgs) -> CliResult {
    let options = ServeOptions { listen: args.listen, max_batch: args.max_batch };
    let keys = KeyFolder::default_location();
    if args.windows_service {
        return windows_service(location, keys, options, args.log_format);
    }
    let _log = log::to_stderr(args.log_format);
    let announce = |addr: SocketAddr, https: bool| {
        let scheme = if https { "https" } else { "http" };
        output::print_note(&format!("listening on {scheme}://{addr} (Ctrl-C stops)"));
    };
    crate::serve::run(location, &keys, &options, crate::serve::shutdown_signal(), announce)?;
    Ok(Output::done("Stopped.".to_owned(), json!({"stopped": true})))
}

#[cfg(windows)]
fn windows_service(location: &StoreLocation, keys: KeyFolder, options: ServeOptions, format: LogFormat) -> CliResult {
    crate::serve::windows::run(location.clone(), keys, options, format)?;
    Ok(Output::done("Stopped.".to_owned(), json!({"stopped": true})))
}

#[cfg(not(windows))]
fn windows_service(_: &StoreLocation, _: KeyFolder, _: ServeOptions, _: LogFormat) -> CliResult {
    Err(CliError::usage(
        "--windows-service runs only on Windows, under the service manager; on Linux use a systemd unit",
    ))
}

impl From<ServeError> for CliError {
    fn from(e: ServeError) -> Self {
        match e {
            ServeError::Service(e) => e.into(),
            e => Self { status: 2, message: super::error::one_line(&e.to_string()), hint: None },
        }
    }
}
