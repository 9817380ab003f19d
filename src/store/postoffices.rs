//! Post office rows.

use rusqlite::{OptionalExtension, Row, params};

use super::{StoreError, StoreResult, Tx, parse_stored};
use crate::clock::UnixTime;
use crate::domain::{ChallengeMode, PostOfficeId, PostOfficeName};

/// A post office with its default policy and mailbox count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostOfficeRecord {
    /// Its id.
    pub id: PostOfficeId,
    /// Its name.
    pub name: PostOfficeName,
    /// The challenge mode its mailboxes inherit.
    pub challenge: ChallengeMode,
    /// Whether its users may change their own two-factor settings.
    pub users_may_configure: bool,
    /// How many mailboxes it has.
    pub mailboxes: i64,
}

const SELECT: &str = "SELECT p.id, p.name, p.challenge, p.users_may_configure,
        (SELECT count(*) FROM mailbox m WHERE m.postoffice_id = p.id)
    FROM postoffice p";

fn from_row(row: &Row<'_>) -> rusqlite::Result<(i64, String, String, bool, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn record((id, name, challenge, users, mailboxes): (i64, String, String, bool, i64)) -> StoreResult<PostOfficeRecord> {
    Ok(PostOfficeRecord {
        id: PostOfficeId(id),
        name: parse_stored(&name)?,
        challenge: parse_stored(&challenge)?,
        users_may_configure: users,
        mailboxes,
    })
}

impl Tx<'_> {
    /// Adds a post office; `None` when one of that name exists.
    pub fn insert_postoffice(&self, name: &PostOfficeName, now: UnixTime) -> StoreResult<Option<PostOfficeId>> {
        let inserted = self.tx.execute(
            "INSERT INTO postoffice (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![name.as_str(), now],
        )?;
        Ok((inserted == 1).then(|| PostOfficeId(self.tx.last_insert_rowid())))
    }

    /// The post office of that name.
    pub fn postoffice(&self, name: &PostOfficeName) -> StoreResult<Option<PostOfficeRecord>> {
        let row = self
            .tx
            .prepare_cached(&format!("{SELECT} WHERE p.name = ?1"))?
            .query_row([name.as_str()], from_row)
            .optional()?;
        row.map(record).transpose()
    }

    /// Every post office, by name.
    pub fn postoffices(&self) -> StoreResult<Vec<PostOfficeRecord>> {
        let mut stmt = self.tx.prepare_cached(&format!("{SELECT} ORDER BY p.name"))?;
        let rows = stmt.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(record).collect()
    }

    /// Sets a post office's default challenge mode and self-service switch.
    pub fn update_postoffice(
        &self,
        id: PostOfficeId,
        challenge: ChallengeMode,
        users_may_configure: bool,
    ) -> StoreResult<()> {
        self.tx.execute(
            "UPDATE postoffice SET challenge = ?2, users_may_configure = ?3 WHERE id = ?1",
            params![id.0, challenge.word(), users_may_configure],
        )?;
        Ok(())
    }

    /// Removes a post office and, through the foreign keys, all its mailboxes.
    pub fn delete_postoffice(&self, id: PostOfficeId) -> StoreResult<()> {
        let n = self.tx.execute("DELETE FROM postoffice WHERE id = ?1", [id.0])?;
        if n != 1 {
            return Err(StoreError::Corrupt(format!("post office {} vanished", id.0)));
        }
        Ok(())
    }
}
