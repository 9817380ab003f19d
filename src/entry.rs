//! What the `mailmfa` executables run: the console when started without a command, else the
//! command line. On Windows, `mailmfa.exe` is a GUI-subsystem program (no console window when
//! double-clicked) that attaches to the console of a prompt that starts it with arguments;
//! `mailmfa.com` is the same program for the console subsystem, so a prompt or a script waits for
//! it like any command.

use std::process::ExitCode;

use crate::cli::{self, Cli};
use clap::Parser as _;

/// Runs `mailmfa` with the process's arguments: the console when there are none, else the
/// command line. Both executables (`mailmfa.exe` and its console-subsystem twin `mailmfa.com`) are
/// this function.
pub fn main() -> ExitCode {
    if std::env::args_os().len() > 1 {
        attach_parent_console();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::usage_error(&e),
    };
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
    let from_env = std::env::var_os("MAILMFA_STORE").filter(|p| !p.is_empty());
    let explicit = match cli.store.map(std::path::PathBuf::into_os_string).or(from_env) {
        None => None,
        Some(raw) => match crate::service::StoreLocation::parse(&raw, cli.shared) {
            Ok(location) => Some(location),
            Err(e) => {
                eprintln!("mailmfa: {e}");
                return ExitCode::from(2);
            }
        },
    };
    match crate::ui::run(explicit) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = format!(
                "The console could not start: {e}\n\nOn a server without a graphics adapter, make sure the \
                 Windows graphics drivers (or the Microsoft Basic Display Adapter) are present. The command \
                 line still works: run `mailmfa --help` from a prompt."
            );
            eprintln!("mailmfa: {}", message.replace("\n\n", " "));
            // Started from the Start menu there is no terminal to read stderr: say it in a window.
            rfd::MessageDialog::new()
                .set_level(rfd::MessageLevel::Error)
                .set_title("mailmfa")
                .set_description(message)
                .set_buttons(rfd::MessageButtons::Ok)
                .show();
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

/// Connects stdout and stderr to the console of the process that started this one (cmd,
/// PowerShell), if it has one. A GUI-subsystem program gets no console of its own; without this,
/// `mailmfa mailbox list` from a prompt would print nothing. Arguments (a command, `--help`,
/// `--version`, or a mistake clap reports) are the sign that a prompt started it.
#[cfg(windows)]
#[allow(unsafe_code)]
fn attach_parent_console() {
    use windows_sys::Win32::System::Console::{ATTACH_PARENT_PROCESS, AttachConsole};
    // SAFETY: AttachConsole takes a process id by value and touches no memory of ours; it fails
    // harmlessly (returns 0) when the parent has no console or this process already has one, and
    // the standard handles Rust opens lazily then point at the attached console.
    unsafe {
        AttachConsole(ATTACH_PARENT_PROCESS);
    }
}

/// Elsewhere the process inherits its terminal; nothing to do.
#[cfg(not(windows))]
fn attach_parent_console() {}
