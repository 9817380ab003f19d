//! Remembered devices: a token (only its keyed hash kept, bound to the mailbox) that lets a
//! browser the user chose to remember skip the challenge, until `remember.days` have passed.

use base64::Engine as _;
use zeroize::Zeroizing;

use super::verify::audit_verify;
use super::{Context, EngineError, Origin};
use crate::clock::UnixTime;
use crate::domain::{AuditOutcome, Mailbox, MailboxAddress, MailboxId, Reason, Settings, remembered_since};
use crate::service::store::{StoreError, Tx};

/// A sign-in page opened in a browser the mailbox remembered (`token`): the login goes on as if a
/// code was accepted — recorded, and audited as `login.verify` — unless the mailbox is locked or
/// the device is not (or no longer) remembered. Whether it goes on.
pub fn verify_remembered_device(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    address: &MailboxAddress,
    origin: &Origin,
    token: &str,
) -> Result<bool, EngineError> {
    let Some(mb) = tx.mailbox(address)? else { return Ok(false) };
    if mb.locked_for(cx.now).is_some() || !is_remembered_device(tx, cx, &mb, token)? {
        return Ok(false);
    }
    tx.record_login_without_challenge(mb.id, cx.now)?;
    let detail = Some(Reason::RememberedDevice.word().to_owned());
    audit_verify(tx, cx, address, origin, AuditOutcome::Accepted, detail)?;
    Ok(true)
}

/// Remembers the device of an accepted code: a new token (256 random bits), of which only the
/// keyed hash is kept, bound to the mailbox.
pub(super) fn remember_device(tx: &Tx<'_>, cx: &Context<'_>, mailbox: MailboxId) -> Result<String, EngineError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    cx.random.fill(bytes.as_mut())?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref());
    let hash = tx.key().code_hash(&device_context(mailbox), &token);
    tx.remember_device(mailbox, &hash, cx.now, cx.settings.remember_max_devices)?;
    Ok(token)
}

/// Whether `token` is of a device the mailbox remembered less than `remember.days` ago (and
/// remembering is on), and the mode in force lets a remembered device skip its challenge
/// (Prompt Always does not, unless the post office says so); a remembered device is marked as used.
pub(super) fn is_remembered_device(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    token: &str,
) -> Result<bool, EngineError> {
    let Some(since) = remembered_since(cx.now, cx.settings.remember_days) else { return Ok(false) };
    if !mb.remembered_device_skips_challenge() || token.is_empty() || token.len() > 128 {
        return Ok(false);
    }
    let hash = tx.key().code_hash(&device_context(mb.id), token);
    let created = tx.use_remembered_device(mb.id, &hash, cx.now)?;
    Ok(created.is_some_and(|at| at > since))
}

/// How many devices the mailbox remembers that have not expired (none while remembering is off).
pub fn remembered_devices(
    tx: &Tx<'_>,
    settings: &Settings,
    now: UnixTime,
    mailbox: MailboxId,
) -> Result<i64, StoreError> {
    match remembered_since(now, settings.remember_days) {
        Some(since) => tx.remembered_devices(mailbox, since),
        None => Ok(0),
    }
}

/// What binds a remembered device's hash: the mailbox, so a token works for its mailbox only.
fn device_context(mailbox: MailboxId) -> String {
    format!("device:{}", mailbox.0)
}
