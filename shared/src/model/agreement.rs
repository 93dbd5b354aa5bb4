//! The agreement (memorandum of understanding) the partners negotiate:
//! `agreement.clauses{}`, `agreement.comments{}`; sign-offs live in
//! `agreement.signoffs{}` (see [`super::signoff`]).
//!
//! - `clauses{id → {title: str, body: Text, status, created_at, order,
//!   deleted_at?}}`. The body is edited by splices ([`edit_clause_body`], or
//!   [`set_clause_body`] which computes the smallest splice), so two people
//!   typing in one clause both keep their words.
//! - `comments{id → {clause, author, body: Text, reply_to?, resolved,
//!   resolved_by?, resolved_at?, created_at, order, deleted_at?}}`: threads
//!   one level deep (a reply to a reply joins the thread of its root); the
//!   root carries the thread's `resolved` flag.
//!
//! Clauses and comments are deleted and restored like every other item,
//! with [`items::delete`] and [`items::restore`] on
//! [`items::Collection::Clauses`] and [`items::Collection::Comments`] (the soft delete of [`super::items`]); a
//! deleted comment's replies stay, shown as threads of their own.

use automerge::{ObjId, ObjType, ROOT, ReadDoc, Value};
use sha2::{Digest, Sha256};

use super::error::{OpError, OpResult};
use super::fields::{
    Tx, check_date, child_map, get_bool, get_parsed, get_str, get_string, get_text, get_u64,
    new_text, non_empty, put, put_opt, set_text,
};
use super::ids::{ItemId, MemberId, PartyId};
use super::items::{self, Collection, DELETED_AT};
use super::refs;
use super::stored_names::stored_names;
use crate::text::{self, Splice};

pub(crate) use super::keys::AGREEMENT;
pub(crate) const CLAUSES: &str = "clauses";
pub(crate) const COMMENTS: &str = "comments";
pub(crate) const SIGNOFFS: &str = "signoffs";
pub(crate) const TITLE: &str = "title";
pub(crate) const BODY: &str = "body";
pub(crate) const STATUS: &str = "status";
const CREATED_AT: &str = "created_at";
pub(crate) const CLAUSE: &str = "clause";
const AUTHOR: &str = "author";
const REPLY_TO: &str = "reply_to";
const RESOLVED: &str = "resolved";
const RESOLVED_BY: &str = "resolved_by";
const RESOLVED_AT: &str = "resolved_at";
const QUOTE: &str = "quote";
/// The party that proposed the clause (set with the `proposed` status).
pub(crate) const PROPOSED_BY: &str = "proposed_by";

/// The longest clause title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

stored_names! {
    /// Where a clause stands in the negotiation.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum ClauseStatus {
        /// Being written; not yet put to the other side.
        Draft => "draft",
        /// Put to the other side for agreement.
        Proposed => "proposed",
        /// Both sides say it is settled (sign-offs are what proves it).
        Agreed => "agreed",
    }

    /// Every status, in workflow order.
    ALL;
    parse error: "status", "unknown status";
}

/// A clause of the agreement.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// Its id.
    pub id: ItemId,
    /// Its heading.
    pub title: String,
    /// Its text.
    pub body: String,
    /// Where it stands.
    pub status: ClauseStatus,
    /// When it was added (UTC ms).
    pub created_at: Option<u64>,
    /// The party that proposed it, while it is proposed (`None` for a
    /// clause proposed by a client that did not record it: no edit rule).
    pub proposed_by: Option<PartyId>,
}

/// The fields of a new clause (status starts as draft).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewClause {
    /// Its heading (required, at most [`MAX_TITLE_CHARS`]).
    pub title: String,
    /// Its text.
    pub body: String,
}

/// A comment on a clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// Its id.
    pub id: ItemId,
    /// The clause it is about.
    pub clause: ItemId,
    /// Who wrote it.
    pub author: Option<MemberId>,
    /// What it says.
    pub body: String,
    /// The thread root it replies to (`None` for a root).
    pub reply_to: Option<ItemId>,
    /// Whether the thread is resolved (meaningful on a root).
    pub resolved: bool,
    /// Who resolved the thread.
    pub resolved_by: Option<MemberId>,
    /// When the thread was resolved (UTC ms).
    pub resolved_at: Option<u64>,
    /// When it was written (UTC ms).
    pub created_at: Option<u64>,
    /// The words it was written about, for a comment anchored to a range
    /// of the clause text (`None`: about the whole clause).
    pub quote: Option<String>,
    /// Where those words are now (filled in by [`comments`] for anchored
    /// thread roots).
    pub anchor: Option<CommentAnchor>,
}

/// Where an anchored comment's words are in the clause text now.
///
/// The range is an Automerge mark named `comment:<comment id>` on the
/// clause body (not expanding at its edges). Unlike a pair of cursors, a
/// mark follows its words as a whole: text typed inside the range joins
/// it, text removed from it shrinks it, and when every marked character is
/// gone the mark is gone, which reads as [`CommentAnchor::TextRemoved`].
/// A mark does not change the text, so content hashes, sign-offs and
/// clients that do not read marks are unaffected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentAnchor {
    /// The words at characters `start..end` of the clause text.
    Range {
        /// First character (inclusive).
        start: usize,
        /// End (exclusive).
        end: usize,
        /// Those words as they read now.
        text: String,
    },
    /// Every word the comment was about has been removed.
    TextRemoved,
}

/// A comment and its replies, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    /// The comment that opened the thread (carries `resolved`).
    pub root: Comment,
    /// The replies.
    pub replies: Vec<Comment>,
}

