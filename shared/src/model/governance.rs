//! Governance: joint committees, decision rights and the escalation ladder.
//! (The partnership managers live in [`super::members`].)
//!
//! ```text
//! governance: {
//!   managers:        { member id → true },
//!   committees:      { id → { name, mandate (Text), cadence (days),
//!                             members: { member id → true }, order, deleted_at? } },
//!   decision_rights: { id → { decision, decider, rule, order, deleted_at? } },
//!   escalation:      { id → { name, who, within (days), order, deleted_at? } } }
//! ```
//!
//! `decider` is `"joint"`, `"party:<id>"`, `"committee:<id>"` or
//! `"member:<id>"`. The escalation ladder is the live `escalation` items in
//! `order`: the first is where a conflict starts, each next level is where
//! escalating takes it. A conflict at a level is overdue once it has been
//! there longer than that level's `within` days (see [`super::conflicts`]).

use automerge::{ObjId, ObjType, ReadDoc};

use super::editable::editable_fields;
use super::error::OpResult;
use super::fields::{
    Tx, check_range, child_map, get_bool, get_str, get_string, get_text, get_u32, new_text,
    non_empty, patch_non_empty, patch_put, patch_text, put, put_opt,
};
use super::ids::{ItemId, MemberId, PartyId};
use super::items::{self, Collection, move_in, require_in, root_map, sub_map};
use super::keys::GOVERNANCE;
use super::refs;
pub use super::refs::EscalationLevel;
use super::stored_names::stored_names;
use crate::text::Splice;

const COMMITTEES: &str = "committees";
const DECISION_RIGHTS: &str = "decision_rights";
const ESCALATION: &str = "escalation";
const MEMBERS: &str = "members";

/// Longest committee cadence or escalation deadline, in days.
pub const MAX_DAYS: u32 = 366;

/// A joint committee.
#[derive(Debug, Clone, PartialEq)]
pub struct Committee {
    /// Its id.
    pub id: ItemId,
    /// What it is called, decides and how often it meets.
    pub fields: CommitteeFields,
    /// Its members, in id order.
    pub members: Vec<MemberId>,
    /// The parties its members come from, in id order.
    pub parties: Vec<PartyId>,
}

editable_fields! {
    /// The editable fields of a committee.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct CommitteeFields {
        /// Its name, "Joint steering committee" (required, not blank).
        pub name: String,
        /// What it decides and oversees (prose).
        pub mandate: String,
        /// Days between its meetings (1–366).
        pub cadence_days: u32,
    }

    /// Changes to a committee.
    pub struct CommitteePatch;
}

/// What [`add_committee`] takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewCommittee {
    /// Its name, mandate and cadence.
    pub fields: CommitteeFields,
    /// Its members (current members).
    pub members: Vec<MemberId>,
}

/// Who takes a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decider {
    /// Both parties together.
    Joint,
    /// One party.
    Party(PartyId),
    /// A committee.
    Committee(ItemId),
    /// One person.
    Member(MemberId),
}

impl Decider {
    fn encode(self) -> String {
        match self {
            Self::Joint => "joint".to_owned(),
            Self::Party(p) => format!("party:{p}"),
            Self::Committee(c) => format!("committee:{c}"),
            Self::Member(m) => format!("member:{m}"),
        }
    }

    fn decode(text: &str) -> Option<Self> {
        match text.split_once(':') {
            None if text == "joint" => Some(Self::Joint),
            Some(("party", id)) => id.parse().ok().map(Self::Party),
            Some(("committee", id)) => id.parse().ok().map(Self::Committee),
            Some(("member", id)) => id.parse().ok().map(Self::Member),
            _ => None,
        }
    }
}

stored_names! {
    /// How a decision is taken.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Rule {
        /// The decider alone.
        Sole => "sole",
        /// The decider, after consulting the other party.
        AfterConsulting => "after_consulting",
        /// Everyone involved agrees (no formal vote).
        Consensus => "consensus",
        /// A majority vote.
        Majority => "majority",
        /// Every member votes for it.
        Unanimous => "unanimous",
    }

    /// Every rule.
    ALL;
}

