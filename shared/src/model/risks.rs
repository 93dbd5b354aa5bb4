//! The risk register: likelihood × impact, owner, mitigation and a
//! contingency plan.
//!
//! ```text
//! risks: { id → { title, likelihood (1–5), impact (1–5), owner (member id)?,
//!                 mitigation (Text), contingency (Text), status,
//!                 created_at, order, deleted_at? } }
//! ```
//!
//! The **score** is likelihood × impact (1–25). A risk is **high** when its
//! score is at least [`HIGH_SCORE`] (15: for example likelihood 3 and impact
//! 5, or 4 and 4) and it is not closed. The heat map counts the risks that
//! are not closed in each (likelihood, impact) cell.

use automerge::{ObjId, ReadDoc};

use super::editable::editable_fields;
use super::error::OpResult;
use super::fields::{
    Tx, check_date, check_range, get_parsed, get_str, get_string, get_text, get_u64, new_text,
    non_empty, patch_non_empty, patch_put, patch_put_opt, patch_text, put_opt,
};
use super::ids::{ItemId, MemberId};
use super::items::{self, Collection};
use super::refs::check_member;
use super::stored_names::stored_names;
use crate::text::Splice;

/// The score from which a risk counts as high.
pub const HIGH_SCORE: u8 = 15;

stored_names! {
    /// Where a risk stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum RiskStatus {
        /// Identified, nothing done yet.
        Open => "open",
        /// Mitigation under way.
        Mitigating => "mitigating",
        /// Accepted as it is.
        Accepted => "accepted",
        /// It happened: the contingency plan applies.
        Occurred => "occurred",
        /// No longer a risk.
        Closed => "closed",
    }

    /// Every status.
    ALL;
}

/// A risk as shown on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Risk {
    /// Its id.
    pub id: ItemId,
    /// What was written about it.
    pub fields: RiskFields,
    /// Where it stands.
    pub status: RiskStatus,
    /// When it was registered (UTC ms).
    pub created_at: Option<u64>,
}

impl Risk {
    /// Likelihood × impact, 1–25.
    pub fn score(&self) -> u8 {
        self.fields.likelihood * self.fields.impact
    }

    /// Not closed and scoring at least [`HIGH_SCORE`].
    pub fn is_high(&self) -> bool {
        self.status != RiskStatus::Closed && self.score() >= HIGH_SCORE
    }
}

editable_fields! {
    /// The editable fields of a risk.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct RiskFields {
        /// What could happen (required).
        pub title: String,
        /// How likely, 1–5.
        pub likelihood: u8,
        /// How bad, 1–5.
        pub impact: u8,
        /// Who watches it (a current member).
        pub owner: Option<MemberId>,
        /// What is done to make it less likely or less bad (prose).
        pub mitigation: String,
        /// What is done if it happens (prose).
        pub contingency: String,
    }

    /// Changes to a risk.
    pub struct RiskPatch;
    also in the patch {
        /// Where it stands.
        pub status: RiskStatus,
    }
}

/// What [`add`] takes: the fields of a new risk (it starts open).
pub type NewRisk = RiskFields;

/// Counts of risks that are not closed, `cells[likelihood - 1][impact - 1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeatMap {
    /// The counts.
    pub cells: [[u32; 5]; 5],
}

impl HeatMap {
    /// The count at likelihood `l` and impact `i` (both 1–5; 0 outside).
    pub fn count(&self, l: u8, i: u8) -> u32 {
        let (l, i) = (usize::from(l), usize::from(i));
        if (1..=5).contains(&l) && (1..=5).contains(&i) {
            self.cells[l - 1][i - 1]
        } else {
            0
        }
    }
}

fn check_level(field: &'static str, value: u8) -> OpResult<u8> {
    check_range(field, value.into(), 1, 5).map(|_| value)
}

fn small<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> u8 {
    get_u64(doc, obj, key)
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| (1..=5).contains(v))
        .unwrap_or(1)
}

fn read_one<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Risk {
    Risk {
        id,
        fields: RiskFields {
            title: get_string(doc, obj, "title"),
            likelihood: small(doc, obj, "likelihood"),
            impact: small(doc, obj, "impact"),
            owner: get_parsed(doc, obj, "owner"),
            mitigation: get_text(doc, obj, "mitigation"),
            contingency: get_text(doc, obj, "contingency"),
        },
        status: get_str(doc, obj, "status")
            .and_then(|s| RiskStatus::from_stored(&s))
            .unwrap_or(RiskStatus::Open),
        created_at: get_u64(doc, obj, "created_at"),
    }
}

/// The register, in display order.
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Risk> {
    items::read_all(doc, Collection::Risks, |id, obj| read_one(doc, id, obj))
}

