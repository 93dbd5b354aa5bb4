//! Pages and the top-level [`App`]. Navigation uses the URL fragment
//! (`#/` for the list, `#/p/<document id>` for one partnership), so a reload
//! returns to the same page and the relay's SPA fallback is never needed.

pub(crate) mod agreement;
pub mod boards;
mod home;
mod join;
pub mod operate;
mod partnership;
pub mod plan;
mod shell;

use accord_shared::ids::DocumentId;
use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

pub use self::home::HomePage;
pub use self::join::JoinPage;
pub use self::partnership::PartnershipPage;
use crate::components::{ErrorBanner, SyncStatusBadge, ToastBar};
use crate::store::Store;
use crate::sync_client;

/// Which page the fragment selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The partnership list.
    Home,
    /// One partnership.
    Partnership(DocumentId),
    /// Joining a partnership from an invite link (`#/join/<id>/<code>`; the
    /// join page reads the code from the fragment).
    Join(DocumentId),
    /// One of a partnership's plan pages (`#/p/<id>/<page>`).
    Plan(DocumentId, plan::PlanPage),
    /// A fragment that names no page: a mistyped partnership id or page
    /// name (shown as "not found" with a way back, never silently home).
    NotFound,
}

impl Route {
    /// Parses a fragment such as `#/p/<id>`: empty or `#/` is
    /// [`Route::Home`], anything unrecognised [`Route::NotFound`].
    pub fn from_hash(hash: &str) -> Self {
        if let Some(id) = join::document_from_hash(hash) {
            return Self::Join(id);
        }
        let path = hash.trim_start_matches('#');
        if path.is_empty() || path == "/" {
            return Self::Home;
        }
        let Some(rest) = path.strip_prefix("/p/") else {
            return Self::NotFound;
        };
        let (id, page) = rest.split_once('/').unwrap_or((rest, ""));
        match (DocumentId::parse_url_or_id(id), page) {
            (Ok(id), "") => Self::Partnership(id),
            (Ok(id), page) => {
                plan::PlanPage::from_slug(page).map_or(Self::NotFound, |p| Self::Plan(id, p))
            }
            (Err(_), _) => Self::NotFound,
        }
    }

    /// The fragment for this route.
    pub fn hash(&self) -> String {
        match self {
            Self::Home => "#/".to_owned(),
            Self::Partnership(id) => format!("#/p/{id}"),
            Self::Join(id) => format!("#/join/{id}"),
            Self::Plan(id, page) => format!("#/p/{id}/{}", page.slug()),
            Self::NotFound => "#/not-found".to_owned(),
        }
    }
}

fn current_route() -> Route {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    Route::from_hash(&hash)
}

/// Navigates to `route` (updates the fragment; the `hashchange` listener re-renders).
pub fn navigate(route: Route) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_hash(&route.hash());
    }
}

/// The whole app: header with sync status, error banner, current page.
#[component]
pub fn App() -> impl IntoView {
    let store = Store::new();
    provide_context(store);
    spawn_local(async move {
        if let Err(error) = sync_client::boot(store).await {
            store.report(format!("cannot start: {error}"));
        }
    });
    let route = RwSignal::new(current_route());
    let listener =
        window_event_listener(leptos::ev::hashchange, move |_| route.set(current_route()));
    on_cleanup(move || listener.remove());
    view! {
        <header class="top">
            <a class="brand" href="#/">"Accord"</a>
            <SyncStatusBadge/>
        </header>
        <ErrorBanner/>
        <main>
            {move || match route.get() {
                Route::Home => view! { <HomePage/> }.into_any(),
                Route::Partnership(id) => view! {
                    <shell::PartnershipShell id=id current=None>
                        <PartnershipPage id=id/>
                    </shell::PartnershipShell>
                }
                .into_any(),
                Route::Join(id) => view! { <JoinPage id=id/> }.into_any(),
                Route::Plan(id, page) => view! {
                    <shell::PartnershipShell id=id current=Some(page)>
                        <plan::PlanView id=id page=page/>
                    </shell::PartnershipShell>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_round_trip_through_the_fragment() {
        let id = DocumentId::from_bytes([9; 16]);
        assert_eq!(
            Route::from_hash(&Route::Partnership(id).hash()),
            Route::Partnership(id)
        );
        assert_eq!(Route::from_hash("#/"), Route::Home);
        assert_eq!(Route::from_hash(""), Route::Home);
        assert_eq!(Route::from_hash("#/p/not-an-id"), Route::NotFound);
        assert_eq!(Route::from_hash("#/elsewhere"), Route::NotFound);
        assert_eq!(Route::from_hash("#"), Route::Home);
        for page in plan::PlanPage::ALL {
            let route = Route::Plan(id, page);
            assert_eq!(Route::from_hash(&route.hash()), route);
        }
        assert_eq!(Route::from_hash(&format!("#/p/{id}/nope")), Route::NotFound);
    }
}
