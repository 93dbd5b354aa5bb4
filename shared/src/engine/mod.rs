//! The sans-IO sync engine.
//!
//! [`Engine::handle`] takes the current time and one [`Event`] and returns the
//! [`Effect`]s the host must carry out. It owns the Automerge documents and one
//! `automerge::sync::State` per (peer, document); work per event is proportional
//! to the peers of the one document involved.
//!
//! In the relay role it enforces the durability rule: while changes are being
//! committed to storage nothing about that document is sent, and messages that
//! arrive meanwhile queue; once the commit lands every peer is told the new
//! heads. So heads a client sees from the relay are always on disk.

mod document;
mod event;

use std::collections::{HashMap, HashSet};

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash};

use self::document::{DocEntry, Inbound, PeerDoc, Phase};
pub use self::event::{Access, Effect, Event, Millis, Notification, Write};
use crate::ids::{DocumentId, PeerId};
use crate::protocol::{
    DocMessage, EphemeralMessage, HeadsInfo, Message, PeerMetadata, RemoteHeadsChanged,
};

/// Which side of the connection this engine plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves documents it is asked for, stores them, never announces.
    Relay,
    /// Holds the documents it opened and syncs them with every connected peer.
    Client,
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Relay or client behaviour.
    pub role: Role,
    /// Emit [`Effect::Persist`] for changes (always true for a relay).
    pub persist: bool,
    /// Unload a document this long after its last peer left.
    pub idle_unload_ms: Millis,
    /// Write a full snapshot instead of an incremental chunk after this many chunks.
    pub snapshot_every: usize,
    /// Write a full snapshot instead of an increment larger than this many
    /// bytes. An increment is stored as one chunk per change, several times
    /// the size of the compressed document: a first upload of a 100,000-change
    /// history took 14 MB on disk and 8 s to load back, against 0.3 MB as a
    /// snapshot (`accord-load compare --long-life 100000`).
    pub snapshot_over_bytes: usize,
}

impl EngineConfig {
    /// Defaults for a relay.
    pub fn relay() -> Self {
        Self {
            role: Role::Relay,
            persist: true,
            idle_unload_ms: 30_000,
            snapshot_every: 64,
            snapshot_over_bytes: 64 * 1024,
        }
    }

    /// Defaults for a client; `persist` asks for persist effects (browser storage).
    pub fn client(persist: bool) -> Self {
        Self {
            role: Role::Client,
            persist,
            idle_unload_ms: Millis::MAX,
            snapshot_every: 64,
            snapshot_over_bytes: 64 * 1024,
        }
    }
}

/// What this replica knows about one connected peer.
#[derive(Debug, Default)]
struct PeerEntry {
    documents: HashSet<DocumentId>,
    /// The peer asked to hear about our storage's heads.
    follows_our_storage: bool,
    /// What it said about its storage in the handshake.
    metadata: Option<PeerMetadata>,
}

/// The sync state machine. See the module docs.
#[derive(Debug)]
pub struct Engine {
    me: PeerId,
    metadata: PeerMetadata,
    config: EngineConfig,
    docs: HashMap<DocumentId, DocEntry>,
    peers: HashMap<PeerId, PeerEntry>,
    next_seq: u64,
}

/// Collects effects while one event is handled.
type Effects = Vec<Effect>;

impl Engine {
    /// A new engine speaking as `me`, advertising `metadata` in handshakes.
    pub fn new(me: PeerId, metadata: PeerMetadata, config: EngineConfig) -> Self {
        Self {
            me,
            metadata,
            config,
            docs: HashMap::new(),
            peers: HashMap::new(),
            next_seq: 1,
        }
    }

    /// This engine's own peer id.
    pub fn peer_id(&self) -> &PeerId {
        &self.me
    }

    /// The metadata this engine advertises.
    pub fn metadata(&self) -> &PeerMetadata {
        &self.metadata
    }

    /// A document held in memory.
    pub fn document(&self, id: &DocumentId) -> Option<&Automerge> {
        self.docs.get(id).map(|entry| &entry.doc)
    }

