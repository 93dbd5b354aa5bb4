//! The collections of the document and what every item in them shares:
//! creation under a fresh random key, an `order` for display, and deletion.
//!
//! # Deleting while someone else edits
//!
//! Deleting an item does not remove its map: it sets `deleted_at`. Reads skip
//! deleted items and operations refuse them ([`OpError::NotFound`]), so on any
//! one replica a deleted item is gone. When one partner deletes an item while
//! the other edits it offline, **the delete wins** after merging — the item
//! stays deleted — **and the edit is not lost**: it merged into the hidden
//! item, and [`restore`] brings the item back with that edit included. (Had we
//! removed the map key instead, the concurrent edit would land in an
//! unreachable object and be lost for good.) A delete and a restore made
//! concurrently resolve like any other field: one of them wins, the same on
//! every replica.
//!
//! # Order
//!
//! `order` is a float. New items go after the last one; [`move_to`] puts an
//! item halfway between its new neighbours, so two people reordering
//! different items never conflict. Ties (two items moved into the same gap at
//! once) are broken by id, identically everywhere.

use automerge::{ObjId, ObjType, ROOT, ReadDoc};

use super::error::{OpError, OpResult};
use super::fields::{
    Tx, check_date, child_map, get_f64, get_str, get_string, get_text, get_u64, put,
    splice_text_field,
};
use super::ids::{ItemId, PartyId};
use super::keys;
use crate::text::Splice;

/// Key of the "deleted at" timestamp on every item.
pub(crate) const DELETED_AT: &str = "deleted_at";
/// Key of the display order on every item.
pub(crate) const ORDER: &str = "order";

/// A collection whose items can be deleted, restored and reordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// `parties{}`.
    Parties,
    /// `vetting.criteria{}`.
    Criteria,
    /// `vetting.diligence{}`.
    Diligence,
    /// `objectives{}`.
    Objectives,
    /// `kpis{}`.
    Kpis,
    /// `kpis{kpi}.measurements{}`.
    Measurements {
        /// The KPI the measurements belong to.
        kpi: ItemId,
    },
    /// `raci.activities{}`.
    Activities,
    /// `comm_plan{}`.
    CommPlan,
    /// `milestones{}`.
    Milestones,
    /// `meetings{}`.
    Meetings,
    /// `governance.committees{}`.
    Committees,
    /// `governance.decision_rights{}`.
    DecisionRights,
    /// `governance.escalation{}` (the escalation ladder's levels).
    EscalationLevels,
    /// `conflicts{}`.
    Conflicts,
    /// `risks{}`.
    Risks,
    /// `reviews{}`.
    Reviews,
    /// `health{}` (health-check rounds).
    HealthRounds,
    /// `boards{}` (workshop boards).
    Boards,
    /// `agreement.clauses{}`.
    Clauses,
    /// `agreement.comments{}` (comments on clauses and their replies).
    Comments,
    /// `meetings{meeting}.agenda{}`.
    Agenda {
        /// The meeting the agenda belongs to.
        meeting: ItemId,
    },
    /// `meetings{meeting}.decisions{}` (the decision log).
    Decisions {
        /// The meeting that took the decisions.
        meeting: ItemId,
    },
    /// `meetings{meeting}.actions{}`.
    MeetingActions {
        /// The meeting that produced the actions.
        meeting: ItemId,
    },
    /// `reviews{review}.actions{}`.
    ReviewActions {
        /// The review that produced the actions.
        review: ItemId,
    },
}

