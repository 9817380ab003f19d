//! The login service's side of the front door (docs/DESIGN.md §8): API clients and their keys,
//! and the requests of the JSON API. Each request is a type of its own ([`ApiRequest`]) with the
//! answer it gives, so a face gets back exactly what it asked for; [`Service::api_batch`] runs the
//! requests that arrived together in one durable commit — each in a savepoint of its own, so one
//! request's failure spoils no other — and hands each its answer only after the commit.
//!
//! The requests live by what they serve: `login.rs` (begin, verify, resend), `users.rs` (a
//! webmail's settings page), `app_passwords.rs` (its *Mail programs* page), `passkeys.rs` (its
//! *Passkeys* page), and the hosted sign-in pages in `../signin.rs`.

mod app_passwords;
mod clients;
mod login;
mod passkeys;
mod users;

use std::net::IpAddr;
use std::sync::Arc;

pub use app_passwords::{AddAppPasswordRequest, AppPasswordsView, ListAppPasswordsRequest, RemoveAppPasswordRequest};
pub(in crate::service) use clients::in_scope;
pub use clients::{ApiClient, ClientKey, ClientScope, MetricsRequest};
pub use login::{
    BeginRequest, Begun, EnrolmentRequest, Proof, ResendRequest, STEP_UP_SECONDS, Transaction, VerifyRequest,
};
pub use passkeys::{
    BeginPasskeyRequest, FinishPasskeyRequest, ListPasskeysRequest, PasskeyFinished, PasskeyRegistration, PasskeysView,
    RemovePasskeyRequest, RenamePasskeyRequest,
};
pub use users::{
    Choice, ForgetDevicesRequest, NewRecoveryCodes, NewRecoveryCodesRequest, ShowUserSettingsRequest, UserChoices,
    UserSettings, UserSettingsRequest, UserSettingsView,
};

use super::login::{CodeDelivery, attempt_entry};
use super::store::{ClientRow, Tx};
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{Actor, AuditEntry, AuditOutcome, MailboxAddress};

/// Who calls: the bearer key as sent (if any), the address the connection comes from, and the
/// budget its requests are counted against.
#[derive(Clone)]
pub struct Caller {
    /// The `Authorization: Bearer` key.
    pub key: Option<String>,
    /// The connection's source address.
    pub source: IpAddr,
    /// Where a verified client's request, or a failed key, is counted (the login service's
    /// rates); `None` counts nothing.
    pub budget: Option<Arc<dyn CallBudget>>,
}

impl Caller {
    /// A caller whose requests count against nothing (tests, tools).
    pub fn new(key: Option<String>, source: IpAddr) -> Self {
        Self { key, source, budget: None }
    }
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller").field("source", &self.source).finish_non_exhaustive()
    }
}

/// The budget of a caller's requests. A verified client's is spent only by its failed requests
/// (refused, or a wrong code or ticket), so a webmail's own logins never hold it back while a
/// stolen key used for guessing soon turns the client away; a wrong key naming its id costs it
/// nothing. A failed key is counted against its source.
pub trait CallBudget: Send + Sync {
    /// Whether the verified client's budget of failed requests is not spent, or in how many
    /// seconds it is back.
    fn client(&self, client_id: &str) -> Result<(), u64>;
    /// Counts a failed request of the verified client.
    fn client_failed(&self, client_id: &str);
    /// Counts a request whose key was missing, wrong, or sent from an address its client may not
    /// call from.
    fn failed(&self, source: IpAddr);
}

/// A request of the JSON API: what it asks, and how the service answers it inside the batch's
/// transaction.
pub trait ApiRequest: Send + 'static {
    /// What it answers.
    type Answer: Send + 'static;

    /// Its audit action (`login.begin`).
    fn action(&self) -> &'static str;

    /// The mailbox and IP address a failure of it is audited with, as they were sent.
    fn subject(&self) -> (Option<String>, Option<String>) {
        (None, None)
    }

    /// Whether only an API client may ask it (a sign-in page is reached by its unguessable
    /// address instead).
    fn needs_client(&self) -> bool {
        true
    }

    /// Answers it inside the caller's transaction.
    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<Self::Answer>>;

    /// Whether an answer says the caller guessed wrong (a code or ticket that is not right):
    /// counted against the client's budget like a refusal.
    fn guessed_wrong(_answer: &Self::Answer) -> bool {
        false
    }
}

/// What a request runs with: the service, the batch's transaction, who called, and the API client
/// whose key was checked (none for a sign-in page).
pub struct CallContext<'a> {
    pub(in crate::service) service: &'a Service,
    pub(in crate::service) tx: &'a Tx<'a>,
    pub(in crate::service) caller: &'a Caller,
    client: Option<&'a ClientRow>,
}

