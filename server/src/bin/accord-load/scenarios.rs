//! The one-shot comparison scenarios: cold open among many stored documents,
//! fetching a long-history document, offline divergence, and memory per idle
//! connection. Each starts its own relay process in a scratch directory.

use std::path::Path;
use std::time::{Duration, Instant};

use accord_server::client::{Client, Stats};
use accord_shared::automerge::transaction::Transactable;
use accord_shared::automerge::{Automerge, AutomergeError, ChangeHash, ObjType, ROOT, ReadDoc};
use accord_shared::ids::DocumentId;
use rand::Rng;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::error::LoadError;
use crate::procstat;
use crate::relay::{Kind, Launcher, RelayProcess, ScratchDir};

/// Longest any single wait in a scenario may take.
const WAIT: Duration = Duration::from_secs(120);
/// Documents created per connection before waiting for the relay to confirm them.
const CREATE_BATCH: usize = 25;
/// Longest wait for the JS server's data directory to stop changing before it
/// is stopped: it acknowledges sync before storing (saves are debounced and
/// asynchronous), while ours acknowledges only after a commit.
const JS_SAVE_SETTLE: Duration = Duration::from_secs(60);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Files and bytes under `dir`.
fn footprint(dir: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => {
                    files += 1;
                    bytes += m.len();
                }
                Err(_) => {}
            }
        }
    }
    (files, bytes)
}

/// Waits until the JS server's store has not changed for a second.
async fn settle_before_stop(kind: Kind, dir: &ScratchDir) {
    if !kind.stores_after_ack() {
        return;
    }
    let deadline = Instant::now() + JS_SAVE_SETTLE;
    let mut last = footprint(dir.path());
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline && quiet_since.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = footprint(dir.path());
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
}

/// Starts a relay of `kind` on a new scratch directory named after `label`;
/// returns the directory (removed when dropped), the relay and its sync URL.
async fn fresh_relay(
    launcher: &Launcher,
    kind: Kind,
    label: &str,
) -> Result<(ScratchDir, RelayProcess, String), LoadError> {
    let dir = ScratchDir::new(label)?;
    let mut relay = RelayProcess::start(launcher, kind, dir.path())?;
    let url = relay.sync_url().await?;
    Ok((dir, relay, url))
}

/// Restarts a relay on the same data directory, keeping the Accord device token.
async fn restart(
    launcher: &Launcher,
    relay: RelayProcess,
    dir: &ScratchDir,
) -> Result<(RelayProcess, String), LoadError> {
    let kind = relay.kind();
    let token = relay.token();
    settle_before_stop(kind, dir).await;
    relay.stop();
    let mut relay = RelayProcess::start(launcher, kind, dir.path())?;
    relay.set_token(token);
    let url = relay.sync_url().await?;
    Ok((relay, url))
}

/// A small partnership-like document.
fn small_doc(tx: &mut impl Transactable, n: usize) -> Result<(), AutomergeError> {
    tx.put(ROOT, "title", format!("Partnership {n}"))?;
    tx.put(ROOT, "stage", "exploring")?;
    tx.put(ROOT, "n", n as u64)?;
    let notes = tx.put_object(ROOT, "notes", ObjType::Text)?;
    tx.splice_text(&notes, 0, 0, "Kick-off agenda: goals, roles, cadence.")?;
    Ok(())
}

/// Cold open: time for a new client to get one document's content from a
/// freshly restarted relay holding many stored documents.
#[derive(Debug, Clone, Serialize)]
pub struct ColdOpenReport {
    /// Documents stored (all created through the sync protocol).
    pub docs: usize,
    /// Seconds to create and confirm them all.
    pub create_secs: f64,
    /// Connect + handshake of the first client after the restart, ms.
    pub first_connect_ms: f64,
    /// Open to content, the first document after the restart, ms.
    pub first_open_ms: f64,
    /// Open to content, median over further new clients on other documents, ms.
    pub median_open_ms: f64,
    /// Open to content, worst of those, ms.
    pub max_open_ms: f64,
    /// Samples behind the median.
    pub samples: usize,
    /// Relay RSS after the restart and the opens, KiB.
    pub rss_after_kib: u64,
}

