//! The SQLite store: migrations from an empty file, refusal of a newer schema, local (WAL) and shared
//! (rollback journal) modes, several OS processes writing one file at once, secrets sealed at rest,
//! tampered ciphertext, wrong and missing keys, and interrupted writes leaving the file consistent.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::fixtures::{
    alice_challenged_by_her_post_office, alice_enrolling, alice_enrolling_and_bob, alice_with_mode, now, secret_of,
};
use crate::common::{Backend, TestEnv, contains, file_bytes};
use crate::on_each_backend;
use mailmfa::clock::FixedClock;
use mailmfa::domain::totp::{code_at_step, secret_base32, step_of};
use mailmfa::domain::{MailboxAddress, PostOfficeName};
use mailmfa::service::{
    CryptoError, KeyFolder, SCHEMA_VERSION, Service, ServiceError, StoreError, StoreLocation, StoreMode,
};
use rusqlite::{Connection, params};

const NOW: i64 = 1_700_000_000;

const PASSWORD: &str = "relay-Pa55word-7d1e";
const SMS_TOKEN: &str = "gateway-token-4b2c99";

/// The test's store, asked for in shared mode or as it is (a database server has no modes).
fn location(env: &TestEnv, shared: bool) -> StoreLocation {
    if shared { StoreLocation::new(env.store_path(), true) } else { env.location() }
}

fn try_open_with(env: &TestEnv, shared: bool, keys: &KeyFolder) -> Result<Service, StoreError> {
    match Service::open(&location(env, shared), keys) {
        Ok(service) => Ok(service.with_actor("test").with_clock(Arc::new(FixedClock::new(NOW)))),
        Err(ServiceError::Store(e)) => Err(e),
        Err(other) => panic!("expected a store error, got {other:?}"),
    }
}

fn try_open(env: &TestEnv, shared: bool) -> Result<Service, StoreError> {
    try_open_with(env, shared, &env.keys())
}

/// The service over the store opened in the given mode.
fn open(env: &TestEnv, shared: bool) -> Service {
    try_open(env, shared).unwrap_or_else(|e| panic!("open (shared={shared}): {e}"))
}

fn sidecar(env: &TestEnv, suffix: &str) -> PathBuf {
    let mut name = env.store_path().into_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn user_version(conn: &Connection) -> i64 {
    conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
}

fn raw_journal_mode(env: &TestEnv) -> String {
    env.sqlite().pragma_query_value(None, "journal_mode", |r| r.get::<_, String>(0)).unwrap().to_ascii_lowercase()
}

/// The store id written in the file, read without mailmfa.
fn file_store_id(env: &TestEnv) -> Option<String> {
    env.sqlite().query_row("SELECT CAST(value AS TEXT) FROM meta WHERE key = 'store_id'", [], |r| r.get(0)).ok()
}

fn mailbox_row_id(env: &TestEnv, mailbox: &str) -> i64 {
    env.sqlite().query_row("SELECT id FROM mailbox WHERE name = ?1", [mailbox], |r| r.get(0)).unwrap()
}

fn address(raw: &str) -> MailboxAddress {
    raw.parse().unwrap()
}

fn postoffice(raw: &str) -> PostOfficeName {
    raw.parse().unwrap()
}

/// The TOTP secret of a mailbox, unsealed by the service (from its enrolment URI).
fn read_secret(service: &Service, mailbox: &str) -> Result<Vec<u8>, ServiceError> {
    Ok(secret_of(&service.enrolment_uri(&address(mailbox))?.0))
}

/// Writes a key file for store `id` holding `key` (the documented `mailmfa key export` format).
fn write_key_file(path: &Path, id: &str, key: &[u8; 32]) {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    restore_key_file(path, format!("mailmfa-store-key 1\nstore {id}\nprotection none\nkey {hex}\n").as_bytes());
}

/// Puts a key file back, owner-only as mailmfa requires.
fn restore_key_file(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    }
}

// --- (a) migrations -------------------------------------------------------------------------------

#[test]
fn a_new_file_gets_the_current_schema() {
    for shared in [false, true] {
        let env = TestEnv::new();
        assert!(!env.store_path().exists());
        let store = open(&env, shared);
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let id = store.store_id().to_owned();
        assert_eq!(id.len(), 32, "{id}");
        drop(store);

        let conn = env.sqlite();
        assert_eq!(user_version(&conn), SCHEMA_VERSION);
        let tables: BTreeSet<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for table in
            ["meta", "postoffice", "mailbox", "known_ip", "known_country", "provider", "setting", "otp_code", "audit"]
        {
            assert!(tables.contains(table), "{table} missing from {tables:?}");
        }
        let fk_problems: i64 =
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(fk_problems, 0);
        drop(conn);

        // Opening again changes nothing: same id, same version, the key file is reused.
        assert_eq!(file_store_id(&env).as_deref(), Some(id.as_str()));
        let again = open(&env, shared);
        assert_eq!(again.store_id(), id);
        assert!(env.keys().key_path(&id).is_file());
        drop(again);
        assert_eq!(user_version(&env.sqlite()), SCHEMA_VERSION);
    }
}

