//! Codes an administrator or the user gets in advance: recovery codes (ten, each once) and the
//! temporary access pass (until it expires, or once).

use zeroize::Zeroizing;

use super::{EngineError, RandomSource};
use crate::clock::UnixTime;
use crate::domain::{LetterCode, MailboxId, PASS_LETTERS, RECOVERY_CODES};
use crate::service::store::{StoredAccessPass, Tx};

/// Gives the mailbox a new set of recovery codes, voiding the set before: the codes, to be shown
/// to their user once (only their keyed hashes are kept).
pub fn issue_recovery_codes(
    tx: &Tx<'_>,
    random: &dyn RandomSource,
    mailbox: MailboxId,
    now: UnixTime,
) -> Result<Vec<LetterCode>, EngineError> {
    let codes = new_recovery_codes(random)?;
    let context = recovery_code_context(mailbox);
    let hashes: Vec<Vec<u8>> = codes.iter().map(|code| tx.key().code_hash(&context, code.letters())).collect();
    tx.replace_recovery_codes(mailbox, &hashes, now)?;
    Ok(codes)
}

/// [`RECOVERY_CODES`] new recovery codes, all different: a mailbox's or a web administrator's.
pub fn new_recovery_codes(random: &dyn RandomSource) -> Result<Vec<LetterCode>, EngineError> {
    let mut codes: Vec<LetterCode> = Vec::with_capacity(RECOVERY_CODES);
    while codes.len() < RECOVERY_CODES {
        let mut bytes = Zeroizing::new([0u8; PASS_LETTERS]);
        random.fill(bytes.as_mut())?;
        let code = LetterCode::from_random(&bytes);
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// What binds a recovery code's hash: the mailbox.
pub(super) fn recovery_code_context(mailbox: MailboxId) -> String {
    format!("recovery:{}", mailbox.0)
}

/// Gives the mailbox a new temporary access pass until `expires_at` (or for one login), replacing
/// any it had: the pass, to be given to its user once (only its keyed hash is kept).
pub fn issue_access_pass(
    tx: &Tx<'_>,
    random: &dyn RandomSource,
    mailbox: MailboxId,
    expires_at: UnixTime,
    once: bool,
) -> Result<LetterCode, EngineError> {
    let mut bytes = Zeroizing::new([0u8; PASS_LETTERS]);
    random.fill(bytes.as_mut())?;
    let pass = LetterCode::from_random(&bytes);
    let hash = tx.key().code_hash(&access_pass_context(mailbox), pass.letters());
    tx.set_access_pass(mailbox, &StoredAccessPass { hash, expires_at, once })?;
    Ok(pass)
}

/// What binds an access pass's hash: the mailbox.
pub(super) fn access_pass_context(mailbox: MailboxId) -> String {
    format!("tap:{}", mailbox.0)
}
