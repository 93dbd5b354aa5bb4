//! Named versions of the agreement ("Sent to Globex, 1 Dec"): a name given
//! to the document's heads at one moment, so the partners can later compare
//! any two rounds, or a round with now (see [`crate::views::redline`]).
//!
//! `agreement.versions{id → {name, heads: [change hash hex…], author, at,
//! order, deleted_at?}}`, a map created on first use (see
//! [`super::lazy_maps`]). The heads are those of the document just before
//! the version is saved; Automerge keeps every change, so the text at those
//! heads can always be read back.

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use automerge::{ChangeHash, ObjType, ReadDoc, Value};

use super::agreement::AGREEMENT;
use super::error::OpError;
use super::fields::{check_date, child_map, get_str, get_string, get_u64, non_empty};
use super::ids::{ItemId, MemberId};
use super::items::{self, DELETED_AT};
use super::lazy_maps;
use super::refs;

pub(crate) const VERSIONS: &str = "versions";
const NAME: &str = "name";
const HEADS: &str = "heads";
const AUTHOR: &str = "author";
const AT: &str = "at";

/// The longest version name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 120;

/// A named version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Its id.
    pub id: ItemId,
    /// What the partners call it.
    pub name: String,
    /// The document's heads it names.
    pub heads: Vec<ChangeHash>,
    /// Who saved it.
    pub author: Option<MemberId>,
    /// When (UTC ms).
    pub at: Option<u64>,
}

fn read_heads<R: ReadDoc>(doc: &R, obj: &automerge::ObjId) -> Vec<ChangeHash> {
    let Ok(Some((Value::Object(ObjType::List), list))) = doc.get(obj, HEADS) else {
        return Vec::new();
    };
    (0..doc.length(&list))
        .filter_map(|i| match doc.get(&list, i) {
            Ok(Some((Value::Scalar(s), _))) => s.as_str()?.parse().ok(),
            _ => None,
        })
        .collect()
}

/// The saved versions, oldest first (a version whose heads this replica
/// does not hold yet is listed too; comparing it waits for sync).
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Version> {
    let Some(root) = child_map(doc, &automerge::ROOT, AGREEMENT) else {
        return Vec::new();
    };
    let mut found: Vec<Version> = lazy_maps::entries(doc, &root, VERSIONS)
        .into_iter()
        .map(|(id, obj)| Version {
            id,
            name: get_string(doc, &obj, NAME),
            heads: read_heads(doc, &obj),
            author: get_str(doc, &obj, AUTHOR).and_then(|m| m.parse().ok()),
            at: get_u64(doc, &obj, AT),
        })
        .filter(|v| !v.heads.is_empty())
        .collect();
    found.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    found
}

/// One version, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<Version> {
    list(doc)
        .into_iter()
        .find(|v| v.id == id)
        .ok_or_else(|| OpError::not_found("version", &id))
}

/// Saves the document as it is at `heads` (the caller's current heads,
/// which this replica must hold) under `name`.
pub fn save<T: Tx>(
    tx: &mut T,
    id: ItemId,
    name: &str,
    heads: &[ChangeHash],
    author: MemberId,
    now: u64,
) -> OpResult {
    let name = non_empty("version name", name)?;
    if name.chars().count() > MAX_NAME_CHARS || name.contains(['\n', '\r']) {
        return Err(OpError::Invalid {
            field: "version name",
            reason: "a version name is one line of at most 120 characters",
        });
    }
    let now = check_date("time", now)?;
    refs::require_member(tx, author)?;
    if heads.is_empty() || heads.iter().any(|h| tx.get_change_by_hash(h).is_none()) {
        return Err(OpError::Invalid {
            field: "version",
            reason: "it names changes this device does not hold",
        });
    }
    let root =
        child_map(tx, &automerge::ROOT, AGREEMENT).ok_or(OpError::NotInitialized("agreement"))?;
    if lazy_maps::used(tx, &root, VERSIONS, id) {
        return Err(OpError::Duplicate {
            kind: "version",
            id: id.key(),
        });
    }
    let map = lazy_maps::ensure(tx, &root, VERSIONS)?;
    let obj = items::create(tx, &map, "version", id)?;
    tx.put(&obj, NAME, name)?;
    let list = tx.put_object(&obj, HEADS, ObjType::List)?;
    for (i, head) in heads.iter().enumerate() {
        tx.insert(&list, i, head.to_string())?;
    }
    tx.put(&obj, AUTHOR, author.key())?;
    tx.put(&obj, AT, now)?;
    Ok(())
}

