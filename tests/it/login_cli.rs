//! The login gate as a webmail runs it: `mailmfa login begin/verify` through the real binary on a
//! real store file — enrolment with the QR code decoded, verification, new IP, processes racing one
//! code, lockout across processes, codes received by a real SMTP server (plain and STARTTLS) and a
//! real HTTP SMS gateway for every preset, and end-user self-service.

use std::process::Stdio;

use crate::common;
use crate::common::browser::decode_qr;
use crate::common::fixtures::{alice_with_mode, current_code, now, secret_of, six_digits, strings};
use crate::common::http_server::start_http;
use crate::common::smtp_server::{Mode, Opts, split_message, start_smtp};
use crate::common::{Run, TestEnv};
use crate::on_each_backend;
use mailmfa::domain::totp::{code_at_step, step_of};
use serde_json::{Value, json};

/// A store with alice challenged at every login, made a shared one if `shared`.
fn alice_challenged_always(shared: bool) -> TestEnv {
    let env = TestEnv::new();
    alice_with_mode(&env, "always");
    if shared {
        env.ok(&["store", "mode", "shared"]);
    }
    env
}

/// Enrols alice from `ip` through the binary and returns her secret.
fn enrol(env: &TestEnv, ip: &str) -> Vec<u8> {
    enrol_with_codes(env, ip).0
}

/// Enrols alice from `ip` through the binary: her secret, and the recovery codes it brought.
fn enrol_with_codes(env: &TestEnv, ip: &str) -> (Vec<u8>, Vec<String>) {
    let begin = env.ok(&["login", "begin", "alice@example.com", "--ip", ip, "--json"]).json();
    assert_eq!(begin["decision"], "enroll", "{begin}");
    let secret = secret_of(begin["otpauth_uri"].as_str().unwrap());
    let verify =
        env.ok(&["login", "verify", "alice@example.com", "--ip", ip, "--code", &current_code(&secret), "--json"]);
    let answer = verify.json();
    assert_eq!(answer["result"], "accepted", "{answer}");
    let codes = strings(&answer["recovery_codes"]);
    assert_eq!(codes.len(), 10, "{answer}");
    (secret, codes)
}

