//! Helpers shared by the integration tests: a temporary store and key folder, and the real
//! `mailmfa` binary run against them; the stores the tests start from are in [`fixtures`], the
//! servers they talk to (SMTP, HTTP, PostgreSQL, `mailmfa serve`, Chromium, Dovecot, Roundcube)
//! and the mail programs' sign-ins in the other modules.
#![allow(dead_code)]

pub mod authenticator;
pub mod browser;
pub mod dovecot;
pub mod fixtures;
pub mod http_server;
pub mod mail_client;
pub mod pg;
pub mod roundcube;
pub mod serve;
pub mod smtp_server;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use mailmfa::clock::FixedClock;
use mailmfa::service::{KeyFolder, Service, StoreLocation};

/// Which back end a test's stores are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the test's folder.
    Sqlite,
    /// A new database on the test process's throw-away PostgreSQL cluster ([`pg::cluster`]).
    Postgres,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Sqlite) };
}

/// The back end the running test is on.
pub fn backend() -> Backend {
    BACKEND.get()
}

/// The store modes to race on: local and shared for a SQLite file (`false`, `true`: whether
/// `--shared`), just the one for a database server.
pub fn sharing_modes() -> &'static [bool] {
    match backend() {
        Backend::Sqlite => &[false, true],
        Backend::Postgres => &[false],
    }
}

/// Runs `test` with every [`TestEnv`] it makes on `backend`.
pub fn on_backend(backend: Backend, test: fn()) {
    BACKEND.set(backend);
    test();
}

/// Runs each named test function once on each back end, as `sqlite::NAME` and `postgres::NAME`:
/// the same test, parameterised, not a copy.
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                $crate::common::on_backend($crate::common::Backend::Sqlite, super::$name);
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                $crate::common::on_backend($crate::common::Backend::Postgres, super::$name);
            })*
        }
    };
}

/// A temporary folder holding a key folder and a store: a file in the folder, or a database on
/// the test PostgreSQL cluster when the test runs on that back end.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub backend: Backend,
    server: Option<String>,
}

/// What one run of the binary printed.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

impl TestEnv {
    /// A new environment on the back end the running test is on.
    pub fn new() -> Self {
        Self::on(BACKEND.get())
    }

    /// A new environment on `backend`.
    pub fn on(backend: Backend) -> Self {
        let server = (backend == Backend::Postgres).then(|| pg::cluster().new_database());
        Self { dir: tempfile::tempdir().expect("temp dir"), backend, server }
    }

    /// A new environment whose store is a new database on `cluster`.
    pub fn on_cluster(cluster: &pg::Cluster) -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            backend: Backend::Postgres,
            server: Some(cluster.new_database()),
        }
    }

    /// What `--store` or `MAILMFA_STORE` names: the file's path or the database's URL.
    pub fn store_arg(&self) -> std::ffi::OsString {
        self.server.clone().map_or_else(|| self.store_path().into_os_string(), Into::into)
    }

    /// A connection to the test's store as it is kept, below mailmfa: SQLite's file or the
    /// database on the server.
    pub fn raw(&self) -> RawStore {
        match &self.server {
            None => RawStore::Sqlite(rusqlite::Connection::open(self.store_path()).expect("open the store file")),
            Some(url) => RawStore::Postgres(std::cell::RefCell::new(
                url.parse::<postgres::Config>().expect("URL").connect(postgres::NoTls).expect("connect"),
            )),
        }
    }

    /// Everything the store keeps, to search for secrets that must never be there: the bytes of
    /// the store file and its write-ahead log, or every row of every table on a database server.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match self.raw() {
            RawStore::Sqlite(_) => ["", "-wal"]
                .iter()
                .flat_map(|suffix| file_bytes(&PathBuf::from(format!("{}{suffix}", self.store_path().display()))))
                .collect(),
            RawStore::Postgres(client) => {
                let mut client = client.into_inner();
                let tables = client
                    .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'", &[])
                    .expect("tables");
                let mut out = Vec::new();
                for table in tables {
                    let name: String = table.get(0);
                    for row in client.query(&format!("SELECT t::text FROM {name} t"), &[]).expect("rows") {
                        out.extend(row.get::<_, String>(0).into_bytes());
                    }
                }
                out
            }
        }
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("store.sqlite3")
    }

    pub fn key_dir(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn keys(&self) -> KeyFolder {
        KeyFolder::new(self.key_dir())
    }

    pub fn location(&self) -> StoreLocation {
        StoreLocation::parse(&self.store_arg(), false).expect("a store location")
    }

    /// Opens the store in-process, as an administrator named `test` at a fixed time.
    pub fn service(&self, now: i64) -> Service {
        self.service_on(Arc::new(FixedClock::new(now)))
    }

    /// Opens the store in-process, as an administrator named `test` on `clock`.
    pub fn service_on(&self, clock: Arc<FixedClock>) -> Service {
        Service::open(&self.location(), &self.keys())
            .expect("open store")
            .with_actor(mailmfa::domain::Actor::Cli("test".to_owned()))
            .with_clock(clock)
    }

    /// The binary with this environment's store and key folder.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailmfa"));
        cmd.env("MAILMFA_STORE", self.store_arg())
            .env("MAILMFA_KEY_DIR", self.key_dir())
            .env_remove("MAILMFA_CLOCK")
            .env_remove("MAILMFA_LOG");
        cmd
    }

    /// Runs the binary with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        output(self.command().args(args).output().expect("run mailmfa"))
    }

    /// Runs and insists on exit status 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.status, 0, "mailmfa {args:?} failed: {}{}", run.stdout, run.stderr);
        run
    }

    /// Sets each of `settings` (key, value) with `mailmfa settings set`.
    pub fn set_settings(&self, settings: &[(&str, &str)]) {
        for (key, value) in settings {
            self.ok(&["settings", "set", key, value]);
        }
    }

    /// The names of the files in the test's folder that start with `prefix`: temporary files
    /// left behind.
    pub fn leftovers(&self, prefix: &str) -> Vec<String> {
        let entries = std::fs::read_dir(self.dir.path()).expect("read the test folder");
        let names = entries.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned());
        names.filter(|name| name.starts_with(prefix)).collect()
    }

    /// A plain SQLite connection to the store file, below mailmfa, that waits up to ten seconds
    /// for a lock.
    pub fn sqlite(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.store_path()).expect("open the store file");
        conn.busy_timeout(std::time::Duration::from_secs(10)).expect("busy timeout");
        conn
    }
}

