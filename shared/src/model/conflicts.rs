//! Conflicts and their way up the escalation ladder.
//!
//! ```text
//! conflicts: { id → { title, description (Text), raised_by (member id), raised_at,
//!                     severity, status ("open" | "resolved"), resolution (Text),
//!                     resolved_at?, resolved_by?, order, deleted_at?,
//!                     escalations: { id → { level (escalation level id), at, by?,
//!                                           reopened: bool? } } } }
//! ```
//!
//! The **current level** is the level of the latest `escalations` entry (by
//! `at`, then id), shown as its index in the ladder
//! ([`super::governance::ladder`]). Raising a conflict puts it at the bottom
//! level; [`escalate`] adds an entry one level up. Two people escalating at
//! once both leave an entry; both name the same next level, so the result is
//! one level up, not two.
//!
//! A conflict is **overdue** when it is open, sits at a level, and `now` is
//! later than the time it reached that level plus the level's `within`
//! days: `now > entered_at + within × 1 day`. Exactly at the deadline it is
//! not overdue yet. Reopening a resolved conflict restarts the clock at its
//! level.

use automerge::{ObjId, ObjType, ReadDoc};

use super::editable::editable_fields;
use super::error::{OpError, OpResult};
use super::fields::{
    DAY_MS, Tx, check_date, child_map, get_bool, get_parsed, get_str, get_string, get_text,
    get_u64, new_text, non_empty, patch_non_empty, patch_put, patch_text, put, put_opt, set_text,
};
use super::ids::{ItemId, MemberId};
use super::items::{self, Collection, sub_map};
use super::refs::{self, EscalationLevel};
use super::stored_names::stored_names;
use crate::text::Splice;

const ESCALATIONS: &str = "escalations";

stored_names! {
    /// How serious a conflict is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Severity {
        /// A friction.
        Low => "low",
        /// Needs attention.
        Medium => "medium",
        /// Hurts the partnership.
        High => "high",
        /// Threatens the partnership.
        Critical => "critical",
    }

    /// Every severity, lowest first.
    ALL;
}

/// Open or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConflictStatus {
    /// Being worked on.
    Open,
    /// Settled.
    Resolved,
}

/// One step of a conflict's way up the ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    /// The entry's id.
    pub id: ItemId,
    /// The level reached.
    pub level: ItemId,
    /// When (UTC ms).
    pub at: u64,
    /// Who escalated.
    pub by: Option<MemberId>,
    /// Whether this entry reopened the conflict (restarting the clock).
    pub reopened: bool,
}

/// Where a conflict currently sits.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentLevel {
    /// The level's id.
    pub id: ItemId,
    /// Its index in the ladder (0 = bottom).
    pub index: usize,
    /// The level.
    pub level: EscalationLevel,
    /// When the conflict got there (UTC ms).
    pub since: u64,
    /// When it is overdue there: `since` + the level's days (UTC ms).
    pub deadline: u64,
}

/// A conflict as shown on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// Its id.
    pub id: ItemId,
    /// What it is about and how serious it is.
    pub fields: ConflictFields,
    /// Who raised it.
    pub raised_by: Option<MemberId>,
    /// When (UTC ms).
    pub raised_at: u64,
    /// Open or resolved.
    pub status: ConflictStatus,
    /// How it was resolved (prose).
    pub resolution: String,
    /// When it was resolved (UTC ms).
    pub resolved_at: Option<u64>,
    /// Who resolved it.
    pub resolved_by: Option<MemberId>,
    /// The level it sits at (`None`: no ladder yet, or its level was removed).
    pub level: Option<CurrentLevel>,
    /// Every escalation, oldest first (the first is where it was raised).
    pub escalations: Vec<Escalation>,
}

impl Conflict {
    /// Whether it is open.
    pub fn is_open(&self) -> bool {
        self.status == ConflictStatus::Open
    }

    /// Open and past its current level's deadline (`now > deadline`).
    pub fn is_overdue(&self, now: u64) -> bool {
        self.is_open() && self.level.as_ref().is_some_and(|l| now > l.deadline)
    }
}

