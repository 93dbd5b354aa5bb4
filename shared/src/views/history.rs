//! The agreement's history, read from Automerge's own change log.
//!
//! - [`timeline`]: every change that touched the agreement, with its time,
//!   its actor and, through `devices`, the member and party behind it, and a
//!   short description.
//! - [`changed_since`]: "what changed since you last looked": given the
//!   heads the viewer last saw, the clauses whose title, text, status or
//!   existence differ now, each attributed to the parties and members whose
//!   changes since then touched it.
//! - [`at`] / [`clauses_at`]: the agreement at any past heads.
//! - [`clause_diff`], [`diff_words`], [`diff_lines`]: a clause between two
//!   versions, as a word (or line) diff. The edit script comes from the
//!   `similar` crate (Myers with a work limit: long texts get a real diff,
//!   wholly rewritten ones stay fast); this module only cuts texts into
//!   tokens and groups the script into readable runs. The crate costs
//!   about 50 KB of the web app's wasm (0.6 %; 22 KB gzipped), measured
//!   on the release build after `wasm-bindgen` and `wasm-opt -Oz`, with
//!   and without it; worth it for diffs that no longer give up.
//!
//! Change times: Automerge records a change's time in whole seconds (the
//! convention of every Automerge client, and what Accord's clients write);
//! [`HistoryEntry::at`] turns it into UTC milliseconds. A change without a
//! time (0) has none.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{
    ActorId, Automerge, AutomergeError, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue,
    Value,
};

use crate::model::agreement::{
    self, AGREEMENT, BODY, CLAUSE, CLAUSES, COMMENTS, ClauseStatus, SIGNOFFS, STATUS, TITLE,
};
use crate::model::items::{DELETED_AT, ORDER};
use crate::model::{ItemId, MemberId, PartyId, members};

/// Why a history question could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The heads name a change this replica does not have (yet).
    #[error("unknown version: this device has no change {0}")]
    UnknownHeads(ChangeHash),
    /// Automerge refused.
    #[error(transparent)]
    Automerge(#[from] AutomergeError),
}

/// One thing a change did to the agreement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Edit {
    /// Added a clause.
    ClauseAdded {
        /// The clause.
        clause: ItemId,
    },
    /// Renamed a clause.
    ClauseRenamed {
        /// The clause.
        clause: ItemId,
    },
    /// Typed in a clause body.
    ClauseText {
        /// The clause.
        clause: ItemId,
        /// Characters inserted.
        inserted: usize,
        /// Characters deleted.
        deleted: usize,
    },
    /// Set a clause's status.
    ClauseStatus {
        /// The clause.
        clause: ItemId,
        /// The status set (`None` if unreadable).
        status: Option<ClauseStatus>,
    },
    /// Moved a clause.
    ClauseMoved {
        /// The clause.
        clause: ItemId,
    },
    /// Removed a clause.
    ClauseRemoved {
        /// The clause.
        clause: ItemId,
    },
    /// Restored a removed clause.
    ClauseRestored {
        /// The clause.
        clause: ItemId,
    },
    /// Wrote, edited, resolved or removed a comment.
    Commented {
        /// The clause commented on, if known.
        clause: Option<ItemId>,
    },
    /// Signed off a clause.
    SignedOff {
        /// The clause.
        clause: Option<ItemId>,
        /// The member named in the sign-off.
        member: Option<MemberId>,
    },
    /// Withdrew a sign-off.
    SignoffWithdrawn {
        /// The clause.
        clause: Option<ItemId>,
    },
    /// Suggested a change to a clause's text.
    Suggested {
        /// The clause.
        clause: Option<ItemId>,
    },
    /// Accepted a suggestion (the text change itself is a
    /// [`Edit::ClauseText`] of the same change).
    SuggestionAccepted {
        /// The clause.
        clause: Option<ItemId>,
    },
    /// Rejected a suggestion.
    SuggestionRejected {
        /// The clause.
        clause: Option<ItemId>,
    },
    /// Saved a named version.
    VersionSaved {
        /// Its name.
        name: String,
    },
}

impl Edit {
    /// The clause whose title, text, status, place or existence this edit
    /// changes (comments and sign-offs change none).
    pub fn clause_changed(&self) -> Option<ItemId> {
        match self {
            Self::ClauseAdded { clause }
            | Self::ClauseRenamed { clause }
            | Self::ClauseText { clause, .. }
            | Self::ClauseStatus { clause, .. }
            | Self::ClauseMoved { clause }
            | Self::ClauseRemoved { clause }
            | Self::ClauseRestored { clause } => Some(*clause),
            Self::Commented { .. }
            | Self::SignedOff { .. }
            | Self::SignoffWithdrawn { .. }
            | Self::Suggested { .. }
            | Self::SuggestionAccepted { .. }
            | Self::SuggestionRejected { .. }
            | Self::VersionSaved { .. } => None,
        }
    }
}

/// A change that touched the agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The change.
    pub hash: ChangeHash,
    /// When it was made (UTC ms), if recorded.
    pub at: Option<u64>,
    /// The device (Automerge actor, hex).
    pub actor: String,
    /// The member behind the device, if registered.
    pub member: Option<MemberId>,
    /// That member's party.
    pub party: Option<PartyId>,
    /// What it did.
    pub edits: Vec<Edit>,
    /// A one-line summary, for example `edited “Term” (+12 −3)`.
    pub description: String,
}

/// Automerge change time (seconds; milliseconds from a client that wrote
/// them) as UTC milliseconds.
fn change_time(timestamp: i64) -> Option<u64> {
    let t = u64::try_from(timestamp).ok().filter(|t| *t > 0)?;
    Some(if t < 100_000_000_000 { t * 1000 } else { t })
}

/// What an object of the agreement is, for classifying the ops on it.
#[derive(Debug, Clone, Copy)]
enum Target {
    Clauses,
    Clause(ItemId),
    Body(ItemId),
    Comments,
    Comment(Option<ItemId>),
    Signoffs,
    Suggestions,
    Decision(Option<ItemId>),
    Versions,
}

type ObjKey = (u64, ActorId);

fn obj_key(obj: &ObjId) -> Option<ObjKey> {
    match obj {
        ObjId::Root => None,
        ObjId::Id(counter, actor, _) => Some((*counter, actor.clone())),
    }
}

fn child(doc: &Automerge, parent: &ObjId, key: &str, ty: ObjType) -> Option<ObjId> {
    match doc.get(parent, key) {
        Ok(Some((Value::Object(found), id))) if found == ty => Some(id),
        _ => None,
    }
}

