//! What the facilitator runs: the shared timer, "bring everyone to my
//! view", and private writing with its reveal.
//!
//! ```text
//! timer:           { duration_ms, started_at, paused_at?, paused_ms, by }?
//! focus:           { target ("column" | "note"), id, by, at }?
//! private_writing: { by, since }?                 # present while it is on
//! notes{id}.private: { nonce, sealed, commitment, key? }   # a private note
//! ```
//!
//! # Timer
//!
//! The timer stores when it started and for how long, never a countdown,
//! so a participant who reloads (or joins late) computes the same
//! [`Timer::remaining_ms`] from their own clock. Pausing records
//! `paused_at`; resuming adds the pause to `paused_ms`. Every timer
//! operation writes a whole new `timer` map, so concurrent pause and
//! resume resolve to one consistent state (one of them), never a mix.
//!
//! # Focus
//!
//! [`set_focus`] stores what the facilitator is looking at, by whom and
//! when; clients move their view when `at` changes and are free to look
//! elsewhere afterwards. Like the timer, the whole map is replaced.
//!
//! # Private writing: sealed, then revealed together
//!
//! While private writing is on, notes are added with [`add_private_note`]:
//! the text is **sealed** on the author's device (ChaCha20-Poly1305 under a
//! [`SealKey`] only that device holds, with a commitment, as for health
//! checks and ballots) and only the ciphertext enters the document — not a
//! plain note marked private, which any replica, the relay or the history
//! could read. The column, colour, author, party and creation time stay
//! visible, so everyone sees *that* others are writing, and where.
//! [`reveal_private_notes`] (facilitator) ends private writing; each
//! author's device then publishes its keys ([`publish_note_key`]; the app
//! calls it for every note [`notes_to_publish`] lists). Publishing checks
//! the key against the commitment and writes the opened words as the
//! note's ordinary Text, so from then on it is edited like any note.
//!
//! A note added on a replica that had not yet heard that private writing
//! started is an ordinary note: its author was never shown private mode.
//! A facilitator starting private writing again before every author has
//! published leaves those notes sealed until it is revealed again.
//!
//! Protected: nobody but the author can read a private note before the
//! reveal, on any replica or in the history. Not protected: an author
//! publishing early (reveals only their own note); a note whose author's
//! device never returns stays sealed (it shows as sealed, with its author).

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use automerge::{ObjId, ObjType, ReadDoc};

use super::seal::{self, SealKey};
use super::{
    NewNote, Role, TEXT, check_note_text, columns_map, create_note, require, require_as,
    require_note,
};
use crate::model::error::OpError;
use crate::model::fields::{check_date, check_range, child_map, get_str, get_u64, new_text};
use crate::model::ids::{ItemId, MemberId};
use crate::model::items::require_in;

const TIMER: &str = "timer";
const FOCUS: &str = "focus";
const PRIVATE_WRITING: &str = "private_writing";
const PRIVATE: &str = "private";
const NOTE_CONTEXT: &[u8] = b"note";

/// The shortest timer, in milliseconds (ten seconds).
pub const MIN_TIMER_MS: u64 = 10_000;
/// The longest timer, in milliseconds (four hours).
pub const MAX_TIMER_MS: u64 = 4 * 60 * 60 * 1000;

/// The shared timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    /// How long it runs, in milliseconds.
    pub duration_ms: u64,
    /// When it was started (UTC ms).
    pub started_at: u64,
    /// When it was paused, while it is paused.
    pub paused_at: Option<u64>,
    /// Time spent paused before the current run, in milliseconds.
    pub paused_ms: u64,
    /// Who started it.
    pub by: Option<MemberId>,
}

impl Timer {
    /// Milliseconds left at `now` (0 once it has run out; frozen while
    /// paused). A `now` before the start counts as the start.
    pub fn remaining_ms(&self, now: u64) -> u64 {
        let at = self.paused_at.unwrap_or(now);
        let elapsed = at
            .saturating_sub(self.started_at)
            .saturating_sub(self.paused_ms);
        self.duration_ms.saturating_sub(elapsed)
    }