/// Deletes a named version from the list (the document's history itself
/// is untouched).
pub fn delete<T: Tx>(tx: &mut T, id: ItemId, now: u64) -> OpResult {
    let now = check_date("deletion time", now)?;
    let root =
        child_map(tx, &automerge::ROOT, AGREEMENT).ok_or(OpError::NotInitialized("agreement"))?;
    let obj = lazy_maps::live(tx, &root, VERSIONS, id)
        .ok_or_else(|| OpError::not_found("version", &id))?;
    tx.put(&obj, DELETED_AT, now)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, AutoCommit};

    use super::*;
    use crate::model::test_support::{T0, id, partnership, sync_pair};

    #[test]
    fn save_list_and_remove() {
        let mut fixture = partnership();
        let alice = fixture.alice;
        let doc = &mut fixture.doc;
        let heads = doc.get_heads();
        save(doc, id(1), " Sent to Globex, 1 Dec ", &heads, alice, T0).unwrap();
        doc.commit();
        let stranger = MemberId::from_bytes([9; 16]);
        let unknown = [ChangeHash([7; 32])];
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        let refused = [
            save(doc, id(2), " ", &heads, alice, T0),
            save(doc, id(2), &long, &heads, alice, T0),
            save(doc, id(2), "a\nb", &heads, alice, T0),
            save(doc, id(2), "x", &[], alice, T0),
            save(doc, id(2), "x", &unknown, alice, T0),
            save(doc, id(2), "x", &heads, stranger, T0),
            save(doc, id(2), "x", &heads, alice, 1),
            save(doc, id(1), "x", &heads, alice, T0),
        ];
        assert!(refused.iter().all(Result::is_err));
        assert_eq!(doc.pending_ops(), 0);
        let saved = get(doc, id(1)).unwrap();
        assert_eq!(saved.name, "Sent to Globex, 1 Dec");
        assert_eq!(saved.heads, heads);
        assert_eq!((saved.author, saved.at), (Some(alice), Some(T0)));
        delete(doc, id(1), T0).unwrap();
        assert!(list(doc).is_empty());
    }

    #[test]
    fn versions_saved_on_two_replicas_before_either_had_the_list_are_both_kept() {
        let mut fixture = partnership();
        let mut a = fixture
            .doc
            .fork()
            .with_actor(ActorId::from(b"a".as_slice()));
        let mut b: AutoCommit = fixture
            .doc
            .fork()
            .with_actor(ActorId::from(b"b".as_slice()));
        let heads = a.get_heads();
        save(&mut a, id(1), "Round 1 (Acme)", &heads, fixture.alice, T0).unwrap();
        save(
            &mut b,
            id(2),
            "Round 1 (Globex)",
            &heads,
            fixture.bob,
            T0 + 1,
        )
        .unwrap();
        sync_pair(&mut a, &mut b);
        for doc in [&a, &b] {
            let names: Vec<String> = list(doc).into_iter().map(|v| v.name).collect();
            assert_eq!(names, ["Round 1 (Acme)", "Round 1 (Globex)"]);
        }
        // Later writes go to the visible copy; the other stays readable.
        let heads = a.get_heads();
        save(&mut a, id(3), "Round 2", &heads, fixture.alice, T0 + 2).unwrap();
        delete(&mut a, id(2), T0 + 3).unwrap();
        sync_pair(&mut a, &mut b);
        let names: Vec<String> = list(&b).into_iter().map(|v| v.name).collect();
        assert_eq!(names, ["Round 1 (Acme)", "Round 2"]);
    }
}
