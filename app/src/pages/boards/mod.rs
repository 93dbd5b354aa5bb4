//! Live workshop boards (issue 8) at `#/p/<id>/boards`: the list of a
//! partnership's boards with a form creating one from a template, and one
//! open board — columns of sticky notes, who is here with their pointers
//! and selected notes, dot voting, the shared timer and the facilitator's
//! controls, and turning a note into a plan item.
//!
//! Everything on a board is in the partnership's document (so a reload, a
//! late joiner or a device back from a drop-out sees the same board), except
//! pointers and selections, which travel with the presence beacons. Private
//! notes and ballots are sealed with keys derived on the author's device
//! ([`crate::sync_client::Client::seal_key`]); after the facilitator reveals,
//! each author's device publishes its keys by itself ([`publish_keys`]).

mod board;
mod facilitator;
mod list;
mod note;
mod timer;
mod voting;

use std::collections::{BTreeMap, HashMap};

use accord_shared::automerge::Automerge;
use accord_shared::ids::DocumentId;
use accord_shared::model::boards::{self, Board, facilitation, voting as model_voting};
use accord_shared::model::{Collection, ItemId, MemberId, PartyId, members, parties, touched};
use leptos::prelude::*;

use crate::components::form::Feedback;
use crate::components::rows;
use crate::edit;
use crate::pages::routes;
use crate::store::Store;
use crate::sync_client::client;

/// A member as a board shows them: name and organization.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Person {
    /// Their name.
    name: String,
    /// Their organization's name (empty if none).
    organization: String,
}

/// The people of the partnership and its organizations' names.
#[derive(Debug, Clone, PartialEq, Default)]
struct People {
    /// Every member (also those who left: their notes stay).
    members: HashMap<MemberId, Person>,
    /// Every organization's name.
    parties: HashMap<PartyId, String>,
}

impl People {
    fn read(doc: &Automerge) -> Self {
        let parties: HashMap<PartyId, String> = parties::list(doc)
            .into_iter()
            .map(|p| (p.id, p.fields.name))
            .collect();
        let members = members::list(doc)
            .into_iter()
            .map(|m| {
                let organization = m
                    .party
                    .and_then(|p| parties.get(&p).cloned())
                    .unwrap_or_default();
                (
                    m.id,
                    Person {
                        name: m.name,
                        organization,
                    },
                )
            })
            .collect();
        Self { members, parties }
    }

    /// "Name" of a member, or a placeholder.
    fn name(&self, member: Option<MemberId>) -> String {
        member
            .and_then(|m| self.members.get(&m))
            .map_or_else(|| "someone".to_owned(), |p| p.name.clone())
    }

    /// The organization's name, or empty.
    fn party(&self, party: Option<PartyId>) -> String {
        party
            .and_then(|p| self.parties.get(&p).cloned())
            .unwrap_or_default()
    }
}

/// What the parts of an open board share.
#[derive(Debug, Clone, Copy)]
struct BoardCtx {
    /// The partnership.
    id: DocumentId,
    /// The board.
    board: ItemId,
    /// The board as it reads now (`None` once it is gone).
    data: Memo<Option<Board>>,
    /// The board's votes, oldest first.
    votes: Memo<Vec<model_voting::Vote>>,
    /// Members and organizations.
    people: Memo<People>,
    /// The member this device acts as.
    me: Memo<Option<MemberId>>,
    /// Where refused edits on the board are explained.
    error: Feedback,
    /// Notes ticked for grouping.
    picked: RwSignal<Vec<ItemId>>,
    /// The note this tab has selected (shown to the others).
    selected: RwSignal<Option<ItemId>>,
    /// This member's dots in the open vote, before they are cast.
    draft: RwSignal<BTreeMap<ItemId, u8>>,
}

impl BoardCtx {
    /// Whether this member runs the session.
    fn is_facilitator(&self) -> bool {
        let me = self.me.get();
        self.data
            .with(|b| b.as_ref().and_then(|b| b.facilitator))
            .is_some_and(|f| Some(f) == me)
    }

