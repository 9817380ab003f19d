//! The SQLite store: opening a local or shared database file with the right PRAGMAs, migrating its
//! schema, binding it to its store key, and running every change in one `BEGIN IMMEDIATE`
//! transaction. The typed queries live on [`Tx`], in the sibling files.

mod audit;
mod clients;
mod location;
mod mailboxes;
mod migrate;
mod notices;
mod platform;
mod postoffices;

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};
use thiserror::Error;

use super::crypto::{CryptoError, KeyRing, StoreKey, to_hex};
use crate::domain::DomainError;

pub use clients::{ClientRow, SigninRow, TransactionRow};
pub use location::{StoreLocation, StoreMode, default_store_path};
pub use mailboxes::{StoredAccessPass, TotpSecret};
pub use migrate::SCHEMA_VERSION;

/// How long one statement waits for another process's lock before SQLite reports "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How a connection of the store works: waits up to [`BUSY_TIMEOUT`] for another process's lock,
/// keeps [`STATEMENT_CACHE`] prepared statements, and plans each statement once (SQLite's query
/// planner stability guarantee): without it, a statement whose plan could depend on its bound
/// values is planned again whenever it is reused, which for the mailbox lookup of every login
/// cost a fifth of the login service's writer.
fn tune(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// How many prepared statements a connection keeps: more than a login's read-check-write uses, so
/// the statements of the hot path are parsed once per connection, not once per request.
const STATEMENT_CACHE: usize = 128;
/// How often a write transaction is retried when it still cannot take the write lock.
const WRITE_ATTEMPTS: u32 = 8;

/// What can go wrong with the store. Messages say what to do where there is something to do.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer mailmfa.
    #[error(
        "the store {path} has schema version {found}, but this mailmfa understands up to {supported}; upgrade mailmfa on this server (the store was not changed)"
    )]
    NewerSchema {
        /// The database file.
        path: String,
        /// The schema version in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// This machine has no key file for the store.
    #[error(
        "this machine has no key for the store {path} (store id {store_id}); import it with `mailmfa key import FILE` using a file made by `mailmfa key export` on a server that opens this store (expected at {key_path})"
    )]
    MissingKey {
        /// The database file.
        path: String,
        /// The store's id.
        store_id: String,
        /// Where the key file was looked for.
        key_path: String,
    },
    /// The key file does not open this store.
    #[error(
        "the key {key_path} does not open the store {path}: it belongs to another store or was replaced; nothing was changed — import the right key with `mailmfa key import FILE`"
    )]
    WrongKey {
        /// The database file.
        path: String,
        /// The key file.
        key_path: String,
    },
    /// A key or sealing problem.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The database holds a value this build cannot read.
    #[error("the store holds an invalid value: {0}")]
    Corrupt(String),
    /// The store file or its folder could not be created.
    #[error("cannot open the store {path}: {reason}")]
    Open {
        /// The database file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file at the store's path is not a mailmfa store; it was left as it is.
    #[error(
        "{path} is not a mailmfa store: {reason}; it was left as it is — point --store at a mailmfa store, or at a path where none exists yet to create one"
    )]
    NotAStore {
        /// The file.
        path: String,
        /// What it is instead.
        reason: String,
    },
    /// The store was asked for in another mode than the one it records.
    #[error("the store {path} is a {recorded} store, not a {} one; nothing was changed — switch it with `mailmfa store mode {}` on the one server that uses it now, or open it without --shared", recorded.other().word(), recorded.other().word())]
    ModeMismatch {
        /// The database file.
        path: String,
        /// The mode the store records.
        recorded: StoreMode,
    },
    /// Another server kept the store locked for too long.
    #[error("the store is busy: another server or process held its lock for too long; try again")]
    Busy,
}