/// The fields of a new comment.
#[derive(Debug, Clone, PartialEq)]
pub struct NewComment {
    /// The clause it is about (must exist).
    pub clause: ItemId,
    /// Who writes it (a current member).
    pub author: MemberId,
    /// What it says (required).
    pub body: String,
    /// The comment it answers (same clause); a reply to a reply joins the
    /// thread of its root.
    pub reply_to: Option<ItemId>,
}

/// The whole agreement, read at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// The clauses in display order.
    pub clauses: Vec<Clause>,
    /// Every live comment thread, by clause order then age.
    pub threads: Vec<Thread>,
}

/// The standard outline: each heading with a neutral starter sentence.
pub const STANDARD_OUTLINE: [(&str, &str); 11] = [
    (
        "Purpose",
        "This agreement sets out why the parties are working together and what they expect the partnership to achieve.",
    ),
    (
        "Objectives",
        "The parties will pursue the shared objectives listed here, each with its deliverables and target dates.",
    ),
    (
        "Roles and responsibilities",
        "Each party is responsible for the activities assigned to it; the responsibilities matrix names who does, approves, advises and is kept informed.",
    ),
    (
        "Resources",
        "Each party will contribute the people, budget, tools and facilities described here.",
    ),
    (
        "Governance and decision-making",
        "A joint steering group oversees the partnership; this clause states who decides what and how decisions are recorded.",
    ),
    (
        "Communication",
        "The parties will keep each other informed through the channels and at the frequency set out in the communication plan.",
    ),
    (
        "KPIs and reviews",
        "Progress is measured against the agreed indicators and reviewed together at least once a quarter.",
    ),
    (
        "Conflict resolution and escalation",
        "Disagreements are first raised between the partnership managers and, if unresolved, escalated step by step as described here.",
    ),
    (
        "Confidentiality",
        "Information shared under this partnership is used only for its purposes and is not disclosed to others without consent.",
    ),
    (
        "Term",
        "This agreement takes effect on signature and runs for the period stated here unless extended or ended earlier.",
    ),
    (
        "Renegotiation and exit",
        "Either party may ask to revisit these terms; this clause describes the notice required and how the partnership is wound down.",
    ),
];

/// One of the agreement's maps (`clauses`, `comments`, `signoffs`).
pub(crate) fn agreement_map<R: ReadDoc>(doc: &R, key: &'static str) -> OpResult<ObjId> {
    child_map(doc, &ROOT, AGREEMENT)
        .and_then(|agreement| child_map(doc, &agreement, key))
        .ok_or(OpError::NotInitialized(match key {
            CLAUSES => "agreement.clauses",
            COMMENTS => "agreement.comments",
            _ => "agreement.signoffs",
        }))
}

/// The live clause's map, or [`OpError::NotFound`].
pub(crate) fn require_clause<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<ObjId> {
    let clauses = agreement_map(doc, CLAUSES)?;
    items::live(doc, &clauses, &id.key()).ok_or_else(|| OpError::not_found("clause", &id))
}

fn check_title(title: &str) -> OpResult<String> {
    let title = non_empty("title", title)?;
    if title.chars().count() > MAX_TITLE_CHARS || title.contains(['\n', '\r']) {
        return Err(OpError::Invalid {
            field: "title",
            reason: "a clause title is one line of at most 200 characters",
        });
    }
    Ok(title)
}

fn read_clause<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Clause {
    Clause {
        id,
        title: get_string(doc, obj, TITLE),
        body: get_text(doc, obj, BODY),
        status: get_parsed(doc, obj, STATUS).unwrap_or(ClauseStatus::Draft),
        created_at: get_u64(doc, obj, CREATED_AT),
        proposed_by: get_parsed(doc, obj, PROPOSED_BY),
    }
}

/// The clauses, in display order (empty if the document has none).
pub fn clauses<R: ReadDoc>(doc: &R) -> Vec<Clause> {
    items::read_all(doc, Collection::Clauses, |id, obj| {
        read_clause(doc, id, obj)
    })
}

/// The ids of the live clauses, in display order, without reading their
/// text (cheap enough to re-run on every keystroke).
pub fn clause_ids<R: ReadDoc>(doc: &R) -> Vec<ItemId> {
    let Ok(map) = agreement_map(doc, CLAUSES) else {
        return Vec::new();
    };
    items::entries(doc, &map)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

/// One clause, or [`OpError::NotFound`].
pub fn clause<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<Clause> {
    let obj = require_clause(doc, id)?;
    Ok(read_clause(doc, id, &obj))
}

/// The clause body's Text object, for a text editor that keeps cursors
/// (for example with Automerge cursors) and applies splices itself.
pub fn clause_body_text<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<ObjId> {
    let obj = require_clause(doc, id)?;
    match doc.get(&obj, BODY)? {
        Some((Value::Object(ObjType::Text), text)) => Ok(text),
        _ => Err(OpError::Invalid {
            field: "body",
            reason: "the clause body is not text",
        }),
    }
}

/// The text object of a clause body that `editor` may edit (see
/// [`may_edit`]).
pub(crate) fn editable_body_text<R: ReadDoc>(
    doc: &R,
    id: ItemId,
    editor: Option<MemberId>,
) -> OpResult<ObjId> {
    may_edit(doc, id, editor)?;
    clause_body_text(doc, id)
}

/// The whole agreement.
pub fn read<R: ReadDoc>(doc: &R) -> Agreement {
    let clauses = clauses(doc);
    let threads = clauses
        .iter()
        .flat_map(|clause| comments(doc, clause.id))
        .collect();
    Agreement { clauses, threads }
}

/// Adds a clause at the end, as a draft.
pub fn add_clause<T: Tx>(tx: &mut T, id: ItemId, new: &NewClause, now: u64) -> OpResult {
    let title = check_title(&new.title)?;
    let now = check_date("time", now)?;
    let map = agreement_map(tx, CLAUSES)?;
    let obj = items::create(tx, &map, "clause", id)?;
    write_new_clause(tx, &obj, &title, &new.body, now)
}

fn write_new_clause<T: Tx>(tx: &mut T, obj: &ObjId, title: &str, body: &str, now: u64) -> OpResult {
    tx.put(obj, TITLE, title)?;
    new_text(tx, obj, BODY, body)?;
    tx.put(obj, STATUS, ClauseStatus::Draft.as_str())?;
    tx.put(obj, CREATED_AT, now)?;
    Ok(())
}

/// The id of the standard outline's `index`-th clause: the first 16 bytes of
/// `SHA-256("accord/agreement/standard-outline/v1" ‖ index)`.
///
/// Every replica derives the same ids, so two people adding the outline at
/// the same time write the same keys and the merged agreement holds one
/// copy (Automerge keeps one of the two concurrent clause maps under each
/// key; comments and sign-offs name the clause id, so they stay attached
/// whichever copy wins).
pub fn standard_outline_clause_id(index: usize) -> ItemId {
    let mut hash = Sha256::new();
    hash.update(b"accord/agreement/standard-outline/v1");
    hash.update((index as u64).to_be_bytes());
    let digest = hash.finalize();
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&digest[..16]);
    ItemId::from_bytes(bytes)
}

