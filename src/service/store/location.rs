//! Which store to open: `--store PATH`, else `$MAILMFA_STORE`, else the user's data folder; local
//! (WAL) or shared (rollback journal, for one file on a share used by several servers).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::domain::DomainError;

crate::domain::words! {
    /// How the database file is used.
    pub enum StoreMode ("store mode") {
        /// One server uses the file on its own disk: WAL journal.
        Local = "local",
        /// Several servers use the file on a network share: rollback journal (WAL does not work
        /// across machines).
        Shared = "shared",
    }
}

impl StoreMode {
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

/// Where a store is: a SQLite file with the mode asked for (shared when `--shared` was given or
/// the path is a UNC path, else whatever the store itself records, local for a new store), or a
/// database on a PostgreSQL server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLocation {
    place: Place,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    File { path: PathBuf, shared: bool },
    Server(ServerAddress),
}

impl StoreLocation {
    /// A store file; `shared` asks for shared mode (a UNC path is always shared).
    pub fn new(path: impl Into<PathBuf>, shared: bool) -> Self {
        let path = path.into();
        let shared = shared || is_unc(&path);
        Self { place: Place::File { path, shared } }
    }

    /// A store on a database server.
    pub fn server(address: ServerAddress) -> Self {
        Self { place: Place::Server(address) }
    }

    /// What `--store` or `MAILMFA_STORE` says: a `postgres://` URL or a file's path.
    pub fn parse(raw: &OsStr, shared: bool) -> Result<Self, DomainError> {
        match raw.to_str().filter(|r| ServerAddress::is_url(r)) {
            Some(_) if shared => Err(DomainError::invalid(
                "store",
                &ServerAddress::shown_raw(raw),
                "--shared is for a store file; a database server is shared by all that connect to it",
            )),
            Some(url) => Ok(Self::server(url.parse()?)),
            None => Ok(Self::new(PathBuf::from(raw), shared)),
        }
    }

    /// `--store`, else `$MAILMFA_STORE`, else the default file in the user's data folder.
    pub fn resolve(explicit: Option<OsString>, shared: bool) -> Result<Self, DomainError> {
        match explicit.or_else(|| std::env::var_os("MAILMFA_STORE").filter(|p| !p.is_empty())) {
            Some(raw) => Self::parse(&raw, shared),
            None => Ok(Self::new(default_store_path(), shared)),
        }
    }

    /// Where the store is, to tell the two kinds apart in one `match`.
    pub fn place(&self) -> StorePlace<'_> {
        match &self.place {
            Place::File { path, .. } => StorePlace::File(path),
            Place::Server(address) => StorePlace::Server(address),
        }
    }

    /// The store file, or `None` for a database server.
    pub fn file(&self) -> Option<&Path> {
        match &self.place {
            Place::File { path, .. } => Some(path),
            Place::Server(_) => None,
        }
    }

    /// The database server, or `None` for a file.
    pub fn database_server(&self) -> Option<&ServerAddress> {
        match &self.place {
            Place::File { .. } => None,
            Place::Server(address) => Some(address),
        }
    }

    /// The mode asked for (a file's; a database server's store has none).
    pub fn mode(&self) -> StoreMode {
        match self.place {
            Place::File { shared: true, .. } => StoreMode::Shared,
            _ => StoreMode::Local,
        }
    }

    /// Shared mode when it was asked for, else whatever the store records.
    pub fn requested_mode(&self) -> Option<StoreMode> {
        matches!(self.place, Place::File { shared: true, .. }).then_some(StoreMode::Shared)
    }
}

/// A store file or a database on a server, as [`StoreLocation::place`] answers.
#[derive(Debug, Clone, Copy)]
pub enum StorePlace<'a> {
    /// A SQLite file.
    File(&'a Path),
    /// A database on a PostgreSQL server.
    Server(&'a ServerAddress),
}

impl std::fmt::Display for StoreLocation {
    /// The file's path, or the server's URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.place {
            Place::File { path, .. } => write!(f, "{}", path.display()),
            Place::Server(address) => write!(f, "{address}"),
        }
    }
}

/// A database on a PostgreSQL server: its `postgres://` URL as given but without the password,
/// which is kept apart (from the URL, `PGPASSWORD` or a prompt) and never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerAddress {
    url: String,
    password: Option<Zeroizing<String>>,
    root_certificates: Option<PathBuf>,
}

impl ServerAddress {
    /// Whether `raw` is a PostgreSQL URL rather than a file's path.
    pub fn is_url(raw: &str) -> bool {
        let lower = raw.trim_start().to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    fn shown_raw(raw: &OsStr) -> String {
        raw.to_str().and_then(|r| r.parse::<Self>().ok()).map_or_else(|| "(a URL)".to_owned(), |a| a.url)
    }

    /// The same address with this password.
    #[must_use]
    pub fn with_password(mut self, password: &str) -> Self {
        self.password = (!password.is_empty()).then(|| Zeroizing::new(password.to_owned()));
        self
    }

    /// The password, from the URL, a prompt or else `PGPASSWORD`.
    pub fn password(&self) -> Option<Zeroizing<String>> {
        self.password.clone().or_else(|| std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()).map(Zeroizing::new))
    }

