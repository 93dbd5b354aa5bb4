//! Durable storage behind narrow, fallible traits so the relay can run on
//! SQLite (the default), in memory (tests), or a future PostgreSQL backend.

mod memory;
pub mod records;
mod sqlite;

use accord_shared::engine::Write;
use accord_shared::ids::DocumentId;

use self::records::{Device, Grant, Invite};
pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The SQLite layer failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A filesystem operation failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// Stored data does not parse.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The store refuses writes (for example after a disk error, or in tests).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// One write of a group commit.
#[derive(Debug, Clone)]
pub struct DocumentWrite {
    /// The document.
    pub document: DocumentId,
    /// Append a chunk or replace all chunks with a snapshot.
    pub write: Write,
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

/// Where Automerge documents live.
pub trait DocumentStore: Send + Sync {
    /// All chunks of a document, concatenated in write order; `None` if never stored.
    fn load(&self, document: &DocumentId) -> Result<Option<Vec<u8>>, StorageError>;
    /// Applies every write in one atomic, durable transaction (a group commit).
    fn commit(&self, batch: &[DocumentWrite]) -> Result<(), StorageError>;
    /// Every stored document with its size.
    fn list(&self) -> Result<Vec<StoredDocument>, StorageError>;
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

/// Where devices, grants and invites live.
pub trait AccessStore: Send + Sync {
    /// Reads everything (done once at start-up).
    fn load_access(&self) -> Result<AccessSnapshot, StorageError>;
    /// Inserts or replaces a device.
    fn put_device(&self, device: &Device) -> Result<(), StorageError>;
    /// Records a claimed document and its owners' grants (one device's and
    /// its account's other devices'; all of that document), atomically.
    fn claim(&self, grants: &[Grant]) -> Result<(), StorageError>;
    /// Removes a grant and records the revocation, atomically.
    fn revoke(&self, document: &DocumentId, device: &str, now: u64) -> Result<(), StorageError>;
    /// Forgets a revocation, so the device may redeem invites again.
    fn lift_revocation(&self, document: &DocumentId, device: &str) -> Result<(), StorageError>;
    /// One invite by the hash of its code (invites made by operator commands
    /// while the relay runs are found this way).
    fn load_invite(&self, code_hash: &[u8; 32]) -> Result<Option<Invite>, StorageError>;
    /// Inserts or replaces an invite (its remaining uses change on redemption).
    fn put_invite(&self, invite: &Invite) -> Result<(), StorageError>;
    /// Stores an invite's decremented use count and the grants it created
    /// (the redeemer's and its account's other devices'), atomically.
    fn redeem(&self, invite: &Invite, grants: &[Grant]) -> Result<(), StorageError>;
    /// Stores a newly linked device and the grants it takes over from the
    /// device that linked it, atomically.
    fn link_device(&self, device: &Device, grants: &[Grant]) -> Result<(), StorageError>;
    /// Replaces a revoked device (its token hash changed) and removes every
    /// grant it holds, atomically.
    fn retire_device(&self, device: &Device) -> Result<(), StorageError>;
}

/// A complete storage backend.
pub trait Storage: DocumentStore + AccessStore {}
impl<T: DocumentStore + AccessStore> Storage for T {}
