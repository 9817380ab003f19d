//! The login engine that a webmail calls after the password was accepted: whether to challenge
//! ([`Engine::begin`]), enrolment of TOTP apps, one-time codes by SMS or e-mail, verification
//! ([`Engine::verify`]) with replay protection, throttling and lockout, and an audit entry for
//! every decision. Every read-check-write runs in one `BEGIN IMMEDIATE` transaction, so servers
//! sharing a store cannot both accept one code.

mod deps;
pub mod totp;

use std::fmt;

use serde::Serialize;
use thiserror::Error;
use zeroize::Zeroizing;

pub use deps::{
    CodeMessage, CodeSender, DeliverySettings, EngineDeps, OsRandom, RandomSource, SettingsSender, country_lookup,
};

use crate::clock::UnixTime;
use crate::crypto::{CryptoError, to_hex};
use crate::delivery::DeliveryError;
use crate::domain::{ChallengeMode, Code, EnrolmentState, LoginIp, MailboxAddress, Provider, ProviderSwitches};
use crate::store::{AuditEntry, MailboxRecord, Store, StoreError, Tx};

/// Why the engine decided as it did (the `reason` of the JSON answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The mailbox's mode is Never.
    Never,
    /// The mailbox's mode is Prompt Always.
    Always,
    /// The IP address is already known for the mailbox.
    KnownIp,
    /// The IP address is new for the mailbox.
    NewIp,
    /// The country is already known for the mailbox.
    KnownCountry,
    /// The country is new for the mailbox.
    NewCountry,
    /// The country of the address could not be resolved.
    UnknownCountry,
    /// Too many codes were sent to the mailbox in the last hour.
    SendLimit,
    /// Too many wrong codes: the mailbox is locked.
    Locked,
    /// No enabled provider has the data to reach the mailbox.
    NoUsableProvider,
}

impl Reason {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::Always => "always",
            Self::KnownIp => "known_ip",
            Self::NewIp => "new_ip",
            Self::KnownCountry => "known_country",
            Self::NewCountry => "new_country",
            Self::UnknownCountry => "unknown_country",
            Self::SendLimit => "send_limit",
            Self::Locked => "locked",
            Self::NoUsableProvider => "no_usable_provider",
        }
    }

    /// The reason in an administrator's words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Never => "the mailbox is never challenged",
            Self::Always => "the mailbox is challenged on every login",
            Self::KnownIp => "the IP address is known for this mailbox",
            Self::NewIp => "the IP address is new for this mailbox",
            Self::KnownCountry => "the country is known for this mailbox",
            Self::NewCountry => "the country is new for this mailbox",
            Self::UnknownCountry => "the country of the IP address is unknown",
            Self::SendLimit => "too many codes were sent in the last hour",
            Self::Locked => "too many wrong codes",
            Self::NoUsableProvider => "no enabled provider can reach this mailbox",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// What `login begin` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum BeginAnswer {
    /// Let the login through without a second factor.
    Allow {
        /// Why.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// Ask for a code: from the TOTP app, or the one just sent by SMS or e-mail.
    Challenge {
        /// Where the code comes from.
        provider: Provider,
        /// The masked destination of a sent code.
        #[serde(skip_serializing_if = "Option::is_none")]
        sent_to: Option<String>,
        /// Why.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// Show the QR code of a new TOTP secret, then ask for the first code from it.
    Enroll {
        /// Always TOTP.
        provider: Provider,
        /// The key URI the QR code carries.
        otpauth_uri: String,
        /// Why a challenge is due.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// Refuse for now: the mailbox is locked (or sent too many codes).
    Locked {
        /// Seconds until the lock ends.
        retry_after_s: i64,
        /// Why.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// Refuse: the mailbox must be challenged but no enabled provider can reach it.
    Refused {
        /// Why.
        reason: Reason,
    },
}

impl BeginAnswer {
    /// The `decision` word.
    pub fn decision(&self) -> &'static str {
        match self {
            Self::Allow { .. } => "allow",
            Self::Challenge { .. } => "challenge",
            Self::Enroll { .. } => "enroll",
            Self::Locked { .. } => "locked",
            Self::Refused { .. } => "refused",
        }
    }

    /// The reason, if any.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::Allow { reason } | Self::Challenge { reason, .. } | Self::Enroll { reason, .. } => *reason,
            Self::Locked { reason, .. } => *reason,
            Self::Refused { reason } => Some(*reason),
        }
    }

    /// Whether the login may go on (allowed, or waiting for a code).
    pub fn proceeds(&self) -> bool {
        !matches!(self, Self::Locked { .. } | Self::Refused { .. })
    }
}