impl From<DomainError> for StoreError {
    fn from(e: DomainError) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// An open store: one SQLite connection and the key that unseals its secrets.
pub struct Store {
    conn: Connection,
    key: StoreKey,
    store_id: String,
    location: Option<StoreLocation>,
    mode: Option<StoreMode>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("store_id", &self.store_id).field("location", &self.location).finish()
    }
}

/// User versions mailmfa could ever have written; anything else is not a mailmfa store.
const PLAUSIBLE_VERSIONS: std::ops::RangeInclusive<i64> = 1..=10_000;

impl Store {
    /// Opens the store at `location` with its key from `keyring`, creating it if the file does not
    /// exist. Opening writes nothing unless something is due (a migration, a journal mode that
    /// differs from the one the store records), so it works on a read-only file. Opening is
    /// retried for a while when another process holds the file's lock.
    pub fn open(location: &StoreLocation, keyring: &KeyRing) -> StoreResult<Self> {
        let mut attempt = 0;
        loop {
            let result = if location.path().exists() {
                Self::open_existing(location, keyring)
            } else {
                Self::create(location, keyring).and_then(|()| Self::open_existing(location, keyring))
            };
            match result {
                Err(StoreError::Sqlite(e)) if is_busy(&e) && attempt + 1 < WRITE_ATTEMPTS => {
                    attempt += 1;
                    thread::sleep(Duration::from_millis(25 << attempt.min(5)));
                }
                Err(StoreError::Sqlite(e)) if is_busy(&e) => return Err(StoreError::Busy),
                other => return other,
            }
        }
    }

