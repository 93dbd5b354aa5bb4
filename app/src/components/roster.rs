//! Who is in a partnership, as most pages show it beside their own records
//! (an owner to choose, a name to print): the members and the parties,
//! read again only when one of them changes.

use accord_shared::automerge::Automerge;
use accord_shared::ids::DocumentId;
use accord_shared::model::members::{self, Member};
use accord_shared::model::parties::{self, Party};
use accord_shared::model::touched;
use leptos::prelude::*;

use crate::components::rows;

/// The members (including those who left) and the parties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roster {
    /// Every member, in the model's order.
    pub members: Vec<Member>,
    /// Every party.
    pub parties: Vec<Party>,
}

impl Roster {
    fn read(doc: &Automerge) -> Self {
        Self {
            members: members::list(doc),
            parties: parties::list(doc),
        }
    }
}

/// The roster of the partnership `id`, re-read only when a member or a
/// party changes; `None` while the document is not open.
pub fn roster(id: DocumentId) -> Memo<Option<Roster>> {
    rows::watched(
        id,
        vec![touched::members(), touched::parties()],
        Roster::read,
    )
}
