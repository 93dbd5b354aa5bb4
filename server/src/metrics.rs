//! Relay counters, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters and gauges, updated lock-free from every task.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open WebSocket connections.
    pub connections_open: AtomicU64,
    /// Connections accepted since start.
    pub connections_total: AtomicU64,
    /// Documents held in memory.
    pub documents_loaded: AtomicU64,
    /// Messages received.
    pub messages_in: AtomicU64,
    /// Messages sent.
    pub messages_out: AtomicU64,
    /// Bytes received in binary frames.
    pub bytes_in: AtomicU64,
    /// Bytes sent in binary frames.
    pub bytes_out: AtomicU64,
    /// Connections closed for bad input or limits.
    pub protocol_errors: AtomicU64,
    /// Connections dropped because they did not read fast enough.
    pub slow_clients_dropped: AtomicU64,
    /// Times the sync hub restarted after a panic.
    pub hub_restarts: AtomicU64,
    /// Bytes queued for clients and not yet written to their sockets.
    pub outbound_queued_bytes: AtomicU64,
    /// Group commits completed.
    pub commits: AtomicU64,
    /// Writes in those commits.
    pub committed_writes: AtomicU64,
    /// Failed commits.
    pub commit_failures: AtomicU64,
    /// Total commit time in microseconds.
    pub commit_micros: AtomicU64,
    /// Document loads answered by the storage worker.
    pub loads: AtomicU64,
    /// Total microseconds from asking for a load to its answer (queueing
    /// behind the storage worker's other jobs included).
    pub load_micros: AtomicU64,
    /// The longest of those, in microseconds.
    pub load_micros_max: AtomicU64,
    /// Document ownership leases this node holds (shared stores only).
    pub documents_owned: AtomicU64,
    /// Times this node took a document's ownership.
    pub ownership_acquired: AtomicU64,
    /// Times a load found the document owned by another node.
    pub ownership_refused: AtomicU64,
    /// Leases lost: not renewed in time, or taken over by another node.
    pub ownership_lost: AtomicU64,
    /// Writes the store refused because another node owns the document now.
    pub ownership_fenced: AtomicU64,
    /// Node links this node opened to forward a client's frames to an owner.
    pub links_opened: AtomicU64,
    /// Node links open now.
    pub links_open: AtomicU64,
    /// Node links that broke or could not be opened (their clients were
    /// told to reconnect).
    pub links_broken: AtomicU64,
    /// Client messages forwarded to the owning node.
    pub forwarded_to_owner: AtomicU64,
    /// Owner messages forwarded back to this node's clients.
    pub forwarded_from_owner: AtomicU64,
    /// Access changes (revocations, sign-outs) this node announced to the
    /// other nodes and waited for.
    pub access_changes_announced: AtomicU64,
    /// Total microseconds those announcements waited for acknowledgements.
    pub access_ack_micros: AtomicU64,
}

