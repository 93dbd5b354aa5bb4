//! Meetings: check-ins, quarterly business reviews, steering committees and
//! workshops, with their agenda, minutes, decision log and action items.
//!
//! ```text
//! meetings: { id → { kind, title, at (date), duration (minutes), location,
//!                    held_at?, minutes (Text), created_at, order, deleted_at?,
//!                    agenda:    { id → { title, order, deleted_at? } },
//!                    decisions: { id → { text, at, by (member id)?, order, deleted_at? } },
//!                    actions:   { id → { title, owner (member id)?, due?, done, done_at?,
//!                                        order, deleted_at? } } } }
//! ```
//!
//! What ties meetings to the overview's check-ins (a meeting scheduled at the
//! next check-in due, holding a check-in recording it) spans two
//! collections, so it lives above both, in [`super::check_ins`].
//!
//! Action items live in the meeting (or review, see [`super::reviews`]) that
//! produced them; [`all_actions`] is the one list across both. An action is
//! **overdue** when it is not done and `now` is past its due date
//! (`now > due`).

use automerge::{ObjId, ObjType, ReadDoc};

use super::editable::editable_fields;
use super::error::{OpError, OpResult};
use super::fields::{
    Tx, check_date, check_range, get_parsed, get_str, get_string, get_text, get_u32, get_u64,
    non_empty, patch_non_empty, patch_put, put, set_text,
};
use super::ids::{ItemId, MemberId};
use super::items::{self, Collection, move_in, require_in, sub_map};
use crate::text::Splice;

use super::actions::{ActionItem, read_actions};
use super::keys::{ACTIONS, AGENDA, DECISIONS};
use super::refs;
use super::stored_names::stored_names;

/// Longest meeting accepted, in minutes (a day).
pub const MAX_DURATION_MINUTES: u32 = 24 * 60;
/// Length of a meeting scheduled without one, in minutes.
pub const DEFAULT_DURATION_MINUTES: u32 = 60;

stored_names! {
    /// What kind of meeting.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum MeetingKind {
        /// A regular check-in between the partnership managers.
        CheckIn => "check_in",
        /// A quarterly business review.
        QuarterlyBusinessReview => "qbr",
        /// A meeting of a joint steering committee.
        SteeringCommittee => "steering_committee",
        /// A joint workshop (kick-off, planning, post-mortem).
        Workshop => "workshop",
    }

    /// Every kind.
    ALL;
}

impl MeetingKind {
    /// A human label ("Check-in", …), also the title of an untitled meeting.
    pub fn label(self) -> &'static str {
        match self {
            Self::CheckIn => "Check-in",
            Self::QuarterlyBusinessReview => "Quarterly business review",
            Self::SteeringCommittee => "Steering committee",
            Self::Workshop => "Workshop",
        }
    }

    /// Whether holding this meeting counts as a check-in on the overview.
    pub fn is_check_in(self) -> bool {
        matches!(self, Self::CheckIn | Self::QuarterlyBusinessReview)
    }
}

/// One agenda item.
#[derive(Debug, Clone, PartialEq)]
pub struct AgendaItem {
    /// Its id.
    pub id: ItemId,
    /// What is discussed.
    pub title: String,
}

/// One entry of the decision log.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Its id.
    pub id: ItemId,
    /// What was decided.
    pub text: String,
    /// When (UTC ms).
    pub at: u64,
    /// Who recorded it.
    pub by: Option<MemberId>,
}

/// A meeting as shown on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Meeting {
    /// Its id.
    pub id: ItemId,
    /// What it is, when and where.
    pub fields: MeetingFields,
    /// When it was marked held (UTC ms).
    pub held_at: Option<u64>,
    /// The agenda, in order.
    pub agenda: Vec<AgendaItem>,
    /// The minutes (prose).
    pub minutes: String,
    /// The decision log, oldest first.
    pub decisions: Vec<Decision>,
    /// The action items, in order.
    pub actions: Vec<ActionItem>,
    /// When it was scheduled (UTC ms).
    pub created_at: Option<u64>,
}