/// A store below mailmfa, for tests that look at what is kept.
pub enum RawStore {
    Sqlite(rusqlite::Connection),
    Postgres(std::cell::RefCell<postgres::Client>),
}

impl RawStore {
    /// The integer a query answers (in SQL both back ends read).
    pub fn int(&self, sql: &str) -> i64 {
        match self {
            Self::Sqlite(conn) => conn.query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}")),
            Self::Postgres(client) => {
                client.borrow_mut().query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get::<_, i64>(0)
            }
        }
    }

    /// Runs a statement that changes rows (in SQL both back ends read): what a test does behind
    /// mailmfa's back, such as letting time pass for one row.
    pub fn execute(&self, sql: &str) {
        let changed = match self {
            Self::Sqlite(conn) => conn.execute(sql, []).map(|n| n as u64).unwrap_or_else(|e| panic!("{sql}: {e}")),
            Self::Postgres(client) => client.borrow_mut().execute(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")),
        };
        assert!(changed > 0, "{sql} changed nothing");
    }

    /// Changes the schema behind mailmfa's back (a statement that changes no rows).
    pub fn change_schema(&self, sql: &str) {
        match self {
            Self::Sqlite(conn) => conn.execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}")),
            Self::Postgres(client) => client.borrow_mut().batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// Every row of a query, each column as text (bytes as lowercase hex), `None` for NULL.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            Self::Sqlite(conn) => {
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => None,
                                rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                                rusqlite::types::ValueRef::Real(v) => Some(v.to_string()),
                                rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                                rusqlite::types::ValueRef::Blob(b) => Some(hex(b)),
                            })
                        })
                        .collect()
                })
                .and_then(Iterator::collect)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            Self::Postgres(client) => client
                .borrow_mut()
                .simple_query(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| {
                                row.get(i).map(|v| v.strip_prefix("\\x").map_or_else(|| v.to_owned(), str::to_owned))
                            })
                            .collect(),
                    ),
                    _ => None,
                })
                .collect(),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn output(out: Output) -> Run {
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every byte of a file, to search for leaked secrets.
pub fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Runs the binary on this environment's store made read-only: the store file is mode 0400 and,
/// when the tests run as root (whom file modes do not stop), the run is as the unprivileged user
/// `nobody`, owning the environment's files.
#[cfg(unix)]
pub fn run_read_only(env: &TestEnv, args: &[&str]) -> Run {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    const NOBODY: u32 = 65534;
    std::fs::set_permissions(env.store_path(), std::fs::Permissions::from_mode(0o400)).expect("chmod the store");
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    let mut cmd = if root {
        chown_tree(env.dir.path(), NOBODY);
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(env!("CARGO_BIN_EXE_mailmfa"));
        cmd
    } else {
        Command::new(env!("CARGO_BIN_EXE_mailmfa"))
    };
    cmd.env("MAILMFA_STORE", env.store_path()).env("MAILMFA_KEY_DIR", env.key_dir()).env_remove("MAILMFA_CLOCK");
    let run = output(cmd.args(args).output().expect("run mailmfa (setpriv is in util-linux)"));
    if root {
        chown_tree(env.dir.path(), 0);
    }
    run
}

#[cfg(unix)]
fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).expect("chown");
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).expect("read dir") {
            chown_tree(&entry.expect("dir entry").path(), uid);
        }
    }
}
