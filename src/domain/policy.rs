//! Two-factor policy words: challenge modes, providers and their platform switches, enrolment state,
//! and the other small values administrators type (booleans, one-time codes, IP addresses).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Serialize;

use super::DomainError;
use super::words::{Word, parse_word, words};

words! {
    /// When a mailbox is asked for its second factor.
    pub enum ChallengeMode ("challenge mode") {
        /// No second challenge.
        Never = "never",
        /// A challenge on every login.
        Always = "always",
        /// A challenge when the login comes from an IP address not yet known for the mailbox.
        NewIp = "new-ip",
        /// A challenge when the login comes from a country not yet known for the mailbox.
        NewCountry = "new-country",
    }
}

impl ChallengeMode {
    /// The name the console shows (`Prompt by IP Address`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Never => "Never",
            Self::Always => "Prompt Always",
            Self::NewIp => "Prompt by IP Address",
            Self::NewCountry => "Prompt by Country",
        }
    }

    /// The name in a narrow column's header (`By IP`).
    pub fn short_label(self) -> &'static str {
        match self {
            Self::Never => "Never",
            Self::Always => "Always",
            Self::NewIp => "By IP",
            Self::NewCountry => "By country",
        }
    }

    /// The name a mail user reads on the webmail's settings page (`At every sign-in`).
    pub fn user_label(self) -> &'static str {
        match self {
            Self::Never => "Never",
            Self::Always => "At every sign-in",
            Self::NewIp => "When I sign in from a new IP address",
            Self::NewCountry => "When I sign in from a new country",
        }
    }
}

/// A mailbox's own challenge setting: its post office's default, or a mode of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailboxChallenge {
    /// Use the post office's default mode.
    Inherit,
    /// Override the post office with this mode.
    Mode(ChallengeMode),
}

impl MailboxChallenge {
    /// The command-line word (`inherit` or the mode's word).
    pub fn word(self) -> &'static str {
        match self {
            Self::Inherit => "inherit",
            Self::Mode(mode) => mode.word(),
        }
    }

    /// The name a mail user reads on the webmail's settings page.
    pub fn user_label(self) -> &'static str {
        match self {
            Self::Inherit => "As my organisation decides",
            Self::Mode(mode) => mode.user_label(),
        }
    }

    /// Every choice: inherit, then each mode.
    pub const ALL: [Self; ChallengeMode::ALL.len() + 1] = {
        let mut all = [Self::Inherit; ChallengeMode::ALL.len() + 1];
        let mut i = 0;
        while i < ChallengeMode::ALL.len() {
            all[i + 1] = Self::Mode(ChallengeMode::ALL[i]);
            i += 1;
        }
        all
    };

    /// The mode in force, given the post office's default.
    pub fn effective(self, postoffice_default: ChallengeMode) -> ChallengeMode {
        match self {
            Self::Inherit => postoffice_default,
            Self::Mode(mode) => mode,
        }
    }
}

impl Word for MailboxChallenge {
    const WHAT: &'static str = "challenge mode";
    const VALUES: &'static [Self] = &Self::ALL;

    fn word(self) -> &'static str {
        MailboxChallenge::word(self)
    }
}

impl FromStr for MailboxChallenge {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        parse_word(raw)
    }
}

impl fmt::Display for MailboxChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

impl Serialize for MailboxChallenge {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.word())
    }
}

words! {
    /// What delivers the second factor.
    #[derive(PartialOrd, Ord)]
    pub enum Provider ("provider") {
        /// An RFC 6238 authenticator app.
        Totp = "totp",
        /// A one-time code by SMS through the HTTP gateway.
        Sms = "sms",
        /// A one-time code e-mailed to an alternate address through the SMTP relay.
        Smtp = "smtp",
        /// A WebAuthn credential: a passkey (a phone, Windows Hello) or a security key.
        Passkey = "passkey",
    }
}

impl Provider {
    /// The name the console shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Totp => "TOTP client",
            Self::Sms => "SMS address",
            Self::Smtp => "SMTP address",
            Self::Passkey => "Passkey or security key",
        }
    }

    /// The name in a narrow column's header.
    pub fn short_label(self) -> &'static str {
        match self {
            Self::Totp => "TOTP",
            Self::Sms => "SMS",
            Self::Smtp => "E-mail",
            Self::Passkey => "Passkey",
        }
    }

    /// The name a mail user reads on the webmail's settings page.
    pub fn user_label(self) -> &'static str {
        match self {
            Self::Totp => "Authenticator app",
            Self::Sms => "Text message (SMS)",
            Self::Smtp => "E-mail to another address",
            Self::Passkey => "Passkey or security key",
        }
    }
}

/// The platform administrator's three switches for one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProviderSwitches {
    /// The provider exists at all; a disabled provider cannot be chosen anywhere.
    pub enabled: bool,
    /// Administrators may assign it to mailboxes.
    pub admin_configurable: bool,
    /// End users may choose it for themselves.
    pub user_configurable: bool,
}

impl ProviderSwitches {
    /// Whether `who` may choose this provider: it is enabled and its switch for `who` is on.
    pub fn allow(&self, who: Configurer) -> bool {
        self.enabled
            && match who {
                Configurer::Administrator => self.admin_configurable,
                Configurer::EndUser => self.user_configurable,
            }
    }
}

/// The providers `who` may choose, in the console's order.
pub fn offered_providers(switches: &[(Provider, ProviderSwitches)], who: Configurer) -> Vec<Provider> {
    switches.iter().filter(|(_, s)| s.allow(who)).map(|(p, _)| *p).collect()
}