    /// Whether the board is locked and this member may not change it.
    fn read_only(&self) -> bool {
        self.data.with(|b| b.as_ref().is_some_and(|b| b.locked)) && !self.is_facilitator()
    }

    /// The vote taking ballots, if any.
    fn open_vote(&self) -> Option<model_voting::Vote> {
        self.votes
            .with(|v| v.iter().rev().find(|v| v.is_open()).cloned())
    }

    /// The latest vote (open or revealed).
    fn latest_vote(&self) -> Option<model_voting::Vote> {
        self.votes
            .with(|v| v.iter().rev().find(|v| v.closed_at.is_none()).cloned())
    }
}

/// The boards page: the list, or the board picked from it (remembered for
/// this tab, so a reload returns to the same board).
#[component]
pub fn BoardsPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let open = RwSignal::new(routes::remembered_board(&id));
    Effect::new(move |_| routes::remember_board(&id, open.get()));
    move || match open.get() {
        Some(board) => view! { <board::BoardView id=id board=board open=open/> }.into_any(),
        None => view! { <list::BoardList id=id open=open/> }.into_any(),
    }
}

/// The tab's session storage (kept across reloads of this tab only).
/// The note being dragged, which a drop carries as its id.
fn dragged_note(ev: &leptos::ev::DragEvent) -> Option<ItemId> {
    ev.data_transfer()?
        .get_data("text/plain")
        .ok()?
        .parse()
        .ok()
}

/// The columns of the board `data` holds, as (id, title) for a choice.
fn column_choices(data: Memo<Option<Board>>) -> Vec<(ItemId, String)> {
    data.with(|b| {
        b.iter()
            .flat_map(|b| &b.columns)
            .map(|c| (c.id, c.title.clone()))
            .collect()
    })
}

/// Publishes this member's keys that the document now asks for: ballots of
/// votes the facilitator revealed, and sealed notes once private writing
/// ended. Each key is derived again from the device's sealing secret. A key that
/// does not open the ballot or note was sealed on another of the member's
/// devices, which publishes it itself: that refusal is only logged.
fn publish_keys(store: Store, id: DocumentId, board: ItemId, me: MemberId) {
    let due = edit::read(store, &id, |doc| {
        let votes: Vec<ItemId> = model_voting::list(doc, board)
            .into_iter()
            .filter(|v| model_voting::should_publish(doc, board, v.id, me))
            .map(|v| v.id)
            .collect();
        (votes, facilitation::notes_to_publish(doc, board, me))
    });
    let (Some((votes, notes)), Some(client)) = (due, client()) else {
        return;
    };
    let log = |what: &str, result: Result<(), edit::EditError>| {
        if let Err(error) = result {
            crate::browser::log(&format!("not publishing the {what} key here: {error}"));
        }
    };
    for vote in votes {
        let key = client.seal_key(board, vote, me);
        log(
            "ballot",
            edit::apply(&id, |tx| {
                model_voting::publish_key(tx, board, vote, me, &key)
            }),
        );
    }
    for note in notes {
        let key = client.seal_key(board, note, me);
        log(
            "note",
            edit::apply(&id, |tx| {
                facilitation::publish_note_key(tx, board, note, &key)
            }),
        );
    }
}

/// Twelve fresh random bytes for a sealing nonce; on failure the error
/// goes into `error`.
fn nonce(error: Feedback) -> Option<[u8; 12]> {
    let mut bytes = [0u8; 12];
    match crate::browser::random_bytes(&mut bytes) {
        Ok(()) => Some(bytes),
        Err(e) => {
            error.set(Some(format!("no randomness for sealing: {e}")));
            None
        }
    }
}

/// Where the board `board` is in the document: its columns, notes and
/// votes.
fn place_of(board: ItemId) -> touched::Path {
    touched::record(Collection::Boards, &board.key())
}

/// The board `board` as it reads now, read again only when it changes.
fn read_board(id: DocumentId, board: ItemId) -> Memo<Option<Board>> {
    rows::record(id, Collection::Boards, board, |doc, board| {
        boards::get(doc, board).ok()
    })
}