fn scalar_str(doc: &Automerge, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key) {
        Ok(Some((Value::Scalar(value), _))) => match value.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// Every object of the agreement reachable now, and the clause titles
/// (removed clauses included) for descriptions.
#[derive(Default)]
struct Objects {
    targets: HashMap<ObjKey, Target>,
    comment_clause: HashMap<String, ItemId>,
    suggestion_clause: HashMap<String, ItemId>,
    version_names: HashMap<String, String>,
    titles: HashMap<ItemId, String>,
}

impl Objects {
    fn of(doc: &Automerge) -> Self {
        let mut objects = Self::default();
        let Some(agreement) = child(doc, &ROOT, AGREEMENT, ObjType::Map) else {
            return objects;
        };
        let mut add = |obj: &ObjId, target| {
            if let Some(key) = obj_key(obj) {
                objects.targets.insert(key, target);
            }
        };
        if let Some(clauses) = child(doc, &agreement, CLAUSES, ObjType::Map) {
            add(&clauses, Target::Clauses);
            for key in doc.keys(&clauses) {
                let (Ok(id), Some(obj)) = (
                    key.parse::<ItemId>(),
                    child(doc, &clauses, &key, ObjType::Map),
                ) else {
                    continue;
                };
                add(&obj, Target::Clause(id));
                if let Some(body) = child(doc, &obj, BODY, ObjType::Text) {
                    add(&body, Target::Body(id));
                }
                objects
                    .titles
                    .insert(id, scalar_str(doc, &obj, TITLE).unwrap_or_default());
            }
        }
        if let Some(comments) = child(doc, &agreement, COMMENTS, ObjType::Map) {
            add(&comments, Target::Comments);
            for key in doc.keys(&comments) {
                let Some(obj) = child(doc, &comments, &key, ObjType::Map) else {
                    continue;
                };
                let clause = scalar_str(doc, &obj, CLAUSE).and_then(|c| c.parse().ok());
                add(&obj, Target::Comment(clause));
                if let Some(body) = child(doc, &obj, BODY, ObjType::Text) {
                    add(&body, Target::Comment(clause));
                }
                if let Some(clause) = clause {
                    objects.comment_clause.insert(key, clause);
                }
            }
        }
        if let Some(signoffs) = child(doc, &agreement, SIGNOFFS, ObjType::Map) {
            add(&signoffs, Target::Signoffs);
        }
        // Maps created on first use may exist twice (see `model::lazy_maps`).
        let all_maps = |key: &str| -> Vec<ObjId> {
            doc.get_all(&agreement, key)
                .unwrap_or_default()
                .into_iter()
                .filter(|(v, _)| matches!(v, Value::Object(ObjType::Map)))
                .map(|(_, id)| id)
                .collect()
        };
        for suggestions in all_maps("suggestions") {
            add(&suggestions, Target::Suggestions);
            for key in doc.keys(&suggestions) {
                let Some(obj) = child(doc, &suggestions, &key, ObjType::Map) else {
                    continue;
                };
                let clause = scalar_str(doc, &obj, CLAUSE).and_then(|c| c.parse().ok());
                if let Some(decisions) = child(doc, &obj, "decisions", ObjType::Map) {
                    for decision in doc.keys(&decisions) {
                        if let Some(entry) = child(doc, &decisions, &decision, ObjType::Map) {
                            add(&entry, Target::Decision(clause));
                        }
                    }
                }
                if let Some(clause) = clause {
                    objects.suggestion_clause.insert(key, clause);
                }
            }
        }
        for versions in all_maps("versions") {
            add(&versions, Target::Versions);
            for key in doc.keys(&versions) {
                if let Some(obj) = child(doc, &versions, &key, ObjType::Map) {
                    let name = scalar_str(doc, &obj, "name").unwrap_or_default();
                    objects.version_names.insert(key, name);
                }
            }
        }
        objects
    }

    /// Only what belongs to one clause: enough to tell which changes
    /// touched it, without reading the rest of the agreement.
    fn of_clause(doc: &Automerge, clause: ItemId) -> Self {
        let mut objects = Self::default();
        let Some(clauses) = child(doc, &ROOT, AGREEMENT, ObjType::Map)
            .and_then(|agreement| child(doc, &agreement, CLAUSES, ObjType::Map))
        else {
            return objects;
        };
        let mut add = |obj: &ObjId, target| {
            if let Some(key) = obj_key(obj) {
                objects.targets.insert(key, target);
            }
        };
        add(&clauses, Target::Clauses);
        if let Some(obj) = child(doc, &clauses, &clause.key(), ObjType::Map) {
            add(&obj, Target::Clause(clause));
            if let Some(body) = child(doc, &obj, BODY, ObjType::Text) {
                add(&body, Target::Body(clause));
            }
        }
        objects
    }

    fn title(&self, clause: ItemId) -> String {
        match self.titles.get(&clause) {
            Some(title) if !title.is_empty() => format!("“{title}”"),
            _ => "a clause".to_owned(),
        }
    }

    /// The agreement edits of one change, merged per clause.
    fn classify(&self, change: &automerge::Change) -> Vec<Edit> {
        let mut added = BTreeSet::new();
        let mut text: BTreeMap<ItemId, (usize, usize)> = BTreeMap::new();
        let mut edits = BTreeSet::new();
        for op in change.decode().operations {
            let ObjectId::Id(id) = &op.obj else {
                continue;
            };
            let Some(target) = self.targets.get(&(id.0, id.1.clone())) else {
                continue;
            };
            let key = match &op.key {
                Key::Map(key) => Some(key.as_str()),
                Key::Seq(_) => None,
            };
            match (*target, key) {
                (Target::Clauses, Some(key)) => {
                    if let (Ok(clause), OpType::Make(_)) = (key.parse(), &op.action) {
                        added.insert(clause);
                    }
                }
                (Target::Clause(clause), Some(key)) => {
                    let edit = match (key, &op.action) {
                        (TITLE, _) => Some(Edit::ClauseRenamed { clause }),
                        (STATUS, OpType::Put(ScalarValue::Str(s))) => Some(Edit::ClauseStatus {
                            clause,
                            status: s.parse().ok(),
                        }),
                        (STATUS, _) => Some(Edit::ClauseStatus {
                            clause,
                            status: None,
                        }),
                        (ORDER, _) => Some(Edit::ClauseMoved { clause }),
                        (DELETED_AT, OpType::Delete) => Some(Edit::ClauseRestored { clause }),
                        (DELETED_AT, _) => Some(Edit::ClauseRemoved { clause }),
                        (BODY, _) => Some(Edit::ClauseText {
                            clause,
                            inserted: 0,
                            deleted: 0,
                        }),
                        _ => None,
                    };
                    if let Some(Edit::ClauseText { .. }) = edit {
                        text.entry(clause).or_default();
                    } else if let Some(edit) = edit {
                        edits.insert(edit);
                    }
                }
                (Target::Body(clause), _) => {
                    let counts = text.entry(clause).or_default();
                    match op.action {
                        OpType::Delete => counts.1 += 1,
                        OpType::Put(ScalarValue::Str(ref s)) if op.insert => {
                            counts.0 += s.chars().count().max(1);
                        }
                        _ => {}
                    }
                }
                (Target::Comments, Some(key)) => {
                    edits.insert(Edit::Commented {
                        clause: self.comment_clause.get(key).copied(),
                    });
                }
                (Target::Comment(clause), _) => {
                    edits.insert(Edit::Commented { clause });
                }
                (Target::Suggestions, Some(key)) if matches!(op.action, OpType::Make(_)) => {
                    edits.insert(Edit::Suggested {
                        clause: self.suggestion_clause.get(key).copied(),
                    });
                }
                (Target::Decision(clause), Some("verdict")) => {
                    if let OpType::Put(ScalarValue::Str(verdict)) = &op.action {
                        edits.insert(match verdict.as_str() {
                            "accepted" => Edit::SuggestionAccepted { clause },
                            _ => Edit::SuggestionRejected { clause },
                        });
                    }
                }
                (Target::Versions, Some(key)) if matches!(op.action, OpType::Make(_)) => {
                    edits.insert(Edit::VersionSaved {
                        name: self.version_names.get(key).cloned().unwrap_or_default(),
                    });
                }
                (Target::Signoffs, Some(key)) => {
                    let mut parts = key.split(':');
                    let clause = parts.next().and_then(|c| c.parse().ok());
                    let member = parts.next().and_then(|m| m.parse().ok());
                    edits.insert(match op.action {
                        OpType::Delete => Edit::SignoffWithdrawn { clause },
                        _ => Edit::SignedOff { clause, member },
                    });
                }
                _ => {}
            }
        }
        for (clause, (inserted, deleted)) in text {
            edits.insert(Edit::ClauseText {
                clause,
                inserted,
                deleted,
            });
        }
        // A clause added in this change: its fields are part of the adding.
        edits.retain(|e| e.clause_changed().is_none_or(|c| !added.contains(&c)));
        let mut out: Vec<Edit> = added
            .into_iter()
            .map(|clause| Edit::ClauseAdded { clause })
            .collect();
        out.extend(edits);
        out
    }

    fn describe(&self, edit: &Edit) -> String {
        let clause =
            |c: &Option<ItemId>| c.map_or_else(|| "a clause".to_owned(), |c| self.title(c));
        match edit {
            Edit::ClauseAdded { clause } => format!("added {}", self.title(*clause)),
            Edit::ClauseRenamed { clause } => format!("renamed {}", self.title(*clause)),
            Edit::ClauseText {
                clause,
                inserted,
                deleted,
            } => format!("edited {} (+{inserted} −{deleted})", self.title(*clause)),
            Edit::ClauseStatus { clause, status } => match status {
                Some(status) => format!("marked {} {status}", self.title(*clause)),
                None => format!("changed the status of {}", self.title(*clause)),
            },
            Edit::ClauseMoved { clause } => format!("moved {}", self.title(*clause)),
            Edit::ClauseRemoved { clause } => format!("removed {}", self.title(*clause)),
            Edit::ClauseRestored { clause } => format!("restored {}", self.title(*clause)),
            Edit::Commented { clause: c } => format!("commented on {}", clause(c)),
            Edit::SignedOff { clause: c, .. } => format!("signed off {}", clause(c)),
            Edit::SignoffWithdrawn { clause: c } => {
                format!("withdrew a sign-off of {}", clause(c))
            }
            Edit::Suggested { clause: c } => format!("suggested a change to {}", clause(c)),
            Edit::SuggestionAccepted { clause: c } => {
                format!("accepted a suggestion on {}", clause(c))
            }
            Edit::SuggestionRejected { clause: c } => {
                format!("rejected a suggestion on {}", clause(c))
            }
            Edit::VersionSaved { name } => format!("saved the version “{name}”"),
        }
    }

    fn description(&self, edits: &[Edit]) -> String {
        const SHOWN: usize = 3;
        let mut parts: Vec<String> = edits.iter().take(SHOWN).map(|e| self.describe(e)).collect();
        if edits.len() > SHOWN {
            parts.push(format!("and {} more", edits.len() - SHOWN));
        }
        parts.join("; ")
    }
}

fn check_heads(doc: &Automerge, heads: &[ChangeHash]) -> Result<(), HistoryError> {
    match heads.iter().find(|h| doc.get_change_by_hash(h).is_none()) {
        Some(unknown) => Err(HistoryError::UnknownHeads(*unknown)),
        None => Ok(()),
    }
}

fn entries(doc: &Automerge, objects: &Objects, since: &[ChangeHash]) -> Vec<HistoryEntry> {
    doc.get_changes(since)
        .iter()
        .filter_map(|change| {
            let edits = objects.classify(change);
            if edits.is_empty() {
                return None;
            }
            let attribution = members::attribute(doc, change.actor_id());
            Some(HistoryEntry {
                hash: change.hash(),
                at: change_time(change.timestamp()),
                actor: change.actor_id().to_hex_string(),
                member: attribution.map(|(member, _)| member),
                party: attribution.and_then(|(_, party)| party),
                description: objects.description(&edits),
                edits,
            })
        })
        .collect()
}

/// Every change that touched the agreement after `since` (empty: from the
/// start), oldest first (causal order).
pub fn timeline(doc: &Automerge, since: &[ChangeHash]) -> Result<Vec<HistoryEntry>, HistoryError> {
    check_heads(doc, since)?;
    Ok(entries(doc, &Objects::of(doc), since))
}

/// A clause as it stood at some version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    title: String,
    body: String,
    status: Option<String>,
    order: Option<String>,
    live: bool,
}