/// Adds the standard outline (see [`STANDARD_OUTLINE`]) after any existing
/// clauses, under the ids of [`standard_outline_clause_id`]. A heading whose
/// clause is already in the document (even removed: restore it from the
/// removed list instead) is skipped; when every heading is there the
/// outline is refused with [`OpError::Invalid`] and nothing is written.
pub fn standard_outline<T: Tx>(tx: &mut T, now: u64) -> OpResult {
    let now = check_date("time", now)?;
    let map = agreement_map(tx, CLAUSES)?;
    let mut missing = Vec::new();
    for (index, heading) in STANDARD_OUTLINE.iter().enumerate() {
        let id = standard_outline_clause_id(index);
        if tx.get(&map, id.key())?.is_none() {
            missing.push((id, heading));
        }
    }
    if missing.is_empty() {
        return Err(OpError::Invalid {
            field: "outline",
            reason: "the standard outline is already in the agreement",
        });
    }
    for (id, (title, body)) in missing {
        let obj = items::create(tx, &map, "clause", id)?;
        write_new_clause(tx, &obj, title, body, now)?;
    }
    Ok(())
}

/// Renames a clause.
pub fn set_clause_title<T: Tx>(tx: &mut T, id: ItemId, title: &str) -> OpResult {
    let title = check_title(title)?;
    let obj = require_clause(tx, id)?;
    put(tx, &obj, TITLE, title)
}

/// Whether `editor` may edit the clause's text directly.
///
/// The negotiation rule: once a clause is *proposed*, only members of the
/// party that proposed it edit it; everyone else may only suggest
/// ([`OpError::SuggestOnly`]; see [`super::suggestions`]). A device that has
/// not joined as a member (`None`) counts as another party. A clause
/// proposed by a client that did not record the proposing party, or one in
/// draft or agreed, may be edited by anyone.
pub fn may_edit<R: ReadDoc>(doc: &R, id: ItemId, editor: Option<MemberId>) -> OpResult {
    let clause = clause(doc, id)?;
    let Some(proposer) = clause
        .proposed_by
        .filter(|_| clause.status == ClauseStatus::Proposed)
    else {
        return Ok(());
    };
    let editor_party = editor.and_then(|m| refs::member_party(doc, m));
    if editor_party == Some(proposer) {
        Ok(())
    } else {
        Err(OpError::SuggestOnly)
    }
}

/// Applies one splice to a clause body (what a text editor reports as the
/// user types), by `editor` (the member this device acts for, if any),
/// subject to [`may_edit`].
pub fn edit_clause_body<T: Tx>(
    tx: &mut T,
    id: ItemId,
    edit: &Splice,
    editor: Option<MemberId>,
) -> OpResult {
    let text = editable_body_text(tx, id, editor)?;
    text::splice(tx, &text, edit)?;
    Ok(())
}

/// Makes a clause body read `body`, by the smallest splice (for a text box
/// that reports its whole value), subject to [`may_edit`].
pub fn set_clause_body<T: Tx>(
    tx: &mut T,
    id: ItemId,
    body: &str,
    editor: Option<MemberId>,
) -> OpResult {
    may_edit(tx, id, editor)?;
    let obj = require_clause(tx, id)?;
    set_text(tx, &obj, BODY, body)
}

/// Moves a clause to be shown at `index` among the live clauses (clamped
/// to the end): halfway between its new neighbours, so two people moving
/// different clauses never conflict.
pub fn move_clause<T: Tx>(tx: &mut T, id: ItemId, index: usize) -> OpResult {
    items::move_to(tx, Collection::Clauses, id, index)
}

/// Sets a clause's status, as `by` (the member this device acts for, if
/// any). Proposing records `by`'s party as the proposer, which from then on
/// is the only party that edits the text directly (see [`may_edit`]); any
/// other status clears it.
pub fn set_clause_status<T: Tx>(
    tx: &mut T,
    id: ItemId,
    status: ClauseStatus,
    by: Option<MemberId>,
) -> OpResult {
    let obj = require_clause(tx, id)?;
    let proposer = match status {
        ClauseStatus::Proposed => by.and_then(|m| refs::member_party(tx, m)),
        _ => None,
    };
    put(tx, &obj, STATUS, status.as_str())?;
    put_opt(tx, &obj, PROPOSED_BY, proposer)
}

