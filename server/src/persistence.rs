//! The group-commit writer: one thread that takes every write queued while the
//! previous commit was on its way to disk and commits them in one transaction.
//!
//! It may also *linger*: hold a transaction open for a bounded time after its
//! first write to gather more. Nothing is advertised before the commit either
//! way (the engine waits for each write's outcome), so lingering trades a
//! little latency for fewer commits; it never weakens durability.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::storage::{DocumentStore, DocumentWrite};
use accord_shared::engine::Write;
use accord_shared::ids::DocumentId;

/// How one write ended.
#[derive(Debug, Clone)]
pub(crate) struct CommitOutcome {
    /// The document.
    pub document: DocumentId,
    /// The sequence number the write was submitted with.
    pub seq: u64,
    /// The ownership epoch it was made under.
    pub epoch: u64,
    /// Committed, or why not.
    pub result: Result<(), CommitFailure>,
}

/// Why a write was not committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CommitFailure {
    /// Another node owns the document now; nothing of it was written.
    Fenced,
    /// The transaction failed (the storage error's text).
    Storage(String),
}

/// Most writes in one transaction.
const MAX_BATCH: usize = 1024;

/// One queued write.
struct Job {
    seq: u64,
    write: DocumentWrite,
}

/// Handle to the writer thread.
pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread; each transaction's outcomes go to `committed`
    /// (the hub feeds them back into its engine). A transaction waits up to
    /// `linger` after its first write for more (zero: it takes only what is
    /// already queued).
    pub fn spawn(
        store: Arc<dyn DocumentStore>,
        committed: impl Fn(Vec<CommitOutcome>) + Send + 'static,
        metrics: Arc<Metrics>,
        linger: Duration,
    ) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("accord-commit".into())
            .spawn(move || run(&*store, &queue, &committed, &metrics, linger))
            .expect("spawning the commit thread");
        Self {
            jobs: Some(jobs),
            thread: Some(thread),
        }
    }

    /// A writer that has already finished (placeholder after shutdown).
    pub fn idle() -> Self {
        Self {
            jobs: None,
            thread: None,
        }
    }

    /// Queues a write made under ownership `epoch`.
    pub fn submit(&self, document: DocumentId, seq: u64, epoch: u64, write: Write) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(Job {
                seq,
                write: DocumentWrite {
                    document,
                    write,
                    epoch,
                },
            });
        }
    }

    /// Commits everything queued, then stops the thread.
    pub fn finish(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writes of one transaction: `first`, everything already queued, and
/// whatever arrives within `linger` of taking `first`, up to [`MAX_BATCH`].
fn gather(first: Job, queue: &mpsc::Receiver<Job>, linger: Duration) -> Vec<Job> {
    let mut batch = vec![first];
    let until = Instant::now() + linger;
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(job) => {
                batch.push(job);
                continue;
            }
            Err(mpsc::TryRecvError::Disconnected) => break,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match queue.recv_timeout(left) {
            Ok(job) => batch.push(job),
            // Time is up, or the relay is stopping: commit what is here.
            Err(_) => break,
        }
    }
    batch
}

fn run(
    store: &dyn DocumentStore,
    queue: &mpsc::Receiver<Job>,
    committed: &dyn Fn(Vec<CommitOutcome>),
    metrics: &Metrics,
    linger: Duration,
) {
    while let Ok(first) = queue.recv() {
        let batch = gather(first, queue, linger);
        let (seqs, writes): (Vec<u64>, Vec<DocumentWrite>) =
            batch.into_iter().map(|job| (job.seq, job.write)).unzip();
        let started = Instant::now();
        let result = store.commit(&writes);
        metrics.observe_commit(started.elapsed(), writes.len(), result.is_ok());
        let result = result.map_err(|error| {
            tracing::error!(%error, writes = writes.len(), "group commit failed");
            CommitFailure::Storage(error.to_string())
        });
        let outcomes = seqs
            .into_iter()
            .zip(writes)
            .map(|(seq, write)| CommitOutcome {
                document: write.document,
                seq,
                epoch: write.epoch,
                result: match &result {
                    Err(failure) => Err(failure.clone()),
                    Ok(done) if done.fenced.contains(&(write.document, write.epoch)) => {
                        Err(CommitFailure::Fenced)
                    }
                    Ok(_) => Ok(()),
                },
            })
            .collect();
        committed(outcomes);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::{Job, gather};
    use crate::storage::DocumentWrite;
    use accord_shared::engine::Write;
    use accord_shared::ids::DocumentId;

    fn job(seq: u64) -> Job {
        Job {
            seq,
            write: DocumentWrite {
                document: DocumentId::from_bytes([seq as u8; 16]),
                write: Write::Append(vec![1]),
                epoch: 0,
            },
        }
    }

    fn seqs(batch: &[Job]) -> Vec<u64> {
        batch.iter().map(|j| j.seq).collect()
    }

    #[test]
    fn without_linger_a_commit_takes_only_what_is_queued() {
        let (jobs, queue) = mpsc::channel();
        jobs.send(job(2)).unwrap();
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            jobs.send(job(3)).unwrap();
        });
        assert_eq!(seqs(&gather(job(1), &queue, Duration::ZERO)), [1, 2]);
        late.join().unwrap();
        assert_eq!(queue.try_recv().map(|j| j.seq), Ok(3));
    }

    #[test]
    fn a_lingering_commit_takes_writes_that_arrive_within_the_linger_and_no_later() {
        let (jobs, queue) = mpsc::channel();
        let (arrived, wait) = mpsc::channel();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            jobs.send(job(2)).unwrap();
            // The third comes only after the linger has surely run out.
            wait.recv().unwrap();
            jobs.send(job(3)).unwrap();
        });
        // Waits for the second write (sent 20 ms in), then until the linger
        // runs out; the third is sent only after that.
        let batch = gather(job(1), &queue, Duration::from_secs(1));
        assert_eq!(seqs(&batch), [1, 2]);
        arrived.send(()).unwrap();
        sender.join().unwrap();
        assert_eq!(queue.try_recv().map(|j| j.seq), Ok(3));
    }

    #[test]
    fn a_stopping_relay_does_not_wait_out_the_linger() {
        let (jobs, queue) = mpsc::channel();
        jobs.send(job(2)).unwrap();
        drop(jobs);
        let started = Instant::now();
        assert_eq!(
            seqs(&gather(job(1), &queue, Duration::from_secs(60))),
            [1, 2]
        );
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
