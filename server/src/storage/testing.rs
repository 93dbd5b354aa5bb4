//! Test support: the same tests run against every backend ([`Backend`]),
//! each on a fresh, private store ([`ScratchStore`]). PostgreSQL runs on a
//! throwaway cluster shared by the test process, with a database per store.

use std::path::PathBuf;
use std::sync::Arc;

use accord_shared::ids::DocumentId;

use super::records::{Device, Grant, Invite};
use super::{
    AccessSnapshot, AccessStore, DocumentStore, DocumentWrite, MemoryStore, PostgresStore,
    SqliteStore, Storage, StorageError, StoredDocument,
};

/// A storage backend under test.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

impl Backend {
    /// A fresh, empty store of this kind.
    pub(crate) fn open(self) -> Arc<ScratchStore> {
        Arc::new(match self {
            Self::Memory => ScratchStore::new(Arc::new(MemoryStore::new()), None),
            Self::Sqlite => {
                let dir = scratch_dir();
                let store = SqliteStore::open(&dir.join("accord.sqlite3")).unwrap();
                ScratchStore::new(Arc::new(store), Some(dir))
            }
            Self::Postgres => ScratchStore::new(
                Arc::new(PostgresStore::open(&postgres_database()).unwrap()),
                None,
            ),
        })
    }
}

/// The URL of a fresh database on the test process's PostgreSQL cluster.
pub(crate) fn postgres_database() -> String {
    accord_testpg::Cluster::shared()
        .create_database()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A unique temp directory (removed by its [`ScratchStore`] or the caller).
pub(crate) fn scratch_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "accord-store-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A store that removes its files when dropped.
pub(crate) struct ScratchStore {
    inner: Arc<dyn Storage>,
    dir: Option<PathBuf>,
    /// Runs at the start of every claim, before it is stored.
    before_claim: Option<Box<dyn Fn() + Send + Sync>>,
}

impl ScratchStore {
    fn new(inner: Arc<dyn Storage>, dir: Option<PathBuf>) -> Self {
        Self {
            inner,
            dir,
            before_claim: None,
        }
    }

    /// An in-memory store that calls `hook` at the start of every claim:
    /// a hook that blocks stands in for a slow write.
    pub(crate) fn memory_claiming_after(hook: impl Fn() + Send + Sync + 'static) -> Self {
        let mut store = Self::new(Arc::new(MemoryStore::new()), None);
        store.before_claim = Some(Box::new(hook));
        store
    }
}

impl Drop for ScratchStore {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl DocumentStore for ScratchStore {
    fn load(&self, document: &DocumentId) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.load(document)
    }
    fn commit(&self, batch: &[DocumentWrite]) -> Result<super::Committed, StorageError> {
        self.inner.commit(batch)
    }
    fn list(&self) -> Result<Vec<StoredDocument>, StorageError> {
        self.inner.list()
    }
    fn lease_ttl_ms(&self) -> Option<u64> {
        self.inner.lease_ttl_ms()
    }
    fn acquire(&self, document: &DocumentId) -> Result<u64, StorageError> {
        self.inner.acquire(document)
    }
    fn renew(&self, held: &[(DocumentId, u64)]) -> Result<Vec<DocumentId>, StorageError> {
        self.inner.renew(held)
    }
    fn release(&self, document: &DocumentId, epoch: u64) -> Result<(), StorageError> {
        self.inner.release(document, epoch)
    }
}

impl AccessStore for ScratchStore {
    fn load_access(&self) -> Result<AccessSnapshot, StorageError> {
        self.inner.load_access()
    }
    fn put_device(&self, device: &Device) -> Result<(), StorageError> {
        self.inner.put_device(device)
    }
    fn claim(&self, grants: &[Grant]) -> Result<(), StorageError> {
        if let Some(hook) = &self.before_claim {
            hook();
        }
        self.inner.claim(grants)
    }
    fn revoke(&self, document: &DocumentId, device: &str, now: u64) -> Result<(), StorageError> {
        self.inner.revoke(document, device, now)
    }
    fn lift_revocation(&self, document: &DocumentId, device: &str) -> Result<(), StorageError> {
        self.inner.lift_revocation(document, device)
    }
    fn load_invite(&self, code_hash: &[u8; 32]) -> Result<Option<Invite>, StorageError> {
        self.inner.load_invite(code_hash)
    }
    fn put_invite(&self, invite: &Invite) -> Result<(), StorageError> {
        self.inner.put_invite(invite)
    }
    fn redeem(&self, invite: &Invite, grants: &[Grant]) -> Result<(), StorageError> {
        self.inner.redeem(invite, grants)
    }
    fn link_device(&self, device: &Device, grants: &[Grant]) -> Result<(), StorageError> {
        self.inner.link_device(device, grants)
    }
    fn retire_device(&self, device: &Device) -> Result<(), StorageError> {
        self.inner.retire_device(device)
    }
}

/// Turns test functions taking a [`Backend`] into one `#[test]` per
/// backend: `each_backend!(a, b)` makes `memory::a`, `sqlite::a`,
/// `postgres::a`, ….
macro_rules! each_backend {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(#[test] fn $test() { super::$test($crate::storage::testing::Backend::Memory) })*
        }
        mod sqlite {
            $(#[test] fn $test() { super::$test($crate::storage::testing::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $test() { super::$test($crate::storage::testing::Backend::Postgres) })*
        }
    };
}
pub(crate) use each_backend;
