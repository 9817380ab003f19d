//! SMS delivery of one-time codes through a configurable HTTP gateway.
//!
//! This file owns [`SmsGateway`] (one HTTP request per message, described by
//! a method, a URL template, an authentication, a body and a success rule),
//! the presets for Twilio, Vonage, Clickatell and a generic JSON webhook
//! ([`SmsPreset`], [`SmsGateway::from_preset`]), and the mapping of every
//! HTTP failure to a [`DeliveryError`] that fails closed.
//!
//! # Placeholders
//!
//! The URL template, the authentication values and the body values may use:
//!
//! | placeholder   | value                                              |
//! |---------------|----------------------------------------------------|
//! | `{to}`        | recipient in E.164 form, `+4915112345678`           |
//! | `{to_digits}` | the same without `+`, `4915112345678`               |
//! | `{message}`   | the message text (contains the one-time code)       |
//! | `{sender}`    | [`SmsGateway::sender`]                              |
//! | `{username}`  | [`SmsGateway::username`]                            |
//! | `{password}`  | [`SmsGateway::password`]                            |
//!
//! Each value is escaped for where it lands: percent-encoded in the URL,
//! form-urlencoded in a form body, and put into JSON string leaves as a JSON
//! value (never by text concatenation). Authentication values are used as
//! rendered (header values cannot hold line breaks; such a value is an error).
//!
//! The HTTP client is ureq with rustls (ring) and the Mozilla root
//! certificates. It honours the `HTTP(S)_PROXY`/`ALL_PROXY` and `NO_PROXY`
//! environment variables, follows no redirect (a 3xx answer is a failure, so
//! credentials never travel to another host), and reads at most 1 MiB of
//! answer.

use std::fmt;
use std::io;
use std::time::Duration;

use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::{Channel, DeliveryError, redact, render_template, render_with, seconds};
use crate::domain::PhoneNumber;
pub use crate::domain::{HttpMethod, SmsPreset};

/// Characters percent-encoded in values substituted into the URL template:
/// everything but the RFC 3986 unreserved characters `A-Z a-z 0-9 - . _ ~`.
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Largest gateway answer read, in bytes.
const MAX_ANSWER: u64 = 1 << 20;

/// How the request authenticates. Values are templates (see the module
/// documentation), so `Bearer("{password}".into())` uses the gateway's
/// password. `Debug` hides every value.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum SmsAuth {
    /// No authentication header.
    #[default]
    None,
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// User name template.
        username: String,
        /// Password template.
        password: String,
    },
    /// `Authorization: Bearer TOKEN`; the string is the token template.
    Bearer(String),
    /// Any header, such as `X-API-Key: {password}` or a bare
    /// `Authorization: KEY`.
    Header {
        /// Header name (literal).
        name: String,
        /// Header value template.
        value: String,
    },
}

impl fmt::Debug for SmsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmsAuth::None => f.write_str("None"),
            SmsAuth::Basic { username, .. } => {
                f.debug_struct("Basic").field("username", username).field("password", &"***").finish()
            }
            SmsAuth::Bearer(_) => f.write_str("Bearer(***)"),
            SmsAuth::Header { name, .. } => {
                f.debug_struct("Header").field("name", name).field("value", &"***").finish()
            }
        }
    }
}

/// The request body. Values are templates (see the module documentation).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SmsBody {
    /// No body.
    #[default]
    None,
    /// `application/x-www-form-urlencoded` fields, in this order; names are
    /// literal, values are templates.
    Form(Vec<(String, String)>),
    /// `application/json`: placeholders are replaced inside every string
    /// leaf (object keys stay literal), then the value is serialised.
    Json(Value),
}

/// What a gateway answer must look like to count as "message accepted".
/// Every rule that is set must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SuccessRule {
    /// Accepted HTTP status codes; empty means any 2xx.
    pub statuses: Vec<u16>,
    /// A JSON field of the answer and the value it must have, compared as
    /// text: a dotted path where numbers index arrays (`messages.0.status`),
    /// and the expected value as text (`"0"` matches both `"0"` and `0`,
    /// `"true"` matches `true`). An answer that is not JSON fails.
    pub json_field: Option<(String, String)>,
    /// Text the answer body must contain.
    pub body_contains: Option<String>,
}

