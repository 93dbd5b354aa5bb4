//! Live workshop boards: columns of sticky notes, dot voting, a shared
//! timer and facilitator controls, with notes turned into plan items.
//!
//! ```text
//! boards: { id → { title, template, facilitator (member id), created_at,
//!                  locked (bool), order, deleted_at?,
//!   columns: { id → { title, order, deleted_at? } },
//!   notes:   { id → { text (Text), colour, author (member id), party (party id),
//!                     column (column id), order (f64), group (id)?, created_at,
//!                     deleted_at?,
//!                     private: { nonce, sealed, commitment, key? }?,   # see facilitation
//!                     link: { kind, id, parent? }? } },               # see convert
//!   votes:   { … see voting },
//!   timer:   { … see facilitation }?,
//!   focus:   { … see facilitation }?,
//!   private_writing: { by, since }? } }
//! ```
//!
//! - **Templates** ([`Template`]) give a board its title and first columns;
//!   template column ids are derived from the board id ([`template_column_id`]),
//!   so the creator's transaction is the only one that makes them.
//! - **Positions.** A note's place is its `column` and a fractional `order`
//!   within it (ties broken by id). [`move_note`] always writes both keys,
//!   in that order, in one change: Automerge picks the same winning change
//!   for both keys, so two people dragging one note to different columns
//!   at once converge on one column *and* that mover's order. A note whose
//!   column was removed (concurrently with the note being added or moved
//!   there) reads as being in the first live column. Two people removing
//!   the last two columns at once leave none; [`restore_column`] brings one
//!   back (the notes were never touched).
//! - **Lock.** While a board is locked, every edit of its columns and notes
//!   is refused unless made by the facilitator (a replica offline when the
//!   lock was set can still merge edits it made before; the history shows
//!   them). Casting a ballot is not an edit of the board: it works on a
//!   locked board, as facilitators often lock the notes before a vote.
//! - Facilitator-only controls, the timer, "follow me" focus and private
//!   writing are in [`facilitation`]; dot voting in [`voting`]; turning a
//!   note into an action, risk, objective or conflict in [`convert`].

mod content;
pub mod convert;
pub mod facilitation;
mod seal;
pub mod voting;

#[cfg(test)]
mod tests;

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use automerge::{ObjId, ObjType, ReadDoc};
use sha2::{Digest, Sha256};

use super::error::OpError;
use super::fields::{
    check_date, child_map, get_bool, get_f64, get_str, get_string, get_text, get_u64, non_empty,
    put,
};
use super::ids::{ItemId, MemberId, PartyId};
use super::items::{self, ORDER};
use super::items::{require_in, root_map, sub_map};
use super::keys::BOARDS;
use super::refs;
use crate::model::stored_names::stored_names;

pub use content::{
    add_column, add_note, delete_column, delete_note, deleted_columns, deleted_notes, edit_note,
    group_notes, move_column, move_note, rename_column, restore_column, restore_note, set_colour,
    ungroup_note,
};
pub(crate) use content::{columns_map, create_note};
pub use seal::SealKey;

const COLUMNS: &str = "columns";
const NOTES: &str = "notes";
pub(crate) const VOTES: &str = "votes";
const LOCKED: &str = "locked";
const FACILITATOR: &str = "facilitator";
const TEXT: &str = "text";
const COLUMN: &str = "column";
const GROUP: &str = "group";

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Most columns on one board.
pub const MAX_COLUMNS: usize = 12;

stored_names! {
    /// What a board is for; it gives the board its default title and columns.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Template {
        /// Starting a partnership or a joint project.
        KickOff => "kick_off",
        /// Looking back on a quarter and ahead to the next.
        QuarterlyReview => "quarterly_review",
        /// What went well, what to improve (also for post-mortems).
        Retrospective => "retrospective",
        /// Strengths, weaknesses, opportunities, threats.
        Swot => "swot",
        /// One column of ideas.
        Brainstorm => "brainstorm",
    }

    /// Every template.
    ALL;
}

impl Template {
    /// A human label, also the title of a board created without one.
    pub fn label(self) -> &'static str {
        match self {
            Self::KickOff => "Kick-off",
            Self::QuarterlyReview => "Quarterly review",
            Self::Retrospective => "Retrospective",
            Self::Swot => "SWOT analysis",
            Self::Brainstorm => "Brainstorm",
        }
    }

    /// The columns a new board starts with, left to right.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::KickOff => &["Goals", "Expectations", "Concerns", "Next steps"],
            Self::QuarterlyReview => &["Wins", "Misses", "Learnings", "Next quarter"],
            Self::Retrospective => &["Went well", "To improve", "Ideas", "Actions"],
            Self::Swot => &["Strengths", "Weaknesses", "Opportunities", "Threats"],
            Self::Brainstorm => &["Ideas"],
        }
    }
}

