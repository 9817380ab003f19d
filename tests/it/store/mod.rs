//! The store: migrations from an empty file, refusal of a newer schema, local (WAL) and shared
//! (rollback journal) modes, several OS processes writing one store at once, secrets sealed at rest,
//! tampered ciphertext, wrong and missing keys, interrupted writes leaving the file consistent, and
//! stores on a database server. Here: opening the test's store, and reading it below mailmfa.

mod interrupted;
mod keys;
mod modes;
mod processes;
mod schema;
mod sealing;
mod servers;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::TestEnv;
use crate::common::fixtures::secret_of;
use mailmfa::clock::FixedClock;
use mailmfa::domain::{MailboxAddress, PostOfficeName};
use mailmfa::service::{KeyFolder, Service, ServiceError, StoreError, StoreLocation};
use rusqlite::Connection;

const NOW: i64 = 1_700_000_000;

const PASSWORD: &str = "relay-Pa55word-7d1e";

const SMS_TOKEN: &str = "gateway-token-4b2c99";

/// The test's store, asked for in shared mode or as it is (a database server has no modes).
fn location(env: &TestEnv, shared: bool) -> StoreLocation {
    if shared { StoreLocation::new(env.store_path(), true) } else { env.location() }
}

fn try_open_with(env: &TestEnv, shared: bool, keys: &KeyFolder) -> Result<Service, StoreError> {
    match Service::open(&location(env, shared), keys) {
        Ok(service) => Ok(service
            .with_actor(mailmfa::domain::Actor::Cli("test".to_owned()))
            .with_clock(Arc::new(FixedClock::new(NOW)))),
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