impl Metrics {
    /// Records one group commit.
    pub fn observe_commit(&self, took: Duration, writes: usize, ok: bool) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.committed_writes
            .fetch_add(writes as u64, Ordering::Relaxed);
        self.commit_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if !ok {
            self.commit_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records one document load that took `took` from request to answer.
    pub fn observe_load(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.loads.fetch_add(1, Ordering::Relaxed);
        self.load_micros.fetch_add(micros, Ordering::Relaxed);
        self.load_micros_max.fetch_max(micros, Ordering::Relaxed);
    }

    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut line = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        line(
            "accord_connections_open",
            "gauge",
            "Open WebSocket connections.",
            get(&self.connections_open).to_string(),
        );
        line(
            "accord_connections_total",
            "counter",
            "Connections accepted.",
            get(&self.connections_total).to_string(),
        );
        line(
            "accord_documents_loaded",
            "gauge",
            "Documents held in memory.",
            get(&self.documents_loaded).to_string(),
        );
        line(
            "accord_messages_received_total",
            "counter",
            "Protocol messages received.",
            get(&self.messages_in).to_string(),
        );
        line(
            "accord_messages_sent_total",
            "counter",
            "Protocol messages sent.",
            get(&self.messages_out).to_string(),
        );
        line(
            "accord_bytes_received_total",
            "counter",
            "Bytes received.",
            get(&self.bytes_in).to_string(),
        );
        line(
            "accord_bytes_sent_total",
            "counter",
            "Bytes sent.",
            get(&self.bytes_out).to_string(),
        );
        line(
            "accord_protocol_errors_total",
            "counter",
            "Connections closed for bad input or limits.",
            get(&self.protocol_errors).to_string(),
        );
        line(
            "accord_slow_clients_dropped_total",
            "counter",
            "Connections dropped for not reading.",
            get(&self.slow_clients_dropped).to_string(),
        );
        for (name, kind, help, value) in [
            (
                "accord_documents_owned",
                "gauge",
                "Document ownership leases held by this node.",
                &self.documents_owned,
            ),
            (
                "accord_ownership_acquired_total",
                "counter",
                "Documents this node took ownership of.",
                &self.ownership_acquired,
            ),
            (
                "accord_ownership_refused_total",
                "counter",
                "Loads refused because another node owns the document.",
                &self.ownership_refused,
            ),
            (
                "accord_ownership_lost_total",
                "counter",
                "Leases that lapsed or were taken over.",
                &self.ownership_lost,
            ),
            (
                "accord_ownership_fenced_total",
                "counter",
                "Writes refused because another node owns the document now.",
                &self.ownership_fenced,
            ),
            (
                "accord_links_opened_total",
                "counter",
                "Node links opened to forward clients' frames to owners.",
                &self.links_opened,
            ),
            (
                "accord_links_open",
                "gauge",
                "Node links open now.",
                &self.links_open,
            ),
            (
                "accord_links_broken_total",
                "counter",
                "Node links that broke or could not be opened.",
                &self.links_broken,
            ),
            (
                "accord_forwarded_to_owner_total",
                "counter",
                "Client messages forwarded to the owning node.",
                &self.forwarded_to_owner,
            ),
            (
                "accord_forwarded_from_owner_total",
                "counter",
                "Owner messages forwarded back to this node's clients.",
                &self.forwarded_from_owner,
            ),
            (
                "accord_access_changes_announced_total",
                "counter",
                "Revocations and sign-outs announced to the other nodes and acknowledged.",
                &self.access_changes_announced,
            ),
        ] {
            line(name, kind, help, get(value).to_string());
        }
        line(
            "accord_hub_restarts_total",
            "counter",
            "Sync hub restarts after a panic.",
            get(&self.hub_restarts).to_string(),
        );
        line(
            "accord_outbound_queued_bytes",
            "gauge",
            "Bytes queued for clients, not yet written.",
            get(&self.outbound_queued_bytes).to_string(),
        );
        line(
            "accord_commits_total",
            "counter",
            "Group commits.",
            get(&self.commits).to_string(),
        );
        line(
            "accord_committed_writes_total",
            "counter",
            "Writes committed.",
            get(&self.committed_writes).to_string(),
        );
        line(
            "accord_commit_failures_total",
            "counter",
            "Failed group commits.",
            get(&self.commit_failures).to_string(),
        );
        #[allow(clippy::cast_precision_loss)]
        let acks = get(&self.access_ack_micros) as f64 / 1e6;
        line(
            "accord_access_ack_seconds_total",
            "counter",
            "Time access-changing API calls waited for every node to apply the change.",
            format!("{acks:.6}"),
        );
        #[allow(clippy::cast_precision_loss)]
        let seconds = get(&self.commit_micros) as f64 / 1e6;
        line(
            "accord_commit_seconds_total",
            "counter",
            "Time spent committing.",
            format!("{seconds:.6}"),
        );
        #[allow(clippy::cast_precision_loss)]
        let (load_seconds, load_max) = (
            get(&self.load_micros) as f64 / 1e6,
            get(&self.load_micros_max) as f64 / 1e6,
        );
        line(
            "accord_loads_total",
            "counter",
            "Document loads answered by the storage worker.",
            get(&self.loads).to_string(),
        );
        line(
            "accord_load_seconds_total",
            "counter",
            "Time from asking for a document load to its answer, queueing included.",
            format!("{load_seconds:.6}"),
        );
        line(
            "accord_load_seconds_max",
            "gauge",
            "The longest document load since start, queueing included.",
            format!("{load_max:.6}"),
        );
        out
    }
}