impl Collection {
    /// What one item is called, for messages.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Parties => "party",
            Self::Criteria => "criterion",
            Self::Diligence => "due-diligence item",
            Self::Objectives => "objective",
            Self::Kpis => "KPI",
            Self::Measurements { .. } => "measurement",
            Self::Activities => "activity",
            Self::CommPlan => "communication",
            Self::Milestones => "milestone",
            Self::Meetings => "meeting",
            Self::Committees => "committee",
            Self::DecisionRights => "decision right",
            Self::EscalationLevels => "escalation level",
            Self::Conflicts => "conflict",
            Self::Risks => "risk",
            Self::Reviews => "review",
            Self::HealthRounds => "health-check round",
            Self::Boards => "board",
            Self::Clauses => "clause",
            Self::Comments => "comment",
            Self::Agenda { .. } => "agenda item",
            Self::Decisions { .. } => "decision",
            Self::MeetingActions { .. } | Self::ReviewActions { .. } => "action item",
        }
    }

    /// The field that names an item, shown in a list of deleted items.
    fn label_key(self) -> &'static str {
        match self {
            Self::Parties
            | Self::Criteria
            | Self::Kpis
            | Self::Activities
            | Self::Committees
            | Self::EscalationLevels => "name",
            Self::Diligence => "item",
            Self::DecisionRights => "decision",
            Self::Objectives
            | Self::Milestones
            | Self::Meetings
            | Self::Conflicts
            | Self::Risks
            | Self::Reviews
            | Self::HealthRounds
            | Self::Boards
            | Self::Clauses
            | Self::Agenda { .. }
            | Self::MeetingActions { .. }
            | Self::ReviewActions { .. } => "title",
            Self::Decisions { .. } => "text",
            Self::Comments => "body",
            Self::Measurements { .. } => "value",
            Self::CommPlan => "what",
        }
    }

    /// The map holding the collection's items.
    pub(crate) fn locate<R: ReadDoc>(self, doc: &R) -> OpResult<ObjId> {
        let root =
            |key: &'static str| child_map(doc, &ROOT, key).ok_or(OpError::NotInitialized(key));
        let nested = |outer: &'static str, inner: &'static str, name: &'static str| {
            child_map(doc, &root(outer)?, inner).ok_or(OpError::NotInitialized(name))
        };
        let in_agreement = |inner: &'static str, name: &'static str| {
            child_map(doc, &ROOT, keys::AGREEMENT)
                .and_then(|agreement| child_map(doc, &agreement, inner))
                .ok_or(OpError::NotInitialized(name))
        };
        match self {
            Self::Parties => root(keys::PARTIES),
            Self::Criteria => nested(keys::VETTING, "criteria", "vetting.criteria"),
            Self::Diligence => nested(keys::VETTING, "diligence", "vetting.diligence"),
            Self::Objectives => root(keys::OBJECTIVES),
            Self::Kpis => root(keys::KPIS),
            Self::Measurements { kpi } => {
                let kpi_obj = require(doc, Self::Kpis, kpi)?;
                child_map(doc, &kpi_obj, "measurements")
                    .ok_or(OpError::NotInitialized("kpi.measurements"))
            }
            Self::Activities => nested(keys::RACI, "activities", "raci.activities"),
            Self::CommPlan => root(keys::COMM_PLAN),
            Self::Milestones => root(keys::MILESTONES),
            Self::Meetings => root(keys::MEETINGS),
            Self::Committees => nested(keys::GOVERNANCE, "committees", "governance.committees"),
            Self::DecisionRights => nested(
                keys::GOVERNANCE,
                "decision_rights",
                "governance.decision_rights",
            ),
            Self::EscalationLevels => {
                nested(keys::GOVERNANCE, "escalation", "governance.escalation")
            }
            Self::Conflicts => root(keys::CONFLICTS),
            Self::Risks => root(keys::RISKS),
            Self::Reviews => root(keys::REVIEWS),
            Self::HealthRounds => root(keys::HEALTH),
            Self::Boards => root(keys::BOARDS),
            Self::Clauses => in_agreement("clauses", "agreement.clauses"),
            Self::Comments => in_agreement("comments", "agreement.comments"),
            Self::Agenda { meeting } => Self::Meetings.child(doc, meeting, keys::AGENDA),
            Self::Decisions { meeting } => Self::Meetings.child(doc, meeting, keys::DECISIONS),
            Self::MeetingActions { meeting } => Self::Meetings.child(doc, meeting, keys::ACTIONS),
            Self::ReviewActions { review } => Self::Reviews.child(doc, review, keys::ACTIONS),
        }
    }

    /// The map `key` inside the live item `id` of this collection.
    fn child<R: ReadDoc>(self, doc: &R, id: ItemId, key: &'static str) -> OpResult<ObjId> {
        let item = require(doc, self, id)?;
        child_map(doc, &item, key).ok_or(OpError::NotInitialized(key))
    }
}

