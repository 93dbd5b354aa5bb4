//! Creating a v1 document and migrating older ones to it.
//!
//! `schema` at the root holds the version. Each version adds one step (an
//! arm of `step`): a function that takes a document at version `n` to
//! `n + 1` (0 = no schema), is idempotent, and is tested with a document
//! saved at version `n`. [`migrate`] runs the missing steps in order. Steps only ever add or
//! convert (never drop) data, because a replica that has not migrated yet
//! can still sync old-shaped edits in.
//!
//! Structure (the collection maps) is created once, by the creator in
//! [`init`], before the document is shared: two replicas creating the same
//! map key concurrently would each make their own map and one would hide
//! the other's contents. [`migrate`] repairs missing structure in documents
//! made by early clients; it should run where the document was created or
//! before it is shared widely.

use automerge::{ObjId, ObjType, ROOT, ReadDoc, Value};

use super::error::{OpError, OpResult};
use super::fields::{
    Tx, check_date, child_map, get_str, get_text, get_u64, non_empty, put, set_text,
};
use super::items;
use super::keys::{DEVICES, GOVERNANCE, MEMBERS, SCORES, VETTING};
use super::members::MANAGERS;
use super::overview::{
    CREATED_AT, DEFAULT_REVIEW_CADENCE_DAYS, PURPOSE, REVIEW_CADENCE, STAGE, STAGE_HISTORY, Stage,
    TITLE,
};
use super::raci::{ACTIVITIES, ASSIGNMENTS, RACI};
use super::vetting::{CRITERIA, DEFAULT_CRITERIA, DILIGENCE, default_criterion_id};

/// The schema version this code writes and understands.
pub const SCHEMA_VERSION: u64 = 1;

/// The root key holding the version.
pub const SCHEMA: &str = "schema";

/// What [`migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The version found (`None`: no schema, an empty or early document).
    pub from: Option<u64>,
    /// The version now.
    pub to: u64,
    /// Whether anything was written.
    pub changed: bool,
}

/// Runs the step that takes a document from `version` (0 = no schema) to
/// `version + 1`. A new schema version adds an arm here.
fn step<T: Tx>(tx: &mut T, version: u64, now: u64) -> OpResult {
    match version {
        0 => to_v1(tx, now),
        _ => Err(OpError::UnsupportedSchema {
            found: version,
            supported: SCHEMA_VERSION,
        }),
    }
}

/// The map at `parent[key]`, created if missing; and whether it was created.
fn ensure_map<T: Tx>(tx: &mut T, parent: &ObjId, key: &str) -> OpResult<(ObjId, bool)> {
    match child_map(tx, parent, key) {
        Some(map) => Ok((map, false)),
        None => Ok((tx.put_object(parent, key, ObjType::Map)?, true)),
    }
}

/// From no schema (or an early v1 document with only a title and a
/// plain-string purpose) to v1: adds every missing collection, the default
/// vetting criteria if there were no criteria, and turns `purpose` into
/// Text holding the same words. Idempotent.
fn to_v1<T: Tx>(tx: &mut T, now: u64) -> OpResult {
    for key in [
        STAGE_HISTORY,
        "parties",
        MEMBERS,
        DEVICES,
        "objectives",
        "kpis",
        "comm_plan",
        "milestones",
        "meetings",
        "conflicts",
        "risks",
        "health",
        "reviews",
        "boards",
    ] {
        ensure_map(tx, &ROOT, key)?;
    }
    let (agreement, _) = ensure_map(tx, &ROOT, "agreement")?;
    for key in ["clauses", "comments", "signoffs"] {
        ensure_map(tx, &agreement, key)?;
    }
    let (governance, _) = ensure_map(tx, &ROOT, GOVERNANCE)?;
    ensure_map(tx, &governance, MANAGERS)?;
    for key in ["committees", "decision_rights", "escalation"] {
        ensure_map(tx, &governance, key)?;
    }
    let (raci, _) = ensure_map(tx, &ROOT, RACI)?;
    ensure_map(tx, &raci, ACTIVITIES)?;
    ensure_map(tx, &raci, ASSIGNMENTS)?;
    let (vetting, _) = ensure_map(tx, &ROOT, VETTING)?;
    ensure_map(tx, &vetting, SCORES)?;
    ensure_map(tx, &vetting, DILIGENCE)?;
    let (criteria, created) = ensure_map(tx, &vetting, CRITERIA)?;
    if created {
        for (index, (name, weight)) in DEFAULT_CRITERIA.iter().enumerate() {
            let item = items::create(tx, &criteria, "criterion", default_criterion_id(index))?;
            tx.put(&item, "name", *name)?;
            tx.put(&item, "weight", u64::from(*weight))?;
        }
    }
    if get_str(tx, &ROOT, TITLE).is_none() {
        tx.put(ROOT, TITLE, "Untitled partnership")?;
    }
    if !matches!(
        tx.get(ROOT, PURPOSE)?,
        Some((Value::Object(ObjType::Text), _))
    ) {
        let words = get_text(tx, &ROOT, PURPOSE);
        set_text(tx, &ROOT, PURPOSE, &words)?;
    }
    if tx.get(ROOT, STAGE)?.is_none() {
        tx.put(ROOT, STAGE, Stage::Exploring.as_str())?;
    }
    if tx.get(ROOT, REVIEW_CADENCE)?.is_none() {
        tx.put(ROOT, REVIEW_CADENCE, DEFAULT_REVIEW_CADENCE_DAYS)?;
    }
    if tx.get(ROOT, CREATED_AT)?.is_none() {
        tx.put(ROOT, CREATED_AT, now)?;
    }
    put(tx, &ROOT, SCHEMA, 1_u64)
}

/// The document's schema version, if it has one.
pub fn version<R: ReadDoc>(doc: &R) -> Option<u64> {
    get_u64(doc, &ROOT, SCHEMA)
}

/// Brings the document to [`SCHEMA_VERSION`], running every missing step;
/// on a current document it only repairs missing structure. A document
/// from a newer version is refused with [`OpError::UnsupportedSchema`] and
/// left alone.
pub fn migrate<T: Tx>(tx: &mut T, now: u64) -> OpResult<Migration> {
    let now = check_date("time", now)?;
    let from = version(tx);
    if let Some(found) = from.filter(|&v| v > SCHEMA_VERSION) {
        return Err(OpError::UnsupportedSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let before = tx.pending_ops();
    // A current document re-runs its own step (they are idempotent) to
    // repair structure an early client left out.
    let start = from.map_or(0, |v| v.saturating_sub(1));
    for version in start..SCHEMA_VERSION {
        step(tx, version, now)?;
    }
    Ok(Migration {
        from,
        to: SCHEMA_VERSION,
        changed: tx.pending_ops() != before,
    })
}

/// Makes an empty document a v1 partnership titled `title`, created at
/// `now`, with every collection and the default vetting criteria. Run it
/// once, where the partnership is created, before sharing it; then add the
/// creator's party, member and device in the same transaction.
pub fn init<T: Tx>(tx: &mut T, title: &str, now: u64) -> OpResult {
    let title = non_empty("title", title)?;
    let now = check_date("time", now)?;
    if version(tx).is_some() || get_str(tx, &ROOT, TITLE).is_some() {
        return Err(OpError::Invalid {
            field: "document",
            reason: "it is already a partnership",
        });
    }
    tx.put(ROOT, TITLE, title)?;
    migrate(tx, now)?;
    Ok(())
}
