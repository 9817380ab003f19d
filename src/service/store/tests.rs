//! The store's own guarantees, below the service: a transaction that fails or panics half-way
//! keeps nothing, and the connection stays usable.

use super::*;
use crate::domain::setting;

const NOW: i64 = 1_700_000_000;

fn sqlite(store: &Store) -> &Connection {
    match &store.db {
        Db::Sqlite(conn) => conn,
        Db::Postgres(_) => unreachable!("these tests open store files"),
    }
}

fn open(dir: &tempfile::TempDir) -> Store {
    let location = StoreLocation::new(dir.path().join("store.sqlite3"), false);
    Store::open(&location, &KeyRing::new(dir.path().join("keys"))).unwrap()
}

#[test]
fn a_failed_write_transaction_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let result: Result<(), StoreError> = store.write(|tx| {
        let po = tx.insert_postoffice(&"example.com".parse().unwrap(), NOW)?.unwrap();
        for i in 0..500 {
            tx.insert_mailbox(po, &format!("user{i}").parse().unwrap(), NOW)?;
        }
        tx.set_setting(setting("smtp.password").unwrap(), "relay-Pa55word")?;
        tx.set_setting(setting("issuer").unwrap(), "Half Done")?;
        Err(StoreError::Corrupt("stopped half-way".to_owned()))
    });
    assert!(matches!(result, Err(StoreError::Corrupt(_))));

    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store
            .write(|tx| -> Result<(), StoreError> {
                tx.insert_postoffice(&"panic.example".parse().unwrap(), NOW)?;
                panic!("a bug in the middle of a transaction");
            })
            .ok();
    }));
    assert!(panicked.is_err());

    assert!(store.read(|tx| tx.postoffices()).unwrap().is_empty());
    assert!(
        store
            .read(|tx| tx.mailbox_summaries(None, NOW, crate::domain::MailProgramPolicy::Password))
            .unwrap()
            .is_empty()
    );
    assert!(!store.read(|tx| tx.setting_is_set(setting("issuer").unwrap())).unwrap());
    assert_eq!(store.read(|tx| tx.settings_version()).unwrap(), 0, "the settings version went back too");
    assert_eq!(store.integrity_check().unwrap(), "ok");
    // The connection is still usable.
    store.write(|tx| tx.insert_postoffice(&"after.example".parse().unwrap(), NOW)).unwrap();
    drop(store);
    let again = open(&dir);
    let names: Vec<String> = again.read(|tx| tx.postoffices()).unwrap().iter().map(|p| p.name.to_string()).collect();
    assert_eq!(names, ["after.example"]);
    assert_eq!(again.integrity_check().unwrap(), "ok");
}

#[test]
fn storing_a_setting_moves_the_settings_version() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.read(|tx| tx.settings_version()).unwrap(), 0);
    store.write(|tx| tx.set_setting(setting("issuer").unwrap(), "Example")).unwrap();
    store.write(|tx| tx.set_setting(setting("lockout.threshold").unwrap(), "7")).unwrap();
    assert_eq!(store.read(|tx| tx.settings_version()).unwrap(), 2);
    let settings = store.read(|tx| tx.settings()).unwrap();
    assert_eq!((settings.issuer.as_str(), settings.lockout_threshold), ("Example", 7));
}

/// A store written by schema 1 (before secrets had a time) opens, migrates to the current schema
/// in one transaction, and records its mode as the file's journal says.
#[test]
fn a_schema_1_store_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.write(|tx| tx.insert_postoffice(&"example.com".parse().unwrap(), NOW)).unwrap();
    drop(store);
    let conn = Connection::open(dir.path().join("store.sqlite3")).unwrap();
    conn.execute_batch(
        "DROP TABLE passkey_ceremony; DROP TABLE passkey; DELETE FROM provider WHERE name = 'passkey';
         DROP TABLE admin_session; DROP TABLE admin_recovery_code; DROP TABLE administrator;
         DROP TABLE app_password; ALTER TABLE postoffice DROP COLUMN mail_programs;
         ALTER TABLE mailbox DROP COLUMN mail_programs;
         DROP TABLE step_up; ALTER TABLE postoffice DROP COLUMN remember_in_always;
         DROP TABLE notification; DROP TABLE remembered_device; DROP TABLE recovery_code;
         DROP TABLE signin_ticket; DROP TABLE signin; DROP TABLE login_transaction; DROP TABLE api_client;
         ALTER TABLE postoffice DROP COLUMN trusted_networks;
         ALTER TABLE mailbox DROP COLUMN tap_hash; ALTER TABLE mailbox DROP COLUMN tap_expires_at;
         ALTER TABLE mailbox DROP COLUMN tap_once; ALTER TABLE mailbox DROP COLUMN recovery_left;
         ALTER TABLE mailbox DROP COLUMN totp_created_at; DELETE FROM meta WHERE key = 'mode';
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let store = open(&dir);
    assert_eq!(store.mode(), Some(StoreMode::Local));
    assert_eq!(store.read(|tx| tx.postoffices()).unwrap().len(), 1);
    let version: i64 = sqlite(&store).pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let mode: String = sqlite(&store).query_row("SELECT value FROM meta WHERE key = 'mode'", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "local");
    sqlite(&store).prepare("SELECT totp_created_at FROM mailbox LIMIT 1").unwrap();
    for table in ["recovery_code", "remembered_device", "notification", "administrator", "admin_session"] {
        let rows: i64 = sqlite(&store).query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 0, "{table} was made by the migration");
    }
}

/// A store written by schema 15 (before actors had kinds) reads back its audit entries with the
/// kind of each actor where it is known: an API client's, the login service's own, and an
/// operating-system user's from the console or the command line, which were not told apart.
#[test]
fn a_schema_15_stores_actors_read_back_with_their_kinds() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(&dir));
    let conn = Connection::open(dir.path().join("store.sqlite3")).unwrap();
    let old = ["client:roundcube", "login", "notify", "http", "web", "alice", "web:root"];
    for actor in old {
        conn.execute("INSERT INTO audit (at, actor, action, outcome) VALUES (?1, ?2, 'test.old', 'ok')", (NOW, actor))
            .unwrap();
    }
    // Back to schema 15: what later migrations added goes.
    conn.execute_batch(
        "DROP TABLE passkey_ceremony; DROP TABLE passkey; ALTER TABLE login_transaction DROP COLUMN webauthn_state;
         ALTER TABLE api_client DROP COLUMN origins; DELETE FROM provider WHERE name = 'passkey';
         ALTER TABLE api_client DROP COLUMN metrics",
    )
    .unwrap();
    conn.pragma_update(None, "user_version", 15).unwrap();
    drop(conn);
    let store = open(&dir);
    let mut actors: Vec<String> =
        store.read(|tx| tx.audit(None, 20)).unwrap().into_iter().map(|r| r.entry.actor).collect();
    actors.reverse();
    assert_eq!(
        actors,
        ["api:roundcube", "service:login", "service:notify", "service:http", "service:web", "local:alice", "web:root"]
    );
}
