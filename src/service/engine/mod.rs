//! The login engine that a webmail calls after the password was accepted: whether to challenge
//! ([`begin`]), enrolment of TOTP apps, one-time codes by SMS or e-mail, verification ([`verify`])
//! with replay protection, throttling and lockout, and an audit entry for every decision.
//!
//! Each function runs inside the caller's transaction: the service opens one `BEGIN IMMEDIATE`
//! per login (or, in the login service, one per batch with a savepoint per login), so servers
//! sharing a store cannot both accept one code. Nothing here sends anything or reads the clock: a
//! code to send comes back as a [`PendingCode`] for the service to deliver after the commit.

use base64::Engine as _;
use thiserror::Error;
use zeroize::Zeroizing;

use super::crypto::{CryptoError, to_hex};
use super::store::{StoreError, StoredAccessPass, TotpSecret, Tx};
use crate::clock::UnixTime;
use crate::domain::{
    AuditEntry, BeginAnswer, ChallengeMode, Code, EnrolmentState, LetterCode, LoginIp, Mailbox, MailboxAddress,
    MailboxId, Notice, NoticeEvent, PASS_LETTERS, Passcode, PostOfficeName, Provider, RECOVERY_CODES, Reason,
    RejectReason, Settings, Verified, VerifyAnswer, known_since, remembered_since, totp,
};

/// Why the engine could not answer at all.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The post office is not in the store.
    #[error("there is no post office {0} in the mailmfa store; add it with `mailmfa postoffice add`")]
    UnknownPostOffice(PostOfficeName),
}

impl From<CryptoError> for EngineError {
    fn from(e: CryptoError) -> Self {
        Self::Store(StoreError::Crypto(e))
    }
}

/// The actor the audit log names for login decisions.
pub const ACTOR: &str = "login";

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

/// What one login step knows besides its input: the time, the settings and the random source.
pub struct Context<'a> {
    /// The time of the step.
    pub now: UnixTime,
    /// The platform settings.
    pub settings: &'a Settings,
    /// Random bytes for secrets, codes and attempt ids.
    pub random: &'a dyn RandomSource,
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

