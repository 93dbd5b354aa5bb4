//! Turning a note into a plan item in one step, linked both ways.
//!
//! ```text
//! notes{id}.link:  { kind ("action" | "risk" | "objective" | "conflict"), id,
//!                    parent? ("meeting:<id>" | "review:<id>") }   # actions only
//! <created item>.source: { board (board id), note (note id) }
//! ```
//!
//! [`convert_note`] creates the item with the ordinary operation of its
//! module ([`actions::add`],
//! [`risks::add`], [`objectives::add`], [`conflicts::raise`]) — so it is
//! validated exactly as if typed in — then writes `source` on the item and
//! `link` on the note, in the same transaction. The item's title is the
//! note's first line (a conflict also gets the whole note as its
//! description; an objective as its deliverables).
//!
//! **Where actions go.** Action items live only inside a meeting or a
//! review (see [`meetings`]), so the caller names which one: normally the
//! workshop meeting the board is used in, or the retrospective review it
//! feeds. They then appear in [`crate::views::attention::all_actions`] like any other.
//!
//! The other modules' read structs do not show `source`; [`source_of`]
//! reads it, so a plan item can link back to its board.

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use automerge::{ObjId, ObjType, ReadDoc};

use super::{require, require_editor, require_note};
use crate::model::actions::{self, ActionSource, NewAction};
use crate::model::conflicts::{self, ConflictFields, NewConflict, Severity};
use crate::model::error::OpError;
use crate::model::fields::{child_map, get_str, get_text};
use crate::model::ids::{ItemId, MemberId, PartyId};
use crate::model::items::{self, Collection};
use crate::model::objectives::{self, NewObjective};
use crate::model::risks::{self, NewRisk};

const LINK: &str = "link";
const SOURCE: &str = "source";
/// Longest title taken from a note, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// The plan item a note became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemLink {
    /// An action item, in a meeting or review.
    Action {
        /// The meeting or review holding it.
        source: ActionSource,
        /// The action's id.
        id: ItemId,
    },
    /// A risk.
    Risk(ItemId),
    /// An objective.
    Objective(ItemId),
    /// A conflict.
    Conflict(ItemId),
}

/// A note on a board: where a plan item came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteRef {
    /// The board.
    pub board: ItemId,
    /// The note.
    pub note: ItemId,
}

/// What to turn a note into, with the fields a note does not give.
#[derive(Debug, Clone, PartialEq)]
pub enum Conversion {
    /// An action item in a meeting's or review's list.
    Action {
        /// The meeting or review to add it to.
        into: ActionSource,
        /// Who does it (a current member).
        owner: Option<MemberId>,
        /// By when.
        due: Option<u64>,
    },
    /// A risk.
    Risk {
        /// How likely, 1–5.
        likelihood: u8,
        /// How bad, 1–5.
        impact: u8,
        /// Who watches it.
        owner: Option<MemberId>,
    },
    /// An objective.
    Objective {
        /// The owning party.
        owner: Option<PartyId>,
        /// When it is due.
        due: Option<u64>,
    },
    /// A conflict, raised by the member converting the note.
    Conflict {
        /// How serious.
        severity: Severity,
    },
}

pub(crate) fn read_link<R: ReadDoc>(doc: &R, note: &ObjId) -> Option<ItemLink> {
    let obj = child_map(doc, note, LINK)?;
    let id: ItemId = get_str(doc, &obj, "id")?.parse().ok()?;
    Some(match get_str(doc, &obj, "kind")?.as_str() {
        "action" => {
            let parent = get_str(doc, &obj, "parent")?;
            let source = match parent.split_once(':')? {
                ("meeting", m) => ActionSource::Meeting(m.parse().ok()?),
                ("review", r) => ActionSource::Review(r.parse().ok()?),
                _ => return None,
            };
            ItemLink::Action { source, id }
        }
        "risk" => ItemLink::Risk(id),
        "objective" => ItemLink::Objective(id),
        "conflict" => ItemLink::Conflict(id),
        _ => return None,
    })
}

