//! The storage worker: one thread that serves document loads and group
//! commits. A commit takes every write queued while the previous one was on
//! its way to disk and commits them in one transaction.
//!
//! Loads queued with those writes are served *before* the commit (they read
//! what is already committed), so opening a document does not wait behind a
//! batch's sync to disk; only a load of a document the batch writes waits
//! for the commit, so it reads that write too.
//!
//! A commit may also *linger*: hold a transaction open for a bounded time
//! after its first write to gather more. Nothing is advertised before the
//! commit either way (the engine waits for each write's outcome), so
//! lingering trades a little latency for fewer commits; it never weakens
//! durability.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::now_ms;
use crate::storage::{DocumentStore, DocumentWrite, StorageError};
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

/// Why a document could not be loaded.
#[derive(Debug)]
pub(crate) enum LoadFailure {
    /// Another relay node owns it.
    OwnedElsewhere(String),
    /// Storage failed (its error's text).
    Storage(String),
}

/// A load's answer: the stored bytes (`None`: never stored) and the
/// ownership epoch they were loaded under.
pub(crate) type Loaded = Result<(Option<Vec<u8>>, u64), LoadFailure>;

/// What the worker finished, for the hub.
#[derive(Debug)]
pub(crate) enum Finished {
    /// A transaction's outcomes, one per write.
    Committed(Vec<CommitOutcome>),
    /// A load.
    Loaded {
        /// The document.
        document: DocumentId,
        /// What was read.
        result: Loaded,
        /// When ownership was requested (a lease counts from here).
        requested_at: u64,
    },
}

/// Most writes in one transaction.
const MAX_BATCH: usize = 1024;

/// One queued piece of work.
enum Job {
    /// A write made under ownership `write.epoch`, numbered `seq` by the engine.
    Write { seq: u64, write: DocumentWrite },
    /// Take ownership of a document and read it (asked for at the instant).
    Load(DocumentId, Instant),
}

impl Job {
    fn is_write(&self) -> bool {
        matches!(self, Job::Write { .. })
    }
}

/// Handle to the storage worker thread.
pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread; what it finishes goes to `finished` (the hub feeds
    /// it back into its engine). A transaction waits up to `linger` after its
    /// first write for more (zero: it takes only what is already queued).
    pub fn spawn(
        store: Arc<dyn DocumentStore>,
        finished: impl Fn(Finished) + Send + 'static,
        metrics: Arc<Metrics>,
        linger: Duration,
    ) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("accord-storage".into())
            .spawn(move || run(&*store, &queue, &finished, &metrics, linger))
            .expect("spawning the storage thread");
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
            let _ = jobs.send(Job::Write {
                seq,
                write: DocumentWrite {
                    document,
                    write,
                    epoch,
                },
            });
        }
    }

    /// Queues a load (ownership first, then the stored bytes).
    pub fn load(&self, document: DocumentId) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(Job::Load(document, Instant::now()));
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

/// The jobs of one round: `first`, everything already queued, and whatever
/// arrives within `linger` of the first write, up to [`MAX_BATCH`] writes. A
/// round that holds no write does not linger.
fn gather(first: Job, queue: &mpsc::Receiver<Job>, linger: Duration) -> Vec<Job> {
    let mut until = first.is_write().then(|| Instant::now() + linger);
    let mut writes = usize::from(first.is_write());
    let mut batch = vec![first];
    while writes < MAX_BATCH {
        let job = match queue.try_recv() {
            Ok(job) => job,
            Err(mpsc::TryRecvError::Disconnected) => break,
            Err(mpsc::TryRecvError::Empty) => {
                let Some(until) = until else { break };
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match queue.recv_timeout(left) {
                    Ok(job) => job,
                    // Time is up, or the relay is stopping: commit what is here.
                    Err(_) => break,
                }
            }
        };
        if job.is_write() {
            writes += 1;
            until.get_or_insert_with(|| Instant::now() + linger);
        }
        batch.push(job);
    }
    batch
}