/// Decides what a login of `address` needs, enrols or stores a code if it needs one, and records
/// the decision. `device` is the token of a device the user may have had remembered.
pub fn begin(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    address: &MailboxAddress,
    origin: &Origin,
    device: Option<&str>,
) -> Result<(BeginAnswer, Option<PendingCode>), EngineError> {
    let (mb, created) = match tx.mailbox(address)? {
        Some(mb) => (mb, false),
        None => {
            tx.savepoint(NEW_MAILBOX)?;
            (create_mailbox(tx, address, cx.now)?, true)
        }
    };
    let (answer, pending) = decide(tx, cx, &mb, origin, device)?;
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
        actor: ACTOR.to_owned(),
        mailbox: Some(address.to_string()),
        action: "login.begin".to_owned(),
        ip: Some(origin.ip_text()),
        country: origin.country.clone(),
        outcome: answer.decision().to_owned(),
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

fn decide(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    mb: &Mailbox,
    origin: &Origin,
    device: Option<&str>,
) -> Result<(BeginAnswer, Option<PendingCode>), EngineError> {
    let now = cx.now;
    if let Some(wait) = mb.locked_for(now) {
        return Ok((BeginAnswer::Locked { retry_after_s: wait, reason: Some(Reason::Locked) }, None));
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
        Provider::Sms | Provider::Smtp => {
            let sent = tx.code_sends_since(mb.id, now - 3600)?;
            if sent.len() as i64 >= cx.settings.code_sends_per_hour {
                let oldest = sent.first().copied().unwrap_or(now);
                let wait = (oldest + 3600 - now).max(1);
                return Ok((BeginAnswer::Locked { retry_after_s: wait, reason: Some(Reason::SendLimit) }, None));
            }
            let (destination, masked) = match provider {
                Provider::Sms => mb.sms_number.as_ref().map(|n| (n.to_string(), n.masked())),
                Provider::Smtp | Provider::Totp => mb.alt_email.as_ref().map(|e| (e.to_string(), e.masked())),
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
    address: &MailboxAddress,
    origin: &Origin,
    pending: &PendingCode,
    why: &str,
) -> Result<(), StoreError> {
    withdraw_code(tx, pending)?;
    tx.insert_audit(&AuditEntry {
        at: now,
        actor: ACTOR.to_owned(),
        mailbox: Some(address.to_string()),
        action: "login.send_code".to_owned(),
        ip: Some(origin.ip_text()),
        country: origin.country.clone(),
        outcome: "failed".to_owned(),
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
    let outcome = match verified.answer {
        VerifyAnswer::Accepted => "accepted".to_owned(),
        VerifyAnswer::Rejected { reason } => format!("rejected:{reason}"),
    };
    audit_verify(tx, cx, address, origin, outcome, detail)?;
    Ok(verified)
}

/// The `login.verify` entry of a checked code (or of a remembered browser let through).
fn audit_verify(
    tx: &Tx<'_>,
    cx: &Context<'_>,
    address: &MailboxAddress,
    origin: &Origin,
    outcome: String,
    detail: Option<String>,
) -> Result<(), StoreError> {
    tx.insert_audit(&AuditEntry {
        at: cx.now,
        actor: ACTOR.to_owned(),
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
    let now = cx.now;
    let ip = origin.ip_text();
    let rejected = |reason| Verified::only(VerifyAnswer::Rejected { reason });
    if mb.locked_for(now).is_some() {
        return Ok((rejected(RejectReason::Locked), Some("mailbox locked; code not checked".to_owned())));
    }
    let outcome = match passcode {
        Passcode::Letters(letters) => check_letters(tx, cx, mb, letters, origin)?,
        Passcode::Code(code) => match check_code(tx, cx, mb, code, origin)? {
            Checked::Outcome(outcome) => outcome,
            Checked::Answer(answer, detail) => return Ok((Verified::only(answer), Some(detail))),
        },
    };
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
                detail = Some(format!("totp enrolment completed; {} recovery codes issued", codes.len()));
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

/// Gives the mailbox a new set of recovery codes, voiding the set before: the codes, to be shown
/// to their user once (only their keyed hashes are kept).
pub fn issue_recovery_codes(
    tx: &Tx<'_>,
    random: &dyn RandomSource,
    mailbox: MailboxId,
    now: UnixTime,
) -> Result<Vec<LetterCode>, EngineError> {
    let mut codes: Vec<LetterCode> = Vec::with_capacity(RECOVERY_CODES);
    while codes.len() < RECOVERY_CODES {
        let mut bytes = Zeroizing::new([0u8; PASS_LETTERS]);
        random.fill(bytes.as_mut())?;
        let code = LetterCode::from_random(&bytes);
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    let context = recovery_code_context(mailbox);
    let hashes: Vec<Vec<u8>> = codes.iter().map(|code| tx.key().code_hash(&context, code.letters())).collect();
    tx.replace_recovery_codes(mailbox, &hashes, now)?;
    Ok(codes)
}

/// What checking a code came to: an outcome that counts (accepted, or a failure towards the
/// lockout), or an answer that ends the check without counting (nothing asked, expired).
enum Checked {
    Outcome(CheckOutcome),
    Answer(VerifyAnswer, String),
}

/// An accepted passcode, or why it was refused.
type CheckOutcome = Result<Accepted, (RejectReason, String)>;

/// What an accepted passcode adds to the audit entry, whether it completed a TOTP enrolment, and
/// whether it was an administrator's access pass.
#[derive(Default)]
struct Accepted {
    detail: Option<String>,
    enrolled: bool,
    access_pass: bool,
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
    audit_verify(tx, cx, address, origin, "accepted".to_owned(), detail)?;
    Ok(true)
}

/// Remembers the device of an accepted code: a new token (256 random bits), of which only the
/// keyed hash is kept, bound to the mailbox.
fn remember_device(tx: &Tx<'_>, cx: &Context<'_>, mailbox: MailboxId) -> Result<String, EngineError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    cx.random.fill(bytes.as_mut())?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref());
    let hash = tx.key().code_hash(&device_context(mailbox), &token);
    tx.remember_device(mailbox, &hash, cx.now, cx.settings.remember_max_devices)?;
    Ok(token)
}

/// Whether `token` is of a device the mailbox remembered less than `remember.days` ago (and
/// remembering is on); a remembered device is marked as used.
fn is_remembered_device(tx: &Tx<'_>, cx: &Context<'_>, mb: &Mailbox, token: &str) -> Result<bool, EngineError> {
    let Some(since) = remembered_since(cx.now, cx.settings.remember_days) else { return Ok(false) };
    if token.is_empty() || token.len() > 128 {
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

/// What binds a recovery code's hash: the mailbox.
fn recovery_code_context(mailbox: MailboxId) -> String {
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
fn access_pass_context(mailbox: MailboxId) -> String {
    format!("tap:{}", mailbox.0)
}

/// Whether a secret is a pending enrolment older than `enroll.pending_hours` (or of unknown age).
fn enrolment_expired(secret: &TotpSecret, cx: &Context<'_>) -> bool {
    secret.state == EnrolmentState::Pending
        && secret.created_at.is_none_or(|at| at + cx.settings.enroll_pending_hours * 3600 <= cx.now)
}

/// What binds a one-time code: the mailbox, the `begin` that issued it, and the login's IP.
fn code_context(mailbox: MailboxId, attempt: &str, ip: &str) -> String {
    format!("otp:{}:{attempt}:{ip}", mailbox.0)
}

/// The savepoint around a mailbox that a first login makes.
const NEW_MAILBOX: &str = "new_mailbox";

/// Makes a mailbox the store does not know yet with its post office's defaults (a mailbox added
/// on the mail server after the last import).
fn create_mailbox(tx: &Tx<'_>, address: &MailboxAddress, now: UnixTime) -> Result<Mailbox, EngineError> {
    let po = tx
        .postoffice(&address.postoffice)?
        .ok_or_else(|| EngineError::UnknownPostOffice(address.postoffice.clone()))?;
    tx.insert_mailbox(po.id, &address.mailbox, now)?;
    tx.insert_audit(&AuditEntry {
        at: now,
        actor: ACTOR.to_owned(),
        mailbox: Some(address.to_string()),
        action: "mailbox.add".to_owned(),
        outcome: "ok".to_owned(),
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
        BeginAnswer::Enroll { reason, .. } => Some(format!("totp enrolment QR shown{}", why(reason))),
        BeginAnswer::Locked { retry_after_s, reason } => Some(format!("retry after {retry_after_s} s{}", why(reason))),
        BeginAnswer::Refused { reason } => Some(reason.word().to_owned()),
    }
}