    /// Whether it is paused.
    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Whether it has run out at `now`.
    pub fn is_finished(&self, now: u64) -> bool {
        self.remaining_ms(now) == 0
    }
}

/// What the facilitator asks everyone to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FocusTarget {
    /// A column.
    Column(ItemId),
    /// A note.
    Note(ItemId),
}

/// The facilitator's current focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Focus {
    /// What to look at.
    pub target: FocusTarget,
    /// Who set it.
    pub by: Option<MemberId>,
    /// When (UTC ms); clients follow when this changes.
    pub at: u64,
}

/// Private writing, while it is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivateWriting {
    /// Who turned it on.
    pub by: Option<MemberId>,
    /// Since when (UTC ms).
    pub since: u64,
}

/// A note's private part, as read.
#[derive(Debug, Clone)]
pub(crate) struct PrivateNote {
    /// Its key is published and opens it.
    pub(crate) opened: bool,
}

// ---------------------------------------------------------------------------
// Reading.

pub(crate) fn read_timer<R: ReadDoc>(doc: &R, board: &ObjId) -> Option<Timer> {
    let obj = child_map(doc, board, TIMER)?;
    Some(Timer {
        duration_ms: get_u64(doc, &obj, "duration_ms")?,
        started_at: get_u64(doc, &obj, "started_at")?,
        paused_at: get_u64(doc, &obj, "paused_at"),
        paused_ms: get_u64(doc, &obj, "paused_ms").unwrap_or(0),
        by: get_str(doc, &obj, "by").and_then(|m| m.parse().ok()),
    })
}

pub(crate) fn read_focus<R: ReadDoc>(doc: &R, board: &ObjId) -> Option<Focus> {
    let obj = child_map(doc, board, FOCUS)?;
    let id = get_str(doc, &obj, "id")?.parse().ok()?;
    let target = match get_str(doc, &obj, "target")?.as_str() {
        "column" => FocusTarget::Column(id),
        "note" => FocusTarget::Note(id),
        _ => return None,
    };
    Some(Focus {
        target,
        by: get_str(doc, &obj, "by").and_then(|m| m.parse().ok()),
        at: get_u64(doc, &obj, "at").unwrap_or(0),
    })
}

pub(crate) fn read_private_writing<R: ReadDoc>(doc: &R, board: &ObjId) -> Option<PrivateWriting> {
    let obj = child_map(doc, board, PRIVATE_WRITING)?;
    Some(PrivateWriting {
        by: get_str(doc, &obj, "by").and_then(|m| m.parse().ok()),
        since: get_u64(doc, &obj, "since").unwrap_or(0),
    })
}

fn note_context<R: ReadDoc>(doc: &R, note: &ObjId, board: ItemId, id: ItemId) -> Option<Vec<u8>> {
    let author: MemberId = get_str(doc, note, "author")?.parse().ok()?;
    Some(seal::context(NOTE_CONTEXT, board, id, author))
}

pub(crate) fn read_private<R: ReadDoc>(doc: &R, note: &ObjId) -> Option<PrivateNote> {
    let sealed = seal::Sealed::read(doc, &child_map(doc, note, PRIVATE)?);
    // A published key is trusted only once it was checked by
    // `publish_note_key`, which also writes the text.
    let opened =
        sealed.is_some_and(|s| s.key.is_some()) && doc.get(note, TEXT).ok().flatten().is_some();
    Some(PrivateNote { opened })
}

/// The sealed text of a private note.
fn sealed_text<R: ReadDoc>(doc: &R, note: &ObjId) -> Option<seal::Sealed> {
    seal::Sealed::read(doc, &child_map(doc, note, PRIVATE)?)
}

