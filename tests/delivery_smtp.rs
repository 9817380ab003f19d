//! Integration tests of `mailmfa::delivery::smtp` against a real SMTP server
//! written here: a thread on 127.0.0.1 that speaks enough RFC 5321 for
//! lettre (EHLO, STARTTLS, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP,
//! QUIT), with rustls and an rcgen self-signed certificate for STARTTLS and
//! implicit TLS.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use mailmfa::delivery::DeliveryError;
use mailmfa::delivery::smtp::{SmtpRelay, SmtpSecurity};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const CODE: &str = "482913";
const BODY: &str = "Your sign-in code is 482913. It is valid for 5 minutes.";
const SUBJECT: &str = "Your sign-in code";
const USER: &str = "mfa-relay";
const PASSWORD: &str = "s3cret-Pa55";

/// One message as the test server received it.
#[derive(Debug, Clone, Default)]
struct Received {
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
    auth_user: Option<String>,
    tls: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    StartTls,
    ImplicitTls,
}

#[derive(Debug, Clone)]
struct Opts {
    mode: Mode,
    /// Login accepted by AUTH; AUTH is offered (and required) only when set.
    auth: Option<(String, String)>,
    /// Recipients in this domain get 550 at RCPT.
    reject_domain: Option<String>,
    /// Answer the end of DATA with a 554 that quotes the body's last line.
    reject_echoing_body: bool,
}

impl Opts {
    fn new(mode: Mode) -> Self {
        Opts { mode, auth: None, reject_domain: None, reject_echoing_body: false }
    }
}

struct TestSmtp {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl TestSmtp {
    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("self-signed certificate");
    let cert: CertificateDer<'static> = key.cert.der().clone();
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], private)
        .expect("server certificate");
    Arc::new(config)
}

fn start_smtp(opts: Opts) -> TestSmtp {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&received);
    let tls = tls_config();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            // Errors just end this session: the client sees a dropped connection.
            let _ = session(stream, &opts, &tls, &store);
        }
    });
    TestSmtp { addr, received }
}

fn read_line(conn: &mut Conn) -> io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if conn.read(&mut byte)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "client left"));
        }
        line.push(byte[0]);
        if line.ends_with(b"\r\n") {
            line.truncate(line.len() - 2);
            return Ok(String::from_utf8_lossy(&line).into_owned());
        }
    }
}

fn reply(conn: &mut Conn, text: &str) -> io::Result<()> {
    conn.write_all(text.as_bytes())?;
    conn.write_all(b"\r\n")?;
    conn.flush()
}

fn path_arg(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg.find('>').unwrap_or(arg.len());
    arg[start..end].to_owned()
}

fn decode_b64(s: &str) -> String {
    String::from_utf8_lossy(&B64.decode(s.trim()).unwrap_or_default()).into_owned()
}

fn session(
    stream: TcpStream,
    opts: &Opts,
    tls: &Arc<rustls::ServerConfig>,
    store: &Mutex<Vec<Received>>,
) -> io::Result<()> {
    let mut conn = if opts.mode == Mode::ImplicitTls {
        let server = rustls::ServerConnection::new(Arc::clone(tls)).map_err(io::Error::other)?;
        Conn::Tls(Box::new(rustls::StreamOwned::new(server, stream)))
    } else {
        Conn::Plain(stream)
    };
    let mut current = Received { tls: opts.mode == Mode::ImplicitTls, ..Received::default() };
    reply(&mut conn, "220 test.local ESMTP ready")?;
    loop {
        let line = read_line(&mut conn)?;
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" => {
                let mut caps = vec!["test.local greets you".to_owned()];
                if opts.mode == Mode::StartTls && !current.tls {
                    caps.push("STARTTLS".to_owned());
                }
                if opts.auth.is_some() {
                    caps.push("AUTH PLAIN LOGIN".to_owned());
                }
                caps.push("8BITMIME".to_owned());
                caps.push("SIZE 1000000".to_owned());
                let last = caps.len() - 1;
                for (i, cap) in caps.iter().enumerate() {
                    let sep = if i == last { ' ' } else { '-' };
                    reply(&mut conn, &format!("250{sep}{cap}"))?;
                }
            }
            "STARTTLS" if opts.mode == Mode::StartTls && !current.tls => {
                reply(&mut conn, "220 2.0.0 go ahead")?;
                conn = match conn {
                    Conn::Plain(tcp) => {
                        let server = rustls::ServerConnection::new(Arc::clone(tls)).map_err(io::Error::other)?;
                        Conn::Tls(Box::new(rustls::StreamOwned::new(server, tcp)))
                    }
                    other => other,
                };
                current.tls = true;
                current.auth_user = None;
            }
            "AUTH" if opts.auth.is_some() => {
                let (mech, initial) = arg.split_once(' ').unwrap_or((arg, ""));
                let (user, pass) = match mech.to_ascii_uppercase().as_str() {
                    "PLAIN" => {
                        let initial = if initial.is_empty() {
                            reply(&mut conn, "334 ")?;
                            read_line(&mut conn)?
                        } else {
                            initial.to_owned()
                        };
                        let decoded = decode_b64(&initial);
                        let mut parts = decoded.split('\0').skip(1);
                        (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned())
                    }
                    "LOGIN" => {
                        let user = if initial.is_empty() {
                            reply(&mut conn, "334 VXNlcm5hbWU6")?;
                            decode_b64(&read_line(&mut conn)?)
                        } else {
                            decode_b64(initial)
                        };
                        reply(&mut conn, "334 UGFzc3dvcmQ6")?;
                        (user, decode_b64(&read_line(&mut conn)?))
                    }
                    _ => {
                        reply(&mut conn, "504 5.5.4 mechanism not supported")?;
                        continue;
                    }
                };
                if opts.auth.as_ref() == Some(&(user.clone(), pass)) {
                    current.auth_user = Some(user);
                    reply(&mut conn, "235 2.7.0 authenticated")?;
                } else {
                    reply(&mut conn, "535 5.7.8 authentication credentials invalid")?;
                }
            }
            "MAIL" => {
                if opts.auth.is_some() && current.auth_user.is_none() {
                    reply(&mut conn, "530 5.7.0 authentication required")?;
                } else {
                    current.mail_from = path_arg(arg);
                    current.rcpt_to.clear();
                    reply(&mut conn, "250 2.1.0 sender ok")?;
                }
            }
            "RCPT" => {
                let rcpt = path_arg(arg);
                let rejected = opts.reject_domain.as_ref().is_some_and(|d| rcpt.ends_with(&format!("@{d}")));
                if rejected {
                    reply(&mut conn, &format!("550 5.1.1 <{rcpt}>: recipient unknown"))?;
                } else {
                    current.rcpt_to.push(rcpt);
                    reply(&mut conn, "250 2.1.5 recipient ok")?;
                }
            }
            "DATA" => {
                if current.rcpt_to.is_empty() {
                    reply(&mut conn, "503 5.5.1 no valid recipients")?;
                    continue;
                }
                reply(&mut conn, "354 end data with <CR><LF>.<CR><LF>")?;
                let mut data = String::new();
                loop {
                    let line = read_line(&mut conn)?;
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push_str("\r\n");
                }
                if opts.reject_echoing_body {
                    let quoted = data.trim_end().lines().last().unwrap_or("").to_owned();
                    reply(&mut conn, &format!("554 5.7.1 content rejected: {quoted}"))?;
                    continue;
                }
                current.data = data;
                store.lock().expect("lock").push(current.clone());
                reply(&mut conn, "250 2.0.0 queued")?;
            }
            "RSET" => {
                current.mail_from.clear();
                current.rcpt_to.clear();
                reply(&mut conn, "250 2.0.0 ok")?;
            }
            "NOOP" => reply(&mut conn, "250 2.0.0 ok")?,
            "QUIT" => {
                reply(&mut conn, "221 2.0.0 bye")?;
                return Ok(());
            }
            _ => reply(&mut conn, "502 5.5.2 command not implemented")?,
        }
    }
}

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

