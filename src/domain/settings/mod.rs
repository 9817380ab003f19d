//! The platform settings: one table of every key (`table.rs`) — its default, what values it
//! takes, its group, the console's label and help — and [`Settings`], every value typed, parsed
//! once from the store. Adding a setting is one entry in that table: the key, the typed field,
//! its check, the console's form row and `settings show` all come from it.

mod values;

use std::fmt;
use std::net::SocketAddr;

use zeroize::Zeroizing;

pub use table::{SETTINGS, Settings};
pub use values::{
    BodyTemplate, HttpMethod, HttpStatuses, JsonExpectation, SmsAuthKind, SmsBodyKind, SmsPreset, SmtpSecurity,
};

use super::{DomainError, EmailAddress, IpNetwork, Switch, parse_networks};

/// What values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    /// Free text on one line (may be empty).
    Text,
    /// A name shown in authenticator apps: one line, not empty, no `:`.
    Name,
    /// Free text that may span lines (an e-mail body template).
    MultilineText,
    /// A whole number in the range.
    Int {
        /// The smallest value.
        min: i64,
        /// The largest value.
        max: i64,
    },
    /// One of the words.
    Choice(&'static [&'static str]),
    /// `true` or `false`.
    Bool,
    /// An e-mail address, or empty.
    Email,
    /// An `http://` or `https://` URL, or empty.
    Url,
    /// The path of a file that must exist when it is set, or empty for the built-in default.
    Path,
    /// A password or token: sealed at rest, never printed.
    Secret,
}

/// Where a setting belongs: the console shows each group in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingGroup {
    /// What users see (the issuer).
    General,
    /// Lockout, code lifetime and send limits.
    Security,
    /// The country database.
    Geo,
    /// The SMTP relay that e-mails codes.
    SmtpRelay,
    /// The HTTP SMS gateway.
    SmsGateway,
    /// The request of a custom SMS gateway.
    SmsCustom,
    /// The login service (`mailmfa serve`).
    LoginService,
    /// E-mails to a mailbox about its sign-in.
    Notifications,
    /// Mail programs and app passwords.
    MailPrograms,
}

impl SettingGroup {
    /// The group's title in the console.
    pub fn title(self) -> &'static str {
        match self {
            Self::General => "General",
            Self::Security => "Security policy",
            Self::Geo => "Country database",
            Self::SmtpRelay => "SMTP relay",
            Self::SmsGateway => "SMS gateway",
            Self::SmsCustom => "Custom SMS gateway",
            Self::LoginService => "Login service",
            Self::Notifications => "Notifications",
            Self::MailPrograms => "Mail programs",
        }
    }
}

/// One setting: its key, default, kind, group, label and help.
#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    /// The key as typed (`lockout.threshold`).
    pub key: &'static str,
    /// The value when the administrator never set it.
    pub default: &'static str,
    /// What values it takes.
    pub kind: SettingKind,
    /// Where the console shows it.
    pub group: SettingGroup,
    /// The label of its field in the console.
    pub label: &'static str,
    /// What it means, as the console's tooltip and `settings show` describe it.
    pub help: &'static str,
    /// A rule of this key beyond its kind, checked on the normalised value when it is set.
    pub rule: Option<SettingRule>,
    /// Whether the normalised value makes the typed field's value: the field's own parser.
    pub typed: fn(&SettingDef, &str) -> Result<(), DomainError>,
}

/// A check of a setting's value beyond its kind: `Err` says what is wrong, in one line.
pub type SettingRule = fn(&str) -> Result<(), String>;

impl SettingDef {
    /// True for passwords and tokens.
    pub fn is_secret(&self) -> bool {
        self.kind == SettingKind::Secret
    }