/// Who is choosing: the platform has a switch for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Configurer {
    /// An administrator in the console or on the command line.
    Administrator,
    /// The mailbox's own user, through the webmail's options page.
    EndUser,
}

words! {
    /// Where a mailbox's TOTP secret stands.
    pub enum EnrolmentState ("enrolment state") {
        /// No secret: the next login that needs TOTP enrols.
        None = "none",
        /// A secret was shown as a QR code and waits for its first code.
        Pending = "pending",
        /// The secret verified once and is in use.
        Active = "active",
    }
}

/// A value to set, or an empty one to clear it (an SMS number, an alternate address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clearable<T>(pub Option<T>);

impl<T: FromStr<Err = DomainError>> FromStr for Clearable<T> {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        if raw.trim().is_empty() { Ok(Self(None)) } else { raw.parse().map(|value| Self(Some(value))) }
    }
}

/// A yes/no answer typed by an administrator: `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch(pub bool);

impl FromStr for Switch {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Self(true)),
            "false" | "no" | "off" | "0" => Ok(Self(false)),
            _ => Err(DomainError::invalid("yes/no value", raw, "use true or false")),
        }
    }
}

/// A six-digit code typed at login (TOTP or one-time code): exactly six ASCII digits, nothing else.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    /// The digits.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(******)")
    }
}

impl FromStr for Code {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        // The input is never echoed back: it may be a real code with a typo.
        if raw.is_empty() {
            return Err(DomainError::Empty("code"));
        }
        if raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::BadCode)
        }
    }
}

/// The letters of access passes and recovery codes: Crockford's base 32, which leaves out `i`,
/// `l`, `o` and `u` so nothing reads as something else.
const PASS_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Letters of [`PASS_ALPHABET`], one from each random byte's low five bits (five random bits a
/// letter).
pub(crate) fn pass_letters_from_random(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(PASS_ALPHABET[usize::from(b & 31)])).collect()
}

/// `raw` as the letters of a pass, if it is `len` of them: dashes and spaces dropped, any case,
/// `o`, `i` and `l` read as `0`, `1` and `1`.
pub(crate) fn pass_letters_of(raw: &str, len: usize) -> Option<String> {
    let letters: String = raw
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        })
        .collect();
    (letters.len() == len && letters.bytes().all(|b| PASS_ALPHABET.contains(&b))).then_some(letters)
}

/// How many letters a letter code has (50 random bits).
pub const PASS_LETTERS: usize = 10;

/// How many recovery codes a mailbox gets at a time.
pub const RECOVERY_CODES: usize = 10;

/// A code of ten letters of [`PASS_ALPHABET`], shown as `abcde-fghjk`: a temporary access pass an
/// administrator gives a user who lost their device, or one of the user's recovery codes. Typed
/// in any case, with or without the dash; `o`, `i` and `l` are read as `0`, `1` and `1`.
#[derive(Clone, PartialEq, Eq)]
pub struct LetterCode(String);

impl LetterCode {
    /// The code made from random bytes (one letter from each byte's low five bits).
    pub fn from_random(bytes: &[u8; PASS_LETTERS]) -> Self {
        Self(pass_letters_from_random(bytes))
    }

    /// The ten letters, lower case, without the dash: what its hash is made of.
    pub fn letters(&self) -> &str {
        &self.0
    }

    /// As people read it: `abcde-fghjk`.
    pub fn shown(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }

    /// Codes as people copy them: `per_row` to a line, three spaces apart.
    pub fn table(codes: &[Self], per_row: usize) -> String {
        let rows = codes.chunks(per_row.max(1)).map(|row| row.iter().map(Self::shown).collect::<Vec<_>>().join("   "));
        rows.collect::<Vec<_>>().join("\n")
    }
}

impl fmt::Debug for LetterCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LetterCode(*****-*****)")
    }
}

impl FromStr for LetterCode {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        pass_letters_of(raw, PASS_LETTERS).map(Self).ok_or(DomainError::BadCode)
    }
}

impl Serialize for LetterCode {
    /// As people read it: only answers that hand a code to its user serialize one.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.shown())
    }
}

/// What a user types where a code is asked for: the six-digit code, or ten letters (an access
/// pass or a recovery code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passcode {
    /// A TOTP or one-time code.
    Code(Code),
    /// A temporary access pass or a recovery code.
    Letters(LetterCode),
}

impl FromStr for Passcode {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.parse::<Code>() {
            Ok(code) => Ok(Self::Code(code)),
            Err(DomainError::Empty(what)) => Err(DomainError::Empty(what)),
            Err(_) => raw.parse::<LetterCode>().map(Self::Letters),
        }
    }
}

/// The IP address a login comes from, with IPv4-mapped IPv6 (`::ffff:192.0.2.1`) folded to IPv4 so
/// both spellings are one known address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoginIp(IpAddr);

impl LoginIp {
    /// The canonical address.
    pub fn addr(self) -> IpAddr {
        self.0
    }
}

impl From<IpAddr> for LoginIp {
    fn from(ip: IpAddr) -> Self {
        Self(ip.to_canonical())
    }
}

impl FromStr for LoginIp {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        if raw.len() > 64 {
            return Err(DomainError::TooLong { what: "IP address", max: 64 });
        }
        raw.trim()
            .parse::<IpAddr>()
            .map(Self::from)
            .map_err(|_| DomainError::invalid("IP address", raw, "expected an IPv4 or IPv6 address"))
    }
}

impl fmt::Display for LoginIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
