//! A native client on `tokio-tungstenite`, driving the same sync engine as the
//! browser. Used by the integration tests, the load generator and the CLI.
//!
//! It holds documents in memory; they survive `disconnect`/`reconnect`, so
//! offline edits made between the two sync when the connection returns.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use accord_shared::automerge::transaction::Transaction;
use accord_shared::automerge::{Automerge, AutomergeError, ChangeHash};
use accord_shared::engine::{Access, Effect, Engine, EngineConfig, Event, Notification};
use accord_shared::ids::{DocumentId, PeerId};
use accord_shared::protocol::{self, EphemeralMessage, Message, PROTOCOL_VERSION, PeerMetadata};
use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::now_ms;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The WebSocket could not be opened (bad URL, refused, HTTP error such as 401).
    #[error("connecting: {0}")]
    Connect(String),
    /// The relay did not complete the handshake.
    #[error("handshake: {0}")]
    Handshake(String),
    /// A wait ran out.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The relay says nobody can supply the document.
    #[error("document {0} is unavailable")]
    Unavailable(DocumentId),
    /// The document is not held by this client.
    #[error("document {0} is not open")]
    NotOpen(DocumentId),
    /// The connection is closed.
    #[error("connection closed: {0}")]
    Closed(String),
    /// An Automerge operation failed.
    #[error("automerge: {0}")]
    Automerge(#[from] AutomergeError),
}

/// Traffic counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
}

struct State {
    engine: Engine,
    relay: Option<PeerId>,
    outbox: Option<mpsc::UnboundedSender<Message>>,
    epoch: u64,
    stats: Stats,
    unavailable: HashSet<DocumentId>,
    ephemeral: Vec<EphemeralMessage>,
    closed: Option<String>,
    ephemeral_count: u64,
    session: String,
}

struct Shared {
    state: Mutex<State>,
    version: watch::Sender<u64>,
}

/// A connection to a relay plus the documents this client holds.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn random_peer_id() -> PeerId {
    let suffix: String = random_bytes::<8>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("native-{suffix}")
        .parse()
        .expect("generated peer id is valid")
}