fn get_opt<'a>(
    doc: &'a Automerge,
    obj: &ObjId,
    key: &str,
    heads: Option<&[ChangeHash]>,
) -> Option<(Value<'a>, ObjId)> {
    match heads {
        None => doc.get(obj, key),
        Some(heads) => doc.get_at(obj, key, heads),
    }
    .ok()
    .flatten()
}

fn string_at(
    doc: &Automerge,
    obj: &ObjId,
    key: &str,
    heads: Option<&[ChangeHash]>,
) -> Option<String> {
    match get_opt(doc, obj, key, heads)? {
        (Value::Scalar(value), _) => match value.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            other => Some(other.to_string()),
        },
        _ => None,
    }
}

fn text_at(doc: &Automerge, obj: &ObjId, key: &str, heads: Option<&[ChangeHash]>) -> String {
    match get_opt(doc, obj, key, heads) {
        Some((Value::Object(ObjType::Text), text)) => match heads {
            None => doc.text(&text),
            Some(heads) => doc.text_at(&text, heads),
        }
        .unwrap_or_default(),
        Some((Value::Scalar(value), _)) => match value.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

fn clause_map(doc: &Automerge, clause: ItemId, heads: Option<&[ChangeHash]>) -> Option<ObjId> {
    let agreement = match get_opt(doc, &ROOT, AGREEMENT, heads)? {
        (Value::Object(ObjType::Map), id) => id,
        _ => return None,
    };
    let clauses = match get_opt(doc, &agreement, CLAUSES, heads)? {
        (Value::Object(ObjType::Map), id) => id,
        _ => return None,
    };
    match get_opt(doc, &clauses, &clause.key(), heads)? {
        (Value::Object(ObjType::Map), id) => Some(id),
        _ => None,
    }
}

fn snapshot(doc: &Automerge, clause: ItemId, heads: Option<&[ChangeHash]>) -> Option<Snapshot> {
    let obj = clause_map(doc, clause, heads)?;
    Some(Snapshot {
        title: string_at(doc, &obj, TITLE, heads).unwrap_or_default(),
        body: text_at(doc, &obj, BODY, heads),
        status: string_at(doc, &obj, STATUS, heads),
        order: string_at(doc, &obj, ORDER, heads),
        live: get_opt(doc, &obj, DELETED_AT, heads).is_none(),
    })
}

fn clause_ids(doc: &Automerge, heads: Option<&[ChangeHash]>) -> Vec<ItemId> {
    let Some((Value::Object(ObjType::Map), agreement)) = get_opt(doc, &ROOT, AGREEMENT, heads)
    else {
        return Vec::new();
    };
    let Some((Value::Object(ObjType::Map), clauses)) = get_opt(doc, &agreement, CLAUSES, heads)
    else {
        return Vec::new();
    };
    match heads {
        None => doc.keys(&clauses).collect::<Vec<_>>(),
        Some(heads) => doc.keys_at(&clauses, heads).collect(),
    }
    .into_iter()
    .filter_map(|k| k.parse().ok())
    .collect()
}

/// How a clause differs from the version the viewer last saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClauseChangeKind {
    /// New since then (or restored).
    Added,
    /// Removed since then.
    Removed,
    /// Still there, and changed.
    Edited,
}

/// A clause that changed since the viewer last looked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClauseChange {
    /// The clause.
    pub clause: ItemId,
    /// Its title now (for a removed clause, its last title).
    pub title: String,
    /// Added, removed or edited.
    pub kind: ClauseChangeKind,
    /// The title differs.
    pub title_changed: bool,
    /// The text differs.
    pub body_changed: bool,
    /// The status differs.
    pub status_changed: bool,
    /// It moved.
    pub moved: bool,
    /// The parties whose changes since then touched it, in party order.
    pub parties: Vec<PartyId>,
    /// The members whose changes since then touched it.
    pub members: Vec<MemberId>,
    /// Some change touching it came from a device no member registered.
    pub unattributed: bool,
}