/// An HTTP SMS gateway: where and how to send one message, and how to tell
/// that it was accepted.
///
/// The credentials and the sender live in the gateway (`username`,
/// `password`, `sender`) and reach the request only through the
/// `{username}`, `{password}` and `{sender}` placeholders, so [`Self::send`]
/// takes just the recipient and the text. `Debug` hides the password and the
/// authentication values but shows the URL and body templates, so keep
/// secrets in `password` (or `username`) and refer to them by placeholder.
#[derive(Clone, PartialEq)]
pub struct SmsGateway {
    /// GET or POST.
    pub method: HttpMethod,
    /// URL template, `http://` or `https://`; substituted values are
    /// percent-encoded.
    pub url_template: String,
    /// Authentication header.
    pub auth: SmsAuth,
    /// Request body.
    pub body: SmsBody,
    /// When an answer means success.
    pub success: SuccessRule,
    /// Timeout for the whole exchange (connect, send, answer).
    pub timeout: Duration,
    /// Value of `{username}` (account, API key, …).
    pub username: String,
    /// Value of `{password}` (auth token, API secret, …).
    pub password: String,
    /// Value of `{sender}` (sender number or alphanumeric sender ID).
    pub sender: String,
}

impl fmt::Debug for SmsGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsGateway")
            .field("method", &self.method)
            .field("url_template", &self.url_template)
            .field("auth", &self.auth)
            .field("body", &self.body)
            .field("success", &self.success)
            .field("timeout", &self.timeout)
            .field("username", &self.username)
            .field("password", &"***")
            .field("sender", &self.sender)
            .finish()
    }
}