impl Client {
    /// Connects to `url` (for example `ws://127.0.0.1:8080/sync?token=…`) as a new peer.
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let engine = Engine::new(
            random_peer_id(),
            PeerMetadata::default(),
            EngineConfig::client(false),
        );
        let (version, _) = watch::channel(0);
        let session: String = random_bytes::<8>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let state = State {
            engine,
            relay: None,
            outbox: None,
            epoch: 0,
            stats: Stats::default(),
            unavailable: HashSet::new(),
            ephemeral: Vec::new(),
            closed: None,
            ephemeral_count: 0,
            session,
        };
        let client = Self {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                version,
            }),
        };
        client.reconnect(url).await?;
        Ok(client)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) {
        self.shared.version.send_modify(|v| *v += 1);
    }

    /// This client's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.lock().engine.peer_id().clone()
    }

    /// The relay's peer id while connected.
    pub fn relay_peer(&self) -> Option<PeerId> {
        self.lock().relay.clone()
    }

    /// A receiver that changes whenever anything arrives or the connection changes
    /// (await `changed()`, then read what you need).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.version.subscribe()
    }

    /// Traffic so far.
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// Why the last connection closed, if it did.
    pub fn closed_reason(&self) -> Option<String> {
        self.lock().closed.clone()
    }

    /// Opens a new connection (after [`Self::disconnect`] or a drop) and resumes every document.
    pub async fn reconnect(&self, url: &str) -> Result<(), ClientError> {
        self.disconnect();
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let (mut sink, mut stream) = socket.split();
        let me = self.peer_id();
        let join = Message::Join {
            sender_id: me.clone(),
            supported_protocol_versions: vec![PROTOCOL_VERSION.into()],
            metadata: Some(PeerMetadata::default()),
        };
        sink.send(WsMessage::Binary(protocol::encode(&join).into()))
            .await
            .map_err(|e| ClientError::Handshake(e.to_string()))?;
        let relay = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(frame) = stream.next().await {
                match frame.map_err(|e| ClientError::Handshake(e.to_string()))? {
                    WsMessage::Binary(bytes) => match protocol::decode(&bytes) {
                        Ok(Message::Peer { sender_id, .. }) => return Ok(sender_id),
                        Ok(Message::Error { message }) => {
                            return Err(ClientError::Handshake(message));
                        }
                        Ok(other) => {
                            return Err(ClientError::Handshake(format!(
                                "expected peer, got {}",
                                other.type_name()
                            )));
                        }
                        Err(e) => return Err(ClientError::Handshake(e.to_string())),
                    },
                    WsMessage::Close(_) => break,
                    _ => {}
                }
            }
            Err(ClientError::Handshake("closed during handshake".into()))
        })
        .await
        .map_err(|_| ClientError::Timeout("the handshake"))??;

        let (outbox, mut outgoing) = mpsc::unbounded_channel::<Message>();
        let epoch = {
            let mut state = self.lock();
            state.epoch += 1;
            state.relay = Some(relay.clone());
            state.outbox = Some(outbox);
            state.closed = None;
            let effects = state.engine.handle(
                now_ms(),
                Event::PeerConnected {
                    peer: relay.clone(),
                    metadata: None,
                },
            );
            dispatch(&mut state, effects);
            state.epoch
        };
        self.bump();

        let writer_client = self.clone();
        tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                let bytes = protocol::encode(&message);
                {
                    let mut state = writer_client.lock();
                    state.stats.messages_sent += 1;
                    state.stats.bytes_sent += bytes.len() as u64;
                }
                if sink.send(WsMessage::Binary(bytes.into())).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader_client = self.clone();
        tokio::spawn(async move {
            let reason = loop {
                match stream.next().await {
                    None => break "connection ended".to_owned(),
                    Some(Err(e)) => break e.to_string(),
                    Some(Ok(WsMessage::Binary(bytes))) => {
                        let message = match protocol::decode(&bytes) {
                            Ok(message) => message,
                            Err(e) => break format!("relay sent a malformed message: {e}"),
                        };
                        let mut state = reader_client.lock();
                        if state.epoch != epoch {
                            return;
                        }
                        state.stats.messages_received += 1;
                        state.stats.bytes_received += bytes.len() as u64;
                        if let Message::Error { message } = &message {
                            state.closed = Some(message.clone());
                        }
                        let effects = state.engine.handle(
                            now_ms(),
                            Event::Message {
                                from: relay.clone(),
                                message,
                                access: Access::Write,
                            },
                        );
                        dispatch(&mut state, effects);
                        drop(state);
                        reader_client.bump();
                    }
                    Some(Ok(WsMessage::Close(frame))) => {
                        break frame.map_or_else(
                            || "closed by relay".to_owned(),
                            |f| f.reason.to_string(),
                        );
                    }
                    Some(Ok(_)) => {}
                }
            };
            let mut state = reader_client.lock();
            if state.epoch == epoch {
                state.closed.get_or_insert(reason);
                drop_connection(&mut state);
            }
            drop(state);
            reader_client.bump();
        });
        Ok(())
    }

    /// Drops the connection; documents stay and keep accepting local edits.
    pub fn disconnect(&self) {
        let mut state = self.lock();
        state.epoch += 1;
        drop_connection(&mut state);
        drop(state);
        self.bump();
    }

    /// True while connected.
    pub fn is_connected(&self) -> bool {
        self.lock().relay.is_some()
    }

    /// Creates a new document, applies `init`, and starts syncing it.
    pub fn create(
        &self,
        init: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    ) -> Result<DocumentId, ClientError> {
        let id = DocumentId::generate(random_bytes());
        let mut doc = Automerge::new();
        doc.transact(|tx| init(tx))
            .map_err(|failure| failure.error)?;
        self.insert(id, doc);
        Ok(id)
    }

    /// Starts fetching a document this client does not hold.
    pub fn open(&self, id: DocumentId) {
        let mut state = self.lock();
        state.unavailable.remove(&id);
        let effects = state.engine.handle(
            now_ms(),
            Event::Open {
                document: id,
                doc: None,
            },
        );
        dispatch(&mut state, effects);
    }

    /// Opens a document and waits until it has content, or fails if it is unavailable.
    pub async fn find(&self, id: DocumentId, timeout: Duration) -> Result<(), ClientError> {
        self.open(id);
        self.wait_for("the document", timeout, |state| {
            if state.unavailable.contains(&id) {
                return Some(Err(ClientError::Unavailable(id)));
            }
            let has_content = state
                .engine
                .document(&id)
                .is_some_and(|d| !d.get_heads().is_empty());
            has_content.then_some(Ok(()))
        })
        .await?
    }

    /// Applies a local change and syncs it.
    pub fn change(
        &self,
        id: DocumentId,
        edit: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    ) -> Result<(), ClientError> {
        let mut state = self.lock();
        let doc = state
            .engine
            .document_mut(&id)
            .ok_or(ClientError::NotOpen(id))?;
        doc.transact(|tx| edit(tx))
            .map_err(|failure| failure.error)?;
        let effects = state
            .engine
            .handle(now_ms(), Event::LocalChange { document: id });
        dispatch(&mut state, effects);
        Ok(())
    }

    /// Reads a document.
    pub fn read<R>(&self, id: DocumentId, read: impl FnOnce(&Automerge) -> R) -> Option<R> {
        self.lock().engine.document(&id).map(read)
    }

    /// The document's heads, sorted.
    pub fn heads(&self, id: DocumentId) -> Vec<ChangeHash> {
        let mut heads = self.read(id, Automerge::get_heads).unwrap_or_default();
        heads.sort();
        heads
    }

    /// The changes among `hashes` this client's copy of `id` lacks (all of
    /// them when it holds no copy): after a relay restart, each one it was
    /// told was stored is a change the relay lost.
    pub fn lacking(&self, id: DocumentId, hashes: &[ChangeHash]) -> Vec<ChangeHash> {
        hashes
            .iter()
            .filter(|hash| {
                self.read(id, |doc| doc.get_change_meta_by_hash(hash).is_none())
                    .unwrap_or(true)
            })
            .copied()
            .collect()
    }

    /// Local changes the relay is not known to hold (0 when "saved on relay").
    pub fn unsynced_changes(&self, id: DocumentId) -> usize {
        let state = self.lock();
        match &state.relay {
            Some(relay) => state.engine.changes_not_on(&id, relay),
            None => state
                .engine
                .document(&id)
                .map_or(0, |d| d.get_changes(&[]).len()),
        }
    }

    /// The heads the relay last advertised for `id` (it advertises only committed heads).
    pub fn acknowledged_heads(&self, id: DocumentId, relay: &PeerId) -> Option<Vec<ChangeHash>> {
        self.lock()
            .engine
            .peer_heads(&id, relay)
            .map(<[ChangeHash]>::to_vec)
    }

    /// Holds a copy of an existing document (as if received out of band) and syncs it.
    pub fn insert(&self, id: DocumentId, doc: Automerge) {
        let mut state = self.lock();
        let effects = state.engine.handle(
            now_ms(),
            Event::Open {
                document: id,
                doc: Some(Box::new(doc)),
            },
        );
        dispatch(&mut state, effects);
    }

    /// Waits until the relay has durably stored every change this client holds.
    pub async fn wait_synced(&self, id: DocumentId, timeout: Duration) -> Result<(), ClientError> {
        self.wait_for("the relay to confirm our heads", timeout, |state| {
            let relay = state.relay.as_ref()?;
            state.engine.is_synced_with(&id, relay).then_some(())
        })
        .await
    }

    /// Waits until the document's heads equal `heads`.
    pub async fn wait_heads(
        &self,
        id: DocumentId,
        heads: &[ChangeHash],
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let mut want = heads.to_vec();
        want.sort();
        self.wait_for("matching heads", timeout, move |state| {
            let mut ours = state
                .engine
                .document(&id)
                .map(Automerge::get_heads)
                .unwrap_or_default();
            ours.sort();
            (ours == want).then_some(())
        })
        .await
    }

    /// Waits until `ready` holds for the document's content.
    pub async fn wait_doc(
        &self,
        id: DocumentId,
        timeout: Duration,
        ready: impl Fn(&Automerge) -> bool,
    ) -> Result<(), ClientError> {
        self.wait_for("the document to change", timeout, move |state| {
            state.engine.document(&id).filter(|d| ready(d)).map(|_| ())
        })
        .await
    }

    /// Waits until the connection is closed, returning the reason.
    pub async fn wait_closed(&self, timeout: Duration) -> Result<String, ClientError> {
        self.wait_for("the connection to close", timeout, |state| {
            if state.relay.is_none() {
                state.closed.clone().or_else(|| Some("closed".into()))
            } else {
                None
            }
        })
        .await
    }

    /// Sends an ephemeral message to the document's other peers.
    pub fn broadcast(&self, id: DocumentId, data: Vec<u8>) {
        let mut state = self.lock();
        state.ephemeral_count += 1;
        let (Some(relay), Some(outbox)) = (state.relay.clone(), state.outbox.clone()) else {
            return;
        };
        let message = Message::Ephemeral(EphemeralMessage {
            sender_id: state.engine.peer_id().clone(),
            target_id: relay,
            count: state.ephemeral_count,
            session_id: state.session.clone(),
            document_id: id,
            data,
        });
        let _ = outbox.send(message);
    }

    /// Takes the ephemeral messages received since the last call.
    pub fn take_ephemeral(&self) -> Vec<EphemeralMessage> {
        std::mem::take(&mut self.lock().ephemeral)
    }

    /// Ephemeral messages received so far.
    pub fn received_ephemeral(&self) -> Vec<EphemeralMessage> {
        self.lock().ephemeral.clone()
    }

    /// Sends a raw protocol message (tests of the relay's input handling).
    pub fn send_raw(&self, message: Message) -> Result<(), ClientError> {
        let state = self.lock();
        let outbox = state
            .outbox
            .as_ref()
            .ok_or_else(|| ClientError::Closed("not connected".into()))?;
        outbox
            .send(message)
            .map_err(|_| ClientError::Closed("writer stopped".into()))
    }

    async fn wait_for<T>(
        &self,
        what: &'static str,
        timeout: Duration,
        mut ready: impl FnMut(&State) -> Option<T>,
    ) -> Result<T, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut versions = self.shared.version.subscribe();
        loop {
            if let Some(value) = ready(&self.lock()) {
                return Ok(value);
            }
            match tokio::time::timeout_at(deadline, versions.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Err(ClientError::Timeout(what)),
            }
        }
    }
}

fn drop_connection(state: &mut State) {
    state.outbox = None;
    if let Some(relay) = state.relay.take() {
        let effects = state
            .engine
            .handle(now_ms(), Event::PeerDisconnected { peer: relay });
        dispatch(state, effects);
    }
}

fn dispatch(state: &mut State, effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Send { message, .. } => {
                if let Some(outbox) = &state.outbox {
                    let _ = outbox.send(message);
                }
            }
            Effect::Notify(Notification::Unavailable(id)) => {
                state.unavailable.insert(id);
            }
            Effect::Notify(Notification::Ephemeral(message)) => state.ephemeral.push(message),
            Effect::Disconnect { reason, .. } => {
                state.closed = Some(reason);
                state.outbox = None;
            }
            _ => {}
        }
    }
}
