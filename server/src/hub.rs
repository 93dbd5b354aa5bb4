//! The I/O shell around the sync engine: one task owns the [`Engine`], takes
//! inputs from connections, storage and the API, and carries out its effects.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use accord_shared::engine::{Access, Effect, Engine, Event, Notification};
use accord_shared::ids::{DocumentId, PeerId};
use accord_shared::protocol::{Message, PeerMetadata};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::access::AccessControl;
use crate::metrics::Metrics;
use crate::now_ms;
use crate::outbox::{Outbound, Outbox, OutboxError};
use crate::ownership::{LeaseTimes, Leases, Renewal};
use crate::persistence::{CommitFailure, Finished, LoadFailure, Loaded, Writer};
use crate::storage::DocumentStore;
use crate::text::for_log;

/// Inputs to the hub.
#[derive(Debug)]
pub(crate) enum HubInput {
    Connected {
        conn: u64,
        peer: PeerId,
        device: String,
        metadata: Option<PeerMetadata>,
        outbox: Outbox,
        /// Signalled when the hub drops the connection because its outbox
        /// is full (the client does not read), so the connection task ends.
        drop_signal: Arc<Notify>,
    },
    /// A message from a connection. The hub checks the device's access
    /// again when it takes the message, so a revocation that lands between
    /// the connection's check and this hand-off still wins.
    Message {
        conn: u64,
        peer: PeerId,
        message: Message,
        /// This message's share of the hub's input budget, given back once
        /// the hub has handled it.
        permit: OwnedSemaphorePermit,
    },
    Disconnected {
        conn: u64,
        peer: PeerId,
    },
    Loaded {
        document: DocumentId,
        /// The stored bytes and the ownership epoch they were loaded under.
        result: Loaded,
        /// When ownership was requested (the lease counts from here).
        requested_at: u64,
    },
    /// Time to check and renew ownership leases (shared stores only).
    LeaseTick,
    /// The store answered a lease renewal.
    Renewed {
        renewal: Renewal,
        result: Result<Vec<DocumentId>, String>,
    },
    Committed {
        outcomes: Vec<crate::persistence::CommitOutcome>,
    },
    Revoked {
        device: String,
        document: DocumentId,
    },
    /// The device signed out or was revoked: close every connection it has.
    SignedOut {
        device: String,
        /// Why, as the close frame says it.
        reason: &'static str,
    },
    Tick,
    /// Answered once every input queued before it is handled (access
    /// changes wait for it before other nodes are told they hold).
    Barrier {
        done: oneshot::Sender<()>,
    },
    /// Makes the hub panic (tests of its supervision).
    #[cfg(test)]
    Panic,
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// A cheap, cloneable way to talk to the hub.
#[derive(Debug, Clone)]
pub(crate) struct HubHandle {
    inputs: mpsc::UnboundedSender<HubInput>,
    /// Bytes of messages queued for the hub (see [`HubHandle::forward`]).
    input_budget: Arc<Semaphore>,
    input_limit: u32,
    health: Arc<HubHealth>,
}

/// Restarts within [`RESTART_WINDOW_MS`] after which the hub gives up.
const MAX_RESTARTS: usize = 5;
/// The window [`MAX_RESTARTS`] counts in.
const RESTART_WINDOW_MS: u64 = 60_000;
/// A hub that has not taken a tick for this long counts as stalled.
const STALL_MS: u64 = 60_000;

/// What `/healthz` knows about the hub.
#[derive(Debug, Default)]
pub(crate) struct HubHealth {
    /// When the hub last handled a tick (ms since the epoch).
    last_beat: AtomicU64,
    /// Set when the hub stopped for good (it panicked too often).
    stopped: AtomicBool,
    /// Times the hub restarted after a panic.
    restarts: AtomicU64,
}

/// Why sync is not working.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HubFailure {
    /// The hub panicked too often and stopped.
    #[error("the sync hub stopped after repeated failures; restart the relay")]
    Stopped,
    /// The hub has not handled its periodic tick for too long.
    #[error("the sync hub has not made progress for {0} s")]
    Stalled(u64),
}

