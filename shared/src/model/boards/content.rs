//! Editing a board's content: columns and sticky notes (re-exported from
//! [`super`]; see its docs for positions and the lock).

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use automerge::{ObjId, ObjType, ReadDoc};

use super::{
    COLUMN, COLUMNS, Colour, GROUP, MAX_COLUMNS, NewNote, Role, TEXT, check_note_text,
    column_orders, facilitation, live_columns, notes_map, order_at, read_notes, require,
    require_as, require_editor, require_note,
};
use crate::model::error::OpError;
use crate::model::fields::{
    check_date, get_string, get_text, new_text, non_empty, put, put_opt, set_text,
};
use crate::model::ids::{ItemId, MemberId};
use crate::model::items::{self, ORDER};
use crate::model::items::{delete_in, move_in, require_in, restore_in, sub_map};
use crate::model::members;

// ---------------------------------------------------------------------------
// Columns.

pub(crate) fn columns_map<R: ReadDoc>(doc: &R, board: &ObjId) -> OpResult<ObjId> {
    sub_map(doc, board, COLUMNS, "board.columns")
}

/// Adds a column at the right.
pub fn add_column<T: Tx>(
    tx: &mut T,
    board: ItemId,
    id: ItemId,
    title: &str,
    by: MemberId,
) -> OpResult {
    let title = non_empty("title", title)?;
    let obj = require_as(tx, board, by, Role::Editor)?;
    if live_columns(tx, &obj).len() >= MAX_COLUMNS {
        return Err(OpError::Invalid {
            field: "column",
            reason: "a board has at most 12 columns",
        });
    }
    let map = columns_map(tx, &obj)?;
    let column = items::create(tx, &map, "column", id)?;
    tx.put(&column, "title", title)?;
    Ok(())
}

/// Renames a column.
pub fn rename_column<T: Tx>(
    tx: &mut T,
    board: ItemId,
    column: ItemId,
    title: &str,
    by: MemberId,
) -> OpResult {
    let title = non_empty("title", title)?;
    let obj = require_as(tx, board, by, Role::Editor)?;
    let map = columns_map(tx, &obj)?;
    let column = require_in(tx, &map, "column", column)?;
    put(tx, &column, "title", title)
}

/// Moves a column to position `index` (left to right, clamped).
pub fn move_column<T: Tx>(
    tx: &mut T,
    board: ItemId,
    column: ItemId,
    index: usize,
    by: MemberId,
) -> OpResult {
    let obj = require_as(tx, board, by, Role::Editor)?;
    let map = columns_map(tx, &obj)?;
    move_in(tx, &map, "column", column, index)
}

/// Deletes an empty column. Refused while it holds notes (move them
/// first) and for the last column.
pub fn delete_column<T: Tx>(
    tx: &mut T,
    board: ItemId,
    column: ItemId,
    by: MemberId,
    now: u64,
) -> OpResult {
    let obj = require_as(tx, board, by, Role::Editor)?;
    let map = columns_map(tx, &obj)?;
    require_in(tx, &map, "column", column)?;
    if live_columns(tx, &obj).len() <= 1 {
        return Err(OpError::InUse {
            kind: "column",
            reason: "it is the board's only column",
        });
    }
    if read_notes(tx, &obj).iter().any(|n| n.column == column) {
        return Err(OpError::InUse {
            kind: "column",
            reason: "it still holds notes",
        });
    }
    delete_in(tx, &map, "column", column, now)
}

/// Brings a deleted column back, with any notes still placed in it.
pub fn restore_column<T: Tx>(tx: &mut T, board: ItemId, column: ItemId, by: MemberId) -> OpResult {
    let obj = require_as(tx, board, by, Role::Editor)?;
    let map = columns_map(tx, &obj)?;
    restore_in(tx, &map, "column", column)
}

/// The board's deleted columns, most recently deleted first, labelled by
/// their titles.
pub fn deleted_columns<R: ReadDoc>(doc: &R, board: ItemId) -> Vec<items::DeletedItem> {
    let Ok(obj) = require(doc, board) else {
        return Vec::new();
    };
    let Ok(map) = columns_map(doc, &obj) else {
        return Vec::new();
    };
    items::deleted_in(doc, &map, |column| get_string(doc, column, "title"))
}

/// The board's deleted notes, most recently deleted first, labelled by
/// their text (a note still sealed by private writing has none to show).
pub fn deleted_notes<R: ReadDoc>(doc: &R, board: ItemId) -> Vec<items::DeletedItem> {
    let Ok(obj) = require(doc, board) else {
        return Vec::new();
    };
    let Ok(map) = notes_map(doc, &obj) else {
        return Vec::new();
    };
    items::deleted_in(doc, &map, |note| {
        let text = get_text(doc, note, TEXT);
        if text.trim().is_empty() {
            "(a private note)".to_owned()
        } else {
            text
        }
    })
}

// ---------------------------------------------------------------------------
// Notes.

/// Adds a note at the end of a column. Refused while private writing is
/// on (use [`facilitation::add_private_note`]).
pub fn add_note<T: Tx>(tx: &mut T, board: ItemId, id: ItemId, new: &NewNote, now: u64) -> OpResult {
    let text = check_note_text(&new.text)?;
    let obj = require(tx, board)?;
    if facilitation::read_private_writing(tx, &obj).is_some() {
        return Err(OpError::Invalid {
            field: "note",
            reason: "private writing is on: the note must be sealed",
        });
    }
    let note = create_note(tx, &obj, id, new, now)?;
    new_text(tx, &note, TEXT, &text)?;
    Ok(())
}