/// Deleted clauses, most recently deleted first: `(clause, deleted at)`,
/// whole, for the agreement page's list of deleted clauses (the generic
/// [`items::deleted`] with [`items::Collection::Clauses`] gives their titles only).
pub fn deleted_clauses<R: ReadDoc>(doc: &R) -> Vec<(Clause, u64)> {
    let Ok(map) = agreement_map(doc, CLAUSES) else {
        return Vec::new();
    };
    let mut found: Vec<(Clause, u64)> = doc
        .keys(&map)
        .filter_map(|key| {
            let id = key.parse::<ItemId>().ok()?;
            let obj = child_map(doc, &map, &key)?;
            let at = get_u64(doc, &obj, DELETED_AT)?;
            Some((read_clause(doc, id, &obj), at))
        })
        .collect();
    found.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    found
}

fn read_comment<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Option<Comment> {
    Some(Comment {
        id,
        clause: get_parsed(doc, obj, CLAUSE)?,
        author: get_parsed(doc, obj, AUTHOR),
        body: get_text(doc, obj, BODY),
        reply_to: get_parsed(doc, obj, REPLY_TO),
        resolved: get_bool(doc, obj, RESOLVED),
        resolved_by: get_parsed(doc, obj, RESOLVED_BY),
        resolved_at: get_u64(doc, obj, RESOLVED_AT),
        created_at: get_u64(doc, obj, CREATED_AT),
        quote: get_str(doc, obj, QUOTE),
        anchor: None,
    })
}

/// The name of the mark holding an anchored comment's range.
fn anchor_mark(comment: ItemId) -> String {
    format!("comment:{}", comment.key())
}

/// Fills in where each anchored root's words are now.
fn locate_anchors<R: ReadDoc>(doc: &R, clause: ItemId, threads: &mut [Thread]) {
    if threads.iter().all(|t| t.root.quote.is_none()) {
        return;
    }
    let Ok(text) = clause_body_text(doc, clause) else {
        return;
    };
    let marks = doc.marks(&text).unwrap_or_default();
    let chars: Vec<char> = doc.text(&text).unwrap_or_default().chars().collect();
    for thread in threads.iter_mut().filter(|t| t.root.quote.is_some()) {
        let name = anchor_mark(thread.root.id);
        let span = marks
            .iter()
            .filter(|m| m.name() == name && m.start < m.end)
            .fold(None, |acc: Option<(usize, usize)>, m| match acc {
                None => Some((m.start, m.end)),
                Some((s, e)) => Some((s.min(m.start), e.max(m.end))),
            });
        thread.root.anchor = Some(match span {
            Some((start, end)) if end <= chars.len() => CommentAnchor::Range {
                start,
                end,
                text: chars[start..end].iter().collect(),
            },
            _ => CommentAnchor::TextRemoved,
        });
    }
}

fn all_comments<R: ReadDoc>(doc: &R) -> Vec<Comment> {
    let Ok(map) = agreement_map(doc, COMMENTS) else {
        return Vec::new();
    };
    let mut found: Vec<Comment> = items::entries(doc, &map)
        .into_iter()
        .filter_map(|(id, obj)| read_comment(doc, id, &obj))
        .collect();
    found.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    found
}

/// The comment threads on a clause, oldest first. Replies whose root was
/// removed are shown as threads of their own.
pub fn comments<R: ReadDoc>(doc: &R, clause: ItemId) -> Vec<Thread> {
    let on_clause: Vec<Comment> = all_comments(doc)
        .into_iter()
        .filter(|c| c.clause == clause)
        .collect();
    let roots: Vec<ItemId> = on_clause
        .iter()
        .filter(|c| {
            c.reply_to
                .is_none_or(|root| !on_clause.iter().any(|r| r.id == root))
        })
        .map(|c| c.id)
        .collect();
    let mut threads: Vec<Thread> = Vec::new();
    for comment in on_clause {
        if roots.contains(&comment.id) {
            threads.push(Thread {
                root: comment,
                replies: Vec::new(),
            });
        } else if let Some(thread) = threads
            .iter_mut()
            .find(|t| Some(t.root.id) == comment.reply_to)
        {
            thread.replies.push(comment);
        } else {
            // A reply older than its root (clock skew): show it on its own.
            threads.push(Thread {
                root: comment,
                replies: Vec::new(),
            });
        }
    }
    locate_anchors(doc, clause, &mut threads);
    threads
}

/// How many unresolved threads a clause has.
pub fn open_threads<R: ReadDoc>(doc: &R, clause: ItemId) -> usize {
    comments(doc, clause)
        .iter()
        .filter(|t| !t.root.resolved)
        .count()
}

fn require_comment<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<ObjId> {
    let map = agreement_map(doc, COMMENTS)?;
    items::live(doc, &map, &id.key()).ok_or_else(|| OpError::not_found("comment", &id))
}

/// Comments on a clause, or replies to a comment.
pub fn add_comment<T: Tx>(tx: &mut T, id: ItemId, new: &NewComment, now: u64) -> OpResult {
    let body = non_empty("comment", &new.body)?;
    let now = check_date("time", now)?;
    require_clause(tx, new.clause)?;
    refs::require_member(tx, new.author)?;
    let reply_to = match new.reply_to {
        None => None,
        Some(parent) => {
            let obj = require_comment(tx, parent)?;
            let parent_comment = read_comment(tx, parent, &obj)
                .ok_or_else(|| OpError::not_found("comment", &parent))?;
            if parent_comment.clause != new.clause {
                return Err(OpError::Invalid {
                    field: "reply",
                    reason: "it answers a comment on another clause",
                });
            }
            Some(parent_comment.reply_to.unwrap_or(parent))
        }
    };
    let map = agreement_map(tx, COMMENTS)?;
    let obj = items::create(tx, &map, "comment", id)?;
    tx.put(&obj, CLAUSE, new.clause.key())?;
    tx.put(&obj, AUTHOR, new.author.key())?;
    new_text(tx, &obj, BODY, &body)?;
    put_opt(tx, &obj, REPLY_TO, reply_to)?;
    tx.put(&obj, RESOLVED, false)?;
    tx.put(&obj, CREATED_AT, now)?;
    Ok(())
}

