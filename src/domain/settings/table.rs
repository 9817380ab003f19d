//! Every setting, once: its key, typed field, default, kind, group, console label and help. The
//! [`SETTINGS`](super::SETTINGS) table and the typed [`Settings`](super::Settings) are made from
//! this one list (see the `settings!` macro).

use std::net::SocketAddr;

use zeroize::Zeroizing;

use super::values::{
    BodyTemplate, HttpMethod, HttpStatuses, JsonExpectation, SmsAuthKind, SmsBodyKind, SmsPreset, SmtpSecurity,
};
use super::{SettingDef, SettingGroup, SettingKind, SettingValue, carries_the_code, header_name, host_name, setting};
use crate::domain::{DomainError, IpNetwork, MailProgramPolicy};

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
    passkey_require_uv: bool = "passkey.require_uv" {
        default: "false",
        kind: SettingKind::Bool,
        group: Security,
        label: "Passkeys must verify the user",
        help: "a passkey or security key is accepted only when it verified its user (PIN, fingerprint, face), not on a touch alone",
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
    smtp_security: SmtpSecurity = "smtp.security" {
        default: "starttls",
        kind: SettingKind::Choice(&SmtpSecurity::WORDS),
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
    sms_preset: SmsPreset = "sms.preset" {
        default: "webhook",
        kind: SettingKind::Choice(&SmsPreset::WORDS),
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
    sms_custom_method: HttpMethod = "sms.custom.method" {
        default: "POST",
        kind: SettingKind::Choice(&HttpMethod::WORDS),
        group: SmsCustom,
        label: "HTTP method",
        help: "custom gateway: HTTP method",
    }
    sms_custom_auth: SmsAuthKind = "sms.custom.auth" {
        default: "none",
        kind: SettingKind::Choice(&SmsAuthKind::WORDS),
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
    sms_custom_body: SmsBodyKind = "sms.custom.body" {
        default: "json",
        kind: SettingKind::Choice(&SmsBodyKind::WORDS),
        group: SmsCustom,
        label: "Body type",
        help: "custom gateway: request body type",
    }
    sms_custom_body_template: BodyTemplate = "sms.custom.body_template" {
        default: r#"{"to": "{to}", "message": "{message}"}"#,
        kind: SettingKind::Text,
        group: SmsCustom,
        label: "Body template",
        help: "custom gateway: a JSON object, or form fields as name={placeholder}&… ({to}, {to_digits}, {message}, {sender}, {username}, {password})",
    }
    sms_custom_success_status: HttpStatuses = "sms.custom.success_status" {
        default: "",
        kind: SettingKind::Text,
        group: SmsCustom,
        label: "Accepted statuses",
        help: "custom gateway: accepted HTTP statuses, comma-separated (empty = any 2xx)",
    }
    sms_custom_success_json_field: Option<JsonExpectation> = "sms.custom.success_json_field" {
        default: "",
        kind: SettingKind::Text,
        group: SmsCustom,
        label: "JSON field",
        help: "custom gateway: a JSON field that must hold a value, as path=value (e.g. messages.0.status=0)",
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
    serve_admin: bool = "serve.admin" {
        default: "false",
        kind: SettingKind::Bool,
        group: LoginService,
        label: "Web administration",
        help: "serve the web administration under /admin/ (administrators are added with mailmfa admin add)",
    }
    admin_idle_minutes: i64 = "admin.idle_minutes" {
        default: "15",
        kind: SettingKind::Int { min: 1, max: 480 },
        group: LoginService,
        label: "Web administration idle time (minutes)",
        help: "a web administrator's session ends after this many minutes without a request (and after 8 hours in any case)",
    }
    serve_listen: SocketAddr = "serve.listen" {
        default: "127.0.0.1:8750",
        kind: SettingKind::Text,
        group: LoginService,
        label: "Listen on",
        help: "address:port of mailmfa serve; any address but a loopback one needs serve.tls_cert and serve.tls_key",
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
    }
    serve_client_rate: i64 = "serve.client_rate" {
        default: "100",
        kind: SettingKind::Int { min: 1, max: 1000000 },
        group: LoginService,
        label: "Failed requests per second per client",
        help: "failed requests (refused, or a wrong code or ticket) one API client may make per second, bursts of twice as many, before all its requests are turned away until the rate allows again; requests that go well are never held back, and a wrong key naming it costs it nothing",
    }
    serve_connections_per_address: i64 = "serve.connections_per_address" {
        default: "256",
        kind: SettingKind::Int { min: 1, max: 4096 },
        group: LoginService,
        label: "Connections per address",
        help: "connections one address may keep open at once (4096 in all); a reverse proxy of serve.trusted_proxies is held only by the total",
    }
    serve_ip_rate: i64 = "serve.ip_rate" {
        default: "1000",
        kind: SettingKind::Int { min: 1, max: 1000000 },
        group: LoginService,
        label: "Requests per second per address",
        help: "requests without a key one source address may make per second, and failed keys it may send (bursts of twice as many); neither touches a client's own rate",
    }
    mailprog_policy: MailProgramPolicy = "mailprog.policy" {
        default: "password",
        kind: SettingKind::Choice(&MailProgramPolicy::WORDS),
        group: MailPrograms,
        label: "Mail programs sign in with",
        help: "whether mail programs (IMAP, POP3, SMTP) may use the mailbox password: password = yes; app-passwords = only an app password; enrolled = only an app password once the mailbox has its second factor; a post office or mailbox may set its own",
    }
    mailprog_webmail_networks: Vec<IpNetwork> = "mailprog.webmail_networks" {
        default: "127.0.0.0/8,::1/128",
        kind: SettingKind::Text,
        group: MailPrograms,
        label: "Webmail networks",
        help: "networks (CIDR, comma-separated) the webmail connects to the mail server from: it signs in with the mailbox password, so connections from there always may; decided on the connecting address, never on one a client claims",
    }
    mailprog_max_app_passwords: i64 = "mailprog.max_app_passwords" {
        default: "20",
        kind: SettingKind::Int { min: 1, max: 100 },
        group: MailPrograms,
        label: "App passwords per mailbox",
        help: "how many app passwords one mailbox may have",
    }
    mailprog_ip_failures: i64 = "mailprog.ip_failures" {
        default: "30",
        kind: SettingKind::Int { min: 1, max: 100000 },
        group: MailPrograms,
        label: "Failed app passwords per minute per address",
        help: "wrong, expired or misused app passwords one address may send in a minute; after that its app passwords are refused as throttled until the minute is over (the mailbox's two-factor lock is never touched)",
    }
}
