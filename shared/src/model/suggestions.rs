//! Suggested changes to a clause's text ("track changes"): one member
//! proposes an insertion, deletion or replacement; someone accepts it
//! (applied as an ordinary edit, which voids sign-offs like any edit) or
//! rejects it. The clause text itself holds only what was agreed to, so a
//! client that does not know suggestions reads and edits it as before.
//!
//! # Stored shape
//!
//! `agreement.suggestions{id → {clause, author, party, created_at, order,
//! start, end, deleted, insert, decisions{id → {verdict, by, party, at,
//! inserted_start?, inserted_end?, settled?}}}}` (a map created on first
//! use, see [`super::lazy_maps`]).
//!
//! # Anchoring: why cursors, not marks
//!
//! A suggestion is anchored with Automerge cursors on the clause body's
//! characters. A cursor names one character by the operation that inserted
//! it, so text typed before or after the suggested words never moves it off
//! them. For a deletion or replacement, `start` is the first character to
//! remove and `end` the last; for a pure insertion, `start` is the
//! character it follows (`s`: the start of the text) and `end` the one it
//! precedes (`e`: the end), so it still has a place when one of its two
//! neighbours is removed. Marks were the other
//! choice; they were not taken because a mark cannot be zero characters wide
//! (a pure insertion has nothing to mark), and because a mark silently grows
//! over text someone else types inside it, so accepting would remove words
//! the suggester never saw. With cursors the suggestion also keeps the words
//! it removes (`deleted`), and accepting checks that exactly those
//! characters are still there in that order: if someone edited or removed
//! them since, the suggestion is reported as not applicable
//! ([`Placement::NotApplicable`], [`OpError::NotApplicable`]) and can only
//! be rejected — the text is never patched in the wrong place.
//!
//! # Deciding, and concurrent decisions
//!
//! Every accept or reject adds an entry to the suggestion's `decisions` map
//! under a fresh id, so concurrent decisions never overwrite each other and
//! all of them stay on record. The state is a function of that set, the
//! same on every replica:
//!
//! - if any decision accepts, the suggestion is **accepted** (the text was
//!   changed by that replica, and a change already merged is not undone by a
//!   concurrent reject, which is kept on record as overruled);
//! - otherwise, if any rejects, it is **rejected**;
//! - otherwise it is **open**.
//!
//! The first accept (smallest `at`, then id) is the one that counts. Two
//! members accepting at once each inserted the suggested words: the
//! removal is the same characters on both sides and merges into one, but
//! the insertion would read twice. [`settle`] deletes the words inserted by
//! every accept that is not the first (found through its `inserted_*`
//! cursors) and marks it `settled`. Deleting a character is idempotent in
//! Automerge, so any number of replicas settling at once converge on the
//! text with the suggested words once. The app settles whenever
//! [`unsettled`] says a merge brought in such a pair.
//!
//! Accepting two overlapping suggestions: on one replica, accepting the
//! first changes the words the second anchors on, so the second is then not
//! applicable. Accepted on two replicas at once, both edits merge as
//! Automerge merges any two concurrent edits (every removed character gone,
//! both insertions kept where their anchors were), identically everywhere.

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use std::cmp::Ordering;

use automerge::{Cursor, MoveCursor, ObjId, ReadDoc};

use super::agreement::{self, AGREEMENT, CLAUSE};
use super::error::OpError;
use super::fields::{check_date, child_map, get_bool, get_str, get_string, get_u64, put};
use super::ids::{ItemId, MemberId, PartyId};
use super::refs;
use super::{items, lazy_maps, members};
use crate::text::TextEditError;

pub(crate) const SUGGESTIONS: &str = "suggestions";
const AUTHOR: &str = "author";
const PARTY: &str = "party";
const CREATED_AT: &str = "created_at";
const START: &str = "start";
const END: &str = "end";
const DELETED: &str = "deleted";
const INSERT: &str = "insert";
const DECISIONS: &str = "decisions";
const VERDICT: &str = "verdict";
const BY: &str = "by";
const AT: &str = "at";
const INSERTED_START: &str = "inserted_start";
const INSERTED_END: &str = "inserted_end";
const SETTLED: &str = "settled";

/// The most characters one suggestion may insert.
pub const MAX_INSERT_CHARS: usize = 20_000;

