//! The store: a SQLite file (local or shared) or a database on a PostgreSQL server, its schema
//! migrated from one list, bound to its store key (kept outside the database), and every change
//! run in one transaction that writers take one at a time (`BEGIN IMMEDIATE` on SQLite, an
//! advisory lock on PostgreSQL). The typed queries live on [`Tx`], in the sibling files, written
//! once for both back ends (`sql.rs`).

mod administrators;
mod app_passwords;
mod audit;
mod clients;
mod copy;
mod location;
mod mailboxes;
mod migrate;
mod notices;
mod passkeys;
mod platform;
mod postgres;
mod postoffices;
mod sql;
mod sqlite;

use std::ops::Deref;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use thiserror::Error;

use super::crypto::{CryptoError, KeyRing, StoreKey, from_hex, to_hex};
use crate::domain::DomainError;
use postgres::PgConn;
use sql::{Conn, Dialect};

pub use administrators::{AdminRow, AdminSessionRow};
pub use clients::{ClientRow, SigninRow, TicketRow, TransactionRow};
pub use copy::CopySummary;
pub use location::{ServerAddress, StoreLocation, StoreMode, StorePlace, default_store_path};
pub use mailboxes::{StoredAccessPass, TotpSecret};
pub use migrate::SCHEMA_VERSION;
pub use passkeys::PasskeyRow;
pub use platform::Versions;

