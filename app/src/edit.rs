//! How pages read a partnership and change it through the model's ops.
//!
//! - [`read`] reads an open document and re-runs when any document changes.
//! - [`apply`] runs one validated op as one local change; when the op refuses,
//!   nothing is written and its message comes back for inline display.
//! - [`parse_date`], [`format_date`], [`parse_number`] turn form text into
//!   op input, reporting bad text with the same [`OpError`] messages the ops use.

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::calendar;
use accord_shared::ids::DocumentId;
use accord_shared::model::{Collection, DAY_MS, ItemId, MemberId, OpError, items, members};
use leptos::prelude::*;

use crate::browser;
use crate::store::{Store, Toast, Undo};
use crate::sync_client::{ClientError, EditOp, client};

/// Why an edit was not made; its text is shown next to the form.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The op refused the input; the document is unchanged.
    #[error(transparent)]
    Op(#[from] OpError),
    /// The client could not apply the change.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The app has not finished starting.
    #[error("the app is still starting; try again in a moment")]
    NotReady,
}

/// Reads the open document `id` with `f`, tracking [`Store::revision`] so the
/// calling view re-renders after local and remote changes. `None` when the
/// document is not open on this device (or the client is not running yet).
pub fn read<R>(store: Store, id: &DocumentId, f: impl FnOnce(&Automerge) -> R) -> Option<R> {
    store.revision.track();
    client()?.read_doc(id, f)
}

/// Reads the open document `id` with `f` like [`read`], but re-runs only
/// when a change touches one of `paths` (see [`crate::record_signals`]),
/// not on every change of every document.
pub fn read_in<R>(
    id: &DocumentId,
    paths: &[&[String]],
    f: impl FnOnce(&Automerge) -> R,
) -> Option<R> {
    watch(id, paths);
    client()?.read_doc(id, f)
}

/// Makes the running view re-run when a change touches one of `paths` of
/// document `id` (see [`read_in`]).
pub fn watch(id: &DocumentId, paths: &[&[String]]) {
    for path in paths {
        crate::record_signals::track(id, path);
    }
}

