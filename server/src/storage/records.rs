//! The records the relay stores: devices, their grants of documents, the
//! invites that create grants, sync tickets, and what operators list and
//! back up. The traits in [`super`] keep them; `crate::access` decides
//! with them.

use accord_shared::http;
use accord_shared::ids::DocumentId;

pub use accord_shared::http::{Role, UnknownRole};

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Relay-assigned id.
    pub id: String,
    /// The device's Ed25519 public key (attested to other members).
    pub public_key: [u8; 32],
    /// A label chosen by the user.
    pub name: String,
    /// SHA-256 of its bearer token.
    pub token_hash: [u8; 32],
    /// Registration time (ms since the Unix epoch).
    pub created_at: u64,
    /// The account (the person) it belongs to: the id of the account's first
    /// device. Devices linked with a link code share their account.
    pub account: String,
    /// When it last used its token (ms since the Unix epoch; 0: never
    /// recorded). Written at most every few minutes.
    pub last_seen: u64,
    /// When another device of its account revoked it (0: not revoked).
    pub revoked_at: u64,
}

impl Device {
    /// The account a stored device row names: a device registered before
    /// accounts existed (an empty column) is its own account.
    pub(crate) fn stored_account(id: &str, account: String) -> String {
        if account.is_empty() {
            id.to_owned()
        } else {
            account
        }
    }
}

/// A device's right to a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The document.
    pub document: DocumentId,
    /// The device id.
    pub device: String,
    /// What it may do.
    pub role: Role,
    /// The organization it acts for.
    pub party: String,
    /// When granted (ms since the Unix epoch).
    pub created_at: u64,
}

impl Grant {
    /// The grant as the HTTP API shows it.
    pub fn to_wire(&self) -> http::Grant {
        http::Grant {
            document: self.document.to_string(),
            device: self.device.clone(),
            role: self.role,
            party: self.party.clone(),
            created_at: self.created_at,
        }
    }
}

/// An invitation to a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// SHA-256 of the code.
    pub code_hash: [u8; 32],
    /// The document.
    pub document: DocumentId,
    /// The role redeemers get.
    pub role: Role,
    /// The party redeemers act for.
    pub party: String,
    /// Expiry (ms since the Unix epoch).
    pub expires_at: u64,
    /// Redemptions left.
    pub uses_left: u32,
    /// The device (or `operator`) that created it.
    pub created_by: String,
}

/// A stored document as listed by operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// The document.
    pub document: DocumentId,
    /// Number of stored chunks.
    pub chunks: u64,
    /// Total stored bytes.
    pub bytes: u64,
}

/// One row of a backup, in the order a backup streams them.
#[derive(Debug, Clone)]
pub enum BackupRow {
    /// A registered device.
    Device(Device),
    /// A grant.
    Grant(Grant),
    /// An invite.
    Invite(Invite),
    /// A claimed document and when it was claimed (ms since the Unix epoch).
    Claim(DocumentId, u64),
    /// A revocation: document, device, when (ms since the Unix epoch).
    Revocation(DocumentId, String, u64),
    /// One stored chunk of a document.
    Chunk {
        /// The document.
        document: DocumentId,
        /// Its position among the document's chunks.
        seq: i64,
        /// The Automerge bytes.
        bytes: Vec<u8>,
    },
}

/// Everything the access rules persist.
#[derive(Debug, Default, Clone)]
pub struct AccessSnapshot {
    /// Registered devices.
    pub devices: Vec<Device>,
    /// Grants of documents to devices.
    pub grants: Vec<Grant>,
    /// Outstanding invites.
    pub invites: Vec<Invite>,
    /// Every document ever claimed: it stays claimed when its last grant goes.
    pub claimed: Vec<DocumentId>,
    /// Devices whose grant on a document was revoked (document, device).
    pub revocations: Vec<(DocumentId, String)>,
}

/// A stored sync ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncTicket {
    /// Hash of the ticket's secret text.
    pub ticket_hash: [u8; 32],
    /// The device it speaks for.
    pub device: String,
    /// Hash of the device token it was issued under.
    pub token_hash: [u8; 32],
    /// When it was issued (ms since the Unix epoch).
    pub issued_at: u64,
}
