//! Who is in a partnership, as most pages show it beside their own records
//! (an owner to choose, a name to print): the members and the parties,
//! read again only when one of them changes.

use accord_shared::automerge::Automerge;
use accord_shared::ids::DocumentId;
use accord_shared::model::members::{self, Member};
use accord_shared::model::parties::{self, Party};
use accord_shared::model::{Collection, touched};
use leptos::prelude::*;

use crate::components::form::feedback;
use crate::components::rows::{self, ListContext, part};

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

impl ListContext<Roster> {
    /// The list of the records of `collection` in the partnership `id`,
    /// beside its [`Roster`], with a message of its own.
    pub fn with_roster(id: DocumentId, collection: Collection) -> Self {
        Self::of(id, collection, roster(id), feedback())
    }

    /// The members, for every row (empty while the document is not open).
    pub fn members(&self) -> Memo<Vec<Member>> {
        part(self.data, |d| &d.members)
    }

    /// The parties, for every row.
    pub fn parties(&self) -> Memo<Vec<Party>> {
        part(self.data, |d| &d.parties)
    }
}
