//! A mail program's sign-in, as the tests make it: IMAP `LOGIN`, POP3 `USER`/`PASS` and SMTP
//! `AUTH PLAIN` over a real TCP connection from a chosen loopback address — 127.0.0.2 for a mail
//! program on another host, 127.0.0.1 for the webmail on the mail server's own host.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// Where a mail program connects from: not the mail server's host.
pub const MAIL_PROGRAM: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// Where the webmail connects from: the mail server's own host.
pub const WEBMAIL: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

/// A protocol a mail program signs in over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Imap,
    Pop3,
    Smtp,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Imap, Protocol::Pop3, Protocol::Smtp];

    /// mailmfa's word for it, as Dovecot's log lines name it.
    pub fn word(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Smtp => "smtp",
        }
    }
}

/// Signs in to the server on 127.0.0.1:`port` over `protocol` from `source` as `user` with
/// `password`, and signs out again. `Err` holds the server's refusal.
pub fn sign_in(protocol: Protocol, port: u16, source: IpAddr, user: &str, password: &str) -> Result<(), String> {
    let mut session = Session::connect(port, source);
    match protocol {
        Protocol::Imap => {
            session.expect("* OK");
            let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
            session.send(&format!("a1 LOGIN {} {}", quote(user), quote(password)));
            let answer = session.line_starting("a1 ");
            if !answer.starts_with("a1 OK") {
                return Err(answer);
            }
            session.send("a2 LOGOUT");
            session.line_starting("a2 ");
        }
        Protocol::Pop3 => {
            session.expect("+OK");
            session.send(&format!("USER {user}"));
            session.expect("+OK");
            session.send(&format!("PASS {password}"));
            let answer = session.line();
            if !answer.starts_with("+OK") {
                return Err(answer);
            }
            session.send("QUIT");
            session.expect("+OK");
        }
        Protocol::Smtp => {
            session.expect("220 ");
            session.send("EHLO program.example.test");
            let mut offers = Vec::new();
            loop {
                let line = session.line();
                assert!(line.starts_with("250"), "EHLO answered {line}");
                offers.push(line.clone());
                if line.starts_with("250 ") {
                    break;
                }
            }
            assert!(offers.iter().any(|l| l.contains("AUTH") && l.contains("PLAIN")), "no AUTH PLAIN: {offers:?}");
            session.send(&format!("AUTH PLAIN {}", B64.encode(format!("\0{user}\0{password}"))));
            let answer = session.line();
            if !answer.starts_with("235") {
                return Err(answer);
            }
            session.send("QUIT");
            session.expect("221");
        }
    }
    Ok(())
}

/// One connection, line by line.
struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Session {
    fn connect(port: u16, source: IpAddr) -> Self {
        let target = SocketAddr::from(([127, 0, 0, 1], port));
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
        socket.bind(&SocketAddr::new(source, 0).into()).expect("bind the source address");
        socket.connect(&target.into()).unwrap_or_else(|e| panic!("connect to {target}: {e}"));
        let stream: TcpStream = socket.into();
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        Session { reader: BufReader::new(stream.try_clone().expect("clone")), writer: stream }
    }

    fn send(&mut self, line: &str) {
        self.writer.write_all(format!("{line}\r\n").as_bytes()).expect("send");
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read an answer");
        assert!(!line.is_empty(), "the server closed the connection");
        line.trim_end().to_owned()
    }

    fn expect(&mut self, start: &str) {
        let line = self.line();
        assert!(line.starts_with(start), "expected {start:?}, got {line:?}");
    }

    /// The first line that starts with `start` (IMAP's untagged lines before the tagged answer).
    fn line_starting(&mut self, start: &str) -> String {
        loop {
            let line = self.line();
            if line.starts_with(start) {
                return line;
            }
        }
    }
}