/// A suggestion to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSuggestion {
    /// The clause whose text it changes.
    pub clause: ItemId,
    /// Who suggests it (a current member).
    pub author: MemberId,
    /// Where in the clause text (characters).
    pub position: usize,
    /// How many characters from there it removes.
    pub delete: usize,
    /// What it puts there.
    pub insert: String,
}

/// What a suggestion does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuggestionKind {
    /// Adds words.
    Insertion,
    /// Removes words.
    Deletion,
    /// Replaces words with others.
    Replacement,
}

/// An accept or a reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Apply the suggestion.
    Accept,
    /// Drop it.
    Reject,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accepted",
            Self::Reject => "rejected",
        }
    }
}

/// One recorded decision on a suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Its id.
    pub id: ItemId,
    /// Accept or reject.
    pub verdict: Verdict,
    /// Who decided.
    pub by: Option<MemberId>,
    /// Their party.
    pub party: Option<PartyId>,
    /// When (UTC ms).
    pub at: Option<u64>,
}

/// Where a suggestion stands (see the module docs for concurrent decisions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuggestionState {
    /// Not decided yet.
    Open,
    /// Applied to the text by this decision (the first accept).
    Accepted(Decision),
    /// Dropped by this decision (the first reject).
    Rejected(Decision),
}

/// Where an open suggestion applies in the clause text as it reads now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// It removes the characters `start..end` (empty for an insertion) and
    /// inserts its text at `start`.
    At {
        /// First character (inclusive).
        start: usize,
        /// End (exclusive).
        end: usize,
    },
    /// The words it changes were edited or removed since: it can only be
    /// rejected.
    NotApplicable,
}

/// A suggestion, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Its id.
    pub id: ItemId,
    /// The clause it changes.
    pub clause: ItemId,
    /// Who suggested it.
    pub author: Option<MemberId>,
    /// Their party (for the colour it is shown in).
    pub party: Option<PartyId>,
    /// When (UTC ms).
    pub created_at: Option<u64>,
    /// The words it removes.
    pub deleted: String,
    /// The words it inserts.
    pub insert: String,
    /// Open, accepted or rejected.
    pub state: SuggestionState,
    /// Every decision on record, oldest first (a concurrent reject of an
    /// accepted suggestion stays here, overruled).
    pub decisions: Vec<Decision>,
    /// Where it applies now (meaningful while open).
    pub placement: Placement,
}

impl Suggestion {
    /// Insertion, deletion or replacement.
    pub fn kind(&self) -> SuggestionKind {
        match (self.deleted.is_empty(), self.insert.is_empty()) {
            (true, _) => SuggestionKind::Insertion,
            (false, true) => SuggestionKind::Deletion,
            (false, false) => SuggestionKind::Replacement,
        }
    }
}

fn agreement_root<R: ReadDoc>(doc: &R) -> OpResult<ObjId> {
    child_map(doc, &automerge::ROOT, AGREEMENT).ok_or(OpError::NotInitialized("agreement"))
}

fn require<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<ObjId> {
    let root = agreement_root(doc)?;
    lazy_maps::live(doc, &root, SUGGESTIONS, id)
        .ok_or_else(|| OpError::not_found("suggestion", &id))
}

/// Where each character of the text is now, by the id of the operation
/// that inserted it (the `counter@actor` a cursor on it names).
///
/// Cursors are resolved here rather than with `get_cursor_position`, which
/// for a removed character resolves to a neighbour (and trips a debug
/// assertion in Automerge 0.12); a removed character is simply absent.
pub(crate) struct CharIndex(std::collections::HashMap<String, usize>);

impl CharIndex {
    pub(crate) fn of<R: ReadDoc>(doc: &R, text: &ObjId) -> Self {
        Self(
            doc.list_range(text, ..)
                .enumerate()
                .map(|(position, item)| (item.id().to_string(), position))
                .collect(),
        )
    }

    /// The position of the character `cursor` names, if it is still there.
    pub(crate) fn find(&self, cursor: &str) -> Option<usize> {
        self.0.get(cursor.trim_start_matches('-')).copied()
    }
}

