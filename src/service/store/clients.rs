//! The login service's rows: API clients (only a keyed hash of each key) and login transactions.

use super::platform::Version;
use super::sql::Row;
use super::{StoreResult, Tx, parse_stored};
use crate::clock::UnixTime;
use crate::domain::Purpose;

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
    /// The post offices it may act for, comma-separated (empty: all).
    pub postoffices: String,
    /// Whether it may read the metrics.
    pub metrics: bool,
    /// The web origins it runs passkey ceremonies on, comma-separated (empty: none).
    pub origins: String,
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
    /// A sign-in, or a step-up before a sensitive change.
    pub purpose: Purpose,
    /// When it ends unless a code is accepted first.
    pub expires_at: UnixTime,
}

fn client_row(r: &Row) -> StoreResult<ClientRow> {
    Ok(ClientRow {
        id: r.get("id")?,
        name: r.get("name")?,
        key_hash: r.get("key_hash")?,
        allow: r.get("allow")?,
        return_urls: r.get("return_urls")?,
        postoffices: r.get("postoffices")?,
        metrics: r.get("metrics")?,
        origins: r.get("origins")?,
        created_at: r.get("created_at")?,
        last_used: r.get("last_used")?,
    })
}

const CLIENT_COLUMNS: &str =
    "id, name, key_hash, allow, return_urls, postoffices, metrics, origins, created_at, last_used";

/// A ticket of a completed sign-in, as stored (only its keyed hash).
#[derive(Debug, Clone)]
pub struct TicketRow {
    /// The keyed hash of the ticket.
    pub hash: Vec<u8>,
    /// The client whose sign-in it completes.
    pub client_id: String,
    /// The sign-in it completes.
    pub signin_id: String,
    /// The mailbox it vouches for.
    pub mailbox: String,
    /// When it stops working.
    pub expires_at: UnixTime,
}