/// Writes `sealed` as the note's private text, replacing any before.
fn store_sealed_text<T: Tx>(tx: &mut T, note: &ObjId, sealed: &seal::Sealed) -> OpResult {
    let private = tx.put_object(note, PRIVATE, ObjType::Map)?;
    sealed.write(tx, &private)
}

// ---------------------------------------------------------------------------
// Timer.

fn write_timer<T: Tx>(tx: &mut T, board: &ObjId, timer: &Timer) -> OpResult {
    let obj = tx.put_object(board, TIMER, ObjType::Map)?;
    tx.put(&obj, "duration_ms", timer.duration_ms)?;
    tx.put(&obj, "started_at", timer.started_at)?;
    if let Some(paused_at) = timer.paused_at {
        tx.put(&obj, "paused_at", paused_at)?;
    }
    tx.put(&obj, "paused_ms", timer.paused_ms)?;
    if let Some(by) = timer.by {
        tx.put(&obj, "by", by.key())?;
    }
    Ok(())
}

fn require_timer<R: ReadDoc>(doc: &R, board: &ObjId) -> OpResult<Timer> {
    read_timer(doc, board).ok_or(OpError::Invalid {
        field: "timer",
        reason: "no timer is set",
    })
}

/// Starts the timer for `duration_ms` (10 s to 4 h) from `now`, replacing
/// any timer. Facilitator only.
pub fn start_timer<T: Tx>(
    tx: &mut T,
    board: ItemId,
    duration_ms: u64,
    by: MemberId,
    now: u64,
) -> OpResult {
    let duration_ms = check_range("timer", duration_ms, MIN_TIMER_MS, MAX_TIMER_MS)?;
    let now = check_date("time", now)?;
    let obj = require_as(tx, board, by, Role::Facilitator)?;
    write_timer(
        tx,
        &obj,
        &Timer {
            duration_ms,
            started_at: now,
            paused_at: None,
            paused_ms: 0,
            by: Some(by),
        },
    )
}

/// Pauses the running timer at `now`. Facilitator only.
pub fn pause_timer<T: Tx>(tx: &mut T, board: ItemId, by: MemberId, now: u64) -> OpResult {
    change_timer(tx, board, by, now, |timer, now| {
        if timer.is_paused() {
            return Err(OpError::Invalid {
                field: "timer",
                reason: "it is already paused",
            });
        }
        Ok(Timer {
            paused_at: Some(now.max(timer.started_at)),
            ..timer
        })
    })
}

/// Resumes the paused timer at `now`. Facilitator only.
pub fn resume_timer<T: Tx>(tx: &mut T, board: ItemId, by: MemberId, now: u64) -> OpResult {
    change_timer(tx, board, by, now, |timer, now| {
        let Some(paused_at) = timer.paused_at else {
            return Err(OpError::Invalid {
                field: "timer",
                reason: "it is not paused",
            });
        };
        Ok(Timer {
            paused_at: None,
            paused_ms: timer.paused_ms + now.saturating_sub(paused_at),
            ..timer
        })
    })
}

/// Replaces the board's timer by what `change` makes of it at `now`.
/// Facilitator only; refused without a timer.
fn change_timer<T: Tx>(
    tx: &mut T,
    board: ItemId,
    by: MemberId,
    now: u64,
    change: impl FnOnce(Timer, u64) -> OpResult<Timer>,
) -> OpResult {
    let now = check_date("time", now)?;
    let obj = require_as(tx, board, by, Role::Facilitator)?;
    let timer = change(require_timer(tx, &obj)?, now)?;
    write_timer(tx, &obj, &timer)
}