/// Where the suggestion stored in `obj` applies to the clause text now.
fn place<R: ReadDoc>(doc: &R, index: &CharIndex, chars: &[char], obj: &ObjId) -> Placement {
    let start = get_str(doc, obj, START);
    let deleted = get_string(doc, obj, DELETED);
    let found = if deleted.is_empty() {
        // After the character before it; if that one is gone, before the
        // character after it.
        let end = get_str(doc, obj, END);
        let after_previous = match start.as_deref() {
            Some("s") => Some(0),
            Some(anchor) => index.find(anchor).map(|p| p + 1),
            None => None,
        };
        let before_next = match end.as_deref() {
            Some("e") => Some(chars.len()),
            Some(anchor) => index.find(anchor),
            None => None,
        };
        after_previous.or(before_next).map(|p| (p, p))
    } else {
        let end = get_str(doc, obj, END);
        match (start, end) {
            (Some(start), Some(end)) => index
                .find(&start)
                .zip(index.find(&end))
                .filter(|(s, e)| s <= e)
                .map(|(s, e)| (s, e + 1))
                .filter(|(s, e)| chars[*s..*e].iter().copied().eq(deleted.chars())),
            _ => None,
        }
    };
    match found {
        Some((start, end)) => Placement::At { start, end },
        None => Placement::NotApplicable,
    }
}

fn read_decisions<R: ReadDoc>(doc: &R, obj: &ObjId) -> Vec<(Decision, ObjId)> {
    let Some(map) = child_map(doc, obj, DECISIONS) else {
        return Vec::new();
    };
    let mut found: Vec<(Decision, ObjId)> = doc
        .keys(&map)
        .filter_map(|key| {
            let id = key.parse::<ItemId>().ok()?;
            let entry = child_map(doc, &map, &key)?;
            let verdict = match get_str(doc, &entry, VERDICT)?.as_str() {
                "accepted" => Verdict::Accept,
                "rejected" => Verdict::Reject,
                _ => return None,
            };
            let decision = Decision {
                id,
                verdict,
                by: get_str(doc, &entry, BY).and_then(|m| m.parse().ok()),
                party: get_str(doc, &entry, PARTY).and_then(|p| p.parse().ok()),
                at: get_u64(doc, &entry, AT),
            };
            Some((decision, entry))
        })
        .collect();
    found.sort_by(|a, b| first_decision(&a.0, &b.0));
    found
}

/// The order in which concurrent decisions count: earliest, then by id.
fn first_decision(a: &Decision, b: &Decision) -> Ordering {
    a.at.unwrap_or(u64::MAX)
        .cmp(&b.at.unwrap_or(u64::MAX))
        .then(a.id.cmp(&b.id))
}

fn state_of(decisions: &[Decision]) -> SuggestionState {
    if let Some(accept) = decisions.iter().find(|d| d.verdict == Verdict::Accept) {
        SuggestionState::Accepted(accept.clone())
    } else if let Some(reject) = decisions.first() {
        SuggestionState::Rejected(reject.clone())
    } else {
        SuggestionState::Open
    }
}

fn read_one<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Option<Suggestion> {
    let clause: ItemId = get_str(doc, obj, CLAUSE)?.parse().ok()?;
    let placement = match agreement::clause_body_text(doc, clause) {
        Ok(text) => {
            let chars: Vec<char> = doc.text(&text).unwrap_or_default().chars().collect();
            place(doc, &CharIndex::of(doc, &text), &chars, obj)
        }
        Err(_) => Placement::NotApplicable,
    };
    let decisions: Vec<Decision> = read_decisions(doc, obj)
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    Some(Suggestion {
        id,
        clause,
        author: get_str(doc, obj, AUTHOR).and_then(|m| m.parse().ok()),
        party: get_str(doc, obj, PARTY).and_then(|p| p.parse().ok()),
        created_at: get_u64(doc, obj, CREATED_AT),
        deleted: get_string(doc, obj, DELETED),
        insert: get_string(doc, obj, INSERT),
        state: state_of(&decisions),
        decisions,
        placement,
    })
}

/// Every suggestion on a clause, decided ones included, oldest first.
pub fn list<R: ReadDoc>(doc: &R, clause: ItemId) -> Vec<Suggestion> {
    let Ok(root) = agreement_root(doc) else {
        return Vec::new();
    };
    let clause_key = clause.key();
    let mut found: Vec<Suggestion> = lazy_maps::entries(doc, &root, SUGGESTIONS)
        .into_iter()
        .filter(|(_, obj)| get_str(doc, obj, CLAUSE).as_deref() == Some(clause_key.as_str()))
        .filter_map(|(id, obj)| read_one(doc, id, &obj))
        .collect();
    found.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    found
}

