//! Vetting a partner: weighted criteria, each party's scores, and the
//! due-diligence checklist.
//!
//! ```text
//! vetting: {
//!   criteria:  { id → { name, weight (1–10), order, deleted_at? } }
//!   scores:    { party id → { criterion id → { score (1–5), note (Text) } } }
//!   diligence: { id → { item, owner (member id)?, evidence (URL), done, order, deleted_at? } }
//! }
//! ```
//!
//! A score is the one a party gives on a criterion (each side assesses the
//! fit). Each party's score map is created with the party, so members of two
//! parties scoring at once never race to create the same map. A criterion's
//! cell is created by its first score; if two members of the *same* party
//! enter the very first score of the same cell concurrently, Automerge keeps
//! one of the two cells (the same on every replica) — later edits merge field
//! by field.

use automerge::{ObjId, ObjType, ReadDoc};

use super::error::{OpError, OpResult};
use super::fields::{
    Tx, check_range, child_map, get_bool, get_parsed, get_string, get_text, get_u32, get_u64,
    non_empty, patch_non_empty, patch_put, patch_put_opt, put_opt, set_text,
};
use super::ids::{ItemId, MemberId, PartyId};
use super::items::{self, Collection};
use super::refs::{self, create_party_scores, scores_map};

pub(crate) const CRITERIA: &str = "criteria";
pub(crate) const DILIGENCE: &str = "diligence";

/// Lowest and highest score.
pub const SCORE_RANGE: (u8, u8) = (1, 5);
/// Lowest and highest criterion weight.
pub const WEIGHT_RANGE: (u32, u32) = (1, 10);

/// The criteria a new partnership starts with, and their weights.
pub const DEFAULT_CRITERIA: [(&str, u32); 7] = [
    ("Track record", 2),
    ("Financial stability", 2),
    ("Cultural fit", 2),
    ("Strategic fit", 3),
    ("Complementary strengths", 3),
    ("Reputation", 1),
    ("Resources", 1),
];

/// The fixed id of the `index`th default criterion (the same in every
/// partnership; only one replica ever creates them, in `init`).
pub fn default_criterion_id(index: usize) -> ItemId {
    let mut bytes = [0u8; 16];
    bytes[0] = 0xc0;
    bytes[15] = u8::try_from(index + 1).unwrap_or(u8::MAX);
    ItemId::from_bytes(bytes)
}

/// A vetting criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    /// Its id.
    pub id: ItemId,
    /// Its name.
    pub name: String,
    /// Its weight (1–10).
    pub weight: u32,
}

/// One party's score on one criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The party giving the score.
    pub party: PartyId,
    /// The criterion.
    pub criterion: ItemId,
    /// 1–5, if scored.
    pub score: Option<u8>,
    /// Why (prose).
    pub note: String,
}

/// One entry of the due-diligence checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct DiligenceItem {
    /// Its id.
    pub id: ItemId,
    /// What must be checked.
    pub item: String,
    /// Who checks it.
    pub owner: Option<MemberId>,
    /// A link to the evidence.
    pub evidence: String,
    /// Whether it is done.
    pub done: bool,
}

impl DiligenceItem {
    /// The evidence as a link to open, only when it is a web address. The
    /// op refuses anything else, but a client that skips the op could
    /// write, say, a `javascript:` address into the shared document; that
    /// is shown as text, never made a link.
    pub fn link(&self) -> Option<&str> {
        let link = self.evidence.as_str();
        (!link.is_empty() && check_evidence(link).is_ok_and(|l| l == link)).then_some(link)
    }
}

/// A party's weighted total.
#[derive(Debug, Clone, PartialEq)]
pub struct PartyTotal {
    /// The party.
    pub party: PartyId,
    /// Σ weight × score ÷ Σ weight over the criteria it scored (1–5), if any.
    pub weighted: Option<f64>,
    /// How many criteria it scored.
    pub scored: usize,
    /// How many criteria there are.
    pub criteria: usize,
}