impl Meeting {
    /// When it ends (UTC ms).
    pub fn ends_at(&self) -> u64 {
        self.fields
            .at
            .saturating_add(u64::from(self.fields.duration_minutes) * 60_000)
    }
}

editable_fields! {
    /// The editable fields of a meeting.
    #[derive(Debug, Clone, PartialEq)]
    pub struct MeetingFields {
        /// Its kind.
        pub kind: MeetingKind,
        /// Its title (not blank).
        pub title: String,
        /// When it starts (UTC ms).
        pub at: u64,
        /// How long it lasts, in minutes (1–1440).
        pub duration_minutes: u32,
        /// Where (a room or a call link).
        pub location: String,
    }

    /// Changes to a meeting.
    pub struct MeetingPatch;
}

/// What [`schedule`] takes: a meeting's fields, except that its title may
/// be blank (the kind's label is used) and its time may be left to the
/// review cadence.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMeeting {
    /// Its kind.
    pub kind: MeetingKind,
    /// Its title (blank: the kind's label).
    pub title: String,
    /// When it starts; `None`: at the next check-in due by the review
    /// cadence.
    pub at: Option<u64>,
    /// How long, in minutes (1–1440).
    pub duration_minutes: u32,
    /// Where.
    pub location: String,
}

/// A new decision.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDecision {
    /// What was decided (required).
    pub text: String,
    /// When.
    pub at: u64,
    /// Who records it (a current member).
    pub by: MemberId,
}

// ---------------------------------------------------------------------------
// Meetings.

fn read_one<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Meeting {
    let agenda = items::read_under(doc, obj, AGENDA, |id, o| AgendaItem {
        id,
        title: get_string(doc, o, "title"),
    });
    let mut decisions = items::read_under(doc, obj, DECISIONS, |id, o| Decision {
        id,
        text: get_string(doc, o, "text"),
        at: get_u64(doc, o, "at").unwrap_or(0),
        by: get_parsed(doc, o, "by"),
    });
    decisions.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    let kind = get_str(doc, obj, "kind")
        .and_then(|k| MeetingKind::from_stored(&k))
        .unwrap_or(MeetingKind::CheckIn);
    Meeting {
        id,
        fields: MeetingFields {
            kind,
            title: get_string(doc, obj, "title"),
            at: get_u64(doc, obj, "at").unwrap_or(0),
            duration_minutes: get_u32(doc, obj, "duration").unwrap_or(DEFAULT_DURATION_MINUTES),
            location: get_string(doc, obj, "location"),
        },
        held_at: get_u64(doc, obj, "held_at"),
        agenda,
        minutes: get_text(doc, obj, "minutes"),
        decisions,
        actions: read_actions(doc, obj),
        created_at: get_u64(doc, obj, "created_at"),
    }
}

/// Every meeting, by start time (then id).
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Meeting> {
    let mut found: Vec<Meeting> =
        items::read_all(doc, Collection::Meetings, |id, obj| read_one(doc, id, obj));
    found.sort_by(|a, b| a.fields.at.cmp(&b.fields.at).then(a.id.cmp(&b.id)));
    found
}

/// One meeting, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<Meeting> {
    let obj = items::require(doc, Collection::Meetings, id)?;
    Ok(read_one(doc, id, &obj))
}

fn require<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<ObjId> {
    items::require(doc, Collection::Meetings, id)
}

fn check_duration(minutes: u32) -> OpResult<u32> {
    check_range(
        "duration (minutes)",
        minutes.into(),
        1,
        MAX_DURATION_MINUTES.into(),
    )
    .map(|_| minutes)
}

