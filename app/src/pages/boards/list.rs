//! The partnership's boards and the form creating one from a template.

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::boards::{self, NewBoard, Template};
use accord_shared::model::{Collection, ItemId, touched};
use leptos::prelude::*;

use crate::components::form::{InlineError, feedback, on_add_as_me};
use crate::components::items::{RemoveButton, RemovedItems};
use crate::edit::{self};

/// One row of the list.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: ItemId,
    title: String,
    template: &'static str,
    notes: usize,
    created: String,
}

/// The list of boards; picking one puts it in `open`.
#[component]
pub fn BoardList(
    /// The partnership.
    id: DocumentId,
    /// The board shown, set when one is opened or created.
    open: RwSignal<Option<ItemId>>,
) -> impl IntoView {
    let boards = vec![touched::collection(Collection::Boards)];
    let rows = crate::components::rows::watched(id, boards, |doc: &Automerge| {
        boards::list(doc)
            .into_iter()
            .map(|b| Row {
                id: b.id,
                title: b.title,
                template: b.template.label(),
                notes: b.notes.len(),
                created: edit::format_date(b.created_at),
            })
            .collect::<Vec<_>>()
    });
    let error = feedback();
    let title = RwSignal::new(String::new());
    let template = RwSignal::new(Template::Retrospective);
    let create = move |tx: &mut Transaction<'_>, board, facilitator| {
        let new = NewBoard {
            title: title.get_untracked(),
            template: template.get_untracked(),
            facilitator,
        };
        boards::create(tx, board, &new, edit::now())
    };
    let created = move |board| {
        title.set(String::new());
        open.set(Some(board));
    };
    view! {
        <p class="muted">
            "Run a kick-off, review or retrospective together on a live board; what you decide lands in the plan."
        </p>
        <ul class="cards boards-list">
            {move || rows.get().unwrap_or_default().into_iter().map(|row| {
                let board = row.id;
                view! {
                    <li class="card board-row" data-testid="board-row">
                        <button class="link board-open" data-testid="board-open"
                            on:click=move |_| open.set(Some(board))>
                            {row.title}
                        </button>
                        <span class="muted grow">
                            {format!(" {} · {} notes · {}", row.template, row.notes, row.created)}
                        </span>
                        <RemoveButton id=id collection=Collection::Boards item=board error=error test_id="board-delete"/>
                    </li>
                }
            }).collect_view()}
        </ul>
        <Show when=move || rows.with(|r| r.as_ref().is_some_and(Vec::is_empty))>
            <p class="muted" data-testid="no-boards">"No workshop boards yet."</p>
        </Show>
        <form class="inline-form" on:submit=on_add_as_me(error, id, create, created)>
            <select data-testid="new-board-template" aria-label="Template"
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    if let Some(t) = Template::from_stored(&value) {
                        template.set(t);
                    }
                }>
                {Template::ALL.into_iter().map(|t| view! {
                    <option value=t.as_str() selected=t == Template::Retrospective>{t.label()}</option>
                }).collect_view()}
            </select>
            <input type="text" data-testid="new-board-title" aria-label="Board title"
                placeholder="Title (optional)" bind:value=title/>
            <button type="submit" data-testid="create-board">"Create board"</button>
        </form>
        <InlineError message=error test_id="board-create-error"/>
        // Removed boards come back with their notes, votes and timer.
        <RemovedItems id=id collection=Collection::Boards summary="Removed boards"
            summary_id="removed-boards" item_id="removed-board" restore_id="restore-board"
            error_id="restore-board-error"/>
    }
}