    /// Mutable access for local edits; follow with [`Event::LocalChange`].
    pub fn document_mut(&mut self, id: &DocumentId) -> Option<&mut Automerge> {
        self.docs.get_mut(id).map(|entry| &mut entry.doc)
    }

    /// Ids of the documents held in memory.
    pub fn documents(&self) -> impl Iterator<Item = &DocumentId> {
        self.docs.keys()
    }

    /// How many documents are in memory.
    pub fn loaded_documents(&self) -> usize {
        self.docs.len()
    }

    /// How many peers are connected.
    pub fn connected_peers(&self) -> usize {
        self.peers.len()
    }

    /// What a connected peer said about its storage in the handshake.
    pub fn peer_metadata(&self, peer: &PeerId) -> Option<&PeerMetadata> {
        self.peers.get(peer)?.metadata.as_ref()
    }

    /// The heads `peer` last told us it has for `id`.
    pub fn peer_heads(&self, id: &DocumentId, peer: &PeerId) -> Option<&[ChangeHash]> {
        self.docs
            .get(id)?
            .peers
            .get(peer)?
            .sync
            .their_heads
            .as_deref()
    }

    /// True when `peer` has told us it holds every change we hold of `id`.
    pub fn is_synced_with(&self, id: &DocumentId, peer: &PeerId) -> bool {
        let Some(entry) = self.docs.get(id) else {
            return false;
        };
        let Some(theirs) = self.peer_heads(id, peer) else {
            return false;
        };
        entry.doc.get_heads().iter().all(|h| theirs.contains(h))
    }

    /// Number of local changes `peer` is not known to hold yet.
    pub fn changes_not_on(&self, id: &DocumentId, peer: &PeerId) -> usize {
        let Some(entry) = self.docs.get(id) else {
            return 0;
        };
        let theirs = self.peer_heads(id, peer).unwrap_or(&[]);
        let known: Vec<ChangeHash> = theirs
            .iter()
            .copied()
            .filter(|h| entry.doc.get_change_meta_by_hash(h).is_some())
            .collect();
        entry.doc.get_changes_meta(&known).len()
    }

    /// Feeds one event in; returns what the host must do.
    pub fn handle(&mut self, now: Millis, event: Event) -> Vec<Effect> {
        let mut fx = Effects::new();
        match event {
            Event::PeerConnected { peer, metadata } => {
                self.peer_connected(now, &peer, metadata, &mut fx)
            }
            Event::PeerDisconnected { peer } => self.peer_left(now, &peer),
            Event::Message {
                from,
                message,
                access,
            } => self.message(now, from, message, access, &mut fx),
            Event::Loaded { document, stored } => self.loaded(now, document, stored, &mut fx),
            Event::LoadFailed { document, reason } => {
                self.storage_failed(document, reason, &mut fx)
            }
            Event::Persisted { document, seq } => self.persisted(now, document, seq, &mut fx),
            Event::PersistFailed {
                document,
                seq,
                reason,
            } => {
                let current = matches!(self.docs.get(&document).map(|e| e.phase), Some(Phase::Committing { seq: s }) if s == seq);
                if current {
                    self.storage_failed(document, reason, &mut fx);
                }
            }
            Event::AccessRevoked { peer, document } => self.revoke(now, &peer, document),
            Event::Open { document, doc } => self.open(now, document, doc, &mut fx),
            Event::LocalChange { document } => self.local_change(now, document, &mut fx),
            Event::Close { document } => {
                if self.docs.remove(&document).is_some() {
                    for entry in self.peers.values_mut() {
                        entry.documents.remove(&document);
                    }
                    fx.push(Effect::Unloaded { document });
                }
            }
            Event::DocumentMoved { document } => self.document_moved(document, &mut fx),
            Event::Tick => self.unload_idle(now, &mut fx),
        }
        fx
    }

