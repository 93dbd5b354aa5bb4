//! Live typing: N typists per document across M documents, each making small
//! changes at a fixed rate through the native client, and one reader client per
//! document that records when each change arrives.
//!
//! Every change splices one character into a shared text and stamps the
//! typist's sequence number into a map (`stamps[t<i>] = seq`). The writer notes
//! the time of each sequence number just before making the change; the reader,
//! in the same process, notes when it first sees it. Latency is the difference
//! on one monotonic clock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use accord_server::client::Client;
use accord_shared::automerge::{
    Automerge, ObjId, ObjType, ROOT, ReadDoc, transaction::Transactable,
};
use accord_shared::ids::DocumentId;
use rand::Rng;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::error::LoadError;
use crate::measure::{Latency, Usage, Watch, micros_per};

/// How long after the last write the reader keeps waiting for stragglers.
const GRACE: Duration = Duration::from_secs(3);
/// Clients connected at once during setup.
const CONNECT_PARALLELISM: usize = 16;

/// What to run.
#[derive(Debug, Clone)]
pub struct TypingConfig {
    /// The relay's automerge-repo WebSocket URLs (with `?token=` for
    /// Accord): one, or one per node of a cluster. Document `d` is created
    /// through `urls[d % n]` (so its owner is that node); its typists and
    /// reader take the next URLs round-robin, so most are on other nodes.
    pub urls: Vec<String>,
    /// Documents.
    pub docs: usize,
    /// Typists (each its own connection) per document.
    pub typists_per_doc: usize,
    /// Changes per second per typist.
    pub rate: f64,
    /// How long typists type.
    pub duration: Duration,
    /// The relay process to watch, if any.
    pub relay_pid: Option<u32>,
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
pub struct TypingReport {
    /// Documents.
    pub docs: usize,
    /// Total typists.
    pub typists: usize,
    /// Changes per second per typist.
    pub rate: f64,
    /// Seconds of typing.
    pub duration_secs: f64,
    /// Seconds spent connecting and opening documents before typing.
    pub setup_secs: f64,
    /// Changes made.
    pub written: u64,
    /// Changes the readers saw.
    pub delivered: u64,
    /// Changes the readers had not seen when they gave up (3 s after typing stopped).
    pub undelivered: u64,
    /// Changes per second delivered to the readers.
    pub throughput_per_sec: f64,
    /// Change-to-peer latency (undelivered changes count as their wait so
    /// far, 3 s after typing stopped).
    #[serde(flatten)]
    pub latency: Latency,
    /// The relay, this load generator and the machine while typists typed.
    #[serde(flatten)]
    pub usage: Usage,
    /// CPU-seconds (user + system) the relay process and its children used
    /// from the start of typing until every reader was done.
    pub relay_cpu_secs: Option<f64>,
    /// Other peers each change is delivered to (the document's other typists
    /// and its reader).
    pub fan_out: usize,
    /// `relay_cpu_secs` per change delivered, in µs (each change once, with
    /// its fan-out to `fan_out` peers included).
    pub relay_us_per_change: Option<f64>,
}

/// One document under load.
struct DocSetup {
    id: DocumentId,
    typists: Vec<Client>,
    reader: Client,
}

async fn setup_doc(urls: &[String], doc: usize, typists: usize) -> Result<DocSetup, LoadError> {
    // The typists, then the reader.
    let url = |n: usize| urls[(doc + n) % urls.len()].as_str();
    let (id, mut clients) = crate::docs::open_shared(url, typists + 1, |tx| {
        tx.put_object(ROOT, "text", ObjType::Text)?;
        tx.put_object(ROOT, "stamps", ObjType::Map)?;
        Ok(())
    })
    .await?;
    let Some(reader) = clients.pop() else {
        return Err(LoadError::Setup("no reader connection".into()));
    };
    Ok(DocSetup {
        id,
        typists: clients,
        reader,
    })
}

fn object(doc: &Automerge, key: &str) -> Option<ObjId> {
    doc.get(ROOT, key).ok().flatten().map(|(_, id)| id)
}

/// The latest sequence number of each typist visible in `doc`.
fn stamps(doc: &Automerge, typists: usize, out: &mut [u64]) {
    let Some(map) = object(doc, "stamps") else {
        return;
    };
    for (i, slot) in out.iter_mut().enumerate().take(typists) {
        if let Ok(Some((value, _))) = doc.get(&map, format!("t{i}"))
            && let Some(seq) = value.as_scalar().and_then(|s| s.as_u64())
        {
            *slot = seq;
        }
    }
}

/// Write times of one typist, indexed by sequence number − 1.
type WriteLog = Arc<Mutex<Vec<Instant>>>;

fn lock(log: &WriteLog) -> std::sync::MutexGuard<'_, Vec<Instant>> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn type_into(
    client: Client,
    id: DocumentId,
    index: usize,
    log: WriteLog,
    start: tokio::time::Instant,
    period: Duration,
    end: tokio::time::Instant,
) -> Result<(), LoadError> {
    let (text, map) = client
        .read(id, |doc| (object(doc, "text"), object(doc, "stamps")))
        .and_then(|(t, m)| Some((t?, m?)))
        .ok_or_else(|| LoadError::Setup(format!("document {id} lacks text/stamps")))?;
    let key = format!("t{index}");
    let offset = period.mul_f64(rand::rng().random::<f64>());
    let mut tick = tokio::time::interval_at(start + offset, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seq: u64 = 0;
    loop {
        if tick.tick().await >= end {
            break;
        }
        seq += 1;
        let position_seed: u64 = rand::rng().random();
        lock(&log).push(Instant::now());
        client.change(id, |tx| {
            let len = tx.length(&text);
            let pos = (position_seed % (len as u64 + 1)) as usize;
            tx.splice_text(&text, pos, 0, "x")?;
            tx.put(&map, key.as_str(), seq)?;
            Ok(())
        })?;
    }
    Ok(())
}

/// Latencies one reader observed.
#[derive(Default)]
struct Arrivals {
    /// Write-to-arrival times of the changes seen.
    seen: Vec<Duration>,
    /// Time waited so far for changes never seen.
    missing: Vec<Duration>,
}

/// Records arrival latencies on one document until every write is seen or
/// `GRACE` after the writers stop.
async fn read_from(
    reader: Client,
    id: DocumentId,
    logs: Vec<WriteLog>,
    writers_done: Arc<AtomicBool>,
    give_up: tokio::time::Instant,
) -> Arrivals {
    let mut arrivals = Arrivals::default();
    let mut seen = vec![0u64; logs.len()];
    let mut current = vec![0u64; logs.len()];
    let mut changes = reader.subscribe();
    loop {
        let now = Instant::now();
        reader.read(id, |doc| stamps(doc, logs.len(), &mut current));
        for (w, log) in logs.iter().enumerate() {
            if current[w] > seen[w] {
                let log = lock(log);
                for seq in seen[w] + 1..=current[w] {
                    if let Some(written) = log.get(seq as usize - 1) {
                        arrivals.seen.push(now.saturating_duration_since(*written));
                    }
                }
                seen[w] = current[w];
            }
        }
        let done = writers_done.load(Ordering::Acquire);
        if done
            && logs
                .iter()
                .zip(&seen)
                .all(|(l, &s)| lock(l).len() as u64 <= s)
        {
            break;
        }
        if tokio::time::Instant::now() >= give_up {
            // What never arrived counts at its wait so far (a lower bound).
            for (w, log) in logs.iter().enumerate() {
                let log = lock(log);
                for written in log.iter().skip(seen[w] as usize) {
                    arrivals
                        .missing
                        .push(now.saturating_duration_since(*written));
                }
            }
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), changes.changed()).await;
    }
    arrivals
}