    /// Checks and normalises a raw value for this key.
    pub fn parse(&self, raw: &str) -> Result<String, DomainError> {
        let what = self.key;
        if raw.len() > 2048 {
            return Err(DomainError::TooLong { what: "setting value", max: 2048 });
        }
        if raw.contains('\0') {
            return Err(DomainError::invalid_setting(what, "it may not contain NUL characters"));
        }
        if raw.contains(['\n', '\r']) && self.kind != SettingKind::MultilineText {
            return Err(DomainError::invalid_setting(what, "it must be on one line"));
        }
        if let Some(c) = raw.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(DomainError::invalid_setting(what, format!("it may not contain control characters ({c:?})")));
        }
        let value = self.parse_kind(raw.trim())?;
        if let Some(rule) = self.rule {
            rule(&value).map_err(|reason| DomainError::invalid_setting(what, reason))?;
        }
        (self.typed)(self, &value)?;
        Ok(value)
    }

    fn parse_kind(&self, value: &str) -> Result<String, DomainError> {
        let what = self.key;
        match self.kind {
            SettingKind::MultilineText | SettingKind::Text | SettingKind::Path | SettingKind::Secret => {
                Ok(value.to_owned())
            }
            SettingKind::Name => {
                if value.is_empty() {
                    return Err(DomainError::invalid_setting(what, format!("the {what} cannot be empty")));
                }
                if value.contains(':') {
                    return Err(DomainError::invalid_setting(
                        what,
                        format!("authenticator apps do not allow ':' or line breaks in the {what}"),
                    ));
                }
                Ok(value.to_owned())
            }
            SettingKind::Int { min, max } => match value.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
                _ => Err(DomainError::invalid_setting(what, format!("expected a whole number from {min} to {max}"))),
            },
            SettingKind::Choice(words) => words
                .iter()
                .find(|w| w.eq_ignore_ascii_case(value))
                .map(|w| (*w).to_owned())
                .ok_or_else(|| DomainError::invalid_setting(what, format!("use one of: {}", words.join(", ")))),
            SettingKind::Bool => value.parse::<Switch>().map(|s| s.0.to_string()),
            SettingKind::Email => {
                if value.is_empty() {
                    return Ok(String::new());
                }
                value.parse::<EmailAddress>().map(|e| e.to_string())
            }
            SettingKind::Url => {
                if value.is_empty() {
                    return Ok(String::new());
                }
                let Some(rest) = value.strip_prefix("http://").or_else(|| value.strip_prefix("https://")) else {
                    return Err(DomainError::invalid_setting(what, "expected a URL starting with http:// or https://"));
                };
                let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
                let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
                if host.is_empty() || host.starts_with(':') {
                    return Err(DomainError::invalid_setting(what, "the URL has no host name"));
                }
                if value.contains(char::is_whitespace) {
                    return Err(DomainError::invalid_setting(what, "a URL may not contain spaces (write them as %20)"));
                }
                Ok(value.to_owned())
            }
        }
    }
}

/// The message templates must carry the code: a message without it would be sent, and the login
/// could never finish.
fn carries_the_code(value: &str) -> Result<(), String> {
    if value.contains("{code}") { Ok(()) } else { Err("the template must contain {code}".to_owned()) }
}

/// A host name or address, without a scheme, a path or spaces.
fn host_name(value: &str) -> Result<(), String> {
    if value.contains(['/', ' ', '\t']) || value.contains("://") {
        return Err("give only the host name or address, as in mail.example.org".to_owned());
    }
    Ok(())
}

/// An HTTP header name (RFC 9110 token characters).
fn header_name(value: &str) -> Result<(), String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if value.chars().all(token) { Ok(()) } else { Err("a header name has only letters, digits and -".to_owned()) }
}

/// A value a typed setting field holds, made from its normalised text (what
/// [`SettingDef::parse`] returns; a secret as it is).
pub trait SettingValue: Sized {
    /// The value of `text`, a normalised text of `def`.
    fn from_text(def: &SettingDef, text: &str) -> Result<Self, DomainError>;
}

impl SettingValue for String {
    fn from_text(_def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        Ok(text.to_owned())
    }
}

impl SettingValue for Zeroizing<String> {
    fn from_text(_def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        Ok(Zeroizing::new(text.to_owned()))
    }
}

impl SettingValue for i64 {
    fn from_text(def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        text.parse().map_err(|_| DomainError::invalid_setting(def.key, "expected a whole number"))
    }
}

impl SettingValue for Vec<IpNetwork> {
    fn from_text(def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        parse_networks(text).map_err(|e| DomainError::invalid_setting(def.key, e.to_string()))
    }
}

impl SettingValue for bool {
    fn from_text(def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        text.parse::<Switch>().map(|s| s.0).map_err(|_| DomainError::invalid_setting(def.key, "use true or false"))
    }
}