/// Runs `op` on the document `id` as one local change (synced and stored).
/// When `op` refuses, nothing is written and the error says why.
///
/// `op` runs while the document is borrowed for writing: it must not call
/// [`read`], [`me`] or anything else that reads through the client.
pub fn apply(
    id: &DocumentId,
    op: impl FnOnce(&mut Transaction<'_>) -> Result<(), OpError>,
) -> Result<(), EditError> {
    apply_op(id, Box::new(op))
}

/// [`apply`] compiled once: the generic wrappers only box their op.
fn apply_op(id: &DocumentId, op: EditOp<'_>) -> Result<(), EditError> {
    let client = client().ok_or(EditError::NotReady)?;
    // `edit` also registers this tab's actor to the device's member.
    Ok(client.edit_with(id, op)?)
}

/// Runs [`apply`] and puts its outcome into `message`: cleared on success,
/// the error's text on failure. Returns whether the edit was made.
pub fn apply_into(
    message: RwSignal<Option<String>>,
    id: &DocumentId,
    op: impl FnOnce(&mut Transaction<'_>) -> Result<(), OpError>,
) -> bool {
    show_outcome(message, apply_op(id, Box::new(op)))
}

/// Puts an edit's outcome into `message` (see [`apply_into`]).
fn show_outcome(message: RwSignal<Option<String>>, outcome: Result<(), EditError>) -> bool {
    match outcome {
        Ok(()) => {
            message.set(None);
            true
        }
        Err(error) => {
            message.set(Some(error.to_string()));
            false
        }
    }
}

/// Removes `item` from `collection` with `op` (the collection's own delete,
/// which may check more than [`items::delete`]), like [`apply_into`], and on
/// success offers to undo it in a toast. Returns whether it was removed.
pub fn remove_into(
    message: RwSignal<Option<String>>,
    id: &DocumentId,
    collection: Collection,
    item: ItemId,
    op: impl FnOnce(&mut Transaction<'_>) -> Result<(), OpError>,
) -> bool {
    if !apply_into(message, id, op) {
        return false;
    }
    if let Some(store) = use_context::<Store>() {
        let kind = collection.kind();
        let mut capitalised = kind.to_owned();
        if let Some(first) = capitalised.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        store.toast.set(Some(Toast {
            message: format!("{capitalised} removed"),
            undo: Some(Undo {
                document: *id,
                collection,
                item,
            }),
        }));
    }
    true
}

/// Deletes `item` of `collection` with the generic [`items::delete`] and
/// offers to undo it (see [`remove_into`]).
pub fn delete_into(
    message: RwSignal<Option<String>>,
    id: &DocumentId,
    collection: Collection,
    item: ItemId,
) -> bool {
    remove_into(message, id, collection, item, |tx| {
        items::delete(tx, collection, item, now())
    })
}

/// Takes back the removal in `undo`.
pub fn undo(undo: Undo) -> Result<(), EditError> {
    apply(&undo.document, |tx| {
        items::restore(tx, undo.collection, undo.item)
    })
}

/// Sixteen fresh random bytes for a new item's id.
pub fn fresh_bytes() -> Result<[u8; 16], EditError> {
    let mut bytes = [0u8; 16];
    browser::random_bytes(&mut bytes).map_err(|e| EditError::Client(e.into()))?;
    Ok(bytes)
}

/// A fresh random item id.
pub fn fresh_id() -> Result<ItemId, EditError> {
    fresh_bytes().map(ItemId::from_bytes)
}

/// A fresh item id; on failure (no randomness) the error goes into
/// `message` and the caller makes no edit.
pub fn new_id(message: RwSignal<Option<String>>) -> Option<ItemId> {
    match fresh_id() {
        Ok(id) => Some(id),
        Err(error) => {
            message.set(Some(error.to_string()));
            None
        }
    }
}

/// The current time, UTC milliseconds.
pub fn now() -> u64 {
    browser::now_ms()
}

/// The member this device edits `id` as, if the device has joined the
/// partnership as a member: its actor's registered member, or else (a new
/// tab whose actor is not registered yet, or a linked device) the member
/// one of whose keys is this device's, or another device's of this account
/// (see [`crate::sync_client::Client::my_member`]).
pub fn me(id: &DocumentId) -> Option<MemberId> {
    let client = client()?;
    client
        .read_doc(id, |doc| {
            if let Some((member, _)) = members::attribute(doc, doc.get_actor()) {
                return Some(member);
            }
            client.my_member(doc, id).map(|m| m.id)
        })
        .flatten()
}

/// [`me`], or an error the form can show.
pub fn me_or_error(id: &DocumentId) -> Result<MemberId, OpError> {
    me(id).ok_or(OpError::Invalid {
        field: "member",
        reason: "this device has not joined the partnership as a member yet",
    })
}

/// The earliest day a date field takes (`min` of every date input), the
/// first day the model accepts ([`accord_shared::model::MIN_DATE`]).
pub const DATE_MIN: &str = "2000-01-01";
/// The last day a date field takes (`max` of every date input): the day
/// before [`accord_shared::model::MAX_DATE`].
pub const DATE_MAX: &str = "2199-12-31";

/// Parses a date input's `YYYY-MM-DD` into UTC midnight in milliseconds;
/// empty text is `None` (no date). Anything else that is not a real
/// calendar date is [`OpError::InvalidDate`] for `field`; the op checks
/// the allowed range.
pub fn parse_date(field: &'static str, text: &str) -> Result<Option<u64>, OpError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let invalid = OpError::InvalidDate { field };
    let mut parts = text.splitn(3, '-');
    let mut next = || -> Option<i64> {
        let part = parts.next()?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) || part.len() > 4 {
            return None;
        }
        part.parse().ok()
    };
    let (Some(year), Some(month), Some(day)) = (next(), next(), next()) else {
        return Err(invalid);
    };
    let (Ok(month), Ok(day)) = (u32::try_from(month), u32::try_from(day)) else {
        return Err(invalid);
    };
    if !(1..=12).contains(&month) || day < 1 || day > calendar::days_in_month(year, month) {
        return Err(invalid);
    }
    let days = calendar::days_from_civil(year, month, day);
    let ms = u64::try_from(days)
        .ok()
        .and_then(|d| d.checked_mul(DAY_MS))
        .ok_or(invalid)?;
    Ok(Some(ms))
}

/// [`parse_date`] for a date that must be given.
pub fn parse_required_date(field: &'static str, text: &str) -> Result<u64, OpError> {
    parse_date(field, text)?.ok_or(OpError::InvalidDate { field })
}

/// `YYYY-MM-DD` of a UTC millisecond time (the form a date input takes).
pub fn format_date(ms: u64) -> String {
    calendar::date(ms)
}

/// [`format_date`] of an optional time; empty when absent.
pub fn format_opt_date(ms: Option<u64>) -> String {
    ms.map(format_date).unwrap_or_default()
}

/// Parses a number typed into a form (a decimal comma is accepted);
/// anything else is [`OpError::NotANumber`] for `field`.
pub fn parse_number(field: &'static str, text: &str) -> Result<f64, OpError> {
    text.trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or(OpError::NotANumber { field })
}

/// Parses a whole number within `min..=max`; text that is not a whole
/// number is [`OpError::NotANumber`], one out of range [`OpError::OutOfRange`].
pub fn parse_whole(field: &'static str, text: &str, min: u32, max: u32) -> Result<u32, OpError> {
    let value = parse_number(field, text)?;
    if value.fract() != 0.0 || value < f64::from(min) || value > f64::from(max) {
        return Err(OpError::OutOfRange {
            field,
            min: f64::from(min),
            max: f64::from(max),
            value,
        });
    }
    // In range and whole, so the conversion is exact.
    Ok(value as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_ones_are_refused() {
        for text in ["1970-01-01", "2000-02-29", "2026-11-23", "2199-12-31"] {
            let ms = parse_date("due", text).unwrap().unwrap();
            assert_eq!(format_date(ms), text);
        }
        assert_eq!(
            parse_date("due", "2026-11-23").unwrap(),
            Some(1_795_392_000_000)
        );
        assert_eq!(parse_date("due", "  ").unwrap(), None);
        for bad in [
            "2026-02-30",
            "2025-13-01",
            "2026-1",
            "tomorrow",
            "2026-00-10",
            "20x6-01-01",
        ] {
            let error = parse_date("due", bad).unwrap_err();
            assert_eq!(
                error.to_string(),
                "due must be a date from 1 January 2000 to 31 December 2199",
                "{bad}"
            );
        }
    }

    #[test]
    fn date_inputs_offer_exactly_the_range_the_model_takes() {
        use accord_shared::model::{DAY_MS, MAX_DATE, MIN_DATE};
        assert_eq!(parse_date("due", DATE_MIN).unwrap(), Some(MIN_DATE));
        assert_eq!(
            parse_date("due", DATE_MAX).unwrap(),
            Some(MAX_DATE - DAY_MS)
        );
        let error = OpError::InvalidDate { field: "due" }.to_string();
        assert!(error.contains("2000") && error.contains("2199"), "{error}");
    }

    #[test]
    fn numbers_parse_like_people_type_them() {
        assert_eq!(parse_number("target", " 12,5 ").unwrap(), 12.5);
        assert!(matches!(
            parse_number("target", "lots"),
            Err(OpError::NotANumber { .. })
        ));
        assert!(matches!(
            parse_number("target", "NaN"),
            Err(OpError::NotANumber { .. })
        ));
        assert_eq!(parse_whole("weight", "3", 1, 10).unwrap(), 3);
        assert_eq!(
            parse_whole("score", "7", 1, 5).unwrap_err().to_string(),
            "score must be between 1 and 5 (got 7)"
        );
        assert!(parse_whole("score", "2.5", 1, 5).is_err());
    }
}
