//! Passkey rows: a mailbox's WebAuthn credentials (the WebAuthn library's stored credential, which
//! holds only public data, with its counter, AAGUID, name and uses), the sealed state of the one
//! ceremony a login transaction waits for, and the sealed state of a registration begun outside a
//! login (a webmail's settings page: `passkey_ceremony`).

use zeroize::Zeroizing;

use super::sql::Row;
use super::{StoreResult, Tx, parse_stored};
use crate::clock::UnixTime;
use crate::domain::{MailboxId, Passkey, PasskeyName};

/// A passkey as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRow {
    /// The credential id, base64url.
    pub credential_id: String,
    /// The WebAuthn library's credential, JSON.
    pub credential: String,
    /// What administrators see of it.
    pub shown: Passkey,
}

const COLUMNS: &str = "credential_id, credential, name, counter, aaguid, created_at, last_used_at";

fn from_row(r: &Row) -> StoreResult<PasskeyRow> {
    let counter: i64 = r.get("counter")?;
    Ok(PasskeyRow {
        credential_id: r.get("credential_id")?,
        credential: r.get("credential")?,
        shown: Passkey {
            name: parse_stored(&r.get::<String>("name")?)?,
            aaguid: r.get("aaguid")?,
            counter: u32::try_from(counter).unwrap_or(u32::MAX),
            created_at: r.get("created_at")?,
            last_used_at: r.get("last_used_at")?,
        },
    })
}

fn ceremony_context(transaction: &str) -> String {
    format!("login_transaction:{transaction}:webauthn_state")
}

fn registration_context(ceremony: &str) -> String {
    format!("passkey_ceremony:{ceremony}:state")
}

