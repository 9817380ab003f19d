//! The login gate as the faces call it: begin (decide, enrol, or store a code), the delivery of a
//! code after its transaction committed — now, or on a worker thread — and verify; and the test
//! sends of the SMTP relay and the SMS gateway.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::engine::{self, Context, Origin, PendingCode};
use super::store::Tx;
use super::world::Snapshot;
use super::{Service, ServiceError, ServiceResult};
use crate::delivery::{Channels, CodeMessage, CodeSender, DeliveryError};
use crate::domain::{
    Actor, AuditEntry, AuditOutcome, BeginAnswer, EmailAddress, LoginIp, MailboxAddress, MailboxId, Passcode,
    PhoneNumber, Provider, Purpose, Verified,
};

/// What `begin` decided, and the code still to send if it sent one.
pub struct LoginStart {
    /// The decision.
    pub answer: BeginAnswer,
    /// The code to deliver (its hash is stored already); `None` unless a code goes out.
    pub delivery: Option<CodeDelivery>,
}

/// A code to deliver. Sending may take up to the channel's timeout, so it can run on any thread
/// ([`CodeDelivery::send`]); the service then records the outcome ([`Service::finish_delivery`]).
pub struct CodeDelivery {
    sender: Arc<dyn CodeSender>,
    message: CodeMessage,
    pending: PendingCode,
    address: MailboxAddress,
    origin: Origin,
    actor: Actor,
}

/// A code held by a sign-in ([`CodeDelivery::held`]), read back; `None` if it does not read.
pub(super) fn parse_held(text: &str) -> Option<PendingCode> {
    let mut lines = text.split('\n');
    let provider = lines.next()?.parse::<Provider>().ok()?;
    let destination = lines.next()?.to_owned();
    let attempt = lines.next()?.to_owned();
    let mailbox = MailboxId(lines.next()?.parse().ok()?);
    let issued_at = lines.next()?.parse().ok()?;
    let code = Zeroizing::new(lines.next()?.to_owned());
    Some(PendingCode { provider, destination, code, attempt, mailbox, issued_at })
}

/// Whether logins can tell countries apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountryDatabase {
    /// A country database is open.
    Loaded,
    /// None is set (`geoip.path`) or installed: every country is unknown.
    NotConfigured,
    /// The one set could not be opened, and why: every country is unknown until it is fixed.
    Failed(String),
}

impl CountryDatabase {
    /// The state in a word: `loaded`, `not_configured` or `failed`.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Loaded => "loaded",
            Self::NotConfigured => "not_configured",
            Self::Failed(_) => "failed",
        }
    }
}

/// A delivery that was attempted, for [`Service::finish_delivery`].
pub struct SentCode {
    delivery: CodeDelivery,
    result: Result<(), DeliveryError>,
}

impl SentCode {
    /// The channel it went through: `sms` or `email`.
    pub fn channel(&self) -> &'static str {
        self.delivery.pending.provider.word()
    }

    /// Whether the relay or gateway took it.
    pub fn was_sent(&self) -> bool {
        self.result.is_ok()
    }
}

impl CodeDelivery {
    fn of(snapshot: &Snapshot, actor: &Actor, address: &MailboxAddress, origin: Origin, pending: PendingCode) -> Self {
        Self {
            message: CodeMessage::for_code(&snapshot.settings, pending.provider, &pending.code, &address.to_string()),
            sender: Arc::clone(&snapshot.sender),
            pending,
            address: address.clone(),
            origin,
            actor: actor.clone(),
        }
    }