/// The item's map if it exists and is not deleted.
pub(crate) fn live<R: ReadDoc>(doc: &R, items: &ObjId, key: &str) -> Option<ObjId> {
    child_map(doc, items, key).filter(|item| get_u64(doc, item, DELETED_AT).is_none())
}

/// The live item `id` of `collection`, or [`OpError::NotFound`].
pub(crate) fn require<R: ReadDoc>(doc: &R, collection: Collection, id: ItemId) -> OpResult<ObjId> {
    let items = collection.locate(doc)?;
    live(doc, &items, &id.key()).ok_or_else(|| OpError::not_found(collection.kind(), &id))
}

/// The live items of a collection map, sorted by `order` then id.
pub(crate) fn entries<R: ReadDoc>(doc: &R, items: &ObjId) -> Vec<(ItemId, ObjId)> {
    let mut found: Vec<(f64, ItemId, ObjId)> = doc
        .keys(items)
        .filter_map(|key| {
            let id = key.parse::<ItemId>().ok()?;
            let obj = live(doc, items, &key)?;
            Some((get_f64(doc, &obj, ORDER).unwrap_or(0.0), id, obj))
        })
        .collect();
    found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    found.into_iter().map(|(_, id, obj)| (id, obj)).collect()
}

/// The live items of `collection` in display order, each read by `read`
/// (from its id and map); none while the collection is missing.
pub(crate) fn read_all<R: ReadDoc, V>(
    doc: &R,
    collection: Collection,
    read: impl Fn(ItemId, &ObjId) -> V,
) -> Vec<V> {
    match collection.locate(doc) {
        Ok(items) => read_in(doc, &items, read),
        Err(_) => Vec::new(),
    }
}

/// The live items of the item map `items` in display order, each read by
/// `read`.
pub(crate) fn read_in<R: ReadDoc, V>(
    doc: &R,
    items: &ObjId,
    read: impl Fn(ItemId, &ObjId) -> V,
) -> Vec<V> {
    entries(doc, items)
        .into_iter()
        .map(|(id, obj)| read(id, &obj))
        .collect()
}

/// The live items of the map `parent[key]` (an item's own sub-collection:
/// a meeting's agenda, a review's actions) in display order, each read by
/// `read`; none while that map is missing.
pub(crate) fn read_under<R: ReadDoc, V>(
    doc: &R,
    parent: &ObjId,
    key: &str,
    read: impl Fn(ItemId, &ObjId) -> V,
) -> Vec<V> {
    match child_map(doc, parent, key) {
        Some(items) => read_in(doc, &items, read),
        None => Vec::new(),
    }
}

/// The live item `id` of `collection` read by `read`, or
/// [`OpError::NotFound`].
pub(crate) fn read_one<R: ReadDoc, V>(
    doc: &R,
    collection: Collection,
    id: ItemId,
    read: impl FnOnce(ItemId, &ObjId) -> V,
) -> OpResult<V> {
    let obj = require(doc, collection, id)?;
    Ok(read(id, &obj))
}

/// Applies one splice (what a text editor reports as someone types) to the
/// prose field `key` of the live item `id` of `collection`.
pub(crate) fn splice_field<T: Tx>(
    tx: &mut T,
    collection: Collection,
    id: ItemId,
    key: &str,
    edit: &Splice,
) -> OpResult {
    let obj = require(tx, collection, id)?;
    splice_text_field(tx, &obj, key, edit)
}

/// Creates the item `id` (a fresh map placed after every existing item).
/// Fails with [`OpError::Duplicate`] if the key was ever used, deleted or not.
pub(crate) fn create<T: Tx>(
    tx: &mut T,
    items: &ObjId,
    kind: &'static str,
    id: ItemId,
) -> OpResult<ObjId> {
    let key = id.key();
    if tx.get(items, &key)?.is_some() {
        return Err(OpError::Duplicate { kind, id: key });
    }
    let last = tx
        .keys(items)
        .filter_map(|k| child_map(tx, items, &k))
        .filter_map(|item| get_f64(tx, &item, ORDER))
        .fold(0.0_f64, f64::max);
    let item = tx.put_object(items, key.as_str(), ObjType::Map)?;
    tx.put(&item, ORDER, last + 1.0)?;
    Ok(item)
}

