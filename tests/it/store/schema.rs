//! Making and recognising a store: the current schema in a new file, a file or database that is not
//! a store, and a newer schema — each refused and left as it was.

use std::collections::BTreeSet;
use std::fs;

use super::{NOW, file_store_id, open, postoffice, sidecar, try_open, user_version};
use crate::common::fixtures::alice_enrolling_and_bob;
use crate::common::{RawStore, TestEnv};
use crate::on_each_backend;
use mailmfa::service::{SCHEMA_VERSION, Service, StoreError, StoreLocation};
use rusqlite::Connection;

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
        let leftovers = env.leftovers(".mailmfa-new-");
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

/// A store of schema 15 (before audit actors had kinds), on either back end, reads back its old
/// entries with the kind of each actor where it is known (DESIGN §12): an API client's, the login
/// service's own, and an operating-system user's from before the console and the command line
/// were told apart; a web administrator's stays as it was.
fn old_audit_actors_read_back_with_their_kinds() {
    let env = TestEnv::new();
    env.ok(&["postoffice", "add", "example.com"]);
    let raw = env.raw();
    for actor in ["client:roundcube", "login", "notify", "http", "alice", "web:root"] {
        raw.execute(&format!(
            "INSERT INTO audit (at, actor, action, outcome) VALUES ({NOW}, '{actor}', 'test.old', 'ok')"
        ));
    }
    // Back to schema 15: what later migrations added goes.
    raw.change_schema(
        "DROP TABLE passkey_ceremony; DROP TABLE passkey; ALTER TABLE login_transaction DROP COLUMN webauthn_state;
         ALTER TABLE api_client DROP COLUMN origins; DELETE FROM provider WHERE name = 'passkey';
         ALTER TABLE api_client DROP COLUMN metrics",
    );
    match &raw {
        RawStore::Sqlite(conn) => conn.pragma_update(None, "user_version", 15).unwrap(),
        RawStore::Postgres(_) => raw.execute("UPDATE meta SET value = '15' WHERE key = 'schema_version'"),
    }
    drop(raw);

    let entries = env.ok(&["audit", "--json"]).json();
    let actors_of = |action: &str| -> Vec<String> {
        let found = entries.as_array().unwrap().iter().filter(|e| e["action"] == action);
        found.map(|e| e["actor"].as_str().unwrap().to_owned()).rev().collect()
    };
    assert_eq!(
        actors_of("test.old"),
        ["api:roundcube", "service:login", "service:notify", "service:http", "local:alice", "web:root"]
    );
    let cli = format!("cli:{}", mailmfa::service::os_user());
    assert_eq!(actors_of("postoffice.add"), [cli], "an entry with its kind stays as it is");
}

on_each_backend!(old_audit_actors_read_back_with_their_kinds);