    /// The code and where it goes, as text for a hosted sign-in to hold (sealed) until its page
    /// is first opened: provider, destination, attempt, mailbox id, issue time and code, a line
    /// each.
    pub(super) fn held(&self) -> Zeroizing<String> {
        let p = &self.pending;
        Zeroizing::new(format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            p.provider.word(),
            p.destination,
            p.attempt,
            p.mailbox.0,
            p.issued_at,
            p.code.as_str()
        ))
    }

    /// Sends the code through its channel (blocking, up to the channel's timeout).
    pub fn send(self) -> SentCode {
        let result = self.sender.send(self.pending.provider, &self.pending.destination, &self.message);
        SentCode { delivery: self, result }
    }
}

impl Service {
    /// Decides what a login of `address` from `ip` needs and enrols or stores a code if it needs
    /// one — without sending the code yet: see [`LoginStart::delivery`]. `device` is the token of
    /// a device the user may have had remembered.
    pub fn decide_login(
        &self,
        address: &MailboxAddress,
        ip: LoginIp,
        device: Option<&str>,
    ) -> ServiceResult<LoginStart> {
        let attempt = self.store.write(|tx| self.decide_login_in(tx, &self.actor, address, ip, device, Purpose::Login));
        self.audit_failed_attempt("login.begin", address, ip, attempt)
    }

    /// [`Service::decide_login`] inside the caller's transaction, for a sign-in or a step-up, asked
    /// by `actor` (the API client, the user on the hosted pages).
    pub(super) fn decide_login_in(
        &self,
        tx: &Tx<'_>,
        actor: &Actor,
        address: &MailboxAddress,
        ip: LoginIp,
        device: Option<&str>,
        purpose: Purpose,
    ) -> ServiceResult<LoginStart> {
        let (snapshot, origin) = self.login_world(tx, ip)?;
        let cx = self.context(&snapshot, actor);
        let (answer, pending) = engine::begin(tx, &cx, address, &origin, device, purpose)?;
        let delivery = pending.map(|pending| CodeDelivery::of(&snapshot, actor, address, origin, pending));
        Ok(LoginStart { answer, delivery })
    }

    /// The delivery of a code a hosted sign-in held back (see [`CodeDelivery::held`]), to send now
    /// for `actor`.
    pub(super) fn held_delivery(
        &self,
        tx: &Tx<'_>,
        actor: &Actor,
        address: &MailboxAddress,
        ip: LoginIp,
        held: &str,
    ) -> ServiceResult<Option<CodeDelivery>> {
        let Some(pending) = parse_held(held) else { return Ok(None) };
        let (snapshot, origin) = self.login_world(tx, ip)?;
        Ok(Some(CodeDelivery::of(&snapshot, actor, address, origin, pending)))
    }

    /// Records how a delivery went. A code that could not be sent is voided — it neither stays
    /// usable nor counts against the mailbox's send limit — and the failure audited; the error is
    /// returned: the login fails closed.
    pub fn finish_delivery(&self, sent: SentCode) -> ServiceResult<()> {
        let SentCode { delivery, result } = sent;
        let Err(e) = result else { return Ok(()) };
        let now = self.now();
        self.store.write(|tx| {
            engine::void_unsent(
                tx,
                now,
                &delivery.actor,
                &delivery.address,
                &delivery.origin,
                &delivery.pending,
                &e.to_string(),
            )
        })?;
        Err(ServiceError::Delivery(e))
    }

    /// Decides what a login needs and, if a code goes out, sends it before answering.
    pub fn begin_login(&self, address: &MailboxAddress, ip: LoginIp) -> ServiceResult<BeginAnswer> {
        self.deliver(self.decide_login(address, ip, None)?)
    }

    /// Sends the code a decision stored, if any; the decision, once it is out.
    fn deliver(&self, start: LoginStart) -> ServiceResult<BeginAnswer> {
        let LoginStart { answer, delivery } = start;
        if let Some(delivery) = delivery {
            self.finish_delivery(delivery.send())?;
        }
        Ok(answer)
    }

    /// Checks the code typed at login (six digits; anything else is bad input, not a failure,
    /// though it is audited like every attempt).
    pub fn verify_login(&self, address: &MailboxAddress, ip: LoginIp, code: &str) -> ServiceResult<Verified> {
        self.verify_login_remembering(address, ip, code, false)
    }

