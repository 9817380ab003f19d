//! The audit log: who did what to which mailbox, from where, with what outcome.

use rusqlite::params;
use serde::Serialize;

use super::{StoreResult, Tx};
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

impl Tx<'_> {
    /// Appends an entry.
    pub fn insert_audit(&self, e: &AuditEntry) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO audit (at, actor, mailbox, action, ip, country, outcome, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![e.at, e.actor, e.mailbox, e.action, e.ip, e.country, e.outcome, e.detail])?;
        Ok(())
    }

    /// The newest entries first, optionally for one mailbox, at most `limit`.
    pub fn audit(&self, mailbox: Option<&str>, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, at, actor, mailbox, action, ip, country, outcome, detail FROM audit
             WHERE ?1 IS NULL OR mailbox = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![mailbox, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(AuditRecord {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                mailbox: r.get(3)?,
                action: r.get(4)?,
                ip: r.get(5)?,
                country: r.get(6)?,
                outcome: r.get(7)?,
                detail: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
