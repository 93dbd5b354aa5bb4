//! Controls shared by every page that lists items of a collection: moving
//! an item up or down, and the list of removed items to restore.

use accord_shared::ids::DocumentId;
use accord_shared::model::{Collection, ItemId, items, touched};
use leptos::prelude::*;

use crate::components::form::{InlineError, feedback};
use crate::components::icon::{Glyph, Icon};
use crate::edit;

/// "Move up" and "move down" buttons for the item at `index` of `count`
/// live items of `collection`; a refused move shows in `error`.
#[component]
pub fn MoveButtons(
    /// The partnership.
    id: DocumentId,
    /// Which collection.
    collection: Collection,
    /// The item.
    item: ItemId,
    /// Where it is shown now.
    index: usize,
    /// How many live items there are.
    count: usize,
    /// Where a refusal is explained.
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let shift = move |to: usize| {
        edit::apply_into(error, &id, |tx| items::move_to(tx, collection, item, to));
    };
    let first = index == 0;
    let last = index + 1 >= count;
    view! {
        <button class="link" title="Move up" aria-label="Move up" data-testid="move-up"
            disabled=first on:click=move |_| shift(index.saturating_sub(1))><Glyph icon=Icon::ArrowUp/></button>
        <button class="link" title="Move down" aria-label="Move down" data-testid="move-down"
            disabled=last on:click=move |_| shift(index + 1)><Glyph icon=Icon::ArrowDown/></button>
    }
}

/// The "Remove" button of one item: it marks the item deleted (with
/// [`edit::delete_into`], which offers to undo it); a refusal shows in
/// `error`.
#[component]
pub fn RemoveButton(
    /// The partnership.
    id: DocumentId,
    /// Which collection.
    collection: Collection,
    /// The item.
    item: ItemId,
    /// Where a refusal is explained.
    error: RwSignal<Option<String>>,
    /// The button's `data-testid`.
    test_id: &'static str,
) -> impl IntoView {
    view! {
        <button type="button" class="link danger" data-testid=test_id
            on:click=move |_| { edit::delete_into(error, &id, collection, item); }>
            "Remove"
        </button>
    }
}

/// The removed items of one collection, each with a Restore button. A
/// removal only marks the item deleted, so an edit the partner made to it
/// concurrently is kept and comes back with it (see the model's `items`).
#[component]
pub fn RemovedItems(
    /// The partnership.
    id: DocumentId,
    /// Which collection.
    collection: Collection,
    /// What the list is called.
    #[prop(default = "Removed")]
    summary: &'static str,
    /// The `data-testid` of its summary.
    #[prop(default = "removed-summary")]
    summary_id: &'static str,
    /// The `data-testid` of each removed item.
    #[prop(default = "removed-item")]
    item_id: &'static str,
    /// The `data-testid` of each Restore button.
    #[prop(default = "restore-item")]
    restore_id: &'static str,
    /// The `data-testid` of a refused restore's message.
    #[prop(default = "restore-error")]
    error_id: &'static str,
) -> impl IntoView {
    let error = feedback();
    // Items are removed and restored through `deleted_at`, which changes the
    // collection's order (see `touched::Touched::reorders`).
    let place = touched::collection(collection);
    let removed = Memo::new(move |_| {
        crate::record_signals::track_order(&id, &place);
        edit::read_in(&id, &[], |doc| {
            items::deleted(doc, collection).unwrap_or_default()
        })
        .unwrap_or_default()
    });
    let rows = move || {
        removed
            .get()
            .into_iter()
            .map(|item| {
                let iid = item.id;
                view! {
                    <li data-testid=item_id>
                        <span>{item.label}</span>
                        <span class="muted">{format!(" removed {} ", edit::format_date(item.deleted_at))}</span>
                        <button class="link restore" data-testid=restore_id
                            on:click=move |_| { edit::apply_into(error, &id, |tx| items::restore(tx, collection, iid)); }>
                            "Restore"
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <Show when=move || removed.with(|r| !r.is_empty())>
            <details class="removed">
                <summary data-testid=summary_id>{move || format!("{summary} ({})", removed.with(Vec::len))}</summary>
                <ul class="plain">{rows}</ul>
                <InlineError message=error test_id=error_id/>
            </details>
        </Show>
    }
}
