//! Post office rows.

use rusqlite::{OptionalExtension, Row, params};

use super::{StoreError, StoreResult, Tx, parse_stored, parse_stored_networks};
use crate::clock::UnixTime;
use crate::domain::{ChallengeMode, IpNetwork, PostOffice, PostOfficeId, PostOfficeName, join_networks};

const SELECT: &str = "SELECT p.id, p.name, p.challenge, p.users_may_configure, p.trusted_networks,
        (SELECT count(*) FROM mailbox m WHERE m.postoffice_id = p.id) AS mailboxes
    FROM postoffice p";

/// The columns of [`SELECT`] as read from SQLite, before the words are parsed.
struct RawPostOffice {
    id: i64,
    name: String,
    challenge: String,
    users_may_configure: bool,
    trusted_networks: String,
    mailboxes: i64,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<RawPostOffice> {
    Ok(RawPostOffice {
        id: r.get("id")?,
        name: r.get("name")?,
        challenge: r.get("challenge")?,
        users_may_configure: r.get("users_may_configure")?,
        trusted_networks: r.get("trusted_networks")?,
        mailboxes: r.get("mailboxes")?,
    })
}

fn record(raw: RawPostOffice) -> StoreResult<PostOffice> {
    Ok(PostOffice {
        id: PostOfficeId(raw.id),
        name: parse_stored(&raw.name)?,
        challenge: parse_stored(&raw.challenge)?,
        users_may_configure: raw.users_may_configure,
        trusted_networks: parse_stored_networks(&raw.trusted_networks)?,
        mailboxes: raw.mailboxes,
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
    pub fn postoffice(&self, name: &PostOfficeName) -> StoreResult<Option<PostOffice>> {
        let row = self
            .tx
            .prepare_cached(&format!("{SELECT} WHERE p.name = ?1"))?
            .query_row([name.as_str()], from_row)
            .optional()?;
        row.map(record).transpose()
    }

    /// Every post office, by name.
    pub fn postoffices(&self) -> StoreResult<Vec<PostOffice>> {
        let mut stmt = self.tx.prepare_cached(&format!("{SELECT} ORDER BY p.name"))?;
        let rows = stmt.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(record).collect()
    }

    /// Sets a post office's default challenge mode, self-service switch and trusted networks.
    pub fn update_postoffice(
        &self,
        id: PostOfficeId,
        challenge: ChallengeMode,
        users_may_configure: bool,
        trusted_networks: &[IpNetwork],
    ) -> StoreResult<()> {
        self.tx.execute(
            "UPDATE postoffice SET challenge = ?2, users_may_configure = ?3, trusted_networks = ?4 WHERE id = ?1",
            params![id.0, challenge.word(), users_may_configure, join_networks(trusted_networks)],
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
