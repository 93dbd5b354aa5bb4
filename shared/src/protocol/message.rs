use std::collections::BTreeMap;

use crate::ids::{DocumentId, PeerId};

/// The only protocol version this implementation speaks.
pub const PROTOCOL_VERSION: &str = "1";

/// What a peer says about itself during the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerMetadata {
    /// Identifier of the peer's durable storage, if it has one.
    pub storage_id: Option<String>,
    /// True when the peer will not come back with the same storage.
    pub is_ephemeral: bool,
}

/// The body shared by `request` and `sync`: an Automerge sync message about one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocMessage {
    /// Who sent it.
    pub sender_id: PeerId,
    /// Who it is for.
    pub target_id: PeerId,
    /// The document it is about.
    pub document_id: DocumentId,
    /// An encoded `automerge::sync::Message`.
    pub data: Vec<u8>,
}

/// An application message that is relayed but never stored (presence, cursors, timers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeralMessage {
    /// The original author; relays keep it when forwarding.
    pub sender_id: PeerId,
    /// The next hop.
    pub target_id: PeerId,
    /// Sequence number within `session_id`, for de-duplication.
    pub count: u64,
    /// Random id of the sender's session.
    pub session_id: String,
    /// The document whose peers receive it.
    pub document_id: DocumentId,
    /// Opaque application payload (CBOR in automerge-repo).
    pub data: Vec<u8>,
}

/// A change to the set of storage ids whose heads the sender wants to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSubscriptionChange {
    /// Who sent it.
    pub sender_id: PeerId,
    /// Who it is for.
    pub target_id: PeerId,
    /// Storage ids to start following.
    pub add: Vec<String>,
    /// Storage ids to stop following.
    pub remove: Vec<String>,
}

/// Heads of a document as held by one storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadsInfo {
    /// Change hashes, each as bs58check text (automerge-repo 2.x "URL heads").
    pub heads: Vec<String>,
    /// When the storage reached these heads, in milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// Notice that some storage's heads for a document changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteHeadsChanged {
    /// Who sent it.
    pub sender_id: PeerId,
    /// Who it is for.
    pub target_id: PeerId,
    /// The document.
    pub document_id: DocumentId,
    /// New heads keyed by storage id.
    pub new_heads: BTreeMap<String, HeadsInfo>,
}

/// One automerge-repo v1 wire message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Handshake opener, sent by the connecting side.
    Join {
        /// The connecting peer.
        sender_id: PeerId,
        /// Protocol versions it speaks.
        supported_protocol_versions: Vec<String>,
        /// Its storage metadata.
        metadata: Option<PeerMetadata>,
    },
    /// Handshake answer, sent by the accepting side.
    Peer {
        /// The accepting peer.
        sender_id: PeerId,
        /// The peer that sent `join`.
        target_id: PeerId,
        /// The version both will speak.
        selected_protocol_version: String,
        /// The accepting peer's storage metadata.
        metadata: Option<PeerMetadata>,
    },
    /// The sender is going away.
    Leave {
        /// Who is leaving.
        sender_id: PeerId,
    },
    /// "Please send me this document": the sender does not have it yet.
    Request(DocMessage),
    /// A sync round for a document both sides may hold.
    Sync(DocMessage),
    /// The sender does not have the document and knows nobody who will share it.
    DocUnavailable {
        /// Who sent it.
        sender_id: PeerId,
        /// Who it is for.
        target_id: PeerId,
        /// The document.
        document_id: DocumentId,
    },
    /// A relayed, never-stored application message.
    Ephemeral(EphemeralMessage),
    /// A protocol error; the sender closes the connection after it.
    Error {
        /// Human-readable reason.
        message: String,
    },
    /// Subscribe to or unsubscribe from storages' heads.
    RemoteSubscriptionChange(RemoteSubscriptionChange),
    /// Some storage's heads changed.
    RemoteHeadsChanged(RemoteHeadsChanged),
}

impl Message {
    /// The wire name in the `type` field.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Join { .. } => "join",
            Self::Peer { .. } => "peer",
            Self::Leave { .. } => "leave",
            Self::Request(_) => "request",
            Self::Sync(_) => "sync",
            Self::DocUnavailable { .. } => "doc-unavailable",
            Self::Ephemeral(_) => "ephemeral",
            Self::Error { .. } => "error",
            Self::RemoteSubscriptionChange(_) => "remote-subscription-change",
            Self::RemoteHeadsChanged(_) => "remote-heads-changed",
        }
    }

    /// The document this message is about, if any.
    pub fn document_id(&self) -> Option<DocumentId> {
        match self {
            Self::Request(m) | Self::Sync(m) => Some(m.document_id),
            Self::DocUnavailable { document_id, .. } => Some(*document_id),
            Self::Ephemeral(m) => Some(m.document_id),
            Self::RemoteHeadsChanged(m) => Some(m.document_id),
            _ => None,
        }
    }
}
