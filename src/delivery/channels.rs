//! The two channels as the settings describe them: the SMTP relay and the SMS gateway assembled
//! from [`Settings`], the code messages rendered from their templates, and [`CodeSender`], the one
//! interface the service sends codes through (tests put a fake behind it).

use std::time::Duration;

use zeroize::Zeroizing;

use super::sms::{SmsAuth, SmsBody, SmsGateway, SuccessRule};
use super::smtp::SmtpRelay;
use super::{Channel, DeliveryError, render_template};
use crate::domain::{BodyTemplate, Notice, PhoneNumber, Provider, Settings, SmsAuthKind, SmsBodyKind, SmsPreset};

/// A message carrying a one-time code, already rendered from the templates.
pub struct CodeMessage {
    /// E-mail subject (unused for SMS).
    pub subject: String,
    /// E-mail body or SMS text; it may contain a code, so it never goes into a log or an error.
    pub body: Zeroizing<String>,
}

impl CodeMessage {
    /// The message of a one-time code for `mailbox`, from the templates of `provider`'s channel.
    pub fn for_code(settings: &Settings, provider: Provider, code: &str, mailbox: &str) -> Self {
        let minutes = ((settings.code_lifetime_seconds + 59) / 60).to_string();
        let values =
            [("code", code), ("mailbox", mailbox), ("minutes", minutes.as_str()), ("issuer", settings.issuer.as_str())];
        let (subject, body) = match provider {
            Provider::Smtp => (settings.smtp_subject.as_str(), settings.smtp_body.as_str()),
            Provider::Sms | Provider::Totp | Provider::Passkey => ("", settings.sms_message.as_str()),
        };
        Self { subject: render_template(subject, &values), body: Zeroizing::new(render_template(body, &values)) }
    }

    /// The e-mail of a notification, from the `notify.*` templates: `{mailbox}`, `{issuer}`,
    /// `{event}`, `{time}`, `{ip}`, `{country}`, `{left}` (recovery codes) and `{until}` (an access
    /// pass).
    pub fn for_notice(settings: &Settings, notice: &Notice) -> Self {
        let unknown = "unknown";
        let detail = notice.detail.as_deref().unwrap_or(unknown);
        let at = crate::clock::format_readable(notice.at);
        let values = [
            ("mailbox", notice.mailbox.as_str()),
            ("issuer", settings.issuer.as_str()),
            ("event", notice.event.label()),
            ("time", at.as_str()),
            ("ip", notice.ip.as_deref().unwrap_or(unknown)),
            ("country", notice.country.as_deref().unwrap_or(unknown)),
            ("left", detail),
            ("until", detail),
        ];
        Self {
            subject: render_template(&settings.notify_subject, &values),
            body: Zeroizing::new(render_template(notice.event.template(settings), &values)),
        }
    }

    /// The message of a test send: it carries no code.
    pub fn test() -> Self {
        Self {
            subject: "mailmfa test message".to_owned(),
            body: Zeroizing::new(
                "This is a test message from mailmfa: the delivery of sign-in codes works.".to_owned(),
            ),
        }
    }
}

/// Delivers messages through a provider's channel.
pub trait CodeSender: Send + Sync {
    /// Sends `message` through `provider` (SMS or SMTP) to `destination` (an E.164 number or an
    /// e-mail address).
    fn send(&self, provider: Provider, destination: &str, message: &CodeMessage) -> Result<(), DeliveryError>;
}

/// The SMTP relay and SMS gateway of a settings snapshot.
pub struct Channels {
    settings: Settings,
}

impl Channels {
    /// The channels the settings describe (checked when used, so one misconfigured channel does
    /// not stop the other).
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }

    /// Checks that `provider`'s channel is configured.
    pub fn check(&self, provider: Provider) -> Result<(), DeliveryError> {
        match provider {
            Provider::Smtp => smtp_relay(&self.settings).map(drop),
            Provider::Sms => sms_gateway(&self.settings).map(drop),
            Provider::Totp | Provider::Passkey => Err(totp_is_not_sent()),
        }
    }
}

impl CodeSender for Channels {
    fn send(&self, provider: Provider, destination: &str, message: &CodeMessage) -> Result<(), DeliveryError> {
        match provider {
            Provider::Smtp => smtp_relay(&self.settings)?.send(destination, &message.subject, &message.body),
            Provider::Sms => {
                let to: PhoneNumber =
                    destination.parse().map_err(|_| DeliveryError::InvalidPhoneNumber(destination.to_owned()))?;
                sms_gateway(&self.settings)?.send(&to, &message.body)
            }
            Provider::Totp | Provider::Passkey => Err(totp_is_not_sent()),
        }
    }
}