/// The live map of a linked item.
fn locate<R: ReadDoc>(doc: &R, link: ItemLink) -> OpResult<ObjId> {
    match link {
        ItemLink::Action { source, id } => items::require(doc, source.collection(), id),
        ItemLink::Risk(id) => items::require(doc, Collection::Risks, id),
        ItemLink::Objective(id) => items::require(doc, Collection::Objectives, id),
        ItemLink::Conflict(id) => items::require(doc, Collection::Conflicts, id),
    }
}

/// The board note a plan item was made from, if it was.
pub fn source_of<R: ReadDoc>(doc: &R, item: ItemLink) -> Option<NoteRef> {
    let obj = locate(doc, item).ok()?;
    let source = child_map(doc, &obj, SOURCE)?;
    Some(NoteRef {
        board: get_str(doc, &source, "board")?.parse().ok()?,
        note: get_str(doc, &source, "note")?.parse().ok()?,
    })
}

/// The title a note gives: its first non-blank line, cut to
/// [`MAX_TITLE_CHARS`].
fn title_of(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(MAX_TITLE_CHARS)
        .collect()
}

/// Turns a note into a new plan item `id` (see the module docs) and links
/// them both ways. Refused for a note already converted, a sealed private
/// note, on a locked board (except for the facilitator), and for anything
/// the item's own operation refuses — in every case writing nothing.
pub fn convert_note<T: Tx>(
    tx: &mut T,
    board: ItemId,
    note: ItemId,
    id: ItemId,
    conversion: &Conversion,
    by: MemberId,
    now: u64,
) -> OpResult<ItemLink> {
    let board_obj = require(tx, board)?;
    require_editor(tx, &board_obj, by)?;
    let note_obj = require_note(tx, &board_obj, note)?;
    if super::facilitation::read_private(tx, &note_obj).is_some_and(|p| !p.opened) {
        return Err(OpError::Invalid {
            field: "note",
            reason: "it is sealed until the private notes are revealed",
        });
    }
    if read_link(tx, &note_obj).is_some() {
        return Err(OpError::Invalid {
            field: "note",
            reason: "it has already been turned into a plan item",
        });
    }
    let text = get_text(tx, &note_obj, super::TEXT);
    let title = title_of(&text);
    let link = match conversion {
        Conversion::Action { into, owner, due } => {
            let new = NewAction {
                title,
                owner: *owner,
                due: *due,
            };
            actions::add(tx, *into, id, &new)?;
            ItemLink::Action { source: *into, id }
        }
        Conversion::Risk {
            likelihood,
            impact,
            owner,
        } => {
            let new = NewRisk {
                title,
                likelihood: *likelihood,
                impact: *impact,
                owner: *owner,
                ..NewRisk::default()
            };
            risks::add(tx, id, &new, now)?;
            ItemLink::Risk(id)
        }
        Conversion::Objective { owner, due } => {
            let new = NewObjective {
                title,
                owner: *owner,
                deliverables: text.trim().to_owned(),
                due: *due,
            };
            objectives::add(tx, id, &new, now)?;
            ItemLink::Objective(id)
        }
        Conversion::Conflict { severity } => {
            let new = NewConflict {
                fields: ConflictFields {
                    title,
                    description: text.trim().to_owned(),
                    severity: *severity,
                },
                raised_by: by,
            };
            conflicts::raise(tx, id, &new, now)?;
            ItemLink::Conflict(id)
        }
    };
    let item = locate(tx, link)?;
    let source = tx.put_object(&item, SOURCE, ObjType::Map)?;
    tx.put(&source, "board", board.key())?;
    tx.put(&source, "note", note.key())?;
    let stored = tx.put_object(&note_obj, LINK, ObjType::Map)?;
    let (kind, parent) = match link {
        ItemLink::Action { source, .. } => (
            "action",
            Some(match source {
                ActionSource::Meeting(m) => format!("meeting:{m}"),
                ActionSource::Review(r) => format!("review:{r}"),
            }),
        ),
        ItemLink::Risk(_) => ("risk", None),
        ItemLink::Objective(_) => ("objective", None),
        ItemLink::Conflict(_) => ("conflict", None),
    };
    tx.put(&stored, "kind", kind)?;
    tx.put(&stored, "id", id.key())?;
    if let Some(parent) = parent {
        tx.put(&stored, "parent", parent)?;
    }
    Ok(link)
}