    fn peer_connected(
        &mut self,
        now: Millis,
        peer: &PeerId,
        metadata: Option<PeerMetadata>,
        fx: &mut Effects,
    ) {
        if self.peers.contains_key(peer) {
            // A reconnect that overtook its own disconnect: start afresh.
            self.peer_left(now, peer);
        }
        self.peers.insert(
            peer.clone(),
            PeerEntry {
                metadata,
                ..PeerEntry::default()
            },
        );
        if self.config.role == Role::Client {
            let ids: Vec<DocumentId> = self.docs.keys().copied().collect();
            for id in ids {
                self.begin_sync(id, peer, fx);
            }
        }
    }

    fn peer_left(&mut self, now: Millis, peer: &PeerId) {
        let Some(entry) = self.peers.remove(peer) else {
            return;
        };
        for id in entry.documents {
            if let Some(doc) = self.docs.get_mut(&id) {
                doc.peers.remove(peer);
                doc.last_active = now;
            }
        }
    }

    fn revoke(&mut self, now: Millis, peer: &PeerId, id: DocumentId) {
        if let Some(entry) = self.peers.get_mut(peer) {
            entry.documents.remove(&id);
        }
        if let Some(doc) = self.docs.get_mut(&id) {
            doc.peers.remove(peer);
            doc.last_active = now;
        }
    }

    fn message(
        &mut self,
        now: Millis,
        from: PeerId,
        message: Message,
        access: Access,
        fx: &mut Effects,
    ) {
        if !self.peers.contains_key(&from) {
            return;
        }
        match message {
            Message::Request(m) => self.doc_message(now, from, m, true, access, fx),
            Message::Sync(m) => self.doc_message(now, from, m, false, access, fx),
            Message::Ephemeral(m) => self.ephemeral(&from, m, fx),
            Message::DocUnavailable { document_id, .. } => self.peer_lacks(document_id, &from, fx),
            Message::Leave { .. } => self.peer_left(now, &from),
            Message::RemoteSubscriptionChange(change) => {
                if let (Some(ours), Some(peer)) =
                    (&self.metadata.storage_id, self.peers.get_mut(&from))
                {
                    if change.add.contains(ours) {
                        peer.follows_our_storage = true;
                    }
                    if change.remove.contains(ours) {
                        peer.follows_our_storage = false;
                    }
                }
            }
            Message::RemoteHeadsChanged(change) => {
                fx.push(Effect::Notify(Notification::PeerHeadsChanged(
                    change.document_id,
                    from,
                )));
            }
            Message::Error { message } => {
                fx.push(Effect::Disconnect {
                    peer: from,
                    reason: format!("peer reported: {message}"),
                });
            }
            Message::Join { .. } | Message::Peer { .. } => {
                Self::reject(from, "handshake message after the handshake".into(), fx);
            }
        }
    }

    fn doc_message(
        &mut self,
        now: Millis,
        from: PeerId,
        m: DocMessage,
        is_request: bool,
        access: Access,
        fx: &mut Effects,
    ) {
        let id = m.document_id;
        let role = self.config.role;
        if role == Role::Client && !self.docs.contains_key(&id) {
            // A client holds only what it opened; after `Close`, late messages
            // for the document must not bring it back.
            return;
        }
        let entry = self.docs.entry(id).or_insert_with(|| {
            if role == Role::Relay {
                fx.push(Effect::Load { document: id });
                DocEntry::new(Phase::Loading, Automerge::new(), now)
            } else {
                DocEntry::new(Phase::Ready, Automerge::new(), now)
            }
        });
        entry.last_active = now;
        let read_only = access == Access::Read;
        let peer_doc = entry
            .peers
            .entry(from.clone())
            .or_insert_with(|| PeerDoc::new(read_only));
        peer_doc.sync.set_read_only(read_only);
        if let Some(peer) = self.peers.get_mut(&from) {
            peer.documents.insert(id);
        }
        entry.queue.push(Inbound {
            from,
            is_request,
            data: m.data,
        });
        if entry.phase == Phase::Ready {
            self.drain(now, id, fx);
        }
    }

