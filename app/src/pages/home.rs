//! The partnership list and "New partnership".

use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::{Route, navigate};
use crate::store::Store;
use crate::sync_client::client;

/// Title of a partnership created with the button.
pub const NEW_TITLE: &str = "Untitled partnership";

/// Lists the partnerships on this device and creates new ones.
#[component]
pub fn HomePage() -> impl IntoView {
    let store = expect_context::<Store>();
    let busy = RwSignal::new(false);
    let create = move |_| {
        let Some(client) = client() else { return };
        busy.set(true);
        spawn_local(async move {
            match client.create_partnership(NEW_TITLE).await {
                Ok(id) => navigate(Route::Partnership(id)),
                Err(error) => store.report(format!("could not create the partnership: {error}")),
            }
            busy.set(false);
        });
    };
    let rename_org = move |ev: leptos::ev::Event| {
        let name = event_target_value(&ev);
        let Some(client) = client() else { return };
        spawn_local(async move {
            if let Err(error) = client.set_organization(name.trim()).await {
                store.report(error);
            }
        });
    };
    view! {
        <section class="home">
            <div class="toolbar">
                <label>
                    "Your organization "
                    <input
                        data-testid="organization-input"
                        type="text"
                        prop:value=move || store.organization.get()
                        on:change=rename_org
                    />
                </label>
                <button
                    data-testid="new-partnership"
                    on:click=create
                    disabled=move || busy.get() || !store.ready.get()
                >
                    "New partnership"
                </button>
            </div>
            <Show when=move || store.ready.get() fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <ul data-testid="partnership-list" class="partnerships">
                    <For
                        each=move || store.docs.get()
                        key=|doc| (doc.id, doc.title.clone())
                        let:doc
                    >
                        <li>
                            <a data-testid="partnership-link" href=Route::Partnership(doc.id).hash()>
                                {display_title(&doc.title)}
                            </a>
                        </li>
                    </For>
                </ul>
                {move || {
                    store.docs.with(Vec::is_empty)
                        .then(|| view! { <p class="muted">"No partnerships on this device yet."</p> })
                }}
            </Show>
        </section>
    }
}

fn display_title(title: &str) -> String {
    if title.trim().is_empty() {
        "(untitled)".to_owned()
    } else {
        title.to_owned()
    }
}
