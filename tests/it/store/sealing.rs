//! Secrets sealed at rest: never in the file in any encoding, and a sealed value that was tampered
//! with or moved to another row, setting or store does not open.

use super::{NOW, PASSWORD, SMS_TOKEN, mailbox_row_id, open, read_secret, sidecar};
use crate::common::fixtures::{alice_enrolling, alice_enrolling_and_bob, alice_with_mode, secret_of};
use crate::common::{TestEnv, contains, file_bytes};
use mailmfa::domain::totp::secret_base32;
use mailmfa::service::{CryptoError, ServiceError, StoreError};
use rusqlite::params;

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
