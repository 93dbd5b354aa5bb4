//! Maps added to the document after version 1 was shared, created on first
//! use by whichever replica needs one.
//!
//! Two replicas that create the same key concurrently each make their own
//! map; Automerge keeps both as conflicting values of the key and shows one.
//! Writers add to the one shown ([`ensure`]); readers take the items of all
//! of them ([`all`]), so nothing written into the other copy is lost. This
//! keeps new collections (suggestions, named versions) additive: schema
//! version 1 is unchanged and clients that do not know them still open and
//! edit the document.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, Value};

use super::error::OpError;
use super::fields::child_map;
use super::ids::ItemId;
use super::items;

/// Every map held under `parent[key]`, the visible one first.
pub(crate) fn all<R: ReadDoc>(doc: &R, parent: &ObjId, key: &str) -> Vec<ObjId> {
    doc.get_all(parent, key)
        .unwrap_or_default()
        .into_iter()
        .rev()
        .filter_map(|(value, id)| matches!(value, Value::Object(ObjType::Map)).then_some(id))
        .collect()
}

/// The map under `parent[key]` to write into, created if there is none.
pub(crate) fn ensure<T: Transactable + ReadDoc>(
    tx: &mut T,
    parent: &ObjId,
    key: &str,
) -> Result<ObjId, OpError> {
    match child_map(tx, parent, key) {
        Some(map) => Ok(map),
        None => Ok(tx.put_object(parent, key, ObjType::Map)?),
    }
}

/// The live items of every copy of the collection, by `order` then id; an
/// id in two copies is read from the first.
pub(crate) fn entries<R: ReadDoc>(doc: &R, parent: &ObjId, key: &str) -> Vec<(ItemId, ObjId)> {
    let mut seen = std::collections::HashSet::new();
    let mut found: Vec<(f64, ItemId, ObjId)> = all(doc, parent, key)
        .iter()
        .flat_map(|map| items::entries(doc, map))
        .filter(|(id, _)| seen.insert(*id))
        .map(|(id, obj)| {
            let order = super::fields::get_f64(doc, &obj, items::ORDER).unwrap_or(0.0);
            (order, id, obj)
        })
        .collect();
    found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    found.into_iter().map(|(_, id, obj)| (id, obj)).collect()
}

/// The live item `id` in any copy of the collection.
pub(crate) fn live<R: ReadDoc>(doc: &R, parent: &ObjId, key: &str, id: ItemId) -> Option<ObjId> {
    all(doc, parent, key)
        .iter()
        .find_map(|map| items::live(doc, map, &id.key()))
}

/// Whether `id` was ever used in any copy of the collection.
pub(crate) fn used<R: ReadDoc>(doc: &R, parent: &ObjId, key: &str, id: ItemId) -> bool {
    all(doc, parent, key)
        .iter()
        .any(|map| matches!(doc.get(map, id.key()), Ok(Some(_))))
}
