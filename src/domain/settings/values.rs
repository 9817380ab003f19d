//! The typed values of settings that are more than text, a number or a switch: the choices (SMTP
//! security, SMS gateway preset, the custom gateway's method, authentication and body type) and
//! the custom gateway's rules (accepted statuses, a JSON field, the body template). Each is parsed
//! once, when it is set and when the settings are read; the delivery channels use them as they are.

use super::super::words::words;
use super::{SettingDef, SettingValue};
use crate::domain::DomainError;

words! {
    /// How the connection to the SMTP relay is secured.
    #[derive(Default)]
    pub enum SmtpSecurity ("SMTP security") {
        /// Plain SMTP without encryption; only for relays on a trusted network, typically port 25.
        None = "none",
        /// A plain connection upgraded with STARTTLS, which is required: a relay that does not offer
        /// it is an error. Typically port 587.
        #[default]
        StartTls = "starttls",
        /// Implicit TLS from the first byte ("SMTPS"), typically port 465.
        Tls = "tls",
    }
}

impl SmtpSecurity {
    /// The usual port for this kind of security: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::StartTls => 587,
            Self::Tls => 465,
        }
    }
}

words! {
    /// Which SMS gateway, of those mailmfa knows, or a custom one.
    pub enum SmsPreset ("SMS gateway preset") {
        /// Twilio Programmable Messaging.
        Twilio = "twilio",
        /// Vonage (formerly Nexmo) SMS API.
        Vonage = "vonage",
        /// Clickatell Platform One API.
        Clickatell = "clickatell",
        /// A generic JSON webhook of the site's own.
        Webhook = "webhook",
        /// A gateway described by the `sms.custom.*` settings.
        Custom = "custom",
    }
}

words! {
    /// The HTTP method of a gateway request.
    #[derive(Default)]
    pub enum HttpMethod ("HTTP method") {
        /// Everything goes in the URL; no body.
        Get = "GET",
        /// A request with a body.
        #[default]
        Post = "POST",
    }
}

words! {
    /// How a custom SMS gateway request authenticates.
    pub enum SmsAuthKind ("gateway authentication") {
        /// No authentication header.
        None = "none",
        /// HTTP basic authentication with `sms.username` and `sms.password`.
        Basic = "basic",
        /// `Authorization: Bearer` with `sms.password`.
        Bearer = "bearer",
        /// A header named by `sms.custom.auth_header`, with `sms.password` as its value.
        Header = "header",
    }
}

words! {
    /// The body of a custom SMS gateway request.
    pub enum SmsBodyKind ("body type") {
        /// No body.
        None = "none",
        /// Form fields (`application/x-www-form-urlencoded`).
        Form = "form",
        /// A JSON object.
        Json = "json",
    }
}

/// The HTTP statuses a gateway answers when it took the message; empty: any 2xx.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpStatuses(pub Vec<u16>);

/// A JSON field a gateway's answer must hold, and the value it must have (compared as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonExpectation {
    /// A dotted path where numbers index arrays (`messages.0.status`).
    pub path: String,
    /// The value as text (`0`, `true`).
    pub value: String,
}

/// The body template of a custom SMS gateway: a JSON object, or form fields, each with
/// `{placeholder}`s.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyTemplate {
    /// A JSON object.
    Json(serde_json::Value),
    /// Form fields in order: names literal, values templates.
    Form(Vec<(String, String)>),
}

impl<W: crate::domain::Word> SettingValue for W {
    fn from_text(_def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        crate::domain::parse_word(text)
    }
}

impl SettingValue for HttpStatuses {
    fn from_text(def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        let statuses = text.split(',').map(str::trim).filter(|part| !part.is_empty()).map(|part| match part.parse() {
            Ok(status @ 100..=599) => Ok(status),
            _ => Err(DomainError::invalid_setting(
                def.key,
                format!("{part:?} is not an HTTP status; list statuses such as 200,201"),
            )),
        });
        statuses.collect::<Result<_, _>>().map(Self)
    }
}

impl SettingValue for Option<JsonExpectation> {
    fn from_text(def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        match text.split_once('=') {
            Some((path, value)) if !path.trim().is_empty() => {
                Ok(Some(JsonExpectation { path: path.trim().to_owned(), value: value.trim().to_owned() }))
            }
            _ => Err(DomainError::invalid_setting(def.key, "write it as path=value, as in messages.0.status=0")),
        }
    }
}

impl SettingValue for BodyTemplate {
    fn from_text(def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        if text.trim_start().starts_with('{') {
            return match serde_json::from_str(text) {
                Ok(object @ serde_json::Value::Object(_)) => Ok(Self::Json(object)),
                _ => Err(DomainError::invalid_setting(def.key, "the JSON body template is not a valid JSON object")),
            };
        }
        let pairs = text.split('&').filter(|pair| !pair.is_empty()).map(|pair| match pair.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), value.trim().to_owned())),
            _ => Err(DomainError::invalid_setting(
                def.key,
                "write a JSON object, or form fields as name=value&name=value",
            )),
        });
        pairs.collect::<Result<_, _>>().map(Self::Form)
    }
}