/// Why a code was refused (the `reason` of `login verify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Wrong, replayed or out-of-window code.
    InvalidCode,
    /// The mailbox is locked; the code was not even looked at.
    Locked,
    /// The one-time code expired.
    Expired,
    /// Nothing was asked of this mailbox.
    NoChallenge,
}

impl RejectReason {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::InvalidCode => "invalid_code",
            Self::Locked => "locked",
            Self::Expired => "expired",
            Self::NoChallenge => "no_challenge",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// What `login verify` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum VerifyAnswer {
    /// The code is right: the login may go on.
    Accepted,
    /// The code is refused.
    Rejected {
        /// Why.
        reason: RejectReason,
    },
}

/// Why the engine could not answer at all.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The post office is not in the store.
    #[error("there is no post office {0} in the mailmfa store; add it with `mailmfa postoffice add`")]
    UnknownPostOffice(String),
    /// The code could not be delivered; the login is refused (fail closed).
    #[error("the code could not be sent, so the login cannot continue: {0}")]
    Delivery(#[from] DeliveryError),
    /// The GeoIP database could not be read.
    #[error("{0}")]
    Geo(String),
    /// Malformed input.
    #[error(transparent)]
    Domain(#[from] crate::domain::DomainError),
}

impl From<CryptoError> for EngineError {
    fn from(e: CryptoError) -> Self {
        Self::Store(StoreError::Crypto(e))
    }
}

/// The actor the audit log names for login decisions.
const ACTOR: &str = "login";

/// The engine over one store.
pub struct Engine<'a> {
    store: &'a Store,
    deps: EngineDeps,
}

/// A one-time code to send once the transaction that stored its hash has committed.
struct PendingSend {
    provider: Provider,
    destination: String,
    code: Zeroizing<String>,
    attempt: String,
    mailbox_id: crate::domain::MailboxId,
}

impl<'a> Engine<'a> {
    /// An engine over `store` with the given outside world.
    pub fn new(store: &'a Store, deps: EngineDeps) -> Self {
        Self { store, deps }
    }

    fn now(&self) -> UnixTime {
        self.deps.clock.now()
    }

    /// Decides what a login of `address` from `ip` needs, enrols or sends a code if it needs one,
    /// and records the decision.
    pub fn begin(&self, address: &MailboxAddress, ip: LoginIp) -> Result<BeginAnswer, EngineError> {
        let now = self.now();
        let country = self.deps.countries.country(ip.addr());
        let ip_text = ip.to_string();
        let (answer, send) = self.store.write(|tx| -> Result<_, EngineError> {
            let mb = mailbox_or_create(tx, address, now)?;
            let settings = LoginSettings::read(tx)?;
            let (answer, send) = self.decide(tx, &mb, &ip_text, country.as_deref(), now, &settings)?;
            tx.insert_audit(&AuditEntry {
                at: now,
                actor: ACTOR.to_owned(),
                mailbox: Some(address.to_string()),
                action: "login.begin".to_owned(),
                ip: Some(ip_text.clone()),
                country: country.clone(),
                outcome: answer.decision().to_owned(),
                detail: begin_detail(&answer),
            })?;
            Ok((answer, send))
        })?;
        if let Some(send) = send {
            self.deliver(address, &ip_text, country.as_deref(), send)?;
        }
        Ok(answer)
    }

