//! Integration tests of `mailmfa::delivery::smtp` against a real SMTP server
//! written here: a thread on 127.0.0.1 that speaks enough RFC 5321 for
//! lettre (EHLO, STARTTLS, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP,
//! QUIT), with rustls and an rcgen self-signed certificate for STARTTLS and
//! implicit TLS.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use crate::common::fixtures::{assert_discreet, assert_gives_up_after_half_a_second};
use crate::common::smtp_server::{Mode, Opts, split_message, start_smtp};
use mailmfa::delivery::DeliveryError;
use mailmfa::delivery::smtp::{SmtpRelay, SmtpSecurity};

const CODE: &str = "482913";
const BODY: &str = "Your sign-in code is 482913. It is valid for 5 minutes.";
const SUBJECT: &str = "Your sign-in code";
const USER: &str = "mfa-relay";
const PASSWORD: &str = "s3cret-Pa55";
/// What an error must never show.
const SECRETS: &[&str] = &[BODY, CODE, PASSWORD, SUBJECT];

fn relay(addr: SocketAddr, security: SmtpSecurity) -> SmtpRelay {
    SmtpRelay {
        host: addr.ip().to_string(),
        port: addr.port(),
        security,
        username: None,
        password: None,
        from: "MFA <mfa@example.org>".to_owned(),
        timeout: Duration::from_secs(5),
        accept_invalid_certs: true,
    }
}

#[test]
fn plain_send_is_received() {
    let server = start_smtp(Opts::new(Mode::Plain));
    relay(server.addr, SmtpSecurity::None).send("bob@example.org", SUBJECT, BODY).expect("plain send");

    let got = server.received();
    assert_eq!(got.len(), 1);
    let msg = &got[0];
    assert_eq!(msg.mail_from, "mfa@example.org");
    assert_eq!(msg.rcpt_to, vec!["bob@example.org".to_owned()]);
    assert!(!msg.tls);
    assert_eq!(msg.auth_user, None);
    let (headers, body) = split_message(&msg.data);
    assert!(headers.contains("From: MFA <mfa@example.org>"), "{headers}");
    assert!(headers.contains("To: bob@example.org"), "{headers}");
    assert!(headers.contains(&format!("Subject: {SUBJECT}")), "{headers}");
    assert!(headers.contains("Date: "), "{headers}");
    assert!(headers.contains("Message-ID: <"), "{headers}");
    assert!(headers.contains("Content-Type: text/plain; charset=utf-8"), "{headers}");
    assert_eq!(body, BODY);
}

#[test]
fn starttls_send_with_auth_is_received() {
    let mut opts = Opts::new(Mode::StartTls);
    opts.auth = Some((USER.to_owned(), PASSWORD.to_owned()));
    let server = start_smtp(opts);
    let mut relay = relay(server.addr, SmtpSecurity::StartTls);
    relay.username = Some(USER.to_owned());
    relay.password = Some(PASSWORD.to_owned());
    let body = "Ihr Anmeldecode: 482913 – gültig 5 Minuten.\nGrüße, Ihr Postmaster";
    relay.send("Bob Müller <bob@example.org>", "Ihr Anmeldecode", body).expect("starttls send");

    let got = server.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls, "message must arrive after STARTTLS");
    assert_eq!(got[0].auth_user.as_deref(), Some(USER));
    assert_eq!(got[0].rcpt_to, vec!["bob@example.org".to_owned()]);
    let (_, received_body) = split_message(&got[0].data);
    assert_eq!(received_body, body.replace('\n', "\r\n"));
}

#[test]
fn implicit_tls_send_is_received() {
    let server = start_smtp(Opts::new(Mode::ImplicitTls));
    relay(server.addr, SmtpSecurity::Tls).send("bob@example.org", SUBJECT, BODY).expect("implicit TLS send");
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);
    assert_eq!(split_message(&got[0].data).1, BODY);
}

#[test]
fn auth_on_plain_relay_when_username_set() {
    let mut opts = Opts::new(Mode::Plain);
    opts.auth = Some((USER.to_owned(), PASSWORD.to_owned()));
    let server = start_smtp(opts);
    let mut relay = relay(server.addr, SmtpSecurity::None);
    relay.username = Some(USER.to_owned());
    relay.password = Some(PASSWORD.to_owned());
    relay.send("bob@example.org", SUBJECT, BODY).expect("send with AUTH");
    assert_eq!(server.received()[0].auth_user.as_deref(), Some(USER));
}

#[test]
fn no_auth_without_username() {
    let mut opts = Opts::new(Mode::Plain);
    opts.auth = Some((USER.to_owned(), PASSWORD.to_owned()));
    let server = start_smtp(opts);
    // The server requires AUTH, so MAIL is refused: proves no AUTH was tried.
    let err = relay(server.addr, SmtpSecurity::None)
        .send("bob@example.org", SUBJECT, BODY)
        .expect_err("server requires auth");
    let text = assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::Rejected { .. }), "{err:?}");
    assert!(text.contains("530"), "{text}");
}

#[test]
fn wrong_password_is_an_authentication_error() {
    let mut opts = Opts::new(Mode::StartTls);
    opts.auth = Some((USER.to_owned(), "the-right-one".to_owned()));
    let server = start_smtp(opts);
    let mut relay = relay(server.addr, SmtpSecurity::StartTls);
    relay.username = Some(USER.to_owned());
    relay.password = Some(PASSWORD.to_owned());
    let err = relay.send("bob@example.org", SUBJECT, BODY).expect_err("bad login");
    let text = assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::AuthenticationFailed { .. }), "{err:?}");
    assert!(text.contains(&server.addr.to_string()), "{text}");
    assert!(text.contains(USER) && text.contains("535"), "{text}");
    assert!(server.received().is_empty());
}

