//! The I/O shell around the sync engine: one task owns the [`Engine`], takes
//! inputs from connections, storage and the API, and carries out its effects.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use accord_shared::engine::{Access, Effect, Engine, Event, Notification};
use accord_shared::ids::{DocumentId, PeerId};
use accord_shared::protocol::{Message, PeerMetadata};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::metrics::Metrics;
use crate::now_ms;
use crate::persistence::Writer;
use crate::storage::DocumentStore;
use crate::text::for_log;

/// What the hub sends a connection task.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A message to encode and send.
    Frame(Message),
    /// Send `error` with this text, then close.
    Close(String),
    /// Close (the `error` message was already queued).
    End(String),
}

/// Inputs to the hub.
#[derive(Debug)]
pub(crate) enum HubInput {
    Connected {
        conn: u64,
        peer: PeerId,
        device: String,
        metadata: Option<PeerMetadata>,
        outbox: mpsc::Sender<Outbound>,
        /// Signalled when the hub drops the connection because its outbox
        /// is full (the client does not read), so the connection task ends.
        drop_signal: Arc<Notify>,
    },
    Message {
        conn: u64,
        peer: PeerId,
        message: Message,
        access: Access,
    },
    Disconnected {
        conn: u64,
        peer: PeerId,
    },
    Loaded {
        document: DocumentId,
        result: Result<Option<Vec<u8>>, String>,
    },
    Committed {
        outcomes: Vec<(DocumentId, u64, Result<(), String>)>,
    },
    Revoked {
        device: String,
        document: DocumentId,
    },
    Tick,
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// A cheap, cloneable way to talk to the hub.
#[derive(Debug, Clone)]
pub(crate) struct HubHandle {
    inputs: mpsc::UnboundedSender<HubInput>,
}

impl HubHandle {
    pub fn send(&self, input: HubInput) {
        let _ = self.inputs.send(input);
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
    outbox: mpsc::Sender<Outbound>,
    drop_signal: Arc<Notify>,
}

struct Hub {
    engine: Engine,
    connections: HashMap<PeerId, Connection>,
    store: Arc<dyn DocumentStore>,
    writer: Writer,
    metrics: Arc<Metrics>,
    inputs: mpsc::UnboundedSender<HubInput>,
}

/// Starts the hub task and its commit thread.
pub(crate) fn spawn(
    engine: Engine,
    store: Arc<dyn DocumentStore>,
    metrics: Arc<Metrics>,
    tick: Duration,
) -> HubHandle {
    let (inputs, mut queue) = mpsc::unbounded_channel();
    let writer = Writer::spawn(store.clone(), inputs.clone(), metrics.clone());
    let mut hub = Hub {
        engine,
        connections: HashMap::new(),
        store,
        writer,
        metrics,
        inputs: inputs.clone(),
    };
    let ticker = inputs.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        loop {
            interval.tick().await;
            if ticker.send(HubInput::Tick).is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        while let Some(input) = queue.recv().await {
            if let HubInput::Shutdown { done } = input {
                let mut writer = std::mem::replace(&mut hub.writer, Writer::idle());
                let _ = tokio::task::spawn_blocking(move || writer.finish()).await;
                let _ = done.send(());
                break;
            }
            hub.handle(input);
        }
    });
    HubHandle { inputs }
}

impl Hub {
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
                access,
            } => {
                if self.connections.get(&peer).is_some_and(|c| c.id == conn) {
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
            HubInput::Loaded { document, result } => match result {
                Ok(stored) => self.run(now, Event::Loaded { document, stored }),
                Err(reason) => self.run(now, Event::LoadFailed { document, reason }),
            },
            HubInput::Committed { outcomes } => {
                for (document, seq, outcome) in outcomes {
                    match outcome {
                        Ok(()) => self.run(now, Event::Persisted { document, seq }),
                        Err(reason) => self.run(
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
            HubInput::Revoked { device, document } => {
                let peers: Vec<PeerId> = self
                    .connections
                    .iter()
                    .filter(|(_, c)| c.device == device)
                    .map(|(p, _)| p.clone())
                    .collect();
                for peer in peers {
                    self.run(now, Event::AccessRevoked { peer, document });
                }
            }
            HubInput::Tick => {
                self.run(now, Event::Tick);
                self.metrics
                    .documents_loaded
                    .store(self.engine.loaded_documents() as u64, Ordering::Relaxed);
            }
            HubInput::Shutdown { .. } => {}
        }
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
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        if let Some(connection) = self.connections.remove(&to) {
                            // Its outbox is full, so no close can be queued:
                            // the connection task closes the socket itself.
                            connection.drop_signal.notify_one();
                        }
                        self.run(now, Event::PeerDisconnected { peer: to });
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
            Effect::Disconnect { peer, reason } => {
                tracing::info!(%peer, reason = %for_log(&reason), "closing connection");
                if let Some(connection) = self.connections.remove(&peer) {
                    let _ = connection.outbox.try_send(Outbound::End(reason));
                }
                self.run(now, Event::PeerDisconnected { peer });
            }
            Effect::Load { document } => {
                let store = self.store.clone();
                let inputs = self.inputs.clone();
                tokio::task::spawn_blocking(move || {
                    let result = store.load(&document).map_err(|e| e.to_string());
                    let _ = inputs.send(HubInput::Loaded { document, result });
                });
            }
            Effect::Persist {
                document,
                seq,
                write,
            } => self.writer.submit(document, seq, write),
            Effect::Unloaded { document } => tracing::debug!(%document, "unloaded"),
            Effect::Notify(Notification::StorageFailed(document, reason)) => {
                tracing::error!(%document, reason = %for_log(&reason), "storage failed; document unloaded, its peers disconnected");
            }
            Effect::Notify(_) => {}
        }
    }
}
