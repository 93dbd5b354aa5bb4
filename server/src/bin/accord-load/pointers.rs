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
use crate::measure::{Latency, Usage, Watch, micros_per};

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
    /// Send-to-arrival latency.
    #[serde(flatten)]
    pub latency: Latency,
    /// The relay, this load generator and the machine while pointers moved.
    #[serde(flatten)]
    pub usage: Usage,
    /// CPU-seconds of the relay's process tree while the pointers moved.
    pub relay_cpu_secs: Option<f64>,
    /// `relay_cpu_secs` per delivered pointer, µs (one delivery = one
    /// message to one other participant).
    pub relay_us_per_delivery: Option<f64>,
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

/// Runs one board with `config.participants` pointers. Always stops: the
/// senders after `duration`, the receivers [`GRACE`] later.
pub async fn run(config: &PointerConfig) -> Result<PointerReport, LoadError> {
    if config.participants < 2 || config.rate <= 0.0 {
        return Err(LoadError::Setup(
            "a board needs at least two participants and a positive rate".into(),
        ));
    }
    let (id, clients) = crate::docs::open_shared(
        |_| &config.url,
        config.participants,
        |tx| {
            tx.put(ROOT, "board", "pointers")?;
            Ok(())
        },
    )
    .await?;
    let watch = Watch::start(config.relay_pid)?;
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
    let (usage, relay_cpu) = watch.stop()?;
    let relay_cpu_secs = relay_cpu.secs()?;
    let mut latencies = Vec::new();
    while let Some(done) = receivers.join_next().await {
        latencies.extend(done.map_err(|e| LoadError::Setup(e.to_string()))?);
    }
    for client in &clients {
        client.disconnect();
    }
    let sent = sent.load(Ordering::Relaxed);
    let received = latencies.len() as u64;
    Ok(PointerReport {
        participants: config.participants,
        rate: config.rate,
        duration_secs: config.duration.as_secs_f64(),
        sent,
        expected: sent * (config.participants as u64 - 1),
        received,
        latency: Latency::of(&mut latencies),
        usage,
        relay_cpu_secs,
        relay_us_per_delivery: micros_per(relay_cpu_secs, received),
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