    /// Whether a password was given with the address itself (not from `PGPASSWORD`).
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The certificate authorities to trust (`sslrootcert`), if not the usual public ones.
    pub fn root_certificates(&self) -> Option<&Path> {
        self.root_certificates.as_deref()
    }

    /// The URL the PostgreSQL client reads: without the password and without `sslrootcert`,
    /// which mailmfa reads itself.
    pub fn connection_url(&self) -> String {
        match self.url.split_once('?') {
            None => self.url.clone(),
            Some((base, query)) => {
                let kept: Vec<&str> = query.split('&').filter(|p| !p.starts_with("sslrootcert=")).collect();
                if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) }
            }
        }
    }
}

impl std::fmt::Debug for ServerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerAddress")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

impl std::fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

impl std::str::FromStr for ServerAddress {
    type Err = DomainError;

    /// Reads `postgres://[user[:password]@][host][:port][/database][?options]`; the password is
    /// taken out of the URL, from the user part or a `password=` option.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        let invalid =
            |reason: &str| DomainError::invalid("database server URL", "(not shown: it may hold a password)", reason);
        if !Self::is_url(raw) {
            return Err(invalid("it must start with postgres:// or postgresql://"));
        }
        let (scheme, rest) = raw.split_once("://").ok_or_else(|| invalid("it has no //"))?;
        let (before_query, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match before_query.find('/') {
            Some(i) => before_query.split_at(i),
            None => (before_query, ""),
        };
        let mut password = None;
        let authority = match authority.rsplit_once('@') {
            Some((user_info, host)) => match user_info.split_once(':') {
                Some((user, secret)) => {
                    password = Some(decode(secret).ok_or_else(|| invalid("its password is not valid UTF-8"))?);
                    format!("{user}@{host}")
                }
                None => authority.to_owned(),
            },
            None => authority.to_owned(),
        };
        let mut root_certificates = None;
        let mut kept = Vec::new();
        for pair in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "password" => password = Some(decode(value).ok_or_else(|| invalid("its password is not valid UTF-8"))?),
                "sslrootcert" => {
                    root_certificates = Some(PathBuf::from(
                        decode(value).ok_or_else(|| invalid("its sslrootcert is not valid UTF-8"))?,
                    ));
                    kept.push(pair);
                }
                _ => kept.push(pair),
            }
        }
        let mut url = format!("{}://{authority}{path}", scheme.to_ascii_lowercase());
        if !kept.is_empty() {
            url = format!("{url}?{}", kept.join("&"));
        }
        Ok(Self { url, password: password.filter(|p| !p.is_empty()).map(Zeroizing::new), root_certificates })
    }
}

fn decode(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(raw).decode_utf8().ok().map(|s| s.into_owned())
}

/// The store used when none is named: on Windows the machine's, in `ProgramData\mailmfa` (where the
/// MSI's service keeps it); elsewhere the user's data folder.
pub fn default_store_path() -> PathBuf {
    if let Some(machine) = crate::service::folders::machine_folder() {
        return machine.join("mailmfa.sqlite3");
    }
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
        let loc = StoreLocation::resolve(Some("/tmp/x.sqlite3".into()), false).unwrap();
        assert_eq!(loc.file(), Some(Path::new("/tmp/x.sqlite3")));
        assert!(default_store_path().ends_with("mailmfa/mailmfa.sqlite3"));
    }

    #[test]
    fn a_server_url_keeps_its_password_apart() {
        let loc = StoreLocation::parse(
            OsStr::new("postgres://mfa:s%3Acret@db1.example.com:5433/mailmfa?sslmode=require"),
            false,
        )
        .unwrap();
        let server = loc.database_server().unwrap();
        assert_eq!(loc.to_string(), "postgres://mfa@db1.example.com:5433/mailmfa?sslmode=require");
        assert_eq!(server.password().unwrap().as_str(), "s:cret");
        assert!(!format!("{loc:?}").contains("cret"));
        assert_eq!(loc.file(), None);

        let loc = StoreLocation::parse(
            OsStr::new("postgresql://mfa@/mailmfa?host=/run/pg&password=pw&sslrootcert=/etc/ca.pem"),
            false,
        )
        .unwrap();
        let server = loc.database_server().unwrap();
        assert_eq!(server.to_string(), "postgresql://mfa@/mailmfa?host=/run/pg&sslrootcert=/etc/ca.pem");
        assert_eq!(server.connection_url(), "postgresql://mfa@/mailmfa?host=/run/pg");
        assert_eq!(server.root_certificates(), Some(Path::new("/etc/ca.pem")));
        assert!(server.has_password());
    }

    #[test]
    fn shared_is_for_files_only() {
        let err = StoreLocation::parse(OsStr::new("postgres://mfa:secret@db1/mailmfa"), true).unwrap_err();
        assert!(err.to_string().contains("--shared is for a store file"), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
