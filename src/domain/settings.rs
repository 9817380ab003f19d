//! The platform settings: one table of every key — its default, what values it takes, its group,
//! the console's label and help — and [`Settings`], every value typed, parsed once from the store.
//! Adding a setting is one entry in the `settings!` table below: the key, the typed field, the
//! console's form row and `settings show` all come from it.

use std::fmt;

use zeroize::Zeroizing;

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
    /// A file path, or empty for the built-in default.
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
        match self.rule {
            Some(rule) => rule(&value).map(|()| value).map_err(|reason| DomainError::invalid_setting(what, reason)),
            None => Ok(value),
        }
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

/// An address and port to listen on, as in `127.0.0.1:8750`.
fn listen_address(value: &str) -> Result<(), String> {
    value
        .parse::<std::net::SocketAddr>()
        .map(drop)
        .map_err(|_| "write it as address:port, as in 127.0.0.1:8750".to_owned())
}

/// Networks, comma-separated.
fn networks(value: &str) -> Result<(), String> {
    parse_networks(value).map(drop).map_err(|e| e.to_string())
}

/// HTTP statuses, comma-separated.
fn statuses(value: &str) -> Result<(), String> {
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<u16>() {
            Ok(status) if (100..=599).contains(&status) => {}
            _ => return Err(format!("{part:?} is not an HTTP status; list statuses such as 200,201")),
        }
    }
    Ok(())
}

/// `path=value`, as in `messages.0.status=0`.
fn json_rule(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    match value.split_once('=') {
        Some((path, _)) if !path.trim().is_empty() => Ok(()),
        _ => Err("write it as path=value, as in messages.0.status=0".to_owned()),
    }
}

/// An HTTP header name (RFC 9110 token characters).
fn header_name(value: &str) -> Result<(), String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if value.chars().all(token) { Ok(()) } else { Err("a header name has only letters, digits and -".to_owned()) }
}

/// A JSON object, or form fields as `name=value&…`.
fn body_template(value: &str) -> Result<(), String> {
    if value.trim_start().starts_with('{') {
        return match serde_json::from_str::<serde_json::Value>(value) {
            Ok(serde_json::Value::Object(_)) => Ok(()),
            _ => Err("the JSON body template is not a valid JSON object".to_owned()),
        };
    }
    let fields = value.split('&').filter(|p| !p.is_empty());
    if fields.clone().all(|pair| pair.split_once('=').is_some_and(|(name, _)| !name.trim().is_empty())) {
        Ok(())
    } else {
        Err("write a JSON object, or form fields as name=value&name=value".to_owned())
    }
}

/// A value a typed setting field holds, read from its stored (already validated) text.
pub trait SettingValue: Sized {
    /// The value of `text`, the stored text of `def`.
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
        def.parse(text)?.parse().map_err(|_| DomainError::invalid_setting(def.key, "expected a whole number"))
    }
}

impl SettingValue for Vec<IpNetwork> {
    fn from_text(def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        parse_networks(&def.parse(text)?)
    }
}

impl SettingValue for bool {
    fn from_text(def: &SettingDef, text: &str) -> Result<Self, DomainError> {
        Ok(def.parse(text)? == "true")
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
                            <$ty as SettingValue>::from_text(def, &text)?
                        },
                    )*
                })
            }
        }
    };
}