impl CallContext<'_> {
    /// The checked client; a request that needs one is never run without it.
    pub(in crate::service) fn client(&self) -> ServiceResult<&ClientRow> {
        self.client.ok_or(ServiceError::NoApiKey)
    }

    /// The checked client as the audit log names it (`api:<name>`): the actor of what it asks on
    /// its own behalf.
    pub(in crate::service) fn client_actor(&self) -> ServiceResult<Actor> {
        Ok(Actor::Api(self.client()?.name.clone()))
    }

    /// Whether the client brought a step-up token for the mailbox: what a sensitive change needs.
    pub(in crate::service) fn step_up(&self, address: &MailboxAddress, token: Option<&str>) -> ServiceResult<()> {
        self.service.check_step_up(self.tx, &self.client()?.id, address, token)
    }

    /// The mailbox named in a request, if the client may act for its post office.
    pub(in crate::service) fn mailbox(&self, raw: &str) -> ServiceResult<MailboxAddress> {
        let address: MailboxAddress = raw.parse()?;
        clients::in_scope(self.client()?, &address)?;
        Ok(address)
    }
}

/// A request's answer, and the code it still has to send (after the commit).
pub struct Done<T> {
    /// The answer.
    pub answer: T,
    /// A code to deliver before the answer is sent.
    pub delivery: Option<CodeDelivery>,
}

impl<T> Done<T> {
    /// An answer with nothing to send.
    pub(in crate::service) fn only(answer: T) -> Self {
        Self { answer, delivery: None }
    }
}

/// One request's result, and the code it still has to send (after the commit).
pub struct ApiOutcome<T> {
    /// The answer, or why there is none.
    pub result: ServiceResult<T>,
    /// A code to deliver before the answer is sent.
    pub delivery: Option<CodeDelivery>,
    /// The name of the API client whose key was verified, for the request's log line.
    pub client: Option<String>,
}

impl<T> ApiOutcome<T> {
    /// No answer, for `error`, and no client verified.
    pub fn failed(error: ServiceError) -> Self {
        Self { result: Err(error), delivery: None, client: None }
    }
}

/// A request on its way through a batch, with where its answer goes.
pub struct ApiJob(Box<dyn Job>);

impl ApiJob {
    /// `request` from `caller`; `reply` gets its outcome once the batch is durable.
    pub fn new<R: ApiRequest>(
        caller: Caller,
        request: R,
        reply: impl FnOnce(ApiOutcome<R::Answer>) + Send + 'static,
    ) -> Self {
        Self(Box::new(Pending { caller, request, reply: Some(Box::new(reply)), outcome: None, client_id: None }))
    }
}

/// A job of a batch, whatever its request.
trait Job: Send {
    /// Runs the request in a savepoint of `tx`, keeping its outcome. An error here (the savepoint
    /// could not be kept or undone) breaks the whole batch.
    fn run_in(&mut self, service: &Service, tx: &Tx<'_>) -> ServiceResult<()>;
    /// Hands the kept outcome, or `failure` when the batch failed, to the reply.
    fn answer(self: Box<Self>, failure: Option<ServiceError>);
}

/// The reply of a request.
type Reply<T> = Box<dyn FnOnce(ApiOutcome<T>) + Send>;

struct Pending<R: ApiRequest> {
    caller: Caller,
    request: R,
    reply: Option<Reply<R::Answer>>,
    outcome: Option<ApiOutcome<R::Answer>>,
    /// The id of the client whose key was verified, whose budget a failed outcome spends.
    client_id: Option<String>,
}

impl<R: ApiRequest> Job for Pending<R> {
    fn run_in(&mut self, service: &Service, tx: &Tx<'_>) -> ServiceResult<()> {
        const CALL: &str = "api_call";
        tx.savepoint(CALL)?;
        let client =
            if self.request.needs_client() { service.authenticate(tx, &self.caller).map(Some) } else { Ok(None) };
        // A refusal names the client whose key was checked; one whose caller is not known yet
        // (no key, a wrong one, a sign-in page) names the login service's door.
        let (name, id) = match &client {
            Ok(Some(client)) => (Some(client.name.clone()), Some(client.id.clone())),
            _ => (None, None),
        };
        self.client_id = id;
        let actor = name.clone().map_or(Actor::Service("http"), Actor::Api);
        let result = client.and_then(|client| {
            let cx = CallContext { service, tx, caller: &self.caller, client: client.as_ref() };
            self.request.run(&cx)
        });
        self.outcome = Some(match result {
            Ok(Done { answer, delivery }) => {
                tx.release(CALL)?;
                ApiOutcome { result: Ok(answer), delivery, client: name }
            }
            Err(e) => {
                tx.rollback_to(CALL)?;
                // A client over its rate is counted with the other refusals at the door (one entry
                // a minute), not a row per request.
                if !matches!(e, ServiceError::TooManyRequests(_)) {
                    tx.insert_audit(&service.api_failure(&actor, &self.caller, &self.request, &e))?;
                }
                ApiOutcome { result: Err(e), delivery: None, client: name }
            }
        });
        Ok(())
    }

