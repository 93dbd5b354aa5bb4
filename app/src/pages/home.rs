//! The partnership list and "New partnership".

use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::{Route, deferred, navigate};
use crate::client_chunk;
use crate::identity::Profile;
use crate::store::Store;

/// Title of a partnership created with the button.
pub const NEW_TITLE: &str = "Untitled partnership";

/// Lists the partnerships on this device and creates new ones.
#[component]
pub fn HomePage() -> impl IntoView {
    let store = expect_context::<Store>();
    let busy = RwSignal::new(false);
    // The profile form's fold, opened when "New partnership" needs it.
    let profile_open = RwSignal::new(false);
    let profile_first = RwSignal::new(false);
    let create = move |_| {
        if !store.profile.with_untracked(Profile::is_complete) {
            // A partnership records its creator's organization: ask for it
            // rather than writing a placeholder partners would see.
            profile_open.set(true);
            profile_first.set(true);
            focus_profile_name();
            return;
        }
        profile_first.set(false);
        // Before the sync client's chunk is in, this waits for it.
        busy.set(true);
        spawn_local(async move {
            match client_chunk::create_partnership(store, NEW_TITLE).await {
                Ok(id) => navigate(Route::Partnership(id)),
                Err(error) => store.report(format!("could not create the partnership: {error}")),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="home" data-client=move || if store.ready.get() { "running" } else { "loading" }>
            <ProfileForm open=profile_open/>
            {move || (profile_first.get() && !store.profile.with(Profile::is_complete)).then(|| view! {
                <p class="notice profile-first" role="alert" data-testid="profile-first">
                    "Before creating a partnership, say who you are: your name and organization are shown to the partners."
                </p>
            })}
            <div class="toolbar">
                <h1>"Partnerships"</h1>
                <button
                    data-testid="new-partnership"
                    on:click=create
                    disabled=move || busy.get() || !store.listed.get()
                    aria-busy=move || busy.get().then_some("true")
                >
                    "New partnership"
                </button>
            </div>
            <Show when=move || store.listed.get() fallback=|| view! { <p class="muted">"Loading…"</p> }>
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
                            <span data-testid="partnership-status" class="status-chip">
                                {move || {
                                    store
                                        .doc_status
                                        .with(|all| all.get(&doc.id).copied())
                                        .map_or_else(|| "not open".to_owned(), |s| s.to_string())
                                }}
                            </span>
                            <button
                                data-testid="remove-partnership"
                                class="danger"
                                on:click={
                                    let title = display_title(&doc.title);
                                    move |_| remove(store, doc.id, &title)
                                }
                            >
                                "Remove from this device"
                            </button>
                        </li>
                    </For>
                </ul>
                {move || {
                    store.docs.with(Vec::is_empty)
                        .then(|| view! {
                            <p class="muted">"No partnerships on this device yet."</p>
                            <p>
                                "Already use Accord on another device? "
                                <a href="#/link" data-testid="link-this-browser">"Link this browser to your account"</a>
                            </p>
                        })
                }}
            </Show>
            <DevicesPanel/>
        </section>
    }
}

/// Asks, then removes a partnership from this device (partners keep theirs).
fn remove(store: Store, id: accord_shared::ids::DocumentId, title: &str) {
    let question = format!(
        "Remove \u{201c}{title}\u{201d} from this device? Partners keep their copies; you can rejoin with an invite."
    );
    if !crate::browser::confirm(&question) {
        return;
    }
    spawn_local(async move {
        if let Err(error) = client_chunk::remove_partnership(store, id).await {
            store.report(format!("could not remove the partnership: {error}"));
        }
    });
}

/// Moves the keyboard focus to the profile's name field.
fn focus_profile_name() {
    use wasm_bindgen::JsCast;
    let field = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector("[data-testid='profile-name']")
                .ok()
                .flatten()
        })
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(field) = field {
        let _ = field.focus();
    }
}

fn display_title(title: &str) -> String {
    if title.trim().is_empty() {
        "(untitled)".to_owned()
    } else {
        title.to_owned()
    }
}

/// The member profile: asked on first run (open until name and organization
/// are given), then folded away. Saved to IndexedDB on every change.
#[component]
fn ProfileForm(
    /// Whether the form is unfolded.
    open: RwSignal<bool>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let save = move |update: fn(&mut Profile, String)| {
        move |ev: leptos::ev::Event| {
            // Update the signal at once, so a second field changed before the
            // first is stored builds on it instead of overwriting it.
            let value = event_target_value(&ev).trim().to_owned();
            store.profile.update(|p| update(p, value));
            let profile = store.profile.get_untracked();
            spawn_local(async move {
                if let Err(error) = client_chunk::set_profile(store, profile).await {
                    store.report(format!("could not save your profile: {error}"));
                }
            });
        }
    };
    // Open on first run; after that the user folds it as they like (it must
    // not fold itself while they are still filling it in).
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) || !store.listed.get() {
            return done.unwrap_or(false);
        }
        open.set(!store.profile.with_untracked(Profile::is_complete));
        true
    });
    // One memo per field: committing one field must not re-render the
    // others, or a field being typed into would be reset to its stored value.
    let name = Memo::new(move |_| store.profile.with(|p| p.name.clone()));
    let organization = Memo::new(move |_| store.profile.with(|p| p.organization.clone()));
    let title = Memo::new(move |_| store.profile.with(|p| p.title.clone()));
    // One field of the profile: its caption, test id, autofill hint, shown
    // value and where a change goes.
    let field = move |caption: &'static str,
                      test_id: &'static str,
                      autocomplete: &'static str,
                      value: Memo<String>,
                      update: fn(&mut Profile, String)| {
        view! {
            <label class="field">
                <span>{caption}</span>
                <input data-testid=test_id type="text" autocomplete=autocomplete
                    prop:value=value on:change=save(update)/>
            </label>
        }
    };
    view! {
        <details class="profile" prop:open=move || open.get()>
            <summary data-testid="profile-summary">
                {move || {
                    let p = store.profile.get();
                    if p.is_complete() {
                        format!("You: {} · {}", p.name, p.organization)
                    } else {
                        "Who are you? Partners see this name and organization.".to_owned()
                    }
                }}
            </summary>
            <div class="profile-fields">
                {field("Your name", "profile-name", "name", name, |p, v| p.name = v)}
                {field("Organization", "profile-organization", "organization", organization, |p, v| p.organization = v)}
                {field("Title", "profile-title", "organization-title", title, |p, v| p.title = v)}
            </div>
        </details>
    }
}

/// "Your devices" on the home page: link another one, list them, revoke one.
/// Folded at first; what it holds ([`super::devices::DevicesContent`]) is in
/// the chunk of the link page, fetched the first time it is unfolded (the
/// home screen does not wait for it).
#[component]
fn DevicesPanel() -> impl IntoView {
    let open = RwSignal::new(false);
    let unfolded = RwSignal::new(false);
    view! {
        <details class="devices" prop:open=move || open.get()
            on:toggle=move |ev| {
                use wasm_bindgen::JsCast;
                if let Some(details) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlDetailsElement>().ok()) {
                    open.set(details.open());
                    if details.open() {
                        unfolded.set(true);
                    }
                }
            }>
            <summary data-testid="devices-summary">"Your devices"</summary>
            <Show when=move || unfolded.get()>
                <deferred::Deferred load=deferred::devices_panel(open)/>
            </Show>
        </details>
    }
}