/// The open suggestions on a clause, oldest first.
pub fn open<R: ReadDoc>(doc: &R, clause: ItemId) -> Vec<Suggestion> {
    list(doc, clause)
        .into_iter()
        .filter(|s| s.state == SuggestionState::Open)
        .collect()
}

/// One suggestion, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<Suggestion> {
    let obj = require(doc, id)?;
    read_one(doc, id, &obj).ok_or_else(|| OpError::not_found("suggestion", &id))
}

/// Records a suggestion. Anyone who is a member may suggest, whatever the
/// clause's status; the clause text is not changed.
pub fn suggest<T: Tx>(tx: &mut T, id: ItemId, new: &NewSuggestion, now: u64) -> OpResult {
    let now = check_date("time", now)?;
    let author = members::get(tx, new.author)?;
    refs::require_member(tx, new.author)?;
    let text = agreement::clause_body_text(tx, new.clause)?;
    let chars: Vec<char> = tx.text(&text)?.chars().collect();
    if new
        .position
        .checked_add(new.delete)
        .is_none_or(|end| end > chars.len())
    {
        return Err(TextEditError::OutOfRange {
            position: new.position,
            delete: new.delete,
            length: chars.len(),
        }
        .into());
    }
    if new.insert.chars().count() > MAX_INSERT_CHARS {
        return Err(OpError::Invalid {
            field: "suggestion",
            reason: "it inserts more than 20,000 characters",
        });
    }
    let deleted: String = chars[new.position..new.position + new.delete]
        .iter()
        .collect();
    if deleted == new.insert {
        return Err(OpError::Invalid {
            field: "suggestion",
            reason: "it changes nothing",
        });
    }
    let (start, end) = if new.delete == 0 {
        let previous = match new.position.checked_sub(1) {
            None => Cursor::Start,
            Some(before) => tx.get_cursor_moving(&text, before, None, MoveCursor::Before)?,
        };
        let next = if new.position == chars.len() {
            Cursor::End
        } else {
            tx.get_cursor_moving(&text, new.position, None, MoveCursor::After)?
        };
        (previous, Some(next))
    } else {
        let start = tx.get_cursor_moving(&text, new.position, None, MoveCursor::After)?;
        let last = new.position + new.delete - 1;
        let end = tx.get_cursor_moving(&text, last, None, MoveCursor::Before)?;
        (start, Some(end))
    };
    let root = agreement_root(tx)?;
    if lazy_maps::used(tx, &root, SUGGESTIONS, id) {
        return Err(OpError::Duplicate {
            kind: "suggestion",
            id: id.key(),
        });
    }
    let map = lazy_maps::ensure(tx, &root, SUGGESTIONS)?;
    let obj = items::create(tx, &map, "suggestion", id)?;
    tx.put(&obj, CLAUSE, new.clause.key())?;
    tx.put(&obj, AUTHOR, new.author.key())?;
    if let Some(party) = author.party {
        tx.put(&obj, PARTY, party.key())?;
    }
    tx.put(&obj, CREATED_AT, now)?;
    tx.put(&obj, START, start.to_string())?;
    if let Some(end) = end {
        tx.put(&obj, END, end.to_string())?;
    }
    tx.put(&obj, DELETED, deleted)?;
    tx.put(&obj, INSERT, new.insert.as_str())?;
    tx.put_object(&obj, DECISIONS, automerge::ObjType::Map)?;
    Ok(())
}

