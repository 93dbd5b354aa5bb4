//! One WebSocket connection: token check at upgrade, the handshake, limits,
//! per-document access checks, and frames in and out.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use accord_shared::ids::{DocumentId, PeerId};
use accord_shared::protocol::{self, Message, PROTOCOL_VERSION};
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::Notify;

use crate::access::DocumentAccess;
use crate::api::ApiError;
use crate::hub::HubInput;
use crate::listener::Slot;
use crate::metrics::Metrics;
use crate::outbox::{Charge, Outbound, Outbox, OutboxError, Outgoing};
use crate::peers::PeerIdTaken;
use crate::text::{CLOSE_REASON_BYTES, for_log, truncate_utf8};
use crate::{AppState, now_ms};

/// Per-connection read buffer; larger frames are read in several steps.
/// tungstenite zero-fills it on the first read, so every connection, idle or
/// not, holds all of it: 4 KiB instead of 8 KiB took 4 KB off each idle
/// connection, 2 KiB another 2 KB, 1 KiB another 1 KB (`accord-load compare
/// --idle-only`, docs/benchmarks.md). A typed change's sync message and a
/// pointer are a few hundred bytes; a large upload takes one read per KiB,
/// which next to applying it is noise.
const CONNECTION_BUFFER_BYTES: usize = 1024;

/// Query string of `/sync` (browsers cannot set headers on WebSockets): a
/// single-use `ticket` from `POST /api/sync-ticket` (what the web app uses,
/// so its token never lands in a URL), or the device `token` itself (other
/// clients).
#[derive(Debug, Deserialize)]
pub(crate) struct SyncQuery {
    token: Option<String>,
    ticket: Option<String>,
}

/// `GET /sync?ticket=…` or `?token=…`: refuses a missing, unknown, used or
/// expired credential before upgrading.
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<SyncQuery>,
    slot: Option<axum::Extension<Arc<Slot>>>,
    ws: WebSocketUpgrade,
) -> Response {
    let checked = match (query.ticket.as_deref(), query.token.as_deref()) {
        (Some(ticket), _) => {
            // A shared store spends the ticket there: off the async threads.
            let (access, ticket) = (state.access.clone(), ticket.to_owned());
            match tokio::task::spawn_blocking(move || access.redeem_sync_ticket(&ticket, now_ms()))
                .await
            {
                Ok(result) => Some(result),
                Err(_) => Some(Err(crate::access::AccessError::BadToken)),
            }
        }
        (None, Some(token)) => Some(state.access.authenticate(token)),
        (None, None) => None,
    };
    let device = match checked {
        Some(Ok(device)) => {
            crate::api::note_seen(&state, &device);
            device
        }
        Some(Err(error)) => return ApiError::from(error).into_response(),
        None => {
            return ApiError::unauthorized(
                "missing credentials: connect to /sync?ticket=<ticket from POST /api/sync-ticket> or /sync?token=<device token>",
            )
            .into_response();
        }
    };
    let max = state.limits.max_frame_bytes;
    // Small buffers: tungstenite's 128 KiB defaults are allocated per
    // connection, which dominated an idle connection's memory.
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(CONNECTION_BUFFER_BYTES)
        .write_buffer_size(WRITE_BATCH_BYTES)
        .on_upgrade(move |socket| async move {
            // The socket keeps its place under the connection cap until it closes.
            let _slot = slot;
            Connection::run(socket, state, device, false).await;
        })
}

/// Serves a node link (already authenticated by [`crate::cluster::upgrade`])
/// as a connection of `device`: the same handshake, limits and access
/// checks as a client's, without forwarding further.
pub(crate) fn serve_link(ws: WebSocketUpgrade, state: AppState, device: String) -> Response {
    let max = state.limits.max_frame_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(CONNECTION_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |socket| Connection::run(socket, state, device, true))
}

/// Token bucket for the per-connection message rate.
struct RateBudget {
    tokens: f64,
    per_second: f64,
    last: Instant,
}

