//! IndexedDB persistence.
//!
//! Three object stores in one database:
//! - `chunks`: a document's Automerge bytes as a series of chunks keyed by
//!   `[document id, seq]`; loading concatenates them in key order (a snapshot
//!   followed by incremental changes loads with `load_incremental`).
//! - `docs`: one [`DocRecord`] per document held on this device (for the list).
//! - `meta`: small device settings (identity, organization name), JSON text.
//!
//! Every write transaction asks for `strict` durability, so a write that
//! resolved has been flushed by the browser.

use accord_shared::engine::Write;
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
use crate::browser::describe;

/// The name of the app's database.
pub const DB_NAME: &str = "accord";
const DB_VERSION: u32 = 1;
const CHUNKS: &str = "chunks";
const DOCS: &str = "docs";
const META: &str = "meta";
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
}

/// A handle on the app's IndexedDB database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    db: Database,
}

impl Storage {
    /// Opens (creating or upgrading as needed) the database called `name`.
    pub async fn open(name: &str) -> Result<Self, StorageError> {
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
        Ok(Self { db })
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

    /// Carries out an engine persist effect.
    pub async fn write(&self, document: &DocumentId, write: &Write) -> Result<(), StorageError> {
        match write {
            Write::Append(bytes) => self.append(document, bytes).await,
            Write::Replace(bytes) => self.replace(document, bytes).await,
        }
    }

    /// Appends one chunk after the document's existing chunks.
    pub async fn append(&self, document: &DocumentId, bytes: &[u8]) -> Result<(), StorageError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let id = document.to_string();
        let tx = self.write_tx(&[CHUNKS])?;
        let store = tx.object_store(CHUNKS)?;
        // Read the last key inside the same transaction so concurrent tabs never collide.
        let keys: Vec<JsValue> = store
            .get_all_keys::<JsValue>()
            .with_query::<JsValue, _>(doc_range(&id))
            .await?
            .collect::<Result<_, _>>()?;
        let next = keys.iter().filter_map(seq_of).fold(0.0_f64, f64::max) + 1.0;
        store
            .put(bytes_value(bytes))
            .with_key(chunk_key(&id, next))
            .primitive()?
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces every chunk of the document with one snapshot (compaction).
    pub async fn replace(
        &self,
        document: &DocumentId,
        snapshot: &[u8],
    ) -> Result<(), StorageError> {
        let id = document.to_string();
        let tx = self.write_tx(&[CHUNKS])?;
        let store = tx.object_store(CHUNKS)?;
        store
            .delete::<JsValue, _>(doc_range(&id))
            .primitive()?
            .await?;
        store
            .put(bytes_value(snapshot))
            .with_key(chunk_key(&id, 0.0))
            .primitive()?
            .await?;
        tx.commit().await?;
        Ok(())
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
        values
            .into_iter()
            .map(|v| {
                v.dyn_into::<js_sys::Uint8Array>()
                    .map(|a| a.to_vec())
                    .map_err(|v| {
                        StorageError::Malformed(format!("chunk is not bytes: {}", describe(&v)))
                    })
            })
            .collect()
    }

    /// The document's stored bytes (all chunks concatenated), or `None` if nothing is stored.
    pub async fn load(&self, document: &DocumentId) -> Result<Option<Vec<u8>>, StorageError> {
        let chunks = self.chunks(document).await?;
        if chunks.is_empty() {
            return Ok(None);
        }
        Ok(Some(chunks.concat()))
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

    /// Removes a document from this device: every chunk, its list entry and
    /// the device settings named in `settings` (the ones kept per
    /// document), in one transaction (all or nothing).
    pub async fn delete(
        &self,
        document: &DocumentId,
        settings: &[String],
    ) -> Result<(), StorageError> {
        let id = document.to_string();
        let tx = self.write_tx(&[CHUNKS, DOCS, META])?;
        for key in settings {
            tx.object_store(META)?
                .delete::<String, _>(key.clone())
                .primitive()?
                .await?;
        }
        tx.object_store(CHUNKS)?
            .delete::<JsValue, _>(doc_range(&id))
            .primitive()?
            .await?;
        tx.object_store(DOCS)?
            .delete::<String, _>(id)
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

    /// Closes the connection (tests reopen to prove data survived).
    pub fn close(self) {
        self.db.close();
    }
}

use wasm_bindgen::JsCast as _;

fn chunk_key(id: &str, seq: f64) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(id), &JsValue::from_f64(seq)).into()
}

fn doc_range(id: &str) -> KeyRange<JsValue> {
    KeyRange::Bound(chunk_key(id, 0.0), false, chunk_key(id, MAX_SEQ), false)
}

fn seq_of(key: &JsValue) -> Option<f64> {
    key.dyn_ref::<js_sys::Array>()?.get(1).as_f64()
}

fn bytes_value(bytes: &[u8]) -> JsValue {
    js_sys::Uint8Array::from(bytes).into()
}