impl Tx<'_> {
    /// Adds a client; `false` when one of that name exists.
    pub fn insert_client(&self, row: &ClientRow) -> StoreResult<bool> {
        let inserted = self.execute(
            "INSERT INTO api_client (id, name, key_hash, allow, return_urls, postoffices, metrics, origins, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (name) DO NOTHING",
            &[
                &row.id,
                &row.name,
                &row.key_hash,
                &row.allow,
                &row.return_urls,
                &row.postoffices,
                &row.metrics,
                &row.origins,
                &row.created_at,
            ],
        )? == 1;
        if inserted {
            self.bump_version(Version::Clients)?;
        }
        Ok(inserted)
    }

    /// Every client, by name.
    pub fn clients(&self) -> StoreResult<Vec<ClientRow>> {
        self.query(&format!("SELECT {CLIENT_COLUMNS} FROM api_client ORDER BY name"), &[])?
            .iter()
            .map(client_row)
            .collect()
    }

    /// The client whose key has this id.
    pub fn client(&self, id: &str) -> StoreResult<Option<ClientRow>> {
        self.query_opt(&format!("SELECT {CLIENT_COLUMNS} FROM api_client WHERE id = ?1"), &[&id])?
            .as_ref()
            .map(client_row)
            .transpose()
    }

    /// Removes the client of that name (and its transactions); `false` when there is none. A
    /// process that kept the client's key verified sees the clients' version move.
    pub fn delete_client(&self, name: &str) -> StoreResult<bool> {
        let deleted = self.execute("DELETE FROM api_client WHERE name = ?1", &[&name])? == 1;
        if deleted {
            self.bump_version(Version::Clients)?;
        }
        Ok(deleted)
    }

    /// Notes that a client called.
    pub fn touch_client(&self, id: &str, now: UnixTime) -> StoreResult<()> {
        self.execute("UPDATE api_client SET last_used = ?2 WHERE id = ?1", &[&id, &now])?;
        Ok(())
    }

    /// Starts a login transaction.
    pub fn insert_transaction(&self, row: &TransactionRow, now: UnixTime) -> StoreResult<()> {
        self.execute(
            "INSERT INTO login_transaction (id, client_id, mailbox, ip, purpose, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[&row.id, &row.client_id, &row.mailbox, &row.ip, &row.purpose.word(), &now, &row.expires_at],
        )?;
        Ok(())
    }

    /// A transaction that has not expired at `now`; expired ones are forgotten on the way.
    pub fn transaction(&self, id: &str, now: UnixTime) -> StoreResult<Option<TransactionRow>> {
        self.execute("DELETE FROM login_transaction WHERE expires_at <= ?1", &[&now])?;
        let sql = "SELECT id, client_id, mailbox, ip, purpose, expires_at FROM login_transaction WHERE id = ?1";
        self.query_opt(sql, &[&id])?
            .map(|r| {
                Ok(TransactionRow {
                    id: r.get("id")?,
                    client_id: r.get("client_id")?,
                    mailbox: r.get("mailbox")?,
                    ip: r.get("ip")?,
                    purpose: parse_stored(&r.get::<String>("purpose")?)?,
                    expires_at: r.get("expires_at")?,
                })
            })
            .transpose()
    }

    /// Keeps a step-up token (its keyed hash) for the client and the mailbox until `expires_at`.
    pub fn insert_step_up(&self, hash: &[u8], client_id: &str, mailbox: &str, expires_at: UnixTime) -> StoreResult<()> {
        self.execute(
            "INSERT INTO step_up (token_hash, client_id, mailbox, expires_at) VALUES (?1, ?2, ?3, ?4)",
            &[&hash, &client_id, &mailbox, &expires_at],
        )?;
        Ok(())
    }

    /// Whether a step-up token (its keyed hash) of the client for the mailbox holds at `now`;
    /// expired ones are forgotten on the way.
    pub fn step_up_holds(&self, hash: &[u8], client_id: &str, mailbox: &str, now: UnixTime) -> StoreResult<bool> {
        self.execute("DELETE FROM step_up WHERE expires_at <= ?1", &[&now])?;
        let found = self.query_opt(
            "SELECT 1 AS found FROM step_up WHERE token_hash = ?1 AND client_id = ?2 AND mailbox = ?3",
            &[&hash, &client_id, &mailbox],
        )?;
        Ok(found.is_some())
    }

    /// Moves a transaction's end (a new code was sent).
    pub fn extend_transaction(&self, id: &str, expires_at: UnixTime) -> StoreResult<()> {
        self.execute("UPDATE login_transaction SET expires_at = ?2 WHERE id = ?1", &[&id, &expires_at])?;
        Ok(())
    }

    /// Ends a transaction (its code was accepted).
    pub fn end_transaction(&self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM login_transaction WHERE id = ?1", &[&id])?;
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
        self.execute(
            "INSERT INTO signin (id, client_id, transaction_id, mailbox, return_url, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[
                &row.id,
                &row.client_id,
                &row.transaction_id,
                &row.mailbox,
                &row.return_url,
                &row.csrf,
                &now,
                &row.expires_at,
            ],
        )?;
        Ok(())
    }

    /// A sign-in that has not expired at `now`; expired ones (and expired tickets) are forgotten on
    /// the way.
    /// Holds a sign-in's code (sealed) until its page is first opened.
    pub fn hold_signin_code(&self, id: &str, sealed: &[u8]) -> StoreResult<()> {
        self.execute("UPDATE signin SET held_code = ?2 WHERE id = ?1", &[&id, &sealed])?;
        Ok(())
    }

    /// Takes the code a sign-in holds, if it still holds one: it is given out once.
    pub fn take_signin_code(&self, id: &str) -> StoreResult<Option<Vec<u8>>> {
        let held: Option<Vec<u8>> = self
            .query_opt("SELECT held_code FROM signin WHERE id = ?1", &[&id])?
            .map(|r| r.get("held_code"))
            .transpose()?
            .flatten();
        if held.is_some() {
            self.execute("UPDATE signin SET held_code = NULL WHERE id = ?1", &[&id])?;
        }
        Ok(held)
    }

    pub fn signin(&self, id: &str, now: UnixTime) -> StoreResult<Option<SigninRow>> {
        self.execute("DELETE FROM signin WHERE expires_at <= ?1", &[&now])?;
        self.execute("DELETE FROM signin_ticket WHERE expires_at <= ?1", &[&now])?;
        self.query_opt(
            "SELECT id, client_id, transaction_id, mailbox, return_url, csrf, expires_at FROM signin WHERE id = ?1",
            &[&id],
        )?
        .map(|r| {
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
        .transpose()
    }

    /// Ends a sign-in.
    pub fn end_signin(&self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM signin WHERE id = ?1", &[&id])?;
        Ok(())
    }

    /// Keeps the hash of a new ticket.
    pub fn insert_ticket(&self, ticket: &TicketRow) -> StoreResult<()> {
        self.execute(
            "INSERT INTO signin_ticket (ticket_hash, client_id, signin_id, mailbox, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &[&ticket.hash, &ticket.client_id, &ticket.signin_id, &ticket.mailbox, &ticket.expires_at],
        )?;
        Ok(())
    }

    /// Takes a ticket: the mailbox it names if it completes the sign-in `signin_id` of
    /// `client_id` and is valid at `now`; a ticket is removed by its first use, whoever presents
    /// it.
    pub fn take_ticket(
        &self,
        hash: &[u8],
        client_id: &str,
        signin_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<String>> {
        let row = self.query_opt(
            "SELECT client_id, signin_id, mailbox, expires_at FROM signin_ticket WHERE ticket_hash = ?1",
            &[&hash],
        )?;
        self.execute("DELETE FROM signin_ticket WHERE ticket_hash = ?1", &[&hash])?;
        let Some(row) = row else { return Ok(None) };
        let valid = row.get::<String>("client_id")? == client_id
            && row.get::<String>("signin_id")? == signin_id
            && row.get::<UnixTime>("expires_at")? > now;
        valid.then(|| row.get("mailbox")).transpose()
    }
}