    /// [`Service::verify_login`]; with `remember`, an accepted code also remembers the device
    /// (when `remember.days` allows) and the answer carries its token.
    pub fn verify_login_remembering(
        &self,
        address: &MailboxAddress,
        ip: LoginIp,
        code: &str,
        remember: bool,
    ) -> ServiceResult<Verified> {
        let attempt = code.parse::<Passcode>().map_err(ServiceError::from).and_then(|code| {
            self.store.write(|tx| self.verify_login_in(tx, &self.actor, address, ip, &code, remember))
        });
        self.send_notices_later();
        self.audit_failed_attempt("login.verify", address, ip, attempt)
    }

    /// [`Service::verify_login_remembering`] inside the caller's transaction, asked by `actor`.
    pub(super) fn verify_login_in(
        &self,
        tx: &Tx<'_>,
        actor: &Actor,
        address: &MailboxAddress,
        ip: LoginIp,
        code: &Passcode,
        remember: bool,
    ) -> ServiceResult<Verified> {
        let (snapshot, origin) = self.login_world(tx, ip)?;
        let cx = self.context(&snapshot, actor);
        Ok(engine::verify(tx, &cx, address, &origin, code, remember)?)
    }

    /// Begins the passkey ceremony that login transaction `transaction` of `address` waits for,
    /// for `relying_party`, and keeps its state in the transaction: the options for the browser.
    pub(super) fn start_passkey_ceremony(
        &self,
        tx: &Tx<'_>,
        actor: &Actor,
        (address, transaction): (&MailboxAddress, &str),
        relying_party: &engine::RelyingParty,
    ) -> ServiceResult<serde_json::Value> {
        let snapshot = self.world.current(tx)?;
        let cx = self.context(&snapshot, actor);
        let mailbox = tx.mailbox(address)?.ok_or_else(|| ServiceError::NoMailbox(address.clone()))?;
        let start = engine::start_ceremony(tx, &cx, &mailbox, relying_party)?;
        tx.hold_ceremony(transaction, &start.state)?;
        Ok(start.options)
    }

    /// Checks the browser's answer to the passkey ceremony of login transaction `transaction`.
    pub(super) fn verify_passkey_in(
        &self,
        tx: &Tx<'_>,
        actor: &Actor,
        (address, ip): (&MailboxAddress, LoginIp),
        transaction: &str,
        response: &serde_json::Value,
        remember: bool,
    ) -> ServiceResult<Verified> {
        let (snapshot, origin) = self.login_world(tx, ip)?;
        let cx = self.context(&snapshot, actor);
        Ok(engine::verify_passkey(tx, &cx, (address, &origin), transaction, response, remember)?)
    }

    /// Whether a sign-in page opened in a browser remembered for the mailbox (`token`, its cookie)
    /// may go on without a code; if so the login is recorded and audited as accepted.
    pub(super) fn remembered_device_in(
        &self,
        tx: &Tx<'_>,
        actor: &Actor,
        address: &MailboxAddress,
        ip: LoginIp,
        token: &str,
    ) -> ServiceResult<bool> {
        let (snapshot, origin) = self.login_world(tx, ip)?;
        let cx = self.context(&snapshot, actor);
        Ok(engine::verify_remembered_device(tx, &cx, address, &origin, token)?)
    }

    /// `login begin` as a webmail typed it, with the address and IP as they came (input that does
    /// not parse is refused and audited like every other attempt), on a device the user may have
    /// had remembered (its token); a code goes out before the answer.
    pub fn begin_login_as_typed(&self, address: &str, ip: &str, device: Option<&str>) -> ServiceResult<BeginAnswer> {
        let (address, ip) = self.login_input("login.begin", address, ip)?;
        self.deliver(self.decide_login(&address, ip, device)?)
    }

