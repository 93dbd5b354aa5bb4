//! Where in the document a set of changes wrote, cut down to records, so a
//! view can re-read only what it shows when something else changed.
//!
//! A [`Path`] names a place by the map keys (or list indexes) from the
//! root: `["agreement", "clauses", "<clause id>"]` is one clause, whatever
//! field or character of it a change wrote. [`since`] reads the ops of the
//! changes after some heads (no diff of the whole document: a keystroke's
//! change has one op) and gives every place they wrote, each cut to
//! [`RECORD_DEPTH`] keys. [`Touched::concerns`] says whether a view that
//! reads below a path must re-read: when a change wrote inside it, or
//! replaced something above it (the clause map, say).
//! [`Touched::reorders`] says whether a list view (the ids of a collection
//! in order) must re-read: when a record came, went (was removed or
//! restored) or moved, not when a field of one was edited.

use std::collections::{BTreeSet, HashMap};

use automerge::legacy::{Key, ObjectId};
use automerge::{Automerge, ChangeHash, ObjId, Prop, ROOT, ReadDoc};

use super::agreement::{AGREEMENT, CLAUSES, COMMENTS, SIGNOFFS};
use super::ids::ItemId;
use super::items::{self, Collection, DELETED_AT, ORDER};
use super::keys::{self, DEVICES, MEMBERS, PARTIES};
use super::suggestions::SUGGESTIONS;

/// How many keys from the root a touched place keeps: deep enough for the
/// field of a record of a collection inside a record
/// (`boards/<board>/notes/<note>/text`), so a field written can be told
/// from a record added, removed or moved ([`Touched::reorders`]).
pub const RECORD_DEPTH: usize = 5;

/// More new changes than this are not read op by op: everything is
/// reported touched (a first load, a long offline stretch arriving).
pub const MAX_CHANGES: usize = 256;

/// A place in the document: keys from the root.
pub type Path = Vec<String>;

/// What a set of changes wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touched {
    /// Anything may have changed (too many changes, or an object that
    /// cannot be placed).
    Everything,
    /// These places, each at most [`RECORD_DEPTH`] keys deep.
    Paths(BTreeSet<Path>),
}

impl Touched {
    /// Nothing changed.
    pub fn nothing() -> Self {
        Self::Paths(BTreeSet::new())
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Paths(paths) if paths.is_empty())
    }

    /// True when what is below `path` may read differently now: a change
    /// wrote inside it, or at or above it.
    pub fn concerns(&self, path: &[String]) -> bool {
        match self {
            Self::Everything => true,
            Self::Paths(paths) => paths
                .iter()
                .any(|p| p.starts_with(path) || path.starts_with(p)),
        }
    }

    /// True when the live records of the collection at `collection`, or
    /// their order, may be different now: a record was put into it (added),
    /// its `deleted_at` or `order` was written (removed, restored, moved),
    /// or the collection or something above it was written anew. Editing a
    /// field of a record is not.
    pub fn reorders(&self, collection: &[String]) -> bool {
        let depth = collection.len();
        match self {
            Self::Everything => true,
            Self::Paths(paths) => paths.iter().any(|p| {
                if !p.starts_with(collection) {
                    return collection.starts_with(p);
                }
                match p.get(depth + 1) {
                    // The collection itself, or a record put whole.
                    None => true,
                    Some(field) => field == DELETED_AT || field == ORDER,
                }
            }),
        }
    }
}

fn prop_key(prop: &Prop) -> String {
    match prop {
        Prop::Map(key) => key.clone(),
        Prop::Seq(index) => index.to_string(),
    }
}

