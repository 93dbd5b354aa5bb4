//! "A new version is ready — Reload": shown when a new build's service
//! worker has installed and waits. `index.html` registers the worker, sets
//! `window.accordUpdateReady` and fires `accord-update-ready` when one is
//! waiting, and defines `window.accordApplyUpdate`, which lets the waiting
//! worker take over and reloads the page once it has.

use leptos::prelude::*;
use wasm_bindgen::{JsCast as _, JsValue};

/// Name of the window event `index.html` fires when a new build waits.
const UPDATE_READY_EVENT: &str = "accord-update-ready";

/// Whether `index.html` already saw a waiting worker (before this mounted).
fn update_waiting() -> bool {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &JsValue::from_str("accordUpdateReady")).ok())
        .is_some_and(|flag| flag.is_truthy())
}

/// Asks the waiting worker to take over (the page then reloads); reloads
/// directly when `index.html`'s helper is missing.
fn apply_update() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let helper = js_sys::Reflect::get(&window, &JsValue::from_str("accordApplyUpdate"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let applied = helper.is_some_and(|f| f.call0(&window).is_ok());
    if !applied {
        let _ = window.location().reload();
    }
}

/// The notice, present only while a new version waits.
#[component]
pub fn UpdateNotice() -> impl IntoView {
    let ready = RwSignal::new(update_waiting());
    let listener =
        window_event_listener_untyped(UPDATE_READY_EVENT, move |_| ready.set(update_waiting()));
    on_cleanup(move || listener.remove());
    move || {
        ready.get().then(|| {
            view! {
                <div class="update-ready" role="status" data-testid="update-ready">
                    <span>"A new version is ready — reload to use it."</span>
                    <button type="button" data-testid="update-reload" on:click=move |_| apply_update()>
                        "Reload"
                    </button>
                </div>
            }
        })
    }
}