/// Schedules a meeting. It needs a time: [`super::check_ins::schedule`]
/// gives one left out from the review cadence.
pub fn schedule<T: Tx>(tx: &mut T, id: ItemId, new: &NewMeeting, now: u64) -> OpResult {
    let now = check_date("time", now)?;
    let title = match new.title.trim() {
        "" => new.kind.label().to_owned(),
        title => title.to_owned(),
    };
    let at = new.at.ok_or(OpError::Invalid {
        field: "time",
        reason: "no time given",
    })?;
    let at = check_date("meeting time", at)?;
    let duration = check_duration(new.duration_minutes)?;
    let obj = items::create_item(tx, Collection::Meetings, id)?;
    tx.put(&obj, "kind", new.kind.as_str())?;
    tx.put(&obj, "title", title)?;
    tx.put(&obj, "at", at)?;
    tx.put(&obj, "duration", u64::from(duration))?;
    tx.put(&obj, "location", new.location.trim())?;
    super::fields::new_text(tx, &obj, "minutes", "")?;
    tx.put(&obj, "created_at", now)?;
    for key in [AGENDA, DECISIONS, ACTIONS] {
        tx.put_object(&obj, key, ObjType::Map)?;
    }
    Ok(())
}

/// Edits a meeting, field by field.
pub fn update<T: Tx>(tx: &mut T, id: ItemId, patch: &MeetingPatch) -> OpResult {
    let title = patch_non_empty("title", patch.title.as_deref())?;
    let at = patch
        .at
        .map(|at| check_date("meeting time", at))
        .transpose()?;
    let duration = patch.duration_minutes.map(check_duration).transpose()?;
    let obj = require(tx, id)?;
    patch_put(tx, &obj, "kind", patch.kind)?;
    patch_put(tx, &obj, "title", title)?;
    patch_put(tx, &obj, "at", at)?;
    patch_put(tx, &obj, "duration", duration.map(u64::from))?;
    if let Some(location) = &patch.location {
        put(tx, &obj, "location", location.trim())?;
    }
    Ok(())
}

/// Marks the meeting held at `at` and returns its kind.
/// [`super::check_ins::hold`] also records a check-in on the overview.
pub fn mark_held<T: Tx>(tx: &mut T, id: ItemId, at: u64) -> OpResult<Option<MeetingKind>> {
    let at = check_date("date held", at)?;
    let obj = require(tx, id)?;
    let kind = get_str(tx, &obj, "kind").and_then(|k| MeetingKind::from_stored(&k));
    put(tx, &obj, "held_at", at)?;
    Ok(kind)
}

/// Rewrites the minutes (as a minimal splice of the Text).
pub fn set_minutes<T: Tx>(tx: &mut T, id: ItemId, minutes: &str) -> OpResult {
    let obj = require(tx, id)?;
    set_text(tx, &obj, "minutes", minutes)
}

/// Applies one splice to the minutes (what the minutes editor reports as
/// someone types), so two people typing in the minutes at once both keep
/// their words.
pub fn edit_minutes<T: Tx>(tx: &mut T, id: ItemId, edit: &Splice) -> OpResult {
    items::splice_field(tx, Collection::Meetings, id, "minutes", edit)
}

/// Adds an agenda item at the end of the agenda.
pub fn add_agenda_item<T: Tx>(tx: &mut T, meeting: ItemId, id: ItemId, title: &str) -> OpResult {
    let title = non_empty("agenda item", title)?;
    let obj = require(tx, meeting)?;
    let map = sub_map(tx, &obj, AGENDA, "meeting.agenda")?;
    let item = items::create(tx, &map, "agenda item", id)?;
    tx.put(&item, "title", title)?;
    Ok(())
}

/// Renames an agenda item.
pub fn rename_agenda_item<T: Tx>(tx: &mut T, meeting: ItemId, id: ItemId, title: &str) -> OpResult {
    let title = non_empty("agenda item", title)?;
    let obj = require(tx, meeting)?;
    let map = sub_map(tx, &obj, AGENDA, "meeting.agenda")?;
    let item = require_in(tx, &map, "agenda item", id)?;
    put(tx, &item, "title", title)
}

