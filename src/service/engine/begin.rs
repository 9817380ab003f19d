//! `begin`: whether a login needs a second factor, and if so the enrolment QR code of a new TOTP
//! secret or a one-time code (its hash stored, the code handed back to be sent after the commit);
//! and taking back a code that could not be sent.

use zeroize::Zeroizing;

use super::devices::is_remembered_device;
use super::{Context, EngineError, Origin, PendingCode, RandomSource};
use crate::clock::UnixTime;
use crate::domain::{
    Actor, AuditEntry, AuditOutcome, BeginAnswer, ChallengeMode, EnrolmentState, Mailbox, MailboxAddress, MailboxId,
    Provider, Purpose, Reason, known_since, totp,
};
use crate::service::crypto::to_hex;
use crate::service::store::{StoreError, TotpSecret, Tx};

/// Decides what a login of `address` needs, enrols or stores a code if it needs one, and records
/// the decision. `device` is the token of a device the user may have had remembered; a step-up
/// (`purpose`) is always challenged, whatever the mode and the device.
pub fn begin(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    address: &MailboxAddress,
    origin: &Origin,
    device: Option<&str>,
    purpose: Purpose,
) -> Result<(BeginAnswer, Option<PendingCode>), EngineError> {
    let (mb, created) = match tx.mailbox(address)? {
        Some(mb) => (mb, false),
        None => {
            tx.savepoint(NEW_MAILBOX)?;
            (create_mailbox(tx, cx, address)?, true)
        }
    };
    let (answer, pending) = decide(tx, cx, &mb, origin, device, purpose)?;
    if created {
        // A login that is refused keeps nothing of itself but its audit entry: not even the
        // mailbox its first login would have made.
        if matches!(answer, BeginAnswer::Refused { .. }) {
            tx.rollback_to(NEW_MAILBOX)?;
        } else {
            tx.release(NEW_MAILBOX)?;
        }
    }
    tx.insert_audit(&AuditEntry {
        at: cx.now,
        actor: cx.actor.to_string(),
        mailbox: Some(address.to_string()),
        action: "login.begin".to_owned(),
        ip: Some(origin.ip_text()),
        country: origin.country.clone(),
        outcome: AuditOutcome::of_begin(&answer),
        detail: begin_detail(&answer),
    })?;
    Ok((answer, pending))
}

/// Whether the mode in force wants a second factor for this login: the reason either way. A
/// login from a trusted network (the platform's or the post office's) counts as known in the
/// modes that ask about known places; Prompt Always still asks.
fn challenge_reason(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    origin: &Origin,
) -> Result<Result<Reason, Reason>, StoreError> {
    let since = known_since(cx.now, cx.settings.known_max_age_days);
    let trusted = || {
        let ip = origin.ip.addr();
        cx.settings.trusted_networks.iter().chain(&mb.postoffice_trusted_networks).any(|net| net.contains(ip))
    };
    Ok(match mb.effective_challenge() {
        ChallengeMode::Never => Err(Reason::Never),
        ChallengeMode::Always => Ok(Reason::Always),
        ChallengeMode::NewIp | ChallengeMode::NewCountry if trusted() => Err(Reason::TrustedNetwork),
        ChallengeMode::NewIp if tx.is_known_ip(mb.id, &origin.ip_text(), since)? => Err(Reason::KnownIp),
        ChallengeMode::NewIp => Ok(Reason::NewIp),
        ChallengeMode::NewCountry => match &origin.country {
            None => Ok(Reason::UnknownCountry),
            Some(c) if tx.is_known_country(mb.id, c, since)? => Err(Reason::KnownCountry),
            Some(_) => Ok(Reason::NewCountry),
        },
    })
}