    fn decide(
        &self,
        tx: &Tx<'_>,
        mb: &MailboxRecord,
        ip: &str,
        country: Option<&str>,
        now: UnixTime,
        settings: &LoginSettings,
    ) -> Result<(BeginAnswer, Option<PendingSend>), EngineError> {
        if let Some(wait) = mb.locked_for(now) {
            return Ok((BeginAnswer::Locked { retry_after_s: wait, reason: Some(Reason::Locked) }, None));
        }
        let reason = match mb.effective_challenge() {
            ChallengeMode::Never => None,
            ChallengeMode::Always => Some(Reason::Always),
            ChallengeMode::NewIp if tx.is_known_ip(mb.id, ip)? => None,
            ChallengeMode::NewIp => Some(Reason::NewIp),
            ChallengeMode::NewCountry => match country {
                None => Some(Reason::UnknownCountry),
                Some(c) if tx.is_known_country(mb.id, c)? => None,
                Some(_) => Some(Reason::NewCountry),
            },
        };
        let Some(reason) = reason else {
            tx.record_login_without_challenge(mb.id, now)?;
            let why = match mb.effective_challenge() {
                ChallengeMode::Never => Reason::Never,
                ChallengeMode::NewIp => Reason::KnownIp,
                _ => Reason::KnownCountry,
            };
            return Ok((BeginAnswer::Allow { reason: Some(why) }, None));
        };
        let Some(provider) = effective_provider(tx, mb)? else {
            return Ok((BeginAnswer::Refused { reason: Reason::NoUsableProvider }, None));
        };
        match provider {
            Provider::Totp => {
                let issuer = &settings.issuer;
                let secret = match tx.totp_secret(mb.id)? {
                    Some(s) if s.state == EnrolmentState::Active => {
                        return Ok((BeginAnswer::Challenge { provider, sent_to: None, reason: Some(reason) }, None));
                    }
                    Some(pending) => pending.secret,
                    None => {
                        let mut secret = Zeroizing::new(vec![0u8; totp::SECRET_LEN]);
                        self.deps.random.fill(&mut secret)?;
                        tx.set_totp_secret(mb.id, &secret, EnrolmentState::Pending)?;
                        secret
                    }
                };
                let uri = totp::otpauth_uri(issuer, &mb.address, &secret);
                Ok((BeginAnswer::Enroll { provider, otpauth_uri: uri.to_string(), reason: Some(reason) }, None))
            }
            Provider::Sms | Provider::Smtp => {
                let window_start = now - 3600;
                let sent = tx.code_sends_since(mb.id, window_start)?;
                if sent.len() as i64 >= settings.sends_per_hour {
                    let oldest = sent.first().copied().unwrap_or(now);
                    let wait = (oldest + 3600 - now).max(1);
                    return Ok((BeginAnswer::Locked { retry_after_s: wait, reason: Some(Reason::SendLimit) }, None));
                }
                let (destination, masked) = match provider {
                    Provider::Sms => mb.sms_number.as_ref().map(|n| (n.to_string(), n.masked())),
                    _ => mb.alt_email.as_ref().map(|e| (e.to_string(), e.masked())),
                }
                .ok_or_else(|| StoreError::Corrupt(format!("{} lost its {provider} destination", mb.address)))?;
                let code = self.one_time_code()?;
                let mut attempt = [0u8; 16];
                self.deps.random.fill(&mut attempt)?;
                let attempt = to_hex(&attempt);
                let hash = tx.key().code_hash(&code_context(mb.id, &attempt, ip), &code);
                tx.store_one_time_code(mb.id, &attempt, ip, provider, &hash, now, now + settings.code_lifetime)?;
                tx.record_code_send(mb.id, now)?;
                let send = PendingSend { provider, destination, code, attempt, mailbox_id: mb.id };
                Ok((BeginAnswer::Challenge { provider, sent_to: Some(masked), reason: Some(reason) }, Some(send)))
            }
        }
    }

