//! The communication plan: what is communicated, to whom, how and how
//! often.
//!
//! `comm_plan{id → {what, audience, medium, frequency (days), owner (member
//! id)?, last_sent?, created_at, order, deleted_at?}}`

use automerge::{ObjId, ReadDoc};

use super::editable::editable_fields;
use super::error::OpResult;
use super::fields::{
    DAY_MS, Tx, check_date, check_range, get_parsed, get_string, get_u32, get_u64, non_empty,
    patch_non_empty, patch_put, patch_put_opt, put, put_opt,
};
use super::ids::{ItemId, MemberId};
use super::items::{self, Collection};
use super::refs;

/// Longest frequency accepted, in days.
pub const MAX_FREQUENCY_DAYS: u32 = 366;

/// One line of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Communication {
    /// Its id.
    pub id: ItemId,
    /// What was planned.
    pub fields: CommunicationFields,
    /// When it was last sent (UTC ms).
    pub last_sent: Option<u64>,
    /// When it was planned (UTC ms).
    pub created_at: Option<u64>,
    /// When it is next due: last sent + frequency; if never sent, when it
    /// was planned (it is due straight away).
    pub next_due: Option<u64>,
}

editable_fields! {
    /// The editable fields of a line of the plan.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct CommunicationFields {
        /// What is communicated, for example "pipeline report" (required).
        pub what: String,
        /// To whom.
        pub audience: String,
        /// How (email, call, meeting, newsletter…).
        pub medium: String,
        /// Every how many days (1–366).
        pub frequency_days: u32,
        /// Who sends it (a current member; a patch clears it with
        /// `Some(None)`).
        pub owner: Option<MemberId>,
    }

    /// Changes to a line of the plan.
    pub struct CommunicationPatch;
}

/// What [`add`] takes: the fields of a new line.
pub type NewCommunication = CommunicationFields;

/// When a communication is next due.
pub fn next_due(
    last_sent: Option<u64>,
    created_at: Option<u64>,
    frequency_days: u32,
) -> Option<u64> {
    match last_sent {
        Some(sent) => Some(sent.saturating_add(u64::from(frequency_days) * DAY_MS)),
        None => created_at,
    }
}

fn check_frequency(days: u32) -> OpResult<u32> {
    check_range(
        "frequency (days)",
        days.into(),
        1,
        MAX_FREQUENCY_DAYS.into(),
    )
    .map(|_| days)
}

fn read_one<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Communication {
    let frequency_days = get_u32(doc, obj, "frequency").unwrap_or(30);
    let last_sent = get_u64(doc, obj, "last_sent");
    let created_at = get_u64(doc, obj, "created_at");
    Communication {
        id,
        fields: CommunicationFields {
            what: get_string(doc, obj, "what"),
            audience: get_string(doc, obj, "audience"),
            medium: get_string(doc, obj, "medium"),
            frequency_days,
            owner: get_parsed(doc, obj, "owner"),
        },
        last_sent,
        created_at,
        next_due: next_due(last_sent, created_at, frequency_days),
    }
}

/// The plan, in display order.
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Communication> {
    items::read_all(doc, Collection::CommPlan, |id, obj| read_one(doc, id, obj))
}

/// Adds a line to the plan.
pub fn add<T: Tx>(tx: &mut T, id: ItemId, new: &NewCommunication, now: u64) -> OpResult {
    let what = non_empty("what", &new.what)?;
    let frequency = check_frequency(new.frequency_days)?;
    let now = check_date("time", now)?;
    if let Some(owner) = new.owner {
        refs::require_member(tx, owner)?;
    }
    let obj = items::create_item(tx, Collection::CommPlan, id)?;
    tx.put(&obj, "what", what)?;
    tx.put(&obj, "audience", new.audience.trim())?;
    tx.put(&obj, "medium", new.medium.trim())?;
    tx.put(&obj, "frequency", u64::from(frequency))?;
    put_opt(tx, &obj, "owner", new.owner)?;
    tx.put(&obj, "created_at", now)?;
    Ok(())
}

