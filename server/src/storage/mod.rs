//! Durable storage behind narrow, fallible traits so the relay can run on
//! SQLite (the default), PostgreSQL (`--store postgres://…`), or in memory
//! (tests).

mod columns;
mod location;
mod memory;
pub mod migrations;
mod postgres;
pub mod records;
mod sqlite;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use accord_shared::engine::Write;
use accord_shared::ids::DocumentId;

pub use self::records::{AccessSnapshot, BackupRow, StoredDocument, SyncTicket};
use self::records::{Device, Grant, Invite};
pub use location::{AnyStore, SQLITE_FILE, StoreLocation, UnknownStore};
pub use memory::MemoryStore;
pub use postgres::{DEFAULT_LEASE_TTL_MS, PostgresStore};
pub use sqlite::SqliteStore;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The SQLite layer failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL or the connection to it failed.
    #[error("postgres: {0}")]
    Postgres(String),
    /// The PostgreSQL schema cannot be used by this build.
    #[error("{0}")]
    Schema(#[from] migrations::SchemaError),
    /// A filesystem operation failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// Stored data does not parse.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The store refuses writes (for example after a disk error, or in tests).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The record changed meanwhile (another relay node on a shared store
    /// claimed the document or spent the invite first); nothing was written.
    #[error("changed meanwhile: {0}")]
    Conflict(String),
    /// Another relay node holds the document's ownership lease.
    #[error("document is owned by relay node {node}")]
    OwnedElsewhere {
        /// The owning node's id.
        node: String,
    },
}

/// One write of a group commit.
#[derive(Debug, Clone)]
pub struct DocumentWrite {
    /// The document.
    pub document: DocumentId,
    /// Append a chunk or replace all chunks with a snapshot.
    pub write: Write,
    /// The ownership epoch the write was made under (see
    /// [`DocumentStore::acquire`]); a shared store refuses the write when
    /// this node no longer owns the document at this epoch.
    pub epoch: u64,
}

/// What a group commit did besides committing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// (document, epoch) of the writes refused, in the same transaction,
    /// because this node no longer owns the document at that epoch. Every
    /// other write of the batch is committed.
    pub fenced: Vec<(DocumentId, u64)>,
}

/// Where Automerge documents live.
pub trait DocumentStore: Send + Sync {
    /// All chunks of a document, concatenated in write order; `None` if never stored.
    fn load(&self, document: &DocumentId) -> Result<Option<Vec<u8>>, StorageError>;
    /// Applies every write in one atomic, durable transaction (a group
    /// commit), except the fenced ones it reports.
    fn commit(&self, batch: &[DocumentWrite]) -> Result<Committed, StorageError>;
    /// Every stored document with its size.
    fn list(&self) -> Result<Vec<StoredDocument>, StorageError>;

