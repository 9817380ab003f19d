//! `POST /v1/mail/auth` (docs/DESIGN.md §11): a mail server asks, while a mail program signs in
//! over IMAP, POP3 or SMTP, whether its password is an app password, or whether the mailbox
//! password may be used from there. A mail server's clients reconnect far more often than people
//! sign in, so this path stays off the writer: each check runs in a read transaction on a reader
//! of its own (a pool of store connections), and what it would write — the last use of an app
//! password and the client's last call, at most once a minute each; the failures, counted per
//! minute — goes to the writer afterwards, without waiting for it.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::failure::{Failure, Refused};
use super::http::{AppState, Source, caller};
use super::observe::Outcome;
use super::tally::Tally;
use crate::service::{
    KeyFolder, MailAuthChecked, MailAuthFailed, MailAuthFailures, MailAuthRequest, MailThrottle, MailUse, Service,
    ServiceError, ServiceResult, StoreLocation, StoreMode,
};

/// How many checks run at once, each on a store connection of its own.
const READERS: usize = 4;

/// The check's readers and what it counts.
pub struct MailDesk {
    readers: Mutex<Vec<Service>>,
    permits: Semaphore,
    /// Whether checks run on the request's own thread: on a local store (WAL) a read never waits
    /// for a writer and takes some microseconds, less than handing it to another thread costs; on
    /// a shared file or a database server it may wait, and runs on a blocking thread.
    inline: bool,
    /// Failed app passwords per mail program's address.
    throttle: Tally<IpAddr>,
    failures: Tally<MailAuthFailed>,
    /// The uses written this minute, by [`MailUse::key`]: each is written once a minute.
    written: Tally<String>,
}

impl MailDesk {
    /// Opens the readers on the store the writer serves.
    pub fn open(location: &StoreLocation, keys: &KeyFolder) -> ServiceResult<Self> {
        let readers = (0..READERS)
            .map(|_| Ok(Service::open(location, keys)?.with_actor(super::ACTOR)))
            .collect::<ServiceResult<Vec<_>>>()?;
        let inline = readers.iter().all(|reader| reader.mode() == Some(StoreMode::Local));
        Ok(Self {
            readers: Mutex::new(readers),
            permits: Semaphore::new(READERS),
            inline,
            throttle: Tally::default(),
            failures: Tally::default(),
            written: Tally::default(),
        })
    }

    /// Runs a check on a free reader: here, or off the async threads where it may wait.
    async fn check(
        self: &Arc<Self>,
        caller: crate::service::Caller,
        request: MailAuthRequest,
    ) -> Result<MailAuthChecked, Failure> {
        let _permit = self.permits.acquire().await.map_err(|_| Failure::Service(stopped()))?;
        if self.inline {
            return self.check_on_a_reader(&caller, &request).map_err(Failure::from);
        }
        let desk = Arc::clone(self);
        tokio::task::spawn_blocking(move || desk.check_on_a_reader(&caller, &request))
            .await
            .map_err(|_| Failure::Internal("the mail sign-in check failed".to_owned()))?
            .map_err(Failure::from)
    }

    fn check_on_a_reader(
        &self,
        caller: &crate::service::Caller,
        request: &MailAuthRequest,
    ) -> ServiceResult<MailAuthChecked> {
        let reader = self.readers.lock().unwrap_or_else(PoisonError::into_inner).pop().ok_or_else(stopped)?;
        let checked = reader.check_mail_auth(caller, request, &self.throttle);
        self.readers.lock().unwrap_or_else(PoisonError::into_inner).push(reader);
        checked
    }

    /// The failures that followed the first of their kind, for the minutes that ended (all of them
    /// when `all`, at shutdown). The uses and the throttle's counts of those minutes are forgotten
    /// with them.
    pub fn take_failures(&self, all: bool) -> Vec<MailAuthFailures> {
        drop(self.written.take(all));
        drop(self.throttle.take(all));
        self.failures
            .take(all)
            .into_iter()
            .map(|(failed, count)| MailAuthFailures { failed, protocol: None, count, more: true })
            .collect()
    }
}

impl Drop for MailDesk {
    /// Closes the readers on a thread of their own: a database server's client ends its own
    /// runtime when dropped, which tokio forbids on the server's async threads.
    fn drop(&mut self) {
        let readers = std::mem::take(self.readers.get_mut().unwrap_or_else(PoisonError::into_inner));
        drop(std::thread::spawn(move || drop(readers)).join());
    }
}

/// A reader went missing: the service is shutting down.
fn stopped() -> ServiceError {
    ServiceError::Store(crate::service::StoreError::Busy)
}

/// Failed app passwords per mail program's address, this minute.
impl MailThrottle for Tally<IpAddr> {
    fn throttled(&self, ip: IpAddr, limit: i64) -> bool {
        i64::try_from(self.count(&ip)).unwrap_or(i64::MAX) >= limit
    }

    fn failed(&self, ip: IpAddr) {
        self.note(ip);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailAuthBody {
    address: String,
    password: Option<String>,
    #[serde(default)]
    verified: bool,
    protocol: String,
    ip: Option<String>,
    real_ip: Option<String>,
}

/// `POST /v1/mail/auth`.
pub async fn auth(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    super::http::ApiJson(body): super::http::ApiJson<MailAuthBody>,
) -> Response {
    let request = MailAuthRequest {
        address: body.address,
        password: body.password.map(zeroize::Zeroizing::new),
        verified: body.verified,
        protocol: body.protocol,
        ip: body.ip,
        real_ip: body.real_ip,
    };
    let desk = &state.mail;
    match desk.check(caller(&state, source, &headers), request).await {
        Ok(checked) => {
            let MailAuthChecked { answer, protocol, failure, used, client } = checked;
            super::observe::called_by(Some(client));
            // `reject throttled`, `password wrong_app_password`, `accept none`.
            let why = failure.as_ref().map_or("none", |failed| failed.failure.word());
            let outcome = Outcome(answer.result(), why);
            let failures: Vec<MailAuthFailures> = failure
                .filter(|failed| desk.failures.note(failed.clone()))
                .map(|failed| MailAuthFailures { failed, protocol: Some(protocol), count: 1, more: false })
                .into_iter()
                .collect();
            // The first use of a key this minute is written; the store keeps the same once-a-minute
            // line between servers.
            let uses: Vec<MailUse> = used.into_iter().filter(|u| desk.written.note(u.key())).collect();
            state.writer.mail_auth(uses, failures);
            state.observer.metrics.mail_check(answer.result());
            let mut response = axum::Json(answer).into_response();
            response.extensions_mut().insert(outcome);
            response
        }
        Err(failure) => {
            // Not answered: counted with the refusals at the door, not a row per request.
            let mut response = failure.into_response();
            let refused = Refused { status: response.status(), what: "mail sign-in check not answered" };
            response.extensions_mut().insert(refused);
            response
        }
    }
}