impl Tx<'_> {
    /// Adds a passkey to a mailbox; `false` when the mailbox has one of that name.
    pub fn insert_passkey(&self, mailbox: MailboxId, row: &PasskeyRow) -> StoreResult<bool> {
        let inserted = self.query_opt(
            "INSERT INTO passkey (mailbox_id, credential_id, name, credential, counter, aaguid, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (mailbox_id, name) DO NOTHING RETURNING name",
            &[
                &mailbox.0,
                &row.credential_id,
                &row.shown.name.as_str(),
                &row.credential,
                &i64::from(row.shown.counter),
                &row.shown.aaguid,
                &row.shown.created_at,
            ],
        )?;
        Ok(inserted.is_some())
    }

    /// The mailbox that holds the credential of that id, if any mailbox does.
    pub fn passkey_owner(&self, credential_id: &str) -> StoreResult<Option<MailboxId>> {
        self.query_opt("SELECT mailbox_id FROM passkey WHERE credential_id = ?1", &[&credential_id])?
            .map(|r| Ok(MailboxId(r.get("mailbox_id")?)))
            .transpose()
    }

    /// The mailbox's passkeys, by name.
    pub fn passkeys(&self, mailbox: MailboxId) -> StoreResult<Vec<PasskeyRow>> {
        self.query(&format!("SELECT {COLUMNS} FROM passkey WHERE mailbox_id = ?1 ORDER BY name"), &[&mailbox.0])?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Records a sign-in with a passkey: its credential as the library updated it (the counter),
    /// and when.
    pub fn record_passkey_use(
        &self,
        mailbox: MailboxId,
        credential_id: &str,
        credential: &str,
        counter: u32,
        now: UnixTime,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE passkey SET credential = ?3, counter = ?4, last_used_at = ?5
             WHERE mailbox_id = ?1 AND credential_id = ?2",
            &[&mailbox.0, &credential_id, &credential, &i64::from(counter), &now],
        )?;
        Ok(())
    }

    /// Renames a passkey: `Some(true)` when renamed, `Some(false)` when the mailbox has another
    /// of the new name, `None` when it has none of the old name.
    pub fn rename_passkey(
        &self,
        mailbox: MailboxId,
        from: &PasskeyName,
        to: &PasskeyName,
    ) -> StoreResult<Option<bool>> {
        let names: Vec<String> = self
            .query("SELECT name FROM passkey WHERE mailbox_id = ?1", &[&mailbox.0])?
            .iter()
            .map(|r| r.get("name"))
            .collect::<StoreResult<_>>()?;
        if !names.iter().any(|n| n == from.as_str()) {
            return Ok(None);
        }
        if from != to && names.iter().any(|n| n == to.as_str()) {
            return Ok(Some(false));
        }
        self.execute(
            "UPDATE passkey SET name = ?3 WHERE mailbox_id = ?1 AND name = ?2",
            &[&mailbox.0, &from.as_str(), &to.as_str()],
        )?;
        Ok(Some(true))
    }

    /// Keeps the state of a registration begun outside a login, sealed to its id, for the client
    /// and the mailbox, until `expires_at`; ceremonies that have ended are dropped.
    pub fn hold_registration(
        &self,
        (id, client_id): (&str, &str),
        mailbox: MailboxId,
        state: &[u8],
        (now, expires_at): (UnixTime, UnixTime),
    ) -> StoreResult<()> {
        self.execute("DELETE FROM passkey_ceremony WHERE expires_at <= ?1", &[&now])?;
        let sealed = self.key.seal(&registration_context(id), state)?;
        self.execute(
            "INSERT INTO passkey_ceremony (id, client_id, mailbox_id, state, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[&id, &client_id, &mailbox.0, &sealed, &expires_at],
        )?;
        Ok(())
    }

    /// Takes the state of a registration the client began for the mailbox, if it is still open:
    /// it is answered once, whatever the answer.
    pub fn take_registration(
        &self,
        (id, client_id): (&str, &str),
        mailbox: MailboxId,
        now: UnixTime,
    ) -> StoreResult<Option<Zeroizing<Vec<u8>>>> {
        let held: Option<Vec<u8>> = self
            .query_opt(
                "SELECT state FROM passkey_ceremony
                 WHERE id = ?1 AND client_id = ?2 AND mailbox_id = ?3 AND expires_at > ?4",
                &[&id, &client_id, &mailbox.0, &now],
            )?
            .map(|r| r.get("state"))
            .transpose()?;
        self.execute(
            "DELETE FROM passkey_ceremony WHERE (id = ?1 AND client_id = ?2 AND mailbox_id = ?3) OR expires_at <= ?4",
            &[&id, &client_id, &mailbox.0, &now],
        )?;
        let Some(sealed) = held else { return Ok(None) };
        Ok(Some(self.key.open(&registration_context(id), &sealed)?))
    }

    /// Removes a passkey; `false` when the mailbox has none of that name.
    pub fn delete_passkey(&self, mailbox: MailboxId, name: &PasskeyName) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM passkey WHERE mailbox_id = ?1 AND name = ?2", &[&mailbox.0, &name.as_str()])? == 1)
    }

    /// Keeps the state of the passkey ceremony a login transaction waits for, sealed to it.
    pub fn hold_ceremony(&self, transaction: &str, state: &[u8]) -> StoreResult<()> {
        let sealed = self.key.seal(&ceremony_context(transaction), state)?;
        self.execute("UPDATE login_transaction SET webauthn_state = ?2 WHERE id = ?1", &[&transaction, &sealed])?;
        Ok(())
    }

    /// Takes the state of a transaction's passkey ceremony, if it still holds one: a ceremony is
    /// answered once, whatever the answer.
    pub fn take_ceremony(&self, transaction: &str) -> StoreResult<Option<Zeroizing<Vec<u8>>>> {
        let held: Option<Vec<u8>> = self
            .query_opt("SELECT webauthn_state FROM login_transaction WHERE id = ?1", &[&transaction])?
            .map(|r| r.get("webauthn_state"))
            .transpose()?
            .flatten();
        let Some(sealed) = held else { return Ok(None) };
        self.execute("UPDATE login_transaction SET webauthn_state = NULL WHERE id = ?1", &[&transaction])?;
        Ok(Some(self.key.open(&ceremony_context(transaction), &sealed)?))
    }
}
