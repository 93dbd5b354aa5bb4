//! One partnership: its title and purpose, edited in place.

use accord_shared::ids::DocumentId;
use leptos::prelude::*;

use crate::store::Store;
use crate::sync_client::client;

/// Edits one partnership's basic fields.
#[component]
pub fn PartnershipPage(
    /// The partnership's document.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let field = move |key: &'static str| {
        move || {
            store.revision.track();
            client().and_then(|c| c.field(&id, key)).unwrap_or_default()
        }
    };
    let edit = move |key: &'static str| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            let Some(client) = client() else { return };
            if let Err(error) = client.set_field(&id, key, &value) {
                store.report(error);
            }
        }
    };
    let held = move || {
        store.revision.track();
        client().is_some_and(|c| c.field(&id, "title").is_some())
    };
    let missing = move || {
        if store.ready.get() {
            "This partnership is not on this device."
        } else {
            "Loading…"
        }
    };
    view! {
        <Show when=held fallback=move || view! { <p class="muted">{missing}</p> }>
            <article class="partnership">
                <p><a href="#/" data-testid="back">"← All partnerships"</a></p>
                <label class="field">
                    <span>"Title"</span>
                    <input data-testid="title-input" type="text" prop:value=field("title") on:input=edit("title")/>
                </label>
                <label class="field">
                    <span>"Purpose"</span>
                    <textarea data-testid="purpose-input" rows="4" prop:value=field("purpose") on:input=edit("purpose")></textarea>
                </label>
                <p class="muted doc-url" data-testid="document-url">{id.url()}</p>
            </article>
        </Show>
    }
}
