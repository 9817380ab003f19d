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

#[allow(clippy::print_stderr)]
fn open_console(_cli: Cli) -> ExitCode {
    eprintln!("mailmfa: the console is not built yet; run `mailmfa --help` for the command line");
    ExitCode::from(2)
}