editable_fields! {
    /// The editable fields of a conflict.
    #[derive(Debug, Clone, PartialEq)]
    pub struct ConflictFields {
        /// A short title (required, not blank).
        pub title: String,
        /// What it is about (prose).
        pub description: String,
        /// How serious it is.
        pub severity: Severity,
    }

    /// Changes to a conflict.
    pub struct ConflictPatch;
}

/// What [`raise`] takes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConflict {
    /// What it is about.
    pub fields: ConflictFields,
    /// Who raises it (a current member).
    pub raised_by: MemberId,
}

fn escalations<R: ReadDoc>(doc: &R, obj: &ObjId) -> Vec<Escalation> {
    let Some(map) = child_map(doc, obj, ESCALATIONS) else {
        return Vec::new();
    };
    let mut found: Vec<Escalation> = doc
        .keys(&map)
        .filter_map(|key| {
            let entry = child_map(doc, &map, &key)?;
            Some(Escalation {
                id: key.parse().ok()?,
                level: get_parsed(doc, &entry, "level")?,
                at: get_u64(doc, &entry, "at")?,
                by: get_parsed(doc, &entry, "by"),
                reopened: get_bool(doc, &entry, "reopened"),
            })
        })
        .collect();
    found.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    found
}

/// The level of the latest entry, located in the ladder. The clock at a
/// level starts at the first of the latest run of entries naming it (or at
/// the latest reopening), so a concurrent duplicate escalation does not
/// restart it.
fn current_level(ladder: &[EscalationLevel], history: &[Escalation]) -> Option<CurrentLevel> {
    let latest = history.last()?;
    let mut since = latest.at;
    let mut previous = None;
    for entry in history {
        if previous != Some(entry.level) || entry.reopened {
            since = entry.at;
        }
        previous = Some(entry.level);
    }
    let (index, level) = ladder
        .iter()
        .enumerate()
        .find(|(_, l)| l.id == latest.level)?;
    Some(CurrentLevel {
        id: level.id,
        index,
        level: level.clone(),
        since,
        deadline: since.saturating_add(u64::from(level.within_days) * DAY_MS),
    })
}

fn read_one<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId, ladder: &[EscalationLevel]) -> Conflict {
    let history = escalations(doc, obj);
    Conflict {
        id,
        fields: ConflictFields {
            title: get_string(doc, obj, "title"),
            description: get_text(doc, obj, "description"),
            severity: get_str(doc, obj, "severity")
                .and_then(|s| Severity::from_stored(&s))
                .unwrap_or(Severity::Medium),
        },
        raised_by: get_parsed(doc, obj, "raised_by"),
        raised_at: get_u64(doc, obj, "raised_at").unwrap_or(0),
        status: if get_str(doc, obj, "status").as_deref() == Some("resolved") {
            ConflictStatus::Resolved
        } else {
            ConflictStatus::Open
        },
        resolution: get_text(doc, obj, "resolution"),
        resolved_at: get_u64(doc, obj, "resolved_at"),
        resolved_by: get_parsed(doc, obj, "resolved_by"),
        level: current_level(ladder, &history),
        escalations: history,
    }
}

/// Every conflict, open ones first, then by when raised (then id).
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Conflict> {
    let ladder = refs::escalation_ladder(doc);
    let mut found: Vec<Conflict> = items::read_all(doc, Collection::Conflicts, |id, obj| {
        read_one(doc, id, obj, &ladder)
    });
    found.sort_by(|a, b| {
        b.is_open()
            .cmp(&a.is_open())
            .then(a.raised_at.cmp(&b.raised_at))
            .then(a.id.cmp(&b.id))
    });
    found
}

/// One conflict, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<Conflict> {
    let obj = require(doc, id)?;
    Ok(read_one(doc, id, &obj, &refs::escalation_ladder(doc)))
}

