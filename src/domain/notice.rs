//! Notifications to a mailbox's own address about what happened to its sign-in (docs/DESIGN.md §10):
//! the events, their templates in the settings, and a notice as it waits to be sent.

use super::Settings;
use crate::clock::UnixTime;

/// What a notification tells the mailbox's user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeEvent {
    /// A code was accepted from a country the mailbox had not signed in from.
    NewCountry,
    /// An administrator reset the two-step sign-in.
    CodeReset,
    /// Too many wrong codes locked the mailbox.
    Lockout,
    /// A recovery code was used to sign in.
    RecoveryCodeUsed,
    /// An administrator issued a temporary access pass.
    AccessPassIssued,
}

impl NoticeEvent {
    /// Every event.
    pub const ALL: [Self; 5] =
        [Self::NewCountry, Self::CodeReset, Self::Lockout, Self::RecoveryCodeUsed, Self::AccessPassIssued];

    /// The stored word.
    pub fn word(self) -> &'static str {
        match self {
            Self::NewCountry => "new_country",
            Self::CodeReset => "code_reset",
            Self::Lockout => "lockout",
            Self::RecoveryCodeUsed => "recovery_code",
            Self::AccessPassIssued => "access_pass",
        }
    }

    /// The event from its stored word.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.word() == word)
    }

    /// The event in a user's words (the `{event}` of the subject).
    pub fn label(self) -> &'static str {
        match self {
            Self::NewCountry => "sign-in from a new country",
            Self::CodeReset => "two-step sign-in reset",
            Self::Lockout => "sign-in paused",
            Self::RecoveryCodeUsed => "recovery code used",
            Self::AccessPassIssued => "temporary access pass issued",
        }
    }

    /// The body template of the event, from the settings.
    pub fn template(self, settings: &Settings) -> &str {
        match self {
            Self::NewCountry => &settings.notify_new_country,
            Self::CodeReset => &settings.notify_code_reset,
            Self::Lockout => &settings.notify_lockout,
            Self::RecoveryCodeUsed => &settings.notify_recovery_code,
            Self::AccessPassIssued => &settings.notify_access_pass,
        }
    }
}

/// One notification as it waits to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The mailbox (and the address it goes to).
    pub mailbox: String,
    /// What happened.
    pub event: NoticeEvent,
    /// When.
    pub at: UnixTime,
    /// The login's IP address, where there was a login.
    pub ip: Option<String>,
    /// Its country, where known.
    pub country: Option<String>,
    /// More: recovery codes left, or when an access pass ends.
    pub detail: Option<String>,
}