/// Opens a thread about the words at characters `range` of the clause
/// text (see [`CommentAnchor`] for how the range follows edits). The words
/// are also kept as the comment's `quote`, so a client that does not read
/// marks still shows what the comment was about.
pub fn add_anchored_comment<T: Tx>(
    tx: &mut T,
    id: ItemId,
    new: &NewComment,
    range: std::ops::Range<usize>,
    now: u64,
) -> OpResult {
    if new.reply_to.is_some() {
        return Err(OpError::Invalid {
            field: "comment",
            reason: "a reply joins its thread's words; only a new thread picks words",
        });
    }
    let (text, quote) = selected_words(tx, new.clause, &range)?;
    add_comment(tx, id, new, now)?;
    let map = agreement_map(tx, COMMENTS)?;
    let obj = items::live(tx, &map, &id.key()).ok_or_else(|| OpError::not_found("comment", &id))?;
    anchor_on_words(tx, &obj, id, &text, range, quote)
}

/// The text object of `clause`'s body and the words `range` selects in it,
/// refused unless the range holds one or more of its characters.
fn selected_words<R: ReadDoc>(
    doc: &R,
    clause: ItemId,
    range: &std::ops::Range<usize>,
) -> OpResult<(ObjId, String)> {
    let text = clause_body_text(doc, clause)?;
    let chars: Vec<char> = doc.text(&text)?.chars().collect();
    if range.start >= range.end || range.end > chars.len() {
        return Err(OpError::Invalid {
            field: "selection",
            reason: "select one or more words of the clause text",
        });
    }
    let quote = chars[range.clone()].iter().collect();
    Ok((text, quote))
}

/// Puts comment `id` (its map `obj`) on the characters `range` of `text`:
/// it keeps `quote` and a mark that follows those words through edits.
fn anchor_on_words<T: Tx>(
    tx: &mut T,
    obj: &ObjId,
    id: ItemId,
    text: &ObjId,
    range: std::ops::Range<usize>,
    quote: String,
) -> OpResult {
    tx.put(obj, QUOTE, quote)?;
    tx.mark(
        text,
        automerge::marks::Mark::new(anchor_mark(id), true, range.start, range.end),
        automerge::marks::ExpandMark::None,
    )?;
    Ok(())
}

/// Moves the clause-level thread `id` (one opened on the whole clause, or
/// from a document that predates comments on words) onto the characters
/// `range` of its clause's text, which must still read `words` (the words
/// the person selected): from then on it quotes them and follows them like
/// a thread opened on words. Refused for a reply and for a thread already
/// on words. Two people attaching one thread at once to different words
/// converge: one quote wins, and the range covers both selections.
pub fn attach_to_words<T: Tx>(
    tx: &mut T,
    id: ItemId,
    range: std::ops::Range<usize>,
    words: &str,
) -> OpResult {
    let obj = require_comment(tx, id)?;
    let comment = read_comment(tx, id, &obj).ok_or_else(|| OpError::not_found("comment", &id))?;
    if comment.reply_to.is_some() {
        return Err(OpError::Invalid {
            field: "comment",
            reason: "only a thread, not a reply, can be attached to words",
        });
    }
    if comment.quote.is_some() {
        return Err(OpError::Invalid {
            field: "comment",
            reason: "this thread is already about words",
        });
    }
    let (text, quote) = selected_words(tx, comment.clause, &range)?;
    if quote != words {
        return Err(OpError::Invalid {
            field: "selection",
            reason: "the selected words changed; select them again in the clause text",
        });
    }
    anchor_on_words(tx, &obj, id, &text, range, quote)
}

/// Rewrites a comment (by the smallest splice).
pub fn edit_comment<T: Tx>(tx: &mut T, id: ItemId, body: &str) -> OpResult {
    let body = non_empty("comment", body)?;
    let obj = require_comment(tx, id)?;
    set_text(tx, &obj, BODY, &body)
}

