//! References from one collection to another, checked here so that no
//! collection has to import the one it refers to.
//!
//! Items name members (owners, authors, facilitators…) and parties (owners,
//! sign-offs); operations check such a name points at a live entry with
//! [`require_member`], [`check_member`] and [`require_party`], and find a
//! member's party with [`member_party`]. A conflict's escalation level
//! refers to the governance ladder, read here ([`escalation_ladder`]). A party also
//! owns a map in another collection, its vetting scores, which is created
//! with the party ([`create_party_scores`]) so that two people scoring it at
//! once write into one map.

use automerge::{ObjId, ObjType, ROOT, ReadDoc};

use super::error::{OpError, OpResult};
use super::fields::{Tx, child_map, get_parsed, get_string, get_u32, get_u64};
use super::ids::{ItemId, MemberId, PartyId};
use super::items::{self, Collection};
use super::keys;

/// The member's map if they exist and have not left; the check every
/// operation that names a member as owner or author makes.
pub(crate) fn require_member<R: ReadDoc>(doc: &R, id: MemberId) -> OpResult<ObjId> {
    let map = child_map(doc, &ROOT, keys::MEMBERS).ok_or(OpError::NotInitialized(keys::MEMBERS))?;
    let obj = items::live(doc, &map, &id.key()).ok_or_else(|| OpError::not_found("member", &id))?;
    if get_u64(doc, &obj, keys::MEMBER_LEFT_AT).is_some() {
        return Err(OpError::Invalid {
            field: "member",
            reason: "they have left the partnership",
        });
    }
    Ok(obj)
}

/// The party of the member `id`, whether or not they have left; `None` for
/// no such member (or one deleted, or with no party). Read straight from
/// `members{}`, so collections that group members by party (committees,
/// who may edit a proposed clause) need not import the members module.
pub(crate) fn member_party<R: ReadDoc>(doc: &R, id: MemberId) -> Option<PartyId> {
    let members = child_map(doc, &ROOT, keys::MEMBERS)?;
    let member = items::live(doc, &members, &id.key())?;
    get_parsed(doc, &member, keys::MEMBER_PARTY)
}

/// An optional member reference, checked to be a current member.
pub(crate) fn check_member<R: ReadDoc>(doc: &R, member: Option<MemberId>) -> OpResult {
    if let Some(member) = member {
        require_member(doc, member)?;
    }
    Ok(())
}

/// The live party's map, or [`OpError::NotFound`].
pub(crate) fn require_party<R: ReadDoc>(doc: &R, id: PartyId) -> OpResult<ObjId> {
    items::require(doc, Collection::Parties, id.into())
}

/// The live parties' ids, in display order.
pub(crate) fn party_ids<R: ReadDoc>(doc: &R) -> Vec<PartyId> {
    let Ok(map) = Collection::Parties.locate(doc) else {
        return Vec::new();
    };
    items::entries(doc, &map)
        .into_iter()
        .map(|(id, _)| id.into())
        .collect()
}

/// `vetting.scores{}`, or [`OpError::NotInitialized`].
pub(crate) fn scores_map<R: ReadDoc>(doc: &R) -> OpResult<ObjId> {
    child_map(doc, &ROOT, keys::VETTING)
        .ok_or(OpError::NotInitialized(keys::VETTING))
        .and_then(|vetting| {
            child_map(doc, &vetting, keys::SCORES).ok_or(OpError::NotInitialized("vetting.scores"))
        })
}

/// The score map of a party, created (empty) if it has none yet.
pub(crate) fn create_party_scores<T: Tx>(tx: &mut T, party: PartyId) -> OpResult<ObjId> {
    let scores = scores_map(tx)?;
    match child_map(tx, &scores, &party.key()) {
        Some(map) => Ok(map),
        None => Ok(tx.put_object(&scores, party.key().as_str(), ObjType::Map)?),
    }
}

/// One level of the escalation ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationLevel {
    /// Its id.
    pub id: ItemId,
    /// Its name ("Partnership managers").
    pub name: String,
    /// Who handles a conflict at this level.
    pub who: String,
    /// How many days a conflict may stay at this level.
    pub within_days: u32,
}

/// The escalation ladder (`governance.escalation{}`), bottom level first:
/// read here because a conflict's level refers to it, so conflicts need not
/// import governance.
pub(crate) fn escalation_ladder<R: ReadDoc>(doc: &R) -> Vec<EscalationLevel> {
    items::read_all(doc, Collection::EscalationLevels, |id, obj| {
        EscalationLevel {
            id,
            name: get_string(doc, obj, "name"),
            who: get_string(doc, obj, "who"),
            within_days: get_u32(doc, obj, "within").unwrap_or(14),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::members;
    use crate::model::test_support::{T0, partnership};

    #[test]
    fn a_members_party_is_found_even_after_they_leave() {
        let mut fixture = partnership();
        let doc = &mut fixture.doc;
        assert_eq!(member_party(doc, fixture.alice), Some(fixture.acme));
        assert_eq!(member_party(doc, fixture.bob), Some(fixture.globex));
        members::leave(doc, fixture.bob, T0 + 1).unwrap();
        assert_eq!(member_party(doc, fixture.bob), Some(fixture.globex));
        assert_eq!(member_party(doc, MemberId::from_bytes([7; 16])), None);
    }
}