/// Weighted totals per party and combined.
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    /// One per party, in party order.
    pub per_party: Vec<PartyTotal>,
    /// Σ weight × score ÷ Σ weight over every party's scored criteria (1–5).
    pub combined: Option<f64>,
}

/// The vetting page.
#[derive(Debug, Clone, PartialEq)]
pub struct Vetting {
    /// Criteria in display order.
    pub criteria: Vec<Criterion>,
    /// Scores of live parties on live criteria.
    pub scores: Vec<Score>,
    /// The checklist in display order.
    pub diligence: Vec<DiligenceItem>,
    /// Weighted totals.
    pub totals: Totals,
}

/// The fields of a new checklist entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewDiligence {
    /// What must be checked (required).
    pub item: String,
    /// Who checks it (a current member).
    pub owner: Option<MemberId>,
    /// A link to the evidence (`http(s)://…`) or empty.
    pub evidence: String,
}

/// Changes to a checklist entry; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiligencePatch {
    /// New text (must not be blank).
    pub item: Option<String>,
    /// New owner (`Some(None)` clears it).
    pub owner: Option<Option<MemberId>>,
    /// New evidence link.
    pub evidence: Option<String>,
    /// Done or not.
    pub done: Option<bool>,
}

/// Changes to a criterion; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CriterionPatch {
    /// New name (must not be blank).
    pub name: Option<String>,
    /// New weight (1–10).
    pub weight: Option<u32>,
}

fn check_weight(weight: u32) -> OpResult<u32> {
    check_range(
        "weight",
        weight.into(),
        WEIGHT_RANGE.0.into(),
        WEIGHT_RANGE.1.into(),
    )
    .map(|_| weight)
}

fn check_evidence(link: &str) -> OpResult<String> {
    let link = link.trim();
    let is_url = (link.starts_with("https://") || link.starts_with("http://"))
        && !link.contains(char::is_whitespace)
        && link.len() > "https://".len();
    if link.is_empty() || is_url {
        Ok(link.to_owned())
    } else {
        Err(OpError::Invalid {
            field: "evidence link",
            reason: "expected a web address starting with https://",
        })
    }
}

/// The criteria, in display order.
pub fn criteria<R: ReadDoc>(doc: &R) -> Vec<Criterion> {
    items::read_all(doc, Collection::Criteria, |id, obj| Criterion {
        id,
        name: get_string(doc, obj, "name"),
        weight: get_u32(doc, obj, "weight").unwrap_or(1),
    })
}

