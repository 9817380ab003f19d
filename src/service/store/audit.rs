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
        rows.iter().map(audit_record).collect()
    }

    /// The newest entries first, at most `limit`, whose action, actor, mailbox or detail contains
    /// `filter`; with `scope` (post offices, actor), only the entries of those post offices'
    /// mailboxes and the actor's own sign-ins and sign-outs.
    pub fn audit_scoped(
        &self,
        scope: Option<&(Vec<String>, String)>,
        filter: &str,
        limit: usize,
    ) -> StoreResult<Vec<AuditRecord>> {
        let pattern = super::sql::containing(filter);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut args: Vec<String> = vec![pattern];
        let mut sql = "SELECT id, at, actor, mailbox, action, ip, country, outcome, detail FROM audit
             WHERE (action LIKE ?1 ESCAPE '\\' OR actor LIKE ?1 ESCAPE '\\' OR coalesce(mailbox, '') LIKE ?1 ESCAPE '\\'
                    OR coalesce(detail, '') LIKE ?1 ESCAPE '\\')"
            .to_owned();
        if let Some((postoffices, actor)) = scope {
            args.push(actor.clone());
            // Their own sign-ins and sign-outs; refusals of what lies outside stay out of sight.
            let mut alternatives = vec![format!("(actor = ?{} AND action LIKE 'admin.%')", args.len())];
            for postoffice in postoffices {
                let suffix = format!("@{postoffice}");
                let length = suffix.chars().count();
                args.push(suffix);
                // The mailbox's post office exactly, with no wildcard in a name to widen it.
                alternatives.push(format!("substr(mailbox, length(mailbox) - {} + 1) = ?{}", length, args.len()));
            }
            sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
        let params: Vec<&dyn super::sql::ToArg> = args.iter().map(|a| a as &dyn super::sql::ToArg).collect();
        self.query(&sql, &params)?.iter().map(audit_record).collect()
    }
}

fn audit_record(r: &super::sql::Row) -> StoreResult<AuditRecord> {
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
}
