//! Notifications to a mailbox's own address (docs/DESIGN.md §10). What happened queues a notice in its
//! own transaction (`notification` table), so a notice exists exactly when what it tells of was
//! committed. After the commit a worker thread with a connection of its own sends what waits,
//! through the SMTP relay — never on the request's path: a slow or dead relay delays no login.
//! Each attempt is audited (`notify.send`, ok or failed). A sent notice is removed; a failed one is
//! tried again five minutes later, by any sender, three times in all; a notice claimed by a sender
//! that died is taken over after five minutes too. Dropping the service waits for the worker to
//! finish a last round (a CLI call prints its answer first, then waits).

use std::cell::RefCell;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::engine;
use super::store::Tx;
use super::world::World;
use super::{Service, ServiceResult};
use crate::delivery::CodeMessage;
use crate::domain::{Actor, AuditEntry, AuditOutcome, Mailbox, NoticeEvent, Provider};

/// How many notices one claim takes.
const BATCH: i64 = 20;

/// How many times a notice is tried before it is given up.
const ATTEMPTS: i64 = 3;

/// How often a running worker looks for notices due to be tried again, without being asked.
const RETRY_LOOK: Duration = Duration::from_secs(60);

/// The actor the audit log names for notifications.
const ACTOR: Actor = Actor::Service("notify");

/// The background sender of one service, started at its first notice.
#[derive(Default)]
pub(super) struct Notifier {
    worker: RefCell<Option<Worker>>,
}

struct Worker {
    kick: mpsc::Sender<()>,
    thread: thread::JoinHandle<()>,
}

impl Drop for Notifier {
    fn drop(&mut self) {
        if let Some(Worker { kick, thread }) = self.worker.take() {
            // Closing the channel ends the worker once it has sent what waits.
            drop(kick);
            drop(thread.join());
        }
    }
}

impl Service {
    /// Queues a notice about `mailbox` in the caller's transaction (when notifications are on), as
    /// the engine queues those of a login.
    pub(super) fn notify_in(
        &self,
        tx: &Tx<'_>,
        mailbox: &Mailbox,
        event: NoticeEvent,
        detail: Option<String>,
    ) -> ServiceResult<()> {
        let snapshot = self.world.current(tx)?;
        Ok(engine::notify(tx, &self.context(&snapshot, &self.actor), mailbox, event, None, detail)?)
    }

    /// Has the notices that wait sent in the background. A store in memory has no second
    /// connection: there they are sent at once (previews and tests only).
    pub(super) fn send_notices_later(&self) {
        if !self.world.notifies() {
            return;
        }
        let mut worker = self.notifier.worker.borrow_mut();
        if worker.is_none() {
            match self.store.reopen() {
                Ok(Some(store)) => {
                    let sender = Service {
                        store,
                        actor: ACTOR,
                        clock: self.clock.clone(),
                        world: World::like(&self.world),
                        notifier: Notifier::default(),
                    };
                    let (kick, kicks) = mpsc::channel::<()>();
                    let spawned = thread::Builder::new().name("mailmfa-notify".to_owned()).spawn(move || {
                        // Asked, or once a minute for notices due again; ends when the service
                        // drops its end, after one last round.
                        loop {
                            let last = match kicks.recv_timeout(RETRY_LOOK) {
                                Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => false,
                                Err(mpsc::RecvTimeoutError::Disconnected) => true,
                            };
                            while kicks.try_recv().is_ok() {}
                            // A failure to reach the store leaves the notices for the next round
                            // (or another process); each send's own failure is audited.
                            drop(sender.send_due_notices());
                            if last {
                                break;
                            }
                        }
                    });
                    if let Ok(thread) = spawned {
                        *worker = Some(Worker { kick, thread });
                    }
                }
                Ok(None) | Err(_) => {
                    drop(worker);
                    drop(self.send_due_notices());
                    return;
                }
            }
        }
        // A worker that is gone (it panicked) is started afresh at the next notice.
        if worker.as_ref().is_some_and(|w| w.kick.send(()).is_err()) {
            *worker = None;
        }
    }

    /// Sends every notice that is due, claimed first so that two senders never send one twice.
    /// Each attempt is audited; a sent notice is removed, a failed one tried again five minutes
    /// later, three times in all. How many were sent.
    pub fn send_due_notices(&self) -> ServiceResult<usize> {
        let mut sent = 0;
        loop {
            let now = self.now();
            let (claimed, snapshot) = self
                .store
                .write(|tx| -> ServiceResult<_> { Ok((tx.claim_notices(now, BATCH)?, self.world.current(tx)?)) })?;
            if claimed.is_empty() {
                return Ok(sent);
            }
            for (id, attempts, notice) in claimed {
                let message = CodeMessage::for_notice(&snapshot.settings, &notice);
                let result = snapshot.sender.send(Provider::Smtp, &notice.mailbox, &message);
                let again = result.is_err() && attempts + 1 < ATTEMPTS;
                let (outcome, detail) = match &result {
                    Ok(()) => (AuditOutcome::Ok, notice.event.word().to_owned()),
                    Err(e) if again => {
                        (AuditOutcome::Failed, format!("{}: {e}; tried again in 5 minutes", notice.event.word()))
                    }
                    Err(e) => (
                        AuditOutcome::Failed,
                        format!("{}: {e}; given up after {ATTEMPTS} attempts", notice.event.word()),
                    ),
                };
                let entry = AuditEntry {
                    at: self.now(),
                    actor: ACTOR.to_string(),
                    mailbox: Some(notice.mailbox.clone()),
                    action: "notify.send".to_owned(),
                    outcome,
                    detail: Some(detail),
                    ..AuditEntry::default()
                };
                self.store.write(|tx| -> ServiceResult<()> {
                    if again {
                        tx.retry_notice_later(id, self.now())?;
                    } else {
                        tx.remove_notice(id)?;
                    }
                    Ok(tx.insert_audit(&entry)?)
                })?;
                sent += usize::from(result.is_ok());
            }
        }
    }
}