/// Creates the item `id` of `collection` (see [`create`]).
pub(crate) fn create_item<T: Tx>(
    tx: &mut T,
    collection: Collection,
    id: ItemId,
) -> OpResult<ObjId> {
    let items = collection.locate(tx)?;
    create(tx, &items, collection.kind(), id)
}

/// Deletes an item (sets `deleted_at`; see the module docs for why).
///
/// A party still having members who have not left cannot be deleted.
pub fn delete<T: Tx>(tx: &mut T, collection: Collection, id: ItemId, now: u64) -> OpResult {
    check_date("deletion time", now)?;
    require(tx, collection, id)?;
    if collection == Collection::Parties && has_current_members(tx, id.into()) {
        return Err(OpError::InUse {
            kind: "party",
            reason: "it still has members",
        });
    }
    delete_in(tx, &collection.locate(tx)?, collection.kind(), id, now)
}

/// Whether `party` has members who have not left, read straight from
/// `members{}` so that this floor imports no collection.
fn has_current_members<R: ReadDoc>(doc: &R, party: PartyId) -> bool {
    let Some(members) = child_map(doc, &ROOT, keys::MEMBERS) else {
        return false;
    };
    doc.keys(&members).any(|key| {
        key.parse::<ItemId>().is_ok()
            && live(doc, &members, &key).is_some_and(|member| {
                get_str(doc, &member, keys::MEMBER_PARTY).and_then(|p| p.parse().ok())
                    == Some(party)
                    && get_u64(doc, &member, keys::MEMBER_LEFT_AT).is_none()
            })
    })
}

/// Brings a deleted item back, with any edits merged in since.
pub fn restore<T: Tx>(tx: &mut T, collection: Collection, id: ItemId) -> OpResult {
    restore_in(tx, &collection.locate(tx)?, collection.kind(), id)
}

/// A deleted item, as listed for a "recently deleted" view.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedItem {
    /// Its id.
    pub id: ItemId,
    /// Its name or title (for a measurement, its value).
    pub label: String,
    /// When it was deleted (UTC ms).
    pub deleted_at: u64,
}

/// The deleted items of a collection, most recently deleted first.
pub fn deleted<R: ReadDoc>(doc: &R, collection: Collection) -> OpResult<Vec<DeletedItem>> {
    let items = collection.locate(doc)?;
    let label_key = collection.label_key();
    Ok(deleted_in(doc, &items, |item| {
        match get_f64(doc, item, label_key) {
            Some(number) if label_key == "value" => number.to_string(),
            _ if collection == Collection::Comments => get_text(doc, item, label_key),
            _ => get_string(doc, item, label_key),
        }
    }))
}

/// The deleted items of the item map `items`, most recently deleted first,
/// each labelled by `label` from its own map.
pub(crate) fn deleted_in<R: ReadDoc>(
    doc: &R,
    items: &ObjId,
    label: impl Fn(&ObjId) -> String,
) -> Vec<DeletedItem> {
    let mut found: Vec<DeletedItem> = doc
        .keys(items)
        .filter_map(|key| {
            let id = key.parse::<ItemId>().ok()?;
            let item = child_map(doc, items, &key)?;
            let deleted_at = get_u64(doc, &item, DELETED_AT)?;
            Some(DeletedItem {
                id,
                label: label(&item),
                deleted_at,
            })
        })
        .collect();
    found.sort_by(|a, b| b.deleted_at.cmp(&a.deleted_at).then(a.id.cmp(&b.id)));
    found
}

/// Moves an item so it is shown at `index` among the live items (clamped to
/// the end).
pub fn move_to<T: Tx>(tx: &mut T, collection: Collection, id: ItemId, index: usize) -> OpResult {
    move_in(tx, &collection.locate(tx)?, collection.kind(), id, index)
}