/// Resolves (or reopens) the thread `id` belongs to.
pub fn resolve_thread<T: Tx>(
    tx: &mut T,
    id: ItemId,
    resolved: bool,
    by: MemberId,
    now: u64,
) -> OpResult {
    let now = check_date("time", now)?;
    refs::require_member(tx, by)?;
    let obj = require_comment(tx, id)?;
    let comment = read_comment(tx, id, &obj).ok_or_else(|| OpError::not_found("comment", &id))?;
    let root = match comment.reply_to {
        Some(root) => require_comment(tx, root).unwrap_or(obj),
        None => obj,
    };
    put(tx, &root, RESOLVED, resolved)?;
    if resolved {
        put(tx, &root, RESOLVED_BY, by.key())?;
        put(tx, &root, RESOLVED_AT, now)?;
    } else {
        put_opt::<_, String>(tx, &root, RESOLVED_BY, None)?;
        put_opt::<_, u64>(tx, &root, RESOLVED_AT, None)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, AutoCommit};

    use super::*;
    use crate::model::items::Collection;
    use crate::model::test_support::{T0, id, partnership, sync_pair};

    fn titles(doc: &AutoCommit) -> Vec<String> {
        clauses(doc).into_iter().map(|c| c.title).collect()
    }

    fn new(title: &str, body: &str) -> NewClause {
        NewClause {
            title: title.into(),
            body: body.into(),
        }
    }

    #[test]
    fn add_edit_move_status_remove_restore() {
        let mut doc = partnership().doc;
        add_clause(&mut doc, id(1), &new(" Purpose ", "We agree."), T0).unwrap();
        add_clause(&mut doc, id(2), &new("Term", "One year."), T0).unwrap();
        add_clause(&mut doc, id(3), &new("Exit", ""), T0).unwrap();
        assert_eq!(titles(&doc), ["Purpose", "Term", "Exit"]);
        let purpose = clause(&doc, id(1)).unwrap();
        assert_eq!(purpose.body, "We agree.");
        assert_eq!(purpose.status, ClauseStatus::Draft);
        assert_eq!(purpose.created_at, Some(T0));

        set_clause_title(&mut doc, id(1), "Purpose and scope").unwrap();
        edit_clause_body(
            &mut doc,
            id(1),
            &Splice {
                position: 3,
                delete: 0,
                insert: "both ".into(),
            },
            None,
        )
        .unwrap();
        assert_eq!(clause(&doc, id(1)).unwrap().body, "We both agree.");
        set_clause_body(&mut doc, id(1), "We both fully agree.", None).unwrap();
        assert_eq!(clause(&doc, id(1)).unwrap().body, "We both fully agree.");
        set_clause_status(&mut doc, id(1), ClauseStatus::Proposed, None).unwrap();
        assert_eq!(clause(&doc, id(1)).unwrap().status, ClauseStatus::Proposed);

        move_clause(&mut doc, id(3), 0).unwrap();
        assert_eq!(titles(&doc), ["Exit", "Purpose and scope", "Term"]);
        move_clause(&mut doc, id(3), 99).unwrap();
        assert_eq!(titles(&doc), ["Purpose and scope", "Term", "Exit"]);

        items::delete(&mut doc, Collection::Clauses, id(2), T0 + 5).unwrap();
        assert_eq!(titles(&doc), ["Purpose and scope", "Exit"]);
        assert!(matches!(
            set_clause_title(&mut doc, id(2), "x"),
            Err(OpError::NotFound { kind: "clause", .. })
        ));
        let removed = deleted_clauses(&doc);
        assert_eq!(removed.len(), 1);
        assert_eq!(
            (removed[0].0.title.as_str(), removed[0].1),
            ("Term", T0 + 5)
        );
        items::restore(&mut doc, Collection::Clauses, id(2)).unwrap();
        assert_eq!(titles(&doc), ["Purpose and scope", "Term", "Exit"]);
        assert!(items::restore(&mut doc, Collection::Clauses, id(2)).is_err());
        for status in ClauseStatus::ALL {
            assert_eq!(status.to_string().parse::<ClauseStatus>().unwrap(), status);
        }
    }

    #[test]
    fn refused_clause_ops_write_nothing() {
        let mut doc = partnership().doc;
        add_clause(&mut doc, id(1), &new("Purpose", "abc"), T0).unwrap();
        doc.commit();
        type Op = Box<dyn Fn(&mut AutoCommit) -> OpResult>;
        let long = "x".repeat(MAX_TITLE_CHARS + 1);
        let failing: Vec<(&str, Op)> = vec![
            (
                "blank",
                Box::new(|d| add_clause(d, id(2), &new(" ", ""), T0)),
            ),
            (
                "long",
                Box::new(move |d| add_clause(d, id(2), &new(&long, ""), T0)),
            ),
            (
                "two lines",
                Box::new(|d| set_clause_title(d, id(1), "a\nb")),
            ),
            ("date", Box::new(|d| add_clause(d, id(2), &new("x", ""), 1))),
            (
                "duplicate",
                Box::new(|d| add_clause(d, id(1), &new("x", ""), T0)),
            ),
            (
                "splice",
                Box::new(|d| {
                    edit_clause_body(
                        d,
                        id(1),
                        &Splice {
                            position: 2,
                            delete: 5,
                            insert: String::new(),
                        },
                        None,
                    )
                }),
            ),
            (
                "missing",
                Box::new(|d| set_clause_body(d, id(9), "x", None)),
            ),
            (
                "status",
                Box::new(|d| set_clause_status(d, id(9), ClauseStatus::Agreed, None)),
            ),
            ("move", Box::new(|d| move_clause(d, id(9), 0))),
            (
                "remove",
                Box::new(|d| items::delete(d, Collection::Clauses, id(1), 0)),
            ),
            ("outline bad time", Box::new(|d| standard_outline(d, 0))),
        ];
        for (name, op) in failing {
            assert!(op(&mut doc).is_err(), "{name} should fail");
            assert_eq!(doc.pending_ops(), 0, "{name} wrote to the document");
        }
        assert_eq!(titles(&doc), ["Purpose"]);
    }

    #[test]
    fn standard_outline_adds_every_heading_after_existing_clauses() {
        let mut doc = partnership().doc;
        add_clause(&mut doc, id(1), &new("Preamble", ""), T0).unwrap();
        standard_outline(&mut doc, T0).unwrap();
        let read = clauses(&doc);
        assert_eq!(read.len(), 12);
        assert_eq!(read[0].title, "Preamble");
        assert_eq!(read[1].title, "Purpose");
        assert_eq!(read[11].title, "Renegotiation and exit");
        assert!(read[1..].iter().all(|c| !c.body.is_empty()));
        assert!(read.iter().all(|c| c.status == ClauseStatus::Draft));
    }

    #[test]
    fn the_standard_outline_is_added_once_and_skips_what_is_there() {
        let mut doc = partnership().doc;
        standard_outline(&mut doc, T0).unwrap();
        doc.commit();
        assert!(matches!(
            standard_outline(&mut doc, T0),
            Err(OpError::Invalid {
                field: "outline",
                ..
            })
        ));
        assert_eq!(doc.pending_ops(), 0);
        assert_eq!(clauses(&doc).len(), STANDARD_OUTLINE.len());
        // A removed heading stays removed (restore brings it back).
        let confidentiality = standard_outline_clause_id(8);
        items::delete(&mut doc, Collection::Clauses, confidentiality, T0).unwrap();
        assert!(standard_outline(&mut doc, T0).is_err());
        items::restore(&mut doc, Collection::Clauses, confidentiality).unwrap();
        assert_eq!(clauses(&doc).len(), STANDARD_OUTLINE.len());
    }

    #[test]
    fn two_people_adding_the_outline_at_once_get_one_copy() {
        let mut alice = partnership()
            .doc
            .with_actor(ActorId::from(b"alice".as_slice()));
        let mut bea = alice.fork().with_actor(ActorId::from(b"bea".as_slice()));
        standard_outline(&mut alice, T0).unwrap();
        standard_outline(&mut bea, T0 + 5).unwrap();
        // Bea comments on a clause of her copy before they meet.
        let comment = NewComment {
            clause: standard_outline_clause_id(0),
            author: crate::model::members::list(&bea)[0].id,
            body: "Shorter, please.".into(),
            reply_to: None,
        };
        add_comment(&mut bea, id(90), &comment, T0 + 6).unwrap();
        sync_pair(&mut alice, &mut bea);
        for replica in [&alice, &bea] {
            let read = clauses(replica);
            let titles: Vec<&str> = read.iter().map(|c| c.title.as_str()).collect();
            let expected: Vec<&str> = STANDARD_OUTLINE.iter().map(|(t, _)| *t).collect();
            assert_eq!(titles, expected);
            assert_eq!(comments(replica, standard_outline_clause_id(0)).len(), 1);
        }
        assert_eq!(clauses(&alice), clauses(&bea));
        // After merging, nobody can add it a second time either.
        assert!(standard_outline(&mut alice, T0).is_err());
    }

    #[test]
    fn concurrent_typing_in_one_clause_merges() {
        let mut alice = partnership()
            .doc
            .with_actor(ActorId::from(b"alice".as_slice()));
        add_clause(&mut alice, id(1), &new("Term", "The term is one year."), T0).unwrap();
        alice.commit();
        let mut bob = alice.fork().with_actor(ActorId::from(b"bob".as_slice()));
        set_clause_body(&mut alice, id(1), "The initial term is one year.", None).unwrap();
        edit_clause_body(
            &mut bob,
            id(1),
            &Splice {
                position: 20,
                delete: 0,
                insert: ", renewable once".into(),
            },
            None,
        )
        .unwrap();
        sync_pair(&mut alice, &mut bob);
        let merged = "The initial term is one year, renewable once.";
        assert_eq!(clause(&alice, id(1)).unwrap().body, merged);
        assert_eq!(clause(&bob, id(1)).unwrap().body, merged);
    }

    #[test]
    fn removed_while_edited_keeps_the_edit() {
        let mut alice = partnership().doc;
        add_clause(&mut alice, id(1), &new("Term", "One year."), T0).unwrap();
        alice.commit();
        let mut bob = alice.fork();
        items::delete(&mut alice, Collection::Clauses, id(1), T0).unwrap();
        set_clause_body(&mut bob, id(1), "Two years.", None).unwrap();
        sync_pair(&mut alice, &mut bob);
        assert!(clauses(&alice).is_empty());
        items::restore(&mut alice, Collection::Clauses, id(1)).unwrap();
        assert_eq!(clause(&alice, id(1)).unwrap().body, "Two years.");
    }

    #[test]
    fn threaded_comments() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        add_clause(doc, id(1), &new("Term", ""), T0).unwrap();
        add_clause(doc, id(2), &new("Exit", ""), T0).unwrap();
        let comment = |clause, author, body: &str, reply_to| NewComment {
            clause,
            author,
            body: body.into(),
            reply_to,
        };
        add_comment(doc, id(10), &comment(id(1), alice, "Two years?", None), T0).unwrap();
        add_comment(
            doc,
            id(11),
            &comment(id(1), bob, "Fine.", Some(id(10))),
            T0 + 1,
        )
        .unwrap();
        add_comment(
            doc,
            id(12),
            &comment(id(1), alice, "Great.", Some(id(11))),
            T0 + 2,
        )
        .unwrap();
        add_comment(doc, id(13), &comment(id(1), bob, "Notice?", None), T0 + 3).unwrap();
        for bad in [
            comment(id(2), bob, "x", Some(id(10))),
            comment(id(1), bob, " ", None),
            comment(id(9), bob, "x", None),
            comment(id(1), MemberId::from_bytes([9; 16]), "x", None),
        ] {
            assert!(add_comment(doc, id(14), &bad, T0).is_err(), "{bad:?}");
        }
        let threads = comments(doc, id(1));
        assert_eq!(threads.len(), 2);
        assert_eq!(threads[0].root.body, "Two years?");
        assert_eq!(threads[0].root.author, Some(alice));
        let replies: Vec<_> = threads[0].replies.iter().map(|c| c.id).collect();
        assert_eq!(replies, [id(11), id(12)]);
        assert_eq!(threads[0].replies[1].reply_to, Some(id(10)));
        assert_eq!(open_threads(doc, id(1)), 2);

        resolve_thread(doc, id(12), true, bob, T0 + 4).unwrap();
        let root = &comments(doc, id(1))[0].root;
        assert!(root.resolved);
        assert_eq!(
            (root.resolved_by, root.resolved_at),
            (Some(bob), Some(T0 + 4))
        );
        assert_eq!(open_threads(doc, id(1)), 1);
        resolve_thread(doc, id(10), false, alice, T0 + 5).unwrap();
        assert!(!comments(doc, id(1))[0].root.resolved);

        edit_comment(doc, id(13), "Notice period?").unwrap();
        items::delete(doc, Collection::Comments, id(10), T0).unwrap();
        let threads = comments(doc, id(1));
        assert_eq!(threads.len(), 3, "orphaned replies become threads");
        assert_eq!(read(doc).threads.len(), 3);
        assert!(comments(doc, id(2)).is_empty());
    }

    #[test]
    fn a_clause_level_thread_moves_onto_words_and_follows_them() {
        let mut fixture = partnership();
        let bob = fixture.bob;
        let doc = &mut fixture.doc;
        add_clause(doc, id(1), &new("Term", "The term is one year."), T0).unwrap();
        let about = NewComment {
            clause: id(1),
            author: bob,
            body: "Too short?".into(),
            reply_to: None,
        };
        add_comment(doc, id(10), &about, T0).unwrap();
        let reply = NewComment {
            reply_to: Some(id(10)),
            body: "Agreed.".into(),
            ..about.clone()
        };
        add_comment(doc, id(11), &reply, T0 + 1).unwrap();
        doc.commit();
        // A clause-level thread (as every v1 thread is) reads as before.
        assert_eq!(comments(doc, id(1))[0].root.anchor, None);
        for bad in [
            attach_to_words(doc, id(11), 12..20, "one year"),
            attach_to_words(doc, id(10), 12..12, ""),
            attach_to_words(doc, id(10), 12..40, "one year"),
            attach_to_words(doc, id(10), 12..20, "two year"),
            attach_to_words(doc, id(99), 12..20, "one year"),
        ] {
            assert!(bad.is_err());
        }
        assert_eq!(doc.pending_ops(), 0);
        attach_to_words(doc, id(10), 12..20, "one year").unwrap();
        assert!(attach_to_words(doc, id(10), 0..3, "The").is_err());
        let splice = Splice {
            position: 0,
            delete: 0,
            insert: "So: ".into(),
        };
        edit_clause_body(doc, id(1), &splice, None).unwrap();
        let thread = &comments(doc, id(1))[0];
        assert_eq!(thread.root.quote.as_deref(), Some("one year"));
        assert_eq!(
            thread.root.anchor,
            Some(CommentAnchor::Range {
                start: 16,
                end: 24,
                text: "one year".into()
            })
        );
        assert_eq!(thread.replies.len(), 1, "the replies stay with it");
    }

    #[test]
    fn an_anchored_comment_follows_its_words() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        add_clause(doc, id(1), &new("Term", "The term is one year."), T0).unwrap();
        doc.commit();
        let about = |body: &str| NewComment {
            clause: id(1),
            author: bob,
            body: body.into(),
            reply_to: None,
        };
        add_anchored_comment(doc, id(10), &about("Two?"), 12..20, T0).unwrap();
        add_comment(doc, id(11), &about("General remark."), T0 + 1).unwrap();
        doc.commit();
        let reply = NewComment {
            reply_to: Some(id(10)),
            ..about("x")
        };
        for bad in [
            add_anchored_comment(doc, id(12), &about("x"), 3..3, T0),
            add_anchored_comment(doc, id(12), &about("x"), 15..40, T0),
            add_anchored_comment(doc, id(12), &reply, 0..3, T0),
            add_anchored_comment(doc, id(12), &about(" "), 0..3, T0),
        ] {
            assert!(bad.is_err());
        }
        assert_eq!(doc.pending_ops(), 0);
        let anchor = |doc: &AutoCommit| comments(doc, id(1))[0].root.anchor.clone();
        let range = |start, end, text: &str| {
            Some(CommentAnchor::Range {
                start,
                end,
                text: text.into(),
            })
        };
        assert_eq!(
            comments(doc, id(1))[0].root.quote.as_deref(),
            Some("one year")
        );
        assert_eq!(anchor(doc), range(12, 20, "one year"));
        assert_eq!(
            comments(doc, id(1))[1].root.anchor,
            None,
            "clause-level thread"
        );

        // Alice types before the words, and at both edges: the range keeps
        // to the words; typing inside joins them.
        let mut other = doc.fork().with_actor(ActorId::from(b"alice".as_slice()));
        set_clause_body(&mut other, id(1), "So: the term is one year.", Some(alice)).unwrap();
        sync_pair(doc, &mut other);
        assert_eq!(anchor(doc), range(16, 24, "one year"));
        for (position, insert) in [(24, ")"), (19, " full"), (16, "(")] {
            let splice = Splice {
                position,
                delete: 0,
                insert: insert.into(),
            };
            edit_clause_body(doc, id(1), &splice, None).unwrap();
        }
        assert_eq!(
            clause(doc, id(1)).unwrap().body,
            "So: the term is (one full year)."
        );
        assert_eq!(anchor(doc), range(17, 30, "one full year"));
        // Removing part keeps the rest; removing all reads as removed.
        set_clause_body(doc, id(1), "So: the term is (one).", None).unwrap();
        assert_eq!(anchor(doc), range(17, 20, "one"));
        set_clause_body(doc, id(1), "So: the term is open.", None).unwrap();
        assert_eq!(anchor(doc), Some(CommentAnchor::TextRemoved));
        assert_eq!(
            comments(doc, id(1))[0].root.quote.as_deref(),
            Some("one year")
        );
    }
}
