//! `verify`: a code typed at login against the TOTP secret (with replay protection), the
//! outstanding one-time code, the access pass or a recovery code; the failure counter and the
//! lock; what an accepted code brings (known places, recovery codes after an enrolment, a
//! remembered device).

use super::begin::{code_context, enrolment_expired};
use super::devices::remember_device;
use super::passes::{access_pass_context, issue_recovery_codes, recovery_code_context};
use super::passkeys::check_ceremony;
use super::{Context, EngineError, Origin, notify};
use crate::domain::{
    AuditEntry, AuditOutcome, Code, EnrolmentState, LetterCode, Mailbox, MailboxAddress, NoticeEvent, Passcode,
    Provider, RejectReason, Verified, VerifyAnswer, known_since, totp,
};
use crate::service::store::{StoreError, Tx};

/// Checks a code typed at login. Right → the IP and country become known and the failure counter
/// clears (and a completed TOTP enrolment brings the mailbox its recovery codes); wrong → the
/// failure counter grows and may lock the mailbox. While locked, every code gets the same answer.
pub fn verify(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    address: &MailboxAddress,
    origin: &Origin,
    passcode: &Passcode,
    remember: bool,
) -> Result<Verified, EngineError> {
    let (verified, detail) = match tx.mailbox(address)? {
        None => (Verified::only(VerifyAnswer::Rejected { reason: RejectReason::NoChallenge }), None),
        Some(mb) => check(tx, cx, &mb, passcode, origin, remember)?,
    };
    audit_verify(tx, cx, address, origin, AuditOutcome::of_verify(verified.answer), detail)?;
    Ok(verified)
}

/// The `login.verify` entry of a checked code (or of a remembered browser let through).
pub(super) fn audit_verify(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    address: &MailboxAddress,
    origin: &Origin,
    outcome: AuditOutcome,
    detail: Option<String>,
) -> Result<(), StoreError> {
    tx.insert_audit(&AuditEntry {
        at: cx.now,
        actor: cx.actor.to_string(),
        mailbox: Some(address.to_string()),
        action: "login.verify".to_owned(),
        ip: Some(origin.ip_text()),
        country: origin.country.clone(),
        outcome,
        detail,
    })
}

fn check(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    passcode: &Passcode,
    origin: &Origin,
    remember: bool,
) -> Result<(Verified, Option<String>), EngineError> {
    if mb.locked_for(cx.now).is_some() {
        let locked = Verified::only(VerifyAnswer::Rejected { reason: RejectReason::Locked });
        return Ok((locked, Some("mailbox locked; code not checked".to_owned())));
    }
    let outcome = match passcode {
        Passcode::Letters(letters) => check_letters(tx, cx, mb, letters, origin)?,
        Passcode::Code(code) => match check_code(tx, cx, mb, code, origin)? {
            Checked::Outcome(outcome) => outcome,
            Checked::Answer(answer, detail) => return Ok((Verified::only(answer), Some(detail))),
        },
    };
    settle(tx, cx, mb, origin, remember, outcome)
}

/// Checks the browser's answer to the passkey ceremony of login transaction `transaction`, as
/// [`verify`] checks a code: the same failure counter, lock and audit entry. The ceremony is
/// answered once, whatever the answer — even while the mailbox is locked.
pub fn verify_passkey(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    (address, origin): (&MailboxAddress, &Origin),
    transaction: &str,
    response: &serde_json::Value,
    remember: bool,
) -> Result<Verified, EngineError> {
    let (verified, detail) = match tx.mailbox(address)? {
        None => {
            tx.take_ceremony(transaction)?;
            (Verified::only(VerifyAnswer::Rejected { reason: RejectReason::NoChallenge }), None)
        }
        Some(mb) if mb.locked_for(cx.now).is_some() => {
            tx.take_ceremony(transaction)?;
            let locked = Verified::only(VerifyAnswer::Rejected { reason: RejectReason::Locked });
            (locked, Some("mailbox locked; passkey not checked".to_owned()))
        }
        Some(mb) => match check_ceremony(tx, cx, &mb, transaction, response)? {
            Checked::Outcome(outcome) => settle(tx, cx, &mb, origin, remember, outcome)?,
            Checked::Answer(answer, detail) => (Verified::only(answer), Some(detail)),
        },
    };
    audit_verify(tx, cx, address, origin, AuditOutcome::of_verify(verified.answer), detail)?;
    Ok(verified)
}