/// Whether to challenge: never past a lock; a step-up always; a login as the mode in force and a
/// remembered device say.
fn decide(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    origin: &Origin,
    device: Option<&str>,
    purpose: Purpose,
) -> Result<(BeginAnswer, Option<PendingCode>), EngineError> {
    let now = cx.now;
    if let Some(wait) = mb.locked_for(now) {
        return Ok((BeginAnswer::Locked { retry_after_s: wait, reason: Some(Reason::Locked) }, None));
    }
    if purpose == Purpose::StepUp {
        return challenge(tx, cx, mb, origin, Reason::StepUp);
    }
    let reason = match challenge_reason(tx, cx, mb, origin)? {
        Ok(reason) => reason,
        Err(allowed) => {
            tx.record_login_without_challenge(mb.id, now)?;
            // A known place that lets a login through is seen again: it does not age out while used.
            match (allowed, &origin.country) {
                (Reason::KnownIp, _) => tx.touch_known_ip(mb.id, &origin.ip_text(), now)?,
                (Reason::KnownCountry, Some(country)) => tx.touch_known_country(mb.id, country, now)?,
                _ => {}
            }
            return Ok((BeginAnswer::Allow { reason: Some(allowed) }, None));
        }
    };
    // A remembered device is let through where a challenge would be asked (never past a lock).
    if let Some(token) = device
        && is_remembered_device(tx, cx, mb, token)?
    {
        tx.record_login_without_challenge(mb.id, now)?;
        return Ok((BeginAnswer::Allow { reason: Some(Reason::RememberedDevice) }, None));
    }
    challenge(tx, cx, mb, origin, reason)
}

/// Challenges the mailbox with its provider: the enrolment QR code of a new TOTP secret, the
/// app's code, or a one-time code (stored as a hash, handed back to be sent).
fn challenge(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    origin: &Origin,
    reason: Reason,
) -> Result<(BeginAnswer, Option<PendingCode>), EngineError> {
    let now = cx.now;
    let Some(provider) = mb.challenge_provider(&tx.providers()?) else {
        return Ok((BeginAnswer::Refused { reason: Reason::NoUsableProvider }, None));
    };
    match provider {
        Provider::Totp => {
            let secret = match tx.totp_secret(mb.id)? {
                Some(s) if s.state == EnrolmentState::Active => {
                    return Ok((BeginAnswer::Challenge { provider, sent_to: None, reason: Some(reason) }, None));
                }
                Some(pending) if !enrolment_expired(&pending, cx) => pending.secret,
                _ => {
                    let mut secret = Zeroizing::new(vec![0u8; totp::SECRET_LEN]);
                    cx.random.fill(&mut secret)?;
                    tx.set_totp_secret(mb.id, &secret, EnrolmentState::Pending, now)?;
                    secret
                }
            };
            let uri = totp::otpauth_uri(&cx.settings.issuer, &mb.address, &secret);
            Ok((BeginAnswer::Enroll { provider, otpauth_uri: uri.to_string(), reason: Some(reason) }, None))
        }
        // The ceremony itself is begun with the login transaction that waits for its answer.
        Provider::Passkey if mb.passkeys > 0 => {
            Ok((BeginAnswer::Challenge { provider, sent_to: None, reason: Some(reason) }, None))
        }
        Provider::Passkey => {
            Ok((BeginAnswer::Enroll { provider, otpauth_uri: String::new(), reason: Some(reason) }, None))
        }
        Provider::Sms | Provider::Smtp => {
            let sent = tx.code_sends_since(mb.id, now - 3600)?;
            if sent.len() as i64 >= cx.settings.code_sends_per_hour {
                let oldest = sent.first().copied().unwrap_or(now);
                let wait = (oldest + 3600 - now).max(1);
                return Ok((BeginAnswer::Locked { retry_after_s: wait, reason: Some(Reason::SendLimit) }, None));
            }
            let (destination, masked) = match provider {
                Provider::Sms => mb.sms_number.as_ref().map(|n| (n.to_string(), n.masked())),
                Provider::Smtp | Provider::Totp | Provider::Passkey => {
                    mb.alt_email.as_ref().map(|e| (e.to_string(), e.masked()))
                }
            }
            .ok_or_else(|| StoreError::Corrupt(format!("{} lost its {provider} destination", mb.address)))?;
            let code = one_time_code(cx.random)?;
            let mut attempt = [0u8; 16];
            cx.random.fill(&mut attempt)?;
            let attempt = to_hex(&attempt);
            let ip = origin.ip_text();
            let hash = tx.key().code_hash(&code_context(mb.id, &attempt, &ip), &code);
            let expires = now + cx.settings.code_lifetime_seconds;
            tx.store_one_time_code(mb.id, &attempt, &ip, provider, &hash, now, expires)?;
            tx.record_code_send(mb.id, now)?;
            let pending = PendingCode { provider, destination, code, attempt, mailbox: mb.id, issued_at: now };
            Ok((BeginAnswer::Challenge { provider, sent_to: Some(masked), reason: Some(reason) }, Some(pending)))
        }
    }
}

