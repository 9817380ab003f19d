//! The login engine that a webmail calls after the password was accepted: whether to challenge
//! ([`begin`]), enrolment of TOTP apps, one-time codes by SMS or e-mail, verification ([`verify`])
//! with replay protection, throttling and lockout, and an audit entry for every decision.
//!
//! Each function runs inside the caller's transaction: the service opens one `BEGIN IMMEDIATE`
//! per login (or, in the login service, one per batch with a savepoint per login), so servers
//! sharing a store cannot both accept one code. Nothing here sends anything or reads the clock: a
//! code to send comes back as a [`PendingCode`] for the service to deliver after the commit.

mod begin;
mod devices;
mod passes;
mod passkeys;
mod verify;

use thiserror::Error;
use zeroize::Zeroizing;

pub use begin::{begin, void_unsent, withdraw_code};
pub use devices::{remembered_devices, verify_remembered_device};
pub use passes::{issue_access_pass, issue_recovery_codes, new_recovery_codes};
pub use passkeys::{RelyingParty, finish_registration, start_ceremony, start_registration};
pub use verify::{verify, verify_passkey};

use super::crypto::CryptoError;
use super::store::{StoreError, Tx};
use crate::clock::UnixTime;
use crate::domain::{Actor, LoginIp, Mailbox, MailboxId, Notice, NoticeEvent, PostOfficeName, Provider, Settings};

/// Why the engine could not answer at all.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The post office is not in the store.
    #[error("there is no post office {0} in the mailmfa store")]
    UnknownPostOffice(PostOfficeName),
    /// A passkey ceremony could not be made or read (its relying party is not valid).
    #[error("passkeys: {0}")]
    Passkey(String),
}

impl From<CryptoError> for EngineError {
    fn from(e: CryptoError) -> Self {
        Self::Store(StoreError::Crypto(e))
    }
}

/// A source of cryptographically secure random bytes.
pub trait RandomSource: Send + Sync {
    /// Fills `buf`.
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError>;
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        super::crypto::random_bytes(buf)
    }
}

/// What one login step knows besides its input: the time, the settings, the random source, and
/// who asked (the actor its audit entries name).
pub struct Context<'a> {
    /// The time of the step.
    pub now: UnixTime,
    /// The platform settings.
    pub settings: &'a Settings,
    /// Random bytes for secrets, codes and attempt ids.
    pub random: &'a dyn RandomSource,
    /// Who asked: the API client, the user on the hosted pages, the administrator previewing.
    pub actor: &'a Actor,
}

/// Where a login comes from.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The IP address.
    pub ip: LoginIp,
    /// Its country, if known.
    pub country: Option<String>,
}

impl Origin {
    fn ip_text(&self) -> String {
        self.ip.to_string()
    }
}

/// A one-time code whose hash is stored, to be sent once the transaction has committed.
pub struct PendingCode {
    /// SMS or SMTP.
    pub provider: Provider,
    /// The E.164 number or e-mail address.
    pub destination: String,
    /// The six digits.
    pub code: Zeroizing<String>,
    /// The `begin` that issued it (voided with it if it cannot be sent).
    pub attempt: String,
    /// Whose code it is.
    pub mailbox: MailboxId,
    /// When it was issued (and counted against the hourly send limit).
    pub issued_at: UnixTime,
}

/// Queues a notification to the mailbox, when notifications are on: it goes out after the commit.
pub fn notify(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    event: NoticeEvent,
    origin: Option<&Origin>,
    detail: Option<String>,
) -> Result<(), StoreError> {
    if !cx.settings.notify_enabled {
        return Ok(());
    }
    tx.queue_notice(&Notice {
        mailbox: mb.address.to_string(),
        event,
        at: cx.now,
        ip: origin.map(Origin::ip_text),
        country: origin.and_then(|o| o.country.clone()),
        detail,
    })
}
