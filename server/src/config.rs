//! Relay configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::access::Registration;

/// Limits that protect the relay from one client.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted WebSocket message, in bytes.
    pub max_frame_bytes: usize,
    /// Most distinct documents one connection may touch.
    pub max_documents_per_connection: usize,
    /// Sustained messages per second per connection (bursts of twice this pass).
    pub max_messages_per_second: u32,
    /// Bytes queued for one client before it counts as not reading and is
    /// dropped (an empty queue still takes one message of any size).
    pub outbox_bytes: u64,
    /// Bytes queued for all clients together; past it, the client whose
    /// message does not fit is dropped.
    pub outbound_bytes_total: u64,
    /// Bytes of received messages waiting for the sync hub; past it,
    /// connections wait before reading more.
    pub hub_input_bytes: u32,
    /// Unload a document from memory this long after its last peer left.
    pub idle_unload_ms: u64,
    /// Time a new connection has to send `join`.
    pub handshake_timeout_ms: u64,
    /// Open connections (HTTP and WebSocket) before new ones are refused.
    pub max_connections: usize,
    /// Connections past `max_connections` still accepted to answer
    /// `/healthz` and `/metrics` (everything else gets 503 on them).
    pub health_reserve_connections: usize,
    /// Time a client has to send a request's headers; also how long an idle
    /// kept-alive HTTP connection stays open.
    pub header_read_timeout_ms: u64,
    /// Time a request (reading its body included) may take, WebSocket
    /// upgrades excepted.
    pub request_timeout_ms: u64,
    /// Longest a group commit waits after its first write for more writes
    /// to share it (fewer commits, at up to this much added latency). Heads
    /// are still advertised only once their commit is on disk.
    pub commit_linger_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 32 * 1024 * 1024,
            max_documents_per_connection: 2_000,
            max_messages_per_second: 2_000,
            outbox_bytes: 16 * 1024 * 1024,
            outbound_bytes_total: 128 * 1024 * 1024,
            hub_input_bytes: 64 * 1024 * 1024,
            idle_unload_ms: 30_000,
            handshake_timeout_ms: 10_000,
            max_connections: 8_192,
            health_reserve_connections: 16,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            commit_linger_ms: 0,
        }
    }
}

/// Everything `accord serve` needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the SQLite database.
    pub data_dir: PathBuf,
    /// Directory of the built web app, served at `/`; when `None`, the copy
    /// built into the binary (the `embed-web` feature), if any.
    pub web_dir: Option<PathBuf>,
    /// Open or invite-only registration.
    pub registration: Registration,
    /// Per-connection limits.
    pub limits: Limits,
    /// This relay's storage id (advertised in the handshake).
    pub storage_id: String,
    /// Who may read `/metrics`.
    pub metrics: MetricsAccess,
}

/// Where `/metrics` is served and who may read it.
#[derive(Debug, Clone, Default)]
pub struct MetricsAccess {
    /// When set, `/metrics` needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// When true, `/metrics` is served only by [`crate::metrics_app`] (on a
    /// separate, e.g. internal, address) and the main listener answers 404.
    pub separate_listener: bool,
}

impl Config {
    /// The SQLite database path inside the data directory.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("accord.sqlite3")
    }
}