/// Edits a line, field by field.
pub fn update<T: Tx>(tx: &mut T, id: ItemId, patch: &CommunicationPatch) -> OpResult {
    let what = patch_non_empty("what", patch.what.as_deref())?;
    let frequency = patch.frequency_days.map(check_frequency).transpose()?;
    if let Some(Some(owner)) = patch.owner {
        refs::require_member(tx, owner)?;
    }
    let obj = items::require(tx, Collection::CommPlan, id)?;
    patch_put(tx, &obj, "what", what)?;
    if let Some(audience) = &patch.audience {
        put(tx, &obj, "audience", audience.trim())?;
    }
    if let Some(medium) = &patch.medium {
        put(tx, &obj, "medium", medium.trim())?;
    }
    patch_put(tx, &obj, "frequency", frequency.map(u64::from))?;
    patch_put_opt(tx, &obj, "owner", patch.owner)?;
    Ok(())
}

/// Records that it was sent at `at`. An earlier date than the one recorded
/// is ignored, so the latest send always wins.
pub fn mark_sent<T: Tx>(tx: &mut T, id: ItemId, at: u64) -> OpResult {
    let at = check_date("date sent", at)?;
    let obj = items::require(tx, Collection::CommPlan, id)?;
    if get_u64(tx, &obj, "last_sent").is_some_and(|last| last >= at) {
        return Ok(());
    }
    put(tx, &obj, "last_sent", at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::error::OpError;
    use crate::model::test_support::{T0, id, partnership};

    #[test]
    fn plan_lines_and_next_due() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        let new = NewCommunication {
            what: "Pipeline report".into(),
            audience: "Steering committee".into(),
            medium: "email".into(),
            frequency_days: 14,
            owner: Some(alice),
        };
        for (bad, now) in [
            (
                NewCommunication {
                    what: " ".into(),
                    ..new.clone()
                },
                T0,
            ),
            (
                NewCommunication {
                    frequency_days: 0,
                    ..new.clone()
                },
                T0,
            ),
            (
                NewCommunication {
                    frequency_days: 400,
                    ..new.clone()
                },
                T0,
            ),
            (
                NewCommunication {
                    owner: Some(MemberId::from_bytes([1; 16])),
                    ..new.clone()
                },
                T0,
            ),
            (new.clone(), 0),
        ] {
            assert!(add(doc, id(90), &bad, now).is_err());
        }
        assert!(list(doc).is_empty());
        add(doc, id(90), &new, T0).unwrap();
        let line = &list(doc)[0];
        assert_eq!(line.fields.what, "Pipeline report");
        assert_eq!(line.fields.owner, Some(alice));
        assert_eq!(line.next_due, Some(T0));

        assert!(matches!(
            mark_sent(doc, id(90), 0),
            Err(OpError::InvalidDate { .. })
        ));
        assert!(matches!(
            mark_sent(doc, id(91), T0),
            Err(OpError::NotFound { .. })
        ));
        mark_sent(doc, id(90), T0 + DAY_MS).unwrap();
        mark_sent(doc, id(90), T0).unwrap();
        assert_eq!(list(doc)[0].next_due, Some(T0 + 15 * DAY_MS));

        assert!(
            update(
                doc,
                id(90),
                &CommunicationPatch {
                    frequency_days: Some(0),
                    ..CommunicationPatch::default()
                }
            )
            .is_err()
        );
        update(
            doc,
            id(90),
            &CommunicationPatch {
                medium: Some("video call".into()),
                frequency_days: Some(7),
                owner: Some(Some(bob)),
                ..CommunicationPatch::default()
            },
        )
        .unwrap();
        let line = &list(doc)[0];
        assert_eq!(
            (line.fields.medium.as_str(), line.fields.owner),
            ("video call", Some(bob))
        );
        assert_eq!(line.fields.audience, "Steering committee");
        assert_eq!(line.next_due, Some(T0 + 8 * DAY_MS));
    }
}
