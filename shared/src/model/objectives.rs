//! Objectives: `objectives{id → {title, owner (party id)?, deliverables
//! (Text), due?, status, order, created_at, deleted_at?}}`.

use automerge::{ObjId, ReadDoc};

use super::editable::editable_fields;
use super::error::OpResult;
use super::fields::{
    Tx, check_date, check_opt_date, get_parsed, get_string, get_text, get_u64, new_text, non_empty,
    patch_non_empty, patch_opt_date, patch_put, patch_put_opt, patch_text, put_opt,
};
use super::ids::{ItemId, PartyId};
use super::items::{self, Collection};
use super::refs;
use super::stored_names::stored_names;
use crate::text::Splice;

const TITLE: &str = "title";
const OWNER: &str = "owner";
const DELIVERABLES: &str = "deliverables";
const DUE: &str = "due";
const STATUS: &str = "status";
const CREATED_AT: &str = "created_at";

stored_names! {
    /// Where an objective stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ObjectiveStatus {
        /// Agreed, not started.
        NotStarted => "not_started",
        /// Being worked on.
        InProgress => "in_progress",
        /// Stuck on something.
        Blocked => "blocked",
        /// Achieved.
        Done => "done",
        /// Abandoned by agreement.
        Dropped => "dropped",
    }

    /// Every status, in display order.
    ALL;
    parse error: "status", "unknown status";
}

/// An objective of the partnership.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    /// Its id.
    pub id: ItemId,
    /// What was written about it.
    pub fields: ObjectiveFields,
    /// Where it stands.
    pub status: ObjectiveStatus,
    /// When it was created (UTC ms).
    pub created_at: Option<u64>,
}

editable_fields! {
    /// The editable fields of an objective.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct ObjectiveFields {
        /// What the partners want to achieve (required, not blank).
        pub title: String,
        /// The owning party (must exist; a patch clears it with `Some(None)`).
        pub owner: Option<PartyId>,
        /// What will be delivered (prose; a patch applies it as a minimal
        /// splice).
        pub deliverables: String,
        /// When it is due (UTC ms).
        pub due: Option<u64>,
    }

    /// Changes to an objective.
    pub struct ObjectivePatch;
    also in the patch {
        /// Where it stands.
        pub status: ObjectiveStatus,
    }
}

/// What [`add`] takes: the fields of a new objective (its status starts as
/// "not started").
pub type NewObjective = ObjectiveFields;

fn read_one<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Objective {
    Objective {
        id,
        fields: ObjectiveFields {
            title: get_string(doc, obj, TITLE),
            owner: get_parsed(doc, obj, OWNER),
            deliverables: get_text(doc, obj, DELIVERABLES),
            due: get_u64(doc, obj, DUE),
        },
        status: get_parsed(doc, obj, STATUS).unwrap_or(ObjectiveStatus::NotStarted),
        created_at: get_u64(doc, obj, CREATED_AT),
    }
}

/// The objectives, in display order.
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Objective> {
    items::read_all(doc, Collection::Objectives, |id, obj| {
        read_one(doc, id, obj)
    })
}

/// One objective, or [`OpError::NotFound`](super::OpError::NotFound).
pub fn get<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<Objective> {
    items::read_one(doc, Collection::Objectives, id, |id, obj| {
        read_one(doc, id, obj)
    })
}

/// Adds an objective.
pub fn add<T: Tx>(tx: &mut T, id: ItemId, new: &NewObjective, now: u64) -> OpResult {
    let title = non_empty("title", &new.title)?;
    let due = check_opt_date("due date", new.due)?;
    let now = check_date("time", now)?;
    if let Some(owner) = new.owner {
        refs::require_party(tx, owner)?;
    }
    let obj = items::create_item(tx, Collection::Objectives, id)?;
    tx.put(&obj, TITLE, title)?;
    put_opt(tx, &obj, OWNER, new.owner)?;
    new_text(tx, &obj, DELIVERABLES, &new.deliverables)?;
    put_opt(tx, &obj, DUE, due)?;
    tx.put(&obj, STATUS, ObjectiveStatus::NotStarted.as_str())?;
    tx.put(&obj, CREATED_AT, now)?;
    Ok(())
}

/// Edits an objective, field by field: only the fields given are written,
/// so a partner's concurrent edit of another field survives the merge.
pub fn update<T: Tx>(tx: &mut T, id: ItemId, patch: &ObjectivePatch) -> OpResult {
    let title = patch_non_empty("title", patch.title.as_deref())?;
    let due = patch_opt_date("due date", patch.due)?;
    if let Some(Some(owner)) = patch.owner {
        refs::require_party(tx, owner)?;
    }
    let obj = items::require(tx, Collection::Objectives, id)?;
    patch_put(tx, &obj, TITLE, title)?;
    patch_put_opt(tx, &obj, OWNER, patch.owner)?;
    patch_text(tx, &obj, DELIVERABLES, patch.deliverables.as_deref())?;
    patch_put_opt(tx, &obj, DUE, due)?;
    patch_put(tx, &obj, STATUS, patch.status)?;
    Ok(())
}