    /// Applies every queued message of a ready document, then persists or replies.
    fn drain(&mut self, now: Millis, id: DocumentId, fx: &mut Effects) {
        let Some(entry) = self.docs.get_mut(&id) else {
            return;
        };
        let inbound = std::mem::take(&mut entry.queue);
        let before = entry.doc.get_heads();
        let mut repliers: Vec<PeerId> = Vec::new();
        let mut rejected: Vec<(PeerId, String)> = Vec::new();
        for Inbound {
            from,
            is_request,
            data,
        } in inbound
        {
            let Some(peer_doc) = entry.peers.get_mut(&from) else {
                continue;
            };
            let message = match sync::Message::decode(&data) {
                Ok(message) => message,
                Err(error) => {
                    rejected.push((from, format!("undecodable sync message for {id}: {error}")));
                    continue;
                }
            };
            if is_request {
                peer_doc.requested = true;
            } else {
                peer_doc.holds_document = true;
            }
            peer_doc.said_unavailable = false;
            if let Err(error) = entry.doc.receive_sync_message(&mut peer_doc.sync, message) {
                rejected.push((
                    from,
                    format!("sync message for {id} does not apply: {error}"),
                ));
                continue;
            }
            if !repliers.contains(&from) {
                repliers.push(from);
            }
        }
        for (peer, reason) in rejected {
            entry.peers.remove(&peer);
            Self::reject(peer, reason, fx);
        }
        if self.config.role == Role::Client {
            for peer in &repliers {
                fx.push(Effect::Notify(Notification::PeerHeadsChanged(
                    id,
                    peer.clone(),
                )));
            }
        }
        let Some(entry) = self.docs.get_mut(&id) else {
            return;
        };
        let changed = entry.doc.get_heads() != before;
        if changed && self.config.role == Role::Relay {
            self.persist(id, fx);
            return;
        }
        if changed {
            if self.config.persist {
                self.persist(id, fx);
            }
            fx.push(Effect::Notify(Notification::Changed(id)));
            self.sync_all(now, id, fx);
        } else {
            for peer in repliers {
                self.reply(id, &peer, fx);
            }
        }
    }

