//! The audit log's table: entries appended, and read back newest first.

use super::{StoreResult, Tx};
use crate::domain::{AuditEntry, AuditOutcome, AuditRecord};

impl Tx<'_> {
    /// Appends an entry.
    pub fn insert_audit(&self, e: &AuditEntry) -> StoreResult<()> {
        self.execute(
            "INSERT INTO audit (at, actor, mailbox, action, ip, country, outcome, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[&e.at, &e.actor, &e.mailbox, &e.action, &e.ip, &e.country, &e.outcome.to_string(), &e.detail],
        )?;
        Ok(())
    }

    /// The newest entries first, optionally for one mailbox, at most `limit`.
    pub fn audit(&self, mailbox: Option<&str>, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        let rows = self.query(
            "SELECT id, at, actor, mailbox, action, ip, country, outcome, detail FROM audit
             WHERE ?1 IS NULL OR mailbox = ?1 ORDER BY id DESC LIMIT ?2",
            &[&mailbox, &i64::try_from(limit).unwrap_or(i64::MAX)],
        )?;
        rows.iter()
            .map(|r| {
                let entry = AuditEntry {
                    at: r.get("at")?,
                    actor: r.get("actor")?,
                    mailbox: r.get("mailbox")?,
                    action: r.get("action")?,
                    ip: r.get("ip")?,
                    country: r.get("country")?,
                    outcome: AuditOutcome::from_word(&r.get::<String>("outcome")?),
                    detail: r.get("detail")?,
                };
                Ok(AuditRecord { id: r.get("id")?, entry })
            })
            .collect()
    }
}
