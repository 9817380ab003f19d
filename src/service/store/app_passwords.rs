//! App password rows: a keyed hash of each, bound to its mailbox, with its name, protocols,
//! expiry and last use.

use super::sql::Row;
use super::{StoreResult, Tx, parse_stored};
use crate::clock::UnixTime;
use crate::domain::{AppPassword, AppPasswordName, LastUse, MailProtocol, MailboxId, Protocols};

const COLUMNS: &str = "name, protocols, created_at, expires_at, last_used_at, last_used_ip, last_used_protocol";

fn from_row(r: &Row) -> StoreResult<AppPassword> {
    let last_used_at: Option<UnixTime> = r.get("last_used_at")?;
    let last_used = match last_used_at {
        Some(at) => Some(LastUse {
            at,
            ip: r.get::<Option<String>>("last_used_ip")?.unwrap_or_default(),
            protocol: parse_stored::<MailProtocol>(
                &r.get::<Option<String>>("last_used_protocol")?.unwrap_or_default(),
            )?,
        }),
        None => None,
    };
    Ok(AppPassword {
        name: parse_stored(&r.get::<String>("name")?)?,
        protocols: parse_stored(&r.get::<String>("protocols")?)?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        last_used,
    })
}

impl Tx<'_> {
    /// Adds an app password; `false` when the mailbox has one of that name.
    pub fn insert_app_password(
        &self,
        mailbox: MailboxId,
        name: &AppPasswordName,
        hash: &[u8],
        protocols: &Protocols,
        now: UnixTime,
        expires_at: Option<UnixTime>,
    ) -> StoreResult<bool> {
        let inserted = self.query_opt(
            "INSERT INTO app_password (mailbox_id, name, hash, protocols, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (mailbox_id, name) DO NOTHING RETURNING name",
            &[&mailbox.0, &name.as_str(), &hash, &protocols.to_string(), &now, &expires_at],
        )?;
        Ok(inserted.is_some())
    }

    /// How many app passwords the mailbox has.
    pub fn count_app_passwords(&self, mailbox: MailboxId) -> StoreResult<i64> {
        self.query_opt("SELECT count(*) AS n FROM app_password WHERE mailbox_id = ?1", &[&mailbox.0])?
            .map_or(Ok(0), |r| r.get("n"))
    }

    /// The mailbox's app passwords, by name.
    pub fn app_passwords(&self, mailbox: MailboxId) -> StoreResult<Vec<AppPassword>> {
        self.query(&format!("SELECT {COLUMNS} FROM app_password WHERE mailbox_id = ?1 ORDER BY name"), &[&mailbox.0])?
            .iter()
            .map(from_row)
            .collect()
    }

    /// The mailbox's app password with this keyed hash.
    pub fn app_password_by_hash(&self, mailbox: MailboxId, hash: &[u8]) -> StoreResult<Option<AppPassword>> {
        self.query_opt(
            &format!("SELECT {COLUMNS} FROM app_password WHERE mailbox_id = ?1 AND hash = ?2"),
            &[&mailbox.0, &hash],
        )?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    /// Removes an app password; `false` when the mailbox has none of that name.
    pub fn delete_app_password(&self, mailbox: MailboxId, name: &AppPasswordName) -> StoreResult<bool> {
        Ok(self
            .execute("DELETE FROM app_password WHERE mailbox_id = ?1 AND name = ?2", &[&mailbox.0, &name.as_str()])?
            == 1)
    }

    /// Removes all the mailbox's app passwords; how many there were.
    pub fn delete_app_passwords(&self, mailbox: MailboxId) -> StoreResult<usize> {
        self.execute("DELETE FROM app_password WHERE mailbox_id = ?1", &[&mailbox.0])
    }

    /// Records a use of an app password, unless one was recorded since `not_after` (at most one
    /// write a minute, however many servers race).
    pub fn record_app_password_use(
        &self,
        mailbox: MailboxId,
        name: &AppPasswordName,
        used: &LastUse,
        not_after: UnixTime,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE app_password SET last_used_at = ?3, last_used_ip = ?4, last_used_protocol = ?5
             WHERE mailbox_id = ?1 AND name = ?2 AND (last_used_at IS NULL OR last_used_at <= ?6)",
            &[&mailbox.0, &name.as_str(), &used.at, &used.ip.as_str(), &used.protocol.word(), &not_after],
        )?;
        Ok(())
    }
}
