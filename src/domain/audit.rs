//! The audit log's entries: who did what to which mailbox, from where, with what outcome.

use serde::Serialize;

use crate::clock::UnixTime;

/// An entry to write. Never put a code or a secret in any field.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    /// When.
    pub at: UnixTime,
    /// Who: the operating-system user of an administrator, or `login` for the engine.
    pub actor: String,
    /// Which mailbox (`mailbox@postoffice`), if any.
    pub mailbox: Option<String>,
    /// What, as a dotted word (`mailbox.reset_code`).
    pub action: String,
    /// The login's IP address, for engine entries.
    pub ip: Option<String>,
    /// The login's country, for engine entries.
    pub country: Option<String>,
    /// How it ended (`ok`, `failed`, `allow`, `challenge`, `accepted`, `rejected` …).
    pub outcome: String,
    /// More about it (changed values, the reason).
    pub detail: Option<String>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Its sequence number.
    pub id: i64,
    /// When (Unix seconds).
    pub at: UnixTime,
    /// Who.
    pub actor: String,
    /// Which mailbox.
    pub mailbox: Option<String>,
    /// What.
    pub action: String,
    /// From which IP.
    pub ip: Option<String>,
    /// From which country.
    pub country: Option<String>,
    /// How it ended.
    pub outcome: String,
    /// More about it.
    pub detail: Option<String>,
}

impl AuditRecord {
    /// Whether the outcome is a failure or a refusal (shown in red).
    pub fn is_bad(&self) -> bool {
        ["failed", "rejected", "locked", "refused", "error", "invalid"]
            .iter()
            .any(|word| self.outcome.starts_with(word))
    }
}
