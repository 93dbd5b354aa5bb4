//! The forwarding side of node links: one client connection's links to
//! the nodes that own some of its documents.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use accord_shared::ids::{DocumentId, PeerId};
use accord_shared::protocol::{self, Message, PROTOCOL_VERSION, PeerMetadata};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::{Cluster, DEVICE_HEADER, LINK_PATH, SECRET_HEADER};
use crate::metrics::Metrics;
use crate::outbox::{Outbound, Outbox, OutboxError};
use crate::storage::Route;

/// How long opening a link to another node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Frames queued for one link before the client's reading waits.
const LINK_QUEUE: usize = 256;

/// Why a client connection has to end because of a link (sent as its
/// close reason; every one says to reconnect, so clients route afresh).
pub(crate) type LinkClosed = mpsc::UnboundedReceiver<String>;

/// Where one client connection's documents are served, and its open links.
pub(crate) struct Links {
    cluster: Arc<Cluster>,
    device: String,
    peer: Option<(PeerId, Option<PeerMetadata>)>,
    outbox: Outbox,
    drop_signal: Arc<Notify>,
    /// Each document's link URL, or `None` when this node serves it.
    routes: HashMap<DocumentId, Option<String>>,
    /// Open links by the owner's URL.
    links: HashMap<String, mpsc::Sender<Message>>,
    closed: mpsc::UnboundedSender<String>,
}

impl Links {
    /// No links yet for `device`'s connection, whose frames go out through
    /// `outbox`; returns the receiver that says when a link broke.
    pub(crate) fn new(
        cluster: Arc<Cluster>,
        device: String,
        outbox: Outbox,
        drop_signal: Arc<Notify>,
    ) -> (Self, LinkClosed) {
        let (closed, closed_rx) = mpsc::unbounded_channel();
        let links = Self {
            cluster,
            device,
            peer: None,
            outbox,
            drop_signal,
            routes: HashMap::new(),
            links: HashMap::new(),
            closed,
        };
        (links, closed_rx)
    }

    /// The client joined as `peer`: links replay this join to owners.
    pub(crate) fn joined(&mut self, peer: PeerId, metadata: Option<PeerMetadata>) {
        self.peer = Some((peer, metadata));
    }

    /// Sends `message` for `document` to the node that owns it; gives it
    /// back when this node serves the document.
    pub(crate) async fn route(
        &mut self,
        document: DocumentId,
        message: Message,
    ) -> Result<Option<Message>, String> {
        let url = match self.routes.get(&document) {
            Some(url) => url.clone(),
            None => {
                let url = self.look_up(document).await?;
                self.routes.insert(document, url.clone());
                url
            }
        };
        let Some(url) = url else {
            return Ok(Some(message));
        };
        let link = match self.links.get(&url) {
            Some(link) => link.clone(),
            None => {
                let link = self.open(&url)?;
                self.links.insert(url, link.clone());
                link
            }
        };
        Metrics::inc(&self.cluster.metrics.forwarded_to_owner);
        // A full queue makes the client's reading wait (back-pressure); a
        // closed one means the link ended, which its task reports.
        let _ = link.send(message).await;
        Ok(None)
    }

    async fn look_up(&self, document: DocumentId) -> Result<Option<String>, String> {
        let store = self.cluster.store.clone();
        let route = tokio::task::spawn_blocking(move || store.route(&document))
            .await
            .map_err(|_| "looking up the document's relay node failed; reconnect".to_owned())?
            .map_err(|error| {
                tracing::warn!(%document, %error, "routing lookup failed");
                "looking up the document's relay node failed; reconnect".to_owned()
            })?;
        Ok(match route {
            Route::Local => None,
            Route::Remote {
                link_url: Some(url),
                ..
            } => Some(url),
            // A node that advertised no link: the hub's own refusal
            // ("moved to another relay node") tells the client.
            Route::Remote {
                node,
                link_url: None,
            } => {
                tracing::warn!(%document, %node, "the owner advertised no link URL");
                None
            }
        })
    }

