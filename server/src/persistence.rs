//! The group-commit writer: one thread that takes every write queued while the
//! previous commit was on its way to disk and commits them in one transaction.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

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
    /// (the hub feeds them back into its engine).
    pub fn spawn(
        store: Arc<dyn DocumentStore>,
        committed: impl Fn(Vec<CommitOutcome>) + Send + 'static,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("accord-commit".into())
            .spawn(move || run(&*store, &queue, &committed, &metrics))
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

fn run(
    store: &dyn DocumentStore,
    queue: &mpsc::Receiver<Job>,
    committed: &dyn Fn(Vec<CommitOutcome>),
    metrics: &Metrics,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
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