/// Validates and writes everything of a new note but its text.
pub(crate) fn create_note<T: Tx>(
    tx: &mut T,
    board: &ObjId,
    id: ItemId,
    new: &NewNote,
    now: u64,
) -> OpResult<ObjId> {
    let now = check_date("time", now)?;
    require_editor(tx, board, new.author)?;
    let party = members::get(tx, new.author)?.party;
    let columns = columns_map(tx, board)?;
    require_in(tx, &columns, "column", new.column)?;
    let map = notes_map(tx, board)?;
    if tx.get(&map, id.key())?.is_some() {
        return Err(OpError::Duplicate {
            kind: "note",
            id: id.key(),
        });
    }
    let order = order_at(&column_orders(tx, board, new.column, id), usize::MAX);
    let note = tx.put_object(&map, id.key().as_str(), ObjType::Map)?;
    tx.put(&note, COLUMN, new.column.key())?;
    tx.put(&note, ORDER, order)?;
    tx.put(&note, "colour", new.colour.as_str())?;
    tx.put(&note, "author", new.author.key())?;
    put_opt(tx, &note, "party", party.map(|p| p.key()))?;
    tx.put(&note, "created_at", now)?;
    Ok(note)
}

/// Rewrites a note's text with the smallest splice (so two people typing
/// in one note both keep their words). Refused for a sealed private note.
pub fn edit_note<T: Tx>(
    tx: &mut T,
    board: ItemId,
    note: ItemId,
    text: &str,
    by: MemberId,
) -> OpResult {
    let text = check_note_text(text)?;
    let obj = require_as(tx, board, by, Role::Editor)?;
    let note_obj = require_note(tx, &obj, note)?;
    if facilitation::read_private(tx, &note_obj).is_some_and(|p| !p.opened) {
        return Err(OpError::Invalid {
            field: "note",
            reason: "it is sealed until the private notes are revealed",
        });
    }
    set_text(tx, &note_obj, TEXT, &text)
}

/// Changes a note's colour.
pub fn set_colour<T: Tx>(
    tx: &mut T,
    board: ItemId,
    note: ItemId,
    colour: Colour,
    by: MemberId,
) -> OpResult {
    let obj = require_as(tx, board, by, Role::Editor)?;
    let note = require_note(tx, &obj, note)?;
    put(tx, &note, "colour", colour.as_str())
}

/// Moves a note to position `index` (clamped) of `column` — the same or
/// another column. Writes the column and the order together, so
/// concurrent moves converge on one mover's placement (see the module
/// docs).
pub fn move_note<T: Tx>(
    tx: &mut T,
    board: ItemId,
    note: ItemId,
    column: ItemId,
    index: usize,
    by: MemberId,
) -> OpResult {
    let obj = require_as(tx, board, by, Role::Editor)?;
    let note_obj = require_note(tx, &obj, note)?;
    let columns = columns_map(tx, &obj)?;
    require_in(tx, &columns, "column", column)?;
    let order = order_at(&column_orders(tx, &obj, column, note), index);
    tx.put(&note_obj, COLUMN, column.key())?;
    tx.put(&note_obj, ORDER, order)?;
    Ok(())
}

/// Puts notes in one group: `group` is a fresh random id for a new group,
/// or the id of an existing group to add to it. Needs at least one note.
pub fn group_notes<T: Tx>(
    tx: &mut T,
    board: ItemId,
    notes: &[ItemId],
    group: ItemId,
    by: MemberId,
) -> OpResult {
    if notes.is_empty() {
        return Err(OpError::Empty { field: "notes" });
    }
    let obj = require_as(tx, board, by, Role::Editor)?;
    let objs = notes
        .iter()
        .map(|n| require_note(tx, &obj, *n))
        .collect::<Result<Vec<_>, _>>()?;
    for note in objs {
        put(tx, &note, GROUP, group.key())?;
    }
    Ok(())
}

/// Takes a note out of its group.
pub fn ungroup_note<T: Tx>(tx: &mut T, board: ItemId, note: ItemId, by: MemberId) -> OpResult {
    let obj = require_as(tx, board, by, Role::Editor)?;
    let note = require_note(tx, &obj, note)?;
    put_opt::<_, String>(tx, &note, GROUP, None)
}

/// Deletes a note (a mark, as for every item; [`restore_note`] brings it back).
pub fn delete_note<T: Tx>(
    tx: &mut T,
    board: ItemId,
    note: ItemId,
    by: MemberId,
    now: u64,
) -> OpResult {
    let obj = require_as(tx, board, by, Role::Editor)?;
    let map = notes_map(tx, &obj)?;
    delete_in(tx, &map, "note", note, now)
}

/// Brings a deleted note back.
pub fn restore_note<T: Tx>(tx: &mut T, board: ItemId, note: ItemId, by: MemberId) -> OpResult {
    let obj = require_as(tx, board, by, Role::Editor)?;
    let map = notes_map(tx, &obj)?;
    restore_in(tx, &map, "note", note)
}