/// The open conflicts past their deadline at their level, most overdue first.
pub fn overdue<R: ReadDoc>(doc: &R, now: u64) -> Vec<Conflict> {
    let mut found: Vec<Conflict> = list(doc)
        .into_iter()
        .filter(|c| c.is_overdue(now))
        .collect();
    found.sort_by_key(|c| c.level.as_ref().map(|l| l.deadline));
    found
}

fn require<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<ObjId> {
    items::require(doc, Collection::Conflicts, id)
}

fn add_entry<T: Tx>(
    tx: &mut T,
    obj: &ObjId,
    entry: ItemId,
    level: ItemId,
    by: MemberId,
    at: u64,
) -> OpResult {
    let map = sub_map(tx, obj, ESCALATIONS, "conflict.escalations")?;
    let key = entry.key();
    if tx.get(&map, &key)?.is_some() {
        return Err(OpError::Duplicate {
            kind: "escalation",
            id: key,
        });
    }
    let item = tx.put_object(&map, key.as_str(), ObjType::Map)?;
    tx.put(&item, "level", level.key())?;
    tx.put(&item, "at", at)?;
    tx.put(&item, "by", by.key())?;
    Ok(())
}

/// Raises a conflict at the bottom level of the ladder (if there is one).
/// Its first escalation entry is keyed by the conflict's own id.
pub fn raise<T: Tx>(tx: &mut T, id: ItemId, new: &NewConflict, now: u64) -> OpResult {
    let title = non_empty("title", &new.fields.title)?;
    let now = check_date("time", now)?;
    refs::require_member(tx, new.raised_by)?;
    let bottom = refs::escalation_ladder(tx).first().map(|l| l.id);
    let obj = items::create_item(tx, Collection::Conflicts, id)?;
    tx.put(&obj, "title", title)?;
    new_text(tx, &obj, "description", &new.fields.description)?;
    tx.put(&obj, "raised_by", new.raised_by.key())?;
    tx.put(&obj, "raised_at", now)?;
    tx.put(&obj, "severity", new.fields.severity.as_str())?;
    tx.put(&obj, "status", "open")?;
    new_text(tx, &obj, "resolution", "")?;
    tx.put_object(&obj, ESCALATIONS, ObjType::Map)?;
    if let Some(level) = bottom {
        add_entry(tx, &obj, id, level, new.raised_by, now)?;
    }
    Ok(())
}

/// Edits a conflict, field by field.
pub fn update<T: Tx>(tx: &mut T, id: ItemId, patch: &ConflictPatch) -> OpResult {
    let title = patch_non_empty("title", patch.title.as_deref())?;
    let obj = require(tx, id)?;
    patch_put(tx, &obj, "title", title)?;
    patch_text(tx, &obj, "description", patch.description.as_deref())?;
    patch_put(tx, &obj, "severity", patch.severity)?;
    Ok(())
}

/// Applies one splice to the description (what its editor reports as
/// someone types), so both parties describing the same conflict keep their
/// words.
pub fn edit_description<T: Tx>(tx: &mut T, id: ItemId, edit: &Splice) -> OpResult {
    items::splice_field(tx, Collection::Conflicts, id, "description", edit)
}

/// Moves an open conflict one level up the ladder at `now`, recorded as
/// the entry `entry` (a fresh id). A conflict at no level (raised before
/// the ladder existed, or whose level was removed) goes to the bottom
/// level. Refused at the top of the ladder.
pub fn escalate<T: Tx>(tx: &mut T, id: ItemId, entry: ItemId, by: MemberId, now: u64) -> OpResult {
    let now = check_date("time", now)?;
    refs::require_member(tx, by)?;
    let conflict = get(tx, id)?;
    if !conflict.is_open() {
        return Err(OpError::Invalid {
            field: "conflict",
            reason: "it is resolved",
        });
    }
    let ladder = refs::escalation_ladder(tx);
    let next = match &conflict.level {
        None => 0,
        Some(level) => level.index + 1,
    };
    let level = ladder.get(next).ok_or(OpError::Invalid {
        field: "escalation",
        reason: if ladder.is_empty() {
            "there is no escalation ladder yet"
        } else {
            "the conflict is already at the top of the ladder"
        },
    })?;
    let obj = require(tx, id)?;
    add_entry(tx, &obj, entry, level.id, by, now)
}

