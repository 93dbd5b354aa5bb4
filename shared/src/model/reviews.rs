//! Performance reviews, retrospectives and post-mortems: what went well,
//! what to improve, and the actions that follow.
//!
//! ```text
//! reviews: { id → { kind, title, from (date), to (date), went_well (Text),
//!                   to_improve (Text), created_at, order, deleted_at?,
//!                   actions: { id → action item, as in meetings } } }
//! ```
//!
//! A review's actions are action items like a meeting's: they appear in
//! [`crate::views::attention::all_actions`] and in the attention panel. The milestones
//! achieved within the review's period, listed with it to celebrate, are
//! [`milestones::achieved_in`](super::milestones::achieved_in) that period.

use automerge::{ObjId, ObjType, ReadDoc};

use super::actions::{self, ActionItem};
use super::editable::editable_fields;
use super::error::{OpError, OpResult};
use super::fields::{
    Tx, check_date, get_str, get_string, get_text, get_u64, new_text, patch_non_empty, patch_put,
    patch_text, put,
};
use super::ids::ItemId;
use super::items::{self, Collection};
use super::keys::ACTIONS;
use super::period::Period;
use super::stored_names::stored_names;
use crate::text::Splice;

stored_names! {
    /// What kind of review.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum ReviewKind {
        /// A periodic performance review.
        Performance => "performance",
        /// A retrospective.
        Retrospective => "retrospective",
        /// A post-mortem (after an incident, a lost deal or the end).
        PostMortem => "post_mortem",
    }

    /// Every kind.
    ALL;
}

impl ReviewKind {
    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Performance => "Performance review",
            Self::Retrospective => "Retrospective",
            Self::PostMortem => "Post-mortem",
        }
    }
}

/// A review as shown on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// Its id.
    pub id: ItemId,
    /// Its kind.
    pub kind: ReviewKind,
    /// The period reviewed (its end inclusive).
    pub period: Period,
    /// What was written.
    pub fields: ReviewFields,
    /// The actions that follow.
    pub actions: Vec<ActionItem>,
    /// When it was created (UTC ms).
    pub created_at: Option<u64>,
}

editable_fields! {
    /// The editable fields of a review.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct ReviewFields {
        /// Its title (not blank).
        pub title: String,
        /// What went well (prose).
        pub went_well: String,
        /// What to improve (prose).
        pub to_improve: String,
    }

    /// Changes to a review (prose by minimal splices).
    pub struct ReviewPatch;
    also in the patch {
        /// The period reviewed (it may not end before it starts).
        pub period: Period,
    }
}

/// What [`add`] takes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReview {
    /// Its kind.
    pub kind: ReviewKind,
    /// Its title (blank: the kind's label).
    pub title: String,
    /// The period reviewed (it may not end before it starts).
    pub period: Period,
}

fn check_period(period: Period) -> OpResult<Period> {
    let from = check_date("period start", period.from)?;
    let to = check_date("period end", period.to)?;
    if to < from {
        return Err(OpError::Invalid {
            field: "period",
            reason: "it ends before it starts",
        });
    }
    Ok(Period { from, to })
}

fn read_one<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Review {
    Review {
        id,
        kind: get_str(doc, obj, "kind")
            .and_then(|k| ReviewKind::from_stored(&k))
            .unwrap_or(ReviewKind::Performance),
        period: Period {
            from: get_u64(doc, obj, "from").unwrap_or(0),
            to: get_u64(doc, obj, "to").unwrap_or(0),
        },
        fields: ReviewFields {
            title: get_string(doc, obj, "title"),
            went_well: get_text(doc, obj, "went_well"),
            to_improve: get_text(doc, obj, "to_improve"),
        },
        actions: actions::read_actions(doc, obj),
        created_at: get_u64(doc, obj, "created_at"),
    }
}

/// Every review, by period start (then id).
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Review> {
    let mut found: Vec<Review> =
        items::read_all(doc, Collection::Reviews, |id, obj| read_one(doc, id, obj));
    found.sort_by(|a, b| a.period.from.cmp(&b.period.from).then(a.id.cmp(&b.id)));
    found
}