/// The places written by the changes after `before` (heads this replica
/// has), up to the document's current heads.
pub fn since(doc: &Automerge, before: &[ChangeHash]) -> Touched {
    if before.iter().any(|h| doc.get_change_by_hash(h).is_none()) {
        return Touched::Everything;
    }
    let changes = doc.get_changes(before);
    if changes.len() > MAX_CHANGES {
        return Touched::Everything;
    }
    let mut paths = BTreeSet::new();
    // Where each object written is, found once per object.
    let mut places: HashMap<ObjId, Path> = HashMap::new();
    for change in changes {
        for op in change.decode().operations {
            let obj = match &op.obj {
                ObjectId::Root => ROOT,
                // The actor's index is looked up by its id when this one is wrong.
                ObjectId::Id(id) => ObjId::Id(id.0, id.1.clone(), usize::MAX),
            };
            let mut path = match places.get(&obj) {
                Some(place) => place.clone(),
                None => {
                    let place: Path = if obj == ROOT {
                        Vec::new()
                    } else {
                        let Ok(parents) = doc.parents(&obj) else {
                            return Touched::Everything;
                        };
                        parents.path().iter().map(|(_, p)| prop_key(p)).collect()
                    };
                    places.insert(obj, place.clone());
                    place
                }
            };
            if path.len() < RECORD_DEPTH
                && let Key::Map(key) = &op.key
            {
                path.push(key.to_string());
            }
            path.truncate(RECORD_DEPTH);
            paths.insert(path);
        }
    }
    Touched::Paths(paths)
}

fn path(parts: &[&str]) -> Path {
    parts.iter().map(|p| (*p).to_owned()).collect()
}

/// One clause of the agreement (its fields and body text).
pub fn clause(id: ItemId) -> Path {
    path(&[AGREEMENT, CLAUSES, &id.key()])
}

/// Every clause (added, moved or removed ones too).
pub fn clauses() -> Path {
    path(&[AGREEMENT, CLAUSES])
}

/// The agreement's comments.
pub fn comments() -> Path {
    path(&[AGREEMENT, COMMENTS])
}

/// The agreement's sign-offs.
pub fn signoffs() -> Path {
    path(&[AGREEMENT, SIGNOFFS])
}

/// The agreement's suggestions.
pub fn suggestions() -> Path {
    path(&[AGREEMENT, SUGGESTIONS])
}

/// The members (names, parties, keys and the keys they attested).
pub fn members() -> Path {
    path(&[MEMBERS])
}

/// Which device (Automerge actor) is which member.
pub fn devices() -> Path {
    path(&[DEVICES])
}

/// The parties (organizations).
pub fn parties() -> Path {
    path(&[PARTIES])
}

/// The partnership's purpose (the overview's prose).
pub fn purpose() -> Path {
    path(&[super::overview::PURPOSE])
}

/// The overview's fields (title, purpose, stage and its history, review
/// cadence, last check-in, creation time), which sit at the root.
pub fn overview() -> Vec<Path> {
    use super::overview::{
        CREATED_AT, LAST_CHECK_IN, PURPOSE, REVIEW_CADENCE, STAGE, STAGE_HISTORY, TITLE,
    };
    [
        TITLE,
        PURPOSE,
        STAGE,
        STAGE_HISTORY,
        REVIEW_CADENCE,
        LAST_CHECK_IN,
        CREATED_AT,
    ]
    .map(|key| path(&[key]))
    .to_vec()
}

/// The responsibility matrix: activities and their assignments.
pub fn raci() -> Path {
    path(&[keys::RACI])
}

/// Vetting: criteria, scores and the due-diligence checklist.
pub fn vetting() -> Path {
    path(&[keys::VETTING])
}

