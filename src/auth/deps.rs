//! What the engine needs from the outside world, as traits tests replace: the clock, the random
//! source, the country lookup and the code sender — and the real ones, built from the settings.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::EngineError;
use crate::clock::{Clock, SystemClock};
use crate::crypto::CryptoError;
use crate::delivery::sms::{HttpMethod, SmsAuth, SmsBody, SmsGateway, SmsPreset, SuccessRule};
use crate::delivery::smtp::{SmtpRelay, SmtpSecurity};
use crate::delivery::{DeliveryError, Service as Channel, render_template};
use crate::domain::{Provider, SETTINGS};
use crate::geo::{CountryLookup, MmdbCountryLookup, NoCountryLookup, bundled_database_path};
use crate::store::{Store, StoreError};

/// A source of cryptographically secure random bytes.
pub trait RandomSource: Send + Sync {
    /// Fills `buf`.
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError>;
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        crate::crypto::random_bytes(buf)
    }
}

/// A message carrying a one-time code, already rendered from the templates.
pub struct CodeMessage {
    /// E-mail subject (unused for SMS).
    pub subject: String,
    /// E-mail body or SMS text; it contains the code, so it never goes into a log or an error.
    pub body: Zeroizing<String>,
}

/// Delivers one-time codes.
pub trait CodeSender: Send + Sync {
    /// Sends `message` through `provider` (SMS or SMTP) to `destination` (an E.164 number or an
    /// e-mail address).
    fn send(&self, provider: Provider, destination: &str, message: &CodeMessage) -> Result<(), DeliveryError>;
}

/// Everything the engine takes from outside.
#[derive(Clone)]
pub struct EngineDeps {
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Random bytes for secrets, codes and attempt ids.
    pub random: Arc<dyn RandomSource>,
    /// IP address → country.
    pub countries: Arc<dyn CountryLookup>,
    /// Sends SMS and e-mailed codes.
    pub sender: Arc<dyn CodeSender>,
}

impl EngineDeps {
    /// The real world: the system clock, the OS random source, the configured (or bundled) GeoIP
    /// database and the SMTP relay and SMS gateway from the settings.
    pub fn from_settings(store: &Store) -> Result<Self, EngineError> {
        let settings = DeliverySettings::read(store)?;
        Ok(Self {
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            countries: country_lookup(&settings.get("geoip.path"))?,
            sender: Arc::new(SettingsSender { settings }),
        })
    }
}

/// The configured GeoIP database, else the bundled one, else none (every country unknown, so
/// `new-country` mailboxes are always challenged — failing safe).
pub fn country_lookup(configured: &str) -> Result<Arc<dyn CountryLookup>, EngineError> {
    if !configured.is_empty() {
        let lookup =
            MmdbCountryLookup::open(&PathBuf::from(configured)).map_err(|e| EngineError::Geo(e.to_string()))?;
        return Ok(Arc::new(lookup));
    }
    match bundled_database_path() {
        Some(path) => {
            let lookup = MmdbCountryLookup::open(&path).map_err(|e| EngineError::Geo(e.to_string()))?;
            Ok(Arc::new(lookup))
        }
        None => Ok(Arc::new(NoCountryLookup)),
    }
}

