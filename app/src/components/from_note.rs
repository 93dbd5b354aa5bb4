//! The way between a workshop note and the plan item it became: the note's
//! badge links to the item's page, and the item shows which board note it
//! came from, with a link that opens that board.

use accord_shared::ids::DocumentId;
use accord_shared::model::actions::ActionSource;
use accord_shared::model::boards::convert::{self, ItemLink};
use accord_shared::model::boards::{self};
use leptos::prelude::*;

use crate::edit;
use crate::pages::routes::{self, PlanPage, Route};
use crate::store::Store;

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
    let store = expect_context::<Store>();
    let source = Memo::new(move |_| {
        edit::read(store, &id, |doc| {
            let source = convert::source_of(doc, link)?;
            let title = boards::get(doc, source.board).ok()?.title;
            Some((source.board, title))
        })
        .flatten()
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