/// The map holding the records of `collection` (what
/// [`Touched::reorders`] takes, and what every record of it is under).
pub fn collection(collection: Collection) -> Path {
    let inside = |outer: &str, id: ItemId, inner: &str| path(&[outer, &id.key(), inner]);
    match collection {
        Collection::Parties => path(&[PARTIES]),
        Collection::Criteria => path(&[keys::VETTING, "criteria"]),
        Collection::Diligence => path(&[keys::VETTING, "diligence"]),
        Collection::Objectives => path(&[keys::OBJECTIVES]),
        Collection::Kpis => path(&[keys::KPIS]),
        Collection::Measurements { kpi } => inside(keys::KPIS, kpi, "measurements"),
        Collection::Activities => path(&[keys::RACI, "activities"]),
        Collection::CommPlan => path(&[keys::COMM_PLAN]),
        Collection::Milestones => path(&[keys::MILESTONES]),
        Collection::Meetings => path(&[keys::MEETINGS]),
        Collection::Committees => path(&[keys::GOVERNANCE, "committees"]),
        Collection::DecisionRights => path(&[keys::GOVERNANCE, "decision_rights"]),
        Collection::EscalationLevels => path(&[keys::GOVERNANCE, "escalation"]),
        Collection::Conflicts => path(&[keys::CONFLICTS]),
        Collection::Risks => path(&[keys::RISKS]),
        Collection::Reviews => path(&[keys::REVIEWS]),
        Collection::HealthRounds => path(&[keys::HEALTH]),
        Collection::Boards => path(&[keys::BOARDS]),
        Collection::Clauses => clauses(),
        Collection::Comments => comments(),
        Collection::Agenda { meeting } => inside(keys::MEETINGS, meeting, keys::AGENDA),
        Collection::Decisions { meeting } => inside(keys::MEETINGS, meeting, keys::DECISIONS),
        Collection::MeetingActions { meeting } => inside(keys::MEETINGS, meeting, keys::ACTIONS),
        Collection::ReviewActions { review } => inside(keys::REVIEWS, review, keys::ACTIONS),
    }
}

/// One record of `collection`, by its key (an item's or a party's id as
/// stored): its fields, its texts and its own sub-collections.
pub fn record(collection: Collection, key: &str) -> Path {
    let mut place = self::collection(collection);
    place.push(key.to_owned());
    place
}