// ---------------------------------------------------------------------------
// Helpers for ordered sub-collections inside an item (agenda, actions,
// escalation levels…), shared by the operate modules.

/// The map `parent[key]`, or [`OpError::NotInitialized`] naming `name`.
pub(crate) fn sub_map<R: ReadDoc>(
    doc: &R,
    parent: &ObjId,
    key: &str,
    name: &'static str,
) -> OpResult<ObjId> {
    child_map(doc, parent, key).ok_or(OpError::NotInitialized(name))
}

/// The live item `id` of `map`, or [`OpError::NotFound`].
pub(crate) fn require_in<R: ReadDoc>(
    doc: &R,
    map: &ObjId,
    kind: &'static str,
    id: ItemId,
) -> OpResult<ObjId> {
    live(doc, map, &id.key()).ok_or_else(|| OpError::not_found(kind, &id))
}

/// The top-level collection map `key`.
pub(crate) fn root_map<R: ReadDoc>(doc: &R, key: &'static str) -> OpResult<ObjId> {
    child_map(doc, &ROOT, key).ok_or(OpError::NotInitialized(key))
}

/// Marks the live item `id` of `map` deleted.
pub(crate) fn delete_in<T: Tx>(
    tx: &mut T,
    map: &ObjId,
    kind: &'static str,
    id: ItemId,
    now: u64,
) -> OpResult {
    let now = check_date("deletion time", now)?;
    let obj = require_in(tx, map, kind, id)?;
    tx.put(&obj, DELETED_AT, now)?;
    Ok(())
}

/// Brings the deleted item `id` of `map` back.
pub(crate) fn restore_in<T: Tx>(
    tx: &mut T,
    map: &ObjId,
    kind: &'static str,
    id: ItemId,
) -> OpResult {
    let obj = child_map(tx, map, &id.key())
        .filter(|obj| get_u64(tx, obj, DELETED_AT).is_some())
        .ok_or_else(|| OpError::not_found(kind, &id))?;
    tx.delete(&obj, DELETED_AT)?;
    Ok(())
}

/// Moves item `id` of `map` to position `index` among the live items
/// (clamped to the end), halfway between its new neighbours.
pub(crate) fn move_in<T: Tx>(
    tx: &mut T,
    map: &ObjId,
    kind: &'static str,
    id: ItemId,
    index: usize,
) -> OpResult {
    let obj = require_in(tx, map, kind, id)?;
    let others: Vec<f64> = entries(tx, map)
        .into_iter()
        .filter(|(other, _)| *other != id)
        .map(|(_, o)| get_f64(tx, &o, ORDER).unwrap_or(0.0))
        .collect();
    let index = index.min(others.len());
    let order = match (index.checked_sub(1).map(|i| others[i]), others.get(index)) {
        (None, None) => 1.0,
        (None, Some(next)) => next - 1.0,
        (Some(prev), None) => prev + 1.0,
        (Some(prev), Some(next)) => prev + (next - prev) / 2.0,
    };
    put(tx, &obj, ORDER, order)
}

#[cfg(test)]
mod tests {
    use automerge::AutoCommit;

    use super::*;
    use crate::model::test_support::{T0, id, partnership};
    use crate::model::{milestones, parties};

    fn names(doc: &AutoCommit) -> Vec<String> {
        milestones::list(doc)
            .into_iter()
            .map(|m| m.fields.title)
            .collect()
    }

    fn add(doc: &mut AutoCommit, n: u8, title: &str) -> ItemId {
        let id = id(n);
        milestones::add(
            doc,
            id,
            &milestones::NewMilestone {
                title: title.into(),
                due: None,
            },
        )
        .unwrap();
        id
    }

