//! The partnership at a glance: title, purpose, lifecycle stage with its
//! history, review cadence and check-ins.
//!
//! Root keys: `title` (string), `purpose` (Text), `stage` (string),
//! `stage_history{}`, `review_cadence` (days), `last_check_in` (UTC ms),
//! `created_at` (UTC ms).

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use automerge::{ObjId, ROOT, ReadDoc};

use super::error::OpError;
use super::fields::{
    DAY_MS, check_date, check_range, child_map, get_str, get_string, get_text, get_u64, non_empty,
    put, set_text, splice_text_field,
};
use super::ids::{ItemId, MemberId};
use super::items;
use super::refs;
use super::stored_names::stored_names;

pub(crate) const TITLE: &str = "title";
pub(crate) const PURPOSE: &str = "purpose";
pub(crate) const STAGE: &str = "stage";
pub(crate) const STAGE_HISTORY: &str = "stage_history";
pub(crate) const REVIEW_CADENCE: &str = "review_cadence";
pub(crate) const LAST_CHECK_IN: &str = "last_check_in";
pub(crate) const CREATED_AT: &str = "created_at";

/// Review cadence of a new partnership: quarterly.
pub const DEFAULT_REVIEW_CADENCE_DAYS: u64 = 91;
/// The longest review cadence accepted (at least yearly).
pub const MAX_REVIEW_CADENCE_DAYS: u64 = 366;

stored_names! {
    /// Where the partnership is in its lifecycle.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Stage {
        /// Looking at possible partners.
        Exploring => "exploring",
        /// Vetting a candidate: criteria scores and due diligence.
        Vetting => "vetting",
        /// Agreeing objectives, roles and terms.
        Negotiating => "negotiating",
        /// The partnership is running.
        Active => "active",
        /// Renegotiating or renewing the terms.
        Renewing => "renewing",
        /// The partnership is over.
        Ended => "ended",
    }

    /// Every stage, in lifecycle order.
    ALL;
    parse error: "stage", "unknown stage";
}

/// One move of the lifecycle stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageChange {
    /// The entry's id.
    pub id: ItemId,
    /// The stage before (as the mover saw it).
    pub from: Option<Stage>,
    /// The stage after.
    pub to: Stage,
    /// Who moved it.
    pub by: Option<MemberId>,
    /// When (UTC ms).
    pub at: u64,
}

/// The overview page's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// The partnership's name.
    pub title: String,
    /// Why the partners work together (prose).
    pub purpose: String,
    /// The current stage: the target of the latest history entry.
    pub stage: Stage,
    /// Every stage move, oldest first.
    pub history: Vec<StageChange>,
    /// Days between check-ins.
    pub review_cadence_days: u64,
    /// The last check-in (UTC ms).
    pub last_check_in: Option<u64>,
    /// When the next check-in is due (UTC ms): the last check-in (or, before
    /// the first one, the creation time) plus the cadence.
    pub next_check_in: Option<u64>,
    /// When the partnership document was created (UTC ms).
    pub created_at: Option<u64>,
}

/// When the next check-in is due: `cadence` days after the last check-in,
/// or after creation if there was none yet.
pub fn next_check_in(last: Option<u64>, created_at: Option<u64>, cadence_days: u64) -> Option<u64> {
    last.or(created_at)
        .map(|from| from.saturating_add(cadence_days.saturating_mul(DAY_MS)))
}

fn history<R: ReadDoc>(doc: &R) -> Vec<StageChange> {
    let Some(map) = child_map(doc, &ROOT, STAGE_HISTORY) else {
        return Vec::new();
    };
    let mut entries: Vec<StageChange> = doc
        .keys(&map)
        .filter_map(|key| {
            let id = key.parse().ok()?;
            let entry = child_map(doc, &map, &key)?;
            Some(StageChange {
                id,
                from: get_str(doc, &entry, "from").and_then(|s| s.parse().ok()),
                to: get_str(doc, &entry, "to")?.parse().ok()?,
                by: get_str(doc, &entry, "by").and_then(|s| s.parse().ok()),
                at: get_u64(doc, &entry, "at")?,
            })
        })
        .collect();
    entries.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    entries
}

/// The current stage. When two people move the stage at the same time, the
/// move with the later `at` (then the larger id) wins, so the stage always
/// matches the last entry of the history shown.
pub fn stage<R: ReadDoc>(doc: &R) -> Stage {
    current_stage(doc, &history(doc))
}

fn current_stage<R: ReadDoc>(doc: &R, history: &[StageChange]) -> Stage {
    history
        .last()
        .map(|change| change.to)
        .or_else(|| get_str(doc, &ROOT, STAGE).and_then(|s| s.parse().ok()))
        .unwrap_or(Stage::Exploring)
}