/// The clauses as they stood at the version the viewer last saw: read
/// once per last-seen version (reading text at past heads is the costly
/// part), then compared clause by clause with [`clause_change`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    seen: Vec<ChangeHash>,
    /// Each clause then, if it was there and not removed.
    clauses: HashMap<ItemId, Snapshot>,
    /// Every clause id then (removed ones too).
    ids: Vec<ItemId>,
}

impl Baseline {
    /// The clauses at `seen` (the heads the viewer last saw; empty if they
    /// never looked).
    pub fn at(doc: &Automerge, seen: &[ChangeHash]) -> Result<Self, HistoryError> {
        check_heads(doc, seen)?;
        let ids = clause_ids(doc, Some(seen));
        let clauses = ids
            .iter()
            .filter_map(|id| {
                let then = snapshot(doc, *id, Some(seen)).filter(|s| s.live)?;
                Some((*id, then))
            })
            .collect();
        Ok(Self {
            seen: seen.to_vec(),
            clauses,
            ids,
        })
    }

    /// Every clause that was in the agreement then (removed ones too).
    pub fn clause_ids(&self) -> &[ItemId] {
        &self.ids
    }
}

/// How `clause` differs now from the `baseline`, attributed to the parties
/// and members whose changes since then touched it; `None` when it reads
/// the same (or was never there). Reads this one clause only, and every
/// change since the baseline: a page that asks again after each edit keeps
/// a [`ClauseWatch`] instead, which reads only the changes that are new.
pub fn clause_change(doc: &Automerge, baseline: &Baseline, clause: ItemId) -> Option<ClauseChange> {
    ClauseWatch::new(clause).change(doc, baseline)
}

/// "How has this clause changed since the viewer last looked", asked again
/// and again as edits arrive: it remembers which devices' changes touched
/// the clause up to the heads it last read, so each question decodes only
/// the changes that arrived since (typing one character after a thousand
/// reads one change, not a thousand). The answer is the same as
/// [`clause_change`] reading everything: who a device belongs to is looked
/// up when asked (a device registered later is attributed), and the watch
/// starts over when the baseline or the clause's objects change.
#[derive(Debug, Clone)]
pub struct ClauseWatch {
    clause: ItemId,
    /// The baseline heads it counts from.
    since: Option<Vec<ChangeHash>>,
    /// The heads up to which changes have been read.
    read_to: Vec<ChangeHash>,
    /// The clause's objects the changes were classified against.
    objects: Vec<ObjKey>,
    /// Devices whose changes since the baseline touched the clause.
    actors: BTreeSet<ActorId>,
}

impl ClauseWatch {
    /// A watch on `clause` that has read nothing yet.
    pub fn new(clause: ItemId) -> Self {
        Self {
            clause,
            since: None,
            read_to: Vec::new(),
            objects: Vec::new(),
            actors: BTreeSet::new(),
        }
    }