/// The ids of the live records of `collection` in display order (what a
/// list view shows one row for); none while the collection is missing.
pub fn ids<R: ReadDoc>(doc: &R, collection: Collection) -> Vec<ItemId> {
    items::read_all(doc, collection, |id, _| id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::agreement::{self, NewClause};
    use crate::model::schema;

    /// Types `text` at `at` into the clause's body, as one change.
    fn type_into(doc: &mut Automerge, id: ItemId, at: usize, text: &str) {
        use automerge::transaction::Transactable;
        doc.transact(|tx| {
            let body = agreement::clause_body_text(tx, id).unwrap();
            tx.splice_text(&body, at, 0, text)
        })
        .unwrap();
    }

    fn two_clauses() -> (Automerge, ItemId, ItemId) {
        let mut doc = Automerge::new();
        let (a, b) = (ItemId::from_bytes([1; 16]), ItemId::from_bytes([2; 16]));
        doc.transact(|tx| {
            schema::init(tx, "Acme and Globex", 1_700_000_000_000)?;
            for (id, title) in [(a, "Term"), (b, "Fees")] {
                let new = NewClause {
                    title: title.into(),
                    body: "The parties agree.".into(),
                };
                agreement::add_clause(tx, id, &new, 1_700_000_000_000)?;
            }
            Ok::<_, crate::model::OpError>(())
        })
        .unwrap();
        (doc, a, b)
    }

    #[test]
    fn a_keystroke_in_one_clause_concerns_that_clause_only() {
        let (mut doc, a, b) = two_clauses();
        let before = doc.get_heads();
        type_into(&mut doc, a, 3, "x");
        let touched = since(&doc, &before);
        assert!(touched.concerns(&clause(a)));
        assert!(!touched.concerns(&clause(b)), "{touched:?}");
        // The collection holds the clause, so a view of every clause re-reads.
        assert!(touched.concerns(&clauses()));
        assert!(!touched.concerns(&signoffs()));
        assert!(!touched.concerns(&members()));
    }

    #[test]
    fn a_field_a_new_record_and_a_replaced_map_are_placed() {
        let (mut doc, a, b) = two_clauses();
        let before = doc.get_heads();
        doc.transact(|tx| agreement::set_clause_title(tx, b, "Payment"))
            .unwrap();
        let touched = since(&doc, &before);
        assert!(touched.concerns(&clause(b)) && !touched.concerns(&clause(a)));

        let before = doc.get_heads();
        let c = ItemId::from_bytes([3; 16]);
        let new = NewClause {
            title: "Exit".into(),
            body: String::new(),
        };
        doc.transact(|tx| agreement::add_clause(tx, c, &new, 1_700_000_000_000))
            .unwrap();
        let touched = since(&doc, &before);
        assert!(touched.concerns(&clause(c)) && !touched.concerns(&clause(a)));

        // Writing the whole agreement map anew concerns every clause.
        let before = doc.get_heads();
        doc.transact(|tx| {
            use automerge::transaction::Transactable;
            tx.put_object(ROOT, AGREEMENT, automerge::ObjType::Map)
                .map(|_| ())
        })
        .unwrap();
        let touched = since(&doc, &before);
        assert!(touched.concerns(&clause(a)) && touched.concerns(&clause(b)));
        assert!(!touched.concerns(&members()));
    }

    #[test]
    fn editing_a_field_does_not_reorder_but_adding_removing_and_moving_do() {
        use crate::model::risks::{self, NewRisk, Prose};
        let mut doc = Automerge::new();
        let (a, b) = (ItemId::from_bytes([1; 16]), ItemId::from_bytes([2; 16]));
        let risks_at = collection(Collection::Risks);
        let step = |doc: &mut Automerge,
                    op: &dyn Fn(
            &mut automerge::transaction::Transaction<'_>,
        ) -> crate::model::OpResult| {
            let before = doc.get_heads();
            doc.transact(|tx| op(tx)).unwrap();
            since(doc, &before)
        };
        step(&mut doc, &|tx| {
            schema::init(tx, "Acme and Globex", 1_700_000_000_000)
        });
        let new = NewRisk {
            title: "Key person leaves".into(),
            likelihood: 2,
            impact: 4,
            owner: None,
            mitigation: String::new(),
            contingency: String::new(),
        };
        let added = step(&mut doc, &|tx| risks::add(tx, a, &new, 1_700_000_000_000));
        assert!(added.reorders(&risks_at), "{added:?}");
        step(&mut doc, &|tx| risks::add(tx, b, &new, 1_700_000_000_000));
        let typed = step(&mut doc, &|tx| {
            risks::edit_prose(
                tx,
                a,
                Prose::Mitigation,
                &crate::text::Splice {
                    position: 0,
                    delete: 0,
                    insert: "x".into(),
                },
            )
        });
        assert!(!typed.reorders(&risks_at), "{typed:?}");
        assert!(typed.concerns(&record(Collection::Risks, &a.key())));
        assert!(!typed.concerns(&record(Collection::Risks, &b.key())));
        let moved = step(&mut doc, &|tx| items::move_to(tx, Collection::Risks, b, 0));
        assert!(moved.reorders(&risks_at));
        let removed = step(&mut doc, &|tx| {
            items::delete(tx, Collection::Risks, a, 1_700_000_000_000)
        });
        assert!(removed.reorders(&risks_at));
        assert!(!removed.reorders(&collection(Collection::Objectives)));
        assert_eq!(ids(&doc, Collection::Risks), vec![b]);
        // A nested collection: a meeting's agenda is under the meeting.
        let agenda = collection(Collection::Agenda { meeting: a });
        assert!(agenda.starts_with(&record(Collection::Meetings, &a.key())));
    }

    #[test]
    fn unknown_heads_or_a_flood_of_changes_concern_everything() {
        let (mut doc, a, _) = two_clauses();
        let stranger = Automerge::new().get_heads();
        assert!(stranger.is_empty());
        let mut other = Automerge::new();
        other
            .transact(|tx| {
                use automerge::transaction::Transactable;
                tx.put(ROOT, "x", 1)
            })
            .unwrap();
        assert_eq!(since(&doc, &other.get_heads()), Touched::Everything);
        let before = doc.get_heads();
        for n in 0..=MAX_CHANGES {
            type_into(&mut doc, a, n, "y");
        }
        assert_eq!(since(&doc, &before), Touched::Everything);
        assert!(since(&doc, &doc.get_heads()).is_empty());
    }
}