    /// Sends a code after its hash was committed; on failure voids it and records why.
    fn deliver(
        &self,
        address: &MailboxAddress,
        ip: &str,
        country: Option<&str>,
        send: PendingSend,
    ) -> Result<(), EngineError> {
        let settings = DeliverySettings::read(self.store)?;
        let message = settings.code_message(send.provider, &send.code, &address.to_string());
        match self.deps.sender.send(send.provider, &send.destination, &message) {
            Ok(()) => Ok(()),
            Err(e) => {
                let now = self.now();
                self.store.write(|tx| -> Result<(), StoreError> {
                    tx.void_one_time_code(send.mailbox_id, &send.attempt)?;
                    tx.insert_audit(&AuditEntry {
                        at: now,
                        actor: ACTOR.to_owned(),
                        mailbox: Some(address.to_string()),
                        action: "login.send_code".to_owned(),
                        ip: Some(ip.to_owned()),
                        country: country.map(str::to_owned),
                        outcome: "failed".to_owned(),
                        detail: Some(format!("{}: {e}", send.provider)),
                    })
                })?;
                Err(EngineError::Delivery(e))
            }
        }
    }

    /// Six digits, uniformly distributed, from the random source.
    fn one_time_code(&self) -> Result<Zeroizing<String>, EngineError> {
        // The largest multiple of 10^6 below 2^32: values above it would favour low codes.
        const LIMIT: u32 = 4_294_000_000;
        loop {
            let mut bytes = [0u8; 4];
            self.deps.random.fill(&mut bytes)?;
            let n = u32::from_le_bytes(bytes);
            if n < LIMIT {
                return Ok(Zeroizing::new(format!("{:06}", n % 1_000_000)));
            }
        }
    }

    /// Checks a code typed at login. Right → the IP and country become known and the failure
    /// counter clears; wrong → the failure counter grows and may lock the mailbox. While locked,
    /// every code gets the same answer.
    pub fn verify(&self, address: &MailboxAddress, ip: LoginIp, code: &str) -> Result<VerifyAnswer, EngineError> {
        let code: Code = code.parse()?;
        let now = self.now();
        let country = self.deps.countries.country(ip.addr());
        let ip_text = ip.to_string();
        let answer = self.store.write(|tx| -> Result<_, EngineError> {
            let settings = LoginSettings::read(tx)?;
            let (answer, detail) = match tx.mailbox(address)? {
                None => (VerifyAnswer::Rejected { reason: RejectReason::NoChallenge }, None),
                Some(mb) => self.check(tx, &mb, &code, &ip_text, country.as_deref(), now, &settings)?,
            };
            let outcome = match answer {
                VerifyAnswer::Accepted => "accepted".to_owned(),
                VerifyAnswer::Rejected { reason } => format!("rejected:{reason}"),
            };
            tx.insert_audit(&AuditEntry {
                at: now,
                actor: ACTOR.to_owned(),
                mailbox: Some(address.to_string()),
                action: "login.verify".to_owned(),
                ip: Some(ip_text.clone()),
                country: country.clone(),
                outcome,
                detail,
            })?;
            Ok(answer)
        })?;
        Ok(answer)
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        tx: &Tx<'_>,
        mb: &MailboxRecord,
        code: &Code,
        ip: &str,
        country: Option<&str>,
        now: UnixTime,
        settings: &LoginSettings,
    ) -> Result<(VerifyAnswer, Option<String>), EngineError> {
        let rejected = |reason| VerifyAnswer::Rejected { reason };
        if mb.locked_for(now).is_some() {
            return Ok((rejected(RejectReason::Locked), Some("mailbox locked; code not checked".to_owned())));
        }
        let Some(provider) = effective_provider(tx, mb)? else {
            return Ok((rejected(RejectReason::NoChallenge), Some("no usable provider".to_owned())));
        };
        let outcome: Result<Option<String>, (RejectReason, String)> = match provider {
            Provider::Totp => match tx.totp_secret(mb.id)? {
                None => return Ok((rejected(RejectReason::NoChallenge), Some("no TOTP secret".to_owned()))),
                Some(secret) => match totp::matching_step(&secret.secret, code, now, secret.last_step) {
                    Some(step) => {
                        tx.accept_totp_step(mb.id, step)?;
                        let enrolled = secret.state == EnrolmentState::Pending;
                        Ok(enrolled.then(|| "totp enrolment completed".to_owned()))
                    }
                    None if totp::matching_step(&secret.secret, code, now, None).is_some() => {
                        Err((RejectReason::InvalidCode, "replayed TOTP code (step already used)".to_owned()))
                    }
                    None => Err((RejectReason::InvalidCode, "wrong TOTP code".to_owned())),
                },
            },
            Provider::Sms | Provider::Smtp => match tx.one_time_code(mb.id)? {
                None => return Ok((rejected(RejectReason::NoChallenge), Some("no code outstanding".to_owned()))),
                Some(pending) if pending.provider != provider => {
                    tx.void_one_time_code(mb.id, &pending.attempt)?;
                    return Ok((rejected(RejectReason::NoChallenge), Some("provider changed".to_owned())));
                }
                Some(pending) if pending.expires_at <= now => {
                    tx.void_one_time_code(mb.id, &pending.attempt)?;
                    return Ok((rejected(RejectReason::Expired), Some("code expired".to_owned())));
                }
                Some(pending) => {
                    let context = code_context(mb.id, &pending.attempt, ip);
                    if tx.key().code_matches(&context, code.digits(), &pending.code_hash) {
                        tx.void_one_time_code(mb.id, &pending.attempt)?;
                        Ok(None)
                    } else if pending.ip != ip {
                        Err((RejectReason::InvalidCode, "code issued to another IP address".to_owned()))
                    } else {
                        Err((RejectReason::InvalidCode, format!("wrong {provider} code")))
                    }
                }
            },
        };
        match outcome {
            Ok(detail) => {
                tx.record_success(mb.id, ip, country, now)?;
                Ok((VerifyAnswer::Accepted, detail))
            }
            Err((reason, detail)) => {
                let locked = tx.record_failure(mb.id, now, settings.lockout_threshold, settings.lockout_seconds)?;
                let detail = match locked {
                    Some(until) => format!("{detail}; mailbox locked for {} s", until - now),
                    None => detail,
                };
                Ok((rejected(reason), Some(detail)))
            }
        }
    }
}

