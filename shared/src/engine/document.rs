//! Per-document state held by the engine.

use std::collections::HashMap;

use automerge::sync;
use automerge::{Automerge, ChangeHash};

use super::event::Millis;
use crate::ids::PeerId;

/// Where a document is in its load/commit cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for storage; inbound messages queue.
    Loading,
    /// Idle: inbound messages are applied at once.
    Ready,
    /// Relay role: waiting for storage to commit `seq`; inbound messages queue
    /// and nothing is advertised until the commit lands.
    Committing { seq: u64 },
}

/// A `request` or `sync` waiting for the document to become ready.
#[derive(Debug)]
pub(super) struct Inbound {
    pub from: PeerId,
    pub is_request: bool,
    pub data: Vec<u8>,
}

/// One peer's view of one document.
#[derive(Debug, Default)]
pub(super) struct PeerDoc {
    pub sync: sync::State,
    /// The peer has said (with `sync`) that it holds the document.
    pub holds_document: bool,
    /// The peer asked for the document with `request`.
    pub requested: bool,
    /// We answered `doc-unavailable` and have not sent anything since.
    pub told_unavailable: bool,
    /// The peer answered `doc-unavailable`.
    pub said_unavailable: bool,
    /// Heads we last actually sent this peer. Automerge also marks heads as
    /// "sent" when a peer's empty message echoes them; when that echo was
    /// queued behind a commit we never said them, so the relay restores this
    /// before generating a reply.
    pub advertised_heads: Vec<ChangeHash>,
}

impl PeerDoc {
    pub fn new(read_only: bool) -> Self {
        Self {
            sync: if read_only {
                sync::State::new_read_only()
            } else {
                sync::State::new()
            },
            ..Self::default()
        }
    }
}

/// A document held in memory with its peers.
#[derive(Debug)]
pub(super) struct DocEntry {
    pub phase: Phase,
    pub doc: Automerge,
    pub peers: HashMap<PeerId, PeerDoc>,
    pub queue: Vec<Inbound>,
    /// Heads already handed to storage (relay role) or to the host.
    pub persisted_heads: Vec<ChangeHash>,
    pub chunks_since_snapshot: usize,
    pub last_active: Millis,
}

impl DocEntry {
    pub fn new(phase: Phase, doc: Automerge, now: Millis) -> Self {
        let persisted_heads = doc.get_heads();
        Self {
            phase,
            doc,
            peers: HashMap::new(),
            queue: Vec::new(),
            persisted_heads,
            chunks_since_snapshot: 0,
            last_active: now,
        }
    }

    /// Whether any content exists (an Automerge document with no changes is "nothing").
    pub fn has_content(&self) -> bool {
        !self.doc.get_heads().is_empty()
    }

    /// Whether a peer other than `asker` claims to hold the document, so it may be arriving.
    pub fn arriving_from_other_than(&self, asker: &PeerId) -> bool {
        self.peers
            .iter()
            .any(|(peer, state)| peer != asker && state.holds_document)
    }
}
