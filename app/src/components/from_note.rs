//! The way between a workshop note and the plan item it became: the note's
//! badge links to the item's page, and the item shows which board note it
//! came from, with a link that opens that board.

use accord_shared::ids::DocumentId;
use accord_shared::model::actions::ActionSource;
use accord_shared::model::boards::convert::{self, ItemLink};
use accord_shared::model::boards::{self};
use accord_shared::model::touched::{self, Path};
use accord_shared::model::{Collection, ItemId};
use leptos::prelude::*;

use crate::edit;
use crate::pages::routes::{self, PlanPage, Route};

/// The record of the plan item `link` names.
fn place_of(link: ItemLink) -> Path {
    let (collection, item): (Collection, ItemId) = match link {
        ItemLink::Action { source, id } => (source.collection(), id),
        ItemLink::Risk(id) => (Collection::Risks, id),
        ItemLink::Objective(id) => (Collection::Objectives, id),
        ItemLink::Conflict(id) => (Collection::Conflicts, id),
    };
    touched::record(collection, &item.key())
}

/// The page that lists the item a note became.
pub fn page_of(link: ItemLink) -> PlanPage {
    match link {
        ItemLink::Action {
            source: ActionSource::Meeting(_),
            ..
        } => PlanPage::Meetings,
        ItemLink::Action {
            source: ActionSource::Review(_),
            ..
        } => PlanPage::Reviews,
        ItemLink::Risk(_) => PlanPage::Risks,
        ItemLink::Objective(_) => PlanPage::Objectives,
        ItemLink::Conflict(_) => PlanPage::Conflicts,
    }
}

/// "From a note on <board>", shown on a plan item made from a workshop
/// note; following it opens that board. Nothing when the item was not made
/// from a note.
#[component]
pub fn FromNote(
    /// The partnership.
    id: DocumentId,
    /// The plan item.
    link: ItemLink,
) -> impl IntoView {
    // The item's record says which note; the board's record its title.
    let item = place_of(link);
    let board = Memo::new(move |_| {
        edit::read_in(&id, &[&item], |doc| convert::source_of(doc, link))
            .flatten()
            .map(|source| source.board)
    });
    let source = Memo::new(move |_| {
        let board = board.get()?;
        let place = touched::record(Collection::Boards, &board.key());
        let title = edit::read_in(&id, &[&place], |doc| boards::get(doc, board).ok())??.title;
        Some((board, title))
    });
    move || {
        source.get().map(|(board, title)| {
            view! {
                <a class="badge from-note" data-testid="from-note"
                    href=Route::Plan(id, PlanPage::Boards).hash()
                    on:click=move |_| routes::remember_board(&id, Some(board))>
                    {format!("from a note on “{title}”")}
                </a>
            }
        })
    }
}
