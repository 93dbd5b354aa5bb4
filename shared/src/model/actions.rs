//! Action items: what a meeting or a review decided someone will do.
//!
//! ```text
//! <meeting or review>.actions: { id → { title, owner (member id)?, due?, done, done_at?,
//!                                       order, deleted_at? } }
//! ```
//!
//! They live in the meeting or review that produced them; this module reads
//! and edits them wherever they are, so neither collection imports the
//! other. An action is **overdue** when it is not done and `now` is past its
//! due date (`now > due`); `attention::all_actions` is the one list across
//! both.

use automerge::{ObjId, ReadDoc};

use super::editable::editable_fields;
use super::error::OpResult;
use super::fields::{
    Tx, check_date, check_opt_date, get_bool, get_parsed, get_string, get_u64, non_empty,
    patch_non_empty, patch_opt_date, patch_put, patch_put_opt, put, put_opt,
};
use super::ids::{ItemId, MemberId};
use super::items::{self, Collection};
use super::keys::ACTIONS;
use super::refs::check_member;

/// An action item (of a meeting or a review).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionItem {
    /// Its id.
    pub id: ItemId,
    /// What is to be done, by whom and when.
    pub fields: ActionFields,
    /// Whether it is done.
    pub done: bool,
    /// When it was marked done (UTC ms).
    pub done_at: Option<u64>,
}

impl ActionItem {
    /// Not done and `now` is past the due date.
    pub fn is_overdue(&self, now: u64) -> bool {
        !self.done && self.fields.due.is_some_and(|due| now > due)
    }
}

editable_fields! {
    /// The editable fields of an action item.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct ActionFields {
        /// What is to be done (required, not blank).
        pub title: String,
        /// Who does it (a current member; a patch clears it with
        /// `Some(None)`).
        pub owner: Option<MemberId>,
        /// By when (UTC ms; a patch clears it with `Some(None)`).
        pub due: Option<u64>,
    }

    /// Changes to an action item.
    pub struct ActionPatch;
}

/// What [`add`] takes: the fields of a new action item (it starts not
/// done).
pub type NewAction = ActionFields;

/// Where an action item lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionSource {
    /// A meeting's action items.
    Meeting(ItemId),
    /// A review's (or post-mortem's) action items.
    Review(ItemId),
}

impl ActionSource {
    /// The collection holding this source's action items.
    pub fn collection(self) -> Collection {
        match self {
            Self::Meeting(meeting) => Collection::MeetingActions { meeting },
            Self::Review(review) => Collection::ReviewActions { review },
        }
    }
}

impl ActionSource {
    /// The live meeting or review map that holds the actions.
    fn parent<R: ReadDoc>(self, doc: &R) -> OpResult<ObjId> {
        match self {
            Self::Meeting(meeting) => items::require(doc, Collection::Meetings, meeting),
            Self::Review(review) => items::require(doc, Collection::Reviews, review),
        }
    }
}

/// Adds an action item to the meeting or review `source`.
pub fn add<T: Tx>(tx: &mut T, source: ActionSource, id: ItemId, new: &NewAction) -> OpResult {
    source.parent(tx)?;
    let title = non_empty("title", &new.title)?;
    let due = check_opt_date("due date", new.due)?;
    check_member(tx, new.owner)?;
    let obj = items::create_item(tx, source.collection(), id)?;
    tx.put(&obj, "title", title)?;
    put_opt(tx, &obj, "owner", new.owner)?;
    put_opt(tx, &obj, "due", due)?;
    tx.put(&obj, "done", false)?;
    Ok(())
}

/// Edits an action item of `source`, field by field.
pub fn update<T: Tx>(
    tx: &mut T,
    source: ActionSource,
    id: ItemId,
    patch: &ActionPatch,
) -> OpResult {
    source.parent(tx)?;
    let title = patch_non_empty("title", patch.title.as_deref())?;
    let due = patch_opt_date("due date", patch.due)?;
    if let Some(owner) = patch.owner {
        check_member(tx, owner)?;
    }
    let obj = items::require(tx, source.collection(), id)?;
    patch_put(tx, &obj, "title", title)?;
    patch_put_opt(tx, &obj, "owner", patch.owner)?;
    patch_put_opt(tx, &obj, "due", due)
}

/// Marks an action item of `source` done (at `now`) or not done.
pub fn set_done<T: Tx>(
    tx: &mut T,
    source: ActionSource,
    id: ItemId,
    done: bool,
    now: u64,
) -> OpResult {
    source.parent(tx)?;
    let now = check_date("time", now)?;
    let obj = items::require(tx, source.collection(), id)?;
    put(tx, &obj, "done", done)?;
    put_opt(tx, &obj, "done_at", done.then_some(now))
}

/// An action item with where it came from, for the one list of actions.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRef {
    /// The meeting or review holding it.
    pub source: ActionSource,
    /// That meeting's or review's title.
    pub source_title: String,
    /// The action.
    pub action: ActionItem,
}

/// The live action items under `parent` (a meeting or a review), in order.
pub(crate) fn read_actions<R: ReadDoc>(doc: &R, parent: &ObjId) -> Vec<ActionItem> {
    items::read_under(doc, parent, ACTIONS, |id, obj| ActionItem {
        id,
        fields: ActionFields {
            title: get_string(doc, obj, "title"),
            owner: get_parsed(doc, obj, "owner"),
            due: get_u64(doc, obj, "due"),
        },
        done: get_bool(doc, obj, "done"),
        done_at: get_u64(doc, obj, "done_at"),
    })
}
