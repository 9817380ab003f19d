//! The `mailmfa` executable: the console when started without a command, else the command line
//! (see [`mailmfa::entry`]). The Windows release build uses the GUI subsystem, so double-clicking
//! it opens no console window.

#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    mailmfa::entry::main()
}
