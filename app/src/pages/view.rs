//! One page of a partnership, picked by its [`PlanPage`], with what every
//! such page shows above its own content (title, intro, view-only note) and
//! the presence announcement of where this tab is.

use accord_shared::ids::DocumentId;
use leptos::prelude::*;

use super::deferred;
use super::routes::PlanPage;
use crate::components::view_only::{ViewOnlyNote, viewer};
use crate::edit;
use crate::store::{Here, Store};
use crate::sync_client::client;

/// A plan page of one partnership (the navigation around it is
/// [`super::shell::PartnershipShell`]).
#[component]
pub fn PlanView(
    /// The partnership.
    id: DocumentId,
    /// Which page.
    page: PlanPage,
) -> impl IntoView {
    let store = expect_context::<Store>();
    announce_page(store, id, page.slug());
    let held = move || edit::read(store, &id, |_| ()).is_some();
    let missing =
        crate::components::not_here(store, "Loading…", "This partnership is not on this device.");
    view! {
        <Show when=held fallback=move || view! { <p class="muted">{missing}</p> }>
            <header class="page-header">
                <h1 data-testid="page-title">{page.label()}</h1>
                <p class="page-intro muted">{page.intro()}</p>
            </header>
            <ViewOnlyNote id=id/>
            <fieldset class="edit-area" disabled=viewer(store, id)>
            <article class="plan" data-testid=format!("page-{}", page.slug())>
                <deferred::Deferred load=deferred::plan_page(id, page)/>
            </article>
            </fieldset>
        </Show>
    }
}

/// Tells partners which plan page this tab shows, as the overview does, and
/// that it left when the page goes away. A cleanup that runs after the next
/// page already announced itself leaves that announcement alone.
fn announce_page(store: Store, id: DocumentId, slug: &'static str) {
    store.here.set(Some(Here {
        document: id,
        page: slug.to_owned(),
    }));
    if let Some(client) = client() {
        client.announce(false);
    }
    on_cleanup(move || {
        let still_here = store.here.with_untracked(|h| {
            h.as_ref()
                .is_some_and(|h| h.document == id && h.page == slug)
        });
        if still_here {
            store.here.set(None);
            if let Some(client) = client() {
                client.beacon(&id, slug, true);
            }
        }
    });
}
