//! In-memory storage for tests and throwaway relays. It can be told to fail,
//! to exercise the relay's storage-error path.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use accord_shared::engine::Write;
use accord_shared::ids::DocumentId;

use super::records::{Device, Grant, Invite};
use super::{
    AccessSnapshot, AccessStore, Committed, DocumentStore, DocumentWrite, StorageError,
    StoredDocument,
};

/// Storage held in process memory.
#[derive(Default)]
pub struct MemoryStore {
    chunks: Mutex<BTreeMap<DocumentId, Vec<Vec<u8>>>>,
    access: Mutex<Access>,
    failing: AtomicBool,
}

#[derive(Default)]
struct Access {
    devices: HashMap<String, Device>,
    grants: HashMap<(DocumentId, String), Grant>,
    invites: HashMap<[u8; 32], Invite>,
    claimed: std::collections::HashSet<DocumentId>,
    revocations: std::collections::HashSet<(DocumentId, String)>,
    loads: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later document commit fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many times the whole access snapshot was read.
    pub fn access_loads(&self) -> u64 {
        self.access.lock().map_or(0, |a| a.loads)
    }

    fn check(&self) -> Result<(), StorageError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StorageError::Unavailable("injected failure".into()));
        }
        Ok(())
    }
}

fn poisoned<T>(_: T) -> StorageError {
    StorageError::Unavailable("a previous storage operation panicked".into())
}

impl DocumentStore for MemoryStore {
    fn load(&self, document: &DocumentId) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .chunks
            .lock()
            .map_err(poisoned)?
            .get(document)
            .map(|chunks| chunks.concat()))
    }

    fn commit(&self, batch: &[DocumentWrite]) -> Result<Committed, StorageError> {
        self.check()?;
        let mut chunks = self.chunks.lock().map_err(poisoned)?;
        for DocumentWrite {
            document, write, ..
        } in batch
        {
            let stored = chunks.entry(*document).or_default();
            match write {
                Write::Append(bytes) => stored.push(bytes.clone()),
                Write::Replace(bytes) => *stored = vec![bytes.clone()],
            }
        }
        Ok(Committed::default())
    }

    fn list(&self) -> Result<Vec<StoredDocument>, StorageError> {
        Ok(self
            .chunks
            .lock()
            .map_err(poisoned)?
            .iter()
            .map(|(document, chunks)| StoredDocument {
                document: *document,
                chunks: chunks.len() as u64,
                bytes: chunks.iter().map(|c| c.len() as u64).sum(),
            })
            .collect())
    }
}

impl AccessStore for MemoryStore {
    fn load_access(&self) -> Result<AccessSnapshot, StorageError> {
        let mut access = self.access.lock().map_err(poisoned)?;
        access.loads += 1;
        Ok(AccessSnapshot {
            devices: access.devices.values().cloned().collect(),
            grants: access.grants.values().cloned().collect(),
            invites: access.invites.values().cloned().collect(),
            claimed: access.claimed.iter().copied().collect(),
            revocations: access.revocations.iter().cloned().collect(),
        })
    }

    fn put_device(&self, device: &Device) -> Result<(), StorageError> {
        self.access
            .lock()
            .map_err(poisoned)?
            .devices
            .insert(device.id.clone(), device.clone());
        Ok(())
    }

    fn claim(&self, grants: &[Grant]) -> Result<(), StorageError> {
        let mut access = self.access.lock().map_err(poisoned)?;
        let Some(document) = grants.first().map(|g| g.document) else {
            return Ok(());
        };
        if !access.claimed.insert(document) {
            return Err(StorageError::Conflict(format!(
                "document {document} is claimed already"
            )));
        }
        for grant in grants {
            access
                .grants
                .insert((grant.document, grant.device.clone()), grant.clone());
        }
        Ok(())
    }

    fn revoke(&self, document: &DocumentId, device: &str, _now: u64) -> Result<(), StorageError> {
        let mut access = self.access.lock().map_err(poisoned)?;
        access.grants.remove(&(*document, device.to_owned()));
        access.revocations.insert((*document, device.to_owned()));
        Ok(())
    }

    fn lift_revocation(&self, document: &DocumentId, device: &str) -> Result<(), StorageError> {
        self.access
            .lock()
            .map_err(poisoned)?
            .revocations
            .remove(&(*document, device.to_owned()));
        Ok(())
    }

    fn load_invite(&self, code_hash: &[u8; 32]) -> Result<Option<Invite>, StorageError> {
        Ok(self
            .access
            .lock()
            .map_err(poisoned)?
            .invites
            .get(code_hash)
            .cloned())
    }

    fn put_invite(&self, invite: &Invite) -> Result<(), StorageError> {
        self.access
            .lock()
            .map_err(poisoned)?
            .invites
            .insert(invite.code_hash, invite.clone());
        Ok(())
    }

    fn redeem(&self, invite: &Invite, grants: &[Grant]) -> Result<(), StorageError> {
        let mut access = self.access.lock().map_err(poisoned)?;
        let stored = access.invites.get(&invite.code_hash).map(|i| i.uses_left);
        if stored != Some(invite.uses_left + 1) {
            return Err(StorageError::Conflict(
                "the invite was used meanwhile".into(),
            ));
        }
        access.invites.insert(invite.code_hash, invite.clone());
        for grant in grants {
            access
                .grants
                .insert((grant.document, grant.device.clone()), grant.clone());
        }
        Ok(())
    }

    fn link_device(&self, device: &Device, grants: &[Grant]) -> Result<(), StorageError> {
        let mut access = self.access.lock().map_err(poisoned)?;
        access.devices.insert(device.id.clone(), device.clone());
        for grant in grants {
            access
                .grants
                .insert((grant.document, grant.device.clone()), grant.clone());
        }
        Ok(())
    }

    fn retire_device(&self, device: &Device) -> Result<(), StorageError> {
        let mut access = self.access.lock().map_err(poisoned)?;
        access.devices.insert(device.id.clone(), device.clone());
        access.grants.retain(|(_, holder), _| *holder != device.id);
        Ok(())
    }
}