/// The partnership's title alone (cheap: [`read`] also renders the
/// purpose's Text, which grows with every keystroke typed into it).
pub fn title<R: ReadDoc>(doc: &R) -> String {
    get_string(doc, &ROOT, TITLE)
}

/// The partnership's purpose alone.
pub fn purpose<R: ReadDoc>(doc: &R) -> String {
    get_text(doc, &ROOT, PURPOSE)
}

/// Reads the overview.
pub fn read<R: ReadDoc>(doc: &R) -> Overview {
    let history = history(doc);
    let review_cadence_days =
        get_u64(doc, &ROOT, REVIEW_CADENCE).unwrap_or(DEFAULT_REVIEW_CADENCE_DAYS);
    let last_check_in = get_u64(doc, &ROOT, LAST_CHECK_IN);
    let created_at = get_u64(doc, &ROOT, CREATED_AT);
    Overview {
        title: title(doc),
        purpose: purpose(doc),
        stage: current_stage(doc, &history),
        history,
        review_cadence_days,
        last_check_in,
        next_check_in: next_check_in(last_check_in, created_at, review_cadence_days),
        created_at,
    }
}

/// Renames the partnership.
pub fn set_title<T: Tx>(tx: &mut T, title: &str) -> OpResult {
    let title = non_empty("title", title)?;
    put(tx, &ROOT, TITLE, title)
}

/// Rewrites the purpose (as a minimal splice of the Text).
pub fn set_purpose<T: Tx>(tx: &mut T, purpose: &str) -> OpResult {
    set_text(tx, &ROOT, PURPOSE, purpose)
}

/// Applies one splice (a keystroke, a paste) to the purpose, so two people
/// typing in it at once keep each other's words.
pub fn edit_purpose<T: Tx>(tx: &mut T, edit: &crate::text::Splice) -> OpResult {
    splice_text_field(tx, &ROOT, PURPOSE, edit)
}

/// Moves the lifecycle stage to `to`, recording who and when under the new
/// history entry `id`. Moving to the current stage changes nothing. Any
/// stage may follow any other (partnerships go back to negotiating, or
/// reopen).
pub fn move_stage<T: Tx>(tx: &mut T, id: ItemId, to: Stage, by: MemberId, now: u64) -> OpResult {
    let now = check_date("time", now)?;
    refs::require_member(tx, by)?;
    let history_map: ObjId =
        child_map(tx, &ROOT, STAGE_HISTORY).ok_or(OpError::NotInitialized(STAGE_HISTORY))?;
    let from = stage(tx);
    if from == to {
        return Ok(());
    }
    let entry = items::create(tx, &history_map, "stage change", id)?;
    tx.put(&entry, "from", from.as_str())?;
    tx.put(&entry, "to", to.as_str())?;
    tx.put(&entry, "by", by.key())?;
    tx.put(&entry, "at", now)?;
    put(tx, &ROOT, STAGE, to.as_str())
}

/// Sets how many days pass between check-ins (1–366).
pub fn set_review_cadence<T: Tx>(tx: &mut T, days: u64) -> OpResult {
    let days = check_range("review cadence (days)", days, 1, MAX_REVIEW_CADENCE_DAYS)?;
    put(tx, &ROOT, REVIEW_CADENCE, days)
}