fn enrol_verify_and_new_ip_from_the_command_line() {
    let env = TestEnv::new();
    alice_with_mode(&env, "new-ip");
    let begin = env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.7", "--json"]);
    let answer = begin.json();
    assert_eq!(answer["decision"], "enroll");
    assert_eq!(answer["provider"], "totp");
    assert_eq!(answer["reason"], "new_ip");
    let uri = answer["otpauth_uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("otpauth://totp/mailmfa:alice@example.com?secret="), "{uri}");
    assert!(uri.ends_with("&issuer=mailmfa&algorithm=SHA1&digits=6&period=30"), "{uri}");

    // The QR code the administrator exports decodes to exactly the same URI.
    let png = env.path("alice.png");
    env.ok(&["mailbox", "qr", "alice@example.com", "--out", png.to_str().unwrap()]);
    assert_eq!(decode_qr(&std::fs::read(&png).unwrap()), uri);

    let secret = secret_of(&uri);
    let code = current_code(&secret);
    let accepted = env.run(&["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code", &code]);
    assert_eq!(accepted.status, 0, "{}", accepted.stderr);
    assert!(accepted.stdout.starts_with("Accepted.\n  "), "the enrolment's recovery codes follow: {}", accepted.stdout);
    assert!(accepted.stdout.contains("They are not shown again"), "{}", accepted.stdout);
    let replay = env.run(&["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code", &code, "--json"]);
    assert_eq!(replay.status, 1);
    assert_eq!(replay.json(), json!({"result": "rejected", "reason": "invalid_code"}));

    let known = env.ok(&["login", "begin", "alice@example.com", "--ip", "::ffff:203.0.113.7", "--json"]).json();
    assert_eq!(known, json!({"decision": "allow", "reason": "known_ip"}));
    let new_ip = env.ok(&["login", "begin", "alice@example.com", "--ip", "2001:db8::7", "--json"]).json();
    assert_eq!(new_ip, json!({"decision": "challenge", "provider": "totp", "reason": "new_ip"}));
    let text = env.ok(&["login", "begin", "alice@example.com", "--ip", "2001:db8::7"]).stdout;
    assert!(text.starts_with("Challenge: ask for the code from the TOTP app"), "{text}");

    let show = env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json();
    assert_eq!(show["enrolment"], "active");
    assert_eq!(show["known_ips"][0]["ip"], "203.0.113.7");

    env.ok(&["mailbox", "reset", "alice@example.com", "--code"]);
    let again = env.ok(&["login", "begin", "alice@example.com", "--ip", "2001:db8::7", "--json"]).json();
    assert_eq!(again["decision"], "enroll");
    assert_ne!(secret_of(again["otpauth_uri"].as_str().unwrap()), secret);
}

/// One recovery code raced by four processes on one store (a local and a shared file, and a
/// database server): exactly one is let in, 20 times over, and the others get a wrong-code answer.
fn processes_racing_one_recovery_code_exactly_one_is_accepted() {
    for &shared in common::sharing_modes() {
        let env = alice_challenged_always(shared);
        let (_, mut codes) = enrol_with_codes(&env, "203.0.113.7");
        for round in 0..20 {
            if codes.is_empty() {
                let issued = env.ok(&["mailbox", "recovery-codes", "alice@example.com", "--new", "--json"]).json();
                codes = strings(&issued["recovery_codes"]);
            }
            let code = codes.pop().unwrap();
            let runs = race(&env, shared, &code, 4);
            let accepted = runs.iter().filter(|r| r.status == 0).count();
            assert_eq!(
                accepted,
                1,
                "shared={shared} round {round}: {:?}",
                runs.iter().map(|r| &r.stdout).collect::<Vec<_>>()
            );
            // The losers are wrong codes: unlock so the lockout does not end the rounds.
            env.ok(&["mailbox", "unlock", "alice@example.com"]);
        }
    }
}

fn race(env: &TestEnv, shared: bool, code: &str, racers: usize) -> Vec<Run> {
    let children: Vec<_> = (0..racers)
        .map(|_| {
            let mut cmd = env.command();
            cmd.args(["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code", code, "--json"]);
            if shared {
                cmd.arg("--shared");
            }
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    children.into_iter().map(|c| common::output(c.wait_with_output().unwrap())).collect()
}

fn processes_racing_one_code_exactly_one_is_accepted() {
    for &shared in common::sharing_modes() {
        let env = alice_challenged_always(shared);
        let secret = enrol(&env, "203.0.113.7");
        // The next step's code is inside the ±1 window and not used yet: all racers hold it.
        let next = code_at_step(&secret, step_of(now()) + 1);
        let runs = race(&env, shared, &next, 4);
        let accepted = runs.iter().filter(|r| r.status == 0).count();
        assert_eq!(accepted, 1, "shared={shared}: {:?}", runs.iter().map(|r| &r.stdout).collect::<Vec<_>>());
        for r in runs.iter().filter(|r| r.status != 0) {
            assert_eq!(r.status, 1, "{}", r.stderr);
            assert_eq!(r.json(), json!({"result": "rejected", "reason": "invalid_code"}));
        }
    }
}

fn lockout_counts_failures_across_processes() {
    let env = TestEnv::new();
    alice_with_mode(&env, "always");
    let secret = enrol(&env, "203.0.113.7");
    let runs = race(&env, false, "000000", 5);
    assert!(runs.iter().all(|r| r.status == 1), "{:?}", runs.iter().map(|r| &r.stderr).collect::<Vec<_>>());
    let good = env.run(&[
        "login",
        "verify",
        "alice@example.com",
        "--ip",
        "203.0.113.7",
        "--code",
        &current_code(&secret),
        "--json",
    ]);
    assert_eq!(good.status, 1);
    assert_eq!(good.json(), json!({"result": "rejected", "reason": "locked"}));
    let begin = env.run(&["login", "begin", "alice@example.com", "--ip", "203.0.113.7", "--json"]);
    assert_eq!(begin.status, 1);
    assert_eq!(begin.json()["decision"], "locked");
    assert!(begin.json()["retry_after_s"].as_i64().unwrap() > 0);
    assert_eq!(env.ok(&["mailbox", "list", "--json"]).json()[0]["status"], "locked");
    env.ok(&["mailbox", "unlock", "alice@example.com"]);
    let begin = env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.7", "--json"]).json();
    assert_eq!(begin["decision"], "challenge");
}

fn use_smtp(env: &TestEnv, port: u16, security: &str) {
    env.set_settings(&[
        ("smtp.host", "127.0.0.1"),
        ("smtp.port", &port.to_string()),
        ("smtp.security", security),
        ("smtp.from", "mfa@example.com"),
        ("smtp.accept_invalid_certs", "true"),
        ("issuer", "Example Mail"),
    ]);
    env.ok(&["mailbox", "set", "alice@example.com", "--provider", "smtp", "--alt-email", "alice.home@example.org"]);
}

#[test]
fn smtp_code_is_received_and_completes_verify_plain_and_starttls() {
    for (mode, security) in [(Mode::Plain, "none"), (Mode::StartTls, "starttls")] {
        let server = start_smtp(Opts::new(mode));
        let env = TestEnv::new();
        alice_with_mode(&env, "always");
        use_smtp(&env, server.addr.port(), security);
        let begin = env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.7", "--json"]).json();
        assert_eq!(
            begin,
            json!({"decision": "challenge", "provider": "smtp", "sent_to": "a…@example.org", "reason": "always"})
        );
        let received = server.received();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].rcpt_to, ["alice.home@example.org"]);
        assert_eq!(received[0].tls, mode == Mode::StartTls);
        let (headers, body) = split_message(&received[0].data);
        assert!(headers.contains("Subject: Your Example Mail sign-in code"), "{headers}");
        assert!(body.contains("alice@example.com") && body.contains("valid for 10 minutes"), "{body}");
        let code = six_digits(&body);
        let verify =
            env.ok(&["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code", &code, "--json"]);
        assert_eq!(verify.json(), json!({"result": "accepted"}));
        let audit = env.ok(&["audit", "--json"]).stdout;
        assert!(!audit.contains(&code), "the code must not be in the audit log");
    }
}

#[test]
fn provider_test_sends_a_message_without_a_code() {
    let server = start_smtp(Opts::new(Mode::Plain));
    let env = TestEnv::new();
    alice_with_mode(&env, "always");
    use_smtp(&env, server.addr.port(), "none");
    env.ok(&["provider", "test", "smtp", "--to", "postmaster@example.org"]);
    let (_, body) = split_message(&server.received()[0].data);
    assert!(body.contains("test message"), "{body}");
    let refused = env.run(&["provider", "test", "sms", "--to", "+15551234567"]);
    assert_eq!(refused.status, 2);
    assert!(refused.stderr.contains("sms.url"), "{}", refused.stderr);
    assert!(env.ok(&["audit", "--json"]).stdout.contains("provider.send_test"));
}

struct Preset {
    name: &'static str,
    status: u16,
    answer: &'static str,
    extra: &'static [(&'static str, &'static str)],
    text_of: fn(&common::http_server::Request) -> String,
}

fn form_field(r: &common::http_server::Request, name: &str) -> String {
    r.form().into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap_or_default()
}

#[test]
fn sms_code_is_received_for_every_preset_and_completes_verify() {
    let presets = [
        Preset {
            name: "twilio",
            status: 201,
            answer: r#"{"sid":"SM1"}"#,
            extra: &[],
            text_of: |r| form_field(r, "Body"),
        },
        Preset {
            name: "vonage",
            status: 200,
            answer: r#"{"messages":[{"status":"0"}]}"#,
            extra: &[],
            text_of: |r| form_field(r, "text"),
        },
        Preset {
            name: "clickatell",
            status: 202,
            answer: r#"{"messages":[{"accepted":true}]}"#,
            extra: &[],
            text_of: |r| r.json()["messages"][0]["content"].as_str().unwrap_or_default().to_owned(),
        },
        Preset {
            name: "webhook",
            status: 200,
            answer: "{}",
            extra: &[],
            text_of: |r| r.json()["message"].as_str().unwrap_or_default().to_owned(),
        },
        Preset {
            name: "custom",
            status: 200,
            answer: "QUEUED",
            extra: &[
                ("sms.custom.body", "form"),
                ("sms.custom.body_template", "dest={to_digits}&msg={message}"),
                ("sms.custom.auth", "header"),
                ("sms.custom.auth_header", "X-Api-Key"),
                ("sms.custom.success_body_contains", "QUEUED"),
            ],
            text_of: |r| form_field(r, "msg"),
        },
    ];
    for preset in presets {
        let server = start_http(preset.status, "OK", preset.answer);
        let env = TestEnv::new();
        alice_with_mode(&env, "always");
        let url = server.url("/send");
        env.set_settings(&[
            ("sms.preset", preset.name),
            ("sms.url", &url),
            ("sms.username", "AC123"),
            ("sms.password", "gateway-secret"),
            ("sms.sender", "+15550001111"),
        ]);
        env.set_settings(preset.extra);
        env.ok(&["mailbox", "set", "alice@example.com", "--provider", "sms", "--sms-number", "+44 7700 900123"]);
        let begin = env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.7", "--json"]).json();
        assert_eq!(begin["decision"], "challenge", "{}: {begin}", preset.name);
        assert_eq!(begin["provider"], "sms");
        assert_eq!(begin["sent_to"], "+••••••••••23");
        let request = server.only_request();
        assert_eq!(request.method, "POST", "{}", preset.name);
        let text = (preset.text_of)(&request);
        let sent: Value = json!(request.body_text());
        assert!(sent.to_string().contains("447700900123"), "{}: the number is in the request: {sent}", preset.name);
        if preset.name == "custom" {
            assert_eq!(request.header("x-api-key"), Some("gateway-secret"));
        }
        let code = six_digits(&text);
        let verify =
            env.ok(&["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code", &code, "--json"]);
        assert_eq!(verify.json(), json!({"result": "accepted"}), "{}", preset.name);
    }
}

#[test]
fn a_dead_gateway_fails_closed_with_a_clear_message() {
    let server = start_http(500, "Internal Server Error", "boom");
    let env = TestEnv::new();
    alice_with_mode(&env, "always");
    env.ok(&["settings", "set", "sms.url", &server.url("/hook")]);
    env.ok(&["mailbox", "set", "alice@example.com", "--provider", "sms", "--sms-number", "+15551234567"]);
    let begin = env.run(&["login", "begin", "alice@example.com", "--ip", "203.0.113.7", "--json"]);
    assert_eq!(begin.status, 2);
    assert!(begin.stdout.is_empty());
    assert!(begin.stderr.contains("could not be sent") && begin.stderr.contains("500"), "{}", begin.stderr);
    let verify =
        env.run(&["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code", "123456", "--json"]);
    assert_eq!(verify.json(), json!({"result": "rejected", "reason": "no_challenge"}));
}

#[test]
fn user_set_is_refused_unless_the_post_office_and_platform_allow_it() {
    let env = TestEnv::new();
    alice_with_mode(&env, "never");
    let args = ["user", "set", "alice@example.com", "--challenge", "always", "--json"];
    let refused = env.run(&args);
    assert_eq!(refused.status, 1);
    assert!(refused.stderr.contains("does not let users configure"), "{}", refused.stderr);
    env.ok(&["postoffice", "set", "example.com", "--users-may-configure", "true"]);
    env.ok(&["provider", "set", "totp", "--user-configurable", "false"]);
    // DESIGN.md §5: changing only the challenge mode needs only the post office's permission.
    assert_eq!(env.ok(&args).json()["challenge"], "always");
    let choose = ["user", "set", "alice@example.com", "--provider", "totp", "--json"];
    let refused = env.run(&choose);
    assert_eq!(refused.status, 1);
    assert!(refused.stderr.contains("end users"), "{}", refused.stderr);
    env.ok(&["provider", "set", "totp", "--user-configurable", "true"]);
    assert_eq!(env.ok(&choose).json()["provider"], "totp");
    assert!(env.ok(&["audit", "--json"]).stdout.contains("user.set"));
}

#[test]
fn login_input_errors_exit_2() {
    let env = TestEnv::new();
    alice_with_mode(&env, "always");
    for args in [
        vec!["login", "begin", "alice@example.com", "--ip", "999.1.1.1"],
        vec!["login", "begin", "alice@example.com", "--ip", ""],
        vec!["login", "begin", "alice", "--ip", "203.0.113.7"],
        vec!["login", "begin", "bob@unknown.example", "--ip", "203.0.113.7"],
        vec!["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code", "12 456"],
        vec!["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code", "abcdef"],
        vec!["login", "verify", "alice@example.com", "--ip", "203.0.113.7", "--code", ""],
    ] {
        let run = env.run(&args);
        assert_eq!(run.status, 2, "{args:?}: {}", run.stdout);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{args:?}: {}", run.stderr);
    }
    let unknown =
        env.run(&["login", "verify", "nobody@example.com", "--ip", "203.0.113.7", "--code", "123456", "--json"]);
    assert_eq!(unknown.status, 1);
    assert_eq!(unknown.json(), json!({"result": "rejected", "reason": "no_challenge"}));
}

on_each_backend!(
    enrol_verify_and_new_ip_from_the_command_line,
    processes_racing_one_recovery_code_exactly_one_is_accepted,
    processes_racing_one_code_exactly_one_is_accepted,
    lockout_counts_failures_across_processes,
);