/// What can go wrong with the store. Messages say what to do where there is something to do.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database server refused a statement.
    #[error("the database server {server} reported: {reason}")]
    Server {
        /// The server and database, without a password.
        server: String,
        /// What it said.
        reason: String,
    },
    /// The connection to the database server broke (a restart, a failover, the network).
    #[error(
        "lost the connection to the database server {server} ({reason}); nothing of the interrupted change was kept — try again, mailmfa connects anew"
    )]
    ServerGone {
        /// The server and database, without a password.
        server: String,
        /// Why.
        reason: String,
    },
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
    #[error("this machine has no key for the store {path} (store id {store_id}; it was looked for at {key_path})")]
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
        "the key {key_path} does not open the store {path}: it belongs to another store or was replaced; nothing was changed"
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
    #[error("{path} is not a mailmfa store: {reason}; it was left as it is")]
    NotAStore {
        /// The file.
        path: String,
        /// What it is instead.
        reason: String,
    },
    /// The store was asked for in another mode than the one it records.
    #[error("the store {path} is a {recorded} store, not a {} one; nothing was changed", recorded.other().word())]
    ModeMismatch {
        /// The database file.
        path: String,
        /// The mode the store records.
        recorded: StoreMode,
    },
    /// A copy was asked into a store that holds data.
    #[error("the target store already holds {rows} rows; nothing was copied")]
    NotEmpty {
        /// How many rows it holds.
        rows: i64,
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

/// An open store: one connection and the key that unseals its secrets.
pub struct Store {
    db: Db,
    key: StoreKey,
    store_id: String,
    location: Option<StoreLocation>,
    mode: Option<StoreMode>,
}

/// The connection of a store.
enum Db {
    Sqlite(Connection),
    Postgres(Box<PgConn>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("store_id", &self.store_id).field("location", &self.location).finish()
    }
}

/// Schema versions mailmfa could ever have written; anything else is not a mailmfa store.
const PLAUSIBLE_VERSIONS: std::ops::RangeInclusive<i64> = 1..=10_000;

impl Store {
    /// Opens the store at `location` with its key from `keyring`, creating it if the file does not
    /// exist or the database is empty. Opening writes nothing unless something is due (a
    /// migration, a journal mode that differs from the one the store records), so it works on a
    /// read-only file.
    pub fn open(location: &StoreLocation, keyring: &KeyRing) -> StoreResult<Self> {
        match location.place() {
            StorePlace::File(path) => sqlite::open(location, path, keyring),
            StorePlace::Server(address) => Self::open_server(location, address, keyring),
        }
    }

    /// Opens (creating if the database is empty) the store in a database on a PostgreSQL server.
    /// Creating and migrating hold the write lock, so servers starting together create it once.
    fn open_server(location: &StoreLocation, address: &ServerAddress, keyring: &KeyRing) -> StoreResult<Self> {
        let pg = Box::new(PgConn::connect(address)?);
        let shown = pg.shown().to_owned();
        // A store of the current schema is checked in one read; only a new or older one is written.
        let current = in_server_transaction(&pg, false, |conn| {
            let found = ServerStore::inspect(conn, &shown)?;
            if found.version > SCHEMA_VERSION {
                return Err(StoreError::NewerSchema {
                    path: shown.clone(),
                    found: found.version,
                    supported: SCHEMA_VERSION,
                });
            }
            (found.version == SCHEMA_VERSION).then(|| check_key(conn, &shown, keyring)).transpose()
        })?;
        let (store_id, key) = match current {
            Some(identity) => identity,
            None => in_server_transaction(&pg, true, |conn| {
                match ServerStore::inspect(conn, &shown)?.version {
                    0 => {
                        migrate::migrate_in(conn, migrate::MIGRATIONS)?;
                        let store_id = new_store_id()?;
                        let key = StoreKey::generate()?;
                        write_identity(conn, &store_id, &key)?;
                        keyring.save(&store_id, &key)?;
                    }
                    version if version < SCHEMA_VERSION => {
                        check_key(conn, &shown, keyring)?;
                        migrate::migrate_in(conn, migrate::MIGRATIONS)?;
                    }
                    _ => {}
                }
                check_key(conn, &shown, keyring)
            })?,
        };
        Ok(Self { db: Db::Postgres(pg), key, store_id, location: Some(location.clone()), mode: None })
    }

    /// Switches a store file's mode (journal) and records it: the explicit way to turn a local
    /// store into a shared one or back. Needs the store to itself: no other process may have it
    /// open.
    pub fn set_mode(&mut self, mode: StoreMode) -> StoreResult<()> {
        let shown = self.location.as_ref().map_or_else(|| "(memory)".to_owned(), ToString::to_string);
        let Db::Sqlite(conn) = &self.db else {
            return Err(StoreError::Open {
                path: shown,
                reason: "a store on a database server has no local or shared mode".to_owned(),
            });
        };
        sqlite::set_journal_mode(conn, &shown, mode)?;
        self.write(|tx| write_mode(tx, mode))?;
        self.mode = Some(mode);
        Ok(())
    }

    /// Another connection to the same store, with the key already checked (for a worker
    /// thread); `None` for a store in memory, which has no other connection.
    pub fn reopen(&self) -> StoreResult<Option<Self>> {
        let Some(location) = &self.location else { return Ok(None) };
        let db = match location.place() {
            StorePlace::File(path) => Db::Sqlite(sqlite::reopen(path)?),
            StorePlace::Server(address) => Db::Postgres(Box::new(PgConn::connect(address)?)),
        };
        Ok(Some(Self {
            db,
            key: self.key.clone(),
            store_id: self.store_id.clone(),
            location: Some(location.clone()),
            mode: self.mode,
        }))
    }

    /// A store in memory with a fresh key, for tests and previews.
    pub fn open_in_memory() -> StoreResult<Self> {
        let (conn, store_id, key) = sqlite::open_in_memory()?;
        Ok(Self { db: Db::Sqlite(conn), key, store_id, location: None, mode: None })
    }

    /// Local or shared, as a store file records it; `None` in memory and on a database server.
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

    /// The journal mode SQLite reports for the open connection (`wal`, `delete`, `memory`), or
    /// `server` for a database server.
    pub fn journal_mode(&self) -> StoreResult<String> {
        match &self.db {
            Db::Sqlite(conn) => sqlite::journal_mode(conn),
            Db::Postgres(_) => Ok("server".to_owned()),
        }
    }

    /// Integrity check as SQLite reports it (`ok` when sound); a database server checks its own
    /// pages, so there the check is that the schema answers.
    pub fn integrity_check(&self) -> StoreResult<String> {
        match &self.db {
            Db::Sqlite(conn) => Ok(conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?),
            Db::Postgres(pg) => in_server_transaction(pg, false, |conn| {
                conn.query_one("SELECT count(*) AS n FROM meta", &[])?;
                Ok("ok".to_owned())
            }),
        }
    }

    /// Runs `f` in a read transaction.
    pub fn read<T, E: From<StoreError>>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        match &self.db {
            Db::Sqlite(conn) => {
                let tx = sqlite::ReadTransaction::begin(conn)?;
                let out = f(&Tx { conn: Conn::Sqlite(&tx), key: &self.key })?;
                tx.commit()?;
                Ok(out)
            }
            Db::Postgres(pg) => in_server_transaction(pg, false, |conn| f(&Tx { conn, key: &self.key })),
        }
    }

    /// Where the store stands now, read outside a transaction (see [`Stamp`]); `None` on
    /// PostgreSQL, which keeps no such number.
    pub fn stamp(&self) -> StoreResult<Option<Stamp>> {
        match &self.db {
            Db::Sqlite(conn) => sqlite::stamp(conn).map(Some),
            Db::Postgres(_) => Ok(None),
        }
    }

    /// Runs `f` in one write transaction: the write lock is taken before anything is read, so a
    /// read-check-write cannot interleave with another process's. An error from `f` rolls
    /// everything back.
    pub fn write<T, E: From<StoreError>>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        match &self.db {
            Db::Sqlite(conn) => {
                let tx = sqlite::begin_immediate(conn)?;
                let out = f(&Tx { conn: Conn::Sqlite(&tx), key: &self.key })?;
                tx.commit().map_err(sqlite::busy_or)?;
                Ok(out)
            }
            Db::Postgres(pg) => in_server_transaction(pg, true, |conn| f(&Tx { conn, key: &self.key })),
        }
    }

    /// Checks that `key` opens the key check of the store at `location`, for `key import`.
    pub fn key_opens(location: &StoreLocation, store_id: &str, key: &StoreKey) -> StoreResult<bool> {
        let check = |conn: Conn<'_>| -> StoreResult<bool> {
            let Some((id, check)) = read_identity(conn)? else { return Ok(false) };
            Ok(id == store_id && key.open(&key_check_context(&id), &check).is_ok())
        };
        match location.place() {
            StorePlace::File(path) => check(Conn::Sqlite(&sqlite::open_read_only(path)?)),
            StorePlace::Server(address) => in_server_transaction(&PgConn::connect(address)?, false, check),
        }
    }

    /// Reads the id of the store at `location` without its key (for `key import`).
    pub fn peek_store_id(location: &StoreLocation) -> StoreResult<Option<String>> {
        match location.place() {
            StorePlace::File(path) => {
                if !path.exists() {
                    return Ok(None);
                }
                let conn = sqlite::open_read_only(path)?;
                if migrate::schema_version(Conn::Sqlite(&conn))? < 1 {
                    return Ok(None);
                }
                Ok(read_identity(Conn::Sqlite(&conn))?.map(|(id, _)| id))
            }
            StorePlace::Server(address) => {
                let pg = PgConn::connect(address)?;
                let shown = pg.shown().to_owned();
                in_server_transaction(&pg, false, |conn| {
                    if ServerStore::inspect(conn, &shown)?.version < 1 {
                        return Ok(None);
                    }
                    Ok(read_identity(conn)?.map(|(id, _)| id))
                })
            }
        }
    }
}

