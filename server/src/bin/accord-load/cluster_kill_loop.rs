//! The cluster `kill -9` loop: three relay nodes on one PostgreSQL
//! database; a writer on one node streams edits to a document another node
//! owns (forwarded over a node link); the owner is SIGKILLed at a random
//! moment. Measures the time from the kill to the writer's first change
//! acknowledged again (reconnecting with a short backoff, as clients do),
//! and checks on a fresh reader on the third node that every change whose
//! heads were acknowledged before the kill is there. The killed node is
//! restarted (same node id) before the next cycle, which kills the new
//! owner.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use accord_server::client::Client;
use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::Transactable;
use rand::Rng;
use serde::Serialize;

use crate::docs;
use crate::error::LoadError;
use crate::kill_loop;
use crate::relay::{Kind, Launcher, RelayProcess, ScratchDir};

/// What the loop found.
#[derive(Debug, Serialize)]
pub struct ClusterKillReport {
    /// Kill cycles run.
    pub cycles: u32,
    /// Lease length the nodes ran with (ms).
    pub lease_ttl_ms: u64,
    /// Changes made by the writer over all cycles.
    pub changes_written: u64,
    /// Acknowledged heads checked after the kills.
    pub acknowledged_heads_checked: u64,
    /// Acknowledged changes missing after a kill (must be 0).
    pub acknowledged_lost: u64,
    /// Kill to first acknowledgement, median (ms).
    pub failover_p50_ms: f64,
    /// Kill to first acknowledgement, 99th percentile (ms).
    pub failover_p99_ms: f64,
    /// Kill to first acknowledgement, worst (ms).
    pub failover_max_ms: f64,
    /// Wall time of the whole loop in seconds.
    pub seconds: f64,
}

const WAIT: Duration = Duration::from_secs(30);
const NODES: usize = 3;
/// The writer's reconnect backoff after its connection closed.
const BACKOFF: Duration = Duration::from_millis(50);

/// Runs `cycles` kills against three nodes from `accord_bin` on `store`.
pub async fn run(
    accord_bin: PathBuf,
    store: String,
    cycles: u32,
    lease_ttl_ms: u64,
) -> Result<ClusterKillReport, LoadError> {
    let launcher = Launcher::accord_only(accord_bin);
    let args: Vec<String> = [
        "--store",
        &store,
        "--lease-ttl-ms",
        &lease_ttl_ms.to_string(),
        "--cluster-secret",
        &format!("load-{:032x}", rand::rng().random::<u128>()),
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    let dirs: Vec<ScratchDir> = (0..NODES)
        .map(|n| ScratchDir::new(&format!("cluster-node{n}")))
        .collect::<Result<_, _>>()?;
    let mut nodes: Vec<Option<RelayProcess>> = Vec::new();
    for dir in &dirs {
        nodes.push(Some(RelayProcess::start_with(
            &launcher,
            Kind::Accord,
            dir.path(),
            &args,
        )?));
    }
    let token = {
        let first = nodes[0].as_mut().expect("started");
        first.sync_url().await?;
        first.token()
    };
    let url = |nodes: &mut [Option<RelayProcess>], n: usize| -> Result<String, LoadError> {
        let node = nodes[n].as_mut().expect("running");
        node.set_token(token.clone());
        let http = node.http().to_owned();
        Ok(format!(
            "ws://{}/sync?token={}",
            http.trim_start_matches("http://"),
            token.clone().unwrap_or_default()
        ))
    };
    // Every node must know the device before clients connect there.
    for node in &nodes {
        let http = node.as_ref().expect("running").http().to_owned();
        crate::wait_known(&http, token.as_deref().unwrap_or_default())
            .await
            .map_err(|e| LoadError::Setup(e.to_string()))?;
    }
    // The document is created on node 0, which owns it.
    let creator = Client::connect(&url(&mut nodes, 0)?).await?;
    let id = docs::create(&creator, |tx| tx.put(ROOT, "title", "cluster kill loop"))?;
    creator.wait_synced(id, WAIT).await?;
    creator.disconnect();
    let mut owner = 0usize;
    let mut report = ClusterKillReport {
        cycles,
        lease_ttl_ms,
        changes_written: 0,
        acknowledged_heads_checked: 0,
        acknowledged_lost: 0,
        failover_p50_ms: 0.0,
        failover_p99_ms: 0.0,
        failover_max_ms: 0.0,
        seconds: 0.0,
    };
    let mut failovers = Vec::new();
    let started = Instant::now();
    for cycle in 0..cycles {
        // The writer on the next node (forwarded to the owner); the reader
        // on the one after.
        let writer_node = (owner + 1) % NODES;
        let reader_node = (owner + 2) % NODES;
        let writer = Client::connect(&url(&mut nodes, writer_node)?).await?;
        writer.find(id, WAIT).await?;
        let (mut n, acknowledged) = kill_loop::write_burst(&writer, id, cycle).await?;
        nodes[owner].take().expect("running").kill9();
        let killed_at = Instant::now();
        // One change after the kill; time until it is acknowledged.
        writer.change(id, |tx| tx.put(ROOT, "after_kill", i64::from(cycle)))?;
        n += 1;
        report.changes_written += n;
        let writer_url = url(&mut nodes, writer_node)?;
        loop {
            if writer.is_connected() && writer.wait_synced(id, BACKOFF).await.is_ok() {
                break;
            }
            if killed_at.elapsed() > WAIT {
                return Err(LoadError::Setup(format!(
                    "cycle {cycle}: no acknowledgement within {WAIT:?} of the kill"
                )));
            }
            if !writer.is_connected() {
                tokio::time::sleep(BACKOFF).await;
                let _ = writer.reconnect(&writer_url).await;
            }
        }
        failovers.push(killed_at.elapsed().as_secs_f64() * 1000.0);
        let reader = Client::connect(&url(&mut nodes, reader_node)?).await?;
        reader.find(id, WAIT).await?;
        report.acknowledged_heads_checked += acknowledged.len() as u64;
        let lost = kill_loop::missing(&reader, id, &acknowledged);
        report.acknowledged_lost += lost as u64;
        if lost > 0 {
            eprintln!("cycle {cycle}: {lost} acknowledged change(s) missing after the kill");
        }
        reader.disconnect();
        writer.disconnect();
        // The writer's node took the document over; restart the killed one.
        nodes[owner] = Some(RelayProcess::start_with(
            &launcher,
            Kind::Accord,
            dirs[owner].path(),
            &args,
        )?);
        owner = writer_node;
    }
    report.seconds = started.elapsed().as_secs_f64();
    failovers.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((failovers.len() as f64 - 1.0) * q).round() as usize;
        failovers.get(index).copied().unwrap_or(0.0)
    };
    report.failover_p50_ms = at(0.5);
    report.failover_p99_ms = at(0.99);
    report.failover_max_ms = failovers.last().copied().unwrap_or(0.0);
    for node in nodes.into_iter().flatten() {
        node.stop();
    }
    Ok(report)
}
