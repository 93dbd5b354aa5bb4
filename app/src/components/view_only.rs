//! A viewer's partnership: editing turned off, and a note saying why.

use accord_shared::ids::DocumentId;
use leptos::prelude::*;

use crate::store::Store;
use crate::sync_client::client;

/// Whether this device only views `id` (joined with a viewer invite), as a
/// signal-like closure for `disabled` attributes.
pub fn viewer(store: Store, id: DocumentId) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    move || {
        store.revision.track();
        client().is_some_and(|c| c.is_viewer(&id))
    }
}

/// "View only" above a page's controls for a viewer, who may not edit
/// (the relay would discard the change).
#[component]
pub fn ViewOnlyNote(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let viewer = viewer(store, id);
    move || {
        viewer().then(|| {
            view! {
                <p class="note" data-testid="view-only" role="status">
                    "View only: you joined as a viewer, so you can read this partnership but not change it."
                </p>
            }
        })
    }
}
