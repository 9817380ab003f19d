//! What the tests start from and keep needing: stores named by what they hold, made through the
//! command line as an administrator would (or through the service, for the in-process tests), and
//! the small pieces of a login — the secret of an enrolment URI, the code an app shows now, the
//! code in a message.

use std::time::{Duration, Instant};

use mailmfa::clock::{Clock, SystemClock};
use mailmfa::delivery::DeliveryError;
use mailmfa::domain::totp::{code_at_step, decode_secret, step_of};
use mailmfa::service::{PostOfficeChanges, Service};
use serde_json::Value;

use super::TestEnv;
use super::http_server::{TestHttp, start_http};

// --- stores ----------------------------------------------------------------------------------------

/// `example.com` with alice@example.com, whose own challenge mode is `mode`.
pub fn alice_with_mode(env: &TestEnv, mode: &str) {
    env.ok(&["postoffice", "add", "example.com"]);
    env.ok(&["mailbox", "add", "alice@example.com"]);
    env.ok(&["mailbox", "set", "alice@example.com", "--challenge", mode]);
}

/// `example.com`, which challenges every login, with alice@example.com in it (not enrolled yet).
pub fn alice_challenged_by_her_post_office(env: &TestEnv) {
    env.ok(&["postoffice", "add", "example.com"]);
    env.ok(&["postoffice", "set", "example.com", "--challenge", "always"]);
    env.ok(&["mailbox", "add", "alice@example.com"]);
}

/// `example.com`, which challenges every login, with alice@example.com (a TOTP app, not enrolled
/// yet) and bob@example.com (codes by SMS to +15551234567).
pub fn alice_on_totp_and_bob_on_sms(env: &TestEnv) {
    alice_challenged_by_her_post_office(env);
    env.ok(&["mailbox", "add", "bob@example.com"]);
    env.ok(&["mailbox", "set", "bob@example.com", "--provider", "sms", "--sms-number", "+15551234567"]);
}

/// `example.com` (whose mode is prompt by IP address) with alice@example.com (challenged always,
/// codes by SMS to +15551234567) and bob@example.com (codes by e-mail to bob.private@example.org).
pub fn alice_on_sms_and_bob_on_smtp(env: &TestEnv) {
    env.ok(&["postoffice", "add", "example.com"]);
    env.ok(&["postoffice", "set", "example.com", "--challenge", "new-ip"]);
    env.ok(&["mailbox", "add", "alice@example.com"]);
    let sms = ["--provider", "sms", "--sms-number", "+15551234567"];
    env.ok(&[&["mailbox", "set", "alice@example.com", "--challenge", "always"][..], &sms].concat());
    env.ok(&["mailbox", "add", "bob@example.com"]);
    env.ok(&["mailbox", "set", "bob@example.com", "--provider", "smtp", "--alt-email", "bob.private@example.org"]);
}

/// `example.com` with alice and bob, typed as an administrator might: `Example.com` and
/// `Bob@EXAMPLE.com`, names in mixed case that the store keeps in lower case.
pub fn alice_and_bob_in_mixed_case(env: &TestEnv) {
    env.ok(&["postoffice", "add", "Example.com"]);
    env.ok(&["mailbox", "add", "alice@example.com"]);
    env.ok(&["mailbox", "add", "Bob@EXAMPLE.com"]);
}

/// `example.com` with alice, bob and carol, and `other.org` with dave, none of them configured:
/// made through `service`, for the tests that run in-process.
pub fn two_post_offices_and_four_mailboxes(service: &Service) {
    for postoffice in ["example.com", "other.org"] {
        service.add_postoffice(&postoffice.parse().unwrap()).unwrap();
    }
    for mailbox in ["alice@example.com", "bob@example.com", "carol@example.com", "dave@other.org"] {
        service.add_mailbox(&mailbox.parse().unwrap()).unwrap();
    }
}

