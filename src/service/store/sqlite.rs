//! The SQLite side of the store: opening a local or shared database file with the right
//! PRAGMAs, creating a new one safely, its journal (WAL for one server, the rollback journal for a
//! file several servers share) and `BEGIN IMMEDIATE` with retries while another process writes.

use std::path::Path;
use std::thread;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use super::super::crypto::{KeyRing, StoreKey};
use super::sql::Conn;
use super::{
    PLAUSIBLE_VERSIONS, SCHEMA_VERSION, Store, StoreError, StoreLocation, StoreMode, StoreResult, check_key, migrate,
    new_store_id, read_mode, write_identity, write_mode,
};

/// How long one statement waits for another process's lock before SQLite reports "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How many prepared statements a connection keeps: more than a login's read-check-write uses, so
/// the statements of the hot path are parsed once per connection, not once per request.
const STATEMENT_CACHE: usize = 128;
/// How often a write transaction is retried when it still cannot take the write lock.
const WRITE_ATTEMPTS: u32 = 8;

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

/// Opens the store file at `path`, creating it if it does not exist. Opening is retried for a
/// while when another process holds the file's lock.
pub(super) fn open(location: &StoreLocation, path: &Path, keyring: &KeyRing) -> StoreResult<Store> {
    let mut attempt = 0;
    loop {
        let result = if path.exists() {
            open_existing(location, path, keyring)
        } else {
            create(location, path, keyring).and_then(|()| open_existing(location, path, keyring))
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

fn open_existing(location: &StoreLocation, path: &Path, keyring: &KeyRing) -> StoreResult<Store> {
    let shown = path.display().to_string();
    let not_ours = |reason: String| StoreError::NotAStore { path: shown.clone(), reason };
    let meta = std::fs::metadata(path).map_err(|e| StoreError::Open { path: shown.clone(), reason: e.to_string() })?;
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
    let version = migrate::schema_version(Conn::Sqlite(&conn)).map_err(|e| match e {
        StoreError::Sqlite(e) if is_busy(&e) => StoreError::Sqlite(e),
        e => not_ours(format!("SQLite cannot read it ({e})")),
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
    let (store_id, key) = check_key(Conn::Sqlite(&conn), &shown, keyring)?;
    let current = journal_mode(&conn)?;
    let recorded = read_mode(Conn::Sqlite(&conn))?;
    let mode = recorded.unwrap_or(if current == "wal" { StoreMode::Local } else { StoreMode::Shared });
    if location.requested_mode().is_some_and(|asked| asked != mode) {
        return Err(StoreError::ModeMismatch { path: shown, recorded: mode });
    }
    if current != mode.journal() {
        set_journal_mode(&conn, &shown, mode)?;
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if version < SCHEMA_VERSION {
        migrate_and_record_mode(&conn, mode)?;
    }
    Ok(Store { db: super::Db::Sqlite(conn), key, store_id, location: Some(location.clone()), mode: Some(mode) })
}

/// Brings the file to the current schema in a transaction of its own, and records `mode` as the
/// store's mode if it records none yet (a store made before stores did).
fn migrate_and_record_mode(conn: &Connection, mode: StoreMode) -> StoreResult<()> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    migrate::migrate_in(Conn::Sqlite(&tx), migrate::MIGRATIONS)?;
    Conn::Sqlite(&tx)
        .execute("INSERT INTO meta (key, value) VALUES ('mode', ?1) ON CONFLICT (key) DO NOTHING", &[&mode.word()])?;
    tx.commit()?;
    Ok(())
}

/// Creates a new store at `path`: the schema, a new id and key, and the mode asked for are written
/// to a new owner-only file beside it, the key is saved, and the file is then moved to the store's
/// path unless a store appeared there meanwhile (then that one is used, and this attempt's key
/// removed). No process ever sees a store without its identity.
fn create(location: &StoreLocation, path: &Path, keyring: &KeyRing) -> StoreResult<()> {
    let shown = path.display().to_string();
    let fail = |reason: String| StoreError::Open { path: shown.clone(), reason };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create its folder: {e}")))?;
        // A new folder of the store (such as %ProgramData%\mailmfa) is for the service and the
        // administrators only; on Unix the file itself is created owner-only below.
        #[cfg(windows)]
        super::super::crypto::keyring::restrict_folder(dir)?;
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
        migrate::migrate_in(Conn::Sqlite(&tx), migrate::MIGRATIONS)?;
        let store_id = new_store_id()?;
        let key = StoreKey::generate()?;
        write_identity(Conn::Sqlite(&tx), &store_id, &key)?;
        write_mode(&Conn::Sqlite(&tx), mode)?;
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

/// Another connection to the store file at `path`.
pub(super) fn reopen(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Open { path: path.display().to_string(), reason: e.to_string() })?;
    tune(&conn)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// A store in memory with a fresh key: its connection, id and key.
pub(super) fn open_in_memory() -> StoreResult<(Connection, String, StoreKey)> {
    let conn = Connection::open_in_memory()?;
    tune(&conn)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate_and_record_mode(&conn, StoreMode::Local)?;
    let key = StoreKey::generate()?;
    let store_id = new_store_id()?;
    write_identity(Conn::Sqlite(&conn), &store_id, &key)?;
    Ok((conn, store_id, key))
}

/// The store file at `path`, read-only (for `key import`).
pub(super) fn open_read_only(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| StoreError::Open { path: path.display().to_string(), reason: e.to_string() })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// The journal mode SQLite reports (`wal`, `delete`, `memory`).
pub(super) fn journal_mode(conn: &Connection) -> StoreResult<String> {
    Ok(conn.pragma_query_value(None, "journal_mode", |row| row.get::<_, String>(0))?.to_ascii_lowercase())
}

pub(super) fn set_journal_mode(conn: &Connection, shown: &str, mode: StoreMode) -> StoreResult<()> {
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

pub(super) fn begin_immediate(conn: &Connection) -> StoreResult<Transaction<'_>> {
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

/// The connection's [`Stamp`]: in a transaction, as the transaction reads the file (the data
/// version is read from the snapshot it began, and begins it if nothing was read yet).
pub(super) fn stamp(conn: &Connection) -> StoreResult<super::Stamp> {
    let data_version = conn.prepare_cached("PRAGMA data_version")?.query_row([], |row| row.get(0)).map_err(busy_or)?;
    Ok(super::Stamp { data_version, own_changes: conn.total_changes() })
}

/// A read transaction whose `BEGIN` and `COMMIT` come from the statement cache: mail sign-in
/// checks open thousands a second, and [`Transaction`] would parse both each time. Dropped
/// without [`ReadTransaction::commit`] (an error, a panic), it rolls back.
pub(super) struct ReadTransaction<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> ReadTransaction<'c> {
    pub(super) fn begin(conn: &'c Connection) -> StoreResult<Self> {
        conn.prepare_cached("BEGIN DEFERRED").and_then(|mut begin| begin.execute([])).map_err(busy_or)?;
        Ok(Self { conn, open: true })
    }

    pub(super) fn commit(mut self) -> StoreResult<()> {
        self.open = false;
        self.conn.prepare_cached("COMMIT").and_then(|mut commit| commit.execute([])).map_err(busy_or)?;
        Ok(())
    }
}

impl std::ops::Deref for ReadTransaction<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for ReadTransaction<'_> {
    fn drop(&mut self) {
        if self.open {
            drop(self.conn.execute_batch("ROLLBACK"));
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

pub(super) fn busy_or(e: rusqlite::Error) -> StoreError {
    if is_busy(&e) { StoreError::Busy } else { StoreError::Sqlite(e) }
}
