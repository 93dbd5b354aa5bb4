//! Accord's browser client: a Leptos CSR app that keeps each partnership as an
//! Automerge document in IndexedDB and syncs it through the relay.
//!
//! - [`storage`]: IndexedDB (document chunks, the partnership list, settings).
//! - [`saving`]: what a tab writes and when, and loading without losing a change.
//! - [`identity`]: the device key and relay registration.
//! - [`api`]: the relay's HTTP API.
//! - [`sync_client`]: the engine, the relay WebSocket, reconnects.
//! - [`client_chunk`]: the sync client as a chunk fetched after the home
//!   screen, which [`stored_list`] shows from the stored titles.
//! - [`split_point`]: calling code that lives in a chunk of its own.
//! - [`store`]: signals the UI renders from.
//! - [`presence`]: who else has a partnership open.
//! - [`pages`], [`components`]: the UI.

pub mod api;
pub mod browser;
pub mod client_chunk;
pub mod compaction_timing;
pub mod components;
pub mod device_key;
pub mod edit;
pub mod identity;
pub mod pages;
pub mod presence;
pub mod qr;
pub mod record_signals;
pub mod saving;
pub mod split_point;
pub mod storage;
pub mod store;
pub mod stored_list;
pub mod sync_client;

use wasm_bindgen::prelude::*;

/// Entry point called by `index.html` after the module is initialised:
/// mounts the UI; the sync client follows as a chunk of its own.
#[wasm_bindgen]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&JsValue::from_str(&format!("accord panicked: {info}")));
    }));
    leptos::mount::mount_to_body(pages::App);
}