/// `example.com`, which challenges every login, with alice@example.com, whose enrolment has begun
/// (a login from 192.0.2.1): made through `service`. Alice's secret.
pub fn alice_enrolling(service: &Service) -> Vec<u8> {
    let postoffice = "example.com".parse().unwrap();
    service.add_postoffice(&postoffice).unwrap();
    let always = PostOfficeChanges { challenge: Some("always".parse().unwrap()), ..PostOfficeChanges::default() };
    service.set_postoffice(&postoffice, &always).unwrap();
    let alice = "alice@example.com".parse().unwrap();
    service.add_mailbox(&alice).unwrap();
    service.begin_login(&alice, "192.0.2.1".parse().unwrap()).unwrap();
    secret_of(&service.enrolment_uri(&alice).unwrap().0)
}

/// [`alice_enrolling`], and bob@example.com beside her, not enrolled. Alice's secret.
pub fn alice_enrolling_and_bob(service: &Service) -> Vec<u8> {
    let secret = alice_enrolling(service);
    service.add_mailbox(&"bob@example.com".parse().unwrap()).unwrap();
    secret
}

/// A real HTTP SMS gateway on 127.0.0.1 that takes every message, set as the store's `sms.url`.
pub fn sms_gateway(env: &TestEnv) -> TestHttp {
    let gateway = start_http(200, "OK", "{}");
    env.ok(&["settings", "set", "sms.url", &gateway.url("/sms")]);
    gateway
}

/// Adds the API client `name` (with `extra` arguments of `client add`) and returns its key.
pub fn api_key(env: &TestEnv, name: &str, extra: &[&str]) -> String {
    let added = env.ok(&[&["client", "add", name, "--json"][..], extra].concat()).json();
    added["key"].as_str().unwrap().to_owned()
}

// --- codes -----------------------------------------------------------------------------------------

/// The secret an `otpauth://` URI carries.
pub fn secret_of(uri: &str) -> Vec<u8> {
    let b32 = uri.split("secret=").nth(1).and_then(|rest| rest.split('&').next()).unwrap();
    decode_secret(b32).unwrap().to_vec()
}

/// The time now, in seconds since 1970, as the binary and the login service see it.
pub fn now() -> i64 {
    SystemClock.now()
}

/// The code an authenticator app with `secret` shows now.
pub fn current_code(secret: &[u8]) -> String {
    code_at_step(secret, step_of(now()))
}

/// The first six digits in a row in `text`: the code in a message.
pub fn six_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(6)
        .find(|w| w.iter().all(char::is_ascii_digit))
        .map(|w| w.iter().collect())
        .unwrap_or_else(|| panic!("no code in {text:?}"))
}

/// A JSON array of strings, such as the `recovery_codes` of an answer.
pub fn strings(array: &Value) -> Vec<String> {
    let items = array.as_array().unwrap_or_else(|| panic!("not an array: {array}"));
    items.iter().map(|item| item.as_str().unwrap().to_owned()).collect()
}

/// Sends through `send` to a server that takes the connection and never answers, with a timeout of
/// half a second: the send gives up within five seconds with a timeout error that names none of
/// `secrets` and says how long it waited.
pub fn assert_gives_up_after_half_a_second(send: impl FnOnce() -> Result<(), DeliveryError>, secrets: &[&str]) {
    let started = Instant::now();
    let err = send().expect_err("no answer, no success");
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = assert_discreet(&err, secrets);
    assert!(matches!(err, DeliveryError::Timeout { .. }), "{err:?}");
    assert!(text.contains("did not answer within 0.5 s"), "{text}");
}

/// Checks that a delivery error is one line that names none of `secrets` (the message, the code,
/// a password), in its text and its debug form; returns the text.
pub fn assert_discreet(err: &DeliveryError, secrets: &[&str]) -> String {
    let text = err.to_string();
    eprintln!("ERR: {text}");
    let debug = format!("{err:?}");
    for secret in secrets {
        assert!(!text.contains(secret), "error shows {secret:?}: {text}");
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(!text.contains('\n'), "one line: {text}");
    text
}

// --- mail programs ---------------------------------------------------------------------------------

/// A throttle that never holds anyone back (for tests that ask a few times in-process).
pub struct NoThrottle;

impl mailmfa::service::MailThrottle for NoThrottle {
    fn throttled(&self, _ip: std::net::IpAddr, _limit: i64) -> bool {
        false
    }

    fn failed(&self, _ip: std::net::IpAddr) {}
}