/// Voids a code that could not be sent, takes it back from the hourly send limit, and records
/// why: the login that asked for it fails closed and the next `begin` issues a new one.
pub fn void_unsent(
    tx: &Tx<'_>,
    now: UnixTime,
    actor: &Actor,
    address: &MailboxAddress,
    origin: &Origin,
    pending: &PendingCode,
    why: &str,
) -> Result<(), StoreError> {
    withdraw_code(tx, pending)?;
    tx.insert_audit(&AuditEntry {
        at: now,
        actor: actor.to_string(),
        mailbox: Some(address.to_string()),
        action: "login.send_code".to_owned(),
        ip: Some(origin.ip_text()),
        country: origin.country.clone(),
        outcome: AuditOutcome::Failed,
        detail: Some(format!("{}: {why}", pending.provider)),
    })
}

/// Takes back a code that was never sent: it stops working and no longer counts against the
/// hourly send limit.
pub fn withdraw_code(tx: &Tx<'_>, pending: &PendingCode) -> Result<(), StoreError> {
    tx.void_one_time_code(pending.mailbox, &pending.attempt)?;
    tx.forget_code_send(pending.mailbox, pending.issued_at)
}

/// Six digits, uniformly distributed, from the random source.
fn one_time_code(random: &dyn RandomSource) -> Result<Zeroizing<String>, EngineError> {
    // The largest multiple of 10^6 below 2^32: values above it would favour low codes.
    const LIMIT: u32 = 4_294_000_000;
    loop {
        let mut bytes = [0u8; 4];
        random.fill(&mut bytes)?;
        let n = u32::from_le_bytes(bytes);
        if n < LIMIT {
            return Ok(Zeroizing::new(format!("{:06}", n % 1_000_000)));
        }
    }
}

/// Whether a secret is a pending enrolment older than `enroll.pending_hours` (or of unknown age).
pub(super) fn enrolment_expired(secret: &TotpSecret, cx: &Context<'_>) -> bool {
    secret.state == EnrolmentState::Pending
        && secret.created_at.is_none_or(|at| at + cx.settings.enroll_pending_hours * 3600 <= cx.now)
}

/// What binds a one-time code: the mailbox, the `begin` that issued it, and the login's IP.
pub(super) fn code_context(mailbox: MailboxId, attempt: &str, ip: &str) -> String {
    format!("otp:{}:{attempt}:{ip}", mailbox.0)
}

/// The savepoint around a mailbox that a first login makes.
const NEW_MAILBOX: &str = "new_mailbox";

/// Makes a mailbox the store does not know yet with its post office's defaults (a mailbox added
/// on the mail server after the last import).
fn create_mailbox(tx: &Tx<'_>, cx: &Context<'_>, address: &MailboxAddress) -> Result<Mailbox, EngineError> {
    let now = cx.now;
    let po = tx
        .postoffice(&address.postoffice)?
        .ok_or_else(|| EngineError::UnknownPostOffice(address.postoffice.clone()))?;
    tx.insert_mailbox(po.id, &address.mailbox, now)?;
    tx.insert_audit(&AuditEntry {
        at: now,
        actor: cx.actor.to_string(),
        mailbox: Some(address.to_string()),
        action: "mailbox.add".to_owned(),
        outcome: AuditOutcome::Ok,
        detail: Some("first login; post office defaults".to_owned()),
        ..AuditEntry::default()
    })?;
    tx.mailbox(address)?.ok_or_else(|| StoreError::Corrupt(format!("mailbox {address} vanished")).into())
}

fn begin_detail(answer: &BeginAnswer) -> Option<String> {
    let why = |reason: &Option<Reason>| reason.map(|r| format!("; {}", r.word())).unwrap_or_default();
    match answer {
        BeginAnswer::Allow { reason } => reason.map(|r| r.word().to_owned()),
        BeginAnswer::Challenge { provider, sent_to, reason } => Some(format!(
            "{provider}{}{}",
            sent_to.as_ref().map(|s| format!(" sent to {s}")).unwrap_or_default(),
            why(reason)
        )),
        BeginAnswer::Enroll { provider: Provider::Passkey, reason, .. } => {
            Some(format!("passkey registration asked{}", why(reason)))
        }
        BeginAnswer::Enroll { reason, .. } => Some(format!("totp enrolment QR shown{}", why(reason))),
        BeginAnswer::Locked { retry_after_s, reason } => Some(format!("retry after {retry_after_s} s{}", why(reason))),
        BeginAnswer::Refused { reason } => Some(reason.word().to_owned()),
    }
}
