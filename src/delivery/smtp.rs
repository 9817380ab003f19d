//! E-mail delivery of one-time codes through an SMTP relay.
//!
//! This file owns [`SmtpRelay`] (the relay settings and [`SmtpRelay::send`])
//! and [`SmtpSecurity`] (plain, STARTTLS or implicit TLS). It speaks SMTP
//! with lettre's blocking client, one connection per message, with rustls
//! (ring) for TLS and the Mozilla root certificates (webpki-roots) as trust
//! store. Each step (connect, STARTTLS, AUTH, MAIL/RCPT/DATA) is run
//! separately so that a failure is reported with the step it happened in.

use std::fmt;
use std::io;
use std::time::Duration;

use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::{ClientId, Extension};

use super::{Channel, DeliveryError, redact, seconds};
pub use crate::domain::SmtpSecurity;

/// The SMTP relay that e-mails one-time codes, and how to log in to it.
///
/// `Debug` shows the password as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpRelay {
    /// Host name or IP address of the relay.
    pub host: String,
    /// TCP port of the relay.
    pub port: u16,
    /// Plain, STARTTLS or implicit TLS.
    pub security: SmtpSecurity,
    /// User name for SMTP AUTH (PLAIN, else LOGIN); no AUTH when `None`.
    /// With [`SmtpSecurity::None`] the password crosses the network in clear.
    pub username: Option<String>,
    /// Password for SMTP AUTH; an absent password is sent as empty.
    pub password: Option<String>,
    /// The From address, `user@example.org` or `Name <user@example.org>`.
    pub from: String,
    /// Timeout for connecting and for each reply of the relay.
    pub timeout: Duration,
    /// Accept any TLS certificate and host name (self-signed internal relays,
    /// tests). Off by default: it removes the protection TLS gives.
    pub accept_invalid_certs: bool,
}

impl SmtpRelay {
    /// A relay with the usual port for `security`, no login, a 10-second
    /// timeout and certificate checking on.
    pub fn new(host: impl Into<String>, security: SmtpSecurity, from: impl Into<String>) -> Self {
        SmtpRelay {
            host: host.into(),
            port: security.default_port(),
            security,
            username: None,
            password: None,
            from: from.into(),
            timeout: Duration::from_secs(10),
            accept_invalid_certs: false,
        }
    }

    /// `host:port`, as shown in error messages (IPv6 hosts in brackets).
    pub fn server(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Builds the e-mail without sending it: text/plain in UTF-8 with From,
    /// To, Subject, Date and Message-ID headers.
    pub fn build_message(&self, to: &str, subject: &str, body: &str) -> Result<Message, DeliveryError> {
        let from: Mailbox = self
            .from
            .trim()
            .parse()
            .map_err(|_| DeliveryError::InvalidAddress { role: "sender", address: self.from.clone() })?;
        let to: Mailbox = to
            .trim()
            .parse()
            .map_err(|_| DeliveryError::InvalidAddress { role: "recipient", address: to.to_owned() })?;
        Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .date_now()
            .message_id(None)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            // lettre's builder errors name a missing header, never the content.
            .map_err(|e| DeliveryError::Message(e.to_string()))
    }

    /// Sends one text/plain UTF-8 e-mail to `to`.
    ///
    /// Connects with the configured security, logs in when `username` is
    /// set, sends, and says QUIT. Every failure becomes a [`DeliveryError`]
    /// whose text names the relay and the step but never the subject, body
    /// or password.
    pub fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), DeliveryError> {
        let email = self.build_message(to, subject, body)?;
        let password = self.password.as_deref().unwrap_or("");
        let secrets = [body, subject, password];
        let server = self.server();
        let fail = |step: Step, err: SmtpError| classify(&err, step, &server, self, &secrets);

        let tls = match self.security {
            SmtpSecurity::None => None,
            SmtpSecurity::StartTls | SmtpSecurity::Tls => Some(
                TlsParameters::builder(self.host.trim_matches(['[', ']']).to_owned())
                    .dangerous_accept_invalid_certs(self.accept_invalid_certs)
                    .dangerous_accept_invalid_hostnames(self.accept_invalid_certs)
                    .build_rustls()
                    .map_err(|e| DeliveryError::Config {
                        channel: Channel::SmtpRelay,
                        detail: format!("TLS setup failed: {}", redact(&e.to_string(), &secrets)),
                    })?,
            ),
        };
        let hello = ClientId::default();
        let wrapper = match self.security {
            SmtpSecurity::Tls => tls.as_ref(),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (self.host.trim_matches(['[', ']']), self.port),
            Some(self.timeout),
            &hello,
            wrapper,
            None,
        )
        .map_err(|e| fail(Step::Connect, e))?;

        let result = self.session(&mut conn, &email, tls.as_ref(), &hello, &fail);
        match result {
            Ok(()) => {
                // The message is accepted; a failing QUIT changes nothing.
                let _ = conn.quit();
                Ok(())
            }
            Err(e) => {
                conn.abort();
                Err(e)
            }
        }
    }