/// The error text must name no secret: not the body, the code or the password.
fn assert_discreet(err: &DeliveryError) -> String {
    let text = err.to_string();
    eprintln!("ERR: {text}");
    for secret in [BODY, CODE, PASSWORD, SUBJECT] {
        assert!(!text.contains(secret), "error shows {secret:?}: {text}");
    }
    let debug = format!("{err:?}");
    assert!(!debug.contains(CODE) && !debug.contains(PASSWORD), "{debug}");
    assert!(!text.contains('\n'), "one line: {text}");
    text
}

/// Headers and decoded body of a received message.
fn split_message(data: &str) -> (String, String) {
    let (headers, body) = data.split_once("\r\n\r\n").expect("header/body separator");
    let body = if headers.contains("Content-Transfer-Encoding: quoted-printable") {
        decode_qp(body)
    } else if headers.contains("Content-Transfer-Encoding: base64") {
        decode_b64(&body.replace("\r\n", ""))
    } else {
        body.to_owned()
    };
    (headers.to_owned(), body.trim_end().to_owned())
}

fn decode_qp(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 3 <= bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
    let text = assert_discreet(&err);
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
    let text = assert_discreet(&err);
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
    assert_discreet(&err);
    assert!(matches!(err, DeliveryError::AuthenticationFailed { .. }), "{err:?}");
    assert!(server.received().is_empty());
}

#[test]
fn starttls_required_but_not_offered() {
    let server = start_smtp(Opts::new(Mode::Plain));
    let err =
        relay(server.addr, SmtpSecurity::StartTls).send("bob@example.org", SUBJECT, BODY).expect_err("no STARTTLS");
    let text = assert_discreet(&err);
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
        let text = assert_discreet(&err);
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
    assert_discreet(&err);
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
    let text = assert_discreet(&err);
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
    let started = Instant::now();
    let err = relay.send("bob@example.org", SUBJECT, BODY).expect_err("no greeting");
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = assert_discreet(&err);
    assert!(matches!(err, DeliveryError::Timeout { .. }), "{err:?}");
    assert!(text.contains("did not answer within 0.5 s"), "{text}");
    drop(listener);
}

#[test]
fn invalid_addresses_are_errors() {
    let server = start_smtp(Opts::new(Mode::Plain));
    for bad in ["not an address", "bob@", "", "bob@example.org\r\nBcc: eve@example.org"] {
        let err = relay(server.addr, SmtpSecurity::None).send(bad, SUBJECT, BODY).expect_err("invalid recipient");
        assert_discreet(&err);
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
    let text = assert_discreet(&err);
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
    let text = assert_discreet(&err);
    assert!(matches!(err, DeliveryError::Rejected { .. }), "{err:?}");
    assert!(text.contains("554 5.7.1 content rejected: [redacted]"), "{text}");
}