    /// Hands new changes to storage. In the relay role the document then waits
    /// for [`Event::Persisted`] before anything is advertised.
    fn persist(&mut self, id: DocumentId, fx: &mut Effects) {
        let Some(entry) = self.docs.get_mut(&id) else {
            return;
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let heads = entry.doc.get_heads();
        let increment = (entry.chunks_since_snapshot + 1 < self.config.snapshot_every)
            .then(|| entry.doc.save_after(&entry.persisted_heads))
            .filter(|bytes| bytes.len() <= self.config.snapshot_over_bytes);
        let write = match increment {
            Some(bytes) => {
                entry.chunks_since_snapshot += 1;
                Write::Append(bytes)
            }
            None => {
                entry.chunks_since_snapshot = 0;
                Write::Replace(entry.doc.save())
            }
        };
        entry.persisted_heads = heads;
        if self.config.role == Role::Relay {
            entry.phase = Phase::Committing { seq };
        }
        fx.push(Effect::Persist {
            document: id,
            seq,
            write,
        });
    }

    fn persisted(&mut self, now: Millis, id: DocumentId, seq: u64, fx: &mut Effects) {
        let Some(entry) = self.docs.get_mut(&id) else {
            return;
        };
        if entry.phase != (Phase::Committing { seq }) {
            return;
        }
        entry.phase = Phase::Ready;
        self.sync_all(now, id, fx);
        self.announce_stored_heads(now, id, fx);
        if self.docs.get(&id).is_some_and(|e| !e.queue.is_empty()) {
            self.drain(now, id, fx);
        }
    }

    fn loaded(&mut self, now: Millis, id: DocumentId, stored: Option<Vec<u8>>, fx: &mut Effects) {
        let Some(entry) = self.docs.get_mut(&id) else {
            return;
        };
        if entry.phase != Phase::Loading {
            return;
        }
        if let Some(bytes) = stored {
            let mut doc = Automerge::new();
            if let Err(error) = doc.load_incremental(&bytes) {
                self.storage_failed(id, format!("stored bytes do not load: {error}"), fx);
                return;
            }
            entry.persisted_heads = doc.get_heads();
            entry.doc = doc;
        }
        entry.phase = Phase::Ready;
        self.drain(now, id, fx);
    }

    fn storage_failed(&mut self, id: DocumentId, reason: String, fx: &mut Effects) {
        let Some(entry) = self.docs.remove(&id) else {
            return;
        };
        for peer in entry.peers.into_keys() {
            if let Some(p) = self.peers.get_mut(&peer) {
                p.documents.remove(&id);
            }
            Self::reject(peer, format!("storage error for {id}"), fx);
        }
        fx.push(Effect::Unloaded { document: id });
        fx.push(Effect::Notify(Notification::StorageFailed(id, reason)));
    }

    fn document_moved(&mut self, id: DocumentId, fx: &mut Effects) {
        let Some(entry) = self.docs.remove(&id) else {
            return;
        };
        for peer in entry.peers.into_keys() {
            if let Some(p) = self.peers.get_mut(&peer) {
                p.documents.remove(&id);
            }
            Self::reject(
                peer,
                format!("document {id} moved to another relay node; reconnect"),
                fx,
            );
        }
        fx.push(Effect::Unloaded { document: id });
    }

    /// Sends each peer of the document whatever sync message it now needs.
    fn sync_all(&mut self, _now: Millis, id: DocumentId, fx: &mut Effects) {
        let peers: Vec<PeerId> = self
            .docs
            .get(&id)
            .map(|e| e.peers.keys().cloned().collect())
            .unwrap_or_default();
        for peer in peers {
            self.reply(id, &peer, fx);
        }
    }

    /// Answers one peer about one ready document.
    fn reply(&mut self, id: DocumentId, peer: &PeerId, fx: &mut Effects) {
        let role = self.config.role;
        let me = self.me.clone();
        let Some(entry) = self.docs.get_mut(&id) else {
            return;
        };
        let has_content = entry.has_content();
        let arriving = role == Role::Relay && !has_content && entry.arriving_from_other_than(peer);
        let Some(peer_doc) = entry.peers.get_mut(peer) else {
            return;
        };
        if role == Role::Relay && !has_content && peer_doc.requested && !peer_doc.holds_document {
            if !arriving && !peer_doc.told_unavailable {
                peer_doc.told_unavailable = true;
                fx.push(Effect::Send {
                    to: peer.clone(),
                    message: Message::DocUnavailable {
                        sender_id: me,
                        target_id: peer.clone(),
                        document_id: id,
                    },
                });
            }
            return;
        }
        if role == Role::Relay {
            peer_doc
                .sync
                .last_sent_heads
                .clone_from(&peer_doc.advertised_heads);
        }
        if let Some(message) = entry.doc.generate_sync_message(&mut peer_doc.sync) {
            peer_doc
                .advertised_heads
                .clone_from(&peer_doc.sync.last_sent_heads);
            peer_doc.told_unavailable = false;
            let body = DocMessage {
                sender_id: me,
                target_id: peer.clone(),
                document_id: id,
                data: message.encode(),
            };
            let message = if role == Role::Client && !has_content {
                Message::Request(body)
            } else {
                Message::Sync(body)
            };
            fx.push(Effect::Send {
                to: peer.clone(),
                message,
            });
        }
    }

    fn begin_sync(&mut self, id: DocumentId, peer: &PeerId, fx: &mut Effects) {
        let Some(entry) = self.docs.get_mut(&id) else {
            return;
        };
        entry
            .peers
            .entry(peer.clone())
            .or_insert_with(|| PeerDoc::new(false));
        if let Some(p) = self.peers.get_mut(peer) {
            p.documents.insert(id);
        }
        self.reply(id, peer, fx);
    }

    /// Tells peers that follow our storage which heads are now stored.
    fn announce_stored_heads(&mut self, now: Millis, id: DocumentId, fx: &mut Effects) {
        let Some(storage_id) = self.metadata.storage_id.clone() else {
            return;
        };
        let Some(entry) = self.docs.get(&id) else {
            return;
        };
        let heads: Vec<String> = entry
            .doc
            .get_heads()
            .iter()
            .map(|h| bs58::encode(h.0).with_check().into_string())
            .collect();
        for peer in entry.peers.keys() {
            if !self.peers.get(peer).is_some_and(|p| p.follows_our_storage) {
                continue;
            }
            let new_heads = [(
                storage_id.clone(),
                HeadsInfo {
                    heads: heads.clone(),
                    timestamp: now,
                },
            )]
            .into_iter()
            .collect();
            fx.push(Effect::Send {
                to: peer.clone(),
                message: Message::RemoteHeadsChanged(RemoteHeadsChanged {
                    sender_id: self.me.clone(),
                    target_id: peer.clone(),
                    document_id: id,
                    new_heads,
                }),
            });
        }
    }

    fn ephemeral(&mut self, from: &PeerId, m: EphemeralMessage, fx: &mut Effects) {
        let Some(entry) = self.docs.get(&m.document_id) else {
            return;
        };
        if self.config.role == Role::Relay {
            for peer in entry.peers.keys().filter(|p| *p != from) {
                fx.push(Effect::Send {
                    to: peer.clone(),
                    message: Message::Ephemeral(EphemeralMessage {
                        target_id: peer.clone(),
                        ..m.clone()
                    }),
                });
            }
        } else {
            fx.push(Effect::Notify(Notification::Ephemeral(m)));
        }
    }

    fn peer_lacks(&mut self, id: DocumentId, from: &PeerId, fx: &mut Effects) {
        let Some(entry) = self.docs.get_mut(&id) else {
            return;
        };
        if let Some(peer_doc) = entry.peers.get_mut(from) {
            peer_doc.said_unavailable = true;
        }
        if !entry.has_content() && entry.peers.values().all(|p| p.said_unavailable) {
            fx.push(Effect::Notify(Notification::Unavailable(id)));
        }
    }

    fn open(&mut self, now: Millis, id: DocumentId, doc: Option<Box<Automerge>>, fx: &mut Effects) {
        if self.docs.contains_key(&id) {
            return;
        }
        let doc = doc.map(|d| *d).unwrap_or_default();
        let mut entry = DocEntry::new(Phase::Ready, doc, now);
        if self.config.persist {
            // The host already holds what it handed us.
            entry.persisted_heads = entry.doc.get_heads();
        }
        self.docs.insert(id, entry);
        let peers: Vec<PeerId> = self.peers.keys().cloned().collect();
        for peer in peers {
            self.begin_sync(id, &peer, fx);
        }
    }

    fn local_change(&mut self, now: Millis, id: DocumentId, fx: &mut Effects) {
        let Some(entry) = self.docs.get_mut(&id) else {
            return;
        };
        entry.last_active = now;
        if entry.doc.get_heads() == entry.persisted_heads {
            return;
        }
        if self.config.persist {
            self.persist(id, fx);
            if self.config.role == Role::Relay {
                return;
            }
        }
        self.sync_all(now, id, fx);
    }

    fn unload_idle(&mut self, now: Millis, fx: &mut Effects) {
        let idle_after = self.config.idle_unload_ms;
        let idle: Vec<DocumentId> = self
            .docs
            .iter()
            .filter(|(_, e)| {
                e.phase == Phase::Ready
                    && e.peers.is_empty()
                    && e.queue.is_empty()
                    && now.saturating_sub(e.last_active) >= idle_after
            })
            .map(|(id, _)| *id)
            .collect();
        for document in idle {
            self.docs.remove(&document);
            fx.push(Effect::Unloaded { document });
        }
    }

    /// Sends `error` and closes: the standard answer to a misbehaving peer.
    fn reject(peer: PeerId, reason: String, fx: &mut Effects) {
        fx.push(Effect::Send {
            to: peer.clone(),
            message: Message::Error {
                message: reason.clone(),
            },
        });
        fx.push(Effect::Disconnect { peer, reason });
    }
}

#[cfg(test)]
mod tests;