async fn create_docs(
    url: &str,
    start: usize,
    count: usize,
) -> Result<Vec<(DocumentId, Vec<ChangeHash>)>, LoadError> {
    let client = Client::connect(url).await?;
    let mut out = Vec::with_capacity(count);
    let mut n = start;
    while out.len() < count {
        let batch = CREATE_BATCH.min(count - out.len());
        let mut ids = Vec::with_capacity(batch);
        for _ in 0..batch {
            let this = n;
            ids.push(crate::docs::create(&client, |tx| small_doc(tx, this))?);
            n += 1;
        }
        for id in ids {
            client.wait_synced(id, WAIT).await?;
            out.push((id, client.heads(id)));
        }
    }
    client.disconnect();
    Ok(out)
}

/// Runs the cold-open scenario with `docs` documents.
pub async fn cold_open(
    launcher: &Launcher,
    kind: Kind,
    docs: usize,
    samples: usize,
) -> Result<ColdOpenReport, LoadError> {
    let (dir, relay, url) = fresh_relay(launcher, kind, "cold").await?;
    let started = Instant::now();
    // ≤ 1,000 documents per connection (our relay's default cap is 2,000).
    let connections = docs.div_ceil(1000).max(4);
    let per = docs.div_ceil(connections);
    let mut tasks = JoinSet::new();
    for c in 0..connections {
        let count = per.min(docs.saturating_sub(c * per));
        if count == 0 {
            break;
        }
        let url = url.clone();
        tasks.spawn(async move { create_docs(&url, c * per, count).await });
    }
    let mut stored = Vec::with_capacity(docs);
    while let Some(done) = tasks.join_next().await {
        stored.extend(done.map_err(|e| LoadError::Setup(e.to_string()))??);
    }
    let create_secs = started.elapsed().as_secs_f64();

    let (relay, url) = restart(launcher, relay, &dir).await?;
    let mut opens = Vec::with_capacity(samples + 1);
    let mut first_connect_ms = 0.0;
    for i in 0..=samples {
        let (id, heads) = &stored[rand::rng().random_range(0..stored.len())];
        let connect = Instant::now();
        let client = Client::connect(&url).await?;
        if i == 0 {
            first_connect_ms = ms(connect.elapsed());
        }
        let open = Instant::now();
        client.find(*id, WAIT).await?;
        client.wait_heads(*id, heads, WAIT).await?;
        opens.push(ms(open.elapsed()));
        client.disconnect();
    }
    let rss_after_kib = procstat::sample(relay.pid())?.rss_kib;
    relay.stop();
    let first_open_ms = opens[0];
    let mut rest = opens[1..].to_vec();
    rest.sort_by(f64::total_cmp);
    Ok(ColdOpenReport {
        docs,
        create_secs,
        first_connect_ms,
        first_open_ms,
        median_open_ms: rest.get(rest.len() / 2).copied().unwrap_or(first_open_ms),
        max_open_ms: rest.last().copied().unwrap_or(first_open_ms),
        samples: rest.len(),
        rss_after_kib,
    })
}

/// One new client fetching a document.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FetchReport {
    /// Open to full content (all heads), ms.
    pub ms: f64,
    /// Messages the client sent.
    pub messages_sent: u64,
    /// Messages the client received (each is one relay reply: the round trips).
    pub messages_received: u64,
    /// Bytes the client sent.
    pub bytes_sent: u64,
    /// Bytes the client received.
    pub bytes_received: u64,
}

impl FetchReport {
    /// What `client` exchanged since `before`, over `elapsed`.
    fn since(client: &Client, before: Stats, elapsed: Duration) -> Self {
        let after = client.stats();
        Self {
            ms: ms(elapsed),
            messages_sent: after.messages_sent - before.messages_sent,
            messages_received: after.messages_received - before.messages_received,
            bytes_sent: after.bytes_sent - before.bytes_sent,
            bytes_received: after.bytes_received - before.bytes_received,
        }
    }
}

