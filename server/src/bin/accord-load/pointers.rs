//! Workshop pointers: N participants on one board (one document) each send
//! their pointer position as an ephemeral message at a fixed rate; every
//! other participant's arrival time gives the pointer latency. The relay
//! fans each message out to the document's other peers, so the load grows
//! with N × (N − 1).
//!
//! A message carries the sender's index, its sequence number and the send
//! time in microseconds since the Unix epoch; sender and receivers run in
//! this one process, so the clock is shared.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use accord_server::client::Client;
use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::Transactable;
use accord_shared::ids::DocumentId;
use rand::Rng;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::error::LoadError;
use crate::procstat::{self, Monitor, ProcReport};

/// How long setup may wait for one participant to get the board.
const SETUP_WAIT: Duration = Duration::from_secs(30);
/// How long receivers keep listening after the senders stop.
const GRACE: Duration = Duration::from_secs(1);
/// How often a receiver looks for new messages when nothing woke it.
const POLL: Duration = Duration::from_millis(5);

/// One pointer run.
#[derive(Debug, Clone)]
pub struct PointerConfig {
    /// The relay's sync URL.
    pub url: String,
    /// Participants on the board, each its own connection.
    pub participants: usize,
    /// Pointer messages per second per participant.
    pub rate: f64,
    /// How long they move their pointers.
    pub duration: Duration,
    /// The relay's process, for CPU and memory.
    pub relay_pid: Option<u32>,
}

/// What one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct PointerReport {
    /// Participants on the board.
    pub participants: usize,
    /// Pointer messages per second per participant.
    pub rate: f64,
    /// Seconds of pointer movement.
    pub duration_secs: f64,
    /// Pointer messages sent.
    pub sent: u64,
    /// Deliveries expected: each message to every other participant.
    pub expected: u64,
    /// Deliveries seen.
    pub received: u64,
    /// Send-to-arrival latency percentiles, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest arrival, ms.
    pub max_ms: f64,
    /// The relay process during the run.
    pub relay: Option<ProcReport>,
    /// CPU-seconds of the relay's process tree while the pointers moved.
    pub relay_cpu_secs: Option<f64>,
    /// `relay_cpu_secs` per delivered pointer, µs (one delivery = one
    /// message to one other participant).
    pub relay_us_per_delivery: Option<f64>,
    /// This load generator during the run.
    pub load_generator: Option<ProcReport>,
    /// All CPUs of the machine, percent busy.
    pub machine_busy_percent: f64,
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// CBOR head of a 20-byte byte string (major type 2, length 20).
///
/// automerge-repo's relays decode every ephemeral message's data as CBOR
/// before passing it on (it is what `DocHandle::broadcast` sends) and drop
/// the message when that fails: raw bytes reached no participant through
/// either JavaScript relay. A CBOR byte string passes through all of them.
const CBOR_BYTES_20: u8 = 0x40 | 20;

/// The pointer message: a CBOR byte string holding the sender index, the
/// sequence number and the send time (µs), little-endian.
fn encode(sender: u32, seq: u64, sent_micros: u64) -> Vec<u8> {
    let mut data = Vec::with_capacity(21);
    data.push(CBOR_BYTES_20);
    data.extend_from_slice(&sender.to_le_bytes());
    data.extend_from_slice(&seq.to_le_bytes());
    data.extend_from_slice(&sent_micros.to_le_bytes());
    data
}

