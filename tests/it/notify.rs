//! Notifications to a mailbox's own address, received by a real SMTP server on 127.0.0.1: one per
//! event (a sign-in from a new country, an access pass, a recovery code, a lockout, a code reset),
//! from the templates in the settings, each send audited; and a relay that hangs or is down
//! delays no login — the notification goes out, or fails audited, after the answer.

use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::TestEnv;
use crate::common::fixtures::{alice_with_mode, current_code, secret_of, strings};
use crate::common::smtp_server::{
    Mode, Opts, Received, TestSmtp, decode_qp, session, split_message, start_smtp, tls_config,
};
use crate::on_each_backend;
use mailmfa::clock::{Clock, SystemClock};
use mailmfa::domain::VerifyAnswer;
use serde_json::Value;

/// A store whose relay is the SMTP server on `port`, with notifications on, and alice challenged
/// at every login.
fn notifying_through_relay(port: u16) -> TestEnv {
    let env = TestEnv::new();
    env.set_settings(&[
        ("smtp.host", "127.0.0.1"),
        ("smtp.port", &port.to_string()),
        ("smtp.security", "none"),
        ("smtp.from", "mfa@example.com"),
        ("issuer", "Example Mail"),
        ("notify.enabled", "true"),
    ]);
    alice_with_mode(&env, "always");
    env
}

/// The messages the server got since `seen`, as (subject line, body), each to the mailbox itself.
fn new_messages(server: &TestSmtp, seen: &mut usize) -> Vec<(String, String)> {
    let received: Vec<Received> = server.received();
    let new: Vec<(String, String)> = received[*seen..]
        .iter()
        .map(|message| {
            assert_eq!(message.rcpt_to, ["alice@example.com"], "to the mailbox itself");
            let (headers, body) = split_message(&message.data);
            let subject = headers.lines().find(|l| l.starts_with("Subject: ")).unwrap_or_default().to_owned();
            (subject, decode_qp(&body).replace("\r\n", " ").replace('\n', " "))
        })
        .collect();
    *seen = received.len();
    new
}

/// The one message the server got since `seen`.
fn next_message(server: &TestSmtp, seen: &mut usize) -> (String, String) {
    let mut new = new_messages(server, seen);
    assert_eq!(new.len(), 1, "one more message: {new:?}");
    new.remove(0)
}

fn audit(env: &TestEnv) -> Vec<Value> {
    env.ok(&["audit", "--json", "--limit", "1000"]).json().as_array().unwrap().clone()
}

fn each_event_is_e_mailed_to_the_mailbox_and_audited() {
    let server = start_smtp(Opts::new(Mode::Plain));
    let env = notifying_through_relay(server.addr.port());
    let mut seen = 0;

    // The first place a mailbox ever signs in from is no news: no message.
    let begin = env.ok(&["login", "begin", "alice@example.com", "--ip", "81.2.69.160", "--json"]).json();
    let uri = begin["otpauth_uri"].as_str().unwrap();
    let code = current_code(&secret_of(uri));
    let enrolled =
        env.ok(&["login", "verify", "alice@example.com", "--ip", "81.2.69.160", "--code", &code, "--json"]).json();
    let codes = strings(&enrolled["recovery_codes"]);
    assert!(server.received().is_empty(), "{:?}", server.received());

    // A sign-in from the United States, with a recovery code.
    env.ok(&["login", "verify", "alice@example.com", "--ip", "8.8.8.8", "--code", &codes[0]]);
    let messages = new_messages(&server, &mut seen);
    assert_eq!(messages.len(), 2, "{messages:?}");
    let all: String = messages.iter().map(|(s, b)| format!("{s} {b}")).collect();
    assert!(all.contains("Subject: Example Mail: sign-in from a new country"), "{all}");
    assert!(all.contains("from a country it had not signed in from before: US (IP address 8.8.8.8)"), "{all}");
    assert!(all.contains("Subject: Example Mail: recovery code used"), "{all}");
    assert!(
        all.contains("A recovery code was used to sign in to alice@example.com from IP address 8.8.8.8 (US)"),
        "{all}"
    );
    assert!(all.contains("9 are left"), "{all}");

    // An access pass.
    env.ok(&["mailbox", "tap", "alice@example.com", "--minutes", "30"]);
    let (subject, body) = next_message(&server, &mut seen);
    assert_eq!(subject, "Subject: Example Mail: temporary access pass issued");
    assert!(body.contains("issued a temporary access pass for alice@example.com") && body.contains("UTC"), "{body}");

    // Five wrong codes: the fifth locks, and says so.
    for _ in 0..5 {
        env.run(&["login", "verify", "alice@example.com", "--ip", "193.99.144.80", "--code", "000000"]);
    }
    let (subject, body) = next_message(&server, &mut seen);
    assert_eq!(subject, "Subject: Example Mail: sign-in paused");
    assert!(body.contains("the last from IP address 193.99.144.80 (DE)"), "{body}");

    // The administrator resets the code.
    env.ok(&["mailbox", "reset", "alice@example.com", "--code"]);
    let (subject, _) = next_message(&server, &mut seen);
    assert_eq!(subject, "Subject: Example Mail: two-step sign-in reset");

    let sends: Vec<Value> = audit(&env).into_iter().filter(|e| e["action"] == "notify.send").collect();
    assert_eq!(sends.len(), 5, "{sends:?}");
    assert!(sends.iter().all(|e| e["outcome"] == "ok" && e["mailbox"] == "alice@example.com"), "{sends:?}");

    // Turned off: nothing more.
    env.ok(&["settings", "set", "notify.enabled", "false"]);
    env.ok(&["mailbox", "tap", "alice@example.com"]);
    assert_eq!(server.received().len(), seen);
}

