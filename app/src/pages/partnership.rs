//! One partnership's overview: title, purpose and stage edited in place, the
//! parties and members, who else is here, and (for the owner) invite links
//! for the partner organization.

use accord_shared::http::DEFAULT_INVITE_USES;
use accord_shared::ids::DocumentId;
use accord_shared::model::overview::{self, Stage};
use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

use crate::api::{NewInvite, Role};
use crate::components::PresenceBar;
use crate::components::form::{InlineError, feedback};
use crate::components::live_text::{Caption, LiveTextArea};
use crate::components::text_field::TextField;
use crate::presence::Here;
use crate::store::Store;
use crate::sync_client::client;

/// Shown for a partnership id this device does not hold.
const NOT_HERE: &str = "This partnership is not on this device.";

/// The page name announced in presence.
const PAGE: &str = "overview";

/// Edits one partnership's overview.
#[component]
pub fn PartnershipPage(
    /// The partnership's document.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    store.here.set(Some(Here {
        document: id,
        page: PAGE.to_owned(),
    }));
    if let Some(client) = client() {
        client.announce(false);
    }
    super::agreement::start_watching(id);
    on_cleanup(move || {
        if let Some(client) = client() {
            client.beacon(&id, PAGE, true);
        }
        if store
            .here
            .with_untracked(|h| h.as_ref().is_some_and(|h| h.document == id))
        {
            store.here.set(None);
        }
    });

    let title = move || {
        store.revision.track();
        client().and_then(|c| c.title(&id)).unwrap_or_default()
    };
    let set_title = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        // A blank title (mid-typing) is not saved: a partnership always has a name.
        if value.trim().is_empty() {
            return;
        }
        let Some(client) = client() else { return };
        if let Err(error) = client.edit(&id, |tx| overview::set_title(tx, &value)) {
            store.report(error);
        }
    };
    let stage = move || {
        store.revision.track();
        client()
            .and_then(|c| c.stage(&id))
            .unwrap_or(Stage::Exploring)
    };
    let move_stage = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let Some(to) = Stage::from_stored(&value) else {
            return;
        };
        let Some(client) = client() else { return };
        if let Err(error) = client.move_stage(&id, to) {
            store.report(format!("could not change the stage: {error}"));
        }
    };
    let people = move || {
        store.revision.track();
        client().map(|c| c.parties(&id)).unwrap_or_default()
    };
    let held = move || {
        store.revision.track();
        client().is_some_and(|c| c.has_content(&id))
    };
    let missing = move || {
        if !store.ready.get() {
            "Loading…"
        } else if client().is_some_and(|c| c.title(&id).is_some()) {
            "Fetching the partnership from the relay…"
        } else {
            NOT_HERE
        }
    };
    let viewer = crate::components::view_only::viewer(store, id);
    let purpose_error = feedback();
    view! {
        <Show when=held fallback=move || view! {
            <section class="not-found" data-testid="partnership-missing">
                <p class="muted">{missing}</p>
                {move || (missing() == NOT_HERE).then(|| view! {
                    <p>"Open the invite link the partner sent you, or check the address."</p>
                    <p><a href="#/" data-testid="not-found-home">"Go to your partnerships"</a></p>
                })}
            </section>
        }>
            <article class="partnership">
                <div class="toolbar">
                    <PresenceBar id=id/>
                </div>
                <crate::components::view_only::ViewOnlyNote id=id/>
                <super::operate::attention::AttentionPanel id=id/>
                <fieldset class="edit-area" disabled=viewer>
                <label class="field">
                    <span>"Title"</span>
                    <input data-testid="title-input" type="text" prop:value=title on:input=set_title/>
                </label>
                <LiveTextArea id=id field=TextField::Purpose error=purpose_error
                        test_id="purpose-input" label="Purpose" caption=Caption::Field placeholder="Why these organizations work together" rows=4/>
                <InlineError message=purpose_error test_id="purpose-error"/>
                <label class="field">
                    <span>"Stage"</span>
                    <select data-testid="stage-select" prop:value=move || stage().as_str() on:change=move_stage>
                        {Stage::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <section class="parties" aria-label="Parties">
                    <h2>"Parties"</h2>
                    <ul data-testid="party-list">
                        {move || people().into_iter().map(|(party, names)| view! {
                            <li><strong>{party}</strong>" "<span class="muted">{names.join(", ")}</span></li>
                        }).collect_view()}
                    </ul>
                </section>
                <super::plan::overview_panels::OverviewPanels id=id/>
                </fieldset>
                <super::operate::attention::ReportExport id=id/>
                <InvitePanel id=id/>
                <details class="doc-details" data-testid="document-details">
                    <summary>"Details"</summary>
                    <p class="muted">"The partnership's document address (for support and the command-line tools):"</p>
                    <p class="muted doc-url" data-testid="document-url">{id.url()}</p>
                </details>
            </article>
        </Show>
    }
}

