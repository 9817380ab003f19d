//! The `mailmfa` executable: the console when started without a command, else the command line.

use std::process::ExitCode;

use clap::Parser;
use mailmfa::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.is_none() {
        return open_console(cli);
    }
    cli::run(cli)
}

/// Opens the console on the store named by `--store` or `$MAILMFA_STORE`, else on the last one
/// opened, else on the default local store.
#[cfg(feature = "gui")]
#[allow(clippy::print_stderr)]
fn open_console(cli: Cli) -> ExitCode {
    let from_env = std::env::var_os("MAILMFA_STORE").filter(|p| !p.is_empty()).map(std::path::PathBuf::from);
    let explicit = cli.store.or(from_env).map(|path| mailmfa::store::StoreLocation::new(path, cli.shared));
    match mailmfa::ui::run(explicit) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailmfa: the console could not start: {e}; the command line still works (`mailmfa --help`)");
            ExitCode::from(2)
        }
    }
}

#[cfg(not(feature = "gui"))]
#[allow(clippy::print_stderr)]
fn open_console(_cli: Cli) -> ExitCode {
    eprintln!(
        "mailmfa: this build has no console (built without the `gui` feature); run `mailmfa --help` for the command line"
    );
    ExitCode::from(2)
}