    /// `login verify` as a webmail typed it, with the address, IP and code as they came.
    pub fn verify_login_as_typed(
        &self,
        address: &str,
        ip: &str,
        code: &str,
        remember: bool,
    ) -> ServiceResult<Verified> {
        let (address, ip) = self.login_input("login.verify", address, ip)?;
        self.verify_login_remembering(&address, ip, code, remember)
    }

    /// What a login step needs from outside the store: the settings snapshot, and where the login
    /// comes from (its country looked up).
    fn login_world(&self, tx: &Tx<'_>, ip: LoginIp) -> ServiceResult<(Snapshot, Origin)> {
        let snapshot = self.snapshot_for_login(tx)?;
        let origin = Origin { ip, country: snapshot.countries.country(ip.addr()) };
        Ok((snapshot, origin))
    }

    /// The engine's context for a step now, under `snapshot`'s settings, asked by `actor`.
    pub(super) fn context<'a>(&'a self, snapshot: &'a Snapshot, actor: &'a Actor) -> Context<'a> {
        Context { now: self.now(), settings: &snapshot.settings, random: self.world.random.as_ref(), actor }
    }

    /// Whether the login gate has a country database: read from the store's settings (so a store
    /// that cannot be read fails here).
    pub fn country_database(&self) -> ServiceResult<CountryDatabase> {
        let snapshot = self.store.read(|tx| self.world.current(tx))?;
        Ok(snapshot.country_database())
    }

    /// Why the country database cannot be used, if it cannot (every country is unknown meanwhile).
    pub fn country_database_problem(&self) -> ServiceResult<Option<String>> {
        let snapshot = self.store.read(|tx| self.world.current(tx))?;
        Ok(snapshot.geo_problem.map(|e| e.to_string()))
    }

    /// The snapshot a login uses; a new one whose country database failed is audited (once per
    /// snapshot, in the login's transaction).
    fn snapshot_for_login(&self, tx: &Tx<'_>) -> ServiceResult<Snapshot> {
        let super::world::Refreshed { snapshot, is_new } = self.world.refresh(tx)?;
        if let Some(problem) = snapshot.geo_problem.as_ref().filter(|_| is_new) {
            tx.insert_audit(&AuditEntry {
                at: self.now(),
                actor: self.actor.to_string(),
                action: "geoip.unavailable".to_owned(),
                outcome: AuditOutcome::Failed,
                detail: Some(format!("{problem}; every country is unknown until it is fixed")),
                ..AuditEntry::default()
            })?;
        }
        Ok(snapshot)
    }

    /// Parses a login's address and IP, auditing input that does not parse.
    fn login_input(&self, action: &str, address: &str, ip: &str) -> ServiceResult<(MailboxAddress, LoginIp)> {
        parse_login(address, ip).inspect_err(|e| {
            let entry = attempt_entry(
                self.now(),
                &self.actor,
                action,
                Some(shown(address)),
                Some(shown(ip)),
                AuditOutcome::InvalidInput,
                e,
            );
            self.record(&entry);
        })
    }

    /// Audits a login attempt that ended in an error (the engine audits every decision itself).
    fn audit_failed_attempt<T>(
        &self,
        action: &str,
        address: &MailboxAddress,
        ip: LoginIp,
        attempt: ServiceResult<T>,
    ) -> ServiceResult<T> {
        if let Err(e) = &attempt {
            let outcome =
                if matches!(e, ServiceError::Domain(_)) { AuditOutcome::InvalidInput } else { AuditOutcome::Error };
            let entry = attempt_entry(
                self.now(),
                &self.actor,
                action,
                Some(address.to_string()),
                Some(ip.to_string()),
                outcome,
                e,
            );
            self.record(&entry);
        }
        attempt
    }

    /// Writes an audit entry of something that did not happen, in a transaction of its own. Best
    /// effort: when the store itself failed, this write may fail too, and the first error is what
    /// the caller reports.
    pub(super) fn record(&self, entry: &AuditEntry) {
        let recorded: Result<(), _> = self.store.write(|tx| tx.insert_audit(entry));
        drop(recorded);
    }

    /// Prepares a test message through `provider`'s channel to `destination` (an E.164 number for
    /// SMS, an e-mail address for SMTP), checking that the channel is configured.
    pub fn prepare_test_send(&self, provider: Provider, destination: &str) -> ServiceResult<TestSend> {
        let destination = match provider {
            Provider::Sms => destination.parse::<PhoneNumber>()?.to_string(),
            Provider::Smtp => destination.parse::<EmailAddress>()?.to_string(),
            Provider::Totp | Provider::Passkey => return Err(ServiceError::NothingToTest),
        };
        let snapshot = self.store.read(|tx| self.world.current(tx))?;
        Channels::new((*snapshot.settings).clone()).check(provider).map_err(ServiceError::TestSend)?;
        Ok(TestSend { provider, destination, sender: snapshot.sender })
    }

    /// Records a finished test send in the audit log (`ok`, or `failed` with the reason) and
    /// returns its outcome.
    pub fn record_test_send(&self, test: &TestSend, result: Result<(), DeliveryError>) -> ServiceResult<()> {
        let TestSend { provider, destination, .. } = test;
        let entry = AuditEntry {
            at: self.now(),
            actor: self.actor.to_string(),
            action: "provider.send_test".to_owned(),
            outcome: AuditOutcome::of_result(&result),
            detail: Some(match &result {
                Ok(()) => format!("{provider} to {destination}"),
                Err(e) => format!("{provider} to {destination}: {e}"),
            }),
            ..AuditEntry::default()
        };
        self.store.write(|tx| tx.insert_audit(&entry))?;
        result.map_err(ServiceError::TestSend)
    }

    /// Sends a test message and records it: [`Service::prepare_test_send`], the send, and
    /// [`Service::record_test_send`] in one call.
    pub fn send_test(&self, provider: Provider, destination: &str) -> ServiceResult<TestSend> {
        let test = self.prepare_test_send(provider, destination)?;
        let result = test.send();
        self.record_test_send(&test, result)?;
        Ok(test)
    }
}

