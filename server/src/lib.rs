//! The Accord relay.
//!
//! It syncs partnership documents between members' devices over the
//! automerge-repo v1 WebSocket protocol, stores them durably (SQLite by
//! default), and enforces who may read and write each one.
//!
//! [`app`] builds the HTTP router (testable with `tower::ServiceExt::oneshot`);
//! [`serve`] runs it on a listener until a shutdown signal, then commits all.

pub mod access;
mod api;
pub mod client;
pub mod cluster;
pub mod config;
pub mod first_line;
mod hub;
mod listener;
pub mod metrics;
mod outbox;
pub mod ownership;
mod peers;
mod persistence;
pub mod plain_http;
mod redirect;
mod static_files;
pub mod storage;
mod text;
pub mod tls;
pub mod web_assets;
mod ws;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use accord_shared::engine::{Engine, EngineConfig};
use accord_shared::ids::PeerId;
use accord_shared::protocol::PeerMetadata;
use axum::Router;
use tokio::net::TcpListener;

use crate::access::{AccessControl, AccessError};
pub use crate::config::{Config, Limits};
use crate::hub::HubHandle;
use crate::metrics::Metrics;
use crate::storage::Storage;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Everything request handlers share.
#[derive(Clone)]
pub struct AppState {
    access: Arc<AccessControl>,
    hub: HubHandle,
    metrics: Arc<Metrics>,
    limits: Limits,
    relay_peer: PeerId,
    relay_metadata: PeerMetadata,
    next_connection: Arc<AtomicU64>,
    web: Option<Arc<web_assets::WebApp>>,
    metrics_access: Arc<config::MetricsAccess>,
    peers: Arc<peers::PeerBindings>,
    /// The documents' store (for [`AppState::join_cluster`]).
    documents: Arc<dyn storage::DocumentStore>,
    /// Set when this node forwards to, and accepts links from, other nodes.
    cluster: Option<Arc<cluster::Cluster>>,
    /// Access changes across nodes (shared stores only).
    access_sync: Option<Arc<cluster::AccessSync>>,
}

/// How often a relay on a shared store re-reads the access records that
/// other nodes may have changed.
const ACCESS_REFRESH: Duration = Duration::from_secs(1);

/// Keeps the access cache in step with other relay nodes writing the same
/// store, and stops the sync of grants revoked and devices signed out there.
fn spawn_access_refresh(access: Arc<AccessControl>, hub: hub::HubHandle) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(ACCESS_REFRESH);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            refresh_access(&access, &hub).await;
        }
    });
}

/// Re-reads the access records now and stops the sync of whatever was
/// revoked meanwhile (through another node). Returns false when reading
/// failed (the periodic refresh tries again).
pub(crate) async fn refresh_access(access: &Arc<AccessControl>, hub: &hub::HubHandle) -> bool {
    let refreshing = access.clone();
    let changes = match tokio::task::spawn_blocking(move || refreshing.refresh()).await {
        Ok(Ok(changes)) => changes,
        Ok(Err(error)) => {
            tracing::warn!(%error, "re-reading access records failed; retrying");
            return false;
        }
        Err(_) => return false,
    };
    for (device, document) in changes.revoked {
        hub.send(hub::HubInput::Revoked { device, document });
    }
    for device in changes.signed_out {
        hub.send(hub::HubInput::SignedOut {
            device,
            reason: "this device signed out or was revoked (through another relay node)",
        });
    }
    true
}

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The access tables could not be loaded.
    #[error("loading access rules: {0}")]
    Access(#[from] AccessError),
}