/// Default timeout of a preset gateway.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl SmsGateway {
    /// The gateway for a known provider. `url` replaces the provider's URL
    /// (a template too); the webhook preset has no default URL and needs it.
    ///
    /// * **Twilio**: `POST https://api.twilio.com/2010-04-01/Accounts/{username}/Messages.json`,
    ///   form `To={to}`, `From={sender}`, `Body={message}`, HTTP basic auth
    ///   with the account SID as `username` and the auth token as `password`;
    ///   success is any 2xx (Twilio answers 201 Created). `sender` is a
    ///   Twilio phone number in E.164 form or an alphanumeric sender ID
    ///   (a Messaging Service would need a `MessagingServiceSid` field).
    /// * **Vonage**: `POST https://rest.nexmo.com/sms/json`, form
    ///   `api_key={username}`, `api_secret={password}`, `to={to_digits}`,
    ///   `from={sender}`, `text={message}`; success is JSON
    ///   `messages.0.status` = `"0"` (Vonage answers 200 even on failure).
    ///   Assumption: GSM text, as Vonage's default `type=text`; add
    ///   `("type", "unicode")` to the form for other alphabets.
    /// * **Clickatell**: `POST https://platform.clickatell.com/v1/message`,
    ///   JSON `{"messages":[{"channel":"sms","to":"{to_digits}","content":"{message}"}]}`,
    ///   header `Authorization: {password}` (the API key; `username` unused);
    ///   success is a 2xx and JSON `messages.0.accepted` = `true`.
    ///   Assumption: `sender` is unused (Clickatell picks the number of the
    ///   integration).
    /// * **Webhook**: `POST` to `url`, JSON `{"to":"{to}","message":"{message}"}`,
    ///   `Authorization: Bearer {password}` when `password` is not empty;
    ///   success is any 2xx.
    /// * **Custom**: a bare `POST` to `url` with no authentication and no body, for the
    ///   `sms.custom.*` settings to describe.
    pub fn from_preset(
        preset: SmsPreset,
        url: Option<&str>,
        username: &str,
        password: &str,
        sender: &str,
    ) -> SmsGateway {
        let form = |fields: &[(&str, &str)]| {
            SmsBody::Form(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
        };
        let (default_url, auth, body, success) = match preset {
            SmsPreset::Twilio => (
                "https://api.twilio.com/2010-04-01/Accounts/{username}/Messages.json",
                SmsAuth::Basic { username: "{username}".into(), password: "{password}".into() },
                form(&[("To", "{to}"), ("From", "{sender}"), ("Body", "{message}")]),
                SuccessRule::default(),
            ),
            SmsPreset::Vonage => (
                "https://rest.nexmo.com/sms/json",
                SmsAuth::None,
                form(&[
                    ("api_key", "{username}"),
                    ("api_secret", "{password}"),
                    ("to", "{to_digits}"),
                    ("from", "{sender}"),
                    ("text", "{message}"),
                ]),
                SuccessRule { json_field: Some(("messages.0.status".into(), "0".into())), ..SuccessRule::default() },
            ),
            SmsPreset::Clickatell => (
                "https://platform.clickatell.com/v1/message",
                SmsAuth::Header { name: "Authorization".into(), value: "{password}".into() },
                SmsBody::Json(serde_json::json!({
                    "messages": [{
                        "channel": "sms",
                        "to": "{to_digits}",
                        "content": "{message}",
                    }]
                })),
                SuccessRule {
                    json_field: Some(("messages.0.accepted".into(), "true".into())),
                    ..SuccessRule::default()
                },
            ),
            SmsPreset::Webhook => (
                "",
                if password.is_empty() { SmsAuth::None } else { SmsAuth::Bearer("{password}".into()) },
                SmsBody::Json(serde_json::json!({ "to": "{to}", "message": "{message}" })),
                SuccessRule::default(),
            ),
            SmsPreset::Custom => ("", SmsAuth::None, SmsBody::None, SuccessRule::default()),
        };
        SmsGateway {
            method: HttpMethod::Post,
            url_template: url.unwrap_or(default_url).to_owned(),
            auth,
            body,
            success,
            timeout: DEFAULT_TIMEOUT,
            username: username.to_owned(),
            password: password.to_owned(),
            sender: sender.to_owned(),
        }
    }

    /// Sends `message` to the phone number `to` and checks the answer
    /// against the success rule.
    ///
    /// Anything short of a confirmed success is an error (fail closed); no
    /// error text contains the message or the password.
    pub fn send(&self, to: &PhoneNumber, message: &str) -> Result<(), DeliveryError> {
        let to = to.as_str();
        let secrets = [message, self.password.as_str()];
        let values: [(&str, &str); 6] = [
            ("to", to),
            ("to_digits", to.trim_start_matches('+')),
            ("message", message),
            ("sender", &self.sender),
            ("username", &self.username),
            ("password", &self.password),
        ];
        let (url, server) = self.url(&values)?;
        let fail = |err: ureq::Error| map_http_error(err, &server, self.timeout, &secrets);
        let mut response = self.request(&url, &values)?.map_err(fail)?;

        let status = response.status();
        let code = status.as_u16();
        let status_ok =
            if self.success.statuses.is_empty() { status.is_success() } else { self.success.statuses.contains(&code) };
        if !status_ok {
            return Err(DeliveryError::HttpStatus {
                status: code,
                reason: status.canonical_reason().unwrap_or("").to_owned(),
            });
        }
        if self.success.json_field.is_none() && self.success.body_contains.is_none() {
            return Ok(());
        }
        let answer = response.body_mut().with_config().limit(MAX_ANSWER).read_to_vec().map_err(fail)?;
        let answer = String::from_utf8_lossy(&answer);
        check_answer(&self.success, &answer, &secrets)
    }

    /// The request's URL with the values put in, and its `host:port` for error messages (the URL
    /// itself may carry the message or the password: it is never shown).
    fn url(&self, values: &[(&str, &str)]) -> Result<(String, String), DeliveryError> {
        if self.url_template.trim().is_empty() {
            return Err(config("no gateway URL is set"));
        }
        let url = render_with(self.url_template.trim(), values, |value, out| {
            out.extend(utf8_percent_encode(value, URL_VALUE));
        });
        let uri: ureq::http::Uri = url.parse().map_err(|_| config("the URL template does not give a valid URL"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(config("the URL must start with http:// or https://")),
        };
        let host = uri.host().ok_or_else(|| config("the URL has no host name"))?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let server = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok((url, server))
    }

    /// The authentication header, with the values put in.
    fn auth_header(&self, values: &[(&str, &str)]) -> Option<(String, String)> {
        match &self.auth {
            SmsAuth::None => None,
            SmsAuth::Basic { username, password } => {
                let pair = format!("{}:{}", render_template(username, values), render_template(password, values));
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                Some(("Authorization".to_owned(), format!("Basic {encoded}")))
            }
            SmsAuth::Bearer(token) => {
                Some(("Authorization".to_owned(), format!("Bearer {}", render_template(token, values))))
            }
            SmsAuth::Header { name, value } => Some((name.trim().to_owned(), render_template(value, values))),
        }
    }

    /// Makes the request: the outer error is the gateway's settings' fault, the inner one the
    /// exchange's.
    fn request(
        &self,
        url: &str,
        values: &[(&str, &str)],
    ) -> Result<Result<ureq::http::Response<ureq::Body>, ureq::Error>, DeliveryError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("mailmfa/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let auth = self.auth_header(values);
        let auth = auth.as_ref();
        Ok(match (self.method, &self.body) {
            (HttpMethod::Get, SmsBody::None) => with_auth(agent.get(url), auth).call(),
            (HttpMethod::Get, _) => return Err(config("a GET request cannot carry a body; use POST")),
            (HttpMethod::Post, SmsBody::None) => with_auth(agent.post(url), auth).send_empty(),
            (HttpMethod::Post, SmsBody::Form(fields)) => {
                let mut form = form_urlencoded::Serializer::new(String::new());
                for (name, value) in fields {
                    form.append_pair(name, &render_template(value, values));
                }
                let request = with_auth(agent.post(url), auth);
                request.header("Content-Type", "application/x-www-form-urlencoded").send(form.finish())
            }
            (HttpMethod::Post, SmsBody::Json(template)) => {
                let bytes = serde_json::to_vec(&render_json(template, values))
                    .map_err(|_| config("the JSON body cannot be serialised"))?;
                with_auth(agent.post(url), auth).header("Content-Type", "application/json").send(&bytes[..])
            }
        })
    }
}

/// The request with its authentication header, if it has one.
fn with_auth<B>(request: ureq::RequestBuilder<B>, auth: Option<&(String, String)>) -> ureq::RequestBuilder<B> {
    match auth {
        Some((name, value)) => request.header(name, value),
        None => request,
    }
}

/// A misconfiguration of the gateway.
fn config(detail: &str) -> DeliveryError {
    DeliveryError::Config { channel: Channel::SmsGateway, detail: detail.to_owned() }
}

/// Checks the answer body against the JSON and text parts of a success rule.
fn check_answer(rule: &SuccessRule, answer: &str, secrets: &[&str]) -> Result<(), DeliveryError> {
    if let Some((path, expected)) = &rule.json_field {
        let expectation = format!("expected JSON field {path} = {expected}");
        let json: Value = serde_json::from_str(answer)
            .map_err(|_| DeliveryError::NotConfirmed(format!("{expectation}, but the answer is not JSON")))?;
        match json_path(&json, path) {
            None => {
                return Err(DeliveryError::NotConfirmed(format!("{expectation}, but the answer has no such field")));
            }
            Some(found) => {
                let found = json_text(found);
                if found != *expected {
                    let mut shown = redact(&found, secrets);
                    if shown.chars().count() > 60 {
                        shown = shown.chars().take(60).collect::<String>() + "…";
                    }
                    return Err(DeliveryError::NotConfirmed(format!("{expectation}, found {shown}")));
                }
            }
        }
    }
    if let Some(needle) = &rule.body_contains
        && !answer.contains(needle.as_str())
    {
        return Err(DeliveryError::NotConfirmed(format!(
            "expected the answer to contain \"{}\"",
            redact(needle, secrets)
        )));
    }
    Ok(())
}

/// Follows a dotted path (`messages.0.status`) into a JSON value.
fn json_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').filter(|segment| !segment.is_empty()).try_fold(value, |current, segment| match current {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// A JSON value as text for comparison: strings bare, everything else as JSON.
fn json_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Replaces placeholders in every string leaf of a JSON template.
fn render_json(template: &Value, values: &[(&str, &str)]) -> Value {
    match template {
        Value::String(s) => Value::String(render_template(s, values)),
        Value::Array(items) => Value::Array(items.iter().map(|v| render_json(v, values)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), render_json(v, values))).collect()),
        other => other.clone(),
    }
}

