//! The two channels as the settings describe them: the SMTP relay and the SMS gateway assembled
//! from [`Settings`], the code messages rendered from their templates, and [`CodeSender`], the one
//! interface the service sends codes through (tests put a fake behind it).

use std::time::Duration;

use zeroize::Zeroizing;

use super::sms::{HttpMethod, SmsAuth, SmsBody, SmsGateway, SmsPreset, SuccessRule};
use super::smtp::{SmtpRelay, SmtpSecurity};
use super::{DeliveryError, Service as Channel, render_template};
use crate::domain::{Notice, PhoneNumber, Provider, Settings};

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
            Provider::Sms | Provider::Totp => ("", settings.sms_message.as_str()),
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
            Provider::Totp => Err(totp_is_not_sent()),
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
            Provider::Totp => Err(totp_is_not_sent()),
        }
    }
}

fn totp_is_not_sent() -> DeliveryError {
    DeliveryError::Config {
        service: Channel::SmtpRelay,
        detail: "TOTP codes come from the user's app and are never sent".to_owned(),
    }
}

/// The SMTP relay, or why it is not configured.
pub fn smtp_relay(s: &Settings) -> Result<SmtpRelay, DeliveryError> {
    let config = |detail: &str| DeliveryError::Config { service: Channel::SmtpRelay, detail: detail.to_owned() };
    if s.smtp_host.is_empty() || s.smtp_from.is_empty() {
        return Err(config("set smtp.host and smtp.from first"));
    }
    let security: SmtpSecurity =
        s.smtp_security.parse().map_err(|_| config("smtp.security must be none, starttls or tls"))?;
    Ok(SmtpRelay {
        host: s.smtp_host.clone(),
        port: u16::try_from(s.smtp_port).map_err(|_| config("smtp.port must be from 1 to 65535"))?,
        security,
        username: (!s.smtp_username.is_empty()).then(|| s.smtp_username.clone()),
        password: (!s.smtp_password.is_empty()).then(|| s.smtp_password.to_string()),
        from: s.smtp_from.clone(),
        timeout: Duration::from_secs(s.smtp_timeout_seconds.unsigned_abs()),
        accept_invalid_certs: s.smtp_accept_invalid_certs,
    })
}

/// The SMS gateway, from its preset or the `sms.custom.*` keys.
pub fn sms_gateway(s: &Settings) -> Result<SmsGateway, DeliveryError> {
    let config = |detail: &str| DeliveryError::Config { service: Channel::SmsGateway, detail: detail.to_owned() };
    let url = s.sms_url.as_str();
    let mut gateway = if s.sms_preset == "custom" {
        if url.is_empty() {
            return Err(config("set sms.url for the custom gateway"));
        }
        SmsGateway {
            method: if s.sms_custom_method == "GET" { HttpMethod::Get } else { HttpMethod::Post },
            url_template: url.to_owned(),
            auth: match s.sms_custom_auth.as_str() {
                "basic" => SmsAuth::Basic { username: "{username}".into(), password: "{password}".into() },
                "bearer" => SmsAuth::Bearer("{password}".into()),
                "header" => {
                    if s.sms_custom_auth_header.is_empty() {
                        return Err(config("set sms.custom.auth_header for auth=header"));
                    }
                    SmsAuth::Header { name: s.sms_custom_auth_header.clone(), value: "{password}".into() }
                }
                _ => SmsAuth::None,
            },
            body: custom_body(&s.sms_custom_body, &s.sms_custom_body_template)?,
            success: SuccessRule {
                statuses: s
                    .sms_custom_success_status
                    .split(',')
                    .filter(|part| !part.trim().is_empty())
                    .map(|part| {
                        part.trim().parse::<u16>().map_err(|_| config("sms.custom.success_status must list numbers"))
                    })
                    .collect::<Result<_, _>>()?,
                json_field: match s.sms_custom_success_json_field.split_once('=') {
                    Some((path, value)) => Some((path.trim().to_owned(), value.trim().to_owned())),
                    None if s.sms_custom_success_json_field.trim().is_empty() => None,
                    None => return Err(config("sms.custom.success_json_field must be path=value")),
                },
                body_contains: (!s.sms_custom_success_body_contains.is_empty())
                    .then(|| s.sms_custom_success_body_contains.clone()),
            },
            timeout: Duration::ZERO,
            username: s.sms_username.clone(),
            password: s.sms_password.to_string(),
            sender: s.sms_sender.clone(),
        }
    } else {
        let preset: SmsPreset = s.sms_preset.parse().map_err(|_| config("unknown sms.preset"))?;
        if preset == SmsPreset::Webhook && url.is_empty() {
            return Err(config("set sms.url for the webhook gateway"));
        }
        SmsGateway::from_preset(
            preset,
            (!url.is_empty()).then_some(url),
            &s.sms_username,
            &s.sms_password,
            &s.sms_sender,
        )
    };
    gateway.timeout = Duration::from_secs(s.sms_timeout_seconds.unsigned_abs());
    Ok(gateway)
}

fn custom_body(kind: &str, template: &str) -> Result<SmsBody, DeliveryError> {
    let config = |detail: &str| DeliveryError::Config { service: Channel::SmsGateway, detail: detail.to_owned() };
    match kind {
        "none" => Ok(SmsBody::None),
        "form" => Ok(SmsBody::Form(
            template
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    pair.split_once('=')
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        .ok_or_else(|| config("sms.custom.body_template must be name=value&… for a form body"))
                })
                .collect::<Result<_, _>>()?,
        )),
        _ => serde_json::from_str(template)
            .map(SmsBody::Json)
            .map_err(|_| config("sms.custom.body_template is not valid JSON")),
    }
}