/// One decision right.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRight {
    /// Its id.
    pub id: ItemId,
    /// What is decided ("pricing of joint offers").
    pub decision: String,
    /// Who decides (`None`: unreadable or refers to something deleted).
    pub decider: Option<Decider>,
    /// How.
    pub rule: Rule,
}

/// The governance page.
#[derive(Debug, Clone, PartialEq)]
pub struct Governance {
    /// The committees, in order.
    pub committees: Vec<Committee>,
    /// The decision rights, in order.
    pub decision_rights: Vec<DecisionRight>,
    /// The escalation ladder, bottom first.
    pub ladder: Vec<EscalationLevel>,
}

fn governance_map<R: ReadDoc>(doc: &R, key: &'static str, name: &'static str) -> OpResult<ObjId> {
    let governance = root_map(doc, GOVERNANCE)?;
    sub_map(doc, &governance, key, name)
}

fn check_days(field: &'static str, days: u32) -> OpResult<u32> {
    check_range(field, days.into(), 1, MAX_DAYS.into()).map(|_| days)
}

fn read_committee<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Committee {
    let mut ids: Vec<MemberId> = child_map(doc, obj, MEMBERS)
        .map(|m| {
            doc.keys(&m)
                .filter(|k| get_bool(doc, &m, k))
                .filter_map(|k| k.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    let mut parties: Vec<PartyId> = ids
        .iter()
        .filter_map(|id| refs::member_party(doc, *id))
        .collect();
    parties.sort();
    parties.dedup();
    Committee {
        id,
        fields: CommitteeFields {
            name: get_string(doc, obj, "name"),
            mandate: get_text(doc, obj, "mandate"),
            cadence_days: get_u32(doc, obj, "cadence").unwrap_or(91),
        },
        members: ids,
        parties,
    }
}

/// The committees, in order.
pub fn committees<R: ReadDoc>(doc: &R) -> Vec<Committee> {
    items::read_all(doc, Collection::Committees, |id, obj| {
        read_committee(doc, id, obj)
    })
}

/// The decision rights, in order.
pub fn decision_rights<R: ReadDoc>(doc: &R) -> Vec<DecisionRight> {
    items::read_all(doc, Collection::DecisionRights, |id, obj| DecisionRight {
        id,
        decision: get_string(doc, obj, "decision"),
        decider: get_str(doc, obj, "decider").and_then(|d| Decider::decode(&d)),
        rule: get_str(doc, obj, "rule")
            .and_then(|r| Rule::from_stored(&r))
            .unwrap_or(Rule::Consensus),
    })
}

/// The escalation ladder, bottom level first.
pub fn ladder<R: ReadDoc>(doc: &R) -> Vec<EscalationLevel> {
    refs::escalation_ladder(doc)
}

/// The whole governance page.
pub fn read<R: ReadDoc>(doc: &R) -> Governance {
    Governance {
        committees: committees(doc),
        decision_rights: decision_rights(doc),
        ladder: ladder(doc),
    }
}

// --- committees -------------------------------------------------------------

/// Sets up a committee.
pub fn add_committee<T: Tx>(tx: &mut T, id: ItemId, new: &NewCommittee) -> OpResult {
    let name = non_empty("name", &new.fields.name)?;
    let cadence = check_days("cadence (days)", new.fields.cadence_days)?;
    for member in &new.members {
        refs::require_member(tx, *member)?;
    }
    let map = governance_map(tx, COMMITTEES, "governance.committees")?;
    let obj = items::create(tx, &map, "committee", id)?;
    tx.put(&obj, "name", name)?;
    new_text(tx, &obj, "mandate", &new.fields.mandate)?;
    tx.put(&obj, "cadence", u64::from(cadence))?;
    let roster = tx.put_object(&obj, MEMBERS, ObjType::Map)?;
    for member in &new.members {
        tx.put(&roster, member.key(), true)?;
    }
    Ok(())
}

fn require_committee<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<ObjId> {
    let map = governance_map(doc, COMMITTEES, "governance.committees")?;
    require_in(doc, &map, "committee", id)
}

/// Edits a committee, field by field.
pub fn update_committee<T: Tx>(tx: &mut T, id: ItemId, patch: &CommitteePatch) -> OpResult {
    let name = patch_non_empty("name", patch.name.as_deref())?;
    let cadence = patch
        .cadence_days
        .map(|d| check_days("cadence (days)", d))
        .transpose()?;
    let obj = require_committee(tx, id)?;
    patch_put(tx, &obj, "name", name)?;
    patch_text(tx, &obj, "mandate", patch.mandate.as_deref())?;
    patch_put(tx, &obj, "cadence", cadence.map(u64::from))?;
    Ok(())
}

/// Applies one splice to a committee's mandate (what its editor reports as
/// someone types), so both parties drafting it at once keep their words.
pub fn edit_mandate<T: Tx>(tx: &mut T, id: ItemId, edit: &Splice) -> OpResult {
    items::splice_field(tx, Collection::Committees, id, "mandate", edit)
}

/// Puts a member on a committee (`true`) or takes them off.
pub fn set_committee_member<T: Tx>(
    tx: &mut T,
    committee: ItemId,
    member: MemberId,
    on: bool,
) -> OpResult {
    if on {
        refs::require_member(tx, member)?;
    }
    let obj = require_committee(tx, committee)?;
    let roster = sub_map(tx, &obj, MEMBERS, "committee.members")?;
    if on {
        put(tx, &roster, &member.key(), true)
    } else {
        put_opt::<_, bool>(tx, &roster, &member.key(), None)
    }
}

// --- decision rights ----------------------------------------------------------

fn check_decider<R: ReadDoc>(doc: &R, decider: Decider) -> OpResult {
    match decider {
        Decider::Joint => Ok(()),
        Decider::Party(p) => refs::require_party(doc, p).map(|_| ()),
        Decider::Committee(c) => require_committee(doc, c).map(|_| ()),
        Decider::Member(m) => refs::require_member(doc, m).map(|_| ()),
    }
}

/// Records who decides what, and how.
pub fn add_decision_right<T: Tx>(
    tx: &mut T,
    id: ItemId,
    decision: &str,
    decider: Decider,
    rule: Rule,
) -> OpResult {
    let decision = non_empty("decision", decision)?;
    check_decider(tx, decider)?;
    let map = governance_map(tx, DECISION_RIGHTS, "governance.decision_rights")?;
    let obj = items::create(tx, &map, "decision right", id)?;
    tx.put(&obj, "decision", decision)?;
    tx.put(&obj, "decider", decider.encode())?;
    tx.put(&obj, "rule", rule.as_str())?;
    Ok(())
}

/// Edits a decision right; `None` leaves a field alone.
pub fn update_decision_right<T: Tx>(
    tx: &mut T,
    id: ItemId,
    decision: Option<&str>,
    decider: Option<Decider>,
    rule: Option<Rule>,
) -> OpResult {
    let decision = decision.map(|d| non_empty("decision", d)).transpose()?;
    if let Some(decider) = decider {
        check_decider(tx, decider)?;
    }
    let map = governance_map(tx, DECISION_RIGHTS, "governance.decision_rights")?;
    let obj = require_in(tx, &map, "decision right", id)?;
    patch_put(tx, &obj, "decision", decision)?;
    patch_put(tx, &obj, "decider", decider.map(|decider| decider.encode()))?;
    patch_put(tx, &obj, "rule", rule)?;
    Ok(())
}

// --- escalation ladder --------------------------------------------------------

/// Adds a level at the top of the ladder.
pub fn add_level<T: Tx>(
    tx: &mut T,
    id: ItemId,
    name: &str,
    who: &str,
    within_days: u32,
) -> OpResult {
    let name = non_empty("name", name)?;
    let who = non_empty("who", who)?;
    let within = check_days("within (days)", within_days)?;
    let map = governance_map(tx, ESCALATION, "governance.escalation")?;
    let obj = items::create(tx, &map, "escalation level", id)?;
    tx.put(&obj, "name", name)?;
    tx.put(&obj, "who", who)?;
    tx.put(&obj, "within", u64::from(within))?;
    Ok(())
}

/// Edits a level; `None` leaves a field alone.
pub fn update_level<T: Tx>(
    tx: &mut T,
    id: ItemId,
    name: Option<&str>,
    who: Option<&str>,
    within_days: Option<u32>,
) -> OpResult {
    let name = name.map(|n| non_empty("name", n)).transpose()?;
    let who = who.map(|w| non_empty("who", w)).transpose()?;
    let within = within_days
        .map(|d| check_days("within (days)", d))
        .transpose()?;
    let map = governance_map(tx, ESCALATION, "governance.escalation")?;
    let obj = require_in(tx, &map, "escalation level", id)?;
    patch_put(tx, &obj, "name", name)?;
    patch_put(tx, &obj, "who", who)?;
    patch_put(tx, &obj, "within", within.map(u64::from))?;
    Ok(())
}

/// Moves a level to position `index` of the ladder (0 = bottom).
pub fn move_level<T: Tx>(tx: &mut T, id: ItemId, index: usize) -> OpResult {
    let map = governance_map(tx, ESCALATION, "governance.escalation")?;
    move_in(tx, &map, "escalation level", id, index)
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;
    use crate::model::error::OpError;
    use crate::model::items::{self, Collection};
    use crate::model::test_support::{T0, id, insert, partnership, sync_pair};

    #[test]
    fn both_parties_drafting_a_mandate_keep_their_words() {
        let doc = &mut partnership().doc;
        let new = NewCommittee {
            fields: CommitteeFields {
                name: "Joint steering committee".into(),
                mandate: "Budget.".into(),
                cadence_days: 91,
            },
            members: Vec::new(),
        };
        add_committee(doc, id(1), &new).unwrap();
        let mut partner = doc.fork();
        edit_mandate(doc, id(1), &insert(0, "Strategy. ")).unwrap();
        edit_mandate(&mut partner, id(1), &insert(7, " Escalations.")).unwrap();
        sync_pair(doc, &mut partner);
        for replica in [&*doc, &partner] {
            assert_eq!(
                committees(replica)[0].fields.mandate,
                "Strategy. Budget. Escalations."
            );
        }
        assert!(matches!(
            edit_mandate(doc, id(1), &insert(99, "x")),
            Err(OpError::Text(_))
        ));
        assert!(edit_mandate(doc, id(9), &insert(0, "x")).is_err());
    }

    #[test]
    fn committees_span_both_parties() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let (acme, globex) = (fixture.acme, fixture.globex);
        let doc = &mut fixture.doc;
        let new = NewCommittee {
            fields: CommitteeFields {
                name: "Joint steering committee".into(),
                mandate: "Strategy and budget.".into(),
                cadence_days: 91,
            },
            members: vec![alice],
        };
        let invalid = [
            NewCommittee {
                fields: CommitteeFields {
                    name: " ".into(),
                    ..new.fields.clone()
                },
                ..new.clone()
            },
            NewCommittee {
                fields: CommitteeFields {
                    cadence_days: 0,
                    ..new.fields.clone()
                },
                ..new.clone()
            },
            NewCommittee {
                members: vec![MemberId::from_bytes([9; 16])],
                ..new.clone()
            },
        ];
        for bad in &invalid {
            assert!(add_committee(doc, id(1), bad).is_err(), "{bad:?}");
        }
        assert_eq!(doc.pending_ops(), 0);
        add_committee(doc, id(1), &new).unwrap();
        set_committee_member(doc, id(1), bob, true).unwrap();
        assert!(set_committee_member(doc, id(1), MemberId::from_bytes([9; 16]), true).is_err());
        update_committee(
            doc,
            id(1),
            &CommitteePatch {
                mandate: Some("Strategy, budget and escalations.".into()),
                cadence_days: Some(30),
                ..CommitteePatch::default()
            },
        )
        .unwrap();
        let committee = &committees(doc)[0];
        assert_eq!(committee.members.len(), 2);
        let mut both = vec![acme, globex];
        both.sort();
        assert_eq!(committee.parties, both);
        assert_eq!(
            committee.fields.mandate,
            "Strategy, budget and escalations."
        );
        assert_eq!(committee.fields.cadence_days, 30);
        set_committee_member(doc, id(1), bob, false).unwrap();
        assert_eq!(committees(doc)[0].members, [alice]);
        items::delete(doc, Collection::Committees, id(1), T0).unwrap();
        assert!(committees(doc).is_empty());
        items::restore(doc, Collection::Committees, id(1)).unwrap();
        assert_eq!(committees(doc).len(), 1);
    }

    #[test]
    fn decision_rights_name_who_and_how() {
        let mut fixture = partnership();
        let (acme, alice) = (fixture.acme, fixture.alice);
        let doc = &mut fixture.doc;
        add_committee(
            doc,
            id(1),
            &NewCommittee {
                fields: CommitteeFields {
                    name: "JSC".into(),
                    cadence_days: 30,
                    ..CommitteeFields::default()
                },
                ..NewCommittee::default()
            },
        )
        .unwrap();
        assert!(add_decision_right(doc, id(2), "", Decider::Joint, Rule::Consensus).is_err());
        assert!(
            add_decision_right(doc, id(2), "x", Decider::Committee(id(9)), Rule::Majority).is_err()
        );
        add_decision_right(
            doc,
            id(2),
            "Joint pricing",
            Decider::Committee(id(1)),
            Rule::Majority,
        )
        .unwrap();
        add_decision_right(
            doc,
            id(3),
            "Product roadmap",
            Decider::Party(acme),
            Rule::AfterConsulting,
        )
        .unwrap();
        add_decision_right(
            doc,
            id(4),
            "Co-marketing spend",
            Decider::Joint,
            Rule::Unanimous,
        )
        .unwrap();
        update_decision_right(
            doc,
            id(4),
            None,
            Some(Decider::Member(alice)),
            Some(Rule::Sole),
        )
        .unwrap();
        let rights = decision_rights(doc);
        assert_eq!(rights.len(), 3);
        assert_eq!(rights[0].decider, Some(Decider::Committee(id(1))));
        assert_eq!(rights[1].rule, Rule::AfterConsulting);
        assert_eq!(rights[2].decider, Some(Decider::Member(alice)));
        assert_eq!(rights[2].rule, Rule::Sole);
        items::delete(doc, Collection::DecisionRights, id(3), T0).unwrap();
        assert_eq!(decision_rights(doc).len(), 2);
        for d in [
            Decider::Joint,
            Decider::Party(acme),
            Decider::Committee(id(1)),
            Decider::Member(alice),
        ] {
            assert_eq!(Decider::decode(&d.encode()), Some(d));
        }
        assert_eq!(Decider::decode("party:zz"), None);
    }

    #[test]
    fn the_ladder_is_ordered() {
        let mut doc = partnership().doc;
        assert!(add_level(&mut doc, id(1), "Managers", "", 7).is_err());
        assert!(add_level(&mut doc, id(1), "Managers", "Alice and Bob", 0).is_err());
        add_level(&mut doc, id(1), "Managers", "Alice and Bob", 7).unwrap();
        add_level(&mut doc, id(3), "Executives", "CEOs", 30).unwrap();
        add_level(&mut doc, id(2), "Steering committee", "JSC", 14).unwrap();
        move_level(&mut doc, id(2), 1).unwrap();
        update_level(&mut doc, id(3), None, Some("Both CEOs"), Some(21)).unwrap();
        let names: Vec<String> = ladder(&doc).into_iter().map(|l| l.name).collect();
        assert_eq!(names, ["Managers", "Steering committee", "Executives"]);
        assert_eq!(ladder(&doc)[2].within_days, 21);
        assert_eq!(ladder(&doc)[2].who, "Both CEOs");
        crate::model::items::delete(
            &mut doc,
            crate::model::Collection::EscalationLevels,
            id(3),
            T0,
        )
        .unwrap();
        assert_eq!(read(&doc).ladder.len(), 2);
    }
}
