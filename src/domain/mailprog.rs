//! Mail programs (Outlook, Thunderbird, a phone's mail app): which of them may sign in with the
//! mailbox password over IMAP, POP3 and SMTP, and the app passwords that stand in for it — made by
//! mailmfa, shown once, limited to protocols, optionally expiring.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::policy::{pass_letters_from_random, pass_letters_of};
use super::words::{Word, parse_word, words};
use super::{DomainError, IpNetwork};
use crate::clock::UnixTime;

words! {
    /// Whether mail programs may sign in with the mailbox password.
    pub enum MailProgramPolicy ("mail-program policy") {
        /// The mailbox password works in mail programs (what a mail server does without mailmfa).
        Password = "password",
        /// Mail programs must use an app password; the mailbox password is refused there.
        AppPasswords = "app-passwords",
        /// As `app-passwords` once the mailbox has its second factor set up; as `password` before.
        Enrolled = "enrolled",
    }
}

impl MailProgramPolicy {
    /// The name the console shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Password => "Mailbox password",
            Self::AppPasswords => "App passwords only",
            Self::Enrolled => "App passwords once enrolled",
        }
    }

    /// Whether a mail program needs an app password, for a mailbox whose second factor is set up
    /// (`enrolled`) or not.
    pub fn requires_app_password(self, enrolled: bool) -> bool {
        match self {
            Self::Password => false,
            Self::AppPasswords => true,
            Self::Enrolled => enrolled,
        }
    }
}

/// A post office's or a mailbox's own mail-program policy: the one above it (the platform's for a
/// post office, the post office's for a mailbox), or a policy of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MailPrograms {
    /// The policy of the level above.
    #[default]
    Inherit,
    /// A policy of its own.
    Policy(MailProgramPolicy),
}

impl MailPrograms {
    /// Every choice: inherit, then each policy.
    pub const ALL: [Self; MailProgramPolicy::ALL.len() + 1] = {
        let mut all = [Self::Inherit; MailProgramPolicy::ALL.len() + 1];
        let mut i = 0;
        while i < MailProgramPolicy::ALL.len() {
            all[i + 1] = Self::Policy(MailProgramPolicy::ALL[i]);
            i += 1;
        }
        all
    };

    /// The word (`inherit` or the policy's).
    pub fn word(self) -> &'static str {
        match self {
            Self::Inherit => "inherit",
            Self::Policy(policy) => policy.word(),
        }
    }

    /// The policy in force, given the one above.
    pub fn effective(self, above: MailProgramPolicy) -> MailProgramPolicy {
        match self {
            Self::Inherit => above,
            Self::Policy(policy) => policy,
        }
    }

    /// The stored form: `None` for inherit.
    pub fn stored(self) -> Option<&'static str> {
        match self {
            Self::Inherit => None,
            Self::Policy(policy) => Some(policy.word()),
        }
    }
}

impl Word for MailPrograms {
    const WHAT: &'static str = "mail-program policy";
    const VALUES: &'static [Self] = &Self::ALL;

    fn word(self) -> &'static str {
        MailPrograms::word(self)
    }
}

impl FromStr for MailPrograms {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        parse_word(raw)
    }
}

impl fmt::Display for MailPrograms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

impl Serialize for MailPrograms {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.word())
    }
}

words! {
    /// What a mail program signs in for.
    #[derive(PartialOrd, Ord)]
    pub enum MailProtocol ("protocol") {
        /// Reading mail with IMAP.
        Imap = "imap",
        /// Fetching mail with POP3.
        Pop3 = "pop3",
        /// Sending mail with SMTP AUTH (submission).
        Smtp = "smtp",
        /// Managing filters with ManageSieve.
        Sieve = "sieve",
    }
}

/// The protocols an app password is good for: a set, listed in [`MailProtocol::ALL`]'s order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Protocols(Vec<MailProtocol>);

impl Protocols {
    /// Every protocol.
    pub fn all() -> Self {
        Self(MailProtocol::ALL.to_vec())
    }

    /// The set of `protocols`; `None` for none at all.
    pub fn of(protocols: impl IntoIterator<Item = MailProtocol>) -> Option<Self> {
        let mut protocols: Vec<MailProtocol> = protocols.into_iter().collect();
        protocols.sort();
        protocols.dedup();
        (!protocols.is_empty()).then_some(Self(protocols))
    }