    fn open_existing(location: &StoreLocation, keyring: &KeyRing) -> StoreResult<Self> {
        let path = location.path();
        let shown = path.display().to_string();
        let not_ours = |reason: String| StoreError::NotAStore { path: shown.clone(), reason };
        let meta =
            std::fs::metadata(path).map_err(|e| StoreError::Open { path: shown.clone(), reason: e.to_string() })?;
        if !meta.is_file() {
            return Err(not_ours("it is not a file".to_owned()));
        }
        if meta.len() == 0 {
            return Err(not_ours("the file is empty".to_owned()));
        }
        // No SQLITE_OPEN_CREATE: a file removed since the check above is an error, not a new store.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::Open { path: shown.clone(), reason: e.to_string() })?;
        tune(&conn)?;
        let version = migrate::schema_version(&conn).map_err(|e| {
            if is_busy(&e) { StoreError::Sqlite(e) } else { not_ours(format!("SQLite cannot read it ({e})")) }
        })?;
        if version > SCHEMA_VERSION && PLAUSIBLE_VERSIONS.contains(&version) {
            return Err(StoreError::NewerSchema { path: shown, found: version, supported: SCHEMA_VERSION });
        }
        if !PLAUSIBLE_VERSIONS.contains(&version) {
            let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
            return Err(not_ours(match (version, tables) {
                (0, 0) => "it is an empty SQLite database without a mailmfa schema".to_owned(),
                (0, _) => format!("it is an SQLite database with {tables} other objects and no mailmfa identity"),
                _ => format!("its schema version {version} is not one mailmfa writes"),
            }));
        }
        // The key is checked before anything is written, so a wrong or missing key changes nothing
        // (not even the journal mode).
        let (store_id, key) = Self::check_key(&conn, path, keyring)?;
        let current: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
        let recorded = read_mode(&conn)?;
        let mode =
            recorded.unwrap_or(if current.eq_ignore_ascii_case("wal") { StoreMode::Local } else { StoreMode::Shared });
        if location.requested_mode().is_some_and(|asked| asked != mode) {
            return Err(StoreError::ModeMismatch { path: shown, recorded: mode });
        }
        if !current.eq_ignore_ascii_case(mode.journal()) {
            set_journal_mode(&conn, &shown, mode)?;
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        if version < SCHEMA_VERSION {
            migrate::migrate(&conn, migrate::MIGRATIONS, mode)?;
        }
        Ok(Self { conn, key, store_id, location: Some(location.clone()), mode: Some(mode) })
    }

    /// Creates a new store at `location`: the schema, a new id and key, and the mode asked for are
    /// written to a new owner-only file beside it, the key is saved, and the file is then moved to
    /// the store's path unless a store appeared there meanwhile (then that one is used, and this
    /// attempt's key removed). No process ever sees a store without its identity.
    fn create(location: &StoreLocation, keyring: &KeyRing) -> StoreResult<()> {
        let path = location.path();
        let shown = path.display().to_string();
        let fail = |reason: String| StoreError::Open { path: shown.clone(), reason };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !dir.is_dir() {
            std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create its folder: {e}")))?;
            // A new folder of the store (such as %ProgramData%\mailmfa) is for the service and the
            // administrators only; on Unix the file itself is created owner-only below.
            #[cfg(windows)]
            super::crypto::keyring::restrict_folder(dir)?;
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(".mailmfa-new-").suffix(".sqlite3");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o600));
        }
        let file = builder.tempfile_in(dir).map_err(|e| fail(format!("cannot create a file in its folder: {e}")))?;
        let mode = location.mode();
        let (store_id, key) = {
            let conn = Connection::open(file.path()).map_err(|e| fail(e.to_string()))?;
            conn.pragma_update(None, "journal_mode", "DELETE")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            let tx = begin_immediate(&conn)?;
            migrate::migrate_in(&tx, migrate::MIGRATIONS)?;
            let store_id = new_store_id()?;
            let key = StoreKey::generate()?;
            write_identity(&tx, &store_id, &key)?;
            write_mode(&tx, mode)?;
            tx.commit().map_err(busy_or)?;
            (store_id, key)
        };
        keyring.save(&store_id, &key)?;
        match file.persist_noclobber(path) {
            Ok(_) => Ok(()),
            Err(e) => {
                let forgotten = keyring.forget(&store_id);
                if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                    forgotten.map_err(StoreError::from)
                } else {
                    Err(fail(format!("cannot move the new store into place: {}", e.error)))
                }
            }
        }
    }

    /// Switches the store's mode (journal) and records it: the explicit way to turn a local store
    /// into a shared one or back. Needs the store to itself: no other process may have it open.
    pub fn set_mode(&mut self, mode: StoreMode) -> StoreResult<()> {
        let shown = self.location.as_ref().map_or_else(|| "(memory)".to_owned(), |l| l.path().display().to_string());
        set_journal_mode(&self.conn, &shown, mode)?;
        let tx = begin_immediate(&self.conn)?;
        write_mode(&tx, mode)?;
        tx.commit().map_err(busy_or)?;
        self.mode = Some(mode);
        Ok(())
    }

    /// Another connection to the same store file, with the key already checked (for a worker
    /// thread); `None` for a store in memory, which has no other connection.
    pub fn reopen(&self) -> StoreResult<Option<Self>> {
        let Some(location) = &self.location else { return Ok(None) };
        let path = location.path();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::Open { path: path.display().to_string(), reason: e.to_string() })?;
        tune(&conn)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(Some(Self {
            conn,
            key: self.key.clone(),
            store_id: self.store_id.clone(),
            location: Some(location.clone()),
            mode: self.mode,
        }))
    }

    /// A store in memory with a fresh key, for tests and previews.
    pub fn open_in_memory() -> StoreResult<Self> {
        let conn = Connection::open_in_memory()?;
        tune(&conn)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate::migrate(&conn, migrate::MIGRATIONS, StoreMode::Local)?;
        let key = StoreKey::generate()?;
        let store_id = new_store_id()?;
        write_identity(&conn, &store_id, &key)?;
        Ok(Self { conn, key, store_id, location: None, mode: None })
    }

    /// Local or shared, as the store records it; `None` in memory.
    pub fn mode(&self) -> Option<StoreMode> {
        self.mode
    }

    /// The store's random id (names its key file).
    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// Where the store is, or `None` in memory.
    pub fn location(&self) -> Option<&StoreLocation> {
        self.location.as_ref()
    }

    /// The store key (for exporting it).
    pub fn key(&self) -> &StoreKey {
        &self.key
    }

    /// The journal mode SQLite reports for the open connection (`wal`, `delete`, `memory`).
    pub fn journal_mode(&self) -> StoreResult<String> {
        Ok(self.conn.pragma_query_value(None, "journal_mode", |row| row.get::<_, String>(0))?.to_ascii_lowercase())
    }

    /// Runs `f` in a read transaction.
    pub fn read<T, E: From<StoreError>>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred).map_err(busy_or)?;
        let out = f(&Tx { tx: &tx, key: &self.key })?;
        tx.commit().map_err(busy_or)?;
        Ok(out)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: the write lock is taken before anything is
    /// read, so a read-check-write cannot interleave with another process's. An error from `f`
    /// rolls everything back.
    pub fn write<T, E: From<StoreError>>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        let tx = begin_immediate(&self.conn)?;
        let out = f(&Tx { tx: &tx, key: &self.key })?;
        tx.commit().map_err(busy_or)?;
        Ok(out)
    }

    /// Integrity check as SQLite reports it (`ok` when sound).
    pub fn integrity_check(&self) -> StoreResult<String> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?)
    }

    fn check_key(conn: &Connection, path: &Path, keyring: &KeyRing) -> StoreResult<(String, StoreKey)> {
        let (store_id, check) = read_identity(conn)?
            .ok_or_else(|| StoreError::Corrupt("the store has a schema but no store id".to_owned()))?;
        let key_path = keyring.path_for(&store_id);
        let key = keyring.load(&store_id)?.ok_or_else(|| StoreError::MissingKey {
            path: path.display().to_string(),
            store_id: store_id.clone(),
            key_path: key_path.display().to_string(),
        })?;
        key.open(&key_check_context(&store_id), &check).map_err(|_| StoreError::WrongKey {
            path: path.display().to_string(),
            key_path: key_path.display().to_string(),
        })?;
        Ok((store_id, key))
    }

    /// Checks that `key` opens this store's key check, for `key import`.
    pub fn key_opens(location: &StoreLocation, store_id: &str, key: &StoreKey) -> StoreResult<bool> {
        let conn = Connection::open_with_flags(location.path(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| StoreError::Open { path: location.path().display().to_string(), reason: e.to_string() })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let Some((id, check)) = read_identity(&conn)? else {
            return Ok(false);
        };
        Ok(id == store_id && key.open(&key_check_context(&id), &check).is_ok())
    }

    /// Reads the id of the store at `location` without its key (for `key import`).
    pub fn peek_store_id(location: &StoreLocation) -> StoreResult<Option<String>> {
        let path = location.path();
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| StoreError::Open { path: path.display().to_string(), reason: e.to_string() })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if migrate::schema_version(&conn)? < 1 {
            return Ok(None);
        }
        Ok(read_identity(&conn)?.map(|(id, _)| id))
    }
}

