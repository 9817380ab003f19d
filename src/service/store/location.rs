//! Which store to open: `--store PATH`, else `$MAILMFA_STORE`, else the user's data folder; local
//! (WAL) or shared (rollback journal, for one file on a share used by several servers).

use std::path::{Path, PathBuf};

/// How the database file is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// One server uses the file on its own disk: WAL journal.
    Local,
    /// Several servers use the file on a network share: rollback journal (WAL does not work across
    /// machines).
    Shared,
}

impl StoreMode {
    /// `local` or `shared`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Shared => "shared",
        }
    }

    /// The other mode.
    pub fn other(self) -> Self {
        match self {
            Self::Local => Self::Shared,
            Self::Shared => Self::Local,
        }
    }

    /// The SQLite journal mode of the mode.
    pub(crate) fn journal(self) -> &'static str {
        match self {
            Self::Local => "wal",
            Self::Shared => "delete",
        }
    }
}

impl std::fmt::Display for StoreMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

impl std::str::FromStr for StoreMode {
    type Err = crate::domain::DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(Self::Local),
            "shared" => Ok(Self::Shared),
            _ => Err(crate::domain::DomainError::invalid("store mode", raw, "use local or shared")),
        }
    }
}

/// A store's path, and the mode asked for: shared when `--shared` was given or the path is a UNC
/// path, else whatever the store itself records (local for a new store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLocation {
    path: PathBuf,
    shared: bool,
}

impl StoreLocation {
    /// The store at `path`; a UNC path (`\\server\share\…`) is always shared.
    pub fn new(path: impl Into<PathBuf>, shared: bool) -> Self {
        let path = path.into();
        let shared = shared || is_unc(&path);
        Self { path, shared }
    }

    /// The store chosen by the command line or environment: `explicit`, else `$MAILMFA_STORE`, else
    /// the default local path.
    pub fn resolve(explicit: Option<PathBuf>, shared: bool) -> Self {
        let path = explicit
            .or_else(|| std::env::var_os("MAILMFA_STORE").filter(|p| !p.is_empty()).map(PathBuf::from))
            .unwrap_or_else(default_store_path);
        Self::new(path, shared)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mode asked for: shared, or local unless the store records otherwise.
    pub fn mode(&self) -> StoreMode {
        if self.shared { StoreMode::Shared } else { StoreMode::Local }
    }

    /// The mode asked for explicitly (`--shared`, a UNC path), if any.
    pub fn requested_mode(&self) -> Option<StoreMode> {
        self.shared.then_some(StoreMode::Shared)
    }
}

/// `<user data dir>/mailmfa/mailmfa.sqlite3` (`~/.local/share/mailmfa/…` on Linux,
/// `%APPDATA%\mailmfa\…` on Windows).
pub fn default_store_path() -> PathBuf {
    directories::BaseDirs::new()
        .map(|d| d.data_dir().join("mailmfa"))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("mailmfa.sqlite3")
}

fn is_unc(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.starts_with(r"\\") || text.starts_with("//")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unc_paths_are_shared() {
        assert_eq!(StoreLocation::new(r"\\mail1\mfa\store.sqlite3", false).mode(), StoreMode::Shared);
        assert_eq!(StoreLocation::new("//mail1/mfa/store.sqlite3", false).mode(), StoreMode::Shared);
        assert_eq!(StoreLocation::new("/var/lib/mfa.sqlite3", false).mode(), StoreMode::Local);
        assert_eq!(StoreLocation::new("/var/lib/mfa.sqlite3", true).mode(), StoreMode::Shared);
    }

    #[test]
    fn explicit_path_wins() {
        let loc = StoreLocation::resolve(Some(PathBuf::from("/tmp/x.sqlite3")), false);
        assert_eq!(loc.path(), Path::new("/tmp/x.sqlite3"));
        assert!(default_store_path().ends_with("mailmfa/mailmfa.sqlite3"));
    }
}
