//! Small reusable views.

pub mod chart;
pub mod form;
pub mod live_text;
pub mod markdown;
mod presence;
pub mod rows;

use leptos::prelude::*;

pub use self::presence::PresenceBar;

use crate::store::{Store, SyncStatus};

/// The always-visible sync status: `offline`, `syncing (N)` or `saved on relay`.
#[component]
pub fn SyncStatusBadge() -> impl IntoView {
    let store = expect_context::<Store>();
    let class = move || match store.status.get() {
        SyncStatus::Offline => "status offline",
        SyncStatus::Syncing(_) => "status syncing",
        SyncStatus::Saved => "status saved",
    };
    view! {
        <span data-testid="sync-status" class=class role="status" aria-live="polite">
            {move || store.status.get().to_string()}
        </span>
    }
}

/// The last error, dismissible.
#[component]
pub fn ErrorBanner() -> impl IntoView {
    let store = expect_context::<Store>();
    move || {
        store.error.get().map(|text| {
            view! {
                <div class="error" data-testid="error" role="alert">
                    <span>{text}</span>
                    <button on:click=move |_| store.error.set(None)>"Dismiss"</button>
                </div>
            }
        })
    }
}