impl RateBudget {
    fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second);
        Self {
            tokens: per_second * 2.0,
            per_second,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.per_second * 2.0);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Why a connection is being closed by us.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("malformed message: {0}")]
    Decode(#[from] protocol::DecodeError),
    #[error("text frames are not part of the protocol; send binary CBOR")]
    TextFrame,
    #[error("frame rejected: {0}")]
    Transport(String),
    #[error("the first message must be join")]
    NoJoin,
    #[error("no join within the handshake timeout")]
    HandshakeTimeout,
    #[error("none of the offered protocol versions is supported; this relay speaks 1")]
    Version,
    #[error(transparent)]
    PeerIdTaken(#[from] PeerIdTaken),
    #[error("senderId {0} does not match the peer that joined")]
    Spoofed(String),
    #[error("too many documents on one connection (limit {0})")]
    TooManyDocuments(usize),
    #[error("message rate limit exceeded")]
    RateLimited,
    #[error("storage error: {0}")]
    Access(String),
    #[error("dropped: the messages queued for this client passed the relay's send budget")]
    NotReading,
    /// A node link broke or could not be opened (the reason says to reconnect).
    #[error("{0}")]
    Link(String),
}

struct Connection {
    state: AppState,
    device: String,
    id: u64,
    outbox: Outbox,
    documents: HashSet<DocumentId>,
    budget: RateBudget,
    /// Signalled by the hub when this client's outbox is full.
    drop_signal: Arc<Notify>,
    /// Links to the nodes that own some of this client's documents (in a
    /// cluster, for clients' own connections).
    links: Option<Box<crate::cluster::Links>>,
    /// Documents whose access was re-read from the shared store after a
    /// miss (a grant made through another node moments ago).
    refreshed: HashSet<DocumentId>,
}

impl Connection {
    /// The state of a new connection, its send queue's receiving end, and
    /// (in a cluster, for a client's own connection) the signal of a broken
    /// node link. Not async, so that none of it takes room in the
    /// connection's future twice.
    fn open(
        state: AppState,
        device: String,
        link: bool,
    ) -> (Self, Outgoing, Option<crate::cluster::LinkClosed>) {
        let id = state.next_connection.fetch_add(1, Ordering::Relaxed);
        let (outbox, outgoing) = Outbox::new(
            state.limits.outbox_bytes,
            state.limits.outbound_bytes_total,
            state.metrics.clone(),
        );
        let drop_signal = Arc::new(Notify::new());
        let (links, link_closed) = match state.cluster.clone().filter(|_| !link) {
            Some(cluster) => {
                let (links, closed) = crate::cluster::Links::new(
                    cluster,
                    device.clone(),
                    outbox.clone(),
                    drop_signal.clone(),
                );
                (Some(Box::new(links)), Some(closed))
            }
            None => (None, None),
        };
        let connection = Self {
            budget: RateBudget::new(state.limits.max_messages_per_second),
            state,
            device,
            id,
            outbox,
            documents: HashSet::new(),
            drop_signal,
            links,
            refreshed: HashSet::new(),
        };
        (connection, outgoing, link_closed)
    }

    /// Serves one socket of `device`; `link` when it is a node link from
    /// another relay node (which never forwards further).
    ///
    /// Not itself async: what it is given (the socket, the whole state) is
    /// split up here, so the connection's future holds only what it uses.
    fn run(
        socket: WebSocket,
        state: AppState,
        device: String,
        link: bool,
    ) -> impl Future<Output = ()> + Send {
        let metrics = state.metrics.clone();
        Metrics::inc(&metrics.connections_total);
        metrics.connections_open.fetch_add(1, Ordering::Relaxed);
        let (sink, stream) = socket.split();
        let (connection, outgoing, link_closed) = Self::open(state, device, link);
        connection.serve_socket(stream, sink, outgoing, link_closed, metrics)
    }

    /// The session and the sending of one connection, in one task.
    async fn serve_socket(
        mut self,
        mut stream: futures_util::stream::SplitStream<WebSocket>,
        sink: futures_util::stream::SplitSink<WebSocket, WsMessage>,
        outgoing: Outgoing,
        link_closed: Option<crate::cluster::LinkClosed>,
        metrics: Arc<Metrics>,
    ) {
        let id = self.id;
        // Sending runs in this task, beside the session, rather than in a
        // task of its own: one task per connection instead of two.
        let sending = send_loop(sink, outgoing, metrics.clone());
        tokio::pin!(sending);
        let mut sent_all = false;
        let outcome = {
            let session = self.session(&mut stream, link_closed);
            tokio::pin!(session);
            tokio::select! {
                outcome = &mut session => outcome,
                () = &mut sending => {
                    // The socket can no longer be written (or the close went
                    // out): the session still ends only when reading does.
                    sent_all = true;
                    session.await
                }
            }
        };
        match outcome {
            Err((peer, refusal @ Refusal::NotReading)) => {
                // Its outbox is full, so nothing more can be queued: close
                // the socket without a last word.
                Metrics::inc(&metrics.slow_clients_dropped);
                tracing::warn!(connection = id, peer = ?peer, refusal = %for_log(&refusal.to_string()), "dropping a client that does not read its messages");
                sent_all = true;
            }
            Err((peer, refusal)) => {
                Metrics::inc(&metrics.protocol_errors);
                tracing::info!(connection = id, peer = ?peer, refusal = %for_log(&refusal.to_string()), "refusing connection");
                let _ = self.outbox.try_send(Outbound::Close(refusal.to_string()));
            }
            Ok(()) => {}
        }
        let Connection { outbox, .. } = self;
        drop(outbox);
        // Give the last words a moment to leave; a client that does not read
        // them does not keep the connection (and what it holds) alive.
        if !sent_all {
            let _ = tokio::time::timeout(Duration::from_secs(5), &mut sending).await;
        }
        metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// Handshake then message loop; returns the reason when we close it.
    async fn session(
        &mut self,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
        link_closed: Option<crate::cluster::LinkClosed>,
    ) -> Result<(), (Option<PeerId>, Refusal)> {
        let timeout = Duration::from_millis(self.state.limits.handshake_timeout_ms);
        let first = match tokio::time::timeout(timeout, self.next_message(stream)).await {
            Err(_) => return Err((None, Refusal::HandshakeTimeout)),
            Ok(None) => return Ok(()),
            Ok(Some(result)) => result.map_err(|r| (None, r))?,
        };
        let Message::Join {
            sender_id: peer,
            supported_protocol_versions,
            metadata,
        } = first
        else {
            return Err((None, Refusal::NoJoin));
        };
        if !supported_protocol_versions
            .iter()
            .any(|v| v == PROTOCOL_VERSION)
        {
            return Err((Some(peer), Refusal::Version));
        }
        self.state
            .peers
            .bind(&peer, &self.device, now_ms())
            .map_err(|taken| (None, Refusal::from(taken)))?;
        let answer = Message::Peer {
            sender_id: self.state.relay_peer.clone(),
            target_id: peer.clone(),
            selected_protocol_version: PROTOCOL_VERSION.into(),
            metadata: Some(self.state.relay_metadata.clone()),
        };
        let _ = self.outbox.try_send(Outbound::Frame(answer));
        if let Some(links) = &mut self.links {
            links.joined(peer.clone(), metadata.clone());
        }
        self.state.hub.send(HubInput::Connected {
            conn: self.id,
            peer: peer.clone(),
            device: self.device.clone(),
            metadata,
            outbox: self.outbox.clone(),
            drop_signal: self.drop_signal.clone(),
        });
        let drop_signal = self.drop_signal.clone();
        let result = tokio::select! {
            result = self.serve(stream, &peer) => result,
            () = drop_signal.notified() => Err(Refusal::NotReading),
            reason = link_broke(link_closed) => Err(Refusal::Link(reason)),
        };
        self.state.hub.send(HubInput::Disconnected {
            conn: self.id,
            peer: peer.clone(),
        });
        self.state.peers.release(&peer, now_ms());
        result.map_err(|r| (Some(peer), r))
    }

    async fn serve(
        &mut self,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
        peer: &PeerId,
    ) -> Result<(), Refusal> {
        while let Some(result) = self.next_message(stream).await {
            let message = result?;
            if !self.budget.take() {
                return Err(Refusal::RateLimited);
            }
            match message {
                Message::Leave { .. } => return Ok(()),
                Message::Join { .. } => return Err(Refusal::NoJoin),
                // Boxed while it runs: the future of a connection holds
                // room for its largest step for as long as it lives, and
                // handing a message on is that step (most of a kilobyte).
                message => Box::pin(self.forward(peer, message)).await?,
            }
        }
        Ok(())
    }

    /// Reads the next protocol message; `None` when the peer closed.
    async fn next_message(
        &mut self,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
    ) -> Option<Result<Message, Refusal>> {
        loop {
            let frame = match stream.next().await? {
                Ok(frame) => frame,
                Err(error) => {
                    return Some(Err(Refusal::Transport(for_log(&error.to_string()))));
                }
            };
            match frame {
                WsMessage::Binary(bytes) => {
                    Metrics::inc(&self.state.metrics.messages_in);
                    self.state
                        .metrics
                        .bytes_in
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    return Some(protocol::decode(&bytes).map_err(Refusal::from));
                }
                WsMessage::Text(_) => return Some(Err(Refusal::TextFrame)),
                WsMessage::Close(_) => return None,
                WsMessage::Ping(_) | WsMessage::Pong(_) => {}
            }
        }
    }

    /// Checks the sender and its access, then hands the message to the hub.
    async fn forward(&mut self, peer: &PeerId, message: Message) -> Result<(), Refusal> {
        if let Some(sender) = sender_of(&message)
            && sender != peer
        {
            return Err(Refusal::Spoofed(sender.to_string()));
        }
        let Some(document) = message.document_id() else {
            self.state.hub.forward(self.id, peer.clone(), message).await;
            return Ok(());
        };
        if self.documents.insert(document)
            && self.documents.len() > self.state.limits.max_documents_per_connection
        {
            return Err(Refusal::TooManyDocuments(
                self.state.limits.max_documents_per_connection,
            ));
        }
        let mut access = self.state.access.check(&self.device, &document);
        if self.state.cluster.is_some()
            && !matches!(access, DocumentAccess::Granted(_))
            && self.refreshed.insert(document)
        {
            // Another node may have granted or claimed it a moment ago.
            crate::refresh_access(&self.state.access, &self.state.hub).await;
            access = self.state.access.check(&self.device, &document);
        }
        match access {
            DocumentAccess::Granted(_) => {}
            DocumentAccess::Unclaimed if matches!(message, Message::Sync(_)) => {
                // Claiming writes to storage: off the async threads.
                let access = self.state.access.clone();
                let device = self.device.clone();
                tokio::task::spawn_blocking(move || access.claim(document, &device, "", now_ms()))
                    .await
                    .map_err(|e| Refusal::Access(e.to_string()))?
                    .map_err(|e| Refusal::Access(e.to_string()))?;
                tracing::info!(%document, device = %self.device, "document published");
            }
            DocumentAccess::Unclaimed | DocumentAccess::Denied => {
                if matches!(message, Message::Request(_) | Message::Sync(_)) {
                    let unavailable = Message::DocUnavailable {
                        sender_id: self.state.relay_peer.clone(),
                        target_id: peer.clone(),
                        document_id: document,
                    };
                    if let Err(OutboxError::Full) =
                        self.outbox.try_send(Outbound::Frame(unavailable))
                    {
                        return Err(Refusal::NotReading);
                    }
                }
                return Ok(());
            }
        }
        let message = match &mut self.links {
            Some(links) => match links.route(document, message).await {
                Ok(Some(local)) => local,
                Ok(None) => return Ok(()),
                Err(reason) => return Err(Refusal::Link(reason)),
            },
            None => message,
        };
        self.state.hub.forward(self.id, peer.clone(), message).await;
        Ok(())
    }
}

/// Resolves with the reason when one of the connection's node links
/// breaks; never without links.
async fn link_broke(closed: Option<crate::cluster::LinkClosed>) -> String {
    match closed {
        Some(mut closed) => match closed.recv().await {
            Some(reason) => reason,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// A policy-violation close whose reason fits a control frame: cut at
/// [`CLOSE_REASON_BYTES`] on a character boundary (a longer reason would make
/// the close itself fail and the peer see 1006 instead).
fn close_frame(reason: &str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code: 1008,
        reason: truncate_utf8(reason, CLOSE_REASON_BYTES).into(),
    }))
}

fn sender_of(message: &Message) -> Option<&PeerId> {
    match message {
        Message::Request(m) | Message::Sync(m) => Some(&m.sender_id),
        Message::DocUnavailable { sender_id, .. } => Some(sender_id),
        Message::RemoteSubscriptionChange(m) => Some(&m.sender_id),
        Message::RemoteHeadsChanged(m) => Some(&m.sender_id),
        Message::Ephemeral(m) => Some(&m.sender_id),
        _ => None,
    }
}

/// Most frames written together before one flush.
const FRAMES_PER_WRITE: usize = 64;

/// Bytes of frames gathered before they go to the socket even mid-batch.
const WRITE_BATCH_BYTES: usize = 8 * 1024;

/// Sends what the hub queues for one connection until it is closed.
async fn send_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, WsMessage>,
    mut outgoing: Outgoing,
    metrics: Arc<Metrics>,
) {
    while let Some(first) = outgoing.recv().await {
        // Boxed per batch, like a connection's message handling: an idle
        // connection then holds only the wait for the next item.
        match Box::pin(write_batch(&mut sink, first, &mut outgoing, &metrics)).await {
            Batch::Written => {}
            Batch::Closed => return,
        }
    }
    let _ = sink.send(WsMessage::Close(None)).await;
}

/// How a batch of writes ended.
enum Batch {
    /// Written and flushed; wait for more.
    Written,
    /// The socket failed or a close was sent: stop sending.
    Closed,
}

/// Writes `first` and whatever else is already queued for the connection
/// (up to [`FRAMES_PER_WRITE`]), then flushes once: one write instead of one
/// per frame when a peer has several messages waiting.
async fn write_batch(
    sink: &mut futures_util::stream::SplitSink<WebSocket, WsMessage>,
    first: (Outbound, Charge),
    outgoing: &mut Outgoing,
    metrics: &Metrics,
) -> Batch {
    // Each item's charge is held until its bytes are flushed to the socket,
    // then dropped, so the byte budgets also cover frames gathered in a batch.
    let mut charges = Vec::new();
    let mut item = Some(first);
    while let Some((outbound, charge)) = item.take() {
        match outbound {
            Outbound::Frame(message) => {
                let bytes = protocol::encode(&message);
                drop(message);
                Metrics::inc(&metrics.messages_out);
                metrics
                    .bytes_out
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                if sink.feed(WsMessage::Binary(bytes.into())).await.is_err() {
                    return Batch::Closed;
                }
                charges.push(charge);
            }
            Outbound::End(reason) => {
                let _ = sink.send(close_frame(&reason)).await;
                return Batch::Closed;
            }
            Outbound::Close(reason) => {
                let error = protocol::encode(&Message::Error {
                    message: truncate_utf8(&reason, protocol::limits::ERROR_TEXT).to_owned(),
                });
                let _ = sink.feed(WsMessage::Binary(error.into())).await;
                let _ = sink.send(close_frame(&reason)).await;
                return Batch::Closed;
            }
        }
        if charges.len() < FRAMES_PER_WRITE {
            item = outgoing.try_recv();
        }
    }
    if sink.flush().await.is_err() {
        return Batch::Closed;
    }
    Batch::Written
}
