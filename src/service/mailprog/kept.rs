//! Where the mail sign-in check reads the store: a read transaction, or — while the store has not
//! changed since — what earlier checks on the same connection read.
//!
//! A mail server asks again and again about the same mailboxes and app passwords; the rows behind
//! the answers change rarely. Each reader connection keeps what its checks read (the settings, each mailbox's standing, each app password's row or its absence, by keyed hash),
//! stamped with the store's [`Stamp`]. A check first reads the stamp (one statement, no
//! transaction): while it is unchanged, no connection in any process committed anything since, and
//! what was kept is what a transaction would read. Any commit at all — an app password removed, a
//! policy changed, a login — moves the stamp and empties the keep, so nothing is ever answered from
//! a row that has changed. PostgreSQL has no stamp: there every check reads in a transaction.

use std::collections::HashMap;
use std::sync::Arc;

use super::super::api::Caller;
use super::super::store::{ClientRow, Stamp, Tx};
use super::super::{Service, ServiceError, StoreError};
use crate::domain::{AppPassword, MailProgramStanding, MailboxAddress, MailboxId, Settings};

/// The most rows kept (mailboxes and app passwords each); beyond it the keep starts again, so a
/// stream of made-up names or passwords cannot grow it without end.
const MOST: usize = 100_000;

/// What one connection's checks read, as of one stamp.
#[derive(Default)]
pub struct KeptReads {
    stamp: Option<Stamp>,
    settings: Option<(Arc<Settings>, i64)>,
    standings: HashMap<MailboxAddress, Option<MailProgramStanding>>,
    app_passwords: HashMap<(MailboxId, Vec<u8>), Option<AppPassword>>,
}

impl KeptReads {
    /// Forgets everything unless it was read at `stamp`.
    fn as_of(&mut self, stamp: Option<Stamp>) {
        if self.stamp != stamp || stamp.is_none() {
            *self = Self { stamp, ..Self::default() };
        }
    }

    /// Forgets everything (the service's replacements changed).
    pub fn forget(&mut self) {
        *self = Self::default();
    }
}

/// A read a check needs.
pub(super) trait MailReads {
    /// What a failed read is.
    type Error: From<ServiceError> + From<StoreError>;

    /// The settings, and the API clients' version.
    fn settings(&self) -> Result<(Arc<Settings>, i64), Self::Error>;

    /// The API client whose key the caller sent, checked against its keyed hash and networks;
    /// an error that is a refusal also counts against the caller's budget.
    fn client(&self, caller: &Caller, clients_version: i64) -> Result<Arc<ClientRow>, Self::Error>;

    /// The mailbox's standing for mail programs, if mailmfa knows it.
    fn standing(&self, address: &MailboxAddress) -> Result<Option<MailProgramStanding>, Self::Error>;

    /// The mailbox's app password with this keyed hash, if it has one.
    fn app_password(&self, mailbox: MailboxId, hash: Vec<u8>) -> Result<Option<AppPassword>, Self::Error>;

    /// Whether the error is a refusal or a failure (not merely a read not kept).
    fn is_refusal(error: &Self::Error) -> bool;
}

/// Reading in a transaction, and keeping what was read under the transaction's stamp.
pub(super) struct InTransaction<'s, 't, 'c> {
    service: &'s Service,
    tx: &'t Tx<'c>,
    stamp: Option<Stamp>,
}

impl<'s, 't, 'c> InTransaction<'s, 't, 'c> {
    pub(super) fn new(service: &'s Service, tx: &'t Tx<'c>) -> Result<Self, StoreError> {
        let stamp = tx.stamp()?;
        service.world.mail.borrow_mut().as_of(stamp);
        Ok(Self { service, tx, stamp })
    }

    /// Runs `keep` on the keep, if there is one for this transaction's stamp.
    fn keep(&self, keep: impl FnOnce(&mut KeptReads)) {
        let mut kept = self.service.world.mail.borrow_mut();
        if self.stamp.is_some() && kept.stamp == self.stamp {
            keep(&mut kept);
        }
    }
}

impl MailReads for InTransaction<'_, '_, '_> {
    type Error = ServiceError;

    fn settings(&self) -> Result<(Arc<Settings>, i64), ServiceError> {
        let snapshot = self.service.world.current(self.tx)?;
        let settings = (snapshot.settings, snapshot.clients_version);
        self.keep(|kept| kept.settings = Some(settings.clone()));
        Ok(settings)
    }

    fn client(&self, caller: &Caller, clients_version: i64) -> Result<Arc<ClientRow>, ServiceError> {
        self.service.verified_client(self.tx, caller, clients_version)
    }

    fn standing(&self, address: &MailboxAddress) -> Result<Option<MailProgramStanding>, ServiceError> {
        let standing = self.tx.mail_program_standing(address)?;
        self.keep(|kept| {
            if kept.standings.len() >= MOST {
                kept.standings.clear();
            }
            kept.standings.insert(address.clone(), standing);
        });
        Ok(standing)
    }

    fn app_password(&self, mailbox: MailboxId, hash: Vec<u8>) -> Result<Option<AppPassword>, ServiceError> {
        let found = self.tx.app_password_by_hash(mailbox, &hash)?;
        self.keep(|kept| {
            if kept.app_passwords.len() >= MOST {
                kept.app_passwords.clear();
            }
            kept.app_passwords.insert((mailbox, hash), found.clone());
        });
        Ok(found)
    }

    fn is_refusal(_: &ServiceError) -> bool {
        true
    }
}

/// A read the keep could not answer, or a refusal or failure.
pub(super) enum Missed {
    /// Not kept (or the store moved on): read it in a transaction.
    NotKept,
    /// Refused or failed, as a transaction would have.
    Failed(ServiceError),
}

impl From<ServiceError> for Missed {
    fn from(e: ServiceError) -> Self {
        Self::Failed(e)
    }
}

impl From<StoreError> for Missed {
    fn from(e: StoreError) -> Self {
        Self::Failed(e.into())
    }
}

/// Reading only what was kept at `stamp`, the store's stamp now.
pub(super) struct FromKeep<'s> {
    pub service: &'s Service,
    pub stamp: Stamp,
}

impl FromKeep<'_> {
    fn kept<T>(&self, read: impl FnOnce(&KeptReads) -> Option<T>) -> Result<T, Missed> {
        let kept = self.service.world.mail.borrow();
        if kept.stamp != Some(self.stamp) {
            return Err(Missed::NotKept);
        }
        read(&kept).ok_or(Missed::NotKept)
    }
}

impl MailReads for FromKeep<'_> {
    type Error = Missed;

    fn settings(&self) -> Result<(Arc<Settings>, i64), Missed> {
        self.kept(|kept| kept.settings.clone())
    }

    fn client(&self, caller: &Caller, clients_version: i64) -> Result<Arc<ClientRow>, Missed> {
        self.service.verified_kept_client(caller, clients_version)?.ok_or(Missed::NotKept)
    }

    fn standing(&self, address: &MailboxAddress) -> Result<Option<MailProgramStanding>, Missed> {
        self.kept(|kept| kept.standings.get(address).copied())
    }

    fn app_password(&self, mailbox: MailboxId, hash: Vec<u8>) -> Result<Option<AppPassword>, Missed> {
        self.kept(|kept| kept.app_passwords.get(&(mailbox, hash)).cloned())
    }

    fn is_refusal(error: &Missed) -> bool {
        matches!(error, Missed::Failed(_))
    }
}