/// Maps a ureq failure to a [`DeliveryError`]; never shows the URL.
fn map_http_error(err: ureq::Error, server: &str, timeout: Duration, secrets: &[&str]) -> DeliveryError {
    let server = server.to_owned();
    let channel = Channel::SmsGateway;
    let io_detail = |e: &io::Error| redact(&e.to_string(), secrets);
    match err {
        ureq::Error::Timeout(_) => DeliveryError::Timeout { channel, server, seconds: seconds(timeout) },
        ureq::Error::Io(e) => match e.kind() {
            io::ErrorKind::ConnectionRefused => {
                DeliveryError::ConnectionRefused { channel, server, detail: io_detail(&e) }
            }
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                DeliveryError::Timeout { channel, server, seconds: seconds(timeout) }
            }
            io::ErrorKind::InvalidData if e.get_ref().is_some() => {
                DeliveryError::Tls { channel, server, detail: io_detail(&e) }
            }
            _ => DeliveryError::Unreachable { channel, server, detail: io_detail(&e) },
        },
        ureq::Error::HostNotFound => {
            DeliveryError::Unreachable { channel, server, detail: "host name not found".to_owned() }
        }
        ureq::Error::ConnectionFailed => {
            DeliveryError::Unreachable { channel, server, detail: "connection failed".to_owned() }
        }
        ureq::Error::Tls(reason) => DeliveryError::Tls { channel, server, detail: reason.to_owned() },
        ureq::Error::Rustls(e) => DeliveryError::Tls { channel, server, detail: redact(&e.to_string(), secrets) },
        ureq::Error::Http(_) => DeliveryError::Config {
            channel,
            detail: "a request header name or value is invalid (line break or non-ASCII \
                     character in an authentication value?)"
                .to_owned(),
        },
        ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_) => {
            DeliveryError::Config { channel, detail: "the URL template does not give a usable URL".to_owned() }
        }
        ureq::Error::InvalidProxyUrl | ureq::Error::ConnectProxyFailed(_) => DeliveryError::Http {
            server,
            detail: "the HTTP proxy from the environment (HTTPS_PROXY/ALL_PROXY) failed".to_owned(),
        },
        ureq::Error::Protocol(e) => {
            DeliveryError::Http { server, detail: format!("invalid HTTP answer: {}", redact(&e.to_string(), secrets)) }
        }
        ureq::Error::LargeResponseHeader(_, _) => {
            DeliveryError::Http { server, detail: "the answer headers are too large".to_owned() }
        }
        ureq::Error::BodyExceedsLimit(_) => {
            DeliveryError::Http { server, detail: "the answer is larger than 1 MiB".to_owned() }
        }
        ureq::Error::Decompress(_, _) => {
            DeliveryError::Http { server, detail: "the compressed answer could not be decompressed".to_owned() }
        }
        _ => DeliveryError::Http { server, detail: "unexpected HTTP client error".to_owned() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_and_text() {
        let v: Value = serde_json::json!({"messages":[{"status":"0","accepted":true,"n":4}]});
        assert_eq!(json_path(&v, "messages.0.status").map(json_text), Some("0".into()));
        assert_eq!(json_path(&v, "messages.0.accepted").map(json_text), Some("true".into()));
        assert_eq!(json_path(&v, "messages.0.n").map(json_text), Some("4".into()));
        assert!(json_path(&v, "messages.1.status").is_none());
        assert!(json_path(&v, "messages.x").is_none());
    }

    #[test]
    fn json_template_escapes_as_json() {
        let t = serde_json::json!({"m": "{message}", "n": [1, "{to}"], "{to}": true});
        let out = render_json(&t, &[("message", "a\"b\\c\n"), ("to", "+1")]);
        assert_eq!(out, serde_json::json!({"m": "a\"b\\c\n", "n": [1, "+1"], "{to}": true}));
    }

    #[test]
    fn answer_rules() {
        let rule = SuccessRule {
            json_field: Some(("status".into(), "0".into())),
            body_contains: Some("OK".into()),
            ..SuccessRule::default()
        };
        assert!(check_answer(&rule, r#"{"status":0,"r":"OK"}"#, &[]).is_ok());
        let err = check_answer(&rule, r#"{"status":"4"}"#, &[]).expect_err("status 4");
        assert_eq!(err.to_string(), "SMS gateway did not confirm the message: expected JSON field status = 0, found 4");
        assert!(check_answer(&rule, "not json", &[]).is_err());
        assert!(check_answer(&rule, r#"{"status":"0"}"#, &[]).is_err());
    }

    #[test]
    fn debug_hides_secrets() {
        let g = SmsGateway::from_preset(SmsPreset::Twilio, None, "AC1", "tok3n-secret", "+15550001");
        let shown = format!("{g:?}");
        assert!(!shown.contains("tok3n-secret"), "{shown}");
    }
}
