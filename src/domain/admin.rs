//! Web administrators (docs/DESIGN.md §12): their names, their roles, what a role may reach, and
//! the password rule. A post-office administrator reaches only the mailboxes of their post offices;
//! a platform administrator reaches everything the console does.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::{DomainError, PostOfficeName, words};
use crate::clock::UnixTime;

words! {
    /// What a web administrator may do.
    pub enum AdminRole ("administrator role") {
        /// Everything the console does.
        Platform = "platform",
        /// Only the mailboxes (and defaults, audit log and report) of their post offices.
        Postoffice = "postoffice",
    }
}

/// A web administrator's name: 1–64 lower-case letters, digits, `.`, `-`, `_` or `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AdminName(String);

impl AdminName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AdminName {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let name = raw.trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(DomainError::Empty("administrator name"));
        }
        if name.len() > 64 {
            return Err(DomainError::TooLong { what: "administrator name", max: 64 });
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_@".contains(&b)) {
            return Err(DomainError::invalid("administrator name", raw, "use letters, digits, '.', '-', '_' or '@'"));
        }
        Ok(Self(name))
    }
}

impl fmt::Display for AdminName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shortest administrator password.
pub const ADMIN_PASSWORD_MIN: usize = 12;
/// The longest administrator password (hashing is slow on purpose; an unbounded input is not).
pub const ADMIN_PASSWORD_MAX: usize = 256;

/// A password an administrator chose: at least [`ADMIN_PASSWORD_MIN`] characters. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminPassword(zeroize::Zeroizing<String>);

impl AdminPassword {
    /// The password.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AdminPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminPassword(***)")
    }
}

impl FromStr for AdminPassword {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let length = raw.chars().count();
        if length > ADMIN_PASSWORD_MAX {
            return Err(DomainError::TooLong { what: "password", max: ADMIN_PASSWORD_MAX });
        }
        if length < ADMIN_PASSWORD_MIN {
            return Err(DomainError::Invalid {
                what: "password",
                input: "(not shown)".to_owned(),
                reason: format!("choose at least {ADMIN_PASSWORD_MIN} characters"),
            });
        }
        Ok(Self(zeroize::Zeroizing::new(raw.to_owned())))
    }
}

/// A web administrator as the administration shows them (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Administrator {
    /// The name they sign in with.
    pub name: AdminName,
    /// What they may do.
    pub role: AdminRole,
    /// The post offices a post-office administrator looks after (empty for a platform one).
    pub postoffices: Vec<PostOfficeName>,
    /// Whether they finished the set-up (password and authenticator app).
    pub set_up: bool,
    /// When they were added.
    #[serde(serialize_with = "crate::clock::serialize_utc_time")]
    pub created_at: UnixTime,
    /// Until when signing in is paused after too many wrong passwords or codes.
    #[serde(skip)]
    pub locked_until: Option<UnixTime>,
}

impl Administrator {
    /// Whether the administrator may act for the mailboxes of `postoffice`.
    pub fn covers(&self, postoffice: &PostOfficeName) -> bool {
        self.role == AdminRole::Platform || self.postoffices.contains(postoffice)
    }

    /// Whether they may do what only a platform administrator may.
    pub fn is_platform(&self) -> bool {
        self.role == AdminRole::Platform
    }

    /// Seconds until their sign-in lock ends, if locked at `now` (the mailboxes' rule).
    pub fn locked_for(&self, now: UnixTime) -> Option<i64> {
        super::mailbox::locked_for(self.locked_until, now)
    }
}

/// Checks that a role and its post offices fit: a post-office administrator needs at least one,
/// a platform administrator has none (they reach all).
pub fn check_admin_scope(role: AdminRole, postoffices: &[PostOfficeName]) -> Result<(), DomainError> {
    match (role, postoffices.is_empty()) {
        (AdminRole::Postoffice, true) => Err(DomainError::invalid(
            "administrator",
            "postoffice",
            "a post-office administrator needs at least one post office",
        )),
        (AdminRole::Platform, false) => Err(DomainError::invalid(
            "administrator",
            "platform",
            "a platform administrator reaches every post office; name none",
        )),
        _ => Ok(()),
    }
}
