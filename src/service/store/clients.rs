//! The login service's rows: API clients (only a keyed hash of each key) and login transactions.

use rusqlite::{OptionalExtension, Row, params};

use super::{StoreResult, Tx};
use crate::clock::UnixTime;

/// An API client as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    /// The `<id>` of its key.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The keyed hash of its key's secret.
    pub key_hash: Vec<u8>,
    /// Source networks it may call from, comma-separated (empty: any).
    pub allow: String,
    /// Return URL prefixes for the hosted pages, comma-separated.
    pub return_urls: String,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it last called.
    pub last_used: Option<UnixTime>,
}

/// A login transaction as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRow {
    /// Its id.
    pub id: String,
    /// The client that began it.
    pub client_id: String,
    /// The mailbox (`mailbox@postoffice`).
    pub mailbox: String,
    /// The login's IP address.
    pub ip: String,
    /// When it ends unless a code is accepted first.
    pub expires_at: UnixTime,
}

fn client_row(r: &Row<'_>) -> rusqlite::Result<ClientRow> {
    Ok(ClientRow {
        id: r.get("id")?,
        name: r.get("name")?,
        key_hash: r.get("key_hash")?,
        allow: r.get("allow")?,
        return_urls: r.get("return_urls")?,
        created_at: r.get("created_at")?,
        last_used: r.get("last_used")?,
    })
}

const CLIENT_COLUMNS: &str = "id, name, key_hash, allow, return_urls, created_at, last_used";

impl Tx<'_> {
    /// Adds a client; `false` when one of that name exists.
    pub fn insert_client(&self, row: &ClientRow) -> StoreResult<bool> {
        let inserted = self.tx.execute(
            "INSERT INTO api_client (id, name, key_hash, allow, return_urls, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO NOTHING",
            params![row.id, row.name, row.key_hash, row.allow, row.return_urls, row.created_at],
        )?;
        Ok(inserted == 1)
    }

    /// Every client, by name.
    pub fn clients(&self) -> StoreResult<Vec<ClientRow>> {
        let mut stmt = self.tx.prepare_cached(&format!("SELECT {CLIENT_COLUMNS} FROM api_client ORDER BY name"))?;
        Ok(stmt.query_map([], client_row)?.collect::<Result<_, _>>()?)
    }

    /// The client whose key has this id.
    pub fn client(&self, id: &str) -> StoreResult<Option<ClientRow>> {
        Ok(self
            .tx
            .prepare_cached(&format!("SELECT {CLIENT_COLUMNS} FROM api_client WHERE id = ?1"))?
            .query_row([id], client_row)
            .optional()?)
    }

    /// Removes the client of that name (and its transactions); `false` when there is none.
    pub fn delete_client(&self, name: &str) -> StoreResult<bool> {
        Ok(self.tx.execute("DELETE FROM api_client WHERE name = ?1", [name])? == 1)
    }

    /// Notes that a client called.
    pub fn touch_client(&self, id: &str, now: UnixTime) -> StoreResult<()> {
        self.tx.prepare_cached("UPDATE api_client SET last_used = ?2 WHERE id = ?1")?.execute(params![id, now])?;
        Ok(())
    }

    /// Starts a login transaction.
    pub fn insert_transaction(&self, row: &TransactionRow, now: UnixTime) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO login_transaction (id, client_id, mailbox, ip, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![row.id, row.client_id, row.mailbox, row.ip, now, row.expires_at])?;
        Ok(())
    }

    /// A transaction that has not expired at `now`; expired ones are forgotten on the way.
    pub fn transaction(&self, id: &str, now: UnixTime) -> StoreResult<Option<TransactionRow>> {
        self.tx.prepare_cached("DELETE FROM login_transaction WHERE expires_at <= ?1")?.execute([now])?;
        Ok(self
            .tx
            .prepare_cached("SELECT id, client_id, mailbox, ip, expires_at FROM login_transaction WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(TransactionRow {
                    id: r.get("id")?,
                    client_id: r.get("client_id")?,
                    mailbox: r.get("mailbox")?,
                    ip: r.get("ip")?,
                    expires_at: r.get("expires_at")?,
                })
            })
            .optional()?)
    }

    /// Moves a transaction's end (a new code was sent).
    pub fn extend_transaction(&self, id: &str, expires_at: UnixTime) -> StoreResult<()> {
        self.tx
            .prepare_cached("UPDATE login_transaction SET expires_at = ?2 WHERE id = ?1")?
            .execute(params![id, expires_at])?;
        Ok(())
    }

    /// Ends a transaction (its code was accepted).
    pub fn end_transaction(&self, id: &str) -> StoreResult<()> {
        self.tx.prepare_cached("DELETE FROM login_transaction WHERE id = ?1")?.execute([id])?;
        Ok(())
    }
}

