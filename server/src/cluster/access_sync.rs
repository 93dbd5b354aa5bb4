//! Access changes across nodes before the API answers.
//!
//! A node that revokes a grant, or signs out or revokes a device, commits
//! the change, then announces a new access version (a PostgreSQL sequence
//! and `NOTIFY accord_access`, only a doorbell: the records themselves are
//! re-read). Every node listens; on the doorbell it re-reads the access
//! records, lets its hub stop the sync the change forbids, waits until the
//! hub has done so, and records the version in its `nodes` row with its
//! heartbeat. The announcing API call answers only when every other live
//! node (heartbeat within the lease length) has recorded the version, so
//! when `DELETE` returns, no node still serves the device. A node that
//! does not answer within a lease length has stopped heartbeating and
//! renewing, so it serves nothing either; the call then answers anyway.
//! After its listening connection breaks, a node re-reads everything and
//! records the newest version, so it never acknowledges a change it missed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::access::AccessControl;
use crate::hub::HubHandle;
use crate::metrics::Metrics;
use crate::storage::{AccessSignal, DocumentStore};

/// How often the acknowledgements of an announced change are polled.
const POLL: Duration = Duration::from_millis(10);

/// This node's side of access propagation.
pub(crate) struct AccessSync {
    store: Arc<dyn DocumentStore>,
    /// The newest access version this node has applied.
    seen: AtomicU64,
    lease_ttl: Duration,
    metrics: Arc<Metrics>,
}

impl AccessSync {
    /// Starts listening for announced changes and heartbeating (every
    /// quarter lease); `None` for a store only one relay uses.
    pub(crate) fn spawn(
        store: Arc<dyn DocumentStore>,
        access: Arc<AccessControl>,
        hub: HubHandle,
        metrics: Arc<Metrics>,
    ) -> Option<Arc<Self>> {
        let ttl = store.lease_ttl_ms()?;
        let mut signals = store.listen_access()?;
        let sync = Arc::new(Self {
            store,
            seen: AtomicU64::new(0),
            lease_ttl: Duration::from_millis(ttl),
            metrics,
        });
        let running = sync.clone();
        tokio::spawn(async move {
            // Whatever was announced before this node listened is in the
            // records it loaded at start.
            if let Ok(version) = running.blocking(|s| s.access_version()).await {
                running.seen.fetch_max(version, Ordering::AcqRel);
            }
            let mut heartbeat = tokio::time::interval(running.lease_ttl / 4);
            heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    signal = signals.recv() => {
                        let Some(signal) = signal else { return };
                        running.apply(signal, &access, &hub).await;
                    }
                    _ = heartbeat.tick() => {
                        let seen = running.seen.load(Ordering::Acquire);
                        if let Err(error) = running.blocking(move |s| s.heartbeat(seen)).await {
                            tracing::warn!(%error, "node heartbeat failed; retrying");
                        }
                    }
                }
            }
        });
        Some(sync)
    }

    /// Applies an announced change (or, after a reconnect, everything up
    /// to the newest version) and acknowledges it.
    async fn apply(&self, signal: AccessSignal, access: &Arc<AccessControl>, hub: &HubHandle) {
        let version = match signal {
            AccessSignal::Changed(version) => version,
            // Read the version before the records, so nothing newer than
            // what the re-read covers is acknowledged.
            AccessSignal::Resumed => match self.blocking(|s| s.access_version()).await {
                Ok(version) => version,
                Err(_) => return,
            },
        };
        if version <= self.seen.load(Ordering::Acquire) {
            return;
        }
        if !crate::refresh_access(access, hub).await {
            return; // not applied: not acknowledged (the caller waits it out)
        }
        // The hub has stopped whatever the re-read revoked.
        hub.barrier().await;
        self.seen.fetch_max(version, Ordering::AcqRel);
        let seen = self.seen.load(Ordering::Acquire);
        if let Err(error) = self.blocking(move |s| s.heartbeat(seen)).await {
            tracing::warn!(%error, "acknowledging an access change failed");
        }
    }

    /// Announces a committed access change and waits until every other
    /// live node has applied it (at most a lease length).
    pub(crate) async fn announce(&self) {
        let started = Instant::now();
        let version = match self.blocking(|s| s.announce_access_change()).await {
            Ok(version) => version,
            Err(error) => {
                tracing::warn!(%error, "announcing an access change failed; other nodes see it within a second");
                return;
            }
        };
        let deadline = started + self.lease_ttl;
        loop {
            match self.blocking(move |s| s.access_laggards(version)).await {
                Ok(0) => break,
                Ok(_) | Err(_) if Instant::now() >= deadline => {
                    tracing::warn!(
                        version,
                        "some relay nodes did not acknowledge an access change within a lease; answering anyway"
                    );
                    break;
                }
                _ => tokio::time::sleep(POLL).await,
            }
        }
        Metrics::inc(&self.metrics.access_changes_announced);
        self.metrics.access_ack_micros.fetch_add(
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn DocumentStore) -> Result<T, crate::storage::StorageError>
        + Send
        + 'static,
    ) -> Result<T, crate::storage::StorageError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(store.as_ref()))
            .await
            .map_err(|_| {
                crate::storage::StorageError::Unavailable("a storage task panicked".into())
            })?
    }
}