    #[test]
    fn operate_items_are_listed_when_removed_and_come_back() {
        use crate::model::{governance, risks};
        let mut doc = partnership().doc;
        let risk = id(120);
        risks::add(
            &mut doc,
            risk,
            &risks::NewRisk {
                title: "Key engineer leaves".into(),
                likelihood: 4,
                impact: 5,
                ..Default::default()
            },
            T0,
        )
        .unwrap();
        let level = id(121);
        governance::add_level(&mut doc, level, "Managers", "Alice and Bob", 14).unwrap();
        delete(&mut doc, Collection::Risks, risk, T0 + 1).unwrap();
        crate::model::conflicts::delete_level(&mut doc, level, T0 + 2).unwrap();
        let removed = deleted(&doc, Collection::Risks).unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(
            (
                removed[0].id,
                removed[0].label.as_str(),
                removed[0].deleted_at
            ),
            (risk, "Key engineer leaves", T0 + 1)
        );
        let levels = deleted(&doc, Collection::EscalationLevels).unwrap();
        assert_eq!(levels[0].label, "Managers");
        assert!(deleted(&doc, Collection::Meetings).unwrap().is_empty());
        restore(&mut doc, Collection::Risks, risk).unwrap();
        restore(&mut doc, Collection::EscalationLevels, level).unwrap();
        assert_eq!(risks::list(&doc)[0].fields.title, "Key engineer leaves");
        assert_eq!(governance::ladder(&doc)[0].name, "Managers");
        assert!(deleted(&doc, Collection::Risks).unwrap().is_empty());
    }

    #[test]
    fn items_keep_creation_order_and_can_be_moved() {
        let mut doc = partnership().doc;
        let a = add(&mut doc, 101, "a");
        let b = add(&mut doc, 102, "b");
        let c = add(&mut doc, 103, "c");
        assert_eq!(names(&doc), ["a", "b", "c"]);
        move_to(&mut doc, Collection::Milestones, c, 0).unwrap();
        assert_eq!(names(&doc), ["c", "a", "b"]);
        move_to(&mut doc, Collection::Milestones, c, 1).unwrap();
        assert_eq!(names(&doc), ["a", "c", "b"]);
        move_to(&mut doc, Collection::Milestones, a, 99).unwrap();
        assert_eq!(names(&doc), ["c", "b", "a"]);
        assert!(matches!(
            move_to(&mut doc, Collection::Milestones, id(1), 0),
            Err(OpError::NotFound {
                kind: "milestone",
                ..
            })
        ));
        let _ = b;
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let mut doc = partnership().doc;
        add(&mut doc, 101, "a");
        let again = milestones::add(
            &mut doc,
            id(101),
            &milestones::NewMilestone {
                title: "b".into(),
                due: None,
            },
        );
        assert!(matches!(
            again,
            Err(OpError::Duplicate {
                kind: "milestone",
                ..
            })
        ));
        assert_eq!(names(&doc), ["a"]);
    }

    #[test]
    fn delete_hides_restore_brings_back() {
        let mut doc = partnership().doc;
        let a = add(&mut doc, 101, "a");
        add(&mut doc, 102, "b");
        assert!(matches!(
            delete(&mut doc, Collection::Milestones, a, 0),
            Err(OpError::InvalidDate { .. })
        ));
        delete(&mut doc, Collection::Milestones, a, T0).unwrap();
        assert_eq!(names(&doc), ["b"]);
        assert!(matches!(
            delete(&mut doc, Collection::Milestones, a, T0),
            Err(OpError::NotFound { .. })
        ));
        assert_eq!(
            deleted(&doc, Collection::Milestones).unwrap(),
            [DeletedItem {
                id: a,
                label: "a".into(),
                deleted_at: T0
            }]
        );
        restore(&mut doc, Collection::Milestones, a).unwrap();
        assert_eq!(names(&doc), ["a", "b"]);
        assert!(matches!(
            restore(&mut doc, Collection::Milestones, a),
            Err(OpError::NotFound { .. })
        ));
    }

    #[test]
    fn a_party_with_members_cannot_be_deleted() {
        let mut fixture = partnership();
        let party = fixture.acme.into();
        assert!(matches!(
            delete(&mut fixture.doc, Collection::Parties, party, T0),
            Err(OpError::InUse { kind: "party", .. })
        ));
        assert_eq!(parties::list(&fixture.doc).len(), 2);
    }
}
