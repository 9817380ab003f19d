//! This machine's mailmfa folder on Windows — `ProgramData\mailmfa`, holding the store keys, the
//! machine store the MSI sets up and the login service's log — taken from the system's known-folder
//! API (FOLDERID_ProgramData), not from the `ProgramData` environment variable: a service's
//! environment need not carry it, and the service and an administrator at a prompt must find the
//! same key (docs/DESIGN.md §13).

use std::path::PathBuf;

/// `ProgramData\mailmfa` on this machine (Windows); elsewhere `None`.
pub fn machine_folder() -> Option<PathBuf> {
    program_data().map(|dir| dir.join("mailmfa"))
}

#[cfg(windows)]
fn program_data() -> Option<PathBuf> {
    use known_folders::{KnownFolder, get_known_folder_path};
    // The known folder exists on every Windows since Vista; the fallbacks are for a damaged profile.
    get_known_folder_path(KnownFolder::ProgramData)
        .or_else(|| std::env::var_os("ProgramData").map(PathBuf::from))
        .or_else(|| Some(PathBuf::from(r"C:\ProgramData")))
}

#[cfg(not(windows))]
fn program_data() -> Option<PathBuf> {
    None
}