/// Moves an agenda item to `index`.
pub fn move_agenda_item<T: Tx>(tx: &mut T, meeting: ItemId, id: ItemId, index: usize) -> OpResult {
    let obj = require(tx, meeting)?;
    let map = sub_map(tx, &obj, AGENDA, "meeting.agenda")?;
    move_in(tx, &map, "agenda item", id, index)
}

/// Logs a decision taken in the meeting.
pub fn record_decision<T: Tx>(
    tx: &mut T,
    meeting: ItemId,
    id: ItemId,
    new: &NewDecision,
) -> OpResult {
    let text = non_empty("decision", &new.text)?;
    let at = check_date("decision date", new.at)?;
    refs::require_member(tx, new.by)?;
    let obj = require(tx, meeting)?;
    let map = sub_map(tx, &obj, DECISIONS, "meeting.decisions")?;
    let item = items::create(tx, &map, "decision", id)?;
    tx.put(&item, "text", text)?;
    tx.put(&item, "at", at)?;
    tx.put(&item, "by", new.by.key())?;
    Ok(())
}

/// The meetings not yet held that start at or after `now`, soonest first.
pub fn upcoming<R: ReadDoc>(doc: &R, now: u64) -> Vec<Meeting> {
    list(doc)
        .into_iter()
        .filter(|m| m.held_at.is_none() && m.fields.at >= now)
        .collect()
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;
    use crate::model::actions::{self, ActionPatch, ActionSource, NewAction};
    use crate::model::check_ins;
    use crate::model::fields::DAY_MS;
    use crate::model::items::{self, Collection};
    use crate::model::overview;
    use crate::model::test_support::{T0, id, insert, partnership, sync_pair};
    use automerge::ROOT;

    fn check_in(at: Option<u64>) -> NewMeeting {
        NewMeeting {
            kind: MeetingKind::CheckIn,
            title: String::new(),
            at,
            duration_minutes: 45,
            location: " Call ".into(),
        }
    }

    #[test]
    fn schedule_validates_and_derives_time_from_the_cadence() {
        let mut doc = partnership().doc;
        assert!(matches!(
            check_ins::schedule(&mut doc, id(1), &check_in(Some(5)), T0),
            Err(OpError::InvalidDate { .. })
        ));
        assert!(matches!(
            check_ins::schedule(
                &mut doc,
                id(1),
                &NewMeeting {
                    duration_minutes: 0,
                    ..check_in(None)
                },
                T0
            ),
            Err(OpError::OutOfRange { .. })
        ));
        assert!(check_ins::schedule(&mut doc, id(1), &check_in(None), 0).is_err());
        assert_eq!(doc.pending_ops(), 0);
        check_ins::schedule(&mut doc, id(1), &check_in(None), T0).unwrap();
        let meeting = get(&doc, id(1)).unwrap();
        assert_eq!(meeting.fields.at, T0 + 91 * DAY_MS);
        assert_eq!(meeting.fields.title, "Check-in");
        assert_eq!(meeting.fields.location, "Call");
        assert_eq!(meeting.ends_at(), meeting.fields.at + 45 * 60_000);
        assert!(matches!(
            check_ins::schedule(&mut doc, id(1), &check_in(Some(T0)), T0),
            Err(OpError::Duplicate { .. })
        ));
        // Without a created_at there is no cadence to derive from.
        let mut bare = automerge::AutoCommit::new();
        bare.put_object(ROOT, crate::model::keys::MEETINGS, ObjType::Map)
            .unwrap();
        assert!(matches!(
            check_ins::schedule(&mut bare, id(2), &check_in(None), T0),
            Err(OpError::Invalid { field: "time", .. })
        ));
    }

    #[test]
    fn agenda_minutes_decisions_and_actions() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        schedule(doc, id(1), &check_in(Some(T0 + DAY_MS)), T0).unwrap();
        add_agenda_item(doc, id(1), id(10), "Pipeline").unwrap();
        add_agenda_item(doc, id(1), id(11), "Risks").unwrap();
        add_agenda_item(doc, id(1), id(12), "AOB").unwrap();
        assert!(add_agenda_item(doc, id(1), id(13), " ").is_err());
        assert!(add_agenda_item(doc, id(9), id(13), "x").is_err());
        move_agenda_item(doc, id(1), id(12), 0).unwrap();
        rename_agenda_item(doc, id(1), id(11), "Risk register").unwrap();
        items::delete(doc, Collection::Agenda { meeting: id(1) }, id(10), T0).unwrap();
        assert!(rename_agenda_item(doc, id(1), id(10), "x").is_err());
        set_minutes(doc, id(1), "We met.").unwrap();
        set_minutes(doc, id(1), "We met and agreed.").unwrap();
        let decision = |text: &str, at| NewDecision {
            text: text.into(),
            at,
            by: alice,
        };
        assert!(record_decision(doc, id(1), id(20), &decision(" ", T0)).is_err());
        assert!(record_decision(doc, id(1), id(20), &decision("x", 1)).is_err());
        record_decision(doc, id(1), id(21), &decision("Second", T0 + 2)).unwrap();
        record_decision(doc, id(1), id(20), &decision("First", T0 + 1)).unwrap();
        record_decision(doc, id(1), id(22), &decision("Oops", T0 + 3)).unwrap();
        items::delete(doc, Collection::Decisions { meeting: id(1) }, id(22), T0).unwrap();
        let source = ActionSource::Meeting(id(1));
        let new = NewAction {
            title: "Send deck".into(),
            owner: Some(bob),
            due: Some(T0 + 7 * DAY_MS),
        };
        let invalid = [
            NewAction {
                owner: Some(MemberId::from_bytes([9; 16])),
                ..new.clone()
            },
            NewAction {
                due: Some(3),
                ..new.clone()
            },
        ];
        for bad in &invalid {
            assert!(actions::add(doc, source, id(30), bad).is_err(), "{bad:?}");
        }
        actions::add(doc, source, id(30), &new).unwrap();
        actions::add(
            doc,
            source,
            id(31),
            &NewAction {
                title: "Book venue".into(),
                ..NewAction::default()
            },
        )
        .unwrap();
        actions::update(
            doc,
            source,
            id(31),
            &ActionPatch {
                owner: Some(Some(alice)),
                due: Some(Some(T0 + DAY_MS)),
                ..ActionPatch::default()
            },
        )
        .unwrap();
        assert!(
            actions::update(
                doc,
                source,
                id(31),
                &ActionPatch {
                    title: Some("".into()),
                    ..ActionPatch::default()
                }
            )
            .is_err()
        );
        let meeting = get(doc, id(1)).unwrap();
        let agenda: Vec<&str> = meeting.agenda.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(agenda, ["AOB", "Risk register"]);
        assert_eq!(meeting.minutes, "We met and agreed.");
        let decisions: Vec<&str> = meeting.decisions.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(decisions, ["First", "Second"]);
        assert_eq!(meeting.actions.len(), 2);
        assert_eq!(meeting.actions[1].fields.owner, Some(alice));

        // Overdue is strictly after the due date, and done actions never are.
        let due = T0 + DAY_MS;
        assert!(crate::views::attention::overdue_actions(doc, due).is_empty());
        let overdue = crate::views::attention::overdue_actions(doc, due + 1);
        assert_eq!(overdue.len(), 1);
        assert_eq!(overdue[0].action.id, id(31));
        assert_eq!(overdue[0].source, source);
        assert_eq!(
            crate::views::attention::overdue_actions(doc, T0 + 8 * DAY_MS).len(),
            2
        );
        actions::set_done(doc, source, id(31), true, T0 + 2 * DAY_MS).unwrap();
        assert_eq!(
            crate::views::attention::overdue_actions(doc, T0 + 8 * DAY_MS).len(),
            1
        );
        let action = &get(doc, id(1)).unwrap().actions[1];
        assert_eq!(action.done_at, Some(T0 + 2 * DAY_MS));
        actions::set_done(doc, source, id(31), false, T0 + 3 * DAY_MS).unwrap();
        assert_eq!(get(doc, id(1)).unwrap().actions[1].done_at, None);
        items::delete(
            doc,
            Collection::MeetingActions { meeting: id(1) },
            id(31),
            T0,
        )
        .unwrap();
        assert!(actions::set_done(doc, source, id(31), true, T0).is_err());
        assert_eq!(crate::views::attention::all_actions(doc).len(), 1);
    }

    #[test]
    fn holding_a_check_in_moves_the_next_one() {
        let mut doc = partnership().doc;
        schedule(&mut doc, id(1), &check_in(Some(T0 + DAY_MS)), T0).unwrap();
        let workshop = NewMeeting {
            kind: MeetingKind::Workshop,
            title: "Kick-off".into(),
            ..check_in(Some(T0 + 2 * DAY_MS))
        };
        schedule(&mut doc, id(2), &workshop, T0).unwrap();
        assert_eq!(upcoming(&doc, T0).len(), 2);
        check_ins::hold(&mut doc, id(2), T0 + 2 * DAY_MS).unwrap();
        assert_eq!(overview::read(&doc).last_check_in, None);
        check_ins::hold(&mut doc, id(1), T0 + DAY_MS).unwrap();
        assert_eq!(overview::read(&doc).last_check_in, Some(T0 + DAY_MS));
        assert_eq!(check_ins::suggested_time(&doc), Some(T0 + 92 * DAY_MS));
        assert!(upcoming(&doc, T0).is_empty());
        assert!(check_ins::hold(&mut doc, id(3), T0).is_err());
        update(
            &mut doc,
            id(2),
            &MeetingPatch {
                kind: Some(MeetingKind::SteeringCommittee),
                title: Some("Steering Q1".into()),
                at: Some(T0 + 3 * DAY_MS),
                duration_minutes: Some(90),
                location: Some("HQ".into()),
            },
        )
        .unwrap();
        assert!(
            update(
                &mut doc,
                id(2),
                &MeetingPatch {
                    duration_minutes: Some(2000),
                    ..MeetingPatch::default()
                }
            )
            .is_err()
        );
        let meetings = list(&doc);
        assert_eq!(meetings[1].fields.kind, MeetingKind::SteeringCommittee);
        assert_eq!(meetings[1].fields.title, "Steering Q1");
        items::delete(&mut doc, Collection::Meetings, id(2), T0).unwrap();
        assert_eq!(list(&doc).len(), 1);
        items::restore(&mut doc, Collection::Meetings, id(2)).unwrap();
        assert_eq!(list(&doc).len(), 2);
        assert!(items::restore(&mut doc, Collection::Meetings, id(2)).is_err());
    }

    #[test]
    fn two_people_typing_in_the_minutes_at_once_both_keep_their_words() {
        let doc = &mut partnership().doc;
        schedule(doc, id(1), &check_in(Some(T0 + DAY_MS)), T0).unwrap();
        set_minutes(doc, id(1), "Agreed.").unwrap();
        let mut partner = doc.fork();
        // Each types with the text they see; neither has the other's edit yet.
        edit_minutes(doc, id(1), &insert(0, "Pilot: ")).unwrap();
        edit_minutes(&mut partner, id(1), &insert(7, " Next: Q3.")).unwrap();
        sync_pair(doc, &mut partner);
        assert_eq!(get(doc, id(1)).unwrap().minutes, "Pilot: Agreed. Next: Q3.");
        assert_eq!(
            get(&partner, id(1)).unwrap().minutes,
            "Pilot: Agreed. Next: Q3."
        );
        let beyond = Splice {
            position: 99,
            delete: 1,
            insert: String::new(),
        };
        assert!(matches!(
            edit_minutes(doc, id(1), &beyond),
            Err(OpError::Text(_))
        ));
        assert!(edit_minutes(doc, id(9), &insert(0, "x")).is_err());
    }
}