/// What a checked passkey or code comes to: accepted (the known places, the recovery codes of an
/// enrolment, a remembered device), or a failure counted towards the lock.
fn settle(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    origin: &Origin,
    remember: bool,
    outcome: CheckOutcome,
) -> Result<(Verified, Option<String>), EngineError> {
    let now = cx.now;
    let ip = origin.ip_text();
    let rejected = |reason| Verified::only(VerifyAnswer::Rejected { reason });
    match outcome {
        Ok(Accepted { mut detail, enrolled, access_pass }) => {
            let forget_before = known_since(now, cx.settings.known_max_age_days);
            // A country the mailbox never signed in from is news to its user — unless it is the
            // first place it signs in from at all.
            let new_country = match &origin.country {
                Some(country) if cx.settings.notify_enabled => {
                    !tx.is_known_country(mb.id, country, forget_before)?
                        && !tx.known_countries(mb.id, forget_before)?.is_empty()
                }
                _ => false,
            };
            tx.record_success(mb.id, &ip, origin.country.as_deref(), now, forget_before)?;
            if new_country {
                notify(tx, cx, mb, NoticeEvent::NewCountry, Some(origin), None)?;
            }
            let mut verified = Verified::only(VerifyAnswer::Accepted);
            if enrolled {
                let codes = issue_recovery_codes(tx, cx.random, mb.id, now)?;
                let enrolment = detail.unwrap_or_else(|| "totp enrolment completed".to_owned());
                detail = Some(format!("{enrolment}; {} recovery codes issued", codes.len()));
                verified.recovery_codes = Some(codes);
            }
            // An administrator's access pass lets the user in; it does not vouch for the device.
            if remember && !access_pass && cx.settings.remember_days > 0 {
                verified.device_token = Some(remember_device(tx, cx, mb.id)?);
                let remembered = format!("device remembered for {} days", cx.settings.remember_days);
                detail = Some(detail.map_or(remembered.clone(), |d| format!("{d}; {remembered}")));
            }
            Ok((verified, detail))
        }
        Err((reason, detail)) => {
            let lock = cx.settings.lockout().lock_after(mb.failures + 1, mb.lock_count, now);
            tx.record_failure(mb.id, lock)?;
            if lock.is_some() {
                notify(tx, cx, mb, NoticeEvent::Lockout, Some(origin), None)?;
            }
            // The wrong code that locks the mailbox already answers `locked`, so a webmail shows
            // the lock now rather than at the next attempt.
            match lock {
                Some(until) => Ok((
                    rejected(RejectReason::Locked),
                    Some(format!("{detail}; mailbox locked for {} s", until - now)),
                )),
                None => Ok((rejected(reason), Some(detail))),
            }
        }
    }
}

/// What checking a code came to: an outcome that counts (accepted, or a failure towards the
/// lockout), or an answer that ends the check without counting (nothing asked, expired).
pub(super) enum Checked {
    Outcome(CheckOutcome),
    Answer(VerifyAnswer, String),
}

/// An accepted passcode, or why it was refused.
pub(super) type CheckOutcome = Result<Accepted, (RejectReason, String)>;

/// What an accepted passcode adds to the audit entry, whether it completed a TOTP enrolment, and
/// whether it was an administrator's access pass.
#[derive(Default)]
pub(super) struct Accepted {
    pub(super) detail: Option<String>,
    pub(super) enrolled: bool,
    pub(super) access_pass: bool,
}