/// One risk, or [`OpError::NotFound`](super::OpError::NotFound).
pub fn get<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<Risk> {
    let obj = items::require(doc, Collection::Risks, id)?;
    Ok(read_one(doc, id, &obj))
}

/// The high risks (see [`Risk::is_high`]), highest score first.
pub fn high<R: ReadDoc>(doc: &R) -> Vec<Risk> {
    let mut found: Vec<Risk> = list(doc).into_iter().filter(Risk::is_high).collect();
    found.sort_by(|a, b| b.score().cmp(&a.score()).then(a.id.cmp(&b.id)));
    found
}

/// The 5×5 heat map of the risks that are not closed.
pub fn heat_map(risks: &[Risk]) -> HeatMap {
    let mut map = HeatMap::default();
    for risk in risks.iter().filter(|r| r.status != RiskStatus::Closed) {
        let fields = &risk.fields;
        map.cells[usize::from(fields.likelihood) - 1][usize::from(fields.impact) - 1] += 1;
    }
    map
}

/// Registers a risk (status open).
pub fn add<T: Tx>(tx: &mut T, id: ItemId, new: &NewRisk, now: u64) -> OpResult {
    let title = non_empty("title", &new.title)?;
    let likelihood = check_level("likelihood", new.likelihood)?;
    let impact = check_level("impact", new.impact)?;
    let now = check_date("time", now)?;
    check_member(tx, new.owner)?;
    let obj = items::create_item(tx, Collection::Risks, id)?;
    tx.put(&obj, "title", title)?;
    tx.put(&obj, "likelihood", u64::from(likelihood))?;
    tx.put(&obj, "impact", u64::from(impact))?;
    put_opt(tx, &obj, "owner", new.owner)?;
    new_text(tx, &obj, "mitigation", &new.mitigation)?;
    new_text(tx, &obj, "contingency", &new.contingency)?;
    tx.put(&obj, "status", RiskStatus::Open.as_str())?;
    tx.put(&obj, "created_at", now)?;
    Ok(())
}

/// Edits a risk, field by field.
pub fn update<T: Tx>(tx: &mut T, id: ItemId, patch: &RiskPatch) -> OpResult {
    let title = patch_non_empty("title", patch.title.as_deref())?;
    let likelihood = patch
        .likelihood
        .map(|l| check_level("likelihood", l))
        .transpose()?;
    let impact = patch.impact.map(|i| check_level("impact", i)).transpose()?;
    if let Some(owner) = patch.owner {
        check_member(tx, owner)?;
    }
    let obj = items::require(tx, Collection::Risks, id)?;
    patch_put(tx, &obj, "title", title)?;
    patch_put(tx, &obj, "likelihood", likelihood.map(u64::from))?;
    patch_put(tx, &obj, "impact", impact.map(u64::from))?;
    patch_put_opt(tx, &obj, "owner", patch.owner)?;
    patch_text(tx, &obj, "mitigation", patch.mitigation.as_deref())?;
    patch_text(tx, &obj, "contingency", patch.contingency.as_deref())?;
    patch_put(tx, &obj, "status", patch.status)?;
    Ok(())
}

stored_names! {
    /// Which prose field of a risk an editor splices.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Prose {
        /// How the risk is being reduced.
        Mitigation => "mitigation",
        /// What happens if it occurs.
        Contingency => "contingency",
    }

    /// Every prose field, in the order shown.
    ALL;
}

