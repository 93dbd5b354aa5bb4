//! Milestones, and celebrating them.
//!
//! `milestones{id → {title, due?, achieved_at?, celebration (Text), order,
//! deleted_at?}}`

use automerge::{ObjId, ReadDoc};

use super::editable::editable_fields;
use super::error::{OpError, OpResult};
use super::fields::{
    Tx, check_date, check_opt_date, get_string, get_text, get_u64, new_text, non_empty,
    patch_non_empty, patch_opt_date, patch_put, patch_put_opt, put, put_opt, set_text,
};
use super::ids::ItemId;
use super::items::{self, Collection};
use super::period::Period;

/// A milestone.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    /// Its id.
    pub id: ItemId,
    /// What is reached and when.
    pub fields: MilestoneFields,
    /// When it was achieved (UTC ms).
    pub achieved_at: Option<u64>,
    /// How the partners celebrated (prose).
    pub celebration: String,
}

editable_fields! {
    /// The editable fields of a milestone.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct MilestoneFields {
        /// What is reached (required, not blank).
        pub title: String,
        /// When it is due (UTC ms; a patch clears it with `Some(None)`).
        pub due: Option<u64>,
    }

    /// Changes to a milestone.
    pub struct MilestonePatch;
}

/// What [`add`] takes: the fields of a new milestone.
pub type NewMilestone = MilestoneFields;

fn read_one<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Milestone {
    Milestone {
        id,
        fields: MilestoneFields {
            title: get_string(doc, obj, "title"),
            due: get_u64(doc, obj, "due"),
        },
        achieved_at: get_u64(doc, obj, "achieved_at"),
        celebration: get_text(doc, obj, "celebration"),
    }
}

/// The milestones, in display order.
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Milestone> {
    items::read_all(doc, Collection::Milestones, |id, obj| {
        read_one(doc, id, obj)
    })
}

/// The milestones achieved within `period`, in the order given: what a
/// review of that period or the report celebrates.
pub fn achieved_in(milestones: &[Milestone], period: Period) -> Vec<Milestone> {
    milestones
        .iter()
        .filter(|m| m.achieved_at.is_some_and(|at| period.contains(at)))
        .cloned()
        .collect()
}

/// Adds a milestone.
pub fn add<T: Tx>(tx: &mut T, id: ItemId, new: &NewMilestone) -> OpResult {
    let title = non_empty("title", &new.title)?;
    let due = check_opt_date("due date", new.due)?;
    let obj = items::create_item(tx, Collection::Milestones, id)?;
    tx.put(&obj, "title", title)?;
    put_opt(tx, &obj, "due", due)?;
    new_text(tx, &obj, "celebration", "")?;
    Ok(())
}

/// Edits a milestone, field by field.
pub fn update<T: Tx>(tx: &mut T, id: ItemId, patch: &MilestonePatch) -> OpResult {
    let title = patch_non_empty("title", patch.title.as_deref())?;
    let due = patch_opt_date("due date", patch.due)?;
    let obj = items::require(tx, Collection::Milestones, id)?;
    patch_put(tx, &obj, "title", title)?;
    patch_put_opt(tx, &obj, "due", due)?;
    Ok(())
}

/// Marks a milestone achieved at `at`, with how it was celebrated.
pub fn achieve<T: Tx>(tx: &mut T, id: ItemId, at: u64, celebration: &str) -> OpResult {
    let at = check_date("date achieved", at)?;
    let obj = items::require(tx, Collection::Milestones, id)?;
    put(tx, &obj, "achieved_at", at)?;
    set_text(tx, &obj, "celebration", celebration)
}

/// Marks a milestone not achieved (yet). The celebration note is kept.
pub fn reopen<T: Tx>(tx: &mut T, id: ItemId) -> OpResult {
    let obj = items::require(tx, Collection::Milestones, id)?;
    put_opt::<_, u64>(tx, &obj, "achieved_at", None)
}

/// Rewrites the celebration note of an achieved milestone.
pub fn set_celebration<T: Tx>(tx: &mut T, id: ItemId, note: &str) -> OpResult {
    let obj = items::require(tx, Collection::Milestones, id)?;
    if get_u64(tx, &obj, "achieved_at").is_none() {
        return Err(OpError::Invalid {
            field: "celebration",
            reason: "the milestone has not been achieved yet",
        });
    }
    set_text(tx, &obj, "celebration", note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_support::{T0, id, partnership};

    #[test]
    fn milestones_due_achieved_and_celebrated() {
        let mut doc = partnership().doc;
        let new = NewMilestone {
            title: "First joint customer".into(),
            due: Some(T0),
        };
        let untitled = NewMilestone {
            title: "".into(),
            due: None,
        };
        let too_early = NewMilestone {
            due: Some(1),
            ..new.clone()
        };
        let empty = add(&mut doc, id(100), &untitled);
        assert!(matches!(empty, Err(OpError::Empty { .. })), "{empty:?}");
        let undated = add(&mut doc, id(100), &too_early);
        assert!(
            matches!(undated, Err(OpError::InvalidDate { .. })),
            "{undated:?}"
        );
        add(&mut doc, id(100), &new).unwrap();
        assert!(matches!(
            set_celebration(&mut doc, id(100), "Cake"),
            Err(OpError::Invalid {
                field: "celebration",
                ..
            })
        ));
        assert!(matches!(
            achieve(&mut doc, id(100), 0, ""),
            Err(OpError::InvalidDate { .. })
        ));
        assert!(matches!(
            achieve(&mut doc, id(101), T0, ""),
            Err(OpError::NotFound { .. })
        ));
        achieve(&mut doc, id(100), T0 + 5, "Team dinner in Ghent.").unwrap();
        set_celebration(&mut doc, id(100), "Team dinner in Ghent, with both CEOs.").unwrap();
        assert!(
            update(
                &mut doc,
                id(100),
                &MilestonePatch {
                    title: Some(" ".into()),
                    due: None
                }
            )
            .is_err()
        );
        update(
            &mut doc,
            id(100),
            &MilestonePatch {
                title: Some("First joint customer signed".into()),
                due: Some(None),
            },
        )
        .unwrap();
        assert_eq!(
            list(&doc),
            [Milestone {
                id: id(100),
                fields: MilestoneFields {
                    title: "First joint customer signed".into(),
                    due: None,
                },
                achieved_at: Some(T0 + 5),
                celebration: "Team dinner in Ghent, with both CEOs.".into(),
            }]
        );
        reopen(&mut doc, id(100)).unwrap();
        assert_eq!(list(&doc)[0].achieved_at, None);
        assert!(reopen(&mut doc, id(101)).is_err());
    }
}
