//! Small reusable views.

pub mod chart;
pub mod diff;
pub mod form;
pub mod from_note;
pub mod icon;
pub mod items;
pub mod live_text;
pub mod markdown;
mod presence;
pub mod rich_dom;
pub mod roster;
pub mod rows;
pub mod text_field;
mod update;
pub mod view_only;

use leptos::prelude::*;

pub use self::presence::{PresenceBar, me_as_shown};
pub use self::update::UpdateNotice;

use crate::store::{Store, SyncStatus};

/// How long "Saving…" stays up at least, so the badge does not flicker
/// between "Saved" and "Saving…" on every keystroke.
const SAVING_HOLD_MS: u64 = 300;

/// The always-visible sync status (see [`SyncStatus`]). "Saving…" is held
/// for [`SAVING_HOLD_MS`] before "Saved" replaces it.
#[component]
pub fn SyncStatusBadge() -> impl IntoView {
    let store = expect_context::<Store>();
    let shown = RwSignal::new(store.status.get_untracked());
    let saving_since = StoredValue::new(0_u64);
    let generation = StoredValue::new(0_u64);
    Effect::new(move |_| {
        let status = store.status.get();
        let now = crate::browser::now_ms();
        generation.update_value(|g| *g += 1);
        let current = shown.get_untracked();
        let busy = |s: SyncStatus| matches!(s, SyncStatus::Saving | SyncStatus::Syncing(_));
        if busy(status) && !busy(current) {
            saving_since.set_value(now);
        }
        let held = now.saturating_sub(saving_since.get_value());
        if status == SyncStatus::Saved && busy(current) && held < SAVING_HOLD_MS {
            let mine = generation.get_value();
            set_timeout(
                move || {
                    if generation.get_value() == mine {
                        shown.set(SyncStatus::Saved);
                    }
                },
                std::time::Duration::from_millis(SAVING_HOLD_MS - held),
            );
        } else {
            shown.set(status);
        }
    });
    view! {
        <span
            data-testid="sync-status"
            class=move || shown.get().class()
            data-unsaved=move || store.unsaved.get().to_string()
            role="status"
            aria-live="polite"
        >
            {move || shown.get().to_string()}
        </span>
    }
}

/// What to say where something is not shown: `loading` until the app has
/// read what the device holds, then `gone` (it is not there).
pub fn not_here(
    store: Store,
    loading: &'static str,
    gone: &'static str,
) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    move || if store.ready.get() { gone } else { loading }
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

/// How long a toast stays before it goes by itself.
const TOAST_MS: u64 = 10_000;

/// The toast at the bottom of the screen: what just happened, with "Undo"
/// when it can be taken back. It goes after [`TOAST_MS`] or when dismissed.
#[component]
pub fn ToastBar() -> impl IntoView {
    let store = expect_context::<Store>();
    let generation = StoredValue::new(0_u64);
    Effect::new(move |_| {
        if store.toast.with(Option::is_none) {
            return;
        }
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        set_timeout(
            move || {
                if generation.get_value() == mine {
                    store.toast.set(None);
                }
            },
            std::time::Duration::from_millis(TOAST_MS),
        );
    });
    move || {
        store.toast.get().map(|toast| {
            let undo = toast.undo.map(|undo| {
                view! {
                    <button type="button" class="secondary" data-testid="toast-undo"
                        on:click=move |_| {
                            store.toast.set(None);
                            leptos::task::spawn_local(async move {
                                if let Err(error) = crate::client_chunk::undo(store, undo).await {
                                    store.report(format!("could not undo: {error}"));
                                }
                            });
                        }>
                        "Undo"
                    </button>
                }
            });
            view! {
                <div class="toast" role="status" data-testid="toast">
                    <span>{toast.message}</span>
                    {undo}
                    <button type="button" class="link quiet" aria-label="Dismiss"
                        on:click=move |_| store.toast.set(None)>
                        <icon::Glyph icon=icon::Icon::Cross/>
                    </button>
                </div>
            }
        })
    }
}