/// Records that a check-in took place at `at`. An older date than the
/// recorded one is ignored, so replicas recording check-ins in any order
/// keep the latest.
pub fn record_check_in<T: Tx>(tx: &mut T, at: u64) -> OpResult {
    let at = check_date("check-in date", at)?;
    if get_u64(tx, &ROOT, LAST_CHECK_IN).is_some_and(|last| last >= at) {
        return Ok(());
    }
    put(tx, &ROOT, LAST_CHECK_IN, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_support::{T0, id, partnership};

    #[test]
    fn two_people_typing_in_the_purpose_keep_both_texts() {
        let mut fixture = partnership();
        set_purpose(&mut fixture.doc, "Pilot.").unwrap();
        let mut other = fixture.doc.fork();
        let splice = |position, insert: &str| crate::text::Splice {
            position,
            delete: 0,
            insert: insert.to_owned(),
        };
        edit_purpose(&mut fixture.doc, &splice(6, " Acme brings the product.")).unwrap();
        edit_purpose(&mut other, &splice(0, "Nordic ")).unwrap();
        fixture.doc.merge(&mut other).unwrap();
        assert_eq!(
            read(&fixture.doc).purpose,
            "Nordic Pilot. Acme brings the product."
        );
        assert!(edit_purpose(&mut fixture.doc, &splice(999, "x")).is_err());
    }

    #[test]
    fn init_gives_a_sensible_overview() {
        let fixture = partnership();
        let overview = read(&fixture.doc);
        assert_eq!(overview.title, "Acme × Globex");
        assert_eq!(overview.purpose, "");
        assert_eq!(overview.stage, Stage::Exploring);
        assert!(overview.history.is_empty());
        assert_eq!(overview.review_cadence_days, DEFAULT_REVIEW_CADENCE_DAYS);
        assert_eq!(overview.created_at, Some(T0));
        assert_eq!(overview.next_check_in, Some(T0 + 91 * DAY_MS));
    }

    #[test]
    fn title_and_purpose() {
        let mut doc = partnership().doc;
        assert!(matches!(
            set_title(&mut doc, "  "),
            Err(OpError::Empty { field: "title" })
        ));
        set_title(&mut doc, "  Joint venture ").unwrap();
        set_purpose(&mut doc, "Grow together.").unwrap();
        set_purpose(&mut doc, "Grow the market together.").unwrap();
        let overview = read(&doc);
        assert_eq!(overview.title, "Joint venture");
        assert_eq!(overview.purpose, "Grow the market together.");
    }

    #[test]
    fn stage_moves_are_recorded_with_who_and_when() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        move_stage(doc, id(50), Stage::Vetting, alice, T0 + 1).unwrap();
        move_stage(doc, id(51), Stage::Vetting, bob, T0 + 2).unwrap();
        move_stage(doc, id(52), Stage::Negotiating, bob, T0 + 3).unwrap();
        let overview = read(doc);
        assert_eq!(overview.stage, Stage::Negotiating);
        assert_eq!(
            overview.history,
            [
                StageChange {
                    id: id(50),
                    from: Some(Stage::Exploring),
                    to: Stage::Vetting,
                    by: Some(alice),
                    at: T0 + 1
                },
                StageChange {
                    id: id(52),
                    from: Some(Stage::Vetting),
                    to: Stage::Negotiating,
                    by: Some(bob),
                    at: T0 + 3
                },
            ]
        );
    }

    #[test]
    fn stage_move_validation() {
        let mut fixture = partnership();
        let alice = fixture.alice;
        let doc = &mut fixture.doc;
        assert!(matches!(
            move_stage(doc, id(50), Stage::Active, alice, 0),
            Err(OpError::InvalidDate { .. })
        ));
        assert!(matches!(
            move_stage(
                doc,
                id(50),
                Stage::Active,
                MemberId::from_bytes([9; 16]),
                T0
            ),
            Err(OpError::NotFound { kind: "member", .. })
        ));
        move_stage(doc, id(50), Stage::Active, alice, T0).unwrap();
        assert!(matches!(
            move_stage(doc, id(50), Stage::Ended, alice, T0),
            Err(OpError::Duplicate { .. })
        ));
        assert_eq!(stage(doc), Stage::Active);
        assert!("nope".parse::<Stage>().is_err());
        for stage in Stage::ALL {
            assert_eq!(stage.to_string().parse::<Stage>().unwrap(), stage);
        }
    }

    #[test]
    fn concurrent_stage_moves_settle_on_the_later_one() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let mut other = fixture.doc.fork();
        move_stage(&mut fixture.doc, id(50), Stage::Active, alice, T0 + 10).unwrap();
        move_stage(&mut other, id(51), Stage::Vetting, bob, T0 + 5).unwrap();
        fixture.doc.merge(&mut other).unwrap();
        other.merge(&mut fixture.doc).unwrap();
        assert_eq!(stage(&fixture.doc), Stage::Active);
        assert_eq!(stage(&other), Stage::Active);
        assert_eq!(read(&other).history.len(), 2);
    }

    #[test]
    fn cadence_and_check_ins() {
        let mut doc = partnership().doc;
        assert!(matches!(
            set_review_cadence(&mut doc, 0),
            Err(OpError::OutOfRange { .. })
        ));
        assert!(set_review_cadence(&mut doc, 367).is_err());
        set_review_cadence(&mut doc, 30).unwrap();
        assert!(matches!(
            record_check_in(&mut doc, 5),
            Err(OpError::InvalidDate { .. })
        ));
        record_check_in(&mut doc, T0 + 10 * DAY_MS).unwrap();
        record_check_in(&mut doc, T0 + 2 * DAY_MS).unwrap();
        let overview = read(&doc);
        assert_eq!(overview.last_check_in, Some(T0 + 10 * DAY_MS));
        assert_eq!(overview.next_check_in, Some(T0 + 40 * DAY_MS));
        assert_eq!(next_check_in(None, None, 30), None);
    }
}