/// Stops and clears the timer. Facilitator only.
pub fn stop_timer<T: Tx>(tx: &mut T, board: ItemId, by: MemberId) -> OpResult {
    let obj = require_as(tx, board, by, Role::Facilitator)?;
    require_timer(tx, &obj)?;
    tx.delete(&obj, TIMER)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Focus.

/// Brings everyone to `target` (a live column or note). Facilitator only.
pub fn set_focus<T: Tx>(
    tx: &mut T,
    board: ItemId,
    target: FocusTarget,
    by: MemberId,
    now: u64,
) -> OpResult {
    let now = check_date("time", now)?;
    let obj = require_as(tx, board, by, Role::Facilitator)?;
    let (kind, id) = match target {
        FocusTarget::Column(id) => {
            let columns = columns_map(tx, &obj)?;
            require_in(tx, &columns, "column", id)?;
            ("column", id)
        }
        FocusTarget::Note(id) => {
            require_note(tx, &obj, id)?;
            ("note", id)
        }
    };
    let focus = tx.put_object(&obj, FOCUS, ObjType::Map)?;
    tx.put(&focus, "target", kind)?;
    tx.put(&focus, "id", id.key())?;
    tx.put(&focus, "by", by.key())?;
    tx.put(&focus, "at", now)?;
    Ok(())
}

/// Lets everyone look where they like again. Facilitator only.
pub fn clear_focus<T: Tx>(tx: &mut T, board: ItemId, by: MemberId) -> OpResult {
    let obj = require_as(tx, board, by, Role::Facilitator)?;
    if tx.get(&obj, FOCUS)?.is_some() {
        tx.delete(&obj, FOCUS)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Private writing.

/// Turns private writing on: new notes are sealed until
/// [`reveal_private_notes`]. Facilitator only.
pub fn start_private_writing<T: Tx>(tx: &mut T, board: ItemId, by: MemberId, now: u64) -> OpResult {
    let now = check_date("time", now)?;
    switch_private_writing(tx, board, by, Some(now))
}

/// Ends private writing: every author may now publish their notes' keys
/// (see the module docs). Facilitator only.
pub fn reveal_private_notes<T: Tx>(tx: &mut T, board: ItemId, by: MemberId) -> OpResult {
    switch_private_writing(tx, board, by, None)
}

/// Turns private writing on `since` a time, or off (`None`). Facilitator
/// only; refused when it already is so.
fn switch_private_writing<T: Tx>(
    tx: &mut T,
    board: ItemId,
    by: MemberId,
    since: Option<u64>,
) -> OpResult {
    let obj = require_as(tx, board, by, Role::Facilitator)?;
    let on = read_private_writing(tx, &obj).is_some();
    if on == since.is_some() {
        return Err(OpError::Invalid {
            field: "private writing",
            reason: if on {
                "it is already on"
            } else {
                "it is not on"
            },
        });
    }
    match since {
        Some(now) => {
            let map = tx.put_object(&obj, PRIVATE_WRITING, ObjType::Map)?;
            tx.put(&map, "by", by.key())?;
            tx.put(&map, "since", now)?;
        }
        None => tx.delete(&obj, PRIVATE_WRITING)?,
    }
    Ok(())
}

/// Adds a note sealed under `key` with a fresh random `nonce`, while
/// private writing is on. Only the ciphertext, nonce and commitment of the
/// text are written; column, colour and author are visible.
pub fn add_private_note<T: Tx>(
    tx: &mut T,
    board: ItemId,
    id: ItemId,
    new: &NewNote,
    key: &SealKey,
    nonce: [u8; 12],
    now: u64,
) -> OpResult {
    let text = check_note_text(&new.text)?;
    let obj = require(tx, board)?;
    if read_private_writing(tx, &obj).is_none() {
        return Err(OpError::Invalid {
            field: "note",
            reason: "private writing is not on",
        });
    }
    let sealed = seal::seal(
        text.as_bytes(),
        key,
        nonce,
        &seal::context(NOTE_CONTEXT, board, id, new.author),
    )?;
    let note = create_note(tx, &obj, id, new, now)?;
    store_sealed_text(tx, &note, &sealed)
}

/// Rewrites the author's own sealed note before the reveal, sealing the new
/// text under the same key with a new random `nonce` (never reuse one: the
/// earlier ciphertexts stay in the history; the op only refuses a repeat of
/// the current nonce).
pub fn rewrite_private_note<T: Tx>(
    tx: &mut T,
    board: ItemId,
    note: ItemId,
    text: &str,
    key: &SealKey,
    nonce: [u8; 12],
    by: MemberId,
) -> OpResult {
    let text = check_note_text(text)?;
    let obj = require_as(tx, board, by, Role::Editor)?;
    let note_obj = require_note(tx, &obj, note)?;
    let context =
        note_context(tx, &note_obj, board, note).ok_or(OpError::NotInitialized("note.author"))?;
    let old = sealed_text(tx, &note_obj)
        .filter(|s| s.key.is_none())
        .ok_or(OpError::Invalid {
            field: "note",
            reason: "it is not a sealed private note",
        })?;
    if seal::context(NOTE_CONTEXT, board, note, by) != context {
        return Err(OpError::Invalid {
            field: "member",
            reason: "only the author can rewrite a private note",
        });
    }
    if seal::open(&old, key, &context).is_none() {
        return Err(OpError::Invalid {
            field: "key",
            reason: "it does not open this note",
        });
    }
    if old.nonce == nonce {
        return Err(OpError::Invalid {
            field: "nonce",
            reason: "it was already used for this note",
        });
    }
    let sealed = seal::seal(text.as_bytes(), key, nonce, &context)?;
    store_sealed_text(tx, &note_obj, &sealed)
}

/// Publishes the key of a sealed note after the reveal: checked against
/// the commitment, then the opened words become the note's Text. Refused
/// while private writing is on. Publishing an opened note again changes
/// nothing.
pub fn publish_note_key<T: Tx>(tx: &mut T, board: ItemId, note: ItemId, key: &SealKey) -> OpResult {
    let obj = require(tx, board)?;
    if read_private_writing(tx, &obj).is_some() {
        return Err(OpError::Invalid {
            field: "private writing",
            reason: "it is still on",
        });
    }
    let note_obj = require_note(tx, &obj, note)?;
    let private = child_map(tx, &note_obj, PRIVATE).ok_or(OpError::Invalid {
        field: "note",
        reason: "it is not a private note",
    })?;
    if read_private(tx, &note_obj).is_some_and(|p| p.opened) {
        return Ok(());
    }
    let sealed = seal::Sealed::read(tx, &private).ok_or(OpError::NotInitialized("note.private"))?;
    let context =
        note_context(tx, &note_obj, board, note).ok_or(OpError::NotInitialized("note.author"))?;
    let words = seal::open(&sealed, key, &context)
        .and_then(|w| String::from_utf8(w).ok())
        .ok_or(OpError::Invalid {
            field: "key",
            reason: "it does not open this note",
        })?;
    seal::write_key(tx, &private, key)?;
    new_text(tx, &note_obj, TEXT, &words)?;
    Ok(())
}

/// The sealed notes `member` wrote on the board whose keys their device
/// should publish now (private writing is off and the key is unpublished).
pub fn notes_to_publish<R: ReadDoc>(doc: &R, board: ItemId, member: MemberId) -> Vec<ItemId> {
    let Ok(obj) = require(doc, board) else {
        return Vec::new();
    };
    if read_private_writing(doc, &obj).is_some() {
        return Vec::new();
    }
    super::read_notes(doc, &obj)
        .into_iter()
        .filter(|n| n.sealed && n.author == Some(member))
        .map(|n| n.id)
        .collect()
}

/// Opens the author's own sealed note with their key, to show it to them
/// before the reveal. `None` if it is not theirs or the key does not open it.
pub fn open_own_note<R: ReadDoc>(
    doc: &R,
    board: ItemId,
    note: ItemId,
    key: &SealKey,
) -> Option<String> {
    let obj = require(doc, board).ok()?;
    let note_obj = require_note(doc, &obj, note).ok()?;
    let sealed = sealed_text(doc, &note_obj)?;
    let context = note_context(doc, &note_obj, board, note)?;
    String::from_utf8(seal::open(&sealed, key, &context)?).ok()
}