stored_names! {
    /// The colours a sticky note can have.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
    pub enum Colour {
        /// The classic.
        #[default]
        Yellow => "yellow",
        /// Pink.
        Pink => "pink",
        /// Blue.
        Blue => "blue",
        /// Green.
        Green => "green",
        /// Orange.
        Orange => "orange",
        /// Purple.
        Purple => "purple",
    }

    /// The palette, in the order a picker shows it.
    ALL;
}

impl Colour {
    /// The colour named `text` (its stored form), or [`OpError::Invalid`]
    /// for anything outside the palette.
    pub fn parse(text: &str) -> OpResult<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == text.trim())
            .ok_or(OpError::Invalid {
                field: "colour",
                reason: "it is not one of the note colours",
            })
    }
}

/// A column of a board.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Its id.
    pub id: ItemId,
    /// Its heading.
    pub title: String,
}

/// A sticky note.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// Its id.
    pub id: ItemId,
    /// The column it is shown in (the first column if its own was removed).
    pub column: ItemId,
    /// Its position within the column (smaller first; ties by id).
    pub order: f64,
    /// What it says (empty while it is a sealed private note).
    pub text: String,
    /// Its colour.
    pub colour: Colour,
    /// Who wrote it.
    pub author: Option<MemberId>,
    /// The author's organization when they wrote it.
    pub party: Option<PartyId>,
    /// The group it belongs to, if grouped.
    pub group: Option<ItemId>,
    /// When it was written (UTC ms).
    pub created_at: u64,
    /// Written during private writing and not opened yet: only the author
    /// can read it (see [`facilitation`]).
    pub sealed: bool,
    /// The plan item it was turned into (see [`convert`]).
    pub link: Option<convert::ItemLink>,
}

/// A board as shown on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    /// Its id.
    pub id: ItemId,
    /// Its title.
    pub title: String,
    /// The template it was made from.
    pub template: Template,
    /// Who runs the session.
    pub facilitator: Option<MemberId>,
    /// When it was created (UTC ms).
    pub created_at: u64,
    /// Whether only the facilitator can change it.
    pub locked: bool,
    /// Columns, left to right.
    pub columns: Vec<Column>,
    /// Notes, by column (left to right), then position.
    pub notes: Vec<Note>,
    /// The shared timer, if one is set.
    pub timer: Option<facilitation::Timer>,
    /// Where the facilitator asks everyone to look.
    pub focus: Option<facilitation::Focus>,
    /// Private writing, while it is on.
    pub private_writing: Option<facilitation::PrivateWriting>,
}

impl Board {
    /// The notes of one column, in position order.
    pub fn notes_in(&self, column: ItemId) -> impl Iterator<Item = &Note> {
        self.notes.iter().filter(move |n| n.column == column)
    }

    /// The notes of one group, in board order.
    pub fn group(&self, group: ItemId) -> impl Iterator<Item = &Note> {
        self.notes.iter().filter(move |n| n.group == Some(group))
    }
}

/// The fields of a new board.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBoard {
    /// Its title (blank: the template's label).
    pub title: String,
    /// The template giving its columns.
    pub template: Template,
    /// Who runs it (a current member).
    pub facilitator: MemberId,
}

/// The fields of a new note.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNote {
    /// The column it goes in (at the end).
    pub column: ItemId,
    /// What it says (required, at most [`MAX_NOTE_CHARS`]).
    pub text: String,
    /// Its colour.
    pub colour: Colour,
    /// Who writes it (a current member; their party is recorded).
    pub author: MemberId,
}

/// The id of the `index`-th column of a board made from a template:
/// the first 16 bytes of `SHA-256("accord/boards/column/v1" ‖ board ‖ index)`.
pub fn template_column_id(board: ItemId, index: usize) -> ItemId {
    let mut hash = Sha256::new();
    hash.update(b"accord/boards/column/v1");
    hash.update(board.as_bytes());
    hash.update((index as u64).to_be_bytes());
    let digest = hash.finalize();
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&digest[..16]);
    ItemId::from_bytes(bytes)
}

// ---------------------------------------------------------------------------
// Helpers shared by the submodules.

/// The live board `id`.
pub(crate) fn require<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<ObjId> {
    let map = root_map(doc, BOARDS)?;
    require_in(doc, &map, "board", id)
}

/// What a member acts as on a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Changes columns and notes (see [`require_editor`]).
    Editor,
    /// Runs the session (see [`require_facilitator`]).
    Facilitator,
}

/// The live board `id`, on which `by` may act as `role`.
pub(crate) fn require_as<R: ReadDoc>(
    doc: &R,
    id: ItemId,
    by: MemberId,
    role: Role,
) -> OpResult<ObjId> {
    let obj = require(doc, id)?;
    match role {
        Role::Editor => require_editor(doc, &obj, by)?,
        Role::Facilitator => require_facilitator(doc, &obj, by)?,
    }
    Ok(obj)
}