    /// The ownership lease length when several relay nodes may share this
    /// store, so that a node must own a document to serve it; `None` for a
    /// store only one relay uses (then every node owns everything at epoch 0).
    fn lease_ttl_ms(&self) -> Option<u64> {
        None
    }
    /// Takes ownership of `document` for this node before it is loaded,
    /// returning the new epoch; [`StorageError::OwnedElsewhere`] while
    /// another node's lease is valid.
    fn acquire(&self, _document: &DocumentId) -> Result<u64, StorageError> {
        Ok(0)
    }
    /// Renews this node's leases; returns the documents still owned at the
    /// given epochs (the others were taken over).
    fn renew(&self, held: &[(DocumentId, u64)]) -> Result<Vec<DocumentId>, StorageError> {
        Ok(held.iter().map(|(document, _)| *document).collect())
    }
    /// Gives up ownership at `epoch` so another node may take the document at once.
    fn release(&self, _document: &DocumentId, _epoch: u64) -> Result<(), StorageError> {
        Ok(())
    }
    /// Records the internal URL other nodes reach this node at (see
    /// [`DocumentStore::route`]).
    fn advertise(&self, _link_url: &str) -> Result<(), StorageError> {
        Ok(())
    }
    /// Where a client's frames for `document` go: another live node that
    /// holds its lease, or this node (nobody holds it, or this node does).
    fn route(&self, _document: &DocumentId) -> Result<Route, StorageError> {
        Ok(Route::Local)
    }
    /// Records that this node is alive and has applied every access change
    /// up to `access_seen` (see [`DocumentStore::announce_access_change`]).
    fn heartbeat(&self, _access_seen: u64) -> Result<(), StorageError> {
        Ok(())
    }
    /// Tells every node that access records changed (after the change
    /// committed); returns the change's version, which nodes acknowledge
    /// through [`DocumentStore::heartbeat`] once they applied it.
    fn announce_access_change(&self) -> Result<u64, StorageError> {
        Ok(0)
    }
    /// The newest access version announced so far.
    fn access_version(&self) -> Result<u64, StorageError> {
        Ok(0)
    }
    /// How many other live nodes (heartbeat within the lease length) have
    /// not yet applied access version `version`.
    fn access_laggards(&self, _version: u64) -> Result<u64, StorageError> {
        Ok(0)
    }
    /// Announced access versions as they arrive ([`AccessSignal`]); `None`
    /// for a store only one relay uses.
    fn listen_access(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<AccessSignal>> {
        None
    }
}

/// What [`DocumentStore::listen_access`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessSignal {
    /// Access version `0` was announced.
    Changed(u64),
    /// The listening connection was re-established: announcements may have
    /// been missed meanwhile.
    Resumed,
}

/// Which node serves a document (see [`DocumentStore::route`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// This node (it owns the document, or may take it).
    Local,
    /// Another node holds a valid lease.
    Remote {
        /// Its node id.
        node: String,
        /// Its advertised internal URL; `None` when it advertised none.
        link_url: Option<String>,
    },
}

/// Where devices, grants and invites live.
pub trait AccessStore: Send + Sync {
    /// Reads everything (done once at start-up).
    fn load_access(&self) -> Result<AccessSnapshot, StorageError>;
    /// Inserts or replaces a device.
    fn put_device(&self, device: &Device) -> Result<(), StorageError>;
    /// Records a claimed document and its owners' grants (one device's and
    /// its account's other devices'; all of that document), atomically;
    /// fails with [`StorageError::Conflict`], writing nothing, when the
    /// document is claimed already (by another relay node sharing the store).
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
    /// (the redeemer's and its account's other devices'), atomically; fails
    /// with [`StorageError::Conflict`], writing nothing, unless the stored
    /// invite has exactly one use more than `invite` (another relay node
    /// spent it meanwhile).
    fn redeem(&self, invite: &Invite, grants: &[Grant]) -> Result<(), StorageError>;
    /// Stores a newly linked device and the grants it takes over from the
    /// device that linked it, atomically.
    fn link_device(&self, device: &Device, grants: &[Grant]) -> Result<(), StorageError>;
    /// Replaces a revoked device (its token hash changed) and removes every
    /// grant it holds, atomically.
    fn retire_device(&self, device: &Device) -> Result<(), StorageError>;

    /// Whether sync tickets live in the store (so any relay node sharing
    /// it redeems them) rather than in one relay's memory.
    fn keeps_sync_tickets(&self) -> bool {
        false
    }
    /// Stores a sync ticket (by its hash), first dropping expired tickets
    /// (issued before `expired_before`) and the device's oldest beyond
    /// `keep_per_device - 1`.
    fn put_sync_ticket(
        &self,
        _ticket: &SyncTicket,
        _expired_before: u64,
        _keep_per_device: usize,
    ) -> Result<(), StorageError> {
        Err(StorageError::Unavailable(
            "this store keeps no sync tickets".into(),
        ))
    }
    /// Removes and returns the ticket with this hash (of two nodes
    /// redeeming it at once, one gets it).
    fn take_sync_ticket(
        &self,
        _ticket_hash: &[u8; 32],
    ) -> Result<Option<SyncTicket>, StorageError> {
        Ok(None)
    }
}

/// A complete storage backend.
pub trait Storage: DocumentStore + AccessStore {}
impl<T: DocumentStore + AccessStore> Storage for T {}