/// One test message through a provider's channel (SMTP relay or SMS gateway), prepared from the
/// settings so that the sending can run on another thread; [`TestSend::record`] then writes its audit
/// entry. The text carries no code.
pub struct TestSend {
    provider: Provider,
    destination: String,
    sender: SettingsSender,
}

impl TestSend {
    /// Reads the settings and checks that the channel of `provider` is configured.
    pub fn prepare(store: &Store, provider: Provider, destination: &str) -> Result<Self, EngineError> {
        let settings = DeliverySettings::read(store)?;
        match provider {
            Provider::Smtp => drop(settings.smtp_relay()?),
            Provider::Sms => drop(settings.sms_gateway()?),
            Provider::Totp => {
                return Err(EngineError::Delivery(DeliveryError::Config {
                    service: crate::delivery::Service::SmtpRelay,
                    detail: "TOTP codes come from the user's app; test sms or smtp".to_owned(),
                }));
            }
        }
        Ok(Self { provider, destination: destination.to_owned(), sender: SettingsSender::new(settings) })
    }

    /// Sends the message (blocking, up to the channel's timeout).
    pub fn send(&self) -> Result<(), DeliveryError> {
        let message = CodeMessage {
            subject: "mailmfa test message".to_owned(),
            body: Zeroizing::new(
                "This is a test message from mailmfa: the delivery of sign-in codes works.".to_owned(),
            ),
        };
        self.sender.send(self.provider, &self.destination, &message)
    }

    /// Writes the audit entry of a finished test: `ok`, or `failed` with the reason.
    pub fn record(&self, store: &Store, actor: &str, now: UnixTime, failure: Option<&str>) -> Result<(), StoreError> {
        record_test_send(store, actor, now, self.provider, &self.destination, failure)
    }
}