/// Creates an invite link for the partner organization (owners only; the
/// relay refuses anyone else, and that refusal is shown).
#[component]
fn InvitePanel(id: DocumentId) -> impl IntoView {
    let party = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Editor);
    let days = RwSignal::new(7_u64);
    let link = RwSignal::new(None::<String>);
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(client) = client() else { return };
        let invite = NewInvite {
            role: role.get_untracked(),
            party: party.get_untracked().trim().to_owned(),
            expires_in_seconds: days.get_untracked() * 24 * 3600,
            uses: DEFAULT_INVITE_USES,
        };
        if invite.party.is_empty() {
            problem.set(Some("Name the partner organization first.".into()));
            return;
        }
        busy.set(true);
        problem.set(None);
        spawn_local(async move {
            match client.invite(&id, &invite).await {
                Ok(url) => link.set(Some(url)),
                Err(error) => problem.set(Some(format!("Could not create the invite: {error}"))),
            }
            busy.set(false);
        });
    };
    view! {
        <details class="invite">
            <summary data-testid="invite-open">"Invite the partner organization"</summary>
            <form class="invite-form" on:submit=create>
                <label class="field">
                    <span>"Their organization"</span>
                    <input data-testid="invite-party" type="text" required
                        prop:value=move || party.get()
                        on:input=move |ev| party.set(event_target_value(&ev))/>
                </label>
                <label class="field">
                    <span>"Role"</span>
                    <select data-testid="invite-role" on:change=move |ev| {
                        role.set(if event_target_value(&ev) == "viewer" { Role::Viewer } else { Role::Editor });
                    }>
                        <option value="editor" selected>"Editor (can edit)"</option>
                        <option value="viewer">"Viewer (read only)"</option>
                    </select>
                </label>
                <label class="field">
                    <span>"Link expires after"</span>
                    <select data-testid="invite-expiry" on:change=move |ev| {
                        days.set(event_target_value(&ev).parse().unwrap_or(7));
                    }>
                        <option value="1">"1 day"</option>
                        <option value="7" selected>"7 days"</option>
                        <option value="30">"30 days"</option>
                    </select>
                </label>
                <button type="submit" data-testid="invite-create" disabled=move || busy.get()>
                    "Create invite link"
                </button>
            </form>
            {move || problem.get().map(|text| view! { <p class="error-text" role="alert" data-testid="invite-error">{text}</p> })}
            {move || link.get().map(|url| view! { <InviteLink url=url/> })}
        </details>
    }
}

/// What the invite link's Copy button last did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copied {
    /// Not pressed yet (or the link changed).
    Not,
    /// The link is on the clipboard.
    Yes,
    /// The clipboard refused; the link is selected for copying by hand.
    ByHand,
}

/// A fresh invite link with a Copy button: the clipboard API when the
/// browser allows it, with a visible "Copied"; otherwise the link is
/// selected so Ctrl+C (or the long-press menu) copies it.
#[component]
fn InviteLink(url: String) -> impl IntoView {
    let copied = RwSignal::new(Copied::Not);
    let field = NodeRef::<leptos::html::Input>::new();
    let text = url.clone();
    let copy = move |_| {
        let text = text.clone();
        spawn_local(async move {
            match crate::browser::copy_to_clipboard(&text).await {
                Ok(()) => copied.set(Copied::Yes),
                Err(_) => {
                    if let Some(input) = field.get_untracked() {
                        let _ = input.focus();
                        input.select();
                    }
                    copied.set(Copied::ByHand);
                }
            }
        });
    };
    view! {
        <div class="field invite-link">
            <label for="invite-link-text"><span>"Send this link to the partner (it works once)"</span></label>
            <div class="invite-link-row">
                <input id="invite-link-text" node_ref=field data-testid="invite-link" type="text" readonly prop:value=url
                    on:focus=move |ev| {
                        use wasm_bindgen::JsCast;
                        if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                            input.select();
                        }
                    }/>
                <button type="button" data-testid="invite-copy" on:click=copy>"Copy"</button>
            </div>
            <span class="copy-state" role="status" aria-live="polite" data-testid="invite-copied">
                {move || match copied.get() {
                    Copied::Not => "",
                    Copied::Yes => "Copied",
                    Copied::ByHand => "The link is selected: press Ctrl+C (or ⌘C) to copy it.",
                }}
            </span>
        </div>
    }
}