impl HubHealth {
    /// `Ok` while the hub runs and makes progress.
    pub(crate) fn check(&self, now: u64) -> Result<(), HubFailure> {
        if self.stopped.load(Ordering::Acquire) {
            return Err(HubFailure::Stopped);
        }
        let idle = now.saturating_sub(self.last_beat.load(Ordering::Acquire));
        if idle > STALL_MS {
            return Err(HubFailure::Stalled(idle / 1000));
        }
        Ok(())
    }

    /// Times the hub restarted after a panic.
    #[cfg(test)]
    pub(crate) fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }
}

impl HubHandle {
    /// The hub's health, for `/healthz`.
    pub fn health(&self) -> &HubHealth {
        &self.health
    }

    pub fn send(&self, input: HubInput) {
        let _ = self.inputs.send(input);
    }

    /// Hands a connection's message to the hub, first waiting until the
    /// messages queued for the hub leave room for it: a flood from many
    /// connections slows their reading instead of growing the queue.
    pub async fn forward(&self, conn: u64, peer: PeerId, message: Message) {
        let bytes = match &message {
            Message::Request(m) | Message::Sync(m) => m.data.len(),
            Message::Ephemeral(m) => m.data.len(),
            _ => 0,
        };
        let permits = u32::try_from(bytes.saturating_add(256))
            .unwrap_or(u32::MAX)
            .min(self.input_limit);
        let Ok(permit) = self.input_budget.clone().acquire_many_owned(permits).await else {
            return;
        };
        self.send(HubInput::Message {
            conn,
            peer,
            message,
            permit,
        });
    }

    /// Waits until the hub has handled every input sent before this call.
    pub async fn barrier(&self) {
        let (done, wait) = oneshot::channel();
        self.send(HubInput::Barrier { done });
        let _ = wait.await;
    }

    /// Stops the hub after committing everything queued.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        self.send(HubInput::Shutdown { done });
        let _ = wait.await;
    }
}

struct Connection {
    id: u64,
    device: String,
    outbox: Outbox,
    drop_signal: Arc<Notify>,
}

struct Hub {
    engine: Engine,
    access: Arc<AccessControl>,
    connections: HashMap<PeerId, Connection>,
    store: Arc<dyn DocumentStore>,
    writer: Writer,
    metrics: Arc<Metrics>,
    inputs: mpsc::UnboundedSender<HubInput>,
    /// Ownership leases, when several nodes share the store.
    leases: Option<Leases>,
}

