//! The audit log's entries: who did what to which mailbox, from where, with what outcome.

use std::fmt;

use serde::Serialize;

use super::{BeginAnswer, RejectReason, VerifyAnswer};
use crate::clock::UnixTime;

/// An entry to write. Never put a code or a secret in any field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When.
    #[serde(serialize_with = "crate::clock::serialize_utc_time")]
    pub at: UnixTime,
    /// Who, as an [`Actor`] writes itself (`cli:alice`); entries from before actors had kinds
    /// read `local:<user>` or `service:login`.
    pub actor: String,
    /// Which mailbox (`mailbox@postoffice`), if any.
    pub mailbox: Option<String>,
    /// What, as a dotted word (`mailbox.reset_code`).
    pub action: String,
    /// The login's IP address, for engine entries.
    pub ip: Option<String>,
    /// The login's country, for engine entries.
    pub country: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// More about it (changed values, the reason).
    pub detail: Option<String>,
}

/// A stored entry: its sequence number and what was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Its sequence number.
    pub id: i64,
    /// The entry.
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// Who did something the audit log records: the face it came through and the person or program
/// behind it, written `kind:name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An administrator in the console, by operating-system user.
    Console(String),
    /// An administrator on the command line, by operating-system user.
    Cli(String),
    /// A web administrator, by name.
    Web(String),
    /// An API client (a webmail, a mail server) acting on its own behalf, by name.
    Api(String),
    /// A mailbox's user on their own behalf (a webmail's settings page, the hosted sign-in
    /// pages), by address.
    User(String),
    /// The login service itself, with no person or client behind it: its notifications
    /// (`service:notify`), requests turned away whose caller is not known (`service:http`), what
    /// it finds on its own (`service:serve`).
    Service(&'static str),
}

impl Actor {
    /// The face it came through (`cli`), the part before the colon.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Console(_) => "console",
            Self::Cli(_) => "cli",
            Self::Web(_) => "web",
            Self::Api(_) => "api",
            Self::User(_) => "user",
            Self::Service(_) => "service",
        }
    }

    /// Who, within its kind, the part after the colon.
    pub fn name(&self) -> &str {
        match self {
            Self::Console(name) | Self::Cli(name) | Self::Web(name) | Self::Api(name) | Self::User(name) => name,
            Self::Service(name) => name,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.name())
    }
}

/// How an audited action or login step ended, stored as its word (`ok`, `rejected:invalid_code`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AuditOutcome {
    /// The action was done.
    #[default]
    Ok,
    /// The action was tried and failed (a send, a store change).
    Failed,
    /// A policy or a check refused it (a key, a source address, self-service, a sign-in).
    Refused,
    /// Something went wrong inside mailmfa or its store.
    Error,
    /// The input did not parse.
    InvalidInput,
    /// `login begin` let the login through.
    Allow,
    /// `login begin` asked for a code.
    Challenge,
    /// `login begin` showed an enrolment QR code.
    Enroll,
    /// `login begin` found the mailbox locked (or out of sends).
    Locked,
    /// `login verify` accepted the code.
    Accepted,
    /// `login verify` refused the code.
    Rejected(RejectReason),
    /// A word this build does not know (written by a newer mailmfa), kept as it is.
    Other(String),
}

impl AuditOutcome {
    /// The outcome of a `login begin` decision.
    pub fn of_begin(answer: &BeginAnswer) -> Self {
        match answer {
            BeginAnswer::Allow { .. } => Self::Allow,
            BeginAnswer::Challenge { .. } => Self::Challenge,
            BeginAnswer::Enroll { .. } => Self::Enroll,
            BeginAnswer::Locked { .. } => Self::Locked,
            BeginAnswer::Refused { .. } => Self::Refused,
        }
    }

    /// The outcome of a `login verify` result.
    pub fn of_verify(answer: VerifyAnswer) -> Self {
        match answer {
            VerifyAnswer::Accepted => Self::Accepted,
            VerifyAnswer::Rejected { reason } => Self::Rejected(reason),
        }
    }

    /// `ok` or `failed`, as a result came out.
    pub fn of_result<T, E>(result: &Result<T, E>) -> Self {
        if result.is_ok() { Self::Ok } else { Self::Failed }
    }

    /// Whether it is a failure or a refusal (the console shows it in red).
    pub fn is_bad(&self) -> bool {
        match self {
            Self::Failed | Self::Refused | Self::Error | Self::InvalidInput | Self::Locked | Self::Rejected(_) => true,
            Self::Ok | Self::Allow | Self::Challenge | Self::Enroll | Self::Accepted | Self::Other(_) => false,
        }
    }

    /// The outcome a stored word names.
    pub fn from_word(word: &str) -> Self {
        match word {
            "ok" => Self::Ok,
            "failed" => Self::Failed,
            "refused" => Self::Refused,
            "error" => Self::Error,
            "invalid_input" => Self::InvalidInput,
            "allow" => Self::Allow,
            "challenge" => Self::Challenge,
            "enroll" => Self::Enroll,
            "locked" => Self::Locked,
            "accepted" => Self::Accepted,
            other => match other.strip_prefix("rejected:").map(str::parse) {
                Some(Ok(reason)) => Self::Rejected(reason),
                _ => Self::Other(other.to_owned()),
            },
        }
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Refused => "refused",
            Self::Error => "error",
            Self::InvalidInput => "invalid_input",
            Self::Allow => "allow",
            Self::Challenge => "challenge",
            Self::Enroll => "enroll",
            Self::Locked => "locked",
            Self::Accepted => "accepted",
            Self::Rejected(reason) => return write!(f, "rejected:{reason}"),
            Self::Other(word) => word,
        })
    }
}

impl Serialize for AuditOutcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_is_written_kind_colon_name() {
        assert_eq!(Actor::Console("alice".to_owned()).to_string(), "console:alice");
        assert_eq!(Actor::Cli("root".to_owned()).to_string(), "cli:root");
        assert_eq!(Actor::Web("carol".to_owned()).to_string(), "web:carol");
        assert_eq!(Actor::Api("roundcube".to_owned()).to_string(), "api:roundcube");
        assert_eq!(Actor::User("bob@example.com".to_owned()).to_string(), "user:bob@example.com");
        assert_eq!(Actor::Service("notify").to_string(), "service:notify");
    }

    #[test]
    fn every_outcome_reads_back_as_written() {
        let all = [
            AuditOutcome::Ok,
            AuditOutcome::Failed,
            AuditOutcome::Refused,
            AuditOutcome::Error,
            AuditOutcome::InvalidInput,
            AuditOutcome::Allow,
            AuditOutcome::Challenge,
            AuditOutcome::Enroll,
            AuditOutcome::Locked,
            AuditOutcome::Accepted,
            AuditOutcome::Rejected(RejectReason::Expired),
            AuditOutcome::Other("quarantined".to_owned()),
        ];
        for outcome in all {
            assert_eq!(AuditOutcome::from_word(&outcome.to_string()), outcome);
        }
        assert!(AuditOutcome::Rejected(RejectReason::InvalidCode).is_bad());
        assert!(!AuditOutcome::Accepted.is_bad());
    }
}