/// Applies one splice to a prose field (what its editor reports as someone
/// types), so both parties working on the same risk keep their words.
pub fn edit_prose<T: Tx>(tx: &mut T, id: ItemId, field: Prose, edit: &Splice) -> OpResult {
    items::splice_field(tx, Collection::Risks, id, field.as_str(), edit)
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;
    use crate::model::error::OpError;
    use crate::model::items::{self, Collection};
    use crate::model::test_support::{T0, id, insert, partnership, sync_pair};

    #[test]
    fn two_people_writing_one_mitigation_keep_their_words() {
        let doc = &mut partnership().doc;
        // Both write around existing words: two inserts at the same position
        // would be ordered by the random actor ids, not by who typed first.
        let new = NewRisk {
            mitigation: "Cross-train.".into(),
            ..risk("Key engineer leaves", 3, 5)
        };
        add(doc, id(1), &new, T0).unwrap();
        let mut partner = doc.fork();
        let before = get(doc, id(1)).unwrap().fields.mitigation.chars().count();
        edit_prose(
            doc,
            id(1),
            Prose::Mitigation,
            &insert(0, "Pair on releases. "),
        )
        .unwrap();
        edit_prose(
            &mut partner,
            id(1),
            Prose::Mitigation,
            &insert(before, " Document the build."),
        )
        .unwrap();
        edit_prose(
            &mut partner,
            id(1),
            Prose::Contingency,
            &insert(0, "Hire a contractor. "),
        )
        .unwrap();
        sync_pair(doc, &mut partner);
        let (ours, theirs) = (get(doc, id(1)).unwrap(), get(&partner, id(1)).unwrap());
        assert_eq!(ours.fields.mitigation, theirs.fields.mitigation);
        assert_eq!(
            ours.fields.mitigation,
            "Pair on releases. Cross-train. Document the build."
        );
        assert!(ours.fields.contingency.starts_with("Hire a contractor. "));
        assert!(edit_prose(doc, id(9), Prose::Mitigation, &insert(0, "x")).is_err());
    }

    fn risk(title: &str, likelihood: u8, impact: u8) -> NewRisk {
        NewRisk {
            title: title.into(),
            likelihood,
            impact,
            ..NewRisk::default()
        }
    }

    #[test]
    fn add_validates() {
        let mut fixture = partnership();
        let doc = &mut fixture.doc;
        assert!(matches!(
            add(doc, id(1), &risk("", 3, 3), T0),
            Err(OpError::Empty { .. })
        ));
        assert!(matches!(
            add(doc, id(1), &risk("x", 0, 3), T0),
            Err(OpError::OutOfRange {
                field: "likelihood",
                ..
            })
        ));
        assert!(matches!(
            add(doc, id(1), &risk("x", 3, 6), T0),
            Err(OpError::OutOfRange {
                field: "impact",
                ..
            })
        ));
        assert!(
            add(
                doc,
                id(1),
                &NewRisk {
                    owner: Some(MemberId::from_bytes([9; 16])),
                    ..risk("x", 3, 3)
                },
                T0
            )
            .is_err()
        );
        assert!(add(doc, id(1), &risk("x", 3, 3), 0).is_err());
        assert_eq!(doc.pending_ops(), 0);
        add(
            doc,
            id(1),
            &NewRisk {
                owner: Some(fixture.alice),
                mitigation: "Second supplier.".into(),
                contingency: "Pause the launch.".into(),
                ..risk("Supplier fails", 2, 4)
            },
            T0,
        )
        .unwrap();
        let r = get(doc, id(1)).unwrap();
        assert_eq!((r.fields.likelihood, r.fields.impact, r.score()), (2, 4, 8));
        assert_eq!(r.fields.owner, Some(fixture.alice));
        assert_eq!(r.fields.contingency, "Pause the launch.");
        assert_eq!(r.status, RiskStatus::Open);
    }

    #[test]
    fn high_risks_and_heat_map() {
        let mut doc = partnership().doc;
        add(&mut doc, id(1), &risk("a", 3, 5), T0).unwrap(); // 15: high
        add(&mut doc, id(2), &risk("b", 4, 4), T0).unwrap(); // 16: high
        add(&mut doc, id(3), &risk("c", 2, 7 - 2), T0).unwrap(); // 10
        add(&mut doc, id(4), &risk("d", 5, 5), T0).unwrap(); // 25, closed below
        add(&mut doc, id(5), &risk("e", 3, 5), T0).unwrap(); // 15, same cell as a
        add(&mut doc, id(6), &risk("f", 2, 7), T0).unwrap_err();
        update(
            &mut doc,
            id(4),
            &RiskPatch {
                status: Some(RiskStatus::Closed),
                ..RiskPatch::default()
            },
        )
        .unwrap();
        update(
            &mut doc,
            id(5),
            &RiskPatch {
                impact: Some(4),
                likelihood: Some(3),
                ..RiskPatch::default()
            },
        )
        .unwrap(); // 12: not high
        assert!(
            update(
                &mut doc,
                id(5),
                &RiskPatch {
                    impact: Some(0),
                    ..RiskPatch::default()
                }
            )
            .is_err()
        );
        let found: Vec<ItemId> = high(&doc).into_iter().map(|r| r.id).collect();
        assert_eq!(found, [id(2), id(1)]);
        let map = heat_map(&list(&doc));
        assert_eq!(map.count(3, 5), 1);
        assert_eq!(map.count(4, 4), 1);
        assert_eq!(map.count(2, 5), 1);
        assert_eq!(map.count(3, 4), 1);
        assert_eq!(map.count(5, 5), 0);
        assert_eq!(map.count(0, 9), 0);
        assert_eq!(map.cells.iter().flatten().sum::<u32>(), 4);
        items::delete(&mut doc, Collection::Risks, id(1), T0).unwrap();
        assert_eq!(high(&doc).len(), 1);
        items::restore(&mut doc, Collection::Risks, id(1)).unwrap();
        assert_eq!(high(&doc).len(), 2);
    }
}