/// A 0-byte file at the store's path is an error, not a new store with a new key: the file may be
/// a shared store whose copy failed, and a new key would hide that.
#[test]
fn an_empty_file_is_refused_not_replaced() {
    let env = TestEnv::new();
    fs::write(env.store_path(), b"").unwrap();
    for shared in [false, true] {
        let err = try_open(&env, shared).err().unwrap();
        assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
        assert!(err.to_string().contains("empty"), "{err}");
    }
    let run = env.run(&["postoffice", "list"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not a mailmfa store"), "{}", run.stderr);
    assert_eq!(fs::metadata(env.store_path()).unwrap().len(), 0);
    assert!(!env.key_dir().exists(), "a key was made for the empty file");
}

/// An SQLite database of something else, or with a schema version mailmfa never writes, is
/// refused and left as it was.
#[test]
fn a_database_that_is_not_ours_is_refused_and_left_alone() {
    type Make<'a> = &'a dyn Fn(&Connection);
    let cases: [(&str, Make<'_>); 4] = [
        ("another application's tables", &|c| {
            c.execute_batch("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('x');").unwrap()
        }),
        ("an empty SQLite database", &|c| c.execute_batch("CREATE TABLE t (x); DROP TABLE t;").unwrap()),
        ("a negative schema version", &|c| c.pragma_update(None, "user_version", -1).unwrap()),
        ("an absurd schema version", &|c| c.pragma_update(None, "user_version", 123_456).unwrap()),
    ];
    for (what, make) in cases {
        let env = TestEnv::new();
        make(&env.sqlite());
        let before = fs::read(env.store_path()).unwrap();
        let err = try_open(&env, false).err().unwrap();
        assert!(matches!(err, StoreError::NotAStore { .. }), "{what}: {err:?}");
        assert!(err.to_string().contains("not a mailmfa store"), "{what}: {err}");
        let run = env.run(&["mailbox", "add", "alice@example.com"]);
        assert_eq!(run.status, 2, "{what}: {}", run.stderr);
        assert_eq!(fs::read(env.store_path()).unwrap(), before, "{what}: the file changed");
        assert!(!env.key_dir().exists(), "{what}: a key was made");
    }
}

/// A new store file, and its journal, are for their owner only.
#[cfg(unix)]
#[test]
fn a_new_store_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    for shared in [false, true] {
        let env = TestEnv::new();
        let store = open(&env, shared);
        store.add_postoffice(&postoffice("example.com")).unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let path = sidecar(&env, suffix);
            if let Ok(meta) = fs::metadata(&path) {
                let mode = meta.permissions().mode();
                assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
            }
        }
        let leftovers: Vec<_> = fs::read_dir(env.dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".mailmfa-new-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn the_store_folder_is_created() {
    let env = TestEnv::new();
    let loc = StoreLocation::new(env.path("a/b/c/store.sqlite3"), false);
    let store = Service::open(&loc, &env.keys()).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    assert!(env.path("a/b/c/store.sqlite3").is_file());
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let env = TestEnv::new();
    let junk = b"this is not an SQLite database, just some text that happens to be here\n".repeat(100);
    fs::write(env.store_path(), &junk).unwrap();
    for shared in [false, true] {
        let err = try_open(&env, shared).err().unwrap();
        assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
        assert!(err.to_string().contains("not a mailmfa store"), "{err}");
        assert_eq!(fs::read(env.store_path()).unwrap(), junk);
    }
    let run = env.run(&["postoffice", "list"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    assert_eq!(fs::read(env.store_path()).unwrap(), junk);
}

// --- (b) newer schema ------------------------------------------------------------------------------

#[test]
fn a_newer_schema_is_refused_and_the_file_left_unchanged() {
    for shared in [false, true] {
        let env = TestEnv::new();
        alice_enrolling_and_bob(&env.service(NOW));
        let conn = env.sqlite();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        drop(conn);
        assert!(!sidecar(&env, "-wal").exists() || fs::metadata(sidecar(&env, "-wal")).unwrap().len() == 0);
        let before = fs::read(env.store_path()).unwrap();

        let err = try_open(&env, shared).err().unwrap();
        match &err {
            StoreError::NewerSchema { found, supported, .. } => {
                assert_eq!(*found, SCHEMA_VERSION + 1);
                assert_eq!(*supported, SCHEMA_VERSION);
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("upgrade mailmfa"), "{message}");
        assert!(message.contains("not changed"), "{message}");
        assert_eq!(fs::read(env.store_path()).unwrap(), before, "the store file changed (shared={shared})");

        let mut args = vec!["mailbox", "list"];
        if shared {
            args.insert(0, "--shared");
        }
        let run = env.run(&args);
        assert_eq!(run.status, 2);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains("upgrade mailmfa"), "{}", run.stderr);
        assert_eq!(fs::read(env.store_path()).unwrap(), before, "the binary changed the store (shared={shared})");
        assert_eq!(user_version(&env.sqlite()), SCHEMA_VERSION + 1);
    }
}

#[test]
fn a_newer_schema_in_a_bare_file_is_refused() {
    let env = TestEnv::new();
    env.sqlite().pragma_update(None, "user_version", 99).unwrap();
    let before = fs::read(env.store_path()).unwrap();
    let err = try_open(&env, false).err().unwrap();
    assert!(matches!(err, StoreError::NewerSchema { found: 99, .. }), "{err:?}");
    assert_eq!(fs::read(env.store_path()).unwrap(), before);
    assert!(!env.key_dir().exists() || fs::read_dir(env.key_dir()).unwrap().next().is_none(), "a key was made");
}

// --- (c) local and shared modes --------------------------------------------------------------------

#[test]
fn local_mode_uses_wal_and_shared_mode_the_rollback_journal() {
    let env = TestEnv::new();
    let local = open(&env, false);
    assert_eq!(local.mode(), Some(StoreMode::Local));
    assert_eq!(local.journal_mode().unwrap(), "wal");
    drop(local);
    assert_eq!(raw_journal_mode(&env), "wal", "WAL is persistent in the file");

    let mut shared = open(&env, false);
    shared.set_mode(StoreMode::Shared).unwrap();
    assert_eq!(shared.mode(), Some(StoreMode::Shared));
    assert_eq!(shared.journal_mode().unwrap(), "delete");
    shared.add_postoffice(&postoffice("example.com")).unwrap();
    assert!(!sidecar(&env, "-wal").exists(), "a shared store has no WAL file");
    drop(shared);
    assert_eq!(raw_journal_mode(&env), "delete");

    let mut back = open(&env, true);
    back.set_mode(StoreMode::Local).unwrap();
    assert_eq!(back.journal_mode().unwrap(), "wal");
    assert_eq!(back.postoffices().unwrap().len(), 1);
    assert_eq!(back.integrity_check().unwrap(), "ok");
    let modes: Vec<String> = back
        .audit(None, 10)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "store.mode")
        .filter_map(|e| e.detail)
        .collect();
    assert_eq!(modes, ["from shared to local", "from local to shared"]);
}

/// The store records its mode when it is made: a server that forgets `--shared` opens a shared
/// store as shared (never WAL, which breaks on a share); asking for shared on a local store is
/// refused until the mode is changed explicitly.
#[test]
fn the_store_remembers_its_mode() {
    let env = TestEnv::new();
    env.ok(&["--shared", "postoffice", "add", "example.com"]);
    assert_eq!(raw_journal_mode(&env), "delete");
    env.ok(&["mailbox", "add", "alice@example.com"]);
    env.ok(&["mailbox", "list"]);
    assert_eq!(raw_journal_mode(&env), "delete", "a server that forgot --shared switched the store to WAL");
    assert!(!sidecar(&env, "-wal").exists());
    assert_eq!(open(&env, false).mode(), Some(StoreMode::Shared));

    env.ok(&["store", "mode", "local"]);
    assert_eq!(raw_journal_mode(&env), "wal");
    let before = fs::read(env.store_path()).unwrap();
    let refused = env.run(&["--shared", "postoffice", "list"]);
    assert_eq!(refused.status, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("store mode shared"), "{}", refused.stderr);
    assert_eq!(fs::read(env.store_path()).unwrap(), before);
    assert_eq!(raw_journal_mode(&env), "wal");
    env.ok(&["store", "mode", "shared"]);
    env.ok(&["--shared", "postoffice", "list"]);
    assert_eq!(raw_journal_mode(&env), "delete");
    let bad = env.run(&["store", "mode", "wal"]);
    assert_eq!(bad.status, 2);
    assert!(bad.stderr.contains("use local or shared"), "{}", bad.stderr);
}

/// Commands that only read change nothing in the file, and work on a read-only file.
#[test]
fn a_read_only_command_writes_nothing() {
    for shared in [false, true] {
        let env = TestEnv::new();
        let flag = if shared { "--shared" } else { "--json" };
        env.ok(&[flag, "postoffice", "add", "example.com"]);
        env.ok(&[flag, "mailbox", "add", "alice@example.com"]);
        let before = fs::read(env.store_path()).unwrap();
        let reads: [&[&str]; 5] =
            [&["postoffice", "list"], &["mailbox", "list"], &["provider", "list"], &["settings", "show"], &["audit"]];
        for args in reads {
            env.ok(&[&[flag][..], args].concat());
            assert_eq!(fs::read(env.store_path()).unwrap(), before, "{args:?} changed the store (shared={shared})");
        }
        #[cfg(unix)]
        {
            let list = common::run_read_only(&env, &[flag, "mailbox", "list", "--json"]);
            assert_eq!(list.status, 0, "shared={shared}: {}", list.stderr);
            assert_eq!(list.json()[0]["address"], "alice@example.com", "shared={shared}");
            let refused = common::run_read_only(&env, &[flag, "mailbox", "add", "bob@example.com"]);
            assert_eq!(refused.status, 2, "a write to a read-only store: {}", refused.stderr);
            assert!(refused.stderr.contains("readonly") || refused.stderr.contains("read-only"), "{}", refused.stderr);
            assert_eq!(fs::read(env.store_path()).unwrap(), before);
        }
    }
}

#[test]
fn unc_paths_are_shared() {
    assert_eq!(StoreLocation::new(r"\\srv\share\x.sqlite3", false).mode(), StoreMode::Shared);
    assert_eq!(StoreLocation::new("//srv/share/x.sqlite3", false).mode(), StoreMode::Shared);
    assert_eq!(StoreLocation::new("/var/lib/mailmfa/x.sqlite3", false).mode(), StoreMode::Local);
    assert_eq!(StoreLocation::new("C:\\mailmfa\\x.sqlite3", false).mode(), StoreMode::Local);
    assert_eq!(StoreLocation::new("/var/lib/mailmfa/x.sqlite3", true).mode(), StoreMode::Shared);
    assert_eq!(StoreMode::Shared.word(), "shared");
    assert_eq!(StoreMode::Local.word(), "local");
}

#[test]
fn in_memory_store_works() {
    let store = Service::open_in_memory().unwrap();
    assert!(store.location().is_none());
    assert_eq!(store.mode(), None);
    assert_eq!(store.mode_word(), "memory");
    assert_eq!(store.integrity_check().unwrap(), "ok");
    assert_eq!(store.store_id().len(), 32);
    store.add_postoffice(&postoffice("example.com")).unwrap();
    assert_eq!(store.postoffices().unwrap().len(), 1);
}

// --- (d) several processes at once -----------------------------------------------------------------

/// Runs `per_group` commands from each of `groups` threads, all starting together; each thread runs
/// its commands one after another as separate processes. Returns (args, status, stderr) of every run.
fn run_groups(
    env: &TestEnv,
    groups: usize,
    per_group: usize,
    make: impl Fn(usize, usize) -> Vec<String> + Sync,
) -> Vec<(Vec<String>, i32, String)> {
    let barrier = Barrier::new(groups);
    thread::scope(|s| {
        let handles: Vec<_> = (0..groups)
            .map(|g| {
                let (barrier, make) = (&barrier, &make);
                s.spawn(move || {
                    barrier.wait();
                    (0..per_group)
                        .map(|i| {
                            let args = make(g, i);
                            let out = env.command().args(&args).output().unwrap();
                            let run = common::output(out);
                            (args, run.status, run.stderr)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

fn assert_all_succeeded(runs: &[(Vec<String>, i32, String)]) {
    for (args, status, stderr) in runs {
        let lower = stderr.to_ascii_lowercase();
        assert!(!lower.contains("locked") && !lower.contains("busy"), "{args:?}: {stderr}");
        assert_eq!(*status, 0, "{args:?} failed: {stderr}");
    }
}

fn concurrent_mailbox_adds(shared: bool) {
    const GROUPS: usize = 3;
    const PER_GROUP: usize = 40;
    let env = TestEnv::new();
    let mode = if shared { "--shared" } else { "--json" };
    // The store exists (creating it at once is `processes_creating_a_new_store_at_once_agree`).
    env.ok(&[mode, "provider", "list"]);
    let started = Instant::now();
    let runs = run_groups(&env, GROUPS, PER_GROUP + 1, |g, i| {
        let args = if i == 0 {
            vec!["postoffice".to_owned(), "add".to_owned(), format!("group{g}.example")]
        } else {
            vec!["mailbox".to_owned(), "add".to_owned(), format!("user{i:02}@group{g}.example")]
        };
        [vec![mode.to_owned()], args].concat()
    });
    eprintln!("shared={shared}: {} processes in {:?}", runs.len(), started.elapsed());
    assert_all_succeeded(&runs);

    let service = open(&env, shared);
    let journal = match (common::backend(), shared) {
        (Backend::Postgres, _) => "server",
        (Backend::Sqlite, true) => "delete",
        (Backend::Sqlite, false) => "wal",
    };
    assert_eq!(service.journal_mode().unwrap(), journal);
    let rows = service.mailboxes(None).unwrap();
    let found: BTreeSet<String> = rows.iter().map(|r| r.address.to_string()).collect();
    let expected: BTreeSet<String> =
        (0..GROUPS).flat_map(|g| (1..=PER_GROUP).map(move |i| format!("user{i:02}@group{g}.example"))).collect();
    assert_eq!(found, expected);
    assert_eq!(rows.len(), GROUPS * PER_GROUP);

    let audit = service.audit(None, 100_000).unwrap();
    for mailbox in &expected {
        let n = audit
            .iter()
            .filter(|e| e.action == "mailbox.add" && e.outcome == "ok" && e.mailbox.as_deref() == Some(mailbox))
            .count();
        assert_eq!(n, 1, "{mailbox}: {n} mailbox.add entries");
    }
    assert_eq!(audit.iter().filter(|e| e.action == "postoffice.add" && e.outcome == "ok").count(), GROUPS);
    assert!(audit.iter().all(|e| e.outcome == "ok"), "a failed action: {audit:?}");
    assert_eq!(service.integrity_check().unwrap(), "ok");
    // All processes agreed on one store identity and one key.
    let keys: Vec<_> = fs::read_dir(env.key_dir()).unwrap().collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
}

fn processes_adding_mailboxes_at_once_lose_nothing_local() {
    concurrent_mailbox_adds(false);
}

#[test]
fn processes_adding_mailboxes_at_once_lose_nothing_shared() {
    concurrent_mailbox_adds(true);
}

/// Two servers starting on a store file that does not exist yet: every process succeeds and they
/// all end up with one store id and one key.
fn processes_creating_a_new_store_at_once_agree() {
    const ROUNDS: usize = 6;
    const PROCESSES: usize = 4;
    let mut failures = Vec::new();
    for &shared in common::sharing_modes() {
        for round in 0..ROUNDS {
            let env = TestEnv::new();
            let runs = run_groups(&env, PROCESSES, 1, |g, _| {
                let mut args = vec!["postoffice".to_owned(), "add".to_owned(), format!("p{g}.example")];
                if shared {
                    args.push("--shared".to_owned());
                }
                args
            });
            for (args, status, stderr) in &runs {
                if *status != 0 {
                    failures.push(format!("shared={shared} round {round}: {args:?} exit {status}: {}", stderr.trim()));
                }
            }
            if runs.iter().all(|r| r.1 == 0) {
                assert_eq!(open(&env, shared).postoffices().unwrap().len(), PROCESSES);
                assert_eq!(fs::read_dir(env.key_dir()).unwrap().count(), 1);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} first opens failed:\n{}",
        failures.len(),
        common::sharing_modes().len() * ROUNDS * PROCESSES,
        failures.join("\n")
    );
}

/// Imports are read-check-write: each looks the post office up and creates it if missing. Run at
/// once, they must neither fail ("appeared twice") nor lose rows.
fn concurrent_imports_into_one_post_office() {
    const GROUPS: usize = 2;
    const PER_GROUP: usize = 8;
    const ROWS: usize = 25;
    for &shared in common::sharing_modes() {
        let env = TestEnv::new();
        env.ok(&[if shared { "--shared" } else { "--json" }, "provider", "list"]);
        for g in 0..GROUPS {
            for i in 0..PER_GROUP {
                let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
                for r in 0..ROWS {
                    csv.push_str(&format!("together.example,g{g}i{i}r{r},always,sms,+1555{g}{i:02}{r:04},\n"));
                }
                fs::write(env.path(&format!("g{g}i{i}.csv")), csv).unwrap();
            }
        }
        let dir = env.dir.path().to_owned();
        let runs = run_groups(&env, GROUPS, PER_GROUP, |g, i| {
            let mut args = vec!["import".to_owned(), dir.join(format!("g{g}i{i}.csv")).display().to_string()];
            if shared {
                args.push("--shared".to_owned());
            }
            args
        });
        assert_all_succeeded(&runs);
        let service = open(&env, shared);
        let rows = service.mailboxes(Some(&postoffice("together.example"))).unwrap();
        assert_eq!(rows.len(), GROUPS * PER_GROUP * ROWS, "shared={shared}");
        assert!(rows.iter().all(|r| r.provider.word() == "sms" && r.challenge.word() == "always"));
        assert_eq!(service.postoffices().unwrap().len(), 1);
        let imports = service.audit(None, 1000).unwrap().into_iter().filter(|e| e.action == "import").count();
        assert_eq!(imports, GROUPS * PER_GROUP);
    }
}

// --- (e) sealing ---------------------------------------------------------------------------------

/// Every form a leaked secret could take in the file.
fn needles(secret: &[u8]) -> Vec<(String, Vec<u8>)> {
    let b32 = secret_base32(secret).to_string();
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        ("raw secret".to_owned(), secret.to_vec()),
        ("raw secret prefix".to_owned(), secret[..10].to_vec()),
        ("Base32".to_owned(), b32.clone().into_bytes()),
        ("Base32 lower-case".to_owned(), b32.to_ascii_lowercase().into_bytes()),
        ("hex".to_owned(), hex.into_bytes()),
        ("smtp.password".to_owned(), PASSWORD.as_bytes().to_vec()),
        ("sms.password".to_owned(), SMS_TOKEN.as_bytes().to_vec()),
    ]
}

fn assert_no_secret_in_files(env: &TestEnv, secret: &[u8], stage: &str) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = sidecar(env, suffix);
        let bytes = file_bytes(&path);
        for (what, needle) in needles(secret) {
            assert!(!contains(&bytes, &needle), "{stage}: the {what} is in {}", path.display());
        }
    }
}

#[test]
fn secrets_never_reach_the_database_file() {
    for shared in [false, true] {
        let env = TestEnv::new();
        let service = open(&env, shared);
        alice_enrolling(&service);
        service.set_setting("smtp.password", PASSWORD).unwrap();
        service.set_setting("sms.password", SMS_TOKEN).unwrap();
        // The values are there, sealed: they read back.
        let secret = read_secret(&service, "alice@example.com").unwrap();
        assert_eq!(secret.len(), 20);
        assert_eq!(secret_base32(&secret).len(), 32);
        let settings = service.typed_settings().unwrap();
        assert_eq!(settings.smtp_password.as_str(), PASSWORD);
        assert_eq!(settings.sms_password.as_str(), SMS_TOKEN);
        assert_no_secret_in_files(&env, &secret, "open, before checkpoint");

        let second = env.sqlite();
        if !shared {
            let (busy, _, _): (i64, i64, i64) = second
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap();
            assert_eq!(busy, 0, "the checkpoint could not complete");
        }
        let sealed: Vec<u8> =
            second.query_row("SELECT totp_secret FROM mailbox WHERE name = 'alice'", [], |r| r.get(0)).unwrap();
        assert!(sealed.len() >= secret.len() + 16, "{} bytes cannot hold a sealed secret", sealed.len());
        let plain: Option<String> =
            second.query_row("SELECT value FROM setting WHERE key = 'smtp.password'", [], |r| r.get(0)).unwrap();
        assert_eq!(plain, None, "the password is stored in the plain value column");
        drop(second);
        assert_no_secret_in_files(&env, &secret, "after checkpoint");

        let audit = format!("{:?}", service.audit(None, 1000).unwrap());
        assert!(!audit.contains(PASSWORD) && !audit.contains(SMS_TOKEN), "{audit}");
        drop(service);
        assert_no_secret_in_files(&env, &secret, "closed");
    }
}

/// The real enrolment path: the secret the binary hands out in the `otpauth://` URI is nowhere in
/// the file, in any encoding.
#[test]
fn an_enrolled_secret_from_the_binary_is_sealed() {
    let env = TestEnv::new();
    alice_with_mode(&env, "always");
    let begin = env.ok(&["login", "begin", "alice@example.com", "--ip", "192.0.2.1", "--json"]).json();
    let uri = begin["otpauth_uri"].as_str().unwrap_or_else(|| panic!("no enrolment URI: {begin}"));
    let b32 = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let secret = secret_of(uri);
    assert!(secret.len() >= 16, "{} bytes", secret.len());
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let bytes: Vec<u8> = ["", "-wal", "-shm"].iter().flat_map(|s| file_bytes(&sidecar(&env, s))).collect();
    for needle in [secret.clone(), b32.clone().into_bytes(), b32.to_ascii_lowercase().into_bytes(), hex.into_bytes()] {
        assert!(!contains(&bytes, &needle), "the enrolled secret is in the store file");
    }
    let audit = env.ok(&["audit", "--json", "--limit", "1000"]).stdout;
    assert!(!audit.contains(&b32), "the secret is in the audit log");
}

// --- (f) tampered ciphertext ------------------------------------------------------------------------

fn expect_tampered(result: Result<Vec<u8>, ServiceError>, what: &str) {
    match result {
        Err(ServiceError::Store(StoreError::Crypto(CryptoError::Tampered(context)))) => {
            assert!(context.contains("totp_secret"), "{what}: {context}");
        }
        Err(other) => panic!("{what}: expected a tampering error, got {other:?}"),
        Ok(value) => panic!("{what}: a tampered secret opened ({} bytes)", value.len()),
    }
}

#[test]
fn tampered_secret_ciphertext_is_an_error() {
    let env = TestEnv::new();
    let secret = alice_enrolling_and_bob(&env.service(NOW));
    let store = open(&env, false);
    let alice = mailbox_row_id(&env, "alice");
    assert_eq!(read_secret(&store, "alice@example.com").unwrap(), secret);
    let conn = env.sqlite();
    let sealed: Vec<u8> =
        conn.query_row("SELECT totp_secret FROM mailbox WHERE id = ?1", [alice], |r| r.get(0)).unwrap();
    let set = |value: &[u8]| {
        conn.execute("UPDATE mailbox SET totp_secret = ?2 WHERE id = ?1", params![alice, value]).unwrap();
    };
    let len = sealed.len();
    for (pos, what) in [(0, "version byte"), (1, "nonce"), (24, "nonce end"), (25, "ciphertext"), (len - 1, "tag")] {
        let mut bad = sealed.clone();
        bad[pos] ^= 0x01;
        set(&bad);
        expect_tampered(read_secret(&store, "alice@example.com"), what);
    }
    for (cut, what) in [(len - 1, "one byte short"), (30, "truncated"), (0, "empty")] {
        set(&sealed[..cut]);
        expect_tampered(read_secret(&store, "alice@example.com"), what);
    }
    let mut longer = sealed.clone();
    longer.push(0);
    set(&longer);
    expect_tampered(read_secret(&store, "alice@example.com"), "one byte more");

    // The tampering is reported, not papered over: the binary fails cleanly on the QR code.
    let qr = env.run(&["mailbox", "qr", "alice@example.com", "--out", env.path("q.png").to_str().unwrap()]);
    assert_eq!(qr.status, 2, "{}{}", qr.stdout, qr.stderr);
    assert_eq!(qr.stderr.trim_end().lines().count(), 1, "{}", qr.stderr);
    assert!(qr.stderr.contains("integrity check"), "{}", qr.stderr);
    assert!(!env.path("q.png").exists());

    set(&sealed);
    assert_eq!(read_secret(&store, "alice@example.com").unwrap(), secret, "the original opens again");
}

#[test]
fn a_sealed_secret_copied_to_another_row_or_store_does_not_open() {
    let env = TestEnv::new();
    let secret = alice_enrolling_and_bob(&env.service(NOW));
    let store = open(&env, false);
    let alice = mailbox_row_id(&env, "alice");
    let bob = mailbox_row_id(&env, "bob");
    assert!(matches!(read_secret(&store, "bob@example.com"), Err(ServiceError::NoTotpSecret(_))));
    let conn = env.sqlite();
    conn.execute(
        "UPDATE mailbox SET totp_secret = (SELECT totp_secret FROM mailbox WHERE id = ?1),
                totp_state = 'pending' WHERE id = ?2",
        [alice, bob],
    )
    .unwrap();
    expect_tampered(read_secret(&store, "bob@example.com"), "alice's secret in bob's row");
    assert_eq!(read_secret(&store, "alice@example.com").unwrap(), secret);

    // The same row id in another store (another key).
    let other = TestEnv::new();
    alice_enrolling_and_bob(&other.service(NOW));
    let other_alice = mailbox_row_id(&other, "alice");
    assert_eq!(other_alice, alice);
    let foreign: Vec<u8> =
        other.sqlite().query_row("SELECT totp_secret FROM mailbox WHERE id = ?1", [other_alice], |r| r.get(0)).unwrap();
    conn.execute("UPDATE mailbox SET totp_secret = ?2 WHERE id = ?1", params![alice, foreign]).unwrap();
    expect_tampered(read_secret(&store, "alice@example.com"), "another store's secret");
}

#[test]
fn tampered_or_moved_sealed_settings_are_errors() {
    let env = TestEnv::new();
    let service = env.service(NOW);
    alice_enrolling_and_bob(&service);
    service.set_setting("smtp.password", PASSWORD).unwrap();
    service.set_setting("sms.password", SMS_TOKEN).unwrap();
    let conn = env.sqlite();
    let sealed: Vec<u8> =
        conn.query_row("SELECT sealed FROM setting WHERE key = 'smtp.password'", [], |r| r.get(0)).unwrap();

    let mut bad = sealed.clone();
    *bad.last_mut().unwrap() ^= 0x80;
    conn.execute("UPDATE setting SET sealed = ?1 WHERE key = 'smtp.password'", [&bad]).unwrap();
    let err = service.typed_settings().unwrap_err().to_string();
    assert!(err.contains("setting:smtp.password") && err.contains("integrity check"), "{err}");
    assert!(!err.contains(PASSWORD));
    let run = env.run(&["settings", "show"]);
    assert_eq!(run.status, 2, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);

    // smtp's sealed password moved into sms.password does not open as sms's.
    service.set_setting("smtp.password", PASSWORD).unwrap();
    conn.execute("UPDATE setting SET sealed = ?1 WHERE key = 'sms.password'", [&sealed]).unwrap();
    match service.typed_settings() {
        Err(ServiceError::Store(StoreError::Crypto(CryptoError::Tampered(context)))) => {
            assert!(context.contains("sms.password"), "{context}");
        }
        Err(other) => panic!("expected a tampering error, got {other:?}"),
        Ok(_) => panic!("a sealed value moved to another key opened"),
    }
    // Setting it again repairs it.
    service.set_setting("sms.password", SMS_TOKEN).unwrap();
    assert_eq!(service.typed_settings().unwrap().sms_password.as_str(), SMS_TOKEN);
}

// --- (g) wrong and missing keys --------------------------------------------------------------------

/// A closed, checkpointed store with data: its id, alice's secret and the key file's contents.
fn closed_store(env: &TestEnv) -> (String, Vec<u8>, Vec<u8>) {
    let service = env.service(NOW);
    let secret = alice_enrolling_and_bob(&service);
    let id = service.store_id().to_owned();
    service.set_setting("smtp.password", PASSWORD).unwrap();
    drop(service);
    assert!(!sidecar(env, "-wal").exists(), "the WAL is folded in when the last connection closes");
    assert!(!env.stored_bytes().is_empty(), "the store is there");
    let key_file = fs::read(env.keys().key_path(&id)).unwrap();
    (id, secret, key_file)
}

fn assert_data_intact(env: &TestEnv, secret: &[u8]) {
    let store = open(env, false);
    assert_eq!(read_secret(&store, "alice@example.com").unwrap(), secret);
    assert_eq!(store.typed_settings().unwrap().smtp_password.as_str(), PASSWORD);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

fn a_wrong_key_is_refused_and_changes_nothing() {
    let env = TestEnv::new();
    let (id, secret, key_file) = closed_store(&env);
    let before = env.stored_bytes();
    write_key_file(&env.keys().key_path(&id), &id, &[7; 32]);

    let err = try_open(&env, false).err().unwrap();
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("nothing was changed"), "{message}");
    assert!(message.contains("key import"), "{message}");
    assert!(message.contains(&env.keys().key_path(&id).display().to_string()), "{message}");
    assert_eq!(env.stored_bytes(), before, "the store changed");

    let run = env.run(&["mailbox", "list"]);
    assert_eq!(run.status, 2);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("does not open the store") && run.stderr.contains("nothing was changed"),
        "{}",
        run.stderr
    );
    assert_eq!(env.stored_bytes(), before, "the binary changed the store");

    restore_key_file(&env.keys().key_path(&id), &key_file);
    assert_data_intact(&env, &secret);
}

/// Opening a local (WAL) store in shared mode with the wrong key must not switch its journal mode
/// either: nothing at all changes before the key is checked.
#[test]
fn a_wrong_key_in_the_other_mode_changes_nothing() {
    let env = TestEnv::new();
    let (id, secret, key_file) = closed_store(&env);
    let before = fs::read(env.store_path()).unwrap();
    write_key_file(&env.keys().key_path(&id), &id, &[7; 32]);
    let err = try_open(&env, true).err().unwrap();
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
    assert_eq!(raw_journal_mode(&env), "wal", "the wrong key switched the store to the rollback journal");
    assert_eq!(fs::read(env.store_path()).unwrap(), before, "the store changed");
    restore_key_file(&env.keys().key_path(&id), &key_file);
    assert_data_intact(&env, &secret);
}

fn a_missing_key_is_refused_and_changes_nothing() {
    let env = TestEnv::new();
    let (id, secret, key_file) = closed_store(&env);
    let before = env.stored_bytes();
    fs::remove_file(env.keys().key_path(&id)).unwrap();
    assert!(fs::read_dir(env.key_dir()).unwrap().next().is_none());

    let err = try_open(&env, false).err().unwrap();
    match &err {
        StoreError::MissingKey { store_id, .. } => assert_eq!(store_id, &id),
        other => panic!("expected MissingKey, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("key import") && message.contains(&id), "{message}");
    assert_eq!(env.stored_bytes(), before);
    assert!(fs::read_dir(env.key_dir()).unwrap().next().is_none(), "a new key was made for an existing store");

    // A key folder that does not exist at all is the same.
    let elsewhere = KeyFolder::new(env.path("no-such-keys"));
    assert!(matches!(try_open_with(&env, false, &elsewhere), Err(StoreError::MissingKey { .. })));
    assert!(!env.path("no-such-keys").exists() || fs::read_dir(env.path("no-such-keys")).unwrap().next().is_none());

    let run = env.run(&["postoffice", "list"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("key import"), "{}", run.stderr);
    assert_eq!(env.stored_bytes(), before);

    restore_key_file(&env.keys().key_path(&id), &key_file);
    assert_data_intact(&env, &secret);
}

fn another_stores_key_file_is_refused() {
    let env = TestEnv::new();
    let (id, secret, key_file) = closed_store(&env);
    let before = env.stored_bytes();
    // A key file for a different store id, under this store's name.
    let keys = env.keys();
    write_key_file(&keys.key_path(&id), "0123456789abcdef0123456789abcdef", &[9; 32]);
    let err = try_open(&env, false).err().unwrap();
    assert!(err.to_string().contains("belongs to store"), "{err}");
    fs::write(keys.key_path(&id), "garbage").unwrap();
    let err = try_open(&env, false).err().unwrap();
    assert!(matches!(err, StoreError::Crypto(CryptoError::BadKeyFile { .. })), "{err:?}");
    assert_eq!(env.stored_bytes(), before);
    restore_key_file(&keys.key_path(&id), &key_file);
    assert_data_intact(&env, &secret);
}

// --- (h) interrupted writes ------------------------------------------------------------------------

/// An action that fails half-way keeps nothing of what it wrote (the store's own unit tests cover
/// an error and a panic inside a transaction; this is the same through the service).
#[test]
fn a_failed_import_keeps_nothing() {
    let env = TestEnv::new();
    let store = open(&env, false);
    let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
    for i in 0..500 {
        csv.push_str(&format!("example.com,user{i},always,,,\n"));
    }
    csv.push_str("example.com,last,sometimes,,,\n");
    let err = store.import_csv(csv.as_bytes()).unwrap_err();
    assert!(matches!(err, ServiceError::Import { line: 502, .. }), "{err:?}");
    assert!(store.postoffices().unwrap().is_empty());
    assert!(store.mailboxes(None).unwrap().is_empty());
    assert_eq!(store.integrity_check().unwrap(), "ok");
    // The connection is still usable.
    store.add_postoffice(&postoffice("after.example")).unwrap();
    drop(store);
    let again = open(&env, false);
    let names: Vec<String> = again.postoffices().unwrap().iter().map(|p| p.name.to_string()).collect();
    assert_eq!(names, ["after.example"]);
    assert_eq!(again.integrity_check().unwrap(), "ok");
}

fn write_big_csv(path: &Path, postoffices: usize, per_postoffice: usize) {
    let mut csv = String::with_capacity(postoffices * per_postoffice * 40);
    csv.push_str("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
    for p in 0..postoffices {
        for m in 0..per_postoffice {
            csv.push_str(&format!("big{p:04}.example,m{m:03},,,,\n"));
        }
    }
    fs::write(path, csv).unwrap();
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

/// Starts `import` on 100,000 rows, kills it while its transaction is writing (or after a fixed
/// delay), then checks the store holds all or none of the rows and passes the integrity check.
fn kill_mid_import(shared: bool, fixed_delay: Option<Duration>) {
    let env = TestEnv::new();
    let flag = if shared { "--shared" } else { "--json" };
    env.ok(&[flag, "postoffice", "add", "seed.example"]);
    let csv = env.path("big.csv");
    write_big_csv(&csv, 1000, 100);
    let base = size(&env.store_path()) + size(&sidecar(&env, "-wal"));

    let mut child = env
        .command()
        .args([flag, "import", csv.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let how = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break format!("finished on its own ({status}) after {:?}", started.elapsed());
        }
        let written = size(&env.store_path()) + size(&sidecar(&env, "-wal"));
        let kill_now = match fixed_delay {
            Some(delay) => started.elapsed() >= delay,
            None => written > base + 1024 * 1024 || started.elapsed() > Duration::from_secs(60),
        };
        if kill_now {
            child.kill().unwrap();
            child.wait().unwrap();
            break format!(
                "killed after {:?} with {} KiB written (journal present: {})",
                started.elapsed(),
                written.saturating_sub(base) / 1024,
                sidecar(&env, "-journal").exists()
            );
        }
        thread::sleep(Duration::from_millis(2));
    };
    eprintln!("shared={shared} delay={fixed_delay:?}: {how}");

    let store = open(&env, shared);
    assert_eq!(store.integrity_check().unwrap(), "ok", "{how}");
    let postoffices = store.postoffices().unwrap();
    let mailboxes = store.mailboxes(None).unwrap().len();
    assert!(postoffices.iter().any(|p| p.name.as_str() == "seed.example"), "the earlier data is gone");
    match mailboxes {
        0 => assert_eq!(postoffices.len(), 1, "{how}: post offices without their mailboxes"),
        100_000 => assert_eq!(postoffices.len(), 1001, "{how}"),
        n => panic!("{how}: {n} of 100000 mailboxes were kept"),
    }
    drop(store);
    let run = env.run(&[flag, "mailbox", "list", "--postoffice", "seed.example", "--json"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
}

#[test]
fn a_killed_import_leaves_all_or_nothing_local() {
    kill_mid_import(false, None);
}

#[test]
fn a_killed_import_leaves_all_or_nothing_shared() {
    kill_mid_import(true, None);
}

#[test]
fn an_import_killed_after_200_ms_leaves_all_or_nothing() {
    kill_mid_import(false, Some(Duration::from_millis(200)));
}

on_each_backend!(
    processes_adding_mailboxes_at_once_lose_nothing_local,
    processes_creating_a_new_store_at_once_agree,
    concurrent_imports_into_one_post_office,
    a_wrong_key_is_refused_and_changes_nothing,
    a_missing_key_is_refused_and_changes_nothing,
    another_stores_key_file_is_refused,
);

// --- (i) moving between back ends -------------------------------------------------------------------

/// `store copy` from a SQLite file to PostgreSQL and back to a new file: the mailboxes, providers,
/// settings and audit log read the same on all three (apart from the copies' own audit entries),
/// the sealed secrets still open (alice's TOTP code is accepted on each), and a target that holds
/// data is refused unless `--replace`.
#[test]
fn a_store_copied_to_postgres_and_back_reads_the_same() {
    let env = TestEnv::on(Backend::Sqlite);
    alice_challenged_by_her_post_office(&env);
    env.ok(&["mailbox", "add", "bob@example.com"]);
    env.ok(&["mailbox", "set", "bob@example.com", "--provider", "sms", "--sms-number", "+15555550123"]);
    env.ok(&["provider", "set", "smtp", "--user-configurable", "off"]);
    env.ok(&["settings", "set", "smtp.password", PASSWORD]);
    env.ok(&["settings", "set", "issuer", "Example Mail"]);
    env.ok(&["client", "add", "webmail.example.com"]);
    let begin = env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.7", "--json"]).json();
    let uri = begin["otpauth_uri"].as_str().unwrap();
    let secret = secret_of(uri);
    let code = |offset: i64| code_at_step(&secret, step_of(now()) + offset);
    env.ok(&["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code", &code(-1)]);

    let server = common::pg::cluster().new_database();
    let back = env.path("back.sqlite3").into_os_string();
    let file = env.store_arg();
    let store_on = |store: &std::ffi::OsStr, args: &[&str]| {
        let mut cmd = env.command();
        cmd.env("MAILMFA_STORE", store).args(args);
        let run = common::output(cmd.output().unwrap());
        assert_eq!(run.status, 0, "{args:?} on {store:?}: {}{}", run.stdout, run.stderr);
        run
    };
    let view = |store: &std::ffi::OsStr| {
        let audit = store_on(store, &["audit", "--limit", "1000", "--json"]).json();
        let entries: Vec<_> =
            audit.as_array().unwrap().iter().filter(|e| e["action"] != "store.copy").map(|e| e["id"].clone()).collect();
        [
            store_on(store, &["mailbox", "list", "--json"]).json(),
            store_on(store, &["provider", "list", "--json"]).json(),
            store_on(store, &["settings", "show", "--json"]).json(),
            serde_json::json!(entries),
        ]
    };
    let before = view(&file);

    env.ok(&["store", "copy", &file.to_string_lossy(), &server]);
    let refused = env.run(&["store", "copy", &file.to_string_lossy(), &server]);
    assert_eq!(refused.status, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("nothing was copied") && refused.stderr.contains("--replace"),
        "{}",
        refused.stderr
    );
    env.ok(&["store", "copy", &file.to_string_lossy(), &server, "--replace"]);
    assert_eq!(view(server.as_ref()), before, "on PostgreSQL");
    env.ok(&["store", "copy", &server, &back.to_string_lossy()]);
    assert_eq!(view(&back), before, "back in a file");
    assert_eq!(fs::read_dir(env.key_dir()).unwrap().count(), 1, "one key opens all three");

    let verify = ["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code"];
    store_on(server.as_ref(), &[&verify[..], &[code(0).as_str()]].concat());
    store_on(&back, &[&verify[..], &[code(0).as_str()]].concat());
    let shown = store_on(&back, &["settings", "show", "--json"]).stdout;
    assert!(!shown.contains(PASSWORD), "the relay password stays sealed: {shown}");
    let copies = store_on(&back, &["audit", "--limit", "1000", "--json"]).json();
    let copies = copies.as_array().unwrap().iter().filter(|e| e["action"] == "store.copy").count();
    // Each copy is in its target's log and travels on with the next copy; the replaced copy's
    // entry went with what it replaced.
    assert_eq!(copies, 2);
    let same = env.run(&["store", "copy", &back.to_string_lossy(), &back.to_string_lossy()]);
    assert_eq!(same.status, 2, "{}", same.stderr);
}

// --- (j) a database server over the network -------------------------------------------------------

/// Over TCP the connection is TLS (rustls), checked against the certificate authority the URL
/// names: with it a store is made and used; without it the server's certificate is refused and the
/// message says what to add; a password that does not match is refused; and a server that takes
/// TLS only refuses `sslmode=disable`. The password never shows in a message.
#[test]
fn a_database_server_over_tcp_speaks_tls_checked_against_its_certificate_authority() {
    const PASSWORD: &str = "Tls-db-pass-51c0";
    let cluster = common::pg::tls_cluster();
    let socket_url = cluster.new_database_with_password(PASSWORD);
    let (role, database) = socket_url
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split_once("@/"))
        .map(|(role, rest)| (role.to_owned(), rest.split('?').next().unwrap().to_owned()))
        .unwrap();
    let base = format!("postgres://{role}@127.0.0.1:{}/{database}", cluster.tcp_port());
    let env = TestEnv::on(Backend::Sqlite);
    let run = |url: &str, password: &str| {
        let mut cmd = env.command();
        cmd.env("MAILMFA_STORE", url).env("PGPASSWORD", password).args(["postoffice", "list", "--json"]);
        common::output(cmd.output().unwrap())
    };

    let ca = cluster.ca_file();
    let trusted = format!("{base}?sslmode=require&sslrootcert={}", ca.display());
    let ok = run(&trusted, PASSWORD);
    assert_eq!(ok.status, 0, "{}", ok.stderr);
    let mut cmd = env.command();
    cmd.env("MAILMFA_STORE", &trusted).env("PGPASSWORD", PASSWORD).args(["postoffice", "add", "tls.example"]);
    assert_eq!(common::output(cmd.output().unwrap()).status, 0);
    assert_eq!(run(&trusted, PASSWORD).json()[0]["name"], "tls.example");

    let unknown = run(&format!("{base}?sslmode=require"), PASSWORD);
    assert_eq!(unknown.status, 2);
    assert!(unknown.stderr.contains("certificate") && unknown.stderr.contains("sslrootcert="), "{}", unknown.stderr);

    let wrong = run(&trusted, "not-the-password");
    assert_eq!(wrong.status, 2);
    assert!(wrong.stderr.contains("password authentication failed"), "{}", wrong.stderr);

    let plain = run(&format!("{base}?sslmode=disable"), PASSWORD);
    assert_eq!(plain.status, 2);
    assert!(plain.stderr.contains("no encryption") || plain.stderr.contains("pg_hba.conf"), "{}", plain.stderr);
    for out in [&ok, &unknown, &wrong, &plain] {
        assert!(!out.stderr.contains(PASSWORD) && !out.stdout.contains(PASSWORD), "{}", out.stderr);
    }
}

/// A server that takes the connection and then says nothing (a hung machine, a wrong port that
/// happens to accept): opening the store gives up after the connect timeout with a clear message,
/// instead of holding the command for ever.
#[test]
fn a_database_server_that_never_answers_is_given_up_on() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = thread::spawn(move || listener.accept().map(|(stream, _)| stream));
    let env = TestEnv::on(Backend::Sqlite);
    let mut child = env
        .command()
        .env("MAILMFA_STORE", format!("postgres://mailmfa@127.0.0.1:{port}/mailmfa?connect_timeout=1"))
        .args(["mailbox", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Only a guard against a hang, far above the one second asked for.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("mailmfa still waits for a server that never answers");
        }
        thread::sleep(Duration::from_millis(50));
    }
    let run = common::output(child.wait_with_output().unwrap());
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("did not answer within 1 s"), "{}", run.stderr);
    drop(held.join().unwrap());
}