/// A six-digit code against the mailbox's TOTP secret or its outstanding one-time code.
fn check_code(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    code: &Code,
    origin: &Origin,
) -> Result<Checked, EngineError> {
    let now = cx.now;
    let ip = origin.ip_text();
    let rejected = |reason| VerifyAnswer::Rejected { reason };
    let Some(provider) = mb.challenge_provider(&tx.providers()?) else {
        return Ok(Checked::Answer(rejected(RejectReason::NoChallenge), "no usable provider".to_owned()));
    };
    let outcome = match provider {
        Provider::Totp => match tx.totp_secret(mb.id)? {
            None => return Ok(Checked::Answer(rejected(RejectReason::NoChallenge), "no TOTP secret".to_owned())),
            Some(pending) if enrolment_expired(&pending, cx) => {
                tx.discard_pending_secret(mb.id)?;
                let detail = "pending enrolment expired; the next login shows a new QR code".to_owned();
                return Ok(Checked::Answer(rejected(RejectReason::Expired), detail));
            }
            Some(secret) => match totp::matching_step(&secret.secret, code, now, secret.last_step) {
                Some(step) => {
                    tx.accept_totp_step(mb.id, step)?;
                    Ok(Accepted { enrolled: secret.state == EnrolmentState::Pending, ..Accepted::default() })
                }
                None if totp::matching_step(&secret.secret, code, now, None).is_some() => {
                    Err((RejectReason::InvalidCode, "replayed TOTP code (step already used)".to_owned()))
                }
                None => Err((RejectReason::InvalidCode, "wrong TOTP code".to_owned())),
            },
        },
        Provider::Passkey => {
            let detail = "six digits for a passkey mailbox: it answers with its passkey or a recovery code".to_owned();
            return Ok(Checked::Answer(rejected(RejectReason::NoChallenge), detail));
        }
        Provider::Sms | Provider::Smtp => match tx.one_time_code(mb.id)? {
            None => return Ok(Checked::Answer(rejected(RejectReason::NoChallenge), "no code outstanding".to_owned())),
            Some(pending) if pending.provider != provider => {
                tx.void_one_time_code(mb.id, &pending.attempt)?;
                return Ok(Checked::Answer(rejected(RejectReason::NoChallenge), "provider changed".to_owned()));
            }
            Some(pending) if pending.expires_at <= now => {
                tx.void_one_time_code(mb.id, &pending.attempt)?;
                return Ok(Checked::Answer(rejected(RejectReason::Expired), "code expired".to_owned()));
            }
            Some(pending) => {
                let context = code_context(mb.id, &pending.attempt, &ip);
                if tx.key().code_matches(&context, code.digits(), &pending.code_hash) {
                    tx.void_one_time_code(mb.id, &pending.attempt)?;
                    Ok(Accepted::default())
                } else if pending.ip != ip {
                    Err((RejectReason::InvalidCode, "code issued to another IP address".to_owned()))
                } else {
                    Err((RejectReason::InvalidCode, format!("wrong {provider} code")))
                }
            }
        },
    };
    Ok(Checked::Outcome(outcome))
}

/// Ten letters: the access pass an administrator issued (it stands in for any code until it
/// expires, or once), else one of the mailbox's unused recovery codes (each works once). A
/// pending TOTP enrolment stays pending: the user enrols at a later login.
fn check_letters(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    letters: &LetterCode,
    origin: &Origin,
) -> Result<CheckOutcome, EngineError> {
    let now = cx.now;
    let pass = tx.access_pass(mb.id)?;
    if let Some(stored) = pass.as_ref().filter(|p| p.expires_at > now)
        && tx.key().code_matches(&access_pass_context(mb.id), letters.letters(), &stored.hash)
    {
        if stored.once {
            tx.clear_access_pass(mb.id)?;
        }
        let detail = format!("temporary access pass{}", if stored.once { " (used up)" } else { "" });
        return Ok(Ok(Accepted { detail: Some(detail), enrolled: false, access_pass: true }));
    }
    let hash = tx.key().code_hash(&recovery_code_context(mb.id), letters.letters());
    if tx.use_recovery_code(mb.id, &hash, now)? {
        let left = tx.recovery_codes_left(mb.id)?;
        notify(tx, cx, mb, NoticeEvent::RecoveryCodeUsed, Some(origin), Some(left.to_string()))?;
        return Ok(Ok(Accepted { detail: Some(format!("recovery_code used; {left} left")), ..Accepted::default() }));
    }
    let pass = match pass {
        None => "no access pass issued",
        Some(p) if p.expires_at <= now => "access pass expired",
        Some(_) => "wrong access pass",
    };
    Ok(Err((RejectReason::InvalidCode, format!("{pass}; no unused recovery code matches"))))
}
