//! What goes into the engine and what comes out.

use automerge::Automerge;

use crate::ids::{DocumentId, PeerId};
use crate::protocol::{EphemeralMessage, Message, PeerMetadata};

/// Milliseconds since the Unix epoch, as supplied by the caller's clock.
pub type Millis = u64;

/// What a peer may do with one document, as decided by the I/O shell's access
/// rules before the message reaches the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// May read and write.
    Write,
    /// May read; its changes are not applied.
    Read,
}

/// An input to [`super::Engine::handle`].
#[derive(Debug)]
pub enum Event {
    /// A peer finished the handshake.
    PeerConnected {
        /// The peer.
        peer: PeerId,
        /// What it said about its storage.
        metadata: Option<PeerMetadata>,
    },
    /// A peer's connection ended (or it sent `leave`).
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
    },
    /// A message arrived from a connected peer.
    Message {
        /// The sending peer (as authenticated by the connection, not the frame).
        from: PeerId,
        /// The decoded message.
        message: Message,
        /// What the sender may do with the message's document.
        access: Access,
    },
    /// Storage answered a [`Effect::Load`].
    Loaded {
        /// The document.
        document: DocumentId,
        /// Its stored bytes (snapshot and incremental chunks, concatenated), if stored.
        stored: Option<Vec<u8>>,
    },
    /// Storage could not answer a [`Effect::Load`].
    LoadFailed {
        /// The document.
        document: DocumentId,
        /// The storage's reason.
        reason: String,
    },
    /// Storage committed a [`Effect::Persist`].
    Persisted {
        /// The document.
        document: DocumentId,
        /// The sequence number from the effect.
        seq: u64,
    },
    /// Storage failed to commit a [`Effect::Persist`].
    PersistFailed {
        /// The document.
        document: DocumentId,
        /// The sequence number from the effect.
        seq: u64,
        /// The storage's reason.
        reason: String,
    },
    /// A peer lost its grant for a document.
    AccessRevoked {
        /// The peer.
        peer: PeerId,
        /// The document.
        document: DocumentId,
    },
    /// Client role: start holding and syncing a document. With `doc: None`
    /// the document is requested from peers.
    Open {
        /// The document.
        document: DocumentId,
        /// Its current content, if this replica has any.
        doc: Option<Box<Automerge>>,
    },
    /// The caller changed a document through [`super::Engine::document_mut`].
    LocalChange {
        /// The document.
        document: DocumentId,
    },
    /// Client role: stop holding a document.
    Close {
        /// The document.
        document: DocumentId,
    },
    /// Relay role: this replica may no longer serve the document (another
    /// relay node owns it now). It is unloaded and every peer holding it is
    /// told so and disconnected, so that it reconnects and syncs again
    /// against the owner; nothing it sent is assumed stored.
    DocumentMoved {
        /// The document.
        document: DocumentId,
    },
    /// Periodic housekeeping (idle documents are unloaded).
    Tick,
}

/// How a persist effect should be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Append an incremental chunk to the document's stored chunks.
    Append(Vec<u8>),
    /// Replace every stored chunk of the document with this snapshot.
    Replace(Vec<u8>),
}

/// Something the engine tells its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// The document's content changed because of a peer.
    Changed(DocumentId),
    /// Every peer asked says it does not have the document.
    Unavailable(DocumentId),
    /// A peer's known heads for the document changed (client: "saved on relay").
    PeerHeadsChanged(DocumentId, PeerId),
    /// An ephemeral message for a document this replica holds.
    Ephemeral(EphemeralMessage),
    /// Storage failed; the named document was unloaded and its peers dropped.
    StorageFailed(DocumentId, String),
}

/// An output of [`super::Engine::handle`] for the host to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send a message to a connected peer.
    Send {
        /// The peer.
        to: PeerId,
        /// The message.
        message: Message,
    },
    /// Close a peer's connection (after sending it any queued messages).
    Disconnect {
        /// The peer.
        peer: PeerId,
        /// Why, for logs.
        reason: String,
    },
    /// Read a document from storage; answer with [`Event::Loaded`].
    Load {
        /// The document.
        document: DocumentId,
    },
    /// Write to storage; answer with [`Event::Persisted`] (relay role waits for it
    /// before advertising the new heads).
    Persist {
        /// The document.
        document: DocumentId,
        /// Sequence number to echo back.
        seq: u64,
        /// What to write.
        write: Write,
    },
    /// The document was dropped from memory.
    Unloaded {
        /// The document.
        document: DocumentId,
    },
    /// Information for the host's UI or logs.
    Notify(Notification),
}