/// A transaction on the store with its key at hand; the typed queries are its methods.
pub struct Tx<'a> {
    tx: &'a Transaction<'a>,
    key: &'a StoreKey,
}

impl Tx<'_> {
    /// The store key, for sealing and code hashes.
    pub fn key(&self) -> &StoreKey {
        self.key
    }

    /// Marks a point inside the transaction that [`Tx::rollback_to`] can return to.
    pub fn savepoint(&self, name: &str) -> StoreResult<()> {
        self.run_cached(&format!("SAVEPOINT {name}"))
    }

    /// Undoes everything since the savepoint `name`, and ends it.
    pub fn rollback_to(&self, name: &str) -> StoreResult<()> {
        self.run_cached(&format!("ROLLBACK TO {name}"))?;
        self.release(name)
    }

    /// Keeps everything since the savepoint `name`, and ends it.
    pub fn release(&self, name: &str) -> StoreResult<()> {
        self.run_cached(&format!("RELEASE {name}"))
    }

    /// Runs one statement without parameters through the statement cache (each API request takes
    /// a savepoint, so these run thousands of times a second).
    fn run_cached(&self, sql: &str) -> StoreResult<()> {
        self.tx.prepare_cached(sql)?.execute([])?;
        Ok(())
    }
}

fn begin_immediate(conn: &Connection) -> StoreResult<Transaction<'_>> {
    let mut attempt = 0;
    loop {
        match Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
            Ok(tx) => return Ok(tx),
            Err(e) if is_busy(&e) && attempt + 1 < WRITE_ATTEMPTS => {
                attempt += 1;
                thread::sleep(Duration::from_millis(25 << attempt.min(5)));
            }
            Err(e) => return Err(busy_or(e)),
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

fn busy_or(e: rusqlite::Error) -> StoreError {
    if is_busy(&e) { StoreError::Busy } else { StoreError::Sqlite(e) }
}

fn key_check_context(store_id: &str) -> String {
    format!("meta:key_check:{store_id}")
}

fn new_store_id() -> StoreResult<String> {
    let mut id = [0u8; 16];
    super::crypto::random_bytes(&mut id)?;
    Ok(to_hex(&id))
}

fn read_mode(conn: &Connection) -> StoreResult<Option<StoreMode>> {
    let word: Option<String> =
        conn.query_row("SELECT CAST(value AS TEXT) FROM meta WHERE key = 'mode'", [], |r| r.get(0)).optional()?;
    word.map(|w| w.parse().map_err(StoreError::from)).transpose()
}

fn write_mode(conn: &Connection, mode: StoreMode) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('mode', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![mode.word()],
    )?;
    Ok(())
}