fn totp_is_not_sent() -> DeliveryError {
    DeliveryError::Config {
        channel: Channel::SmtpRelay,
        detail: "TOTP codes and passkeys are the user's own; nothing is sent".to_owned(),
    }
}

/// The SMTP relay, or why it is not configured.
pub fn smtp_relay(s: &Settings) -> Result<SmtpRelay, DeliveryError> {
    let config = |detail: &str| DeliveryError::Config { channel: Channel::SmtpRelay, detail: detail.to_owned() };
    if s.smtp_host.is_empty() || s.smtp_from.is_empty() {
        return Err(config("set smtp.host and smtp.from first"));
    }
    Ok(SmtpRelay {
        host: s.smtp_host.clone(),
        port: u16::try_from(s.smtp_port).map_err(|_| config("smtp.port must be from 1 to 65535"))?,
        security: s.smtp_security,
        username: (!s.smtp_username.is_empty()).then(|| s.smtp_username.clone()),
        password: (!s.smtp_password.is_empty()).then(|| s.smtp_password.to_string()),
        from: s.smtp_from.clone(),
        timeout: Duration::from_secs(s.smtp_timeout_seconds.unsigned_abs()),
        accept_invalid_certs: s.smtp_accept_invalid_certs,
    })
}

/// The SMS gateway: its preset, with the `sms.custom.*` settings for a custom one.
pub fn sms_gateway(s: &Settings) -> Result<SmsGateway, DeliveryError> {
    let url = s.sms_url.as_str();
    if url.is_empty() && matches!(s.sms_preset, SmsPreset::Webhook | SmsPreset::Custom) {
        return Err(sms_config(&format!("set sms.url for the {} gateway", s.sms_preset)));
    }
    let mut gateway = SmsGateway::from_preset(
        s.sms_preset,
        (!url.is_empty()).then_some(url),
        &s.sms_username,
        &s.sms_password,
        &s.sms_sender,
    );
    if s.sms_preset == SmsPreset::Custom {
        gateway.method = s.sms_custom_method;
        gateway.auth = custom_auth(s)?;
        gateway.body = custom_body(s)?;
        gateway.success = SuccessRule {
            statuses: s.sms_custom_success_status.0.clone(),
            json_field: s.sms_custom_success_json_field.as_ref().map(|e| (e.path.clone(), e.value.clone())),
            body_contains: (!s.sms_custom_success_body_contains.is_empty())
                .then(|| s.sms_custom_success_body_contains.clone()),
        };
    }
    gateway.timeout = Duration::from_secs(s.sms_timeout_seconds.unsigned_abs());
    Ok(gateway)
}

fn sms_config(detail: &str) -> DeliveryError {
    DeliveryError::Config { channel: Channel::SmsGateway, detail: detail.to_owned() }
}

/// The authentication of a custom gateway; its values are the `{username}` and `{password}`
/// placeholders, so the secret stays in the gateway's password.
fn custom_auth(s: &Settings) -> Result<SmsAuth, DeliveryError> {
    Ok(match s.sms_custom_auth {
        SmsAuthKind::None => SmsAuth::None,
        SmsAuthKind::Basic => SmsAuth::Basic { username: "{username}".into(), password: "{password}".into() },
        SmsAuthKind::Bearer => SmsAuth::Bearer("{password}".into()),
        SmsAuthKind::Header if s.sms_custom_auth_header.is_empty() => {
            return Err(sms_config("set sms.custom.auth_header for auth=header"));
        }
        SmsAuthKind::Header => SmsAuth::Header { name: s.sms_custom_auth_header.clone(), value: "{password}".into() },
    })
}

/// The body of a custom gateway: the template, which must be of the kind the body type says.
fn custom_body(s: &Settings) -> Result<SmsBody, DeliveryError> {
    match (s.sms_custom_body, &s.sms_custom_body_template) {
        (SmsBodyKind::None, _) => Ok(SmsBody::None),
        (SmsBodyKind::Form, BodyTemplate::Form(fields)) => Ok(SmsBody::Form(fields.clone())),
        (SmsBodyKind::Json, BodyTemplate::Json(object)) => Ok(SmsBody::Json(object.clone())),
        (SmsBodyKind::Form, BodyTemplate::Json(_)) => {
            Err(sms_config("sms.custom.body is form, but sms.custom.body_template is a JSON object"))
        }
        (SmsBodyKind::Json, BodyTemplate::Form(_)) => {
            Err(sms_config("sms.custom.body is json, but sms.custom.body_template is not a JSON object"))
        }
    }
}