    /// Starts a link to the node at `url` and returns its queue.
    fn open(&self, url: &str) -> Result<mpsc::Sender<Message>, String> {
        let Some((peer, metadata)) = self.peer.clone() else {
            return Err("a message before the join".into());
        };
        let mut request = format!("{url}{LINK_PATH}")
            .into_client_request()
            .map_err(|e| format!("bad link URL {url}: {e}"))?;
        let headers = request.headers_mut();
        for (name, value) in [
            (SECRET_HEADER, self.cluster.secret.as_str()),
            (DEVICE_HEADER, self.device.as_str()),
        ] {
            headers.insert(
                name,
                HeaderValue::from_str(value).map_err(|e| format!("link header {name}: {e}"))?,
            );
        }
        let (queue, outgoing) = mpsc::channel(LINK_QUEUE);
        let link = Link {
            url: url.to_owned(),
            outbox: self.outbox.clone(),
            drop_signal: self.drop_signal.clone(),
            metrics: self.cluster.metrics.clone(),
        };
        let closed = self.closed.clone();
        let metrics = self.cluster.metrics.clone();
        tokio::spawn(async move {
            Metrics::inc(&metrics.links_opened);
            metrics
                .links_open
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let reason = link.run(request, peer, metadata, outgoing).await;
            metrics
                .links_open
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(reason) = reason {
                Metrics::inc(&metrics.links_broken);
                let _ = closed.send(reason);
            }
        });
        Ok(queue)
    }
}

/// One running link.
struct Link {
    url: String,
    outbox: Outbox,
    drop_signal: Arc<Notify>,
    metrics: Arc<Metrics>,
}

impl Link {
    /// Runs the link until the client leaves (`None`) or the link ends
    /// (`Some(reason)` to close the client's connection with).
    async fn run(
        self,
        request: tokio_tungstenite::tungstenite::handshake::client::Request,
        peer: PeerId,
        metadata: Option<PeerMetadata>,
        mut outgoing: mpsc::Receiver<Message>,
    ) -> Option<String> {
        let unreachable =
            || "the relay node serving this document is unreachable; reconnect".to_owned();
        let connecting = tokio_tungstenite::connect_async_with_config(request, None, true);
        let socket = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Ok(Ok((socket, _))) => socket,
            Ok(Err(error)) => {
                tracing::info!(url = %self.url, %error, "opening a node link failed");
                return Some(unreachable());
            }
            Err(_) => {
                tracing::info!(url = %self.url, "opening a node link timed out");
                return Some(unreachable());
            }
        };
        let (mut sink, mut stream) = socket.split();
        let join = Message::Join {
            sender_id: peer,
            supported_protocol_versions: vec![PROTOCOL_VERSION.into()],
            metadata,
        };
        if sink
            .send(WsMessage::Binary(protocol::encode(&join).into()))
            .await
            .is_err()
        {
            return Some(unreachable());
        }
        let mut last_error: Option<String> = None;
        loop {
            tokio::select! {
                message = outgoing.recv() => {
                    let Some(message) = message else {
                        // The client's connection ended: so does the link.
                        let _ = sink.send(WsMessage::Close(None)).await;
                        return None;
                    };
                    let bytes = protocol::encode(&message);
                    if sink.send(WsMessage::Binary(bytes.into())).await.is_err() {
                        return Some(unreachable());
                    }
                }
                frame = stream.next() => {
                    let bytes = match frame {
                        Some(Ok(WsMessage::Binary(bytes))) => bytes,
                        Some(Ok(WsMessage::Close(frame))) => {
                            let said = frame.map(|f| f.reason.to_string()).filter(|r| !r.is_empty());
                            return Some(said.or(last_error).unwrap_or_else(|| {
                                "the relay node serving this document closed the link; reconnect".into()
                            }));
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(_)) | None => {
                            return Some(last_error.unwrap_or_else(|| {
                                "lost the link to the relay node serving this document; reconnect".into()
                            }));
                        }
                    };
                    let message = match protocol::decode(&bytes) {
                        Ok(message) => message,
                        Err(error) => {
                            tracing::warn!(url = %self.url, %error, "undecodable frame on a node link");
                            return Some(unreachable());
                        }
                    };
                    match message {
                        // The client already has the (same) relay's answer.
                        Message::Peer { .. } => {}
                        Message::Error { message } => last_error = Some(message),
                        message => {
                            Metrics::inc(&self.metrics.forwarded_from_owner);
                            match self.outbox.try_send(Outbound::Frame(message)) {
                                Ok(()) => {}
                                Err(OutboxError::Full) => {
                                    self.drop_signal.notify_one();
                                    return None;
                                }
                                Err(OutboxError::Closed) => return None,
                            }
                        }
                    }
                }
            }
        }
    }
}