    /// As [`clause_change`], reading only the changes not read before.
    pub fn change(&mut self, doc: &Automerge, baseline: &Baseline) -> Option<ClauseChange> {
        let clause = self.clause;
        let before = baseline.clauses.get(&clause);
        let now = snapshot(doc, clause, None);
        let after = now.as_ref().filter(|s| s.live);
        let (kind, title) = match (before, after) {
            (None, None) => return None,
            (Some(b), Some(a)) if a == b => return None,
            (None, Some(a)) => (ClauseChangeKind::Added, a.title.clone()),
            (Some(b), None) => (
                ClauseChangeKind::Removed,
                now.as_ref()
                    .map_or_else(|| b.title.clone(), |s| s.title.clone()),
            ),
            (Some(_), Some(a)) => (ClauseChangeKind::Edited, a.title.clone()),
        };
        let differs = |f: fn(&Snapshot) -> &str| match (before, after) {
            (Some(b), Some(a)) => f(b) != f(a),
            _ => false,
        };
        self.read(doc, baseline);
        let touching: Vec<(Option<MemberId>, Option<PartyId>)> = self
            .actors
            .iter()
            .map(|actor| match members::attribute(doc, actor) {
                Some((member, party)) => (Some(member), party),
                None => (None, None),
            })
            .collect();
        let mut parties: Vec<PartyId> = crate::model::parties::list(doc)
            .iter()
            .map(|p| p.id)
            .filter(|p| touching.iter().any(|(_, party)| *party == Some(*p)))
            .collect();
        for party in touching.iter().filter_map(|(_, party)| *party) {
            if !parties.contains(&party) {
                parties.push(party);
            }
        }
        let mut members: Vec<MemberId> =
            touching.iter().filter_map(|(member, _)| *member).collect();
        members.sort();
        members.dedup();
        Some(ClauseChange {
            clause,
            title,
            kind,
            title_changed: differs(|s| &s.title),
            body_changed: differs(|s| &s.body),
            status_changed: differs(|s| s.status.as_deref().unwrap_or("")),
            moved: differs(|s| s.order.as_deref().unwrap_or("")),
            parties,
            members,
            unattributed: touching.iter().any(|(member, _)| member.is_none()),
        })
    }

    /// Brings `actors` up to the document's heads.
    fn read(&mut self, doc: &Automerge, baseline: &Baseline) {
        let objects = Objects::of_clause(doc, self.clause);
        let mut keys: Vec<ObjKey> = objects.targets.keys().cloned().collect();
        keys.sort();
        if self.since.as_deref() != Some(baseline.seen.as_slice()) || keys != self.objects {
            self.since = Some(baseline.seen.clone());
            self.read_to = baseline.seen.clone();
            self.objects = keys;
            self.actors.clear();
        }
        let heads = doc.get_heads();
        if heads == self.read_to {
            return;
        }
        // Only a device not yet known to have touched the clause needs its
        // change decoded (a person typing on reads no operations at all).
        let unknown: Vec<ChangeHash> = doc
            .get_changes_meta(&self.read_to)
            .into_iter()
            .filter(|meta| !self.actors.contains(meta.actor.as_ref()))
            .map(|meta| meta.hash)
            .collect();
        for hash in unknown {
            let Some(change) = doc.get_change_by_hash(&hash) else {
                continue;
            };
            if !self.actors.contains(change.actor_id())
                && objects
                    .classify(&change)
                    .iter()
                    .any(|edit| edit.clause_changed() == Some(self.clause))
            {
                self.actors.insert(change.actor_id().clone());
            }
        }
        self.read_to = heads;
    }
}

/// The clauses that differ between the version the viewer last saw (`seen`,
/// the heads they had then; empty if they never looked) and now, in display
/// order (removed clauses last), each attributed per party.
pub fn changed_since(
    doc: &Automerge,
    seen: &[ChangeHash],
) -> Result<Vec<ClauseChange>, HistoryError> {
    let baseline = Baseline::at(doc, seen)?;
    let mut order: Vec<ItemId> = agreement::clauses(doc).iter().map(|c| c.id).collect();
    let mut rest: Vec<ItemId> = clause_ids(doc, None)
        .into_iter()
        .chain(baseline.ids.iter().copied())
        .filter(|id| !order.contains(id))
        .collect();
    rest.sort();
    rest.dedup();
    order.extend(rest);
    Ok(order
        .into_iter()
        .filter_map(|clause| clause_change(doc, &baseline, clause))
        .collect())
}

/// The document as it was at `heads` (read it with the usual model reads,
/// for example [`agreement::read`], or export it).
pub fn at(doc: &Automerge, heads: &[ChangeHash]) -> Result<Automerge, HistoryError> {
    check_heads(doc, heads)?;
    Ok(doc.fork_at(heads)?)
}

/// The clauses as they were at `heads`.
pub fn clauses_at(
    doc: &Automerge,
    heads: &[ChangeHash],
) -> Result<Vec<agreement::Clause>, HistoryError> {
    Ok(agreement::clauses(&at(doc, heads)?))
}

/// Whether a piece of a diff is in both versions, only the new or only the old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffOp {
    /// In both.
    Same,
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
}

/// A run of text in a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffPart {
    /// Same, added or removed.
    pub op: DiffOp,
    /// The text.
    pub text: String,
}

/// Words and the whitespace between them, as separate tokens.
fn words(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut prev: Option<bool> = None;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if prev.is_some_and(|p| p != space) {
            tokens.push(&text[start..i]);
            start = i;
        }
        prev = Some(space);
    }
    if start < text.len() {
        tokens.push(&text[start..]);
    }
    tokens
}

fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

fn push(parts: &mut Vec<DiffPart>, op: DiffOp, text: &str) {
    if text.is_empty() {
        return;
    }
    match parts.last_mut() {
        Some(last) if last.op == op => last.text.push_str(text),
        _ => parts.push(DiffPart {
            op,
            text: text.to_owned(),
        }),
    }
}

/// The diff of two token lists: Myers' shortest edit script from the
/// `similar` crate, whose work limit keeps even long, wholly rewritten
/// texts fast (it then settles for a longer script, never gives up).
fn token_diff(old: &[&str], new: &[&str]) -> Vec<DiffPart> {
    let mut parts = Vec::new();
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, old, new) {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        let (removed, added) = match tag {
            similar::DiffTag::Equal => {
                push(&mut parts, DiffOp::Same, &old[old_range].concat());
                continue;
            }
            similar::DiffTag::Delete => (old_range, 0..0),
            similar::DiffTag::Insert => (0..0, new_range),
            similar::DiffTag::Replace => (old_range, new_range),
        };
        push(&mut parts, DiffOp::Removed, &old[removed].concat());
        push(&mut parts, DiffOp::Added, &new[added].concat());
    }
    reorder(&parts)
}

/// Within each changed stretch, removed text before added text; a bare
/// space between two changes joins them (so "one year" → "two years" reads
/// as one replacement, not two).
fn reorder(parts: &[DiffPart]) -> Vec<DiffPart> {
    let mut out: Vec<DiffPart> = Vec::new();
    let (mut removed, mut added) = (String::new(), String::new());
    let flush = |out: &mut Vec<DiffPart>, removed: &mut String, added: &mut String| {
        push(out, DiffOp::Removed, removed);
        push(out, DiffOp::Added, added);
        removed.clear();
        added.clear();
    };
    for (index, part) in parts.iter().enumerate() {
        match part.op {
            DiffOp::Removed => removed.push_str(&part.text),
            DiffOp::Added => added.push_str(&part.text),
            DiffOp::Same => {
                let between_changes = !(removed.is_empty() && added.is_empty())
                    && parts
                        .get(index + 1)
                        .is_some_and(|next| next.op != DiffOp::Same)
                    && part.text.chars().all(char::is_whitespace);
                if between_changes {
                    removed.push_str(&part.text);
                    added.push_str(&part.text);
                } else {
                    flush(&mut out, &mut removed, &mut added);
                    push(&mut out, DiffOp::Same, &part.text);
                }
            }
        }
    }
    flush(&mut out, &mut removed, &mut added);
    out
}