/// Runs `f` in one transaction on the server: a write takes the store's write lock first. The
/// transaction is rolled back unless `f` succeeds and the commit does — also when `f` panics.
fn in_server_transaction<T, E: From<StoreError>>(
    pg: &PgConn,
    write: bool,
    f: impl FnOnce(Conn<'_>) -> Result<T, E>,
) -> Result<T, E> {
    struct Open<'a>(&'a PgConn);
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            self.0.rollback();
        }
    }
    let open = Open(pg);
    if write {
        pg.begin_write()?
    } else {
        pg.begin_read()?
    };
    let out = f(Conn::Postgres(pg))?;
    pg.commit()?;
    std::mem::forget(open);
    Ok(out)
}

/// What a database on a server holds: nothing, a mailmfa store of a schema version, or other
/// tables (then it is not ours to use).
struct ServerStore {
    version: i64,
}

impl ServerStore {
    fn inspect(conn: Conn<'_>, shown: &str) -> StoreResult<Self> {
        let version = migrate::schema_version(conn)?;
        if version != 0 {
            if !PLAUSIBLE_VERSIONS.contains(&version) {
                return Err(StoreError::NotAStore {
                    path: shown.to_owned(),
                    reason: format!("its schema version {version} is not one mailmfa writes"),
                });
            }
            return Ok(Self { version });
        }
        let tables: i64 = conn
            .query_one(
                "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()",
                &[],
            )?
            .get("n")?;
        if tables > 0 {
            return Err(StoreError::NotAStore {
                path: shown.to_owned(),
                reason: format!(
                    "the database holds {tables} other tables and no mailmfa store; give mailmfa a database of its own"
                ),
            });
        }
        Ok(Self { version: 0 })
    }
}

/// Where a SQLite store stands, for what a connection keeps from its reads: a commit by any other
/// connection (any process) moves the file's data version, and a change made through this
/// connection its count of changes. While both stay the same, reading again reads the same rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    data_version: i64,
    own_changes: u64,
}

/// A transaction on the store with its key at hand; the typed queries are its methods.
pub struct Tx<'a> {
    conn: Conn<'a>,
    key: &'a StoreKey,
}