/// A snapshot of the settings the engine and the senders read.
#[derive(Clone, Default)]
pub struct DeliverySettings(HashMap<&'static str, Zeroizing<String>>);

impl DeliverySettings {
    /// Reads every setting (secrets unsealed) from the store.
    pub fn read(store: &Store) -> Result<Self, StoreError> {
        store.read(|tx| {
            let mut map = HashMap::new();
            for def in SETTINGS {
                map.insert(def.key, tx.setting(def)?);
            }
            Ok(Self(map))
        })
    }

    /// A setting's value (empty for an unknown key).
    pub fn get(&self, key: &str) -> Zeroizing<String> {
        self.0.get(key).cloned().unwrap_or_default()
    }

    /// A numeric setting (its validated value), or `default`.
    pub fn number(&self, key: &str, default: i64) -> i64 {
        self.get(key).parse().unwrap_or(default)
    }

    /// The SMTP relay, or why it is not configured.
    pub fn smtp_relay(&self) -> Result<SmtpRelay, DeliveryError> {
        let host = self.get("smtp.host");
        let from = self.get("smtp.from");
        if host.is_empty() || from.is_empty() {
            return Err(DeliveryError::Config {
                service: Channel::SmtpRelay,
                detail: "set smtp.host and smtp.from first".to_owned(),
            });
        }
        let security: SmtpSecurity = self.get("smtp.security").parse().map_err(|_| DeliveryError::Config {
            service: Channel::SmtpRelay,
            detail: "smtp.security must be none, starttls or tls".to_owned(),
        })?;
        let username = self.get("smtp.username");
        let password = self.get("smtp.password");
        Ok(SmtpRelay {
            host: host.to_string(),
            port: u16::try_from(self.number("smtp.port", 587)).unwrap_or(587),
            security,
            username: (!username.is_empty()).then(|| username.to_string()),
            password: (!password.is_empty()).then(|| password.to_string()),
            from: from.to_string(),
            timeout: Duration::from_secs(self.number("smtp.timeout_seconds", 20).unsigned_abs()),
            accept_invalid_certs: self.get("smtp.accept_invalid_certs").as_str() == "true",
        })
    }

    /// The SMS gateway, from its preset or the `sms.custom.*` keys.
    pub fn sms_gateway(&self) -> Result<SmsGateway, DeliveryError> {
        let config = |detail: &str| DeliveryError::Config { service: Channel::SmsGateway, detail: detail.to_owned() };
        let url = self.get("sms.url");
        let username = self.get("sms.username");
        let password = self.get("sms.password");
        let sender = self.get("sms.sender");
        let timeout = Duration::from_secs(self.number("sms.timeout_seconds", 15).unsigned_abs());
        let preset = self.get("sms.preset");
        let mut gateway = if preset.as_str() == "custom" {
            if url.is_empty() {
                return Err(config("set sms.url for the custom gateway"));
            }
            SmsGateway {
                method: if self.get("sms.custom.method").as_str() == "GET" {
                    HttpMethod::Get
                } else {
                    HttpMethod::Post
                },
                url_template: url.to_string(),
                auth: match self.get("sms.custom.auth").as_str() {
                    "basic" => SmsAuth::Basic { username: "{username}".into(), password: "{password}".into() },
                    "bearer" => SmsAuth::Bearer("{password}".into()),
                    "header" => {
                        let name = self.get("sms.custom.auth_header");
                        if name.is_empty() {
                            return Err(config("set sms.custom.auth_header for auth=header"));
                        }
                        SmsAuth::Header { name: name.to_string(), value: "{password}".into() }
                    }
                    _ => SmsAuth::None,
                },
                body: custom_body(&self.get("sms.custom.body"), &self.get("sms.custom.body_template"))?,
                success: SuccessRule {
                    statuses: self
                        .get("sms.custom.success_status")
                        .split(',')
                        .filter(|s| !s.trim().is_empty())
                        .map(|s| {
                            s.trim().parse::<u16>().map_err(|_| config("sms.custom.success_status must list numbers"))
                        })
                        .collect::<Result<_, _>>()?,
                    json_field: {
                        let rule = self.get("sms.custom.success_json_field");
                        match rule.split_once('=') {
                            Some((path, value)) => Some((path.trim().to_owned(), value.trim().to_owned())),
                            None if rule.trim().is_empty() => None,
                            None => return Err(config("sms.custom.success_json_field must be path=value")),
                        }
                    },
                    body_contains: {
                        let text = self.get("sms.custom.success_body_contains");
                        (!text.is_empty()).then(|| text.to_string())
                    },
                },
                timeout,
                username: username.to_string(),
                password: password.to_string(),
                sender: sender.to_string(),
            }
        } else {
            let preset: SmsPreset = preset.parse().map_err(|_| config("unknown sms.preset"))?;
            if preset == SmsPreset::Webhook && url.is_empty() {
                return Err(config("set sms.url for the webhook gateway"));
            }
            SmsGateway::from_preset(preset, (!url.is_empty()).then_some(url.as_str()), &username, &password, &sender)
        };
        gateway.timeout = timeout;
        Ok(gateway)
    }

    /// Renders the code message for a provider from the templates.
    pub fn code_message(&self, provider: Provider, code: &str, mailbox: &str) -> CodeMessage {
        let lifetime = self.number("code.lifetime_seconds", 600);
        let minutes = ((lifetime + 59) / 60).to_string();
        let issuer = self.get("issuer");
        let values = [("code", code), ("mailbox", mailbox), ("minutes", minutes.as_str()), ("issuer", issuer.as_str())];
        let (subject, body) = match provider {
            Provider::Smtp => (self.get("smtp.subject"), self.get("smtp.body")),
            Provider::Sms | Provider::Totp => (Zeroizing::new(String::new()), self.get("sms.message")),
        };
        CodeMessage {
            subject: render_template(&subject, &values),
            body: Zeroizing::new(render_template(&body, &values)),
        }
    }
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

/// Sends codes through the SMTP relay and SMS gateway from the settings snapshot.
pub struct SettingsSender {
    settings: DeliverySettings,
}

impl SettingsSender {
    /// A sender over a settings snapshot.
    pub fn new(settings: DeliverySettings) -> Self {
        Self { settings }
    }
}

impl CodeSender for SettingsSender {
    fn send(&self, provider: Provider, destination: &str, message: &CodeMessage) -> Result<(), DeliveryError> {
        match provider {
            Provider::Smtp => self.settings.smtp_relay()?.send(destination, &message.subject, &message.body),
            Provider::Sms => self.settings.sms_gateway()?.send(destination, &message.body),
            Provider::Totp => Err(DeliveryError::Config {
                service: Channel::SmtpRelay,
                detail: "TOTP codes come from the user's app and are never sent".to_owned(),
            }),
        }
    }
}
