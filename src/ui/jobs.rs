//! Background jobs: the slow work that must not freeze the window — a test send through the SMTP
//! relay or the SMS gateway, a CSV import, and the delivery of a login preview's code. Each runs
//! on its own thread and reports back through one channel, asking for a repaint; the app collects
//! the reports every frame ([`ConsoleApp::poll_jobs`]) and records them with the service: the test
//! send in the audit log, the delivery's outcome (a failed code is voided and audited).
//!
//! A job remembers the store it was started on; should another store be opened meanwhile, its
//! outcome is still recorded in its own store.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use egui::Context;

use super::app::ConsoleApp;
use super::intent::TestTarget;
use super::providers::test_failure;
use crate::clock::Clock;
use crate::delivery::DeliveryError;
use crate::domain::{Actor, MailboxAddress};
use crate::service::{
    CodeDelivery, ImportSummary, KeyFolder, SentCode, Service, ServiceResult, StoreLocation, TestSend,
};

/// The store a job was started on, and who started it.
#[derive(Clone)]
pub struct JobOrigin {
    store_id: String,
    location: Option<StoreLocation>,
    actor: Actor,
    clock: Arc<dyn Clock>,
}

impl JobOrigin {
    /// The store and administrator of `service`.
    pub fn of(service: &Service) -> Self {
        Self {
            store_id: service.store_id().to_owned(),
            location: service.location().cloned(),
            actor: service.actor().clone(),
            clock: Arc::clone(service.clock()),
        }
    }

    /// Opens the store again, acting as the same administrator on the same clock.
    fn open(&self, keys: &KeyFolder) -> ServiceResult<Service> {
        let location = self.location.as_ref().ok_or(crate::service::ServiceError::InMemory("recording a job"))?;
        Ok(Service::open(location, keys)?.with_actor(self.actor.clone()).with_clock(Arc::clone(&self.clock)))
    }
}

/// What a finished job hands back.
enum Outcome {
    TestSent { target: TestTarget, test: TestSend, result: Result<(), DeliveryError> },
    Imported(ServiceResult<ImportSummary>),
    Delivered { address: MailboxAddress, sent: Box<SentCode> },
}

/// What a job is doing, for the window to show while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Test(TestTarget),
    Import,
    Delivery(MailboxAddress),
}

struct Report {
    id: u64,
    outcome: Outcome,
}

struct Running {
    id: u64,
    kind: Kind,
    origin: JobOrigin,
    handle: JoinHandle<()>,
}

/// A job that ended: its outcome, or `None` when its thread stopped without one (a bug).
struct Finished {
    kind: Kind,
    origin: JobOrigin,
    outcome: Option<Outcome>,
}

/// The running jobs and the channel they report through.
pub struct Jobs {
    ctx: Context,
    next_id: u64,
    sender: Sender<Report>,
    receiver: Receiver<Report>,
    running: Vec<Running>,
}

impl Jobs {
    /// No jobs yet; finished jobs ask `ctx` for a repaint.
    pub fn new(ctx: Context) -> Self {
        let (sender, receiver) = mpsc::channel();
        Self { ctx, next_id: 0, sender, receiver, running: Vec::new() }
    }

    /// How many jobs are running.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Whether a CSV import is running.
    pub fn is_importing(&self) -> bool {
        self.running.iter().any(|job| job.kind == Kind::Import)
    }

    /// Sends a test message.
    pub fn send_test(&mut self, origin: JobOrigin, target: TestTarget, test: TestSend) -> std::io::Result<()> {
        self.spawn(Kind::Test(target.clone()), origin, move || {
            let result = test.send();
            Outcome::TestSent { target, test, result }
        })
    }

    /// Imports a CSV file into the store of `origin` (over its own connection).
    pub fn import_csv(&mut self, origin: JobOrigin, keys: KeyFolder, file: PathBuf) -> std::io::Result<()> {
        let job_origin = origin.clone();
        self.spawn(Kind::Import, origin, move || {
            Outcome::Imported(job_origin.open(&keys).and_then(|service| service.import_csv_file(&file)))
        })
    }

    /// Sends a login's code.
    pub fn deliver(&mut self, origin: JobOrigin, address: MailboxAddress, code: CodeDelivery) -> std::io::Result<()> {
        self.spawn(Kind::Delivery(address.clone()), origin, move || Outcome::Delivered {
            address,
            sent: Box::new(code.send()),
        })
    }

