//! The log's writer: lines gathered in memory and written by a thread of their own, a batch at a
//! time. A request line per request must not cost the request a system call, nor wake a thread
//! for each line: a line is copied into the batch under a lock, and only the first line of a
//! batch wakes the writer, which then waits a moment for the rest before it writes them all.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer waits after a batch's first line for more: how late a line may be.
const GATHER: Duration = Duration::from_millis(20);

/// The most the batch holds while the output cannot keep up; lines beyond it are counted and
/// dropped (a log that blocked the requests would be worse), and the count is logged.
const MOST: usize = 8 << 20;

/// The capacity a batch keeps between bursts.
const KEPT: usize = 1 << 20;

/// Hands the formatted lines to the batch: `tracing-subscriber` writes each event whole.
#[derive(Clone)]
pub struct Batched {
    shared: Arc<Shared>,
}

/// Keeps the writer running; dropping it writes what is still gathered and ends the thread.
#[must_use = "dropping the guard stops the log's writer"]
pub struct BatchGuard {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

struct Shared {
    batch: Mutex<Batch>,
    wake: Condvar,
}

#[derive(Default)]
struct Batch {
    lines: Vec<u8>,
    dropped: u64,
    stopping: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Batch> {
        self.batch.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts the thread that writes the log's lines to `out`.
pub fn batched<W: Write + Send + 'static>(out: W) -> (Batched, BatchGuard) {
    let shared = Arc::new(Shared { batch: Mutex::new(Batch::default()), wake: Condvar::new() });
    let writer = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new().name("mailmfa-log".to_owned()).spawn(move || write_batches(&shared, out))
    };
    // Without a thread of its own the log is written by whoever drops the guard: nothing is lost.
    let writer = writer.ok();
    (Batched { shared: Arc::clone(&shared) }, BatchGuard { shared, writer })
}

/// The writer's loop: waits for a batch's first line, gathers for a moment, writes the batch.
fn write_batches<W: Write>(shared: &Shared, mut out: W) {
    let mut spare = Vec::new();
    loop {
        let mut batch = shared.lock();
        while batch.lines.is_empty() && batch.dropped == 0 && !batch.stopping {
            batch = shared.wake.wait(batch).unwrap_or_else(PoisonError::into_inner);
        }
        if !batch.stopping {
            batch = shared.wake.wait_timeout(batch, GATHER).unwrap_or_else(PoisonError::into_inner).0;
        }
        let stopping = batch.stopping;
        std::mem::swap(&mut batch.lines, &mut spare);
        let dropped = std::mem::take(&mut batch.dropped);
        drop(batch);
        // A log that cannot be written has nowhere to say so: the lines are lost, the service goes on.
        drop(out.write_all(&spare).and_then(|()| out.flush()));
        spare.clear();
        spare.shrink_to(KEPT);
        if dropped > 0 {
            tracing::warn!("{dropped} log lines were dropped: the log's output could not keep up");
        }
        if stopping {
            return;
        }
    }
}

impl Drop for BatchGuard {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_one();
        if let Some(writer) = self.writer.take() {
            drop(writer.join());
        }
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = &'a Self;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl Write for &Batched {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut batch = self.shared.lock();
        let first = batch.lines.is_empty();
        if batch.lines.len() + line.len() > MOST {
            batch.dropped += 1;
        } else {
            batch.lines.extend_from_slice(line);
        }
        drop(batch);
        if first {
            self.shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test reads back.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<u8>>>);

    impl Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_from_many_threads_arrive_whole_and_the_guard_writes_the_rest() {
        let kept = Kept::default();
        let (lines, guard) = batched(kept.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let lines = lines.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        (&lines).write_all(format!("thread {t} line {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(guard);
        let written = String::from_utf8(kept.0.lock().unwrap().clone()).unwrap();
        assert_eq!(written.lines().count(), 4000);
        for t in 0..4 {
            let mine: Vec<_> = written.lines().filter(|l| l.starts_with(&format!("thread {t} "))).collect();
            let expected: Vec<_> = (0..1000).map(|i| format!("thread {t} line {i}")).collect();
            assert_eq!(mine, expected, "thread {t}'s lines, whole and in order");
        }
    }

    #[test]
    fn a_line_is_written_without_waiting_for_more() {
        let kept = Kept::default();
        let (lines, _guard) = batched(kept.clone());
        (&lines).write_all(b"alone\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while kept.0.lock().unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline, "the line was not written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(kept.0.lock().unwrap().as_slice(), b"alone\n");
    }

    #[test]
    fn lines_beyond_what_the_batch_holds_are_counted_not_kept() {
        let shared = Shared { batch: Mutex::new(Batch::default()), wake: Condvar::new() };
        let lines = Batched { shared: Arc::new(shared) };
        let line = vec![b'x'; 1 << 20];
        for _ in 0..10 {
            (&lines).write_all(&line).unwrap();
        }
        let batch = lines.shared.lock();
        assert_eq!(batch.lines.len(), MOST);
        assert_eq!(batch.dropped, 2);
    }
}