/// Resolves a conflict, recording how, by whom and when.
pub fn resolve<T: Tx>(
    tx: &mut T,
    id: ItemId,
    resolution: &str,
    by: MemberId,
    now: u64,
) -> OpResult {
    let resolution = non_empty("resolution", resolution)?;
    let now = check_date("time", now)?;
    refs::require_member(tx, by)?;
    let obj = require(tx, id)?;
    put(tx, &obj, "status", "resolved")?;
    set_text(tx, &obj, "resolution", &resolution)?;
    put(tx, &obj, "resolved_at", now)?;
    put(tx, &obj, "resolved_by", by.key())
}

/// Reopens a resolved conflict at its level; the clock at that level starts
/// again at `now` (recorded as the entry `entry`).
pub fn reopen<T: Tx>(tx: &mut T, id: ItemId, entry: ItemId, by: MemberId, now: u64) -> OpResult {
    let now = check_date("time", now)?;
    refs::require_member(tx, by)?;
    let conflict = get(tx, id)?;
    if conflict.is_open() {
        return Err(OpError::Invalid {
            field: "conflict",
            reason: "it is already open",
        });
    }
    let obj = require(tx, id)?;
    put(tx, &obj, "status", "open")?;
    put_opt::<_, u64>(tx, &obj, "resolved_at", None)?;
    put_opt::<_, String>(tx, &obj, "resolved_by", None)?;
    if let Some(level) = conflict.level {
        add_entry(tx, &obj, entry, level.id, by, now)?;
        let map = sub_map(tx, &obj, ESCALATIONS, "conflict.escalations")?;
        let added =
            child_map(tx, &map, &entry.key()).ok_or(OpError::NotInitialized("escalation"))?;
        tx.put(&added, "reopened", true)?;
    }
    Ok(())
}

