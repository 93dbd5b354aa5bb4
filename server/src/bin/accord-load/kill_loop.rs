//! The `kill -9` loop: stream edits, SIGKILL the relay at a random moment,
//! restart it on the same data, and check that every change whose heads the
//! relay had advertised before the kill is still there.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use accord_server::client::Client;
use accord_shared::automerge::transaction::Transactable;
use accord_shared::automerge::{ChangeHash, ROOT};
use accord_shared::ids::DocumentId;
use rand::Rng;
use serde::Serialize;

use crate::docs;
use crate::error::LoadError;
use crate::relay::{Kind, Launcher, RelayProcess, ScratchDir};

/// What the loop found.
#[derive(Debug, Serialize)]
pub struct KillLoopReport {
    /// Cycles run.
    pub cycles: u32,
    /// Changes made by the writer over all cycles.
    pub changes_written: u64,
    /// Acknowledged heads checked after restarts.
    pub acknowledged_heads_checked: u64,
    /// Acknowledged changes missing after a restart (must be 0).
    pub acknowledged_lost: u64,
    /// Wall time of the whole loop in seconds.
    pub seconds: f64,
}

const WAIT: Duration = Duration::from_secs(30);

/// Runs `cycles` kill/restart cycles against a fresh relay from `accord_bin`.
pub async fn run(accord_bin: PathBuf, cycles: u32) -> Result<KillLoopReport, LoadError> {
    let launcher = Launcher::accord_only(accord_bin);
    let data = ScratchDir::new("kill-loop")?;
    let mut relay = RelayProcess::start(&launcher, Kind::Accord, data.path())?;
    let url = relay.sync_url().await?;
    let token = relay.token();
    let writer = Client::connect(&url).await?;
    let id = docs::create(&writer, |tx| tx.put(ROOT, "title", "kill loop"))?;
    writer.wait_synced(id, WAIT).await?;
    let started = Instant::now();
    let mut report = KillLoopReport {
        cycles,
        changes_written: 0,
        acknowledged_heads_checked: 0,
        acknowledged_lost: 0,
        seconds: 0.0,
    };
    for cycle in 0..cycles {
        let (n, acknowledged) = write_burst(&writer, id, cycle).await?;
        report.changes_written += n;
        relay.kill9();
        relay = RelayProcess::start(&launcher, Kind::Accord, data.path())?;
        relay.set_token(token.clone());
        let url = relay.sync_url().await?;
        let reader = Client::connect(&url).await?;
        reader.find(id, WAIT).await?;
        report.acknowledged_heads_checked += acknowledged.len() as u64;
        let lost = missing(&reader, id, &acknowledged);
        report.acknowledged_lost += lost as u64;
        if lost > 0 {
            eprintln!("cycle {cycle}: {lost} acknowledged change(s) missing after restart");
        }
        reader.disconnect();
        writer.reconnect(&url).await?;
        writer.wait_synced(id, WAIT).await?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    relay.stop();
    Ok(report)
}

/// How many of the `acknowledged` changes a fresh `reader` lacks in `id`:
/// each one is an acknowledged change the relay lost.
pub fn missing(reader: &Client, id: DocumentId, acknowledged: &[ChangeHash]) -> usize {
    reader.lacking(id, acknowledged).len()
}

/// Writes changes to `id` for a random 20–120 ms, as fast as the writer
/// takes them; returns how many, and the heads the relay acknowledged by
/// the end (what a kill right after must not lose).
pub async fn write_burst(
    writer: &Client,
    id: DocumentId,
    cycle: u32,
) -> Result<(u64, Vec<ChangeHash>), LoadError> {
    let relay_peer = writer
        .relay_peer()
        .ok_or_else(|| LoadError::Setup("writer not connected".into()))?;
    let until = Instant::now() + Duration::from_millis(rand::rng().random_range(20..120));
    let mut acknowledged = Vec::new();
    let mut n = 0u64;
    while Instant::now() < until {
        writer.change(id, |tx| {
            tx.put(ROOT, format!("k{}", n % 64), i64::from(cycle))
        })?;
        n += 1;
        if let Some(heads) = writer.acknowledged_heads(id, &relay_peer) {
            acknowledged = heads;
        }
        tokio::task::yield_now().await;
    }
    if let Some(heads) = writer.acknowledged_heads(id, &relay_peer) {
        acknowledged = heads;
    }
    Ok((n, acknowledged))
}
