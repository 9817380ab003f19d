//! Group commit: one writer thread owns the service (and so the store's connection). Handlers send
//! it a job and await the answer; the writer takes every job that is waiting, runs them in one
//! transaction (a savepoint each, [`Service::api_batch`]), commits once, and only then answers them
//! all. The engine stays synchronous; the HTTP side never touches the store.

use std::sync::Arc;
use std::thread;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::metrics::Metrics;

use crate::service::{
    ApiJob, ApiOutcome, ApiRequest, Caller, CountryDatabase, HttpRefusals, MailAuthFailures, MailUse, SentCode,
    Service, ServiceError, ServiceResult,
};

/// The most requests one commit takes.
pub const MAX_BATCH: usize = 512;

enum Job {
    Api(ApiJob),
    Delivered(Box<SentCode>, oneshot::Sender<ServiceResult<()>>),
    Refusals(Vec<HttpRefusals>),
    Mail(Vec<MailUse>, Vec<MailAuthFailures>),
    Status(oneshot::Sender<ServiceResult<CountryDatabase>>),
}

/// The handle handlers send jobs through.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

/// Why the writer could not answer: it stopped (the service is shutting down or failed).
fn stopped() -> ServiceError {
    ServiceError::Store(crate::service::StoreError::Busy)
}

impl Writer {
    /// Starts the writer thread over `service`; `max_batch` 1 turns group commit off. The thread
    /// ends when every handle is dropped and the waiting jobs are done.
    /// Each commit's size and time go to `metrics`.
    pub fn start(
        service: Service,
        max_batch: usize,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(Self, thread::JoinHandle<()>)> {
        let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
        let handle = thread::Builder::new()
            .name("mailmfa-writer".to_owned())
            .spawn(move || run(&service, queue, max_batch.clamp(1, MAX_BATCH), &metrics))?;
        Ok((Self { jobs }, handle))
    }

    /// How many jobs wait for the writer.
    pub fn waiting(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }

    /// Reads the store, in the writer's turn: the country database's state, or why the store
    /// could not be read.
    pub async fn status(&self) -> ServiceResult<CountryDatabase> {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send(Job::Status(reply)).await.is_err() {
            return Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Runs one API request; the answer comes after its commit.
    pub async fn call<R: ApiRequest>(&self, caller: Caller, request: R) -> ApiOutcome<R::Answer> {
        let (reply, answer) = oneshot::channel();
        // A receiver that went away (the client hung up) needs no answer.
        let job = ApiJob::new(caller, request, move |outcome| drop(reply.send(outcome)));
        if self.jobs.send(Job::Api(job)).await.is_err() {
            return ApiOutcome::failed(stopped());
        }
        answer.await.unwrap_or_else(|_| ApiOutcome::failed(stopped()))
    }

    /// Records requests turned away at the door in the audit log (a trace: should the writer have
    /// stopped, there is nothing left to record them in).
    pub async fn refusals(&self, refusals: Vec<HttpRefusals>) {
        if !refusals.is_empty() {
            drop(self.jobs.send(Job::Refusals(refusals)).await);
        }
    }

    /// Writes what mail sign-in checks found worth keeping, without waiting: a full queue drops
    /// it (a last use is written again a minute later; a trace is not worth slowing checks for).
    pub fn mail_auth(&self, uses: Vec<MailUse>, failures: Vec<MailAuthFailures>) {
        if !uses.is_empty() || !failures.is_empty() {
            drop(self.jobs.try_send(Job::Mail(uses, failures)));
        }
    }

    /// Records how a delivery went (voiding the code if it failed).
    pub async fn delivered(&self, sent: SentCode) -> ServiceResult<()> {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send(Job::Delivered(Box::new(sent), reply)).await.is_err() {
            return Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn run(service: &Service, mut queue: mpsc::Receiver<Job>, max_batch: usize, metrics: &Metrics) {
    while let Some(first) = queue.blocking_recv() {
        let mut calls = Vec::new();
        let (mut uses, mut failures) = (Vec::new(), Vec::new());
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Api(call) => calls.push(call),
                Job::Delivered(sent, reply) => {
                    // A receiver that went away (the client hung up) needs no answer.
                    drop(reply.send(service.finish_delivery(*sent)));
                }
                // A trace that cannot be written is not worth failing anything for.
                Job::Refusals(refusals) => drop(service.record_http_refusals(&refusals)),
                // A receiver that went away (the client hung up) needs no answer.
                Job::Status(reply) => drop(reply.send(service.country_database())),
                // Written together below: one transaction for all that waited.
                Job::Mail(more_uses, more_failures) => {
                    uses.extend(more_uses);
                    failures.extend(more_failures);
                }
            }
            if calls.len() < max_batch {
                next = queue.try_recv().ok();
            }
        }
        if !calls.is_empty() {
            let (size, started) = (calls.len(), Instant::now());
            service.api_batch(calls);
            metrics.commit(size, started.elapsed());
        }
        if !uses.is_empty() || !failures.is_empty() {
            // A last use or a count that cannot be written is not worth failing anything for.
            drop(service.record_mail_auth(&uses, &failures));
        }
    }
}
