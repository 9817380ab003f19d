//! Post office rows.

use super::sql::Row;
use super::{StoreError, StoreResult, Tx, parse_mail_programs, parse_stored, parse_stored_networks};
use crate::clock::UnixTime;
use crate::domain::{PostOffice, PostOfficeId, PostOfficeName, join_networks};

const SELECT: &str =
    "SELECT p.id, p.name, p.challenge, p.users_may_configure, p.trusted_networks, p.remember_in_always,
        p.mail_programs,
        (SELECT count(*) FROM mailbox m WHERE m.postoffice_id = p.id) AS mailboxes
    FROM postoffice p";

fn from_row(r: &Row) -> StoreResult<PostOffice> {
    Ok(PostOffice {
        id: PostOfficeId(r.get("id")?),
        name: parse_stored(&r.get::<String>("name")?)?,
        challenge: parse_stored(&r.get::<String>("challenge")?)?,
        users_may_configure: r.get("users_may_configure")?,
        trusted_networks: parse_stored_networks(&r.get::<String>("trusted_networks")?)?,
        remember_in_always: r.get("remember_in_always")?,
        mail_programs: parse_mail_programs(r.get("mail_programs")?)?,
        mailboxes: r.get("mailboxes")?,
    })
}

impl Tx<'_> {
    /// Adds a post office; `None` when one of that name exists.
    pub fn insert_postoffice(&self, name: &PostOfficeName, now: UnixTime) -> StoreResult<Option<PostOfficeId>> {
        let inserted = self.query_opt(
            "INSERT INTO postoffice (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING RETURNING id",
            &[&name.as_str(), &now],
        )?;
        inserted.map(|r| Ok(PostOfficeId(r.get("id")?))).transpose()
    }

    /// The post office of that name.
    pub fn postoffice(&self, name: &PostOfficeName) -> StoreResult<Option<PostOffice>> {
        self.query_opt(&format!("{SELECT} WHERE p.name = ?1"), &[&name.as_str()])?.as_ref().map(from_row).transpose()
    }

    /// Every post office, by name.
    pub fn postoffices(&self) -> StoreResult<Vec<PostOffice>> {
        self.query(&format!("{SELECT} ORDER BY p.name"), &[])?.iter().map(from_row).collect()
    }

    /// Sets a post office's policy (its default challenge mode, self-service switch, trusted
    /// networks, whether remembered devices skip Prompt Always, and its mail programs' policy) as
    /// `po` has it.
    pub fn update_postoffice(&self, po: &PostOffice) -> StoreResult<()> {
        self.execute(
            "UPDATE postoffice SET challenge = ?2, users_may_configure = ?3, trusted_networks = ?4,
                    remember_in_always = ?5, mail_programs = ?6 WHERE id = ?1",
            &[
                &po.id.0,
                &po.challenge.word(),
                &po.users_may_configure,
                &join_networks(&po.trusted_networks),
                &po.remember_in_always,
                &po.mail_programs.stored(),
            ],
        )?;
        Ok(())
    }

    /// Removes a post office and, through the foreign keys, all its mailboxes.
    pub fn delete_postoffice(&self, id: PostOfficeId) -> StoreResult<()> {
        let n = self.execute("DELETE FROM postoffice WHERE id = ?1", &[&id.0])?;
        if n != 1 {
            return Err(StoreError::Corrupt(format!("post office {} vanished", id.0)));
        }
        Ok(())
    }
}