/// One review, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<Review> {
    let obj = require(doc, id)?;
    Ok(read_one(doc, id, &obj))
}

fn require<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<ObjId> {
    items::require(doc, Collection::Reviews, id)
}

/// Starts a review of a period.
pub fn add<T: Tx>(tx: &mut T, id: ItemId, new: &NewReview, now: u64) -> OpResult {
    let now = check_date("time", now)?;
    let period = check_period(new.period)?;
    let title = match new.title.trim() {
        "" => new.kind.label().to_owned(),
        title => title.to_owned(),
    };
    let obj = items::create_item(tx, Collection::Reviews, id)?;
    tx.put(&obj, "kind", new.kind.as_str())?;
    tx.put(&obj, "title", title)?;
    tx.put(&obj, "from", period.from)?;
    tx.put(&obj, "to", period.to)?;
    new_text(tx, &obj, "went_well", "")?;
    new_text(tx, &obj, "to_improve", "")?;
    tx.put(&obj, "created_at", now)?;
    tx.put_object(&obj, ACTIONS, ObjType::Map)?;
    Ok(())
}

/// Edits a review, field by field (prose by minimal splices).
pub fn update<T: Tx>(tx: &mut T, id: ItemId, patch: &ReviewPatch) -> OpResult {
    let title = patch_non_empty("title", patch.title.as_deref())?;
    let period = patch.period.map(check_period).transpose()?;
    let obj = require(tx, id)?;
    patch_put(tx, &obj, "title", title)?;
    if let Some(period) = period {
        put(tx, &obj, "from", period.from)?;
        put(tx, &obj, "to", period.to)?;
    }
    patch_text(tx, &obj, "went_well", patch.went_well.as_deref())?;
    patch_text(tx, &obj, "to_improve", patch.to_improve.as_deref())?;
    Ok(())
}

stored_names! {
    /// Which prose field of a review an editor splices.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Prose {
        /// What went well.
        WentWell => "went_well",
        /// What to improve.
        ToImprove => "to_improve",
    }

    /// Every prose field, in the order shown.
    ALL;
}