    /// STARTTLS, AUTH and the mail transaction on an open connection.
    fn session(
        &self,
        conn: &mut SmtpConnection,
        email: &Message,
        tls: Option<&TlsParameters>,
        hello: &ClientId,
        fail: &dyn Fn(Step, SmtpError) -> DeliveryError,
    ) -> Result<(), DeliveryError> {
        if self.security == SmtpSecurity::StartTls {
            if !conn.server_info().supports_feature(Extension::StartTls) {
                return Err(DeliveryError::StartTlsUnavailable { server: self.server() });
            }
            if let Some(tls) = tls {
                conn.starttls(tls, hello).map_err(|e| fail(Step::StartTls, e))?;
            }
        }
        if let Some(username) = &self.username {
            let credentials = Credentials::new(username.clone(), self.password.clone().unwrap_or_default());
            let mechanisms = [Mechanism::Plain, Mechanism::Login];
            if conn.server_info().get_auth_mechanism(&mechanisms).is_none() {
                return Err(DeliveryError::AuthenticationFailed {
                    server: self.server(),
                    username: username.clone(),
                    detail: "the relay offers no AUTH PLAIN or LOGIN on this connection \
                             (it may require STARTTLS or TLS first)"
                        .to_owned(),
                });
            }
            conn.auth(&mechanisms, &credentials).map_err(|e| fail(Step::Auth, e))?;
        }
        conn.send(email.envelope(), &email.formatted()).map_err(|e| fail(Step::Send, e))?;
        Ok(())
    }
}

impl fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpRelay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}

/// The step of the SMTP session that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Connect,
    StartTls,
    Auth,
    Send,
}

/// The first `io::Error` in an error's source chain.
fn io_source<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = e.source();
    }
    None
}

/// Turns a lettre error into a [`DeliveryError`] for the step it happened in.
fn classify(err: &SmtpError, step: Step, server: &str, relay: &SmtpRelay, secrets: &[&str]) -> DeliveryError {
    let server = server.to_owned();
    let channel = Channel::SmtpRelay;
    let detail = |text: String| redact(&text, secrets);
    // "550 5.1.1 <x@y>: unknown" rather than lettre's "permanent error (550): …".
    let reply = || match (err.status(), std::error::Error::source(err)) {
        (Some(code), Some(text)) => detail(format!("{code} {text}")),
        _ => detail(err.to_string()),
    };

    if let Some(io) = io_source(err) {
        let io_detail = || {
            // An io::Error wrapping a TLS error displays just that error.
            detail(io.get_ref().map_or_else(|| io.to_string(), |inner| inner.to_string()))
        };
        return match io.kind() {
            io::ErrorKind::ConnectionRefused => {
                DeliveryError::ConnectionRefused { channel, server, detail: io_detail() }
            }
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                DeliveryError::Timeout { channel, server, seconds: seconds(relay.timeout) }
            }
            // rustls reports handshake failures as InvalidData on first use.
            io::ErrorKind::InvalidData
                if step == Step::StartTls || (step == Step::Connect && relay.security == SmtpSecurity::Tls) =>
            {
                DeliveryError::Tls { channel, server, detail: io_detail() }
            }
            _ if step == Step::Connect => DeliveryError::Unreachable { channel, server, detail: io_detail() },
            _ => DeliveryError::Smtp { server, detail: io_detail() },
        };
    }
    if err.is_tls() {
        return DeliveryError::Tls { channel, server, detail: detail(err.to_string()) };
    }
    if step == Step::Auth {
        return DeliveryError::AuthenticationFailed {
            server,
            username: relay.username.clone().unwrap_or_default(),
            detail: reply(),
        };
    }
    if err.status().is_some() {
        return DeliveryError::Rejected { server, detail: reply() };
    }
    let what = match step {
        Step::Connect => "greeting",
        Step::StartTls => "STARTTLS",
        Step::Auth => "AUTH",
        Step::Send => "sending",
    };
    DeliveryError::Smtp { server, detail: detail(format!("{what}: {err}")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_words_round_trip() {
        for s in [SmtpSecurity::None, SmtpSecurity::StartTls, SmtpSecurity::Tls] {
            assert_eq!(s.to_string().parse::<SmtpSecurity>(), Ok(s));
        }
        assert_eq!(" STARTTLS ".parse::<SmtpSecurity>(), Ok(SmtpSecurity::StartTls));
        assert!("ssl".parse::<SmtpSecurity>().is_err());
    }

    #[test]
    fn debug_hides_password() {
        let mut relay = SmtpRelay::new("mail.example.org", SmtpSecurity::StartTls, "a@b.c");
        relay.password = Some("hunter2".into());
        let shown = format!("{relay:?}");
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("***"));
    }

    #[test]
    fn message_has_required_headers() {
        let relay = SmtpRelay::new("mail.example.org", SmtpSecurity::None, "MFA <mfa@example.org>");
        let msg = relay.build_message("bob@example.org", "Your code", "Code: 123456").expect("valid message");
        let text = String::from_utf8(msg.formatted()).expect("ascii message");
        for header in
            ["From: ", "To: ", "Subject: ", "Date: ", "Message-ID: ", "Content-Type: text/plain; charset=utf-8"]
        {
            assert!(text.contains(header), "missing {header} in {text}");
        }
    }

    #[test]
    fn invalid_addresses_are_errors() {
        let relay = SmtpRelay::new("h", SmtpSecurity::None, "not an address");
        assert!(matches!(
            relay.build_message("bob@example.org", "s", "b"),
            Err(DeliveryError::InvalidAddress { role: "sender", .. })
        ));
        let relay = SmtpRelay::new("h", SmtpSecurity::None, "mfa@example.org");
        assert!(matches!(
            relay.build_message("bob@", "s", "b"),
            Err(DeliveryError::InvalidAddress { role: "recipient", .. })
        ));
    }

    #[test]
    fn server_brackets_ipv6() {
        let mut relay = SmtpRelay::new("::1", SmtpSecurity::None, "a@b.c");
        relay.port = 2525;
        assert_eq!(relay.server(), "[::1]:2525");
    }
}