impl<'a> Deref for Tx<'a> {
    type Target = Conn<'a>;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl Tx<'_> {
    /// The store key, for sealing and code hashes.
    pub fn key(&self) -> &StoreKey {
        self.key
    }

    /// Where the store stands as this transaction reads it (see [`Stamp`]); `None` on PostgreSQL.
    pub fn stamp(&self) -> StoreResult<Option<Stamp>> {
        match self.conn {
            Conn::Sqlite(conn) => sqlite::stamp(conn).map(Some),
            Conn::Postgres(_) => Ok(None),
        }
    }

    /// Marks a point inside the transaction that [`Tx::rollback_to`] can return to.
    pub fn savepoint(&self, name: &str) -> StoreResult<()> {
        self.run(&format!("SAVEPOINT {name}"))
    }

    /// Undoes everything since the savepoint `name`, and ends it.
    pub fn rollback_to(&self, name: &str) -> StoreResult<()> {
        self.run(&format!("ROLLBACK TO {name}"))?;
        self.release(name)
    }

    /// Keeps everything since the savepoint `name`, and ends it.
    pub fn release(&self, name: &str) -> StoreResult<()> {
        self.run(&format!("RELEASE {name}"))
    }
}

fn check_key(conn: Conn<'_>, shown: &str, keyring: &KeyRing) -> StoreResult<(String, StoreKey)> {
    let (store_id, check) =
        read_identity(conn)?.ok_or_else(|| StoreError::Corrupt("the store has a schema but no store id".to_owned()))?;
    let key_path = keyring.path_for(&store_id);
    let key = keyring.load(&store_id)?.ok_or_else(|| StoreError::MissingKey {
        path: shown.to_owned(),
        store_id: store_id.clone(),
        key_path: key_path.display().to_string(),
    })?;
    key.open(&key_check_context(&store_id), &check)
        .map_err(|_| StoreError::WrongKey { path: shown.to_owned(), key_path: key_path.display().to_string() })?;
    Ok((store_id, key))
}

fn key_check_context(store_id: &str) -> String {
    format!("meta:key_check:{store_id}")
}

fn new_store_id() -> StoreResult<String> {
    let mut id = [0u8; 16];
    super::crypto::random_bytes(&mut id)?;
    Ok(to_hex(&id))
}

fn read_mode(conn: Conn<'_>) -> StoreResult<Option<StoreMode>> {
    let word: Option<String> = conn
        .query_opt("SELECT CAST(value AS TEXT) AS value FROM meta WHERE key = 'mode'", &[])?
        .map(|r| r.get("value"))
        .transpose()?;
    word.map(|w| w.parse().map_err(StoreError::from)).transpose()
}

fn write_mode(conn: &Conn<'_>, mode: StoreMode) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('mode', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&mode.word()],
    )?;
    Ok(())
}

/// The store's id and key check. The key check is bytes; a database server keeps `meta` as
/// text, so there it is hex.
fn read_identity(conn: Conn<'_>) -> StoreResult<Option<(String, Vec<u8>)>> {
    let id: Option<String> = conn
        .query_opt("SELECT CAST(value AS TEXT) AS value FROM meta WHERE key = 'store_id'", &[])?
        .map(|r| r.get("value"))
        .transpose()?;
    let check = match conn.query_opt("SELECT value FROM meta WHERE key = 'key_check'", &[])? {
        None => None,
        Some(row) => Some(match conn.dialect() {
            Dialect::Sqlite => row.get::<Vec<u8>>("value")?,
            Dialect::Postgres => from_hex(&row.get::<String>("value")?)
                .ok_or_else(|| StoreError::Corrupt("the store's key check is not hex".to_owned()))?,
        }),
    };
    Ok(id.zip(check))
}

fn write_identity(conn: Conn<'_>, store_id: &str, key: &StoreKey) -> StoreResult<()> {
    let check = key.seal(&key_check_context(store_id), b"mailmfa store key check")?;
    write_identity_check(conn, store_id, &check)
}

/// Writes the store's id and the sealed check its key must open.
fn write_identity_check(conn: Conn<'_>, store_id: &str, check: &[u8]) -> StoreResult<()> {
    conn.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?1)", &[&store_id])?;
    match conn.dialect() {
        Dialect::Sqlite => conn.execute("INSERT INTO meta (key, value) VALUES ('key_check', ?1)", &[&check])?,
        Dialect::Postgres => {
            conn.execute("INSERT INTO meta (key, value) VALUES ('key_check', ?1)", &[&to_hex(check)])?
        }
    };
    Ok(())
}

/// Turns a stored word back into a domain value, or reports the row as corrupt.
pub(crate) fn parse_stored<T: std::str::FromStr<Err = DomainError>>(raw: &str) -> StoreResult<T> {
    raw.parse::<T>().map_err(StoreError::from)
}

/// A stored mail-program policy (`NULL`: the level above decides).
pub(crate) fn parse_mail_programs(raw: Option<String>) -> StoreResult<crate::domain::MailPrograms> {
    raw.as_deref().map_or(Ok(crate::domain::MailPrograms::Inherit), |word| {
        parse_stored(word).map(crate::domain::MailPrograms::Policy)
    })
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
