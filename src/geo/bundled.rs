//! Locating the country database that ships with the product.

use std::path::PathBuf;

/// File name of the bundled country database.
pub const BUNDLED_DATABASE_FILE: &str = "iptoasn-country.mmdb";

/// The places the bundled database is looked for, in order:
///
/// 1. `<directory of the running executable>/geoip/<FILE>` (Windows MSI layout);
/// 2. `<directory of the running executable>/../share/mailmfa/geoip/<FILE>`
///    (Unix packages);
/// 3. `assets/geoip/<FILE>` in the source tree this crate was built from
///    (developer builds and tests).
///
/// Useful for telling an administrator where the database was expected.
#[must_use]
pub fn bundled_database_candidates() -> Vec<PathBuf> {
    let mut candidates = Vec::with_capacity(3);
    if let Some(exe_dir) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(PathBuf::from)) {
        candidates.push(exe_dir.join("geoip").join(BUNDLED_DATABASE_FILE));
        candidates.push(exe_dir.join("..").join("share").join("mailmfa").join("geoip").join(BUNDLED_DATABASE_FILE));
    }
    candidates.push(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/geoip")).join(BUNDLED_DATABASE_FILE));
    candidates
}

/// The bundled country database: the first of
/// [`bundled_database_candidates`] that is an existing file, or `None`.
#[must_use]
pub fn bundled_database_path() -> Option<PathBuf> {
    bundled_database_candidates().into_iter().find(|path| path.is_file())
}