fn set_journal_mode(conn: &Connection, shown: &str, mode: StoreMode) -> StoreResult<()> {
    let journal = mode.journal();
    let set: String = conn.pragma_update_and_check(None, "journal_mode", journal, |row| row.get(0))?;
    if set.eq_ignore_ascii_case(journal) {
        return Ok(());
    }
    Err(StoreError::Open {
        path: shown.to_owned(),
        reason: format!("SQLite kept journal mode {set} instead of {journal}; is another process using the file?"),
    })
}

fn read_identity(conn: &Connection) -> StoreResult<Option<(String, Vec<u8>)>> {
    let id: Option<String> =
        conn.query_row("SELECT CAST(value AS TEXT) FROM meta WHERE key = 'store_id'", [], |r| r.get(0)).optional()?;
    let check: Option<Vec<u8>> =
        conn.query_row("SELECT value FROM meta WHERE key = 'key_check'", [], |r| r.get(0)).optional()?;
    Ok(id.zip(check))
}

fn write_identity(conn: &Connection, store_id: &str, key: &StoreKey) -> StoreResult<()> {
    let check = key.seal(&key_check_context(store_id), b"mailmfa store key check")?;
    conn.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?1)", params![store_id])?;
    conn.execute("INSERT INTO meta (key, value) VALUES ('key_check', ?1)", params![check])?;
    Ok(())
}

/// Turns a stored word back into a domain value, or reports the row as corrupt.
pub(crate) fn parse_stored<T: std::str::FromStr<Err = DomainError>>(raw: &str) -> StoreResult<T> {
    raw.parse::<T>().map_err(StoreError::from)
}

/// A stored list of networks (comma-separated CIDR).
pub(crate) fn parse_stored_networks(raw: &str) -> StoreResult<Vec<crate::domain::IpNetwork>> {
    crate::domain::parse_networks(raw).map_err(StoreError::from)
}

/// Makes a path absolute for display in the status bar and messages.
pub fn display_path(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests;