/// Removes a level of the escalation ladder. Refused while an open
/// conflict sits at it (which is why this lives with the conflicts).
pub fn delete_level<T: Tx>(tx: &mut T, id: ItemId, now: u64) -> OpResult {
    if list(tx)
        .iter()
        .any(|c| c.is_open() && c.level.as_ref().is_some_and(|l| l.id == id))
    {
        return Err(OpError::InUse {
            kind: "escalation level",
            reason: "an open conflict is at this level",
        });
    }
    super::items::delete(tx, super::items::Collection::EscalationLevels, id, now)
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;
    use crate::model::governance;
    use crate::model::items::{self, Collection};
    use crate::model::test_support::{Fixture, T0, id, insert, partnership, sync_pair};

    fn ladder(doc: &mut automerge::AutoCommit) {
        governance::add_level(doc, id(201), "Partnership managers", "Alice and Bob", 7).unwrap();
        governance::add_level(doc, id(202), "Steering committee", "JSC", 14).unwrap();
        governance::add_level(doc, id(203), "Executives", "CEOs", 30).unwrap();
    }

    fn new(raised_by: MemberId) -> NewConflict {
        NewConflict {
            fields: ConflictFields {
                title: "Lead sharing".into(),
                description: "Leads are not shared within 48 hours.".into(),
                severity: Severity::High,
            },
            raised_by,
        }
    }

    /// A partnership where Alice has raised conflict `id(1)` at [`T0`].
    fn raised_by_alice() -> (Fixture, MemberId) {
        let mut fixture = partnership();
        let alice = fixture.alice;
        raise(&mut fixture.doc, id(1), &new(alice), T0).unwrap();
        (fixture, alice)
    }

    #[test]
    fn raise_validates_and_starts_at_the_bottom() {
        let mut fixture = partnership();
        let alice = fixture.alice;
        let doc = &mut fixture.doc;
        ladder(doc);
        doc.commit();
        assert!(
            raise(
                doc,
                id(1),
                &NewConflict {
                    fields: ConflictFields {
                        title: " ".into(),
                        ..new(alice).fields
                    },
                    ..new(alice)
                },
                T0
            )
            .is_err()
        );
        assert!(raise(doc, id(1), &new(MemberId::from_bytes([9; 16])), T0).is_err());
        assert!(raise(doc, id(1), &new(alice), 3).is_err());
        assert_eq!(doc.pending_ops(), 0);
        raise(doc, id(1), &new(alice), T0).unwrap();
        let conflict = get(doc, id(1)).unwrap();
        assert_eq!(conflict.raised_by, Some(alice));
        assert_eq!(conflict.fields.severity, Severity::High);
        assert!(conflict.is_open());
        let level = conflict.level.unwrap();
        assert_eq!((level.index, level.id, level.since), (0, id(201), T0));
        assert_eq!(level.deadline, T0 + 7 * DAY_MS);
        update(
            doc,
            id(1),
            &ConflictPatch {
                severity: Some(Severity::Critical),
                description: Some("Leads are not shared within 2 days.".into()),
                ..ConflictPatch::default()
            },
        )
        .unwrap();
        let conflict = get(doc, id(1)).unwrap();
        assert_eq!(conflict.fields.severity, Severity::Critical);
        assert_eq!(
            conflict.fields.description,
            "Leads are not shared within 2 days."
        );
    }

    #[test]
    fn both_parties_describing_one_conflict_keep_their_words() {
        let (mut fixture, _) = raised_by_alice();
        let doc = &mut fixture.doc;
        let mut partner = doc.fork();
        let end = get(doc, id(1)).unwrap().fields.description.chars().count();
        edit_description(doc, id(1), &insert(0, "Since May: ")).unwrap();
        edit_description(&mut partner, id(1), &insert(end, " Both sides agree.")).unwrap();
        sync_pair(doc, &mut partner);
        let expected = "Since May: Leads are not shared within 48 hours. Both sides agree.";
        assert_eq!(get(doc, id(1)).unwrap().fields.description, expected);
        assert_eq!(get(&partner, id(1)).unwrap().fields.description, expected);
        let beyond = Splice {
            position: end + 99,
            delete: 0,
            insert: "x".into(),
        };
        assert!(matches!(
            edit_description(doc, id(1), &beyond),
            Err(OpError::Text(_))
        ));
        assert!(edit_description(doc, id(9), &insert(0, "x")).is_err());
    }

    #[test]
    fn escalation_timing() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        ladder(doc);
        raise(doc, id(1), &new(alice), T0).unwrap();
        // Level 0 allows 7 days: overdue only strictly after T0 + 7 days.
        let deadline = T0 + 7 * DAY_MS;
        assert!(!get(doc, id(1)).unwrap().is_overdue(deadline - 1));
        assert!(!get(doc, id(1)).unwrap().is_overdue(deadline));
        assert!(get(doc, id(1)).unwrap().is_overdue(deadline + 1));
        assert!(overdue(doc, deadline).is_empty());
        assert_eq!(overdue(doc, deadline + 1).len(), 1);

        // Escalating at day 8 moves one level up and restarts the clock
        // there with that level's 14 days.
        let at = T0 + 8 * DAY_MS;
        escalate(doc, id(1), id(2), bob, at).unwrap();
        let conflict = get(doc, id(1)).unwrap();
        let level = conflict.level.clone().unwrap();
        assert_eq!(
            (level.index, level.since, level.deadline),
            (1, at, at + 14 * DAY_MS)
        );
        assert_eq!(conflict.escalations.len(), 2);
        assert_eq!(conflict.escalations[1].by, Some(bob));
        assert!(!conflict.is_overdue(at + 14 * DAY_MS));
        assert!(conflict.is_overdue(at + 14 * DAY_MS + 1));

        escalate(doc, id(1), id(3), bob, at + DAY_MS).unwrap();
        assert_eq!(get(doc, id(1)).unwrap().level.unwrap().index, 2);
        assert!(matches!(
            escalate(doc, id(1), id(4), bob, at + 2 * DAY_MS),
            Err(OpError::Invalid {
                field: "escalation",
                ..
            })
        ));
        assert!(matches!(
            escalate(doc, id(1), id(3), bob, at + 2 * DAY_MS),
            Err(OpError::Invalid { .. })
        ));

        // Resolved conflicts are never overdue; reopening restarts the clock.
        assert!(resolve(doc, id(1), " ", alice, at).is_err());
        resolve(doc, id(1), "Shared CRM pipeline.", alice, at + 3 * DAY_MS).unwrap();
        let conflict = get(doc, id(1)).unwrap();
        assert_eq!(conflict.status, ConflictStatus::Resolved);
        assert_eq!(conflict.resolution, "Shared CRM pipeline.");
        assert_eq!(conflict.resolved_by, Some(alice));
        assert!(!conflict.is_overdue(at + 1000 * DAY_MS));
        assert!(escalate(doc, id(1), id(5), bob, at + 4 * DAY_MS).is_err());
        let reopened = at + 100 * DAY_MS;
        reopen(doc, id(1), id(6), bob, reopened).unwrap();
        assert!(reopen(doc, id(1), id(7), bob, reopened).is_err());
        let conflict = get(doc, id(1)).unwrap();
        assert!(conflict.is_open());
        assert_eq!(conflict.resolved_at, None);
        let level = conflict.level.unwrap();
        assert_eq!((level.index, level.since), (2, reopened));
        assert!(!get(doc, id(1)).unwrap().is_overdue(reopened + 30 * DAY_MS));
        assert!(
            get(doc, id(1))
                .unwrap()
                .is_overdue(reopened + 30 * DAY_MS + 1)
        );
    }

    #[test]
    fn concurrent_escalations_move_one_level_and_keep_the_first_time() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        ladder(&mut fixture.doc);
        raise(&mut fixture.doc, id(1), &new(alice), T0).unwrap();
        let mut other = fixture.doc.fork();
        escalate(&mut fixture.doc, id(1), id(2), alice, T0 + DAY_MS).unwrap();
        escalate(&mut other, id(1), id(3), bob, T0 + 2 * DAY_MS).unwrap();
        fixture.doc.merge(&mut other).unwrap();
        let conflict = get(&fixture.doc, id(1)).unwrap();
        assert_eq!(conflict.escalations.len(), 3);
        let level = conflict.level.unwrap();
        assert_eq!((level.index, level.since), (1, T0 + DAY_MS));
    }

    #[test]
    fn without_a_ladder_and_after_removing_levels() {
        let (mut fixture, alice) = raised_by_alice();
        let doc = &mut fixture.doc;
        let conflict = get(doc, id(1)).unwrap();
        assert!(conflict.level.is_none() && !conflict.is_overdue(T0 + 1000 * DAY_MS));
        assert!(matches!(
            escalate(doc, id(1), id(2), alice, T0),
            Err(OpError::Invalid {
                reason: "there is no escalation ladder yet",
                ..
            })
        ));
        ladder(doc);
        escalate(doc, id(1), id(2), alice, T0 + DAY_MS).unwrap();
        assert_eq!(get(doc, id(1)).unwrap().level.unwrap().index, 0);
        assert!(matches!(
            delete_level(doc, id(201), T0),
            Err(OpError::InUse { .. })
        ));
        resolve(doc, id(1), "Done", alice, T0 + DAY_MS).unwrap();
        delete_level(doc, id(201), T0).unwrap();
        assert!(get(doc, id(1)).unwrap().level.is_none());
        items::delete(doc, Collection::Conflicts, id(1), T0).unwrap();
        assert!(list(doc).is_empty());
        items::restore(doc, Collection::Conflicts, id(1)).unwrap();
        assert_eq!(list(doc).len(), 1);
    }
}