impl AppState {
    /// Loads access rules and starts the sync hub and storage thread on the
    /// current tokio runtime.
    pub fn start(config: &Config, storage: Arc<dyn Storage>) -> Result<Self, StartError> {
        let access = Arc::new(AccessControl::load(storage.clone(), config.registration)?);
        let metrics = Arc::new(Metrics::default());
        let shared_store = storage.lease_ttl_ms().is_some();
        // Nodes sharing a store answer as one relay (see `cluster`): the
        // same peer id, derived from the shared storage id.
        let suffix = if shared_store {
            config.storage_id.chars().take(64).collect()
        } else {
            access::secret::random_hex(8)
        };
        let relay_peer: PeerId = format!("accord-relay-{suffix}")
            .parse()
            .expect("relay peer id is valid");
        let relay_metadata = PeerMetadata {
            storage_id: Some(config.storage_id.clone()),
            is_ephemeral: false,
        };
        let mut engine_config = EngineConfig::relay();
        engine_config.idle_unload_ms = config.limits.idle_unload_ms;
        let make_engine = {
            let (peer, metadata) = (relay_peer.clone(), relay_metadata.clone());
            Box::new(move || Engine::new(peer.clone(), metadata.clone(), engine_config.clone()))
        };
        let document_store: Arc<dyn storage::DocumentStore> = storage;
        let hub = hub::spawn(
            make_engine,
            access.clone(),
            document_store.clone(),
            metrics.clone(),
            Duration::from_secs(5),
            config.limits.hub_input_bytes,
            Duration::from_millis(config.limits.commit_linger_ms),
        );
        let access_sync = if shared_store {
            spawn_access_refresh(access.clone(), hub.clone());
            cluster::AccessSync::spawn(
                document_store.clone(),
                access.clone(),
                hub.clone(),
                metrics.clone(),
            )
        } else {
            None
        };
        Ok(Self {
            access,
            hub,
            metrics,
            limits: config.limits.clone(),
            relay_peer,
            relay_metadata,
            next_connection: Arc::new(AtomicU64::new(1)),
            web: web_assets::WebApp::choose(config.web_dir.clone()).map(Arc::new),
            metrics_access: Arc::new(config.metrics.clone()),
            peers: Arc::default(),
            documents: document_store,
            cluster: None,
            access_sync,
        })
    }

    /// After a revocation or sign-out committed: returns once every other
    /// live node applied it (at once for a store only one relay uses).
    pub(crate) async fn access_changed(&self) {
        if let Some(sync) = &self.access_sync {
            sync.announce().await;
        }
    }

    /// Makes this node forward clients' frames for documents other nodes
    /// own, and accept such links from nodes presenting `secret`;
    /// `link_url` (`ws://host:port`) is where the others reach this node.
    /// Only for a shared store (`--store postgres://…`).
    pub fn join_cluster(
        &mut self,
        secret: &str,
        link_url: &str,
    ) -> Result<(), cluster::ClusterError> {
        let joined = cluster::Cluster::join(
            secret,
            link_url,
            self.documents.clone(),
            self.metrics.clone(),
        )?;
        self.cluster = Some(Arc::new(joined));
        Ok(())
    }

    /// The access rules (for operator commands and tests).
    pub fn access(&self) -> &AccessControl {
        &self.access
    }

    /// The relay's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Commits everything queued and stops the hub.
    pub async fn shutdown(&self) {
        self.hub.shutdown().await;
    }
}

/// The relay's HTTP routes: `/sync`, `/api/…`, `/healthz`, `/metrics`, and the web app.
pub fn app(state: AppState) -> Router {
    api::routes()
        .route("/sync", axum::routing::get(ws::upgrade))
        .route(cluster::LINK_PATH, axum::routing::get(cluster::upgrade))
        .fallback(static_files::serve)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(static_files::security_headers))
        .with_state(state)
}

/// `/metrics` and `/healthz` alone, for a separate (e.g. internal) listener.
pub fn metrics_app(state: AppState) -> Router {
    api::metrics_routes().with_state(state)
}

/// Bounds the time to produce a response (reading the request body
/// included), so a client that trickles a body cannot hold a handler. The
/// WebSocket upgrade answers at once; the socket it becomes is not bounded.
async fn request_timeout(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let limit = Duration::from_millis(state.limits.request_timeout_ms);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (
            axum::http::StatusCode::REQUEST_TIMEOUT,
            axum::Json(serde_json::json!({ "error": "the request took too long to arrive" })),
        )
            .into_response(),
    }
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then commits
/// everything queued before returning.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(state.clone());
    // Connections get TCP_NODELAY (sync messages are small and
    // latency-bound), a cap and timeouts: see `listener`.
    listener::run(listener, router, &state.limits, None, shutdown).await?;
    state.shutdown().await;
    Ok(())
}

/// [`serve`] over TLS: HTTPS and WSS with the certificate in `tls` (which
/// [`tls::Tls::reload`] can swap while serving).
pub async fn serve_tls(
    listener: TcpListener,
    state: AppState,
    tls: tls::Tls,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(state.clone());
    listener::run(listener, router, &state.limits, Some(tls), shutdown).await?;
    state.shutdown().await;
    Ok(())
}

/// Answers every request on a plain-HTTP listener with a permanent
/// redirect to the same host and path over HTTPS on `https_port`, under
/// `limits`' connection cap and timeouts. Runs until `shutdown` resolves.
pub async fn serve_https_redirect(
    listener: TcpListener,
    https_port: u16,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = Router::new().fallback(move |request: axum::extract::Request| async move {
        redirect::to_https(&request, https_port)
    });
    listener::run(listener, router, limits, None, shutdown).await
}