    /// Whether it includes `protocol`.
    pub fn allows(&self, protocol: MailProtocol) -> bool {
        self.0.contains(&protocol)
    }

    /// The protocols, in order.
    pub fn list(&self) -> &[MailProtocol] {
        &self.0
    }
}

impl FromStr for Protocols {
    type Err = DomainError;

    /// Protocols separated by commas (`imap,smtp`), each once; at least one.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let protocols: Vec<MailProtocol> =
            raw.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::parse).collect::<Result<_, _>>()?;
        Self::of(protocols).ok_or(DomainError::Empty("list of protocols"))
    }
}

impl fmt::Display for Protocols {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.iter().map(|p| p.word()).collect::<Vec<_>>().join(","))
    }
}

impl Serialize for Protocols {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// How many letters an app password has (100 random bits).
pub const APP_PASSWORD_LETTERS: usize = 20;

/// An app password: twenty letters of the recovery codes' alphabet, shown as
/// `xxxxx-xxxxx-xxxxx-xxxxx`; typed with or without the dashes and spaces, in either case.
#[derive(Clone, PartialEq, Eq)]
pub struct AppPasswordSecret(String);

impl AppPasswordSecret {
    /// The password made from random bytes (a letter from each byte's low five bits).
    pub fn from_random(bytes: &[u8; APP_PASSWORD_LETTERS]) -> Self {
        Self(pass_letters_from_random(bytes))
    }

    /// The twenty letters, lower case, without dashes: what its hash is made of.
    pub fn letters(&self) -> &str {
        &self.0
    }

    /// As people read it: four groups of five.
    pub fn shown(&self) -> String {
        let groups: Vec<&str> = (0..4).map(|i| &self.0[i * 5..i * 5 + 5]).collect();
        groups.join("-")
    }
}

impl FromStr for AppPasswordSecret {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        // Never echoed: it may be a real password with a typo.
        pass_letters_of(raw, APP_PASSWORD_LETTERS).map(Self).ok_or_else(|| {
            DomainError::invalid("app password", "…", "expected twenty letters as xxxxx-xxxxx-xxxxx-xxxxx")
        })
    }
}

impl fmt::Debug for AppPasswordSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppPasswordSecret(*****-*****-*****-*****)")
    }
}

/// How many days an app password works once made: 1 to 3650 (ten years).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppPasswordDays(i64);

impl AppPasswordDays {
    /// The days, in seconds.
    pub fn seconds(self) -> i64 {
        self.0 * 86_400
    }
}

impl FromStr for AppPasswordDays {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.trim()
            .parse::<i64>()
            .ok()
            .filter(|days| (1..=3650).contains(days))
            .map(Self)
            .ok_or_else(|| DomainError::invalid("app password lifetime", raw, "give 1 to 3650 days"))
    }
}

/// The name of an app password, as its user calls the mail program: 1–64 characters on one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AppPasswordName(String);

impl AppPasswordName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AppPasswordName {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(DomainError::Empty("app password's name"));
        }
        if name.chars().count() > 64 {
            return Err(DomainError::TooLong { what: "app password's name", max: 64 });
        }
        if name.chars().any(char::is_control) {
            return Err(DomainError::invalid("app password's name", raw, "it must be one line of text"));
        }
        Ok(Self(name.to_owned()))
    }
}

impl fmt::Display for AppPasswordName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When an app password was last used, from where and for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastUse {
    /// When.
    #[serde(serialize_with = "crate::clock::serialize_utc_time")]
    pub at: UnixTime,
    /// The mail program's address.
    pub ip: String,
    /// The protocol.
    pub protocol: MailProtocol,
}

/// An app password as its mailbox's user and administrators see it (never the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppPassword {
    /// Its name.
    pub name: AppPasswordName,
    /// What it is good for.
    pub protocols: Protocols,
    /// When it was made.
    #[serde(serialize_with = "crate::clock::serialize_utc_time")]
    pub created_at: UnixTime,
    /// When it stops working, if ever.
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub expires_at: Option<UnixTime>,
    /// Its last use, if it was used.
    pub last_used: Option<LastUse>,
}

