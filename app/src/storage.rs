//! IndexedDB persistence.
//!
//! Three object stores in one database:
//! - `chunks`: a document's Automerge bytes as a series of chunks: a snapshot
//!   keyed `[document id, 0]` and increments keyed `[document id, seq, tab]`,
//!   each tab appending under its own keys. Chunks load one by one in any
//!   order (see [`crate::saving::load_chunks`]); compaction deletes exactly the
//!   chunks it read and merged, in the same transaction.
//! - `docs`: one [`DocRecord`] per document held on this device (for the list).
//! - `meta`: small device settings (organization name, profile) as JSON text,
//!   and the identity record (a non-extractable key object beside JSON text).
//!
//! Every write transaction asks for `strict` durability, so a write that
//! resolved has been flushed by the browser.

use std::cell::Cell;

use accord_shared::automerge::ChangeHash;
use accord_shared::ids::DocumentId;
use indexed_db_futures::KeyRange;
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{
    Transaction, TransactionDurability, TransactionMode, TransactionOptions,
};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use crate::api::Role;
use crate::browser::{self, describe};
use crate::saving::{self, PendingWrite};

/// The name of the app's database.
pub const DB_NAME: &str = "accord";
const DB_VERSION: u32 = 1;
const CHUNKS: &str = "chunks";
const DOCS: &str = "docs";
const META: &str = "meta";
/// The User Timing measure each compaction records (its reads, snapshot
/// and writes inside the write transaction), for `cargo xtask bench-web`.
pub const COMPACTION_MEASURE: &str = "accord:compact";
/// The User Timing measure of saving the document in memory whole for a
/// compaction (before the write transaction; see [`crate::saving::InMemory`]).
pub const SNAPSHOT_MEASURE: &str = "accord:snapshot";
/// Larger than any sequence number we write; the upper bound of a document's key range.
const MAX_SEQ: f64 = 9_007_199_254_740_991.0;

/// Why a storage operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// The database could not be opened (blocked, denied, unsupported).
    #[error("cannot open IndexedDB: {0}")]
    Open(String),
    /// A request or transaction failed.
    #[error("IndexedDB request failed: {0}")]
    Request(String),
    /// A stored record is not what this version of the app wrote.
    #[error("malformed record in IndexedDB: {0}")]
    Malformed(String),
}

impl From<indexed_db_futures::error::Error> for StorageError {
    fn from(error: indexed_db_futures::error::Error) -> Self {
        Self::Request(error.to_string())
    }
}

impl From<indexed_db_futures::error::OpenDbError> for StorageError {
    fn from(error: indexed_db_futures::error::OpenDbError) -> Self {
        Self::Open(error.to_string())
    }
}

/// One partnership held on this device, as shown in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRecord {
    /// The document id (bs58check).
    pub id: String,
    /// Last known title.
    pub title: String,
    /// When it was added to this device (ms since the epoch).
    pub added_at: u64,
    /// Whether the relay confirmed our ownership claim.
    #[serde(default)]
    pub claimed: bool,
    /// This device's role in the partnership (owner when it created it, the
    /// invite's role when it joined); `None` in records written before roles
    /// were kept, which are treated as able to edit.
    #[serde(default)]
    pub role: Option<Role>,
    /// The heads the relay last confirmed holding (hex), if it ever did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_heads: Option<Vec<String>>,
}

impl DocRecord {
    /// The heads the relay last confirmed, if known and well formed.
    pub fn relay_heads(&self) -> Option<Vec<ChangeHash>> {
        self.relay_heads
            .as_ref()?
            .iter()
            .map(|h| h.parse().ok())
            .collect()
    }

    /// Records the heads the relay confirmed.
    pub fn set_relay_heads(&mut self, heads: &[ChangeHash]) {
        self.relay_heads = Some(heads.iter().map(ToString::to_string).collect());
    }
}

/// Everything one [`Storage::commit`] writes, in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    /// Document increments (or snapshots), one per document.
    pub chunks: Vec<PendingWrite>,
    /// Partnership list entries to put.
    pub records: Vec<DocRecord>,
    /// Documents to remove from this device, with the device settings kept
    /// for each (removed with it).
    pub deletes: Vec<(DocumentId, Vec<String>)>,
}

impl Batch {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.records.is_empty() && self.deletes.is_empty()
    }
}

/// A handle on the app's IndexedDB database, as one tab writes it.
#[derive(Debug)]
pub struct Storage {
    db: Database,
    /// This tab's id: the last part of every chunk key it appends.
    tab: String,
    /// The next sequence number for this tab's chunk keys.
    next_seq: Cell<f64>,
}