/// Applies one splice to the deliverables (what their editor reports as
/// someone types), so both parties listing deliverables at once keep theirs.
pub fn edit_deliverables<T: Tx>(tx: &mut T, id: ItemId, edit: &Splice) -> OpResult {
    items::splice_field(tx, Collection::Objectives, id, DELIVERABLES, edit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::error::OpError;
    use crate::model::test_support::{T0, id, insert, partnership, sync_pair};

    #[test]
    fn both_parties_listing_deliverables_at_once_keep_theirs() {
        let doc = &mut partnership().doc;
        let new = NewObjective {
            title: "Launch in the Nordics".into(),
            owner: None,
            deliverables: "Plan.".into(),
            due: None,
        };
        add(doc, id(1), &new, T0).unwrap();
        let mut partner = doc.fork();
        edit_deliverables(doc, id(1), &insert(0, "Pricing. ")).unwrap();
        edit_deliverables(&mut partner, id(1), &insert(5, " Partner list.")).unwrap();
        sync_pair(doc, &mut partner);
        assert_eq!(
            get(doc, id(1)).unwrap().fields.deliverables,
            "Pricing. Plan. Partner list."
        );
        assert_eq!(
            get(&partner, id(1)).unwrap().fields.deliverables,
            "Pricing. Plan. Partner list."
        );
        assert!(edit_deliverables(doc, id(9), &insert(0, "x")).is_err());
    }

    #[test]
    fn add_and_read() {
        let mut fixture = partnership();
        let acme = fixture.acme;
        let doc = &mut fixture.doc;
        let new = NewObjective {
            title: " Launch in Benelux ".into(),
            owner: Some(acme),
            deliverables: "Localized product.".into(),
            due: Some(T0 + 1000),
        };
        add(doc, id(40), &new, T0).unwrap();
        assert_eq!(
            list(doc),
            [Objective {
                id: id(40),
                fields: ObjectiveFields {
                    title: "Launch in Benelux".into(),
                    owner: Some(acme),
                    deliverables: "Localized product.".into(),
                    due: Some(T0 + 1000),
                },
                status: ObjectiveStatus::NotStarted,
                created_at: Some(T0),
            }]
        );
    }

    #[test]
    fn add_validates() {
        let mut doc = partnership().doc;
        let ok = NewObjective {
            title: "x".into(),
            ..NewObjective::default()
        };
        let cases = [
            (
                NewObjective {
                    title: "".into(),
                    ..ok.clone()
                },
                T0,
            ),
            (
                NewObjective {
                    due: Some(0),
                    ..ok.clone()
                },
                T0,
            ),
            (
                NewObjective {
                    due: Some(u64::MAX),
                    ..ok.clone()
                },
                T0,
            ),
            (
                NewObjective {
                    owner: Some(PartyId::from_bytes([1; 16])),
                    ..ok.clone()
                },
                T0,
            ),
            (ok.clone(), 1),
        ];
        for (new, now) in cases {
            assert!(add(&mut doc, id(40), &new, now).is_err(), "{new:?}");
        }
        assert!(list(&doc).is_empty());
        add(&mut doc, id(40), &ok, T0).unwrap();
        assert!(matches!(
            add(&mut doc, id(40), &ok, T0),
            Err(OpError::Duplicate { .. })
        ));
    }

    #[test]
    fn update_each_field_and_validation() {
        let mut fixture = partnership();
        let globex = fixture.globex;
        let doc = &mut fixture.doc;
        let new = NewObjective {
            title: "Launch".into(),
            due: Some(T0),
            ..NewObjective::default()
        };
        add(doc, id(40), &new, T0).unwrap();
        for bad in [
            ObjectivePatch {
                title: Some(" ".into()),
                ..ObjectivePatch::default()
            },
            ObjectivePatch {
                due: Some(Some(12)),
                ..ObjectivePatch::default()
            },
            ObjectivePatch {
                owner: Some(Some(PartyId::from_bytes([1; 16]))),
                status: Some(ObjectiveStatus::Done),
                ..ObjectivePatch::default()
            },
        ] {
            assert!(update(doc, id(40), &bad).is_err());
        }
        assert_eq!(
            get(doc, id(40)).unwrap().status,
            ObjectiveStatus::NotStarted
        );
        assert!(matches!(
            update(doc, id(41), &ObjectivePatch::default()),
            Err(OpError::NotFound {
                kind: "objective",
                ..
            })
        ));
        update(
            doc,
            id(40),
            &ObjectivePatch {
                title: Some("Launch in Benelux".into()),
                owner: Some(Some(globex)),
                deliverables: Some("Two pilots.".into()),
                due: Some(None),
                status: Some(ObjectiveStatus::InProgress),
            },
        )
        .unwrap();
        let objective = get(doc, id(40)).unwrap();
        assert_eq!(objective.fields.title, "Launch in Benelux");
        assert_eq!(objective.fields.owner, Some(globex));
        assert_eq!(objective.fields.deliverables, "Two pilots.");
        assert_eq!(objective.fields.due, None);
        assert_eq!(objective.status, ObjectiveStatus::InProgress);
        for status in ObjectiveStatus::ALL {
            assert_eq!(
                status.to_string().parse::<ObjectiveStatus>().unwrap(),
                status
            );
        }
        assert!("nope".parse::<ObjectiveStatus>().is_err());
    }
}