    fn answer(mut self: Box<Self>, failure: Option<ServiceError>) {
        let outcome = match (failure, self.outcome.take()) {
            (Some(e), _) => ApiOutcome::failed(e),
            (None, Some(outcome)) => outcome,
            (None, None) => ApiOutcome::failed(super::StoreError::Busy.into()),
        };
        // Counted once, on the outcome the caller gets (a batch whose commit failed runs its
        // requests again one by one).
        let failed = match &outcome.result {
            Ok(answer) => R::guessed_wrong(answer),
            Err(e) => e.is_callers_failure(),
        };
        if let (true, Some(id), Some(budget)) = (failed, &self.client_id, &self.caller.budget) {
            budget.client_failed(id);
        }
        if let Some(reply) = self.reply.take() {
            reply(outcome);
        }
    }
}

impl Service {
    /// Runs the requests that arrived together: one write transaction, a savepoint per request,
    /// one commit; then each reply gets its outcome, durable by then. Should the commit itself
    /// fail, each request is run again on its own, so each gets its own answer or error.
    pub fn api_batch(&self, mut jobs: Vec<ApiJob>) {
        let together =
            self.store.write(|tx| -> ServiceResult<()> { jobs.iter_mut().try_for_each(|job| job.0.run_in(self, tx)) });
        match together {
            Ok(()) => {
                self.send_notices_later();
                jobs.into_iter().for_each(|job| job.0.answer(None));
            }
            Err(_) if jobs.len() > 1 => jobs.into_iter().for_each(|job| self.api_batch(vec![job])),
            Err(e) => {
                if let Some(job) = jobs.pop() {
                    job.0.answer(Some(e));
                }
            }
        }
    }

    /// Runs one request on its own (tests and tools that do not go through HTTP).
    pub fn api_call<R: ApiRequest>(&self, caller: Caller, request: R) -> ApiOutcome<R::Answer> {
        let (send, receive) = std::sync::mpsc::channel();
        self.api_batch(vec![ApiJob::new(caller, request, move |outcome| drop(send.send(outcome)))]);
        receive.recv().unwrap_or_else(|_| ApiOutcome::failed(super::StoreError::Busy.into()))
    }

    /// The audit entry of a request that failed.
    fn api_failure<R: ApiRequest>(&self, actor: &Actor, caller: &Caller, request: &R, e: &ServiceError) -> AuditEntry {
        let (mailbox, ip) = request.subject();
        let (action, outcome) = match e {
            ServiceError::NoApiKey | ServiceError::BadApiKey | ServiceError::SourceNotAllowed(_) => {
                ("api.auth", AuditOutcome::Refused)
            }
            ServiceError::OutOfScope(_) | ServiceError::MetricsNotAllowed => (request.action(), AuditOutcome::Refused),
            ServiceError::Domain(_) => (request.action(), AuditOutcome::InvalidInput),
            _ if e.is_refusal() => (request.action(), AuditOutcome::Refused),
            _ => (request.action(), AuditOutcome::Error),
        };
        let mut entry = attempt_entry(self.now(), actor, action, mailbox, ip, outcome, e);
        entry.detail = Some(format!("{e} (from {})", caller.source));
        entry
    }
}

/// Requests the login service turned away before they reached the service (too large, not JSON,
/// over a rate, no such route), counted per source and kind: the audit log gets the first of a
/// kind from a source at once, and how many more followed it in the minute after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRefusals {
    /// Where they came from.
    pub source: IpAddr,
    /// The answer's status.
    pub status: u16,
    /// What was wrong, in a few words (`body too large`).
    pub what: &'static str,
    /// How many: the first alone, or the ones that followed it.
    pub count: u64,
    /// Whether these followed a first one already recorded.
    pub more: bool,
}

impl Service {
    /// Records requests the login service turned away at its door, one entry per source and kind.
    pub fn record_http_refusals(&self, refusals: &[HttpRefusals]) -> ServiceResult<()> {
        let now = self.now();
        let entries: Vec<AuditEntry> = refusals
            .iter()
            .map(|r| AuditEntry {
                at: now,
                actor: Actor::Service("http").to_string(),
                action: "http.refused".to_owned(),
                ip: Some(r.source.to_string()),
                outcome: AuditOutcome::Refused,
                detail: Some(if r.more {
                    format!("{} {}: {} more from this address in the minute since the first", r.status, r.what, r.count)
                } else {
                    format!("{} {}", r.status, r.what)
                }),
                ..AuditEntry::default()
            })
            .collect();
        self.store.write(|tx| entries.iter().try_for_each(|entry| tx.insert_audit(entry)))?;
        Ok(())
    }
}
