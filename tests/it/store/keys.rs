//! A wrong, missing or foreign store key is refused, and changes nothing.

use std::fs;

use super::{
    NOW, PASSWORD, open, raw_journal_mode, read_secret, restore_key_file, sidecar, try_open, try_open_with,
    write_key_file,
};
use crate::common::TestEnv;
use crate::common::fixtures::alice_enrolling_and_bob;
use crate::on_each_backend;
use mailmfa::service::{CryptoError, KeyFolder, StoreError};

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
    assert!(message.contains(&id), "{message}");
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

on_each_backend!(
    a_wrong_key_is_refused_and_changes_nothing,
    a_missing_key_is_refused_and_changes_nothing,
    another_stores_key_file_is_refused,
);
