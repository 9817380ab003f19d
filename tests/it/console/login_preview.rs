//! Login Preview: the real engine on the real store, a TOTP enrolment and a code sent by e-mail in
//! the background, a relay that fails.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;

use super::{Console, NOW, Steps, address, select_mailbox, step_until};
use crate::common::fixtures::{secret_of, six_digits};
use crate::common::smtp_server::{Mode, Opts, split_message, start_smtp};
use egui_kittest::kittest::Queryable;
use mailmfa::domain::{ChallengeMode, Configurer, EnrolmentState, MailboxAddress, MailboxChallenge, Provider, totp};
use mailmfa::service::{MailboxChanges, PostOfficeChanges};

#[test]
fn login_preview_enrols_totp_and_accepts_the_first_code() {
    let console = Console::new();
    let service = console.service();
    let alice = address("alice@example.com");
    service
        .set_postoffice(
            &"example.com".parse().unwrap(),
            &PostOfficeChanges { challenge: Some(ChallengeMode::Always), ..PostOfficeChanges::default() },
        )
        .unwrap();
    let mut harness = console.harness();
    select_mailbox(&mut harness, "example.com", "alice");
    harness.click("Login Preview…");

    harness.click("Begin login");
    harness.get_by_label_contains("Decision: enrol a TOTP app");
    let uri = harness.state().preview_enrolment_uri(&alice).expect("an enrolment URI").to_owned();
    assert_eq!(service.mailbox(&alice).unwrap().mailbox.enrolment, EnrolmentState::Pending);

    let code = totp::code_at_step(&secret_of(&uri), totp::step_of(NOW));
    harness.type_into("Code", &code);
    harness.click("Verify code");

    harness.get_by_label_contains("Accepted: the login goes on.");
    let details = service.mailbox(&alice).unwrap();
    assert_eq!(details.mailbox.enrolment, EnrolmentState::Active);
    assert_eq!(details.known_ips.first().map(|ip| ip.value.as_str()), Some("203.0.113.10"));
}

/// Alice gets her codes by e-mail through a relay on 127.0.0.1:`port`, on every login.
fn smtp_mailbox(console: &Console, relay: SocketAddr) -> MailboxAddress {
    let service = console.service();
    for (key, value) in [
        ("smtp.host", relay.ip().to_string()),
        ("smtp.port", relay.port().to_string()),
        ("smtp.security", "none".to_owned()),
        ("smtp.from", "mfa@example.org".to_owned()),
        ("smtp.timeout_seconds", "10".to_owned()),
    ] {
        service.set_setting(key, &value).unwrap();
    }
    let alice = address("alice@example.com");
    let changes = MailboxChanges {
        challenge: Some(MailboxChallenge::Mode(ChallengeMode::Always)),
        provider: Some(Provider::Smtp),
        alt_email: Some(Some("alice.private@elsewhere.example".parse().unwrap())),
        ..MailboxChanges::default()
    };
    service.set_mailbox(&alice, &changes, Configurer::Administrator).unwrap();
    alice
}

/// An SMTP server that holds its first connection until told, then refuses it.
fn held_refusing_relay() -> (SocketAddr, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay = listener.local_addr().unwrap();
    let (release, held) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else { return };
        if held.recv().is_ok() {
            stream.write_all(b"554 5.3.2 not accepting mail now\r\n").ok();
        }
    });
    (relay, release)
}

#[test]
fn login_preview_sends_the_code_in_the_background_and_shows_a_failure() {
    let console = Console::new();
    let (relay, release) = held_refusing_relay();
    let alice = smtp_mailbox(&console, relay);
    let mut harness = console.harness();
    select_mailbox(&mut harness, "example.com", "alice");
    harness.click("Login Preview…");

    harness.get_by_label("Begin login").click();
    // The relay holds the connection, and still the console draws frames: it is not waiting.
    harness.run_steps(5);
    assert!(harness.state().preview_is_sending(&alice));
    harness.get_by_label_contains("Decision: challenge with SMTP address");
    harness.get_by_label_contains("Sending the code to");
    assert!(harness.query_by_label("Verify code").is_none(), "no code to type before it was sent");

    release.send(()).unwrap();
    step_until(&mut harness, |app| !app.preview_is_sending(&alice));
    harness.get_by_label_contains("The code could not be sent, so the login cannot continue");
    assert!(harness.query_by_label("Verify code").is_none(), "the login fails closed");
    let audit = console.service().audit(Some(&alice), 10).unwrap();
    let failed = audit.iter().find(|e| e.entry.action == "login.send_code").expect("the failed delivery is audited");
    assert_eq!(failed.entry.outcome.to_string(), "failed");
    let begun = audit.iter().find(|e| e.entry.action == "login.begin").expect("the decision is audited");
    let console_user = format!("console:{}", mailmfa::service::os_user());
    assert_eq!((&begun.entry.actor, &failed.entry.actor), (&console_user, &console_user), "the console's preview");
    assert_eq!(harness.state().running_jobs(), 0);
}

#[test]
fn login_preview_sends_the_code_by_smtp_and_accepts_it() {
    let console = Console::new();
    let server = start_smtp(Opts::new(Mode::Plain));
    let alice = smtp_mailbox(&console, server.addr);
    let mut harness = console.harness();
    select_mailbox(&mut harness, "example.com", "alice");
    harness.click("Login Preview…");

    harness.get_by_label("Begin login").click();
    harness.step();
    step_until(&mut harness, |app| !app.preview_is_sending(&alice));
    harness.get_by_label_contains("A one-time code was sent to");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, vec!["alice.private@elsewhere.example".to_owned()]);
    let (_, body) = split_message(&received[0].data);
    let code = six_digits(&body);

    harness.type_into("Code", &code);
    harness.click("Verify code");
    harness.get_by_label_contains("Accepted: the login goes on.");
    let details = console.service().mailbox(&alice).unwrap();
    assert_eq!(details.known_ips.first().map(|ip| ip.value.as_str()), Some("203.0.113.10"));
}