/// Runs the workload once. Always stops: typing ends after `duration`, readers
/// at most `GRACE` later.
pub async fn run(config: &TypingConfig) -> Result<TypingReport, LoadError> {
    if config.docs == 0 || config.typists_per_doc == 0 || config.rate <= 0.0 {
        return Err(LoadError::Setup(
            "docs, typists per document and rate must be positive".into(),
        ));
    }
    let setup_started = Instant::now();
    let mut pending = JoinSet::new();
    let mut docs = Vec::with_capacity(config.docs);
    for doc in 0..config.docs {
        let parallel = CONNECT_PARALLELISM
            .div_ceil(config.typists_per_doc + 1)
            .max(1);
        if pending.len() >= parallel
            && let Some(done) = pending.join_next().await
        {
            docs.push(done.map_err(|e| LoadError::Setup(e.to_string()))??);
        }
        let urls = config.urls.clone();
        let typists = config.typists_per_doc;
        pending.spawn(async move { setup_doc(&urls, doc, typists).await });
    }
    while let Some(done) = pending.join_next().await {
        docs.push(done.map_err(|e| LoadError::Setup(e.to_string()))??);
    }
    let setup_secs = setup_started.elapsed().as_secs_f64();

    let watch = Watch::start(config.relay_pid)?;
    let period = Duration::from_secs_f64(1.0 / config.rate);
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let end = start + config.duration;
    let writers_done = Arc::new(AtomicBool::new(false));
    let mut writers = JoinSet::new();
    let mut readers = JoinSet::new();
    let mut all_logs = Vec::new();
    for doc in &docs {
        let logs: Vec<WriteLog> = (0..doc.typists.len())
            .map(|_| WriteLog::default())
            .collect();
        for (index, client) in doc.typists.iter().enumerate() {
            writers.spawn(type_into(
                client.clone(),
                doc.id,
                index,
                logs[index].clone(),
                start,
                period,
                end,
            ));
        }
        all_logs.extend(logs.iter().cloned());
        readers.spawn(read_from(
            doc.reader.clone(),
            doc.id,
            logs,
            writers_done.clone(),
            end + GRACE,
        ));
    }
    let mut failure = None;
    while let Some(done) = writers.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(e) => failure = failure.or(Some(LoadError::Setup(e.to_string()))),
        }
    }
    writers_done.store(true, Ordering::Release);
    let (usage, relay_cpu) = watch.stop()?;
    let mut latencies = Vec::new();
    let mut undelivered = 0u64;
    while let Some(done) = readers.join_next().await {
        let arrivals = done.map_err(|e| LoadError::Setup(e.to_string()))?;
        undelivered += arrivals.missing.len() as u64;
        latencies.extend(arrivals.seen);
        latencies.extend(arrivals.missing);
    }
    // Every reader is done: what the relay did for these changes is counted.
    let relay_cpu_secs = relay_cpu.secs()?;
    for doc in &docs {
        for client in doc.typists.iter().chain(std::iter::once(&doc.reader)) {
            client.disconnect();
        }
    }
    if let Some(error) = failure {
        return Err(error);
    }
    let written: u64 = all_logs.iter().map(|l| lock(l).len() as u64).sum();
    let delivered = written.saturating_sub(undelivered);
    let duration_secs = config.duration.as_secs_f64();
    Ok(TypingReport {
        docs: config.docs,
        typists: config.docs * config.typists_per_doc,
        rate: config.rate,
        duration_secs,
        setup_secs,
        written,
        delivered,
        undelivered,
        throughput_per_sec: delivered as f64 / duration_secs,
        latency: Latency::of(&mut latencies),
        usage,
        relay_cpu_secs,
        fan_out: config.typists_per_doc,
        relay_us_per_change: micros_per(relay_cpu_secs, delivered),
    })
}