/// A relay that accepts the connection but says nothing until the test lets it: the login's answer
/// comes while the relay still hangs, and the notification is delivered once the relay answers —
/// it was sent after the answer, not before. A relay that is down fails the notification, audited,
/// and the login still gets its answer.
fn a_hanging_or_dead_relay_delays_no_login() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (release, released) = mpsc::channel::<()>();
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Received>::new()));
    let store = received.clone();
    std::thread::spawn(move || {
        let tls = tls_config();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            // Hold the connection, silent, until the test has its answer.
            if released.recv().is_err() {
                return;
            }
            drop(session(stream, &Opts::new(Mode::Plain), &tls, &store));
        }
    });
    let env = notifying_through_relay(port);
    let service = env.service(SystemClock.now()).with_actor(mailmfa::domain::Actor::Cli("admin".to_owned()));
    let alice = "alice@example.com".parse().unwrap();
    let ip = "81.2.69.160".parse().unwrap();
    service.begin_login(&alice, ip).unwrap();
    for _ in 0..4 {
        assert_ne!(service.verify_login(&alice, ip, "000000").unwrap().answer, VerifyAnswer::Accepted);
    }
    // The fifth wrong code locks, and queues the notification; the answer comes regardless.
    let answer = service.verify_login(&alice, ip, "000000").unwrap();
    assert_eq!(serde_json::to_value(&answer).unwrap()["reason"], "locked");
    assert!(received.lock().unwrap().is_empty(), "nothing could have been sent yet");
    release.send(()).unwrap();
    wait_for("the notification to arrive", || !received.lock().unwrap().is_empty());
    let (headers, _) = split_message(&received.lock().unwrap()[0].data);
    assert!(headers.contains("Subject: Example Mail: sign-in paused"), "{headers}");

    // The relay is down: the notification fails, audited; the login answered all the same.
    env.ok(&["settings", "set", "smtp.port", "9"]);
    let pass = service.issue_access_pass(&alice, 60, true).unwrap();
    assert!(pass.pass.shown().len() == 11);
    wait_for("the failure to be audited", || {
        audit(&env).iter().any(|e| e["action"] == "notify.send" && e["outcome"] == "failed")
    });
    let failed = audit(&env).into_iter().find(|e| e["action"] == "notify.send" && e["outcome"] == "failed").unwrap();
    assert!(failed["detail"].as_str().unwrap().starts_with("access_pass: "), "{failed}");
}

/// Polls `done` for up to 30 seconds (the worker is a background thread).
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A notification the relay refused is tried again five minutes later (any sender, any process),
/// three times in all: it arrives once the relay is back, or is given up — each attempt audited.
fn a_failed_notification_is_tried_again_then_given_up() {
    use mailmfa::clock::FixedClock;
    let env = notifying_through_relay(9);
    let clock = std::sync::Arc::new(FixedClock::new(SystemClock.now()));
    let service = env.service_on(clock.clone()).with_actor(mailmfa::domain::Actor::Cli("admin".to_owned()));
    let alice = "alice@example.com".parse().unwrap();
    let failures = |env: &TestEnv, what: &str| {
        audit(env)
            .iter()
            .filter(|e| e["action"] == "notify.send" && e["detail"].as_str().is_some_and(|d| d.contains(what)))
            .count()
    };

    service.issue_access_pass(&alice, 60, false).unwrap();
    wait_for("the first attempt", || failures(&env, "tried again in 5 minutes") == 1);
    clock.advance(299);
    service.send_due_notices().unwrap();
    assert_eq!(failures(&env, "tried again in 5 minutes"), 1, "not before five minutes");
    clock.advance(1);
    service.send_due_notices().unwrap();
    wait_for("the second attempt", || failures(&env, "tried again in 5 minutes") == 2);

    // The relay is back: the third attempt delivers it.
    let server = start_smtp(Opts::new(Mode::Plain));
    env.ok(&["settings", "set", "smtp.port", &server.addr.port().to_string()]);
    clock.advance(300);
    service.send_due_notices().unwrap();
    wait_for("the notification to arrive", || server.received().len() == 1);
    let mut seen = 0;
    let (subject, _) = next_message(&server, &mut seen);
    assert_eq!(subject, "Subject: Example Mail: temporary access pass issued");

    // Down for good: three attempts, then given up.
    env.ok(&["settings", "set", "smtp.port", "9"]);
    service.issue_access_pass(&alice, 60, false).unwrap();
    wait_for("the first attempt", || failures(&env, "tried again in 5 minutes") == 3);
    for _ in 0..2 {
        clock.advance(300);
        service.send_due_notices().unwrap();
    }
    wait_for("the notification to be given up", || failures(&env, "given up after 3 attempts") == 1);
    clock.advance(300);
    assert_eq!(service.send_due_notices().unwrap(), 0);
    assert_eq!(server.received().len(), 1, "nothing more arrived");
    assert_eq!(failures(&env, "given up"), 1, "given up once, and not tried again");
}

on_each_backend!(
    each_event_is_e_mailed_to_the_mailbox_and_audited,
    a_hanging_or_dead_relay_delays_no_login,
    a_failed_notification_is_tried_again_then_given_up,
);