/// The board's facilitator.
fn facilitator<R: ReadDoc>(doc: &R, board: &ObjId) -> Option<MemberId> {
    get_str(doc, board, FACILITATOR).and_then(|m| m.parse().ok())
}

/// `by` is a current member and the board's facilitator.
pub(crate) fn require_facilitator<R: ReadDoc>(doc: &R, board: &ObjId, by: MemberId) -> OpResult {
    refs::require_member(doc, by)?;
    if facilitator(doc, board) != Some(by) {
        return Err(OpError::Invalid {
            field: "member",
            reason: "only the facilitator can do this",
        });
    }
    Ok(())
}

/// `by` is a current member and may change the board's content: it is not
/// locked, or `by` is the facilitator.
pub(crate) fn require_editor<R: ReadDoc>(doc: &R, board: &ObjId, by: MemberId) -> OpResult {
    refs::require_member(doc, by)?;
    if get_bool(doc, board, LOCKED) && facilitator(doc, board) != Some(by) {
        return Err(OpError::Invalid {
            field: "board",
            reason: "it is locked by the facilitator",
        });
    }
    Ok(())
}

/// The board's notes map.
pub(crate) fn notes_map<R: ReadDoc>(doc: &R, board: &ObjId) -> OpResult<ObjId> {
    sub_map(doc, board, NOTES, "board.notes")
}

/// The live note `id` of the board.
pub(crate) fn require_note<R: ReadDoc>(doc: &R, board: &ObjId, id: ItemId) -> OpResult<ObjId> {
    require_in(doc, &notes_map(doc, board)?, "note", id)
}

/// The board's map `key` (votes…), or [`OpError::NotInitialized`].
pub(crate) fn board_map<R: ReadDoc>(
    doc: &R,
    board: &ObjId,
    key: &str,
    name: &'static str,
) -> OpResult<ObjId> {
    sub_map(doc, board, key, name)
}

/// A note's text, trimmed: not blank and at most [`MAX_NOTE_CHARS`].
fn check_note_text(text: &str) -> OpResult<String> {
    let text = non_empty("note", text)?;
    let chars = text.chars().count();
    if chars > MAX_NOTE_CHARS {
        return Err(OpError::OutOfRange {
            field: "note length",
            min: 1.0,
            max: MAX_NOTE_CHARS as f64,
            value: chars as f64,
        });
    }
    Ok(text)
}

/// An `order` putting an item at `index` among `others` (sorted orders).
fn order_at(others: &[f64], index: usize) -> f64 {
    let index = index.min(others.len());
    match (index.checked_sub(1).map(|i| others[i]), others.get(index)) {
        (None, None) => 1.0,
        (None, Some(next)) => next - 1.0,
        (Some(prev), None) => prev + 1.0,
        (Some(prev), Some(next)) => prev + (next - prev) / 2.0,
    }
}

fn live_columns<R: ReadDoc>(doc: &R, board: &ObjId) -> Vec<(ItemId, ObjId)> {
    child_map(doc, board, COLUMNS)
        .map(|map| items::entries(doc, &map))
        .unwrap_or_default()
}

/// The sorted orders of the live notes in `column`, leaving out `except`.
fn column_orders<R: ReadDoc>(doc: &R, board: &ObjId, column: ItemId, except: ItemId) -> Vec<f64> {
    let mut orders: Vec<(f64, ItemId)> = read_notes(doc, board)
        .into_iter()
        .filter(|n| n.column == column && n.id != except)
        .map(|n| (n.order, n.id))
        .collect();
    orders.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    orders.into_iter().map(|(o, _)| o).collect()
}

// ---------------------------------------------------------------------------
// Reading.