/// Starts the hub task and its storage worker thread.
pub(crate) fn spawn(
    make_engine: Box<dyn Fn() -> Engine + Send>,
    access: Arc<AccessControl>,
    store: Arc<dyn DocumentStore>,
    metrics: Arc<Metrics>,
    tick: Duration,
    input_limit: u32,
    commit_linger: Duration,
) -> HubHandle {
    let (inputs, mut queue) = mpsc::unbounded_channel();
    let to_hub = inputs.clone();
    let writer = Writer::spawn(
        store.clone(),
        move |finished| {
            let _ = to_hub.send(match finished {
                Finished::Committed(outcomes) => HubInput::Committed { outcomes },
                Finished::Loaded {
                    document,
                    result,
                    requested_at,
                } => HubInput::Loaded {
                    document,
                    result,
                    requested_at,
                },
            });
        },
        metrics.clone(),
        commit_linger,
    );
    let health = Arc::new(HubHealth::default());
    health.last_beat.store(now_ms(), Ordering::Release);
    let leases = store
        .lease_ttl_ms()
        .map(|ttl| Leases::new(LeaseTimes::for_ttl(ttl)));
    if let Some(leases) = &leases {
        let every = Duration::from_millis((leases.times().renew_every_ms / 2).max(10));
        tick_every(inputs.clone(), every, || HubInput::LeaseTick);
    }
    let mut hub = Hub {
        engine: make_engine(),
        access,
        connections: HashMap::new(),
        store,
        writer,
        metrics,
        inputs: inputs.clone(),
        leases,
    };
    tick_every(inputs.clone(), tick, || HubInput::Tick);
    let supervised = health.clone();
    tokio::spawn(async move {
        let mut restarts: Vec<u64> = Vec::new();
        while let Some(input) = queue.recv().await {
            if let HubInput::Shutdown { done } = input {
                let mut writer = std::mem::replace(&mut hub.writer, Writer::idle());
                let _ = tokio::task::spawn_blocking(move || writer.finish()).await;
                // Hand the documents back so other nodes need not wait for
                // the leases to lapse.
                let held = hub.leases.as_mut().map(Leases::clear).unwrap_or_default();
                let store = hub.store.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    for (document, epoch) in held {
                        let _ = store.release(&document, epoch);
                    }
                })
                .await;
                let _ = done.send(());
                break;
            }
            if matches!(input, HubInput::Tick) {
                supervised.last_beat.store(now_ms(), Ordering::Release);
            }
            let handled =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hub.handle(input)));
            if handled.is_ok() {
                continue;
            }
            // The engine's state is suspect after a panic: start over with a
            // fresh one. Documents reload from storage on demand; every peer
            // is told to reconnect; queued commits still land.
            let now = now_ms();
            restarts.retain(|at| now.saturating_sub(*at) < RESTART_WINDOW_MS);
            restarts.push(now);
            supervised.restarts.fetch_add(1, Ordering::Relaxed);
            Metrics::inc(&hub.metrics.hub_restarts);
            hub.reset(make_engine());
            if restarts.len() > MAX_RESTARTS {
                tracing::error!(
                    "the sync hub panicked {} times within a minute; sync is stopped and /healthz reports it",
                    restarts.len()
                );
                supervised.stopped.store(true, Ordering::Release);
                break;
            }
            tracing::error!("the sync hub panicked; restarted it with a fresh engine");
        }
    });
    HubHandle {
        inputs,
        input_budget: Arc::new(Semaphore::new(input_limit as usize)),
        input_limit,
        health,
    }
}

/// Sends `input()` to the hub every `every` until the hub is gone.
fn tick_every(hub: mpsc::UnboundedSender<HubInput>, every: Duration, input: fn() -> HubInput) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        loop {
            interval.tick().await;
            if hub.send(input()).is_err() {
                break;
            }
        }
    });
}

impl Hub {
    /// Replaces the engine and closes every connection, so peers reconnect
    /// and sync again against the fresh engine.
    fn reset(&mut self, engine: Engine) {
        self.engine = engine;
        // The fresh engine holds no document: give every lease back.
        if let Some(leases) = &mut self.leases {
            for (document, epoch) in leases.clear() {
                self.release_in_background(document, epoch);
            }
        }
        for (_, connection) in self.connections.drain() {
            let _ = connection.outbox.try_send(Outbound::Close(
                "the relay restarted its sync engine; reconnect".into(),
            ));
        }
    }