/// Accepts or rejects a suggestion, recording the decision under
/// `decision` (a fresh id).
///
/// Accepting applies it to the clause text as an ordinary edit by `by`, so
/// it is subject to [`agreement::may_edit`] and voids sign-offs like any
/// edit; it fails with [`OpError::NotApplicable`] if the words it changes
/// are no longer there as they were. A suggestion decided already (on this
/// replica) is refused with [`OpError::AlreadyDecided`].
pub fn decide<T: Tx>(
    tx: &mut T,
    id: ItemId,
    decision: ItemId,
    verdict: Verdict,
    by: MemberId,
    now: u64,
) -> OpResult {
    let now = check_date("time", now)?;
    let member = members::get(tx, by)?;
    refs::require_member(tx, by)?;
    let obj = require(tx, id)?;
    let suggestion = read_one(tx, id, &obj).ok_or_else(|| OpError::not_found("suggestion", &id))?;
    match suggestion.state {
        SuggestionState::Open => {}
        SuggestionState::Accepted(_) => return Err(OpError::AlreadyDecided("accepted")),
        SuggestionState::Rejected(_) => return Err(OpError::AlreadyDecided("rejected")),
    }
    let decisions = child_map(tx, &obj, DECISIONS).ok_or(OpError::Invalid {
        field: "suggestion",
        reason: "it has no decision record",
    })?;
    if tx.get(&decisions, decision.key())?.is_some() {
        return Err(OpError::Duplicate {
            kind: "decision",
            id: decision.key(),
        });
    }
    let mut inserted = None;
    if verdict == Verdict::Accept {
        agreement::may_edit(tx, suggestion.clause, Some(by))?;
        let Placement::At { start, end } = suggestion.placement else {
            return Err(OpError::NotApplicable);
        };
        let text = agreement::clause_body_text(tx, suggestion.clause)?;
        let delete = isize::try_from(end - start).map_err(|_| OpError::NotApplicable)?;
        tx.splice_text(&text, start, delete, &suggestion.insert)?;
        let length = suggestion.insert.chars().count();
        if length > 0 {
            let first = tx.get_cursor_moving(&text, start, None, MoveCursor::After)?;
            let last = tx.get_cursor_moving(&text, start + length - 1, None, MoveCursor::Before)?;
            inserted = Some((first, last));
        }
    }
    let entry = tx.put_object(&decisions, decision.key(), automerge::ObjType::Map)?;
    tx.put(&entry, VERDICT, verdict.as_str())?;
    tx.put(&entry, BY, by.key())?;
    if let Some(party) = member.party {
        tx.put(&entry, PARTY, party.key())?;
    }
    tx.put(&entry, AT, now)?;
    if let Some((first, last)) = inserted {
        tx.put(&entry, INSERTED_START, first.to_string())?;
        tx.put(&entry, INSERTED_END, last.to_string())?;
    }
    Ok(())
}

/// Accepts made after the first one that have inserted words not yet
/// taken out again: `(decision map, clause)` for each.
fn duplicate_accepts<R: ReadDoc>(doc: &R) -> Vec<(ObjId, ItemId)> {
    let Ok(root) = agreement_root(doc) else {
        return Vec::new();
    };
    lazy_maps::entries(doc, &root, SUGGESTIONS)
        .into_iter()
        .flat_map(|(_, obj)| {
            let clause = get_str(doc, &obj, CLAUSE).and_then(|c| c.parse::<ItemId>().ok());
            read_decisions(doc, &obj)
                .into_iter()
                .filter(|(d, _)| d.verdict == Verdict::Accept)
                .skip(1)
                .filter(|(_, entry)| {
                    get_str(doc, entry, INSERTED_START).is_some() && !get_bool(doc, entry, SETTLED)
                })
                .filter_map(move |(_, entry)| Some((entry, clause?)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether a merge brought in two accepts of one suggestion whose second
/// insertion still has to be taken out (see [`settle`]).
pub fn unsettled<R: ReadDoc>(doc: &R) -> bool {
    !duplicate_accepts(doc).is_empty()
}

/// Takes out the words inserted by every accept of a suggestion other than
/// the first, so the suggested words read once (see the module docs).
/// Idempotent, and safe to run on several replicas at once. Returns how
/// many accepts it settled.
pub fn settle<T: Tx>(tx: &mut T) -> OpResult<usize> {
    let pending = duplicate_accepts(tx);
    for (entry, clause) in &pending {
        if let Ok(text) = agreement::clause_body_text(tx, *clause) {
            let index = CharIndex::of(tx, &text);
            let find = |key| get_str(tx, entry, key).and_then(|c| index.find(&c));
            let range = find(INSERTED_START)
                .zip(find(INSERTED_END))
                .filter(|(s, e)| s <= e);
            if let Some((start, end)) = range {
                let delete =
                    isize::try_from(end + 1 - start).map_err(|_| OpError::NotApplicable)?;
                tx.splice_text(&text, start, delete, "")?;
            }
        }
        put(tx, entry, SETTLED, true)?;
    }
    Ok(pending.len())
}

#[cfg(test)]
mod tests;