impl AppPassword {
    /// Whether it has stopped working at `now`.
    pub fn expired(&self, now: UnixTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

words! {
    /// Why a mail program's sign-in is refused.
    pub enum MailAuthRefusal ("refusal") {
        /// The mailbox password may not be used by mail programs here: an app password is needed.
        AppPasswordRequired = "app_password_required",
        /// The app password is not for this protocol.
        ProtocolNotAllowed = "protocol_not_allowed",
        /// The app password has expired.
        Expired = "expired",
        /// Too many failed sign-ins from this address: wait a minute.
        Throttled = "throttled",
    }
}

/// A mail program's failed sign-in as the audit log counts it: a refusal, or an app password that
/// matched none of the mailbox's (answered `password`: it might be the mailbox password, which the
/// mail server checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailAuthFailure {
    /// Refused.
    Refused(MailAuthRefusal),
    /// Shaped like an app password, but none of the mailbox's.
    WrongAppPassword,
}

impl MailAuthFailure {
    /// The word the audit log shows.
    pub fn word(self) -> &'static str {
        match self {
            Self::Refused(refusal) => refusal.word(),
            Self::WrongAppPassword => "wrong_app_password",
        }
    }
}

/// What `POST /v1/mail/auth` answers a mail server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum MailAuthAnswer {
    /// A valid app password for this protocol: sign the mail program in.
    Accept {
        /// The app password's name.
        app_password: AppPasswordName,
    },
    /// Not an app password, and the mailbox password may be used here: the mail server checks it
    /// itself. Also the answer for a mailbox mailmfa does not know.
    Password,
    /// Refuse.
    Reject {
        /// Why.
        reason: MailAuthRefusal,
    },
}

impl MailAuthAnswer {
    /// The answer in a word: `accept`, `password` or `reject`.
    pub fn result(&self) -> &'static str {
        match self {
            Self::Accept { .. } => "accept",
            Self::Password => "password",
            Self::Reject { .. } => "reject",
        }
    }
}

/// Whether the connection comes from the webmail's own networks, which always sign in to IMAP with
/// the mailbox password. Decided on the connecting address (Dovecot's `real_rip`), never on an
/// address a client claims.
pub fn from_webmail(networks: &[IpNetwork], connecting: std::net::IpAddr) -> bool {
    let connecting = connecting.to_canonical();
    networks.iter().any(|net| net.contains(connecting))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_password_reads_back_however_it_is_typed() {
        let secret = AppPasswordSecret::from_random(&[7; APP_PASSWORD_LETTERS]);
        let shown = secret.shown();
        assert_eq!(shown.len(), 23);
        for typed in [shown.clone(), shown.replace('-', ""), shown.to_uppercase(), shown.replace('-', " ")] {
            assert_eq!(typed.parse::<AppPasswordSecret>().unwrap(), secret, "{typed}");
        }
        assert!("abcde-fghjk".parse::<AppPasswordSecret>().is_err(), "a recovery code is not an app password");
        assert!(!format!("{secret:?}").contains(secret.letters()));
    }

    #[test]
    fn protocols_are_a_set() {
        let protocols: Protocols = "smtp, imap,imap".parse().unwrap();
        assert_eq!(protocols.to_string(), "imap,smtp");
        assert!(protocols.allows(MailProtocol::Imap) && !protocols.allows(MailProtocol::Pop3));
        assert!("".parse::<Protocols>().is_err());
        assert!("imap,fax".parse::<Protocols>().is_err());
    }

    #[test]
    fn the_policy_says_when_an_app_password_is_needed() {
        assert!(!MailProgramPolicy::Password.requires_app_password(true));
        assert!(MailProgramPolicy::AppPasswords.requires_app_password(false));
        assert!(!MailProgramPolicy::Enrolled.requires_app_password(false));
        assert!(MailProgramPolicy::Enrolled.requires_app_password(true));
        assert_eq!(MailPrograms::Inherit.effective(MailProgramPolicy::Enrolled), MailProgramPolicy::Enrolled);
        assert_eq!("INHERIT".parse::<MailPrograms>().unwrap(), MailPrograms::Inherit);
    }
}