    fn handle(&mut self, input: HubInput) {
        let now = now_ms();
        match input {
            HubInput::Connected {
                conn,
                peer,
                device,
                metadata,
                outbox,
                drop_signal,
            } => {
                if let Some(old) = self.connections.insert(
                    peer.clone(),
                    Connection {
                        id: conn,
                        device,
                        outbox,
                        drop_signal,
                    },
                ) {
                    let _ = old.outbox.try_send(Outbound::Close(
                        "replaced by a newer connection with the same peer id".into(),
                    ));
                }
                self.run(now, Event::PeerConnected { peer, metadata });
            }
            HubInput::Message {
                conn,
                peer,
                message,
                permit: _permit,
            } => {
                let Some(connection) = self.connections.get(&peer).filter(|c| c.id == conn) else {
                    return;
                };
                let access = match message.document_id() {
                    None => Some(Access::Read),
                    Some(document) => self.access.sync_access(&connection.device, &document),
                };
                // No grant any more: revoked after the connection checked it.
                // The revocation's own input closes the document for this peer.
                if let Some(access) = access {
                    self.run(
                        now,
                        Event::Message {
                            from: peer,
                            message,
                            access,
                        },
                    );
                }
            }
            HubInput::Disconnected { conn, peer } => {
                if self.connections.get(&peer).is_some_and(|c| c.id == conn) {
                    self.connections.remove(&peer);
                    self.run(now, Event::PeerDisconnected { peer });
                }
            }
            HubInput::Loaded {
                document,
                result,
                requested_at,
            } => self.loaded(now, document, result, requested_at),
            HubInput::Committed { outcomes } => {
                for outcome in outcomes {
                    let (document, seq) = (outcome.document, outcome.seq);
                    match outcome.result {
                        Ok(()) => self.run(now, Event::Persisted { document, seq }),
                        Err(CommitFailure::Fenced) => {
                            Metrics::inc(&self.metrics.ownership_fenced);
                            // A fence for an older epoch concerns a copy
                            // already unloaded; only the current one moves.
                            if self
                                .leases
                                .as_mut()
                                .is_some_and(|l| l.fenced(&document, outcome.epoch))
                            {
                                tracing::warn!(%document, epoch = outcome.epoch, "commit fenced: another node owns the document now");
                                self.run(now, Event::DocumentMoved { document });
                            }
                        }
                        Err(CommitFailure::Storage(reason)) => self.run(
                            now,
                            Event::PersistFailed {
                                document,
                                seq,
                                reason,
                            },
                        ),
                    }
                }
            }
            HubInput::LeaseTick => self.lease_tick(now),
            HubInput::Barrier { done } => {
                let _ = done.send(());
            }
            HubInput::Renewed { renewal, result } => {
                let Some(leases) = &mut self.leases else {
                    return;
                };
                let lost = match result {
                    Ok(kept) => leases.renewed(&renewal, &kept),
                    Err(error) => {
                        tracing::warn!(%error, "renewing ownership leases failed; retrying");
                        leases.renewal_failed();
                        Vec::new()
                    }
                };
                for document in lost {
                    Metrics::inc(&self.metrics.ownership_lost);
                    tracing::warn!(%document, "ownership taken over by another node");
                    self.run(now, Event::DocumentMoved { document });
                }
            }
            HubInput::Revoked { device, document } => {
                let peers = self.peers_of(&device);
                for peer in peers {
                    self.run(now, Event::AccessRevoked { peer, document });
                }
            }
            HubInput::SignedOut { device, reason } => {
                let peers = self.peers_of(&device);
                for peer in peers {
                    if let Some(connection) = self.connections.remove(&peer) {
                        let _ = connection.outbox.try_send(Outbound::Close(reason.into()));
                    }
                    self.run(now, Event::PeerDisconnected { peer });
                }
            }
            HubInput::Tick => {
                self.run(now, Event::Tick);
                self.metrics
                    .documents_loaded
                    .store(self.engine.loaded_documents() as u64, Ordering::Relaxed);
            }
            HubInput::Shutdown { .. } => {}
            #[cfg(test)]
            HubInput::Panic => panic!("injected hub failure"),
        }
    }

    fn loaded(&mut self, now: u64, document: DocumentId, result: Loaded, requested_at: u64) {
        match result {
            Ok((stored, epoch)) => {
                if let Some(leases) = &mut self.leases {
                    leases.taken(document, epoch, requested_at);
                    Metrics::inc(&self.metrics.ownership_acquired);
                }
                self.run(now, Event::Loaded { document, stored });
                // Nobody waits for it any more: hand it back.
                if self.engine.document(&document).is_none()
                    && let Some(epoch) = self.leases.as_mut().and_then(|l| l.release(&document))
                {
                    self.release_in_background(document, epoch);
                }
            }
            Err(LoadFailure::OwnedElsewhere(node)) => {
                Metrics::inc(&self.metrics.ownership_refused);
                tracing::info!(%document, %node, "document is owned by another node");
                self.run(now, Event::DocumentMoved { document });
            }
            Err(LoadFailure::Storage(reason)) => {
                self.run(now, Event::LoadFailed { document, reason });
            }
        }
    }

