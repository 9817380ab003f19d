//! Errors raised while loading a GeoIP database.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a GeoIP database could not be loaded.
///
/// The message always starts with "GeoIP database `<path>` could not be
/// read: ", followed by the reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// The file could not be read (missing, unreadable, …).
    #[error("GeoIP database {} could not be read: {cause}", path.display())]
    Io {
        /// The database file.
        path: PathBuf,
        /// The underlying I/O error (for example `NotFound`).
        cause: std::io::Error,
    },
    /// The data is not a usable MaxMind DB (`.mmdb`) database.
    #[error(
        "GeoIP database {} could not be read: not a valid MaxMind DB file ({cause})",
        DisplayOrigin(path.as_deref())
    )]
    Invalid {
        /// The database file, or `None` when it was loaded from memory.
        path: Option<PathBuf>,
        /// The reader's description of the problem.
        cause: maxminddb::MaxMindDbError,
    },
}

/// Displays a database path, or a placeholder for in-memory data.
struct DisplayOrigin<'a>(Option<&'a Path>);

impl fmt::Display for DisplayOrigin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => path.display().fmt(f),
            None => f.write_str("(in memory)"),
        }
    }
}