/// The send time of a pointer message, if it is one.
fn sent_at(data: &[u8]) -> Option<u64> {
    if data.len() != 21 || data[0] != CBOR_BYTES_20 {
        return None;
    }
    let bytes: [u8; 8] = data.get(13..21)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

async fn join(url: &str, participants: usize) -> Result<(DocumentId, Vec<Client>), LoadError> {
    let creator = Client::connect(url).await?;
    let id = crate::docs::create(&creator, |tx| {
        tx.put(ROOT, "board", "pointers")?;
        Ok(())
    })?;
    creator.wait_synced(id, SETUP_WAIT).await?;
    let mut clients = vec![creator];
    for _ in 1..participants {
        let client = Client::connect(url).await?;
        client.find(id, SETUP_WAIT).await?;
        clients.push(client);
    }
    Ok((id, clients))
}

async fn move_pointer(
    client: Client,
    id: DocumentId,
    index: u32,
    period: Duration,
    start: tokio::time::Instant,
    end: tokio::time::Instant,
    sent: Arc<AtomicU64>,
) {
    let offset = period.mul_f64(rand::rng().random::<f64>());
    let mut tick = tokio::time::interval_at(start + offset, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seq = 0u64;
    while tick.tick().await < end {
        seq += 1;
        client.broadcast(id, encode(index, seq, now_micros()));
        sent.fetch_add(1, Ordering::Relaxed);
    }
}

async fn watch_pointers(client: Client, until: tokio::time::Instant) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let mut changes = client.subscribe();
    loop {
        let now = now_micros();
        for message in client.take_ephemeral() {
            if let Some(sent) = sent_at(&message.data) {
                latencies.push(Duration::from_micros(now.saturating_sub(sent)));
            }
        }
        if tokio::time::Instant::now() >= until {
            return latencies;
        }
        let _ = tokio::time::timeout(POLL, changes.changed()).await;
    }
}

/// Nearest-rank percentile of sorted values, in ms.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// Runs one board with `config.participants` pointers. Always stops: the
/// senders after `duration`, the receivers [`GRACE`] later.
pub async fn run(config: &PointerConfig) -> Result<PointerReport, LoadError> {
    if config.participants < 2 || config.rate <= 0.0 {
        return Err(LoadError::Setup(
            "a board needs at least two participants and a positive rate".into(),
        ));
    }
    let (id, clients) = join(&config.url, config.participants).await?;
    let relay_monitor = config.relay_pid.map(Monitor::start).transpose()?;
    let relay_ticks_start = config.relay_pid.map(procstat::tree_cpu_ticks).transpose()?;
    let self_monitor = Monitor::start(std::process::id())?;
    let machine_start = procstat::machine_jiffies()?;
    let period = Duration::from_secs_f64(1.0 / config.rate);
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let end = start + config.duration;
    let sent = Arc::new(AtomicU64::new(0));
    let mut senders = JoinSet::new();
    let mut receivers = JoinSet::new();
    for (index, client) in clients.iter().enumerate() {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        senders.spawn(move_pointer(
            client.clone(),
            id,
            index,
            period,
            start,
            end,
            sent.clone(),
        ));
        receivers.spawn(watch_pointers(client.clone(), end + GRACE));
    }
    while senders.join_next().await.is_some() {}
    let relay = relay_monitor.map(Monitor::finish).transpose()?;
    let relay_ticks = match (config.relay_pid, relay_ticks_start) {
        (Some(pid), Some(start)) => Some(procstat::tree_cpu_ticks(pid)?.saturating_sub(start)),
        _ => None,
    };
    let relay_cpu_secs = relay_ticks.map(|t| t as f64 / procstat::clock_ticks_per_second() as f64);
    let load_generator = self_monitor.finish().ok();
    let machine_busy_percent =
        procstat::machine_busy_percent(machine_start, procstat::machine_jiffies()?);
    let mut latencies = Vec::new();
    while let Some(done) = receivers.join_next().await {
        latencies.extend(done.map_err(|e| LoadError::Setup(e.to_string()))?);
    }
    for client in &clients {
        client.disconnect();
    }
    latencies.sort_unstable();
    let sent = sent.load(Ordering::Relaxed);
    let received = latencies.len() as u64;
    Ok(PointerReport {
        participants: config.participants,
        rate: config.rate,
        duration_secs: config.duration.as_secs_f64(),
        sent,
        expected: sent * (config.participants as u64 - 1),
        received,
        p50_ms: percentile(&latencies, 50.0),
        p95_ms: percentile(&latencies, 95.0),
        p99_ms: percentile(&latencies, 99.0),
        max_ms: percentile(&latencies, 100.0),
        relay,
        relay_cpu_secs,
        relay_us_per_delivery: relay_cpu_secs
            .filter(|_| received > 0)
            .map(|secs| secs * 1e6 / received as f64),
        load_generator,
        machine_busy_percent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_message_carries_its_send_time() {
        let data = encode(7, 3, 1_700_000_000_123_456);
        assert_eq!(sent_at(&data), Some(1_700_000_000_123_456));
        assert_eq!(sent_at(&data[..10]), None);
        // One CBOR item with nothing after it (what the JavaScript relays
        // require before passing it on): a byte string of 20 bytes (major
        // type 2 in the top three bits, the length in the low five).
        assert_eq!(data.len(), 21);
        assert_eq!((data[0] >> 5, data[0] & 0x1f), (2, 20));
        assert_eq!(&data[1..5], &7u32.to_le_bytes());
    }
}