#[test]
fn username_but_no_auth_offered_is_an_error() {
    let server = start_smtp(Opts::new(Mode::Plain));
    let mut relay = relay(server.addr, SmtpSecurity::None);
    relay.username = Some(USER.to_owned());
    relay.password = Some(PASSWORD.to_owned());
    let err = relay.send("bob@example.org", SUBJECT, BODY).expect_err("no AUTH");
    assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::AuthenticationFailed { .. }), "{err:?}");
    assert!(server.received().is_empty());
}

#[test]
fn starttls_required_but_not_offered() {
    let server = start_smtp(Opts::new(Mode::Plain));
    let err =
        relay(server.addr, SmtpSecurity::StartTls).send("bob@example.org", SUBJECT, BODY).expect_err("no STARTTLS");
    let text = assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::StartTlsUnavailable { .. }), "{err:?}");
    assert!(text.contains(&server.addr.to_string()), "{text}");
    assert!(server.received().is_empty(), "nothing may be sent in clear");
}

#[test]
fn untrusted_certificate_fails_closed() {
    for (mode, security) in [(Mode::StartTls, SmtpSecurity::StartTls), (Mode::ImplicitTls, SmtpSecurity::Tls)] {
        let server = start_smtp(Opts::new(mode));
        let mut relay = relay(server.addr, security);
        relay.accept_invalid_certs = false;
        let err = relay.send("bob@example.org", SUBJECT, BODY).expect_err("self-signed certificate must be refused");
        let text = assert_discreet(&err, SECRETS);
        assert!(matches!(err, DeliveryError::Tls { .. }), "{security}: {err:?}");
        assert!(text.contains("certificate"), "{text}");
        assert!(server.received().is_empty());
    }
}

#[test]
fn tls_to_plain_server_is_a_tls_error() {
    let server = start_smtp(Opts::new(Mode::Plain));
    let err = relay(server.addr, SmtpSecurity::Tls)
        .send("bob@example.org", SUBJECT, BODY)
        .expect_err("plain server on a TLS setting");
    assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::Tls { .. }), "{err:?}");
}

#[test]
fn connection_refused_names_host_and_port() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let mut relay = relay(SocketAddr::from(([127, 0, 0, 1], port)), SmtpSecurity::None);
    relay.password = Some(PASSWORD.to_owned());
    let err = relay.send("bob@example.org", SUBJECT, BODY).expect_err("nothing listens");
    let text = assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::ConnectionRefused { .. }), "{err:?}");
    assert!(text.starts_with(&format!("SMTP relay 127.0.0.1:{port} refused the connection")), "{text}");
}

#[test]
fn silent_relay_times_out() {
    // Listening but never accepting: the kernel completes the handshake and
    // no greeting ever comes.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut relay = relay(listener.local_addr().expect("addr"), SmtpSecurity::None);
    relay.timeout = Duration::from_millis(500);
    assert_gives_up_after_half_a_second(|| relay.send("bob@example.org", SUBJECT, BODY), SECRETS);
    drop(listener);
}

#[test]
fn invalid_addresses_are_errors() {
    let server = start_smtp(Opts::new(Mode::Plain));
    for bad in ["not an address", "bob@", "", "bob@example.org\r\nBcc: eve@example.org"] {
        let err = relay(server.addr, SmtpSecurity::None).send(bad, SUBJECT, BODY).expect_err("invalid recipient");
        assert_discreet(&err, SECRETS);
        assert!(matches!(err, DeliveryError::InvalidAddress { role: "recipient", .. }), "{bad:?}: {err:?}");
    }
    let mut relay = relay(server.addr, SmtpSecurity::None);
    relay.from = "mfa at example.org".to_owned();
    let err = relay.send("bob@example.org", SUBJECT, BODY).expect_err("invalid sender");
    assert!(matches!(err, DeliveryError::InvalidAddress { role: "sender", .. }), "{err:?}");
    assert!(server.received().is_empty());
}

#[test]
fn recipient_refused_by_relay() {
    let mut opts = Opts::new(Mode::Plain);
    opts.reject_domain = Some("nowhere.example".to_owned());
    let server = start_smtp(opts);
    let err =
        relay(server.addr, SmtpSecurity::None).send("ghost@nowhere.example", SUBJECT, BODY).expect_err("550 at RCPT");
    let text = assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::Rejected { .. }), "{err:?}");
    assert!(text.contains("550") && text.contains("recipient unknown"), "{text}");
    assert!(server.received().is_empty());
}

#[test]
fn header_injection_in_subject_is_neutralised() {
    let server = start_smtp(Opts::new(Mode::Plain));
    relay(server.addr, SmtpSecurity::None).send("bob@example.org", "Code\r\nBcc: eve@example.org", BODY).expect("send");
    let got = server.received();
    assert_eq!(got[0].rcpt_to, vec!["bob@example.org".to_owned()]);
    let (headers, _) = split_message(&got[0].data);
    assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "injected header: {headers}");
}

#[test]
fn echoed_code_is_redacted_from_rejection() {
    let mut opts = Opts::new(Mode::Plain);
    opts.reject_echoing_body = true;
    let server = start_smtp(opts);
    let err =
        relay(server.addr, SmtpSecurity::None).send("bob@example.org", SUBJECT, BODY).expect_err("554 at end of DATA");
    let text = assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::Rejected { .. }), "{err:?}");
    assert!(text.contains("554 5.7.1 content rejected: [redacted]"), "{text}");
}
