//! Check-ins: where meetings meet the overview's review cadence. A meeting
//! scheduled without a time goes at the next check-in due, and holding a
//! check-in (or a quarterly business review) records it on the overview,
//! which moves the next one. This spans two collections, so it lives above
//! both: [`meetings`] and [`overview`] do not import each other.

use automerge::ReadDoc;

use super::error::{OpError, OpResult};
use super::fields::Tx;
use super::ids::ItemId;
use super::meetings::{self, MeetingKind, NewMeeting};
use super::overview;

/// When a meeting scheduled without a time would take place: the next
/// check-in due by the review cadence.
pub fn suggested_time<R: ReadDoc>(doc: &R) -> Option<u64> {
    overview::read(doc).next_check_in
}

/// Schedules a meeting; without a time it is put at the next check-in due
/// by the review cadence ([`suggested_time`]).
pub fn schedule<T: Tx>(tx: &mut T, id: ItemId, new: &NewMeeting, now: u64) -> OpResult {
    let at = match new.at {
        Some(at) => at,
        None => suggested_time(tx).ok_or(OpError::Invalid {
            field: "time",
            reason: "no time given and no review cadence to derive one from",
        })?,
    };
    let new = NewMeeting {
        at: Some(at),
        ..new.clone()
    };
    meetings::schedule(tx, id, &new, now)
}

/// Marks the meeting held at `at`; a check-in or quarterly business review
/// also records the check-in on the overview (moving the next one).
pub fn hold<T: Tx>(tx: &mut T, id: ItemId, at: u64) -> OpResult {
    let kind = meetings::mark_held(tx, id, at)?;
    if kind.is_some_and(MeetingKind::is_check_in) {
        overview::record_check_in(tx, at)?;
    }
    Ok(())
}
