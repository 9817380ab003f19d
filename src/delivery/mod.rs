//! Delivery of one-time codes to the user: e-mail through an SMTP relay
//! ([`smtp`]) and SMS through an HTTP gateway ([`sms`]), both assembled from
//! the settings ([`Channels`]).
//!
//! This module owns the error type shared by both channels
//! ([`DeliveryError`]), the `{name}` placeholder renderer used for message
//! and request templates ([`render_template`]), and the redaction helper that
//! keeps secrets out of error messages.
//!
//! Secrecy rule: the Display of a [`DeliveryError`] never contains the
//! message text (it carries the one-time code), the code itself, or a
//! password. Details that come from the remote side (server replies, I/O
//! errors) are passed through [`redact`] before they are stored in an error.

mod channels;
pub mod sms;
pub mod smtp;

pub use channels::{Channels, CodeMessage, CodeSender, sms_gateway, smtp_relay};

use std::fmt;

/// Which channel an error is about; shown as "SMTP relay" or "SMS gateway"
/// in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The SMTP relay used for e-mailed codes.
    SmtpRelay,
    /// The HTTP gateway used for SMS codes.
    SmsGateway,
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Channel::SmtpRelay => "SMTP relay",
            Channel::SmsGateway => "SMS gateway",
        })
    }
}

/// Why a one-time code could not be delivered.
///
/// Every message is one line meant for an administrator. `server` fields are
/// `host:port`. No variant ever shows the message text, the code or a
/// password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The TCP connection was actively refused (nothing listens there).
    #[error("{channel} {server} refused the connection: {detail}")]
    ConnectionRefused {
        /// Which channel.
        channel: Channel,
        /// `host:port` that was dialled.
        server: String,
        /// The operating system's reason.
        detail: String,
    },
    /// The server could not be reached at all (DNS failure, no route, …).
    #[error("could not reach {channel} {server}: {detail}")]
    Unreachable {
        /// Which channel.
        channel: Channel,
        /// `host:port` that was dialled.
        server: String,
        /// The reason.
        detail: String,
    },
    /// The server did not answer within the configured timeout.
    #[error("{channel} {server} did not answer within {seconds} s")]
    Timeout {
        /// Which channel.
        channel: Channel,
        /// `host:port` that was dialled.
        server: String,
        /// The configured timeout, in seconds (fractional below one second).
        seconds: String,
    },
    /// The TLS handshake failed (untrusted certificate, wrong name, …).
    #[error("TLS with {channel} {server} failed: {detail}")]
    Tls {
        /// Which channel.
        channel: Channel,
        /// `host:port` that was dialled.
        server: String,
        /// The TLS library's reason.
        detail: String,
    },
    /// `security = starttls` was configured but the relay does not offer it.
    #[error(
        "SMTP relay {server} does not offer STARTTLS, which security = starttls requires \
         (use security = tls for port 465, or none for an unencrypted relay)"
    )]
    StartTlsUnavailable {
        /// `host:port` of the relay.
        server: String,
    },
    /// The relay did not accept the configured user name and password.
    #[error("SMTP relay {server} did not accept the login of user {username:?}: {detail}")]
    AuthenticationFailed {
        /// `host:port` of the relay.
        server: String,
        /// The configured user name (never the password).
        username: String,
        /// The relay's reply.
        detail: String,
    },
    /// The relay refused the session, the sender, the recipient or the message.
    #[error("SMTP relay {server} rejected the message: {detail}")]
    Rejected {
        /// `host:port` of the relay.
        server: String,
        /// The relay's reply (SMTP code and text).
        detail: String,
    },
    /// Any other SMTP protocol failure.
    #[error("SMTP relay {server} failed: {detail}")]
    Smtp {
        /// `host:port` of the relay.
        server: String,
        /// What went wrong.
        detail: String,
    },
    /// A sender or recipient e-mail address could not be parsed.
    #[error("invalid {role} e-mail address {address:?}")]
    InvalidAddress {
        /// `sender` or `recipient`.
        role: &'static str,
        /// The address as given.
        address: String,
    },
    /// The recipient phone number is not in E.164 form.
    #[error("invalid phone number {0:?}: expected international E.164 form such as +4915112345678")]
    InvalidPhoneNumber(String),
    /// The e-mail could not be assembled (never shows its content).
    #[error("could not build the e-mail: {0}")]
    Message(String),
    /// The delivery settings are unusable.
    #[error("{channel} is misconfigured: {detail}")]
    Config {
        /// Which channel.
        channel: Channel,
        /// What is wrong.
        detail: String,
    },
    /// The SMS gateway answered with a status code the success rule does not accept.
    #[error("SMS gateway answered HTTP {status} {reason}")]
    HttpStatus {
        /// The HTTP status code.
        status: u16,
        /// The standard reason phrase for the code (not the server's text).
        reason: String,
    },
    /// The SMS gateway answered, but the answer does not confirm the message.
    #[error("SMS gateway did not confirm the message: {0}")]
    NotConfirmed(String),
    /// Any other HTTP failure talking to the SMS gateway.
    #[error("SMS gateway {server} request failed: {detail}")]
    Http {
        /// `host:port` of the gateway.
        server: String,
        /// What went wrong.
        detail: String,
    },
}