async fn fetch(url: &str, id: DocumentId, heads: &[ChangeHash]) -> Result<FetchReport, LoadError> {
    let client = Client::connect(url).await?;
    let before = client.stats();
    let started = Instant::now();
    client.find(id, WAIT).await?;
    client.wait_heads(id, heads, WAIT).await?;
    let report = FetchReport::since(&client, before, started.elapsed());
    client.disconnect();
    Ok(report)
}

/// A new client fetching a document with a long history.
#[derive(Debug, Clone, Serialize)]
pub struct BigDocReport {
    /// Changes in the document.
    pub changes: usize,
    /// Seconds to upload it and have the relay confirm.
    pub upload_secs: f64,
    /// Relay CPU-seconds (process tree) from the upload's start until the
    /// warm fetch ended: applying, storing and serving the history once.
    pub relay_cpu_secs: f64,
    /// Bytes under the relay's data directory after the fetch that followed
    /// a restart (whatever compaction it did on the way included).
    pub disk_bytes: u64,
    /// Fetch while the relay still holds it in memory.
    pub warm: FetchReport,
    /// Fetch from a freshly restarted relay.
    pub cold: FetchReport,
}

/// Builds a document with `changes` small changes (one text splice and one map put each).
fn long_history(changes: usize) -> Result<Automerge, LoadError> {
    let mut doc = Automerge::new();
    let text = doc
        .transact(|tx| tx.put_object(ROOT, "minutes", ObjType::Text))
        .map_err(|f| f.error)?
        .result;
    for i in 1..changes {
        doc.transact(|tx| {
            let len = tx.length(&text);
            tx.splice_text(&text, len, 0, "m")?;
            tx.put(ROOT, "edits", i as u64)
        })
        .map_err(|f| f.error)?;
    }
    Ok(doc)
}

/// Runs the long-history fetch scenario.
pub async fn big_doc(
    launcher: &Launcher,
    kind: Kind,
    changes: usize,
) -> Result<BigDocReport, LoadError> {
    let doc = long_history(changes)?;
    let heads = {
        let mut h = doc.get_heads();
        h.sort();
        h
    };
    let (dir, relay, url) = fresh_relay(launcher, kind, "bigdoc").await?;
    let cpu_before = crate::procstat::tree_cpu_ticks(relay.pid())?;
    let started = Instant::now();
    let writer = Client::connect(&url).await?;
    let id = crate::docs::new_id();
    writer.insert(id, doc);
    writer.wait_synced(id, WAIT).await?;
    let upload_secs = started.elapsed().as_secs_f64();
    let warm = fetch(&url, id, &heads).await?;
    let cpu_ticks = crate::procstat::tree_cpu_ticks(relay.pid())?.saturating_sub(cpu_before);
    writer.disconnect();
    let (relay, url) = restart(launcher, relay, &dir).await?;
    let cold = fetch(&url, id, &heads).await?;
    relay.stop();
    Ok(BigDocReport {
        changes,
        upload_secs,
        relay_cpu_secs: cpu_ticks as f64 / crate::procstat::clock_ticks_per_second() as f64,
        disk_bytes: dir_bytes(dir.path()),
        warm,
        cold,
    })
}

/// Total size of the files under `dir` (0 for what cannot be read).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// Two devices that each made changes offline reconnecting.
#[derive(Debug, Clone, Serialize)]
pub struct DivergenceReport {
    /// Changes each side made while offline.
    pub changes_each: usize,
    /// The first device reconnecting (its changes fast-forward the relay).
    pub first: FetchReport,
    /// The second device reconnecting: both sides diverged by `changes_each`.
    /// `ms` runs until it holds both sides and the relay confirmed its changes.
    pub second: FetchReport,
}