/// Reads the whole vetting page.
pub fn read<R: ReadDoc>(doc: &R) -> Vetting {
    let criteria = criteria(doc);
    let parties = refs::party_ids(doc);
    let mut scores = Vec::new();
    if let Ok(map) = scores_map(doc) {
        for party in &parties {
            let Some(cells) = child_map(doc, &map, &party.key()) else {
                continue;
            };
            for criterion in &criteria {
                let Some(cell) = child_map(doc, &cells, &criterion.id.key()) else {
                    continue;
                };
                scores.push(Score {
                    party: *party,
                    criterion: criterion.id,
                    score: get_u64(doc, &cell, "score")
                        .and_then(|s| u8::try_from(s).ok())
                        .filter(|s| (SCORE_RANGE.0..=SCORE_RANGE.1).contains(s)),
                    note: get_text(doc, &cell, "note"),
                });
            }
        }
    }
    let diligence = match Collection::Diligence.locate(doc) {
        Ok(map) => items::entries(doc, &map)
            .into_iter()
            .map(|(id, obj)| DiligenceItem {
                id,
                item: get_string(doc, &obj, "item"),
                owner: get_parsed(doc, &obj, "owner"),
                evidence: get_string(doc, &obj, "evidence"),
                done: get_bool(doc, &obj, "done"),
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let totals = totals(&criteria, &scores, &parties);
    Vetting {
        criteria,
        scores,
        diligence,
        totals,
    }
}

/// Weighted totals: for each party, Σ weight × score ÷ Σ weight over the
/// criteria it scored (so an unscored criterion neither helps nor hurts),
/// and the same sum over every party's scores combined.
pub fn totals(criteria: &[Criterion], scores: &[Score], parties: &[PartyId]) -> Totals {
    let weight_of = |id: ItemId| {
        criteria
            .iter()
            .find(|c| c.id == id)
            .map(|c| f64::from(c.weight))
    };
    let (mut all_sum, mut all_weight) = (0.0, 0.0);
    let per_party = parties
        .iter()
        .map(|&party| {
            let (mut sum, mut weight, mut scored) = (0.0, 0.0, 0);
            for score in scores.iter().filter(|s| s.party == party) {
                if let (Some(value), Some(w)) = (score.score, weight_of(score.criterion)) {
                    sum += w * f64::from(value);
                    weight += w;
                    scored += 1;
                }
            }
            all_sum += sum;
            all_weight += weight;
            PartyTotal {
                party,
                weighted: (weight > 0.0).then(|| sum / weight),
                scored,
                criteria: criteria.len(),
            }
        })
        .collect();
    Totals {
        per_party,
        combined: (all_weight > 0.0).then(|| all_sum / all_weight),
    }
}

/// Adds a criterion.
pub fn add_criterion<T: Tx>(tx: &mut T, id: ItemId, name: &str, weight: u32) -> OpResult {
    let name = non_empty("name", name)?;
    let weight = check_weight(weight)?;
    let obj = items::create_item(tx, Collection::Criteria, id)?;
    tx.put(&obj, "name", name)?;
    tx.put(&obj, "weight", u64::from(weight))?;
    Ok(())
}

/// Renames or reweights a criterion. (Remove one with
/// [`items::delete`] and [`Collection::Criteria`].)
pub fn update_criterion<T: Tx>(tx: &mut T, id: ItemId, patch: &CriterionPatch) -> OpResult {
    let name = patch_non_empty("name", patch.name.as_deref())?;
    let weight = patch.weight.map(check_weight).transpose()?;
    let obj = items::require(tx, Collection::Criteria, id)?;
    patch_put(tx, &obj, "name", name)?;
    patch_put(tx, &obj, "weight", weight.map(u64::from))?;
    Ok(())
}

/// The score cell of (party, criterion), created if needed, after checking
/// both exist.
fn cell<T: Tx>(tx: &mut T, party: PartyId, criterion: ItemId) -> OpResult<ObjId> {
    refs::require_party(tx, party)?;
    items::require(tx, Collection::Criteria, criterion)?;
    let cells = create_party_scores(tx, party)?;
    match child_map(tx, &cells, &criterion.key()) {
        Some(cell) => Ok(cell),
        None => Ok(tx.put_object(&cells, criterion.key().as_str(), ObjType::Map)?),
    }
}

/// Sets (or with `None` clears) a party's score (1–5) on a criterion.
pub fn set_score<T: Tx>(
    tx: &mut T,
    party: PartyId,
    criterion: ItemId,
    score: Option<u8>,
) -> OpResult {
    let score = score
        .map(|s| {
            check_range(
                "score",
                s.into(),
                SCORE_RANGE.0.into(),
                SCORE_RANGE.1.into(),
            )
        })
        .transpose()?;
    let cell = cell(tx, party, criterion)?;
    put_opt(tx, &cell, "score", score)
}

/// Rewrites a party's note on a criterion.
pub fn set_score_note<T: Tx>(
    tx: &mut T,
    party: PartyId,
    criterion: ItemId,
    note: &str,
) -> OpResult {
    let cell = cell(tx, party, criterion)?;
    set_text(tx, &cell, "note", note)
}

/// Adds an entry to the due-diligence checklist.
pub fn add_diligence<T: Tx>(tx: &mut T, id: ItemId, new: &NewDiligence) -> OpResult {
    let item = non_empty("item", &new.item)?;
    let evidence = check_evidence(&new.evidence)?;
    if let Some(owner) = new.owner {
        refs::require_member(tx, owner)?;
    }
    let obj = items::create_item(tx, Collection::Diligence, id)?;
    tx.put(&obj, "item", item)?;
    put_opt(tx, &obj, "owner", new.owner)?;
    tx.put(&obj, "evidence", evidence)?;
    tx.put(&obj, "done", false)?;
    Ok(())
}

/// Edits a checklist entry (including ticking it off), field by field.
pub fn update_diligence<T: Tx>(tx: &mut T, id: ItemId, patch: &DiligencePatch) -> OpResult {
    let item = patch_non_empty("item", patch.item.as_deref())?;
    let evidence = patch.evidence.as_deref().map(check_evidence).transpose()?;
    if let Some(Some(owner)) = patch.owner {
        refs::require_member(tx, owner)?;
    }
    let obj = items::require(tx, Collection::Diligence, id)?;
    patch_put(tx, &obj, "item", item)?;
    patch_put_opt(tx, &obj, "owner", patch.owner)?;
    patch_put(tx, &obj, "evidence", evidence)?;
    patch_put(tx, &obj, "done", patch.done)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;
    use crate::model::test_support::{T0, id, partnership};

    #[test]
    fn init_creates_the_default_criteria() {
        let fixture = partnership();
        let vetting = read(&fixture.doc);
        let names: Vec<&str> = vetting.criteria.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, DEFAULT_CRITERIA.map(|(name, _)| name));
        assert_eq!(vetting.criteria[3].weight, 3);
        assert_eq!(vetting.criteria[0].id, default_criterion_id(0));
        assert!(vetting.scores.is_empty());
        assert_eq!(vetting.totals.combined, None);
    }

    #[test]
    fn criteria_can_be_added_renamed_reweighted_and_removed() {
        let mut doc = partnership().doc;
        assert!(matches!(
            add_criterion(&mut doc, id(20), " ", 2),
            Err(OpError::Empty { .. })
        ));
        assert!(matches!(
            add_criterion(&mut doc, id(20), "Speed", 11),
            Err(OpError::OutOfRange {
                field: "weight",
                ..
            })
        ));
        assert!(add_criterion(&mut doc, id(20), "Speed", 0).is_err());
        add_criterion(&mut doc, id(20), "Speed", 4).unwrap();
        update_criterion(
            &mut doc,
            id(20),
            &CriterionPatch {
                name: Some("Speed of delivery".into()),
                weight: Some(5),
            },
        )
        .unwrap();
        assert!(
            update_criterion(
                &mut doc,
                id(20),
                &CriterionPatch {
                    weight: Some(99),
                    name: Some("x".into())
                }
            )
            .is_err()
        );
        assert!(matches!(
            update_criterion(&mut doc, id(99), &CriterionPatch::default()),
            Err(OpError::NotFound {
                kind: "criterion",
                ..
            })
        ));
        let last = criteria(&doc).pop().unwrap();
        assert_eq!((last.name.as_str(), last.weight), ("Speed of delivery", 5));
        items::delete(&mut doc, Collection::Criteria, default_criterion_id(0), T0).unwrap();
        assert_eq!(criteria(&doc).len(), DEFAULT_CRITERIA.len());
        assert_eq!(criteria(&doc)[0].name, "Financial stability");
    }

    #[test]
    fn scores_notes_and_weighted_totals() {
        let mut fixture = partnership();
        let (acme, globex) = (fixture.acme, fixture.globex);
        let doc = &mut fixture.doc;
        let strategic = default_criterion_id(3); // weight 3
        let reputation = default_criterion_id(5); // weight 1
        assert!(matches!(
            set_score(doc, acme, strategic, Some(6)),
            Err(OpError::OutOfRange { field: "score", .. })
        ));
        assert!(set_score(doc, acme, strategic, Some(0)).is_err());
        assert!(matches!(
            set_score(doc, PartyId::from_bytes([1; 16]), strategic, Some(3)),
            Err(OpError::NotFound { kind: "party", .. })
        ));
        assert!(matches!(
            set_score(doc, acme, id(1), Some(3)),
            Err(OpError::NotFound {
                kind: "criterion",
                ..
            })
        ));
        assert!(read(doc).scores.is_empty());
        set_score(doc, acme, strategic, Some(5)).unwrap();
        set_score(doc, acme, reputation, Some(1)).unwrap();
        set_score(doc, globex, strategic, Some(3)).unwrap();
        set_score_note(doc, globex, strategic, "Overlaps in two markets.").unwrap();
        let vetting = read(doc);
        assert_eq!(vetting.scores.len(), 3);
        let note = vetting.scores.iter().find(|s| s.party == globex).unwrap();
        assert_eq!(note.note, "Overlaps in two markets.");
        assert_eq!(note.score, Some(3));
        let totals = &vetting.totals;
        assert_eq!(totals.per_party[0].weighted, Some((3.0 * 5.0 + 1.0) / 4.0));
        assert_eq!(totals.per_party[0].scored, 2);
        assert_eq!(totals.per_party[0].criteria, 7);
        assert_eq!(totals.per_party[1].weighted, Some(3.0));
        assert_eq!(totals.combined, Some((15.0 + 1.0 + 9.0) / 7.0));
        set_score(doc, acme, reputation, None).unwrap();
        assert_eq!(read(doc).totals.per_party[0].weighted, Some(5.0));
    }

    #[test]
    fn due_diligence_checklist() {
        let mut fixture = partnership();
        let alice = fixture.alice;
        let doc = &mut fixture.doc;
        let new = |item: &str, evidence: &str| NewDiligence {
            item: item.into(),
            owner: Some(alice),
            evidence: evidence.into(),
        };
        assert!(matches!(
            add_diligence(doc, id(30), &new("", "")),
            Err(OpError::Empty { .. })
        ));
        assert!(matches!(
            add_diligence(doc, id(30), &new("Audit", "not a link")),
            Err(OpError::Invalid {
                field: "evidence link",
                ..
            })
        ));
        assert!(matches!(
            add_diligence(
                doc,
                id(30),
                &NewDiligence {
                    owner: Some(MemberId::from_bytes([1; 16])),
                    ..new("Audit", "")
                }
            ),
            Err(OpError::NotFound { kind: "member", .. })
        ));
        add_diligence(doc, id(30), &new("Audited accounts", "")).unwrap();
        update_diligence(
            doc,
            id(30),
            &DiligencePatch {
                evidence: Some("https://example.org/audit.pdf".into()),
                done: Some(true),
                owner: Some(None),
                ..DiligencePatch::default()
            },
        )
        .unwrap();
        let ftp_evidence = DiligencePatch {
            evidence: Some("ftp://x".into()),
            done: Some(false),
            ..DiligencePatch::default()
        };
        assert!(update_diligence(doc, id(30), &ftp_evidence).is_err());
        assert!(matches!(
            update_diligence(doc, id(31), &DiligencePatch::default()),
            Err(OpError::NotFound { .. })
        ));
        let items = read(doc).diligence;
        assert_eq!(
            items,
            [DiligenceItem {
                id: id(30),
                item: "Audited accounts".into(),
                owner: None,
                evidence: "https://example.org/audit.pdf".into(),
                done: true,
            }]
        );
        assert_eq!(items[0].link(), Some("https://example.org/audit.pdf"));
    }

    #[test]
    fn evidence_written_around_the_op_is_never_a_link() {
        let doc = &mut partnership().doc;
        let new = NewDiligence {
            item: "Audited accounts".into(),
            owner: None,
            evidence: String::new(),
        };
        add_diligence(doc, id(30), &new).unwrap();
        assert_eq!(read(doc).diligence[0].link(), None);
        // A client that skips the op writes the field directly.
        let obj = items::require(doc, Collection::Diligence, id(30)).unwrap();
        for bad in ["javascript:alert(1)", " https://x.org", "https://"] {
            doc.put(&obj, "evidence", bad).unwrap();
            let item = &read(doc).diligence[0];
            assert_eq!(item.evidence, bad, "shown as it is");
            assert_eq!(item.link(), None, "{bad} is not a link");
        }
    }
}