/// A round's jobs in the order they run: loads of documents the round does
/// not write, then the writes (one transaction), then loads of documents it
/// writes (so they read those writes).
struct Round {
    loads_first: Vec<(DocumentId, Instant)>,
    writes: Vec<(u64, DocumentWrite)>,
    loads_after: Vec<(DocumentId, Instant)>,
}

impl Round {
    fn plan(batch: Vec<Job>) -> Self {
        let mut round = Round {
            loads_first: Vec::new(),
            writes: Vec::new(),
            loads_after: Vec::new(),
        };
        let mut loads = Vec::new();
        for job in batch {
            match job {
                Job::Write { seq, write } => round.writes.push((seq, write)),
                Job::Load(document, asked) => loads.push((document, asked)),
            }
        }
        for load in loads {
            if round.writes.iter().any(|(_, w)| w.document == load.0) {
                round.loads_after.push(load);
            } else {
                round.loads_first.push(load);
            }
        }
        round
    }
}

fn run(
    store: &dyn DocumentStore,
    queue: &mpsc::Receiver<Job>,
    finished: &dyn Fn(Finished),
    metrics: &Metrics,
    linger: Duration,
) {
    while let Ok(first) = queue.recv() {
        let round = Round::plan(gather(first, queue, linger));
        for (document, asked) in round.loads_first {
            finished(load(store, document));
            metrics.observe_load(asked.elapsed());
        }
        if !round.writes.is_empty() {
            finished(Finished::Committed(commit(store, round.writes, metrics)));
        }
        for (document, asked) in round.loads_after {
            finished(load(store, document));
            metrics.observe_load(asked.elapsed());
        }
    }
}

/// Takes ownership of `document` (only the owner may read and then write it)
/// and reads it.
fn load(store: &dyn DocumentStore, document: DocumentId) -> Finished {
    let requested_at = now_ms();
    let result = store
        .acquire(&document)
        .and_then(|epoch| Ok((store.load(&document)?, epoch)))
        .map_err(|error| match error {
            StorageError::OwnedElsewhere { node } => LoadFailure::OwnedElsewhere(node),
            other => LoadFailure::Storage(other.to_string()),
        });
    Finished::Loaded {
        document,
        result,
        requested_at,
    }
}

