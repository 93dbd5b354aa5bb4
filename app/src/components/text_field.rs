//! Which prose field a [`super::live_text::LiveTextArea`] edits: one value
//! naming the record and its field, which can read the field's text from
//! the document and write a splice of it through the field's own op.

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::model::touched::{self, Path};
use accord_shared::model::{
    Collection, ItemId, OpError, PartyId, conflicts, governance, meetings, objectives, overview,
    parties, reviews, risks,
};
use accord_shared::text::Splice;

/// A prose field of one record (Automerge Text), edited splice by splice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    /// The partnership's purpose.
    Purpose,
    /// An organization's strengths.
    PartyStrengths(PartyId),
    /// What is in the partnership for an organization.
    PartyWiifm(PartyId),
    /// An objective's deliverables.
    ObjectiveDeliverables(ItemId),
    /// A meeting's minutes.
    MeetingMinutes(ItemId),
    /// A committee's mandate.
    CommitteeMandate(ItemId),
    /// A conflict's description.
    ConflictDescription(ItemId),
    /// A risk's mitigation.
    RiskMitigation(ItemId),
    /// A risk's contingency plan.
    RiskContingency(ItemId),
    /// What went well in a review.
    ReviewWentWell(ItemId),
    /// What to improve, from a review.
    ReviewToImprove(ItemId),
}

impl TextField {
    /// The record the field belongs to (what a change to it touches, see
    /// [`touched`]).
    pub fn place(self) -> Path {
        let (collection, key) = match self {
            Self::Purpose => return touched::purpose(),
            Self::PartyStrengths(party) | Self::PartyWiifm(party) => {
                (Collection::Parties, party.key())
            }
            Self::ObjectiveDeliverables(item) => (Collection::Objectives, item.key()),
            Self::MeetingMinutes(item) => (Collection::Meetings, item.key()),
            Self::CommitteeMandate(item) => (Collection::Committees, item.key()),
            Self::ConflictDescription(item) => (Collection::Conflicts, item.key()),
            Self::RiskMitigation(item) | Self::RiskContingency(item) => {
                (Collection::Risks, item.key())
            }
            Self::ReviewWentWell(item) | Self::ReviewToImprove(item) => {
                (Collection::Reviews, item.key())
            }
        };
        touched::record(collection, &key)
    }

    /// The field's text, `None` once its record is gone.
    pub fn read(self, doc: &Automerge) -> Option<String> {
        match self {
            Self::Purpose => Some(overview::purpose(doc)),
            Self::PartyStrengths(party) => {
                parties::get(doc, party).ok().map(|p| p.fields.strengths)
            }
            Self::PartyWiifm(party) => parties::get(doc, party).ok().map(|p| p.fields.wiifm),
            Self::ObjectiveDeliverables(item) => objectives::get(doc, item)
                .ok()
                .map(|o| o.fields.deliverables),
            Self::MeetingMinutes(item) => meetings::get(doc, item).ok().map(|m| m.minutes),
            Self::CommitteeMandate(item) => governance::committees(doc)
                .into_iter()
                .find(|c| c.id == item)
                .map(|c| c.fields.mandate),
            Self::ConflictDescription(item) => {
                conflicts::get(doc, item).ok().map(|c| c.fields.description)
            }
            Self::RiskMitigation(item) => risks::get(doc, item).ok().map(|r| r.fields.mitigation),
            Self::RiskContingency(item) => risks::get(doc, item).ok().map(|r| r.fields.contingency),
            Self::ReviewWentWell(item) => reviews::get(doc, item).ok().map(|r| r.fields.went_well),
            Self::ReviewToImprove(item) => {
                reviews::get(doc, item).ok().map(|r| r.fields.to_improve)
            }
        }
    }

    /// Applies `splice` to the field, validated by the field's op.
    pub fn write(self, tx: &mut Transaction<'_>, splice: &Splice) -> Result<(), OpError> {
        match self {
            Self::Purpose => overview::edit_purpose(tx, splice),
            Self::PartyStrengths(party) => {
                parties::edit_prose(tx, party, parties::Prose::Strengths, splice)
            }
            Self::PartyWiifm(party) => {
                parties::edit_prose(tx, party, parties::Prose::Wiifm, splice)
            }
            Self::ObjectiveDeliverables(item) => objectives::edit_deliverables(tx, item, splice),
            Self::MeetingMinutes(item) => meetings::edit_minutes(tx, item, splice),
            Self::CommitteeMandate(item) => governance::edit_mandate(tx, item, splice),
            Self::ConflictDescription(item) => conflicts::edit_description(tx, item, splice),
            Self::RiskMitigation(item) => {
                risks::edit_prose(tx, item, risks::Prose::Mitigation, splice)
            }
            Self::RiskContingency(item) => {
                risks::edit_prose(tx, item, risks::Prose::Contingency, splice)
            }
            Self::ReviewWentWell(item) => {
                reviews::edit_prose(tx, item, reviews::Prose::WentWell, splice)
            }
            Self::ReviewToImprove(item) => {
                reviews::edit_prose(tx, item, reviews::Prose::ToImprove, splice)
            }
        }
    }
}
