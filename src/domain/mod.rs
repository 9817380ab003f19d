//! Plain types and rules of mailmfa: post offices, mailboxes, challenge modes, providers, settings,
//! the login gate's answers and the TOTP arithmetic. Raw input becomes these types once, through
//! `FromStr`; no SQL, no I/O, no clock here (time comes in as an argument).

mod admin;
mod audit;
mod login;
mod mailbox;
mod mailprog;
mod names;
mod network;
mod notice;
mod passkey;
mod policy;
mod report;
mod settings;
pub mod totp;

pub use totp::constant_time_eq;
mod words;

use std::fmt;

use serde::Serialize;
use thiserror::Error;

pub use admin::{
    ADMIN_PASSWORD_MAX, ADMIN_PASSWORD_MIN, AdminName, AdminPassword, AdminRole, Administrator, check_admin_scope,
};
pub use audit::{Actor, AuditEntry, AuditOutcome, AuditRecord};
pub use login::{BeginAnswer, Purpose, Reason, RejectReason, Verified, VerifyAnswer};
pub use mailbox::{
    Cell, KnownLocation, Lockout, MAILBOX_COLUMNS, MailProgramStanding, Mailbox, MailboxColumn, MailboxStatus,
    MailboxSummary, PostOffice, Reach, Vocabulary, by_name, known_since, remembered_since,
};
pub use mailprog::{
    APP_PASSWORD_LETTERS, AppPassword, AppPasswordDays, AppPasswordName, AppPasswordSecret, LastUse, MailAuthAnswer,
    MailAuthFailure, MailAuthRefusal, MailProgramPolicy, MailPrograms, MailProtocol, Protocols, from_webmail,
};
pub use names::{CountryCode, EmailAddress, MailboxAddress, MailboxName, PhoneNumber, PostOfficeName, natural_order};
pub use network::{IpNetwork, check_url_prefix, join_networks, parse_networks, parse_url_prefixes};
pub use notice::{Notice, NoticeEvent};
pub use passkey::{Passkey, PasskeyName, WebOrigin, parse_origins};
pub use policy::{
    ChallengeMode, Clearable, Code, Configurer, EnrolmentState, LetterCode, LoginIp, MailboxChallenge, PASS_LETTERS,
    Passcode, Provider, ProviderSwitches, RECOVERY_CODES, Switch, offered_providers,
};
pub use report::{CoverageCounts, CoverageGroup, CoverageReport, CoverageRow};
pub use settings::{
    BodyTemplate, HttpMethod, HttpStatuses, JsonExpectation, SETTINGS, SettingDef, SettingGroup, SettingKind,
    SettingValue, Settings, SmsAuthKind, SmsBodyKind, SmsPreset, SmtpSecurity, setting,
};
pub(crate) use words::words;
pub use words::{Word, parse_word};

/// The database id of a post office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PostOfficeId(pub i64);

/// The database id of a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MailboxId(pub i64);

impl fmt::Display for MailboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Input that does not make one of the domain's values. Every message is one line and names what was
/// wrong; the offending input is quoted shortened, and codes are never echoed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// Nothing was given where something is required.
    #[error("the {0} is empty")]
    Empty(&'static str),
    /// The input is longer than any valid value.
    #[error("the {what} is too long (at most {max} characters)")]
    TooLong {
        /// What was being parsed.
        what: &'static str,
        /// The longest valid length.
        max: usize,
    },
    /// The input is not a valid value.
    #[error("invalid {what} {input}: {reason}")]
    Invalid {
        /// What was being parsed.
        what: &'static str,
        /// The input, quoted and shortened.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A setting's value is not valid for it.
    #[error("invalid value for setting {key}: {reason}")]
    InvalidSetting {
        /// The setting key.
        key: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A code is not six digits (nor an access pass).
    #[error("the code must be exactly 6 digits (or a recovery code or access pass such as abcde-fghjk)")]
    BadCode,
}

impl DomainError {
    pub(crate) fn invalid(what: &'static str, input: &str, reason: impl Into<String>) -> Self {
        Self::Invalid { what, input: quote_short(input), reason: reason.into() }
    }

    pub(crate) fn invalid_setting(key: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidSetting { key, reason: reason.into() }
    }
}

/// Quotes input for an error message: escaped to one line and cut at 40 characters.
fn quote_short(input: &str) -> String {
    const MAX: usize = 40;
    let cut: String = input.chars().take(MAX).collect();
    if input.chars().count() > MAX { format!("{cut:?}…") } else { format!("{cut:?}") }
}