fn offline_edits(
    client: &Client,
    id: DocumentId,
    side: &str,
    changes: usize,
) -> Result<(), LoadError> {
    let text = client
        .read(id, |doc| {
            doc.get(ROOT, "notes").ok().flatten().map(|(_, obj)| obj)
        })
        .flatten()
        .ok_or_else(|| LoadError::Setup("document lacks notes".into()))?;
    for i in 0..changes {
        client.change(id, |tx| {
            let len = tx.length(&text);
            tx.splice_text(&text, len, 0, side)?;
            tx.put(ROOT, side, i as u64)?;
            Ok(())
        })?;
    }
    Ok(())
}

async fn rejoin(
    client: &Client,
    url: &str,
    id: DocumentId,
    heads: &[ChangeHash],
) -> Result<FetchReport, LoadError> {
    let before = client.stats();
    let started = Instant::now();
    client.reconnect(url).await?;
    client.wait_heads(id, heads, WAIT).await?;
    client.wait_synced(id, WAIT).await?;
    Ok(FetchReport::since(client, before, started.elapsed()))
}

/// Runs the offline-divergence scenario.
pub async fn divergence(
    launcher: &Launcher,
    kind: Kind,
    changes: usize,
) -> Result<DivergenceReport, LoadError> {
    let (_dir, relay, url) = fresh_relay(launcher, kind, "diverge").await?;
    let a = Client::connect(&url).await?;
    let id = crate::docs::create(&a, |tx| small_doc(tx, 0))?;
    a.wait_synced(id, WAIT).await?;
    let b = Client::connect(&url).await?;
    b.find(id, WAIT).await?;
    b.wait_heads(id, &a.heads(id), WAIT).await?;
    a.disconnect();
    b.disconnect();
    offline_edits(&a, id, "a", changes)?;
    offline_edits(&b, id, "b", changes)?;
    let a_heads = a.heads(id);
    let mut merged = a_heads.clone();
    merged.extend(b.heads(id));
    merged.sort();
    merged.dedup();
    let first = rejoin(&a, &url, id, &a_heads).await?;
    let second = rejoin(&b, &url, id, &merged).await?;
    a.disconnect();
    b.disconnect();
    relay.stop();
    Ok(DivergenceReport {
        changes_each: changes,
        first,
        second,
    })
}

/// Relay memory held per idle connection.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IdleReport {
    /// Connections opened (each completes the join/peer handshake, then idles).
    pub connections: usize,
    /// Relay RSS before, KiB.
    pub rss_before_kib: u64,
    /// Relay RSS with all of them open, KiB.
    pub rss_after_kib: u64,
    /// (after − before) / connections, bytes.
    pub bytes_per_connection: f64,
}

/// Runs the idle-connection memory scenario.
pub async fn idle_memory(
    launcher: &Launcher,
    kind: Kind,
    connections: usize,
) -> Result<IdleReport, LoadError> {
    let (_dir, relay, url) = fresh_relay(launcher, kind, "idle").await?;
    // A few connections first, so one-time lazy setup is not counted per
    // connection; then let start-up garbage settle (the JS server's RSS falls
    // for a while after start as V8 collects).
    for _ in 0..4 {
        Client::connect(&url).await?.disconnect();
    }
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let rss_before_kib = procstat::sample(relay.pid())?.rss_kib;
    let mut clients = Vec::with_capacity(connections);
    let mut pending = JoinSet::new();
    for _ in 0..connections {
        if pending.len() >= 16
            && let Some(done) = pending.join_next().await
        {
            clients.push(done.map_err(|e| LoadError::Setup(e.to_string()))??);
        }
        let url = url.clone();
        pending.spawn(async move { Client::connect(&url).await });
    }
    while let Some(done) = pending.join_next().await {
        clients.push(done.map_err(|e| LoadError::Setup(e.to_string()))??);
    }
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let rss_after_kib = procstat::sample(relay.pid())?.rss_kib;
    for client in &clients {
        client.disconnect();
    }
    relay.stop();
    Ok(IdleReport {
        connections,
        rss_before_kib,
        rss_after_kib,
        bytes_per_connection: (rss_after_kib as f64 - rss_before_kib as f64) * 1024.0
            / connections as f64,
    })
}