/// A line diff of two texts.
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffPart> {
    token_diff(&lines(old), &lines(new))
}

/// A word diff of two texts (words and the whitespace between them are
/// tokens).
pub fn diff_words(old: &str, new: &str) -> Vec<DiffPart> {
    token_diff(&words(old), &words(new))
}

/// A clause between two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClauseDiff {
    /// The clause.
    pub clause: ItemId,
    /// Its title then (`None`: it did not exist, or was removed).
    pub title_before: Option<String>,
    /// Its title at the later version.
    pub title_after: Option<String>,
    /// Its status then.
    pub status_before: Option<ClauseStatus>,
    /// Its status at the later version.
    pub status_after: Option<ClauseStatus>,
    /// The word diff of its text.
    pub body: Vec<DiffPart>,
}

/// How `clause` changed from `from` to `to` (`None`: now).
pub fn clause_diff(
    doc: &Automerge,
    clause: ItemId,
    from: &[ChangeHash],
    to: Option<&[ChangeHash]>,
) -> Result<ClauseDiff, HistoryError> {
    check_heads(doc, from)?;
    if let Some(to) = to {
        check_heads(doc, to)?;
    }
    let before = snapshot(doc, clause, Some(from)).filter(|s| s.live);
    let after = snapshot(doc, clause, to).filter(|s| s.live);
    let body = |s: &Option<Snapshot>| s.as_ref().map(|s| s.body.clone()).unwrap_or_default();
    let status = |s: &Option<Snapshot>| s.as_ref().and_then(|s| s.status.as_deref()?.parse().ok());
    Ok(ClauseDiff {
        clause,
        title_before: before.as_ref().map(|s| s.title.clone()),
        title_after: after.as_ref().map(|s| s.title.clone()),
        status_before: status(&before),
        status_after: status(&after),
        body: diff_words(&body(&before), &body(&after)),
    })
}

#[cfg(test)]
mod tests {
    use automerge::transaction::CommitOptions;
    use automerge::{ActorId, AutoCommit};

    use super::*;
    use crate::model::agreement::{
        move_clause, set_clause_body, set_clause_status, set_clause_title,
    };
    use crate::model::items::{self, Collection};
    use crate::model::members::register_device;
    use crate::model::signoff;
    use crate::model::test_support::{T0, id, partnership, put_clause};

    const SECONDS: i64 = 1_700_000_000;

    fn commit(doc: &mut AutoCommit, seconds: i64) {
        doc.commit_with(CommitOptions::default().with_time(seconds));
    }

    /// Alice (Acme) on one device, Bob (Globex) on another, both registered,
    /// a clause "Term"; returns (alice's doc, bob's doc, fixture ids).
    fn two_devices() -> (AutoCommit, AutoCommit, crate::model::test_support::Fixture) {
        let mut fixture = partnership();
        let mut alice = fixture
            .doc
            .fork()
            .with_actor(ActorId::from(b"alice-laptop".as_slice()));
        let bob_actor = ActorId::from(b"bob-phone".as_slice());
        let alice_actor = alice.get_actor().clone();
        register_device(&mut alice, &alice_actor, fixture.alice).unwrap();
        register_device(&mut alice, &bob_actor, fixture.bob).unwrap();
        put_clause(&mut alice, 1, "Term", "The term is one year.");
        put_clause(&mut alice, 2, "Exit", "Either party may leave.");
        commit(&mut alice, SECONDS);
        let bob = alice.fork().with_actor(bob_actor);
        (alice, bob, fixture)
    }

    #[test]
    fn timeline_attributes_changes_to_members_and_parties() {
        let (mut alice, mut bob, fixture) = two_devices();
        set_clause_body(&mut bob, id(1), "The term is two years.", None).unwrap();
        commit(&mut bob, SECONDS + 60);
        set_clause_status(&mut alice, id(2), ClauseStatus::Proposed, None).unwrap();
        set_clause_title(&mut alice, id(2), "Exit and wind-down").unwrap();
        commit(&mut alice, SECONDS + 120);
        crate::model::test_support::sync_pair(&mut alice, &mut bob);
        let doc = alice.document();
        let entries = timeline(doc, &[]).unwrap();
        assert_eq!(entries.len(), 3, "{entries:#?}");
        let first = &entries[0];
        assert_eq!(first.member, Some(fixture.alice));
        assert_eq!(first.party, Some(fixture.acme));
        assert_eq!(first.at, Some(T0));
        assert_eq!(
            first.edits,
            [
                Edit::ClauseAdded { clause: id(1) },
                Edit::ClauseAdded { clause: id(2) }
            ]
        );
        assert_eq!(
            first.description,
            "added “Term”; added “Exit and wind-down”"
        );
        let by_bob = entries
            .iter()
            .find(|e| e.member == Some(fixture.bob))
            .unwrap();
        assert_eq!(by_bob.party, Some(fixture.globex));
        assert_eq!(
            by_bob.actor,
            ActorId::from(b"bob-phone".as_slice()).to_hex_string()
        );
        assert_eq!(
            by_bob.edits,
            [Edit::ClauseText {
                clause: id(1),
                inserted: 9,
                deleted: 8
            }]
        );
        assert_eq!(by_bob.description, "edited “Term” (+9 −8)");
        let by_alice = entries
            .iter()
            .rfind(|e| e.member == Some(fixture.alice))
            .unwrap();
        assert_eq!(
            by_alice.description,
            "renamed “Exit and wind-down”; marked “Exit and wind-down” proposed"
        );
        // Only agreement changes are listed; since = the first change.
        let since = timeline(doc, &[first.hash]).unwrap();
        assert_eq!(since.len(), 2);
        assert!(matches!(
            timeline(doc, &[ChangeHash([7; 32])]),
            Err(HistoryError::UnknownHeads(_))
        ));
    }