impl SettingValue for SocketAddr {
    fn from_text(def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        text.parse()
            .map_err(|_| DomainError::invalid_setting(def.key, "write it as address:port, as in 127.0.0.1:8750"))
    }
}

/// A setting's optional rule as the table's field.
macro_rules! rule {
    () => {
        None
    };
    ($rule:expr) => {
        Some($rule)
    };
}

/// Declares every setting once: the [`SETTINGS`] table and the typed [`Settings`] built from it.
macro_rules! settings {
    ($(
        $field:ident: $ty:ty = $key:literal {
            default: $default:expr,
            kind: $kind:expr,
            group: $group:ident,
            label: $label:literal,
            help: $help:literal,
            $(rule: $rule:expr,)?
        }
    )*) => {
        /// Every setting, in the order `settings show` prints them.
        pub const SETTINGS: &[SettingDef] = &[$(
            SettingDef {
                key: $key,
                default: $default,
                kind: $kind,
                group: SettingGroup::$group,
                label: $label,
                help: $help,
                rule: rule!($($rule)?),
                typed: |def, text| <$ty as SettingValue>::from_text(def, text).map(drop),
            },
        )*];

        /// Every setting's value, typed (secrets unsealed). Built once from the store and shared;
        /// the engine and the senders read their values from here.
        #[derive(Clone)]
        pub struct Settings {
            $(
                #[doc = $help]
                pub $field: $ty,
            )*
        }

        impl Settings {
            /// The settings from their stored texts; `stored(key)` is `None` for a key never set.
            pub fn from_stored(
                mut stored: impl FnMut(&'static SettingDef) -> Option<Zeroizing<String>>,
            ) -> Result<Self, DomainError> {
                Ok(Self {
                    $(
                        $field: {
                            let def = setting($key)?;
                            let text = stored(def).unwrap_or_else(|| Zeroizing::new(def.default.to_owned()));
                            // A stored value is checked again: a newer mailmfa may allow less.
                            let text = if def.is_secret() { text } else { Zeroizing::new(def.parse(&text)?) };
                            <$ty as SettingValue>::from_text(def, &text)?
                        },
                    )*
                })
            }
        }
    };
}

mod table;

impl Settings {
    /// Every setting at its default.
    pub fn defaults() -> Self {
        // Every default is checked to parse by the tests, so this cannot fail in a build that
        // passed them; fall back to field-by-field defaults would hide a broken table.
        match Self::from_stored(|_| None) {
            Ok(settings) => settings,
            Err(e) => unreachable!("a setting's default does not parse: {e}"),
        }
    }

    /// How failed codes lock a mailbox.
    pub fn lockout(&self) -> super::Lockout {
        super::Lockout { threshold: self.lockout_threshold, first_lock_seconds: self.lockout_seconds }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// Looks a key up, or says which keys exist.
pub fn setting(key: &str) -> Result<&'static SettingDef, DomainError> {
    SETTINGS.iter().find(|d| d.key == key.trim()).ok_or_else(|| {
        DomainError::invalid(
            "setting",
            key,
            format!("unknown key; known keys: {}", SETTINGS.iter().map(|d| d.key).collect::<Vec<_>>().join(", ")),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_makes_the_typed_settings() {
        let settings = Settings::defaults();
        assert_eq!(settings.issuer, "mailmfa");
        assert_eq!(settings.lockout_threshold, 5);
        assert!(!settings.smtp_accept_invalid_certs);
        assert!(settings.smtp_password.is_empty());
    }

    #[test]
    fn stored_values_replace_defaults() {
        let settings = Settings::from_stored(|def| match def.key {
            "lockout.threshold" => Some(Zeroizing::new("9".to_owned())),
            "smtp.accept_invalid_certs" => Some(Zeroizing::new("true".to_owned())),
            _ => None,
        })
        .unwrap();
        assert_eq!(settings.lockout_threshold, 9);
        assert!(settings.smtp_accept_invalid_certs);
        let bad = Settings::from_stored(|def| (def.key == "lockout.threshold").then(|| Zeroizing::new("0".to_owned())));
        assert!(bad.unwrap_err().to_string().contains("lockout.threshold"));
    }
}
