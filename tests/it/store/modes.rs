//! Local (WAL) and shared (rollback journal) stores, the mode a store remembers, read-only
//! commands, and the in-memory store.

use std::fs;

use super::{open, postoffice, raw_journal_mode, sidecar};
use crate::common;
use crate::common::TestEnv;
use mailmfa::service::{Service, StoreLocation, StoreMode};

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
        .filter(|e| e.entry.action == "store.mode")
        .filter_map(|e| e.entry.detail)
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
