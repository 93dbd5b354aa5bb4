//! Pages and the top-level [`App`]. Navigation uses the URL fragment
//! (`#/` for the list, `#/p/<document id>` for one partnership), so a reload
//! returns to the same page and the relay's SPA fallback is never needed.

pub(crate) mod agreement;
pub mod boards;
mod deferred;
mod devices;
mod frame;
mod home;
mod join;
pub mod operate;
mod partnership;
pub mod plan;
pub mod routes;
mod shell;
mod view;

use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

pub use self::home::HomePage;
use crate::components::{ErrorBanner, SyncStatusBadge, ToastBar, UpdateNotice};
pub use crate::split_point::ChunkUnavailable;
use crate::store::Store;
use crate::{client_chunk, stored_list};

pub use self::routes::{Route, current_route, navigate};

/// The whole app: header with sync status, error banner, current page.
#[component]
pub fn App() -> impl IntoView {
    let store = Store::new();
    provide_context(store);
    // The home list first (stored titles, no sync client needed), then the
    // client's chunk: the first screen never waits for Automerge.
    spawn_local(async move {
        stored_list::show_or_report(store).await;
        client_chunk::start(store);
    });
    let route = RwSignal::new(current_route());
    deferred::prefetch(route.get_untracked());
    let listener =
        window_event_listener(leptos::ev::hashchange, move |_| route.set(current_route()));
    on_cleanup(move || listener.remove());
    view! {
        <header class="top">
            <a class="brand" href="#/">"Accord"</a>
            <SyncStatusBadge/>
        </header>
        <UpdateNotice/>
        <ErrorBanner/>
        <main>
            {move || match route.get() {
                Route::Home => view! { <HomePage/> }.into_any(),
                Route::Partnership(id) => view! {
                    <deferred::Deferred load=frame::partnership_frame(id, None)/>
                }
                .into_any(),
                Route::Join(id) => {
                    view! { <deferred::Deferred load=deferred::join_page(id)/> }.into_any()
                }
                Route::Link => view! { <deferred::Deferred load=deferred::link_page()/> }.into_any(),
                Route::Plan(id, page) => view! {
                    <deferred::Deferred load=frame::partnership_frame(id, Some(page))/>
                }
                .into_any(),
                Route::NotFound => view! { <NotFound/> }.into_any(),
            }}
        </main>
        <ToastBar/>
    }
}

/// What a mistyped or outdated link shows: what happened and a way back.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="not-found" data-testid="not-found">
            <h1>"Page not found"</h1>
            <p>"This link does not lead to a partnership or one of its pages. It may be mistyped or cut short."</p>
            <p><a href="#/" data-testid="not-found-home">"Go to your partnerships"</a></p>
        </section>
    }
}