impl Storage {
    /// Opens (creating or upgrading as needed) the database called `name`
    /// for the tab `tab` (any string unique among the open tabs; `now_ms`
    /// starts its chunk sequence, so a later tab with the same id still
    /// writes after it).
    pub async fn open(name: &str, tab: &str, now_ms: u64) -> Result<Self, StorageError> {
        let db = Database::open(name)
            .with_version(DB_VERSION)
            .with_on_upgrade_needed(|_event, db| {
                let existing: Vec<String> = db.object_store_names().collect();
                for store in [CHUNKS, DOCS, META] {
                    if !existing.iter().any(|s| s == store) {
                        db.create_object_store(store).build()?;
                    }
                }
                Ok(())
            })
            .await?;
        Ok(Self {
            db,
            tab: tab.to_owned(),
            next_seq: Cell::new(now_ms as f64 * 1000.0),
        })
    }

    fn write_tx(&self, stores: &[&str]) -> Result<Transaction<'_>, StorageError> {
        let options = TransactionOptions::new().with_durability(TransactionDurability::Strict);
        Ok(self
            .db
            .transaction(stores.to_vec())
            .with_mode(TransactionMode::Readwrite)
            .with_options(options)
            .build()?)
    }

    fn read_tx(&self, stores: &[&str]) -> Result<Transaction<'_>, StorageError> {
        Ok(self.db.transaction(stores.to_vec()).build()?)
    }

    /// Writes one batch in one transaction: each document's increment (or,
    /// when asked and nothing would be lost, a snapshot that replaces exactly
    /// the chunks read in this transaction), then the list entries, then the
    /// removals. All or nothing: a failure leaves the device as it was.
    pub async fn commit(&self, batch: &Batch) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        let tx = self.write_tx(&[CHUNKS, DOCS, META])?;
        let chunks = tx.object_store(CHUNKS)?;
        for write in &batch.chunks {
            let id = write.document.to_string();
            if write.compact && self.compact_in(&chunks, &id, write).await? {
                continue;
            }
            if write.bytes.is_empty() {
                continue;
            }
            // A key of this tab's own: no other tab writes it, so nothing needs
            // reading first and no tab's chunk is ever overwritten.
            let seq = self.next_seq.get();
            self.next_seq.set(seq + 1.0);
            chunks
                .put(bytes_value(&write.bytes))
                .with_key(tab_chunk_key(&id, seq, &self.tab))
                .primitive()?
                .await?;
        }
        let docs = tx.object_store(DOCS)?;
        for record in &batch.records {
            let json = serde_json::to_string(record)
                .map_err(|e| StorageError::Malformed(e.to_string()))?;
            docs.put(json)
                .with_key(record.id.clone())
                .primitive()?
                .await?;
        }
        for (document, settings) in &batch.deletes {
            let id = document.to_string();
            for key in settings {
                tx.object_store(META)?
                    .delete::<String, _>(key.clone())
                    .primitive()?
                    .await?;
            }
            chunks
                .delete::<JsValue, _>(doc_range(&id))
                .primitive()?
                .await?;
            docs.delete::<String, _>(id).primitive()?.await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Inside a write transaction: reads every chunk of the document and,
    /// when a snapshot can replace them without losing anything, deletes
    /// exactly the keys read and stores it. The snapshot is the one of the
    /// document in memory the write carries, when that holds every chunk
    /// read ([`crate::saving::InMemory::covers`]); else one rebuilt from the
    /// chunks and the write's increment ([`crate::saving::compact_chunks`]).
    /// Returns whether it compacted.
    async fn compact_in(
        &self,
        chunks: &indexed_db_futures::object_store::ObjectStore<'_>,
        id: &str,
        write: &PendingWrite,
    ) -> Result<bool, StorageError> {
        let started = browser::performance_now();
        let keys: Vec<JsValue> = chunks
            .get_all_keys::<JsValue>()
            .with_query::<JsValue, _>(doc_range(id))
            .await?
            .collect::<Result<_, _>>()?;
        let values: Vec<JsValue> = chunks
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(doc_range(id))
            .await?
            .collect::<Result<_, _>>()?;
        if keys.len() != values.len() {
            return Ok(false);
        }
        let stored: Vec<Vec<u8>> = values
            .into_iter()
            .map(chunk_bytes)
            .collect::<Result<_, _>>()?;
        // The document in memory, when it holds every chunk read (cheap:
        // no load); else rebuilt from the chunks and this tab's increment.
        let rebuilt;
        let snapshot = match &write.in_memory {
            Some(in_memory) if in_memory.covers(&stored) => &in_memory.snapshot,
            _ => {
                let Some(snapshot) = saving::compact_chunks(&stored, &write.bytes) else {
                    return Ok(false);
                };
                rebuilt = snapshot;
                &rebuilt
            }
        };
        for key in keys {
            chunks.delete::<JsValue, _>(key).primitive()?.await?;
        }
        chunks
            .put(bytes_value(snapshot))
            .with_key(chunk_key(id, 0.0))
            .primitive()?
            .await?;
        if let Some(started) = started {
            browser::record_duration(COMPACTION_MEASURE, started);
        }
        Ok(true)
    }

    /// The document's stored chunks, in order.
    pub async fn chunks(&self, document: &DocumentId) -> Result<Vec<Vec<u8>>, StorageError> {
        let id = document.to_string();
        let tx = self.read_tx(&[CHUNKS])?;
        let store = tx.object_store(CHUNKS)?;
        let values: Vec<JsValue> = store
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(doc_range(&id))
            .await?
            .collect::<Result<_, _>>()?;
        values.into_iter().map(chunk_bytes).collect()
    }

    /// Adds or updates a document's list entry.
    pub async fn put_record(&self, record: &DocRecord) -> Result<(), StorageError> {
        let json =
            serde_json::to_string(record).map_err(|e| StorageError::Malformed(e.to_string()))?;
        let tx = self.write_tx(&[DOCS])?;
        let store = tx.object_store(DOCS)?;
        store
            .put(json)
            .with_key(record.id.clone())
            .primitive()?
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every document held on this device, oldest first.
    pub async fn records(&self) -> Result<Vec<DocRecord>, StorageError> {
        let tx = self.read_tx(&[DOCS])?;
        let store = tx.object_store(DOCS)?;
        let values: Vec<String> = store.get_all::<String>().await?.collect::<Result<_, _>>()?;
        let mut records = values
            .iter()
            .map(|json| {
                serde_json::from_str::<DocRecord>(json)
                    .map_err(|e| StorageError::Malformed(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        records.sort_by(|a, b| a.added_at.cmp(&b.added_at).then_with(|| a.id.cmp(&b.id)));
        Ok(records)
    }

    /// Reads a device setting.
    pub async fn get_meta(&self, key: &str) -> Result<Option<String>, StorageError> {
        let tx = self.read_tx(&[META])?;
        let store = tx.object_store(META)?;
        Ok(store
            .get::<String, _, _>(key.to_owned())
            .primitive()?
            .await?)
    }

    /// Writes a device setting.
    pub async fn put_meta(&self, key: &str, value: &str) -> Result<(), StorageError> {
        let tx = self.write_tx(&[META])?;
        let store = tx.object_store(META)?;
        store
            .put(value.to_owned())
            .with_key(key.to_owned())
            .primitive()?
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reads a device setting stored as any structured-clonable value (the
    /// identity record holds a `CryptoKey` object; see
    /// [`crate::identity`]).
    pub async fn get_meta_value(&self, key: &str) -> Result<Option<JsValue>, StorageError> {
        let tx = self.read_tx(&[META])?;
        let store = tx.object_store(META)?;
        let value: Option<JsValue> = store
            .get::<JsValue, _, _>(key.to_owned())
            .primitive()?
            .await?;
        Ok(value.filter(|v| !v.is_undefined() && !v.is_null()))
    }

    /// Writes a device setting as a structured-clonable value.
    pub async fn put_meta_value(&self, key: &str, value: &JsValue) -> Result<(), StorageError> {
        let tx = self.write_tx(&[META])?;
        let store = tx.object_store(META)?;
        store
            .put(value.clone())
            .with_key(key.to_owned())
            .primitive()?
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes the connection (tests reopen to prove data survived).
    pub fn close(self) {
        self.db.close();
    }
}

use wasm_bindgen::JsCast as _;

fn chunk_key(id: &str, seq: f64) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(id), &JsValue::from_f64(seq)).into()
}

/// An appended chunk's key: `[document, seq, tab]` sorts after the
/// document's snapshot `[document, 0]` and inside [`doc_range`].
fn tab_chunk_key(id: &str, seq: f64, tab: &str) -> JsValue {
    js_sys::Array::of3(
        &JsValue::from_str(id),
        &JsValue::from_f64(seq),
        &JsValue::from_str(tab),
    )
    .into()
}

fn chunk_bytes(value: JsValue) -> Result<Vec<u8>, StorageError> {
    value
        .dyn_into::<js_sys::Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|v| StorageError::Malformed(format!("chunk is not bytes: {}", describe(&v))))
}

fn doc_range(id: &str) -> KeyRange<JsValue> {
    KeyRange::Bound(chunk_key(id, 0.0), false, chunk_key(id, MAX_SEQ), false)
}

fn bytes_value(bytes: &[u8]) -> JsValue {
    js_sys::Uint8Array::from(bytes).into()
}
