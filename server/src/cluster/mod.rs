//! Several relay nodes on one shared store: any node serves any client.
//!
//! A document is served by exactly one node, the holder of its ownership
//! lease ([`crate::ownership`]). A client may be connected to any node
//! (whichever the load balancer picked); when it asks its node ("B") for a
//! document another live node ("A") holds, B forwards that document's
//! frames to A over a node link, and A's frames back to the client.
//!
//! # How a link works
//! A link is one internal WebSocket per (client connection, owner node):
//! B opens `A/internal/link` with the cluster secret and the client's
//! device id in headers, replays the client's `join` (its own peer id and
//! metadata), then passes the client's frames for A's documents through
//! unchanged, and A's frames back into the client's outbox. On A the link is
//! an ordinary connection ([`crate::ws`]) of that device: A checks the
//! device's grant on every message, runs the unchanged engine, commits with
//! its fence, and only then advertises heads. So the durability rule, the
//! access checks and the protocol are the owner's own, with nothing copied
//! or cached on B: B checks the grant too before forwarding (so a device
//! revoked anywhere stops at either node), but holds no document state.
//! Every node advertises the same relay peer id and storage id (derived
//! from the shared store), so a stock automerge-repo client sees one relay
//! whichever node answers, and B need not rewrite sender or target ids.
//!
//! # Why not the design's multiplexed node links or a replica on B
//! `shared/design/scale-out.md` proposes one multiplexed link per node pair
//! carrying `Attach`/`Msg`/`Detach` frames, with A keeping remote peers in
//! its hub. A link per client connection reuses A's connection code
//! (handshake, limits, access checks, peer binding, back-pressure) as it
//! is, needs no change to the hub or the engine, and its failure
//! handling is the WebSocket's: when A dies, the link breaks and B
//! closes the client's connection, so the client reconnects (resetting
//! its sync state, as the design requires, since A may not have committed
//! what it last sent) and is routed afresh.
//! The cost is one internal socket and one engine peer per forwarded client
//! connection, fine for thousands of clients; multiplexing is the change
//! for much larger clusters (see the README). Running an engine replica of
//! the document on B was rejected: B would answer its clients from memory,
//! before A's commit, breaking the durability rule unless B tracked A's
//! acknowledgements per change.
//!
//! # Routing
//! On a connection's first message for a document, B asks the store which
//! node holds a valid lease ([`crate::storage::DocumentStore::route`]). No
//! holder, or B itself: B serves it (its hub takes the lease). Another node:
//! B forwards to the URL that node advertised at start (the `nodes` table).
//! The answer holds for the connection's life: if the owner changes, the
//! old owner sends its peers away or its link breaks, and the reconnected
//! client is routed again. While a dead owner's lease has not lapsed, its
//! link cannot be opened and the client is told to reconnect (clients back
//! off); after the lapse the first node asked takes the document.

mod access_sync;
mod endpoint;
mod links;

use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::metrics::Metrics;
use crate::storage::{DocumentStore, StorageError};

pub(crate) use access_sync::AccessSync;
pub(crate) use endpoint::upgrade;
pub(crate) use links::{LinkClosed, Links};

/// The path a node's link endpoint answers on.
pub(crate) const LINK_PATH: &str = "/internal/link";
/// Header carrying the cluster secret on a link's upgrade request.
pub(crate) const SECRET_HEADER: &str = "x-accord-cluster-secret";
/// Header naming the device whose frames a link carries.
pub(crate) const DEVICE_HEADER: &str = "x-accord-device";

/// The shortest cluster secret accepted.
const MIN_SECRET_CHARS: usize = 16;

/// Why a node could not join its cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The secret is too short to authenticate node links.
    #[error("the cluster secret must be at least {MIN_SECRET_CHARS} characters")]
    WeakSecret,
    /// The advertised URL is not one other nodes can open a link to.
    #[error(
        "the advertised link URL {0:?} must start with ws:// (node links are plain WebSockets on a private network)"
    )]
    BadUrl(String),
    /// Recording the URL failed.
    #[error("advertising this node: {0}")]
    Storage(#[from] StorageError),
}

/// This node's membership of a cluster: the secret links present, and the
/// store that says which node serves a document.
pub(crate) struct Cluster {
    secret: String,
    store: Arc<dyn DocumentStore>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").finish_non_exhaustive()
    }
}

impl Cluster {
    /// Records `link_url` (`ws://host:port`) as where other nodes reach this
    /// one, and accepts links that present `secret`.
    pub(crate) fn join(
        secret: &str,
        link_url: &str,
        store: Arc<dyn DocumentStore>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, ClusterError> {
        if secret.chars().count() < MIN_SECRET_CHARS {
            return Err(ClusterError::WeakSecret);
        }
        let link_url = link_url.trim_end_matches('/');
        if !link_url.starts_with("ws://") || link_url.len() <= "ws://".len() {
            return Err(ClusterError::BadUrl(link_url.to_owned()));
        }
        store.advertise(link_url)?;
        Ok(Self {
            secret: secret.to_owned(),
            store,
            metrics,
        })
    }

    /// Whether `presented` is the cluster secret (in constant time).
    pub(crate) fn admits(&self, presented: &[u8]) -> bool {
        self.secret.as_bytes().ct_eq(presented).into()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Cluster, ClusterError};
    use crate::metrics::Metrics;
    use crate::storage::MemoryStore;

    fn join(secret: &str, url: &str) -> Result<Cluster, ClusterError> {
        Cluster::join(
            secret,
            url,
            Arc::new(MemoryStore::new()),
            Arc::new(Metrics::default()),
        )
    }

    #[test]
    fn a_short_secret_or_a_url_links_cannot_open_is_refused() {
        assert!(matches!(
            join("short", "ws://10.0.0.1:8080"),
            Err(ClusterError::WeakSecret)
        ));
        for url in [
            "http://10.0.0.1:8080",
            "ws://",
            "10.0.0.1:8080",
            "wss://n:1",
        ] {
            assert!(
                matches!(join("0123456789abcdef", url), Err(ClusterError::BadUrl(_))),
                "{url}"
            );
        }
        let cluster = join("0123456789abcdef", "ws://10.0.0.1:8080/").unwrap();
        assert!(cluster.admits(b"0123456789abcdef"));
        assert!(!cluster.admits(b"0123456789abcdeF"));
        assert!(!cluster.admits(b""));
    }
}