settings! {
    issuer: String = "issuer" {
        default: "mailmfa",
        kind: SettingKind::Name,
        group: General,
        label: "Issuer",
        help: "name shown in authenticator apps",
    }
    lockout_threshold: i64 = "lockout.threshold" {
        default: "5",
        kind: SettingKind::Int { min: 1, max: 100 },
        group: Security,
        label: "Failures before a lock",
        help: "consecutive failures before a mailbox locks",
    }
    lockout_seconds: i64 = "lockout.seconds" {
        default: "60",
        kind: SettingKind::Int { min: 1, max: 3600 },
        group: Security,
        label: "First lock length (seconds)",
        help: "first lock length; each further lock doubles it, up to one hour",
    }
    code_lifetime_seconds: i64 = "code.lifetime_seconds" {
        default: "600",
        kind: SettingKind::Int { min: 30, max: 600 },
        group: Security,
        label: "Code lifetime (seconds)",
        help: "how long an SMS or e-mailed code stays valid",
    }
    code_sends_per_hour: i64 = "code.sends_per_hour" {
        default: "6",
        kind: SettingKind::Int { min: 1, max: 60 },
        group: Security,
        label: "Codes sent per mailbox per hour",
        help: "codes one mailbox may be sent per hour",
    }
    enroll_pending_hours: i64 = "enroll.pending_hours" {
        default: "24",
        kind: SettingKind::Int { min: 1, max: 720 },
        group: Security,
        label: "Pending enrolment lifetime (hours)",
        help: "a QR code not confirmed with a first code within this time is discarded; the next login shows a new one",
    }
    trusted_networks: Vec<IpNetwork> = "trusted.networks" {
        default: "",
        kind: SettingKind::Text,
        group: Security,
        label: "Trusted networks",
        help: "networks (CIDR, comma-separated) whose logins count as known in Prompt by IP Address and Prompt by Country; Prompt Always still challenges",
        rule: networks,
    }
    remember_days: i64 = "remember.days" {
        default: "0",
        kind: SettingKind::Int { min: 0, max: 90 },
        group: Security,
        label: "Remember devices for (days)",
        help: "after an accepted code a user may tick \"remember this device\", and that device is not asked again for this many days; 0 = off",
    }
    remember_max_devices: i64 = "remember.max_devices" {
        default: "5",
        kind: SettingKind::Int { min: 1, max: 100 },
        group: Security,
        label: "Remembered devices per mailbox",
        help: "when a mailbox remembers one more device, the oldest is forgotten",
    }
    known_max_age_days: i64 = "known.max_age_days" {
        default: "90",
        kind: SettingKind::Int { min: 0, max: 3650 },
        group: Security,
        label: "Forget known places after (days)",
        help: "a known IP address or country not seen for this many days is forgotten, and its next login is challenged; 0 = never",
    }
    geoip_path: String = "geoip.path" {
        default: "",
        kind: SettingKind::Path,
        group: Geo,
        label: "GeoIP database file",
        help: "country database (MaxMind format); empty = the bundled one",
    }
    smtp_host: String = "smtp.host" {
        default: "",
        kind: SettingKind::Text,
        group: SmtpRelay,
        label: "Relay host",
        help: "SMTP relay host",
        rule: host_name,
    }
    smtp_port: i64 = "smtp.port" {
        default: "587",
        kind: SettingKind::Int { min: 1, max: 65535 },
        group: SmtpRelay,
        label: "Relay port",
        help: "SMTP relay port",
    }
    smtp_security: String = "smtp.security" {
        default: "starttls",
        kind: SettingKind::Choice(&["none", "starttls", "tls"]),
        group: SmtpRelay,
        label: "Connection security",
        help: "none, starttls or tls (implicit TLS)",
    }
    smtp_username: String = "smtp.username" {
        default: "",
        kind: SettingKind::Text,
        group: SmtpRelay,
        label: "Relay user name",
        help: "SMTP user name (empty = no authentication)",
    }
    smtp_password: Zeroizing<String> = "smtp.password" {
        default: "",
        kind: SettingKind::Secret,
        group: SmtpRelay,
        label: "Relay password",
        help: "SMTP password",
    }
    smtp_from: String = "smtp.from" {
        default: "",
        kind: SettingKind::Email,
        group: SmtpRelay,
        label: "Sender address",
        help: "sender address of code e-mails",
    }
    smtp_subject: String = "smtp.subject" {
        default: "Your {issuer} sign-in code",
        kind: SettingKind::Text,
        group: SmtpRelay,
        label: "E-mail subject",
        help: "subject template ({code}, {mailbox}, {minutes}, {issuer})",
    }
    smtp_body: String = "smtp.body" {
        default: "Your sign-in code for {mailbox} is {code}. It is valid for {minutes} minutes. If you did not try to sign in, change your password.",
        kind: SettingKind::MultilineText,
        group: SmtpRelay,
        label: "E-mail text",
        help: "body template ({code}, {mailbox}, {minutes}, {issuer})",
        rule: carries_the_code,
    }
    smtp_accept_invalid_certs: bool = "smtp.accept_invalid_certs" {
        default: "false",
        kind: SettingKind::Bool,
        group: SmtpRelay,
        label: "Accept a self-signed certificate",
        help: "accept a self-signed relay certificate",
    }
    smtp_timeout_seconds: i64 = "smtp.timeout_seconds" {
        default: "20",
        kind: SettingKind::Int { min: 1, max: 120 },
        group: SmtpRelay,
        label: "Relay timeout (seconds)",
        help: "SMTP connection timeout",
    }
    sms_preset: String = "sms.preset" {
        default: "webhook",
        kind: SettingKind::Choice(&["twilio", "vonage", "clickatell", "webhook", "custom"]),
        group: SmsGateway,
        label: "Gateway preset",
        help: "SMS gateway: twilio, vonage, clickatell, webhook (JSON POST) or custom (the sms.custom.* keys)",
    }
    sms_url: String = "sms.url" {
        default: "",
        kind: SettingKind::Url,
        group: SmsGateway,
        label: "Gateway URL",
        help: "gateway URL (required for webhook; overrides a preset's URL)",
    }
    sms_username: String = "sms.username" {
        default: "",
        kind: SettingKind::Text,
        group: SmsGateway,
        label: "Gateway account",
        help: "gateway account (Twilio account SID, Vonage API key)",
    }
    sms_password: Zeroizing<String> = "sms.password" {
        default: "",
        kind: SettingKind::Secret,
        group: SmsGateway,
        label: "Gateway secret",
        help: "gateway secret (auth token, API secret, API key, bearer token)",
    }
    sms_sender: String = "sms.sender" {
        default: "",
        kind: SettingKind::Text,
        group: SmsGateway,
        label: "Sender number or name",
        help: "sender number or name",
    }
    sms_message: String = "sms.message" {
        default: "{code} is your {issuer} sign-in code for {mailbox}. Valid {minutes} min.",
        kind: SettingKind::Text,
        group: SmsGateway,
        label: "SMS text",
        help: "SMS text template ({code}, {mailbox}, {minutes}, {issuer})",
        rule: carries_the_code,
    }
    sms_custom_method: String = "sms.custom.method" {
        default: "POST",
        kind: SettingKind::Choice(&["GET", "POST"]),
        group: SmsCustom,
        label: "HTTP method",
        help: "custom gateway: HTTP method",
    }
    sms_custom_auth: String = "sms.custom.auth" {
        default: "none",
        kind: SettingKind::Choice(&["none", "basic", "bearer", "header"]),
        group: SmsCustom,
        label: "Authentication",
        help: "custom gateway: none, basic (sms.username and sms.password), bearer (sms.password) or header",
    }
    sms_custom_auth_header: String = "sms.custom.auth_header" {
        default: "",
        kind: SettingKind::Text,
        group: SmsCustom,
        label: "Header name",
        help: "custom gateway: header name for auth=header (its value is sms.password)",
        rule: header_name,
    }
    sms_custom_body: String = "sms.custom.body" {
        default: "json",
        kind: SettingKind::Choice(&["none", "form", "json"]),
        group: SmsCustom,
        label: "Body type",
        help: "custom gateway: request body type",
    }
    sms_custom_body_template: String = "sms.custom.body_template" {
        default: r#"{"to": "{to}", "message": "{message}"}"#,
        kind: SettingKind::Text,
        group: SmsCustom,
        label: "Body template",
        help: "custom gateway: a JSON object, or form fields as name={placeholder}&… ({to}, {to_digits}, {message}, {sender}, {username}, {password})",
        rule: body_template,
    }
    sms_custom_success_status: String = "sms.custom.success_status" {
        default: "",
        kind: SettingKind::Text,
        group: SmsCustom,
        label: "Accepted statuses",
        help: "custom gateway: accepted HTTP statuses, comma-separated (empty = any 2xx)",
        rule: statuses,
    }
    sms_custom_success_json_field: String = "sms.custom.success_json_field" {
        default: "",
        kind: SettingKind::Text,
        group: SmsCustom,
        label: "JSON field",
        help: "custom gateway: a JSON field that must hold a value, as path=value (e.g. messages.0.status=0)",
        rule: json_rule,
    }
    sms_custom_success_body_contains: String = "sms.custom.success_body_contains" {
        default: "",
        kind: SettingKind::Text,
        group: SmsCustom,
        label: "Answer contains",
        help: "custom gateway: text the answer must contain",
    }
    sms_timeout_seconds: i64 = "sms.timeout_seconds" {
        default: "15",
        kind: SettingKind::Int { min: 1, max: 120 },
        group: SmsGateway,
        label: "Gateway timeout (seconds)",
        help: "gateway request timeout",
    }
    notify_enabled: bool = "notify.enabled" {
        default: "false",
        kind: SettingKind::Bool,
        group: Notifications,
        label: "E-mail users about their sign-in",
        help: "e-mail a mailbox (through the SMTP relay, in the background) when it signs in from a new country, its code is reset, it is locked, a recovery code is used or an access pass is issued",
    }
    notify_subject: String = "notify.subject" {
        default: "{issuer}: {event}",
        kind: SettingKind::Text,
        group: Notifications,
        label: "Subject",
        help: "subject template of every notification ({event}, {mailbox}, {issuer})",
    }
    notify_new_country: String = "notify.new_country" {
        default: "Someone signed in to {mailbox} from a country it had not signed in from before: {country} (IP address {ip}), at {time}. If this was not you, change your password now and tell your administrator.",
        kind: SettingKind::MultilineText,
        group: Notifications,
        label: "Sign-in from a new country",
        help: "text template ({mailbox}, {country}, {ip}, {time}, {issuer})",
    }
    notify_code_reset: String = "notify.code_reset" {
        default: "The two-step sign-in of {mailbox} was reset at {time}: the next sign-in sets up the authenticator app again. If you did not ask for this, tell your administrator.",
        kind: SettingKind::MultilineText,
        group: Notifications,
        label: "Two-step sign-in reset",
        help: "text template ({mailbox}, {time}, {issuer})",
    }
    notify_lockout: String = "notify.lockout" {
        default: "Signing in to {mailbox} was paused at {time} after too many wrong codes, the last from IP address {ip} ({country}). If this was not you, someone knows your password: change it now.",
        kind: SettingKind::MultilineText,
        group: Notifications,
        label: "Sign-in paused",
        help: "text template ({mailbox}, {ip}, {country}, {time}, {issuer})",
    }
    notify_recovery_code: String = "notify.recovery_code" {
        default: "A recovery code was used to sign in to {mailbox} from IP address {ip} ({country}) at {time}; {left} are left. If this was not you, change your password now and tell your administrator.",
        kind: SettingKind::MultilineText,
        group: Notifications,
        label: "Recovery code used",
        help: "text template ({mailbox}, {ip}, {country}, {left}, {time}, {issuer})",
    }
    notify_access_pass: String = "notify.access_pass" {
        default: "Your administrator issued a temporary access pass for {mailbox} at {time}; it works until {until}. If you did not ask for one, tell your administrator.",
        kind: SettingKind::MultilineText,
        group: Notifications,
        label: "Access pass issued",
        help: "text template ({mailbox}, {until}, {time}, {issuer})",
    }
    serve_listen: String = "serve.listen" {
        default: "127.0.0.1:8750",
        kind: SettingKind::Text,
        group: LoginService,
        label: "Listen on",
        help: "address:port of mailmfa serve; any address but a loopback one needs serve.tls_cert and serve.tls_key",
        rule: listen_address,
    }
    serve_public_url: String = "serve.public_url" {
        default: "",
        kind: SettingKind::Url,
        group: LoginService,
        label: "Public address",
        help: "the address browsers use for the hosted sign-in pages, as in https://mfa.example.com",
    }
    serve_tls_cert: String = "serve.tls_cert" {
        default: "",
        kind: SettingKind::Path,
        group: LoginService,
        label: "TLS certificate (PEM)",
        help: "certificate chain of the login service, PEM",
    }
    serve_tls_key: String = "serve.tls_key" {
        default: "",
        kind: SettingKind::Path,
        group: LoginService,
        label: "TLS private key (PEM)",
        help: "private key of the login service, PEM",
    }
    serve_trusted_proxies: Vec<IpNetwork> = "serve.trusted_proxies" {
        default: "",
        kind: SettingKind::Text,
        group: LoginService,
        label: "Trusted proxies",
        help: "networks (CIDR, comma-separated) of reverse proxies in front of mailmfa serve, whose X-Forwarded-For names the caller's address",
        rule: networks,
    }
    serve_client_rate: i64 = "serve.client_rate" {
        default: "500",
        kind: SettingKind::Int { min: 1, max: 1000000 },
        group: LoginService,
        label: "Requests per second per client",
        help: "requests one API client may make per second (bursts of twice as many)",
    }
    serve_ip_rate: i64 = "serve.ip_rate" {
        default: "1000",
        kind: SettingKind::Int { min: 1, max: 1000000 },
        group: LoginService,
        label: "Requests per second per address",
        help: "requests one source address may make per second (bursts of twice as many)",
    }
}

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