fn read_notes<R: ReadDoc>(doc: &R, board: &ObjId) -> Vec<Note> {
    let columns: Vec<ItemId> = live_columns(doc, board)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let Some(map) = child_map(doc, board, NOTES) else {
        return Vec::new();
    };
    // With no live column (two people removing the last two at once), notes
    // keep their stored column until one is restored.
    let first = columns.first().copied();
    let mut notes: Vec<(usize, Note)> = doc
        .keys(&map)
        .filter_map(|key| {
            let id = key.parse::<ItemId>().ok()?;
            let obj = items::live(doc, &map, &key)?;
            let stored = get_str(doc, &obj, COLUMN).and_then(|c| c.parse::<ItemId>().ok());
            let (index, column) = stored
                .and_then(|c| columns.iter().position(|x| *x == c).map(|i| (i, c)))
                .or_else(|| Some((0, first.or(stored)?)))?;
            let private = facilitation::read_private(doc, &obj);
            let sealed = private.as_ref().is_some_and(|p| !p.opened);
            Some((
                index,
                Note {
                    id,
                    column,
                    order: get_f64(doc, &obj, ORDER).unwrap_or(0.0),
                    text: if sealed {
                        String::new()
                    } else {
                        get_text(doc, &obj, TEXT)
                    },
                    colour: get_str(doc, &obj, "colour")
                        .and_then(|c| Colour::parse(&c).ok())
                        .unwrap_or_default(),
                    author: get_str(doc, &obj, "author").and_then(|m| m.parse().ok()),
                    party: get_str(doc, &obj, "party").and_then(|p| p.parse().ok()),
                    group: get_str(doc, &obj, GROUP).and_then(|g| g.parse().ok()),
                    created_at: get_u64(doc, &obj, "created_at").unwrap_or(0),
                    sealed,
                    link: convert::read_link(doc, &obj),
                },
            ))
        })
        .collect();
    notes.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.order.total_cmp(&b.1.order))
            .then(a.1.id.cmp(&b.1.id))
    });
    notes.into_iter().map(|(_, n)| n).collect()
}

fn read_one<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Board {
    Board {
        id,
        title: get_string(doc, obj, "title"),
        template: get_str(doc, obj, "template")
            .and_then(|t| Template::from_stored(&t))
            .unwrap_or(Template::Brainstorm),
        facilitator: facilitator(doc, obj),
        created_at: get_u64(doc, obj, "created_at").unwrap_or(0),
        locked: get_bool(doc, obj, LOCKED),
        columns: live_columns(doc, obj)
            .into_iter()
            .map(|(id, c)| Column {
                id,
                title: get_string(doc, &c, "title"),
            })
            .collect(),
        notes: read_notes(doc, obj),
        timer: facilitation::read_timer(doc, obj),
        focus: facilitation::read_focus(doc, obj),
        private_writing: facilitation::read_private_writing(doc, obj),
    }
}

/// Every board, in display order.
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Board> {
    let Ok(map) = root_map(doc, BOARDS) else {
        return Vec::new();
    };
    items::entries(doc, &map)
        .into_iter()
        .map(|(id, obj)| read_one(doc, id, &obj))
        .collect()
}

/// One board, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<Board> {
    let obj = require(doc, id)?;
    Ok(read_one(doc, id, &obj))
}

// ---------------------------------------------------------------------------
// Boards.

/// Creates a board from a template, with the template's columns (ids from
/// [`template_column_id`]), unlocked.
pub fn create<T: Tx>(tx: &mut T, id: ItemId, new: &NewBoard, now: u64) -> OpResult {
    let now = check_date("time", now)?;
    let title = match new.title.trim() {
        "" => new.template.label().to_owned(),
        title => title.to_owned(),
    };
    refs::require_member(tx, new.facilitator)?;
    let map = root_map(tx, BOARDS)?;
    let obj = items::create(tx, &map, "board", id)?;
    tx.put(&obj, "title", title)?;
    tx.put(&obj, "template", new.template.as_str())?;
    tx.put(&obj, FACILITATOR, new.facilitator.key())?;
    tx.put(&obj, "created_at", now)?;
    tx.put(&obj, LOCKED, false)?;
    let columns = tx.put_object(&obj, COLUMNS, ObjType::Map)?;
    for (index, name) in new.template.columns().iter().enumerate() {
        let column = items::create(tx, &columns, "column", template_column_id(id, index))?;
        tx.put(&column, "title", *name)?;
    }
    for empty in [NOTES, VOTES] {
        tx.put_object(&obj, empty, ObjType::Map)?;
    }
    Ok(())
}

/// Renames a board (facilitator only).
pub fn rename<T: Tx>(tx: &mut T, board: ItemId, title: &str, by: MemberId) -> OpResult {
    let title = non_empty("title", title)?;
    let obj = require_as(tx, board, by, Role::Facilitator)?;
    put(tx, &obj, "title", title)
}

/// Hands the facilitation to another current member (facilitator only).
pub fn hand_over<T: Tx>(tx: &mut T, board: ItemId, to: MemberId, by: MemberId) -> OpResult {
    let obj = require_as(tx, board, by, Role::Facilitator)?;
    refs::require_member(tx, to)?;
    put(tx, &obj, FACILITATOR, to.key())
}

/// Locks the board (`true`: only the facilitator can change columns and
/// notes) or unlocks it. Facilitator only.
pub fn set_locked<T: Tx>(tx: &mut T, board: ItemId, locked: bool, by: MemberId) -> OpResult {
    let obj = require_as(tx, board, by, Role::Facilitator)?;
    put(tx, &obj, LOCKED, locked)
}
