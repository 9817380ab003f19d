//! The platform settings: every key `mailmfa settings` knows, its default, what values it takes, and
//! whether it is a secret (sealed at rest, printed as `***`).

use super::DomainError;

/// What values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    /// Free text on one line (may be empty).
    Text,
    /// Free text that may span lines (an e-mail body template).
    MultilineText,
    /// A whole number in the range.
    Int { min: i64, max: i64 },
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

/// One setting: its key, default, kind and a one-line description.
#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    /// The key as typed (`lockout.threshold`).
    pub key: &'static str,
    /// The value when the administrator never set it.
    pub default: &'static str,
    /// What values it takes.
    pub kind: SettingKind,
    /// What it means, as the console and `settings show` describe it.
    pub description: &'static str,
}

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
        let value = raw.trim();
        match self.kind {
            SettingKind::MultilineText => Ok(value.to_owned()),
            SettingKind::Text => {
                if self.key == "issuer" {
                    if value.is_empty() {
                        return Err(DomainError::invalid_setting(what, "the issuer cannot be empty"));
                    }
                    if value.contains(':') {
                        return Err(DomainError::invalid_setting(
                            what,
                            "authenticator apps do not allow ':' or line breaks in the issuer",
                        ));
                    }
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
            SettingKind::Bool => value.parse::<super::Switch>().map(|s| s.0.to_string()),
            SettingKind::Email => {
                if value.is_empty() {
                    return Ok(String::new());
                }
                value.parse::<super::EmailAddress>().map(|e| e.to_string())
            }
            SettingKind::Url => {
                if value.is_empty() || value.starts_with("http://") || value.starts_with("https://") {
                    Ok(value.to_owned())
                } else {
                    Err(DomainError::invalid_setting(what, "expected a URL starting with http:// or https://"))
                }
            }
            SettingKind::Path | SettingKind::Secret => Ok(value.to_owned()),
        }
    }
}