    #[test]
    fn sign_offs_comments_moves_and_removals_are_described() {
        let (mut alice, _bob, fixture) = two_devices();
        let key = signoff::tests::key(1);
        crate::model::members::update(
            &mut alice,
            fixture.alice,
            &crate::model::members::MemberPatch {
                public_key: Some(Some(crate::model::ids::to_hex(
                    key.verifying_key().as_bytes(),
                ))),
                ..Default::default()
            },
        )
        .unwrap();
        commit(&mut alice, SECONDS + 1);
        signoff::sign(
            &mut alice,
            &signoff::tests::DOC,
            id(1),
            fixture.alice,
            &key,
            T0,
        )
        .unwrap();
        commit(&mut alice, SECONDS + 2);
        crate::model::agreement::add_comment(
            &mut alice,
            id(9),
            &crate::model::agreement::NewComment {
                clause: id(2),
                author: fixture.alice,
                body: "Notice period?".into(),
                reply_to: None,
            },
            T0,
        )
        .unwrap();
        commit(&mut alice, SECONDS + 3);
        move_clause(&mut alice, id(2), 0).unwrap();
        items::delete(&mut alice, Collection::Clauses, id(1), T0).unwrap();
        commit(&mut alice, SECONDS + 4);
        let entries = timeline(alice.document(), &[]).unwrap();
        let descriptions: Vec<&str> = entries.iter().map(|e| e.description.as_str()).collect();
        assert_eq!(
            descriptions,
            [
                "added “Term”; added “Exit”",
                "signed off “Term”",
                "commented on “Exit”",
                "moved “Exit”; removed “Term”",
            ]
        );
        assert_eq!(
            entries[1].edits,
            [Edit::SignedOff {
                clause: Some(id(1)),
                member: Some(fixture.alice)
            }]
        );
        assert_eq!(entries[3].at, Some((SECONDS as u64 + 4) * 1000));
    }

    #[test]
    fn suggestions_decisions_and_versions_are_described() {
        use crate::model::suggestions::{self, NewSuggestion, Verdict};
        let (mut alice, _bob, fixture) = two_devices();
        let suggest = |doc: &mut AutoCommit, n: u8| {
            let new = NewSuggestion {
                clause: id(1),
                author: fixture.bob,
                position: 0,
                delete: 3,
                insert: "A".into(),
            };
            suggestions::suggest(doc, id(n), &new, T0).unwrap();
        };
        suggest(&mut alice, 20);
        commit(&mut alice, SECONDS + 1);
        suggestions::decide(
            &mut alice,
            id(20),
            id(30),
            Verdict::Accept,
            fixture.alice,
            T0,
        )
        .unwrap();
        commit(&mut alice, SECONDS + 2);
        suggest(&mut alice, 21);
        suggestions::decide(
            &mut alice,
            id(21),
            id(31),
            Verdict::Reject,
            fixture.alice,
            T0,
        )
        .unwrap();
        commit(&mut alice, SECONDS + 3);
        let heads = alice.get_heads();
        crate::model::versions::save(&mut alice, id(40), "Round 1", &heads, fixture.alice, T0)
            .unwrap();
        commit(&mut alice, SECONDS + 4);
        let entries = timeline(alice.document(), &[]).unwrap();
        let descriptions: Vec<&str> = entries
            .iter()
            .skip(entries.len() - 4)
            .map(|e| e.description.as_str())
            .collect();
        assert_eq!(
            descriptions,
            [
                "suggested a change to “Term”",
                "edited “Term” (+1 −3); accepted a suggestion on “Term”",
                "suggested a change to “Term”; rejected a suggestion on “Term”",
                "saved the version “Round 1”",
            ]
        );
    }

    #[test]
    fn changed_since_compares_texts_and_names_the_parties() {
        let (mut alice, mut bob, fixture) = two_devices();
        let seen = alice.get_heads();
        // Bob edits on the plane; Alice adds a clause and retitles another.
        set_clause_body(&mut bob, id(1), "The term is two years.", None).unwrap();
        commit(&mut bob, SECONDS + 60);
        put_clause(&mut alice, 3, "Confidentiality", "");
        items::delete(&mut alice, Collection::Clauses, id(2), T0).unwrap();
        commit(&mut alice, SECONDS + 61);
        // Bob types and reverts in clause 1's title: no net change there.
        set_clause_title(&mut bob, id(1), "Term!").unwrap();
        set_clause_title(&mut bob, id(1), "Term").unwrap();
        commit(&mut bob, SECONDS + 62);
        crate::model::test_support::sync_pair(&mut alice, &mut bob);
        let changes = changed_since(alice.document(), &seen).unwrap();
        assert_eq!(changes.len(), 3, "{changes:#?}");
        let term = &changes[0];
        assert_eq!(term.clause, id(1));
        assert_eq!(term.kind, ClauseChangeKind::Edited);
        assert!(term.body_changed && !term.title_changed && !term.status_changed);
        assert_eq!(term.parties, [fixture.globex]);
        assert_eq!(term.members, [fixture.bob]);
        assert!(!term.unattributed);
        let added = &changes[1];
        assert_eq!((added.clause, added.kind), (id(3), ClauseChangeKind::Added));
        assert_eq!(added.parties, [fixture.acme]);
        let removed = &changes[2];
        assert_eq!(
            (removed.clause, removed.kind, removed.title.as_str()),
            (id(2), ClauseChangeKind::Removed, "Exit")
        );
        // Nothing changed since now.
        let now = alice.get_heads();
        assert!(changed_since(alice.document(), &now).unwrap().is_empty());
        // Never looked: everything is new.
        assert_eq!(changed_since(alice.document(), &[]).unwrap().len(), 2);
    }