/// Writes the audit entry of a finished test send: `ok`, or `failed` with the reason.
pub fn record_test_send(
    store: &Store,
    actor: &str,
    now: UnixTime,
    provider: Provider,
    destination: &str,
    failure: Option<&str>,
) -> Result<(), StoreError> {
    store.write(|tx| {
        tx.insert_audit(&AuditEntry {
            at: now,
            actor: actor.to_owned(),
            action: "provider.send_test".to_owned(),
            outcome: if failure.is_none() { "ok" } else { "failed" }.to_owned(),
            detail: Some(match failure {
                None => format!("{provider} to {destination}"),
                Some(e) => format!("{provider} to {destination}: {e}"),
            }),
            ..AuditEntry::default()
        })
    })
}

/// The settings a login reads, once per transaction.
struct LoginSettings {
    issuer: String,
    lockout_threshold: i64,
    lockout_seconds: i64,
    code_lifetime: i64,
    sends_per_hour: i64,
}

impl LoginSettings {
    fn read(tx: &Tx<'_>) -> Result<Self, StoreError> {
        let get = |key: &str| -> Result<Zeroizing<String>, StoreError> { tx.setting(crate::domain::setting(key)?) };
        let number = |key: &str, default: i64| -> Result<i64, StoreError> { Ok(get(key)?.parse().unwrap_or(default)) };
        Ok(Self {
            issuer: get("issuer")?.to_string(),
            lockout_threshold: number("lockout.threshold", 5)?.clamp(1, 100),
            lockout_seconds: number("lockout.seconds", 60)?.max(1),
            code_lifetime: number("code.lifetime_seconds", 600)?.clamp(30, 600),
            sends_per_hour: number("code.sends_per_hour", 6)?.max(1),
        })
    }
}

/// What binds a one-time code: the mailbox, the `begin` that issued it, and the login's IP.
fn code_context(mailbox: crate::domain::MailboxId, attempt: &str, ip: &str) -> String {
    format!("otp:{}:{attempt}:{ip}", mailbox.0)
}

/// The mailbox, created with its post office's defaults if the post office knows it not yet
/// (a mailbox added on the mail server after the last import).
fn mailbox_or_create(tx: &Tx<'_>, address: &MailboxAddress, now: UnixTime) -> Result<MailboxRecord, EngineError> {
    if let Some(mb) = tx.mailbox(address)? {
        return Ok(mb);
    }
    let po = tx
        .postoffice(&address.postoffice)?
        .ok_or_else(|| EngineError::UnknownPostOffice(address.postoffice.to_string()))?;
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

/// The provider a challenge uses: the mailbox's own if enabled and set up, else the first enabled
/// provider (strongest first) the mailbox has data for.
fn effective_provider(tx: &Tx<'_>, mb: &MailboxRecord) -> Result<Option<Provider>, StoreError> {
    let switches = tx.providers()?;
    let enabled = |p: Provider| switches.iter().any(|(q, s): &(Provider, ProviderSwitches)| *q == p && s.enabled);
    if enabled(mb.provider) && mb.has_data_for(mb.provider, false) {
        return Ok(Some(mb.provider));
    }
    Ok(Provider::ALL.into_iter().filter(|p| *p != mb.provider).find(|p| enabled(*p) && mb.has_data_for(*p, true)))
}

fn begin_detail(answer: &BeginAnswer) -> Option<String> {
    match answer {
        BeginAnswer::Allow { reason } => reason.map(|r| r.word().to_owned()),
        BeginAnswer::Challenge { provider, sent_to, reason } => Some(format!(
            "{provider}{}{}",
            sent_to.as_ref().map(|s| format!(" sent to {s}")).unwrap_or_default(),
            reason.map(|r| format!("; {}", r.word())).unwrap_or_default()
        )),
        BeginAnswer::Enroll { reason, .. } => {
            Some(format!("totp enrolment QR shown{}", reason.map(|r| format!("; {}", r.word())).unwrap_or_default()))
        }
        BeginAnswer::Locked { retry_after_s, reason } => Some(format!(
            "retry after {retry_after_s} s{}",
            reason.map(|r| format!("; {}", r.word())).unwrap_or_default()
        )),
        BeginAnswer::Refused { reason } => Some(reason.word().to_owned()),
    }
}