/// Applies one splice to a prose field (what its editor reports as someone
/// types), so both parties writing the retro at once keep their words.
pub fn edit_prose<T: Tx>(tx: &mut T, id: ItemId, field: Prose, edit: &Splice) -> OpResult {
    items::splice_field(tx, Collection::Reviews, id, field.as_str(), edit)
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;
    use crate::model::actions::{ActionPatch, ActionSource, NewAction};
    use crate::model::fields::DAY_MS;
    use crate::model::items::{self, Collection};
    use crate::model::milestones::{self, NewMilestone};
    use crate::model::test_support::{T0, id, insert, partnership, sync_pair};

    #[test]
    fn both_parties_writing_the_retro_at_once_keep_their_words() {
        let doc = &mut partnership().doc;
        let new = NewReview {
            kind: ReviewKind::Retrospective,
            title: "Q1 retro".into(),
            period: Period {
                from: T0,
                to: T0 + 90 * DAY_MS,
            },
        };
        add(doc, id(1), &new, T0).unwrap();
        let mut partner = doc.fork();
        edit_prose(doc, id(1), Prose::WentWell, &insert(0, "Fast decisions.")).unwrap();
        edit_prose(
            &mut partner,
            id(1),
            Prose::WentWell,
            &insert(0, "Shared pipeline."),
        )
        .unwrap();
        edit_prose(
            &mut partner,
            id(1),
            Prose::ToImprove,
            &insert(0, "Legal turnaround."),
        )
        .unwrap();
        sync_pair(doc, &mut partner);
        let (ours, theirs) = (get(doc, id(1)).unwrap(), get(&partner, id(1)).unwrap());
        assert_eq!(ours.fields.went_well, theirs.fields.went_well);
        assert!(ours.fields.went_well.contains("Fast decisions."));
        assert!(ours.fields.went_well.contains("Shared pipeline."));
        assert_eq!(ours.fields.to_improve, "Legal turnaround.");
        assert!(edit_prose(doc, id(9), Prose::WentWell, &insert(0, "x")).is_err());
    }

    #[test]
    fn reviews_with_actions_and_celebrated_milestones() {
        let mut fixture = partnership();
        let bob = fixture.bob;
        let doc = &mut fixture.doc;
        let new = NewReview {
            kind: ReviewKind::PostMortem,
            title: String::new(),
            period: Period {
                from: T0,
                to: T0 + 90 * DAY_MS,
            },
        };
        assert!(matches!(
            add(
                doc,
                id(1),
                &NewReview {
                    period: Period {
                        to: T0 - 1,
                        ..new.period
                    },
                    ..new.clone()
                },
                T0
            ),
            Err(OpError::Invalid {
                field: "period",
                ..
            })
        ));
        assert!(add(doc, id(1), &new, 1).is_err());
        assert_eq!(doc.pending_ops(), 0);
        add(doc, id(1), &new, T0).unwrap();
        update(
            doc,
            id(1),
            &ReviewPatch {
                went_well: Some("Joint pipeline reviews.".into()),
                to_improve: Some("Faster legal turnaround.".into()),
                ..ReviewPatch::default()
            },
        )
        .unwrap();
        let backwards = ReviewPatch {
            period: Some(Period { from: T0, to: 1 }),
            ..ReviewPatch::default()
        };
        assert!(update(doc, id(1), &backwards).is_err());
        actions::add(
            doc,
            ActionSource::Review(id(1)),
            id(10),
            &NewAction {
                title: "Template NDA".into(),
                owner: Some(bob),
                due: Some(T0 + 100 * DAY_MS),
            },
        )
        .unwrap();
        milestones::add(
            doc,
            id(20),
            &NewMilestone {
                title: "First deal".into(),
                due: None,
            },
        )
        .unwrap();
        milestones::achieve(doc, id(20), T0 + 10 * DAY_MS, "Dinner").unwrap();
        milestones::add(
            doc,
            id(21),
            &NewMilestone {
                title: "Later".into(),
                due: None,
            },
        )
        .unwrap();
        milestones::achieve(doc, id(21), T0 + 91 * DAY_MS, "").unwrap();
        let review = get(doc, id(1)).unwrap();
        assert_eq!(review.fields.title, "Post-mortem");
        assert_eq!(review.fields.went_well, "Joint pipeline reviews.");
        assert_eq!(review.fields.to_improve, "Faster legal turnaround.");
        let celebrated = milestones::achieved_in(&milestones::list(doc), review.period);
        assert_eq!(celebrated.len(), 1);
        assert_eq!(celebrated[0].fields.title, "First deal");
        let actions = crate::views::attention::all_actions(doc);
        assert_eq!(actions.len(), 1);
        assert_eq!(actions[0].source, ActionSource::Review(id(1)));
        assert_eq!(
            crate::views::attention::overdue_actions(doc, T0 + 101 * DAY_MS).len(),
            1
        );
        actions::set_done(doc, ActionSource::Review(id(1)), id(10), true, T0 + DAY_MS).unwrap();
        assert!(crate::views::attention::overdue_actions(doc, T0 + 101 * DAY_MS).is_empty());
        actions::update(
            doc,
            ActionSource::Review(id(1)),
            id(10),
            &ActionPatch {
                title: Some("Template NDA v2".into()),
                ..ActionPatch::default()
            },
        )
        .unwrap();
        items::delete(doc, Collection::ReviewActions { review: id(1) }, id(10), T0).unwrap();
        assert!(get(doc, id(1)).unwrap().actions.is_empty());
        items::delete(doc, Collection::Reviews, id(1), T0).unwrap();
        assert!(list(doc).is_empty());
        items::restore(doc, Collection::Reviews, id(1)).unwrap();
        assert_eq!(list(doc).len(), 1);
    }
}