    /// A watch kept across many steps answers exactly what reading every
    /// change since the baseline answers, at every step: edits from two
    /// replicas, a device nobody registered (and its registration later),
    /// removing and restoring the clause, and a new baseline.
    #[test]
    fn a_watch_read_change_by_change_agrees_with_reading_everything() {
        let (mut alice, mut bob, fixture) = two_devices();
        let heads = alice.get_heads();
        let mut baseline = Baseline::at(alice.document(), &heads).unwrap();
        let mut watch = ClauseWatch::new(id(1));
        let mut carol = bob
            .fork()
            .with_actor(ActorId::from(b"carol-tablet".as_slice()));
        let check = |doc: &mut AutoCommit, watch: &mut ClauseWatch, baseline: &Baseline| {
            let fresh = clause_change(doc.document(), baseline, id(1));
            let kept = watch.change(doc.document(), baseline);
            assert_eq!(kept, fresh);
            kept
        };
        assert_eq!(check(&mut alice, &mut watch, &baseline), None);
        for (n, text) in [
            "The term is two",
            "The term is two years.",
            "The term is 2 years.",
        ]
        .into_iter()
        .enumerate()
        {
            set_clause_body(&mut bob, id(1), text, None).unwrap();
            commit(&mut bob, SECONDS + 60 + i64::try_from(n).unwrap());
            crate::model::test_support::sync_pair(&mut alice, &mut bob);
            let change = check(&mut alice, &mut watch, &baseline).unwrap();
            assert_eq!(change.members, [fixture.bob]);
        }
        set_clause_title(&mut carol, id(1), "Term of the partnership").unwrap();
        commit(&mut carol, SECONDS + 90);
        crate::model::test_support::sync_pair(&mut alice, &mut carol);
        let change = check(&mut alice, &mut watch, &baseline).unwrap();
        assert!(change.unattributed);
        // Carol's device is registered afterwards: now she is named.
        let carol_actor = carol.get_actor().clone();
        register_device(&mut alice, &carol_actor, fixture.alice).unwrap();
        commit(&mut alice, SECONDS + 100);
        let change = check(&mut alice, &mut watch, &baseline).unwrap();
        assert!(!change.unattributed);
        assert_eq!(change.members, [fixture.alice, fixture.bob]);
        // Edits elsewhere in the agreement do not count for clause 1.
        set_clause_title(&mut alice, id(2), "Exit and wind-down").unwrap();
        commit(&mut alice, SECONDS + 110);
        check(&mut alice, &mut watch, &baseline);
        items::delete(&mut bob, Collection::Clauses, id(1), T0).unwrap();
        commit(&mut bob, SECONDS + 120);
        crate::model::test_support::sync_pair(&mut alice, &mut bob);
        assert_eq!(
            check(&mut alice, &mut watch, &baseline).unwrap().kind,
            ClauseChangeKind::Removed
        );
        items::restore(&mut alice, Collection::Clauses, id(1)).unwrap();
        commit(&mut alice, SECONDS + 130);
        check(&mut alice, &mut watch, &baseline);
        // The viewer looks again: only what comes after counts.
        let heads = alice.get_heads();
        baseline = Baseline::at(alice.document(), &heads).unwrap();
        assert_eq!(check(&mut alice, &mut watch, &baseline), None);
        set_clause_body(&mut alice, id(1), "The term is three years.", None).unwrap();
        commit(&mut alice, SECONDS + 140);
        let change = check(&mut alice, &mut watch, &baseline).unwrap();
        assert_eq!(change.members, [fixture.alice]);
    }

    #[test]
    fn past_versions_and_clause_diffs() {
        let (mut alice, _bob, _) = two_devices();
        let v1 = alice.get_heads();
        set_clause_body(&mut alice, id(1), "The initial term is two years.", None).unwrap();
        set_clause_status(&mut alice, id(1), ClauseStatus::Agreed, None).unwrap();
        commit(&mut alice, SECONDS + 5);
        let past = clauses_at(alice.document(), &v1).unwrap();
        assert_eq!(past[0].body, "The term is one year.");
        assert_eq!(past[0].status, ClauseStatus::Draft);
        let diff = clause_diff(alice.document(), id(1), &v1, None).unwrap();
        assert_eq!(diff.title_before.as_deref(), Some("Term"));
        assert_eq!(diff.status_before, Some(ClauseStatus::Draft));
        assert_eq!(diff.status_after, Some(ClauseStatus::Agreed));
        assert_eq!(
            runs(&diff.body),
            [
                (DiffOp::Same, "The "),
                (DiffOp::Added, "initial "),
                (DiffOp::Same, "term is "),
                (DiffOp::Removed, "one year."),
                (DiffOp::Added, "two years."),
            ]
        );
        // Before the clause existed.
        let diff = clause_diff(alice.document(), id(1), &[], Some(&v1)).unwrap();
        assert_eq!(diff.title_before, None);
        assert_eq!(
            diff.body,
            [DiffPart {
                op: DiffOp::Added,
                text: "The term is one year.".into()
            }]
        );
    }

    #[test]
    fn word_and_line_diffs() {
        assert!(diff_words("", "").is_empty());
        assert_eq!(
            diff_words("a b c", "a b c"),
            [DiffPart {
                op: DiffOp::Same,
                text: "a b c".into()
            }]
        );
        let diff = diff_words("one two three", "one three four");
        assert_eq!(
            sides(&diff),
            ("one two three".into(), "one three four".into())
        );
        let lines = diff_lines("a\nb\nc\n", "a\nB\nc\n");
        assert_eq!(
            lines,
            [
                DiffPart {
                    op: DiffOp::Same,
                    text: "a\n".into()
                },
                DiffPart {
                    op: DiffOp::Removed,
                    text: "b\n".into()
                },
                DiffPart {
                    op: DiffOp::Added,
                    text: "B\n".into()
                },
                DiffPart {
                    op: DiffOp::Same,
                    text: "c\n".into()
                },
            ]
        );
        // Wholly rewritten long texts still get a diff that reconstructs
        // both sides: the words replaced, the shared last space kept.
        let old: String = (0..1500).map(|i| format!("w{i} ")).collect();
        let new: String = (0..1500).map(|i| format!("v{i} ")).collect();
        let diff = diff_words(&old, &new);
        assert_eq!(sides(&diff), (old.clone(), new.clone()));
        assert_eq!(diff.len(), 3);
        assert_eq!(
            (diff[0].op, diff[0].text.as_str()),
            (DiffOp::Removed, old.trim_end())
        );
        assert_eq!(
            (diff[1].op, diff[1].text.as_str()),
            (DiffOp::Added, new.trim_end())
        );
        assert_eq!((diff[2].op, diff[2].text.as_str()), (DiffOp::Same, " "));
    }

    /// A diff as (op, text) pairs, to compare at a glance.
    fn runs(diff: &[DiffPart]) -> Vec<(DiffOp, &str)> {
        diff.iter().map(|p| (p.op, p.text.as_str())).collect()
    }

    /// The old and the new text a diff describes.
    fn sides(diff: &[DiffPart]) -> (String, String) {
        let side = |skip: DiffOp| {
            diff.iter()
                .filter(|p| p.op != skip)
                .map(|p| p.text.as_str())
                .collect::<String>()
        };
        (side(DiffOp::Added), side(DiffOp::Removed))
    }

    #[test]
    fn a_long_text_with_a_few_changes_gets_a_word_diff() {
        let old: Vec<String> = (0..20_000).map(|i| format!("w{i}")).collect();
        let mut new = old.clone();
        new[10] = "ten".into();
        new[9_999] = "middle".into();
        new.insert(19_000, "inserted".into());
        new.remove(5_000);
        let (old, new) = (old.join(" "), new.join(" "));
        let diff = diff_words(&old, &new);
        assert_eq!(sides(&diff), (old, new));
        let mut changes = runs(&diff);
        changes.retain(|(op, _)| *op != DiffOp::Same);
        assert_eq!(
            changes,
            [
                (DiffOp::Removed, "w10"),
                (DiffOp::Added, "ten"),
                (DiffOp::Removed, " w5000"),
                (DiffOp::Removed, "w9999"),
                (DiffOp::Added, "middle"),
                (DiffOp::Added, "inserted "),
            ]
        );
    }
}