    fn lease_tick(&mut self, now: u64) {
        let Some(leases) = &mut self.leases else {
            return;
        };
        let tick = leases.tick(now);
        self.metrics
            .documents_owned
            .store(leases.len() as u64, Ordering::Relaxed);
        if let Some(renewal) = tick.renew {
            let store = self.store.clone();
            let inputs = self.inputs.clone();
            tokio::task::spawn_blocking(move || {
                let result = store.renew(&renewal.leases).map_err(|e| e.to_string());
                let _ = inputs.send(HubInput::Renewed { renewal, result });
            });
        }
        for document in tick.expired {
            Metrics::inc(&self.metrics.ownership_lost);
            tracing::warn!(%document, "ownership lease lapsed without renewal");
            self.run(now, Event::DocumentMoved { document });
        }
    }

    fn release_in_background(&self, document: DocumentId, epoch: u64) {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(error) = store.release(&document, epoch) {
                tracing::warn!(%document, %error, "releasing ownership failed; it lapses instead");
            }
        });
    }

    /// The peers connected as `device`.
    fn peers_of(&self, device: &str) -> Vec<PeerId> {
        self.connections
            .iter()
            .filter(|(_, c)| c.device == device)
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn run(&mut self, now: u64, event: Event) {
        let effects = self.engine.handle(now, event);
        for effect in effects {
            self.apply(now, effect);
        }
    }

    fn apply(&mut self, now: u64, effect: Effect) {
        match effect {
            Effect::Send { to, message } => {
                let Some(connection) = self.connections.get(&to) else {
                    return;
                };
                match connection.outbox.try_send(Outbound::Frame(message)) {
                    Ok(()) => {}
                    Err(OutboxError::Full) => {
                        if let Some(connection) = self.connections.remove(&to) {
                            // Its outbox is full, so no close can be queued:
                            // the connection task closes the socket itself.
                            connection.drop_signal.notify_one();
                        }
                        self.run(now, Event::PeerDisconnected { peer: to });
                    }
                    Err(OutboxError::Closed) => {}
                }
            }
            Effect::Disconnect { peer, reason } => {
                tracing::info!(%peer, reason = %for_log(&reason), "closing connection");
                if let Some(connection) = self.connections.remove(&peer) {
                    let _ = connection.outbox.try_send(Outbound::End(reason));
                }
                self.run(now, Event::PeerDisconnected { peer });
            }
            // The storage worker reads it (and answers with `Loaded`).
            Effect::Load { document } => self.writer.load(document),
            Effect::Persist {
                document,
                seq,
                write,
            } => match &self.leases {
                None => self.writer.submit(document, seq, 0, write),
                Some(leases) => match leases.epoch(&document, now) {
                    Some(epoch) => self.writer.submit(document, seq, epoch, write),
                    // The lease lapsed: nothing more may be written here.
                    None => self.run(now, Event::DocumentMoved { document }),
                },
            },
            Effect::Unloaded { document } => {
                tracing::debug!(%document, "unloaded");
                if let Some(epoch) = self.leases.as_mut().and_then(|l| l.release(&document)) {
                    self.release_in_background(document, epoch);
                }
            }
            Effect::Notify(Notification::StorageFailed(document, reason)) => {
                tracing::error!(%document, reason = %for_log(&reason), "storage failed; document unloaded, its peers disconnected");
            }
            Effect::Notify(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use accord_shared::automerge::sync::SyncDoc;
    use accord_shared::automerge::transaction::Transactable;
    use accord_shared::automerge::{Automerge, AutomergeError, ROOT};
    use accord_shared::engine::{Engine, EngineConfig};
    use accord_shared::ids::{DocumentId, PeerId};
    use accord_shared::protocol::{DocMessage, Message, PeerMetadata};
    use tokio::sync::Notify;

    use super::{HubHandle, HubInput, spawn};
    use crate::access::{AccessControl, Registration};
    use crate::metrics::Metrics;
    use crate::outbox::Outbound;
    use crate::outbox::Outbox;
    use crate::storage::MemoryStore;

    const KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn sync_from(peer: &PeerId, relay: &PeerId, document: DocumentId) -> Message {
        let mut doc = Automerge::new();
        doc.transact::<_, _, AutomergeError>(|tx| {
            tx.put(ROOT, "x", 1)?;
            Ok(())
        })
        .unwrap();
        let data = doc
            .generate_sync_message(&mut accord_shared::automerge::sync::State::new())
            .unwrap()
            .encode();
        Message::Sync(DocMessage {
            sender_id: peer.clone(),
            target_id: relay.clone(),
            document_id: document,
            data,
        })
    }

    /// The interleaving of a revocation with a message already past the
    /// connection's access check: the hub must not apply or answer it.
    #[tokio::test]
    async fn a_message_checked_before_a_revocation_is_not_applied_after_it() {
        let store = Arc::new(MemoryStore::new());
        let access = Arc::new(AccessControl::load(store.clone(), Registration::Open).unwrap());
        let (owner, _) = access.register(KEY, "owner", None, 1).unwrap();
        let (editor, _) = access.register(KEY, "editor", None, 1).unwrap();
        let document = DocumentId::from_bytes([3; 16]);
        access.claim(document, &owner.id, "A", 2).unwrap();
        let (code, _) = access
            .create_invite(
                document,
                Some(&owner.id),
                &crate::access::InviteSpec {
                    role: crate::access::Role::Editor,
                    party: "B".into(),
                    expires_in_ms: 60_000,
                    uses: 1,
                },
                3,
            )
            .unwrap();
        access.redeem(&editor.id, &code, 4).unwrap();

        let relay: PeerId = "relay".parse().unwrap();
        let metadata = PeerMetadata {
            storage_id: Some("test".into()),
            is_ephemeral: false,
        };
        let make_engine = {
            let relay = relay.clone();
            Box::new(move || Engine::new(relay.clone(), metadata.clone(), EngineConfig::relay()))
        };
        let metrics = Arc::new(Metrics::default());
        let hub = spawn(
            make_engine,
            access.clone(),
            store,
            metrics.clone(),
            Duration::from_secs(3600),
            1 << 20,
            Duration::ZERO,
        );
        let mut outboxes = Vec::new();
        for (conn, (peer, device)) in [("editor-peer", &editor.id), ("owner-peer", &owner.id)]
            .into_iter()
            .enumerate()
        {
            let (outbox, receiver) = Outbox::new(1 << 20, 1 << 24, metrics.clone());
            hub.send(HubInput::Connected {
                conn: conn as u64,
                peer: peer.parse().unwrap(),
                device: device.clone(),
                metadata: None,
                outbox,
                drop_signal: Arc::new(Notify::new()),
            });
            outboxes.push(receiver);
        }
        let (editor_peer, owner_peer): (PeerId, PeerId) = (
            "editor-peer".parse().unwrap(),
            "owner-peer".parse().unwrap(),
        );

        // The editor's connection checked its grant; then the owner revoked.
        access
            .revoke(&document, Some(&owner.id), &editor.id, 5)
            .unwrap();
        hub.send(HubInput::Revoked {
            device: editor.id.clone(),
            document,
        });
        hub.forward(
            0,
            editor_peer.clone(),
            sync_from(&editor_peer, &relay, document),
        )
        .await;
        // A granted peer's message after it: once that is answered, the
        // editor's would have been too.
        hub.forward(
            1,
            owner_peer.clone(),
            sync_from(&owner_peer, &relay, document),
        )
        .await;
        let answered = tokio::time::timeout(Duration::from_secs(30), outboxes[1].recv())
            .await
            .expect("the owner is answered");
        assert!(matches!(answered, Some((Outbound::Frame(_), _))));
        while let Some((outbound, _)) = outboxes[0].try_recv() {
            assert!(
                !matches!(outbound, Outbound::Frame(Message::Sync(_))),
                "the revoked editor's message was applied: {outbound:?}"
            );
        }
    }

    /// Messages waiting for the hub are bounded in bytes: a connection
    /// waits for room rather than growing the queue.
    #[tokio::test]
    async fn the_hub_input_queue_is_bounded_in_bytes() {
        let (inputs, mut queue) = tokio::sync::mpsc::unbounded_channel();
        let hub = HubHandle {
            inputs,
            input_budget: Arc::new(tokio::sync::Semaphore::new(10_000)),
            input_limit: 10_000,
            health: Arc::default(),
        };
        let peer: PeerId = "p".parse().unwrap();
        let message = |bytes: usize| {
            Message::Sync(DocMessage {
                sender_id: peer.clone(),
                target_id: peer.clone(),
                document_id: DocumentId::from_bytes([1; 16]),
                data: vec![0; bytes],
            })
        };
        hub.forward(1, peer.clone(), message(6_000)).await;
        // Nobody drains the queue, so a second large message cannot enter.
        let blocked = tokio::time::timeout(
            Duration::from_millis(200),
            hub.forward(1, peer.clone(), message(6_000)),
        )
        .await;
        assert!(
            blocked.is_err(),
            "the second message was queued past the budget"
        );
        // Once the hub has handled the first, there is room again.
        drop(queue.recv().await);
        hub.forward(1, peer.clone(), message(6_000)).await;
        // One message larger than the whole budget still gets through alone.
        drop(queue.recv().await);
        hub.forward(1, peer.clone(), message(50_000)).await;
    }

    /// A panic in the hub restarts it with a fresh engine (its peers told
    /// to reconnect); repeated panics stop it and health says so.
    #[tokio::test]
    async fn a_panicking_hub_restarts_then_stops_and_health_reports_it() {
        let store = Arc::new(MemoryStore::new());
        let access = Arc::new(AccessControl::load(store.clone(), Registration::Open).unwrap());
        let relay: PeerId = "relay".parse().unwrap();
        let make_engine = Box::new(move || {
            Engine::new(
                relay.clone(),
                PeerMetadata::default(),
                EngineConfig::relay(),
            )
        });
        let metrics = Arc::new(Metrics::default());
        let hub = spawn(
            make_engine,
            access,
            store,
            metrics.clone(),
            Duration::from_secs(3600),
            1 << 20,
            Duration::ZERO,
        );
        let (outbox, mut outgoing) = Outbox::new(1 << 20, 1 << 24, metrics.clone());
        hub.send(HubInput::Connected {
            conn: 1,
            peer: "p".parse().unwrap(),
            device: "dev".into(),
            metadata: None,
            outbox,
            drop_signal: Arc::new(Notify::new()),
        });
        hub.send(HubInput::Panic);
        let told = tokio::time::timeout(Duration::from_secs(30), outgoing.recv())
            .await
            .expect("the peer is told");
        assert!(
            matches!(&told, Some((Outbound::Close(reason), _)) if reason.contains("reconnect")),
            "{told:?}"
        );
        assert_eq!(hub.health().restarts(), 1);
        assert_eq!(hub.health().check(crate::now_ms()), Ok(()));
        for _ in 0..super::MAX_RESTARTS {
            hub.send(HubInput::Panic);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while hub.health().check(crate::now_ms()).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "health never reported the stop"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            hub.health().check(crate::now_ms()),
            Err(super::HubFailure::Stopped)
        );
        assert!(
            hub.health()
                .check(crate::now_ms() + 2 * super::STALL_MS)
                .is_err()
        );
    }
}