/// Commits `writes` in one transaction; one outcome per write.
fn commit(
    store: &dyn DocumentStore,
    writes: Vec<(u64, DocumentWrite)>,
    metrics: &Metrics,
) -> Vec<CommitOutcome> {
    let (seqs, writes): (Vec<u64>, Vec<DocumentWrite>) = writes.into_iter().unzip();
    let started = Instant::now();
    let result = store.commit(&writes);
    metrics.observe_commit(started.elapsed(), writes.len(), result.is_ok());
    let result = result.map_err(|error| {
        tracing::error!(%error, writes = writes.len(), "group commit failed");
        CommitFailure::Storage(error.to_string())
    });
    seqs.into_iter()
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
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::{Job, Round, gather};
    use crate::storage::DocumentWrite;
    use accord_shared::engine::Write;
    use accord_shared::ids::DocumentId;

    fn doc(n: u64) -> DocumentId {
        DocumentId::from_bytes([n as u8; 16])
    }

    fn job(seq: u64) -> Job {
        Job::Write {
            seq,
            write: DocumentWrite {
                document: doc(seq),
                write: Write::Append(vec![1]),
                epoch: 0,
            },
        }
    }

    /// The writes' numbers, with a load of document `n` as `100 + n`.
    fn seqs(batch: &[Job]) -> Vec<u64> {
        batch
            .iter()
            .map(|j| match j {
                Job::Write { seq, .. } => *seq,
                Job::Load(document, _) => 100 + u64::from(document.as_bytes()[0]),
            })
            .collect()
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
        assert_eq!(queue.try_recv().map(|j| seqs(&[j])), Ok(vec![3]));
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
        assert_eq!(queue.try_recv().map(|j| seqs(&[j])), Ok(vec![3]));
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

    #[test]
    fn a_round_of_loads_alone_does_not_linger() {
        let (jobs, queue) = mpsc::channel();
        jobs.send(Job::Load(doc(2), Instant::now())).unwrap();
        let started = Instant::now();
        let batch = gather(Job::Load(doc(1), started), &queue, Duration::from_secs(60));
        assert_eq!(seqs(&batch), [101, 102]);
        assert!(started.elapsed() < Duration::from_secs(30));
        drop(jobs);
    }

    #[test]
    fn loads_run_before_the_commit_unless_the_commit_writes_their_document() {
        let at = Instant::now();
        let round = Round::plan(vec![
            job(1),
            Job::Load(doc(7), at),
            job(2),
            Job::Load(doc(1), at),
            Job::Load(doc(8), at),
        ]);
        let documents = |loads: &[(DocumentId, Instant)]| -> Vec<DocumentId> {
            loads.iter().map(|(document, _)| *document).collect()
        };
        assert_eq!(documents(&round.loads_first), [doc(7), doc(8)]);
        assert_eq!(
            round.writes.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(documents(&round.loads_after), [doc(1)]);
    }

    /// A store whose first commit waits until the test lets it finish, so
    /// the test can queue jobs behind it.
    struct Gated {
        inner: crate::storage::MemoryStore,
        /// Told when the first commit starts; then it waits for `release`.
        entered: mpsc::Sender<()>,
        release: std::sync::Mutex<Option<mpsc::Receiver<()>>>,
    }

    impl crate::storage::DocumentStore for Gated {
        fn load(
            &self,
            document: &DocumentId,
        ) -> Result<Option<Vec<u8>>, crate::storage::StorageError> {
            self.inner.load(document)
        }
        fn commit(
            &self,
            batch: &[DocumentWrite],
        ) -> Result<crate::storage::Committed, crate::storage::StorageError> {
            let release = self.release.lock().unwrap().take();
            if let Some(release) = release {
                self.entered.send(()).unwrap();
                release.recv().unwrap();
            }
            self.inner.commit(batch)
        }
        fn list(
            &self,
        ) -> Result<Vec<crate::storage::StoredDocument>, crate::storage::StorageError> {
            self.inner.list()
        }
    }

    /// Jobs queued behind a commit in progress form the next round: the
    /// load of a document that round writes is answered after its commit
    /// and reads the write; the load of another document is answered first.
    #[test]
    fn the_storage_worker_answers_loads_around_its_commits() {
        let (entered, inside) = mpsc::channel();
        let (open, release) = mpsc::channel();
        let store = std::sync::Arc::new(Gated {
            inner: crate::storage::MemoryStore::new(),
            entered,
            release: std::sync::Mutex::new(Some(release)),
        });
        let (report, finished) = mpsc::channel();
        let mut worker = super::Writer::spawn(
            store,
            move |done| report.send(done).unwrap(),
            std::sync::Arc::default(),
            Duration::ZERO,
        );
        worker.submit(doc(9), 1, 0, Write::Append(b"first".to_vec()));
        inside.recv().unwrap();
        worker.submit(doc(1), 2, 0, Write::Append(b"one".to_vec()));
        worker.load(doc(1));
        worker.load(doc(2));
        open.send(()).unwrap();
        worker.finish();
        let order: Vec<String> = finished
            .iter()
            .map(|done| match done {
                super::Finished::Committed(outcomes) => format!(
                    "commit {:?}",
                    outcomes.iter().map(|o| o.seq).collect::<Vec<_>>()
                ),
                super::Finished::Loaded {
                    document, result, ..
                } => format!(
                    "load {} {:?}",
                    document.as_bytes()[0],
                    result.unwrap().0.map(String::from_utf8)
                ),
            })
            .collect();
        assert_eq!(
            order,
            [
                "commit [1]",
                "load 2 None",
                "commit [2]",
                "load 1 Some(Ok(\"one\"))"
            ]
        );
    }
}