/// A sign-in through the hosted pages, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigninRow {
    /// Its id (the page's address).
    pub id: String,
    /// The client that asked for it.
    pub client_id: String,
    /// The login transaction it completes.
    pub transaction_id: String,
    /// The mailbox.
    pub mailbox: String,
    /// Where the browser goes back to.
    pub return_url: String,
    /// The token every form of its pages carries.
    pub csrf: String,
    /// When it ends.
    pub expires_at: UnixTime,
}

impl Tx<'_> {
    /// Starts a sign-in.
    pub fn insert_signin(&self, row: &SigninRow, now: UnixTime) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO signin (id, client_id, transaction_id, mailbox, return_url, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                row.id,
                row.client_id,
                row.transaction_id,
                row.mailbox,
                row.return_url,
                row.csrf,
                now,
                row.expires_at
            ])?;
        Ok(())
    }

    /// A sign-in that has not expired at `now`; expired ones (and expired tickets) are forgotten on
    /// the way.
    /// Holds a sign-in's code (sealed) until its page is first opened.
    pub fn hold_signin_code(&self, id: &str, sealed: &[u8]) -> StoreResult<()> {
        self.tx.prepare_cached("UPDATE signin SET held_code = ?2 WHERE id = ?1")?.execute(params![id, sealed])?;
        Ok(())
    }

    /// Takes the code a sign-in holds, if it still holds one: it is given out once.
    pub fn take_signin_code(&self, id: &str) -> StoreResult<Option<Vec<u8>>> {
        let held: Option<Vec<u8>> = self
            .tx
            .prepare_cached("SELECT held_code FROM signin WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .flatten();
        if held.is_some() {
            self.tx.prepare_cached("UPDATE signin SET held_code = NULL WHERE id = ?1")?.execute([id])?;
        }
        Ok(held)
    }

    pub fn signin(&self, id: &str, now: UnixTime) -> StoreResult<Option<SigninRow>> {
        self.tx.prepare_cached("DELETE FROM signin WHERE expires_at <= ?1")?.execute([now])?;
        self.tx.prepare_cached("DELETE FROM signin_ticket WHERE expires_at <= ?1")?.execute([now])?;
        Ok(self
            .tx
            .prepare_cached(
                "SELECT id, client_id, transaction_id, mailbox, return_url, csrf, expires_at FROM signin WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(SigninRow {
                    id: r.get("id")?,
                    client_id: r.get("client_id")?,
                    transaction_id: r.get("transaction_id")?,
                    mailbox: r.get("mailbox")?,
                    return_url: r.get("return_url")?,
                    csrf: r.get("csrf")?,
                    expires_at: r.get("expires_at")?,
                })
            })
            .optional()?)
    }

    /// Ends a sign-in.
    pub fn end_signin(&self, id: &str) -> StoreResult<()> {
        self.tx.prepare_cached("DELETE FROM signin WHERE id = ?1")?.execute([id])?;
        Ok(())
    }

    /// Keeps the hash of a new ticket.
    pub fn insert_ticket(&self, hash: &[u8], client_id: &str, mailbox: &str, expires_at: UnixTime) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO signin_ticket (ticket_hash, client_id, mailbox, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![hash, client_id, mailbox, expires_at])?;
        Ok(())
    }

    /// Takes a ticket: the mailbox it names if it is valid for `client_id` at `now`; a ticket is
    /// removed by its first use, whoever presents it.
    pub fn take_ticket(&self, hash: &[u8], client_id: &str, now: UnixTime) -> StoreResult<Option<String>> {
        let row: Option<(String, String, UnixTime)> = self
            .tx
            .prepare_cached("SELECT client_id, mailbox, expires_at FROM signin_ticket WHERE ticket_hash = ?1")?
            .query_row([hash], |r| Ok((r.get("client_id")?, r.get("mailbox")?, r.get("expires_at")?)))
            .optional()?;
        self.tx.prepare_cached("DELETE FROM signin_ticket WHERE ticket_hash = ?1")?.execute([hash])?;
        Ok(row.filter(|(client, _, expires)| client == client_id && *expires > now).map(|(_, mailbox, _)| mailbox))
    }
}