/// Replaces every `{name}` placeholder in `template` whose name appears in
/// `values` by its value; unknown placeholders and lone braces are kept as is.
///
/// Substitution is a single pass: text coming from a value is never scanned
/// again, so a value containing `{password}` stays literally `{password}`.
/// Names are made of ASCII letters, digits, `_`, `-` and `.`.
///
/// ```
/// use mailmfa::delivery::render_template;
/// let s = render_template("Code {code} for {user} {x}", &[("code", "123456"), ("user", "bob")]);
/// assert_eq!(s, "Code 123456 for bob {x}");
/// ```
pub fn render_template(template: &str, values: &[(&str, &str)]) -> String {
    render_with(template, values, |value, out| out.push_str(value))
}

/// Like [`render_template`], but every substituted value goes through
/// `encode` first (percent-encoding, for instance); the template's own text
/// is copied unchanged.
pub(crate) fn render_with(
    template: &str,
    values: &[(&str, &str)],
    mut encode: impl FnMut(&str, &mut String),
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len =
            after.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))).unwrap_or(after.len());
        let name = &after[..name_len];
        let closed = after[name_len..].starts_with('}');
        match values.iter().find(|(key, _)| *key == name) {
            Some((_, value)) if closed && !name.is_empty() => {
                encode(value, &mut out);
                rest = &after[name_len + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Removes secrets from a text that is about to go into an error message.
///
/// Every non-empty `secret` is replaced by `[redacted]`, and so is every word
/// of at least four characters that contains a digit and also occurs in one
/// of the secrets (this catches a one-time code echoed back by a server even
/// when the rest of the message text is not). The result is cut to 300
/// characters and kept on one line.
pub(crate) fn redact(text: &str, secrets: &[&str]) -> String {
    const MARK: &str = "[redacted]";
    let mut out = text.replace(['\r', '\n'], " ");
    let mut needles: Vec<&str> = secrets.iter().copied().filter(|s| !s.trim().is_empty()).collect();
    for secret in secrets {
        needles.extend(
            secret
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() >= 4 && w.chars().any(|c| c.is_ascii_digit())),
        );
    }
    // Longest first, so a whole secret wins over the code inside it.
    needles.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for needle in needles {
        if out.contains(needle) {
            out = out.replace(needle, MARK);
        }
    }
    if out.chars().count() > 300 {
        out = out.chars().take(300).collect::<String>() + "…";
    }
    out.trim().to_owned()
}

/// Formats a timeout for error messages: whole seconds, or fractions below
/// one second ("10", "0.5").
pub(crate) fn seconds(timeout: std::time::Duration) -> String {
    if timeout.subsec_millis() == 0 { timeout.as_secs().to_string() } else { format!("{}", timeout.as_secs_f64()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_known_placeholders() {
        assert_eq!(render_template("Your code is {code}.", &[("code", "123456")]), "Your code is 123456.");
        assert_eq!(render_template("{a}{b}{a}", &[("a", "1"), ("b", "2")]), "121");
    }

    #[test]
    fn keeps_unknown_placeholders_and_braces() {
        let values = [("to", "+4912345678")];
        assert_eq!(render_template("{x} {to}", &values), "{x} +4912345678");
        assert_eq!(render_template("{ to }", &values), "{ to }");
        assert_eq!(render_template("{}", &values), "{}");
        assert_eq!(render_template("{{to}}", &values), "{+4912345678}");
        assert_eq!(render_template("end {to", &values), "end {to");
        assert_eq!(render_template("{", &values), "{");
        assert_eq!(render_template("no braces", &values), "no braces");
        assert_eq!(render_template("", &values), "");
    }

    #[test]
    fn substitution_is_single_pass() {
        let values = [("message", "{password}"), ("password", "s3cret")];
        assert_eq!(render_template("{message}", &values), "{password}");
    }

    #[test]
    fn non_ascii_text_and_values() {
        assert_eq!(render_template("Grüße {name} – {name}!", &[("name", "Jörg")]), "Grüße Jörg – Jörg!");
    }

    #[test]
    fn encoder_applies_to_values_only() {
        let s = render_with("a&{v}&b", &[("v", "x&y")], |v, out| out.push_str(&v.replace('&', "%26")));
        assert_eq!(s, "a&x%26y&b");
    }

    #[test]
    fn redact_removes_secrets_and_codes() {
        let r = redact("550 rejected: Your code is 482913\r\nbye hunter2", &["Your code is 482913", "hunter2"]);
        assert!(!r.contains("482913"), "{r}");
        assert!(!r.contains("hunter2"), "{r}");
        assert!(!r.contains('\n'));
        let r = redact("echo: 482913", &["Your code is 482913, valid 5 min"]);
        assert_eq!(r, "echo: [redacted]");
        assert_eq!(redact("plain", &["", "  "]), "plain");
    }

    #[test]
    fn seconds_format() {
        assert_eq!(seconds(std::time::Duration::from_secs(10)), "10");
        assert_eq!(seconds(std::time::Duration::from_millis(500)), "0.5");
    }
}
