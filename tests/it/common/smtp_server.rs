//! A small real SMTP server for tests: a thread on 127.0.0.1 that speaks EHLO, STARTTLS (rustls
//! with a self-signed certificate), implicit TLS, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA and QUIT, and
//! records every message it receives.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// One message as the test server received it.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
    pub auth_user: Option<String>,
    pub tls: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    StartTls,
    ImplicitTls,
}

#[derive(Debug, Clone)]
pub struct Opts {
    pub mode: Mode,
    /// Login accepted by AUTH; AUTH is offered (and required) only when set.
    pub auth: Option<(String, String)>,
    /// Recipients in this domain get 550 at RCPT.
    pub reject_domain: Option<String>,
    /// Answer the end of DATA with a 554 that quotes the body's last line.
    pub reject_echoing_body: bool,
}

impl Opts {
    pub fn new(mode: Mode) -> Self {
        Opts { mode, auth: None, reject_domain: None, reject_echoing_body: false }
    }
}

pub struct TestSmtp {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl TestSmtp {
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

pub enum Conn {
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

pub fn tls_config() -> Arc<rustls::ServerConfig> {
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

pub fn start_smtp(opts: Opts) -> TestSmtp {
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

pub fn read_line(conn: &mut Conn) -> io::Result<String> {
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

pub fn reply(conn: &mut Conn, text: &str) -> io::Result<()> {
    conn.write_all(text.as_bytes())?;
    conn.write_all(b"\r\n")?;
    conn.flush()
}

pub fn path_arg(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg.find('>').unwrap_or(arg.len());
    arg[start..end].to_owned()
}

pub fn decode_b64(s: &str) -> String {
    String::from_utf8_lossy(&B64.decode(s.trim()).unwrap_or_default()).into_owned()
}

/// Serves one SMTP session on `stream` as `opts` says, recording each message it accepts in `store`.
pub fn session(
    stream: TcpStream,
    opts: &Opts,
    tls: &Arc<rustls::ServerConfig>,
    store: &Mutex<Vec<Received>>,
) -> io::Result<()> {
    let mut conn =
        if opts.mode == Mode::ImplicitTls { start_tls(Conn::Plain(stream), tls)? } else { Conn::Plain(stream) };
    let mut current = Received { tls: opts.mode == Mode::ImplicitTls, ..Received::default() };
    reply(&mut conn, "220 test.local ESMTP ready")?;
    loop {
        let line = read_line(&mut conn)?;
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" => ehlo(&mut conn, opts, current.tls)?,
            "STARTTLS" if opts.mode == Mode::StartTls && !current.tls => {
                reply(&mut conn, "220 2.0.0 go ahead")?;
                conn = start_tls(conn, tls)?;
                current.tls = true;
                current.auth_user = None;
            }
            "AUTH" if opts.auth.is_some() => auth(&mut conn, opts, arg, &mut current)?,
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
            "DATA" => data(&mut conn, opts, &mut current, store)?,
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

/// Wraps a plain connection in TLS (STARTTLS, or implicit TLS from the first byte).
fn start_tls(conn: Conn, tls: &Arc<rustls::ServerConfig>) -> io::Result<Conn> {
    Ok(match conn {
        Conn::Plain(tcp) => {
            let server = rustls::ServerConnection::new(Arc::clone(tls)).map_err(io::Error::other)?;
            Conn::Tls(Box::new(rustls::StreamOwned::new(server, tcp)))
        }
        other => other,
    })
}

/// Answers EHLO with the extensions on offer: STARTTLS until the session is encrypted, AUTH when
/// a login is required.
fn ehlo(conn: &mut Conn, opts: &Opts, encrypted: bool) -> io::Result<()> {
    let mut caps = vec!["test.local greets you".to_owned()];
    if opts.mode == Mode::StartTls && !encrypted {
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
        reply(conn, &format!("250{sep}{cap}"))?;
    }
    Ok(())
}

/// AUTH PLAIN or LOGIN, with or without an initial response: the session's user if the login is
/// the one `opts` accepts.
fn auth(conn: &mut Conn, opts: &Opts, arg: &str, current: &mut Received) -> io::Result<()> {
    let (mech, initial) = arg.split_once(' ').unwrap_or((arg, ""));
    let (user, pass) = match mech.to_ascii_uppercase().as_str() {
        "PLAIN" => {
            let initial = if initial.is_empty() {
                reply(conn, "334 ")?;
                read_line(conn)?
            } else {
                initial.to_owned()
            };
            let decoded = decode_b64(&initial);
            let mut parts = decoded.split('\0').skip(1);
            (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned())
        }
        "LOGIN" => {
            let user = if initial.is_empty() {
                reply(conn, "334 VXNlcm5hbWU6")?;
                decode_b64(&read_line(conn)?)
            } else {
                decode_b64(initial)
            };
            reply(conn, "334 UGFzc3dvcmQ6")?;
            (user, decode_b64(&read_line(conn)?))
        }
        _ => return reply(conn, "504 5.5.4 mechanism not supported"),
    };
    if opts.auth.as_ref() == Some(&(user.clone(), pass)) {
        current.auth_user = Some(user);
        reply(conn, "235 2.7.0 authenticated")
    } else {
        reply(conn, "535 5.7.8 authentication credentials invalid")
    }
}

/// DATA: reads the message up to the lone dot and records it, unless `opts` rejects it.
fn data(conn: &mut Conn, opts: &Opts, current: &mut Received, store: &Mutex<Vec<Received>>) -> io::Result<()> {
    if current.rcpt_to.is_empty() {
        return reply(conn, "503 5.5.1 no valid recipients");
    }
    reply(conn, "354 end data with <CR><LF>.<CR><LF>")?;
    let mut data = String::new();
    loop {
        let line = read_line(conn)?;
        if line == "." {
            break;
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
        data.push_str("\r\n");
    }
    if opts.reject_echoing_body {
        let quoted = data.trim_end().lines().last().unwrap_or("").to_owned();
        return reply(conn, &format!("554 5.7.1 content rejected: {quoted}"));
    }
    current.data = data;
    store.lock().expect("lock").push(current.clone());
    reply(conn, "250 2.0.0 queued")
}

/// Headers and decoded body of a received message.
pub fn split_message(data: &str) -> (String, String) {
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

pub fn decode_qp(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 3 <= bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