    fn spawn(
        &mut self,
        kind: Kind,
        origin: JobOrigin,
        work: impl FnOnce() -> Outcome + Send + 'static,
    ) -> std::io::Result<()> {
        let id = self.next_id;
        self.next_id += 1;
        let sender = self.sender.clone();
        let ctx = self.ctx.clone();
        let handle = std::thread::Builder::new().name(format!("mailmfa-job-{id}")).spawn(move || {
            let outcome = work();
            // The console is gone when nobody listens; then nothing is left to tell.
            if sender.send(Report { id, outcome }).is_ok() {
                ctx.request_repaint();
            }
        })?;
        self.running.push(Running { id, kind, origin, handle });
        Ok(())
    }

    /// The jobs that ended since the last call.
    fn finished(&mut self) -> Vec<Finished> {
        // Threads that ended before the channel is read have sent their report already, so one
        // that ended without a report in the channel stopped without one.
        let ended: Vec<u64> = self.running.iter().filter(|job| job.handle.is_finished()).map(|job| job.id).collect();
        let mut reports: Vec<Report> = self.receiver.try_iter().collect();
        let mut finished = Vec::new();
        let mut still = Vec::new();
        for job in std::mem::take(&mut self.running) {
            let report = reports.iter().position(|r| r.id == job.id).map(|i| reports.swap_remove(i));
            match report {
                Some(report) => {
                    finished.push(Finished { kind: job.kind, origin: job.origin, outcome: Some(report.outcome) })
                }
                None if ended.contains(&job.id) => {
                    finished.push(Finished { kind: job.kind, origin: job.origin, outcome: None });
                }
                None => still.push(job),
            }
        }
        self.running = still;
        finished
    }
}

impl ConsoleApp {
    /// Collects the jobs that ended and records their outcomes (called every frame).
    pub(super) fn poll_jobs(&mut self) {
        for job in self.jobs.finished() {
            match job.outcome {
                Some(outcome) => self.job_done(&job.origin, outcome),
                None => self.job_lost(job.kind),
            }
        }
    }

    fn job_done(&mut self, origin: &JobOrigin, outcome: Outcome) {
        let current = self.service().is_some_and(|s| s.store_id() == origin.store_id);
        match outcome {
            Outcome::TestSent { target, test, result } => {
                let recorded = self.on_store_of(origin, |service| service.record_test_send(&test, result));
                self.audit.invalidate();
                match &recorded {
                    Ok(()) => self.info(format!("Sent the {}.", target.describe())),
                    Err(e) => self.error(test_failure(&target, e)),
                }
                if current {
                    self.providers.test_finished(target, recorded);
                }
            }
            Outcome::Imported(result) => {
                if current {
                    self.changed(None);
                }
                match result {
                    Ok(s) => self.info(format!(
                        "Imported {} rows: {} post offices and {} mailboxes created, {} mailboxes updated.",
                        s.rows, s.postoffices_created, s.mailboxes_created, s.mailboxes_updated
                    )),
                    Err(e) => self.error(format!("Import failed: {e}")),
                }
            }
            Outcome::Delivered { address, sent } => {
                let result = self.on_store_of(origin, |service| service.finish_delivery(*sent));
                if let Err(e) = &result {
                    self.error(format!("{address}: {e}"));
                }
                if current {
                    if let Some(preview) = self.previews.iter_mut().find(|p| p.address() == &address) {
                        preview.set_delivered(result);
                    }
                    self.changed(Some(&address.postoffice));
                }
            }
        }
    }

    fn job_lost(&mut self, kind: Kind) {
        match kind {
            Kind::Test(target) => {
                self.providers.test_lost();
                self.error(format!("The {} stopped without an answer.", target.describe()));
            }
            Kind::Import => self.error("The import stopped without an answer."),
            Kind::Delivery(address) => {
                if let Some(preview) = self.previews.iter_mut().find(|p| p.address() == &address) {
                    preview.delivery_lost();
                }
                self.error(format!("Sending the code of {address} stopped without an answer."));
            }
        }
    }

    /// Runs `f` on the store the job started on: the open one, or that store opened again.
    fn on_store_of<T>(&self, origin: &JobOrigin, f: impl FnOnce(&Service) -> ServiceResult<T>) -> ServiceResult<T> {
        match self.service().filter(|s| s.store_id() == origin.store_id) {
            Some(service) => f(service),
            None => f(&origin.open(&self.keys)?),
        }
    }
}