/// Every setting, in the order `settings show` prints them.
pub const SETTINGS: &[SettingDef] = &[
    SettingDef {
        key: "issuer",
        default: "mailmfa",
        kind: SettingKind::Text,
        description: "name shown in authenticator apps",
    },
    SettingDef {
        key: "lockout.threshold",
        default: "5",
        kind: SettingKind::Int { min: 1, max: 100 },
        description: "consecutive failures before a mailbox locks",
    },
    SettingDef {
        key: "lockout.seconds",
        default: "60",
        kind: SettingKind::Int { min: 1, max: 3600 },
        description: "first lock length; each further lock doubles it, up to one hour",
    },
    SettingDef {
        key: "code.lifetime_seconds",
        default: "600",
        kind: SettingKind::Int { min: 30, max: 600 },
        description: "how long an SMS or e-mailed code stays valid",
    },
    SettingDef {
        key: "code.sends_per_hour",
        default: "6",
        kind: SettingKind::Int { min: 1, max: 60 },
        description: "codes one mailbox may be sent per hour",
    },
    SettingDef {
        key: "geoip.path",
        default: "",
        kind: SettingKind::Path,
        description: "country database (MaxMind format); empty = the bundled one",
    },
    SettingDef { key: "smtp.host", default: "", kind: SettingKind::Text, description: "SMTP relay host" },
    SettingDef {
        key: "smtp.port",
        default: "587",
        kind: SettingKind::Int { min: 1, max: 65535 },
        description: "SMTP relay port",
    },
    SettingDef {
        key: "smtp.security",
        default: "starttls",
        kind: SettingKind::Choice(&["none", "starttls", "tls"]),
        description: "none, starttls or tls (implicit TLS)",
    },
    SettingDef {
        key: "smtp.username",
        default: "",
        kind: SettingKind::Text,
        description: "SMTP user name (empty = no authentication)",
    },
    SettingDef { key: "smtp.password", default: "", kind: SettingKind::Secret, description: "SMTP password" },
    SettingDef {
        key: "smtp.from",
        default: "",
        kind: SettingKind::Email,
        description: "sender address of code e-mails",
    },
    SettingDef {
        key: "smtp.subject",
        default: "Your {issuer} sign-in code",
        kind: SettingKind::Text,
        description: "subject template ({code}, {mailbox}, {minutes}, {issuer})",
    },
    SettingDef {
        key: "smtp.body",
        default: "Your sign-in code for {mailbox} is {code}. It is valid for {minutes} minutes. If you did not try to sign in, change your password.",
        kind: SettingKind::MultilineText,
        description: "body template ({code}, {mailbox}, {minutes}, {issuer})",
    },
    SettingDef {
        key: "smtp.accept_invalid_certs",
        default: "false",
        kind: SettingKind::Bool,
        description: "accept a self-signed relay certificate",
    },
    SettingDef {
        key: "smtp.timeout_seconds",
        default: "20",
        kind: SettingKind::Int { min: 1, max: 120 },
        description: "SMTP connection timeout",
    },
    SettingDef {
        key: "sms.preset",
        default: "webhook",
        kind: SettingKind::Choice(&["twilio", "vonage", "clickatell", "webhook", "custom"]),
        description: "SMS gateway: twilio, vonage, clickatell, webhook (JSON POST) or custom (the sms.custom.* keys)",
    },
    SettingDef {
        key: "sms.url",
        default: "",
        kind: SettingKind::Url,
        description: "gateway URL (required for webhook; overrides a preset's URL)",
    },
    SettingDef {
        key: "sms.username",
        default: "",
        kind: SettingKind::Text,
        description: "gateway account (Twilio account SID, Vonage API key)",
    },
    SettingDef {
        key: "sms.password",
        default: "",
        kind: SettingKind::Secret,
        description: "gateway secret (auth token, API secret, API key, bearer token)",
    },
    SettingDef { key: "sms.sender", default: "", kind: SettingKind::Text, description: "sender number or name" },
    SettingDef {
        key: "sms.message",
        default: "{code} is your {issuer} sign-in code for {mailbox}. Valid {minutes} min.",
        kind: SettingKind::Text,
        description: "SMS text template ({code}, {mailbox}, {minutes}, {issuer})",
    },
    SettingDef {
        key: "sms.custom.method",
        default: "POST",
        kind: SettingKind::Choice(&["GET", "POST"]),
        description: "custom gateway: HTTP method",
    },
    SettingDef {
        key: "sms.custom.auth",
        default: "none",
        kind: SettingKind::Choice(&["none", "basic", "bearer", "header"]),
        description: "custom gateway: none, basic (sms.username and sms.password), bearer (sms.password) or header",
    },
    SettingDef {
        key: "sms.custom.auth_header",
        default: "",
        kind: SettingKind::Text,
        description: "custom gateway: header name for auth=header (its value is sms.password)",
    },
    SettingDef {
        key: "sms.custom.body",
        default: "json",
        kind: SettingKind::Choice(&["none", "form", "json"]),
        description: "custom gateway: request body type",
    },
    SettingDef {
        key: "sms.custom.body_template",
        default: r#"{"to": "{to}", "message": "{message}"}"#,
        kind: SettingKind::Text,
        description: "custom gateway: a JSON object, or form fields as name={placeholder}&… ({to}, {to_digits}, {message}, {sender}, {username}, {password})",
    },
    SettingDef {
        key: "sms.custom.success_status",
        default: "",
        kind: SettingKind::Text,
        description: "custom gateway: accepted HTTP statuses, comma-separated (empty = any 2xx)",
    },
    SettingDef {
        key: "sms.custom.success_json_field",
        default: "",
        kind: SettingKind::Text,
        description: "custom gateway: a JSON field that must hold a value, as path=value (e.g. messages.0.status=0)",
    },
    SettingDef {
        key: "sms.custom.success_body_contains",
        default: "",
        kind: SettingKind::Text,
        description: "custom gateway: text the answer must contain",
    },
    SettingDef {
        key: "sms.timeout_seconds",
        default: "15",
        kind: SettingKind::Int { min: 1, max: 120 },
        description: "gateway request timeout",
    },
];

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