/// One test message through a provider's channel, ready to send on any thread. The text carries
/// no code.
pub struct TestSend {
    provider: Provider,
    destination: String,
    sender: Arc<dyn CodeSender>,
}

impl TestSend {
    /// The provider whose channel is tested.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Where the message goes.
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// Sends the message (blocking, up to the channel's timeout).
    pub fn send(&self) -> Result<(), DeliveryError> {
        self.sender.send(self.provider, &self.destination, &CodeMessage::test())
    }
}

/// Input as the audit log keeps it when it does not parse: escaped, on one line, shortened.
pub(super) fn shown(raw: &str) -> String {
    const MAX: usize = 64;
    let cut: String = raw.chars().take(MAX).collect();
    let text = format!("{cut:?}");
    if raw.chars().count() > MAX { format!("{text}…") } else { text }
}

/// A login's address and IP as they came.
pub(super) fn parse_login(address: &str, ip: &str) -> ServiceResult<(MailboxAddress, LoginIp)> {
    Ok((address.parse()?, ip.parse()?))
}

/// The audit entry of a login attempt that did not reach a decision.
pub(super) fn attempt_entry(
    at: crate::clock::UnixTime,
    actor: &Actor,
    action: &str,
    mailbox: Option<String>,
    ip: Option<String>,
    outcome: AuditOutcome,
    why: &ServiceError,
) -> AuditEntry {
    AuditEntry {
        at,
        actor: actor.to_string(),
        mailbox,
        action: action.to_owned(),
        ip,
        outcome,
        detail: Some(why.to_string()),
        ..AuditEntry::default()
    }
}
