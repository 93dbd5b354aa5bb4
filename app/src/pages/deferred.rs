//! Page groups whose code the browser downloads on first use. Each
//! `#[wasm_split]` function below is a split point: `xtask web` cuts the
//! code only it reaches into its own wasm chunk (overview, plan, agreement,
//! operate, workshops, joining from an invite, and linking with the home
//! screen's "Your devices"), so a first visit downloads the home screen's
//! code only.
//! [`Deferred`] shows a group once its chunk is in, and a clear "not
//! available offline yet" with a retry when it cannot be fetched (offline
//! before the page was ever opened), never a panic. Without the `split`
//! feature (native builds, the wasm unit tests, clippy) the functions are
//! plain calls and the app one module.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use accord_shared::ids::DocumentId;
use futures_util::FutureExt as _;
use leptos::prelude::*;
#[cfg(feature = "split")]
use leptos::wasm_split::wasm_split;

use super::routes::PlanPage;
use super::{agreement, boards, devices, join, operate, partnership, plan};

pub use crate::split_point::ChunkUnavailable;
use crate::split_point::deferred_call;

/// What a deferred page view resolves to.
pub type ChunkResult = Result<AnyView, ChunkUnavailable>;

/// Starts loading (once: later calls reuse the loaded chunk) a page
/// group's view.
pub type LoadView = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ChunkResult>>>>;

/// The chunk with a partnership's overview (stage, purpose, invites,
/// attention, report).
#[cfg_attr(feature = "split", wasm_split(overview_page, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_overview)))]
fn overview_group(id: DocumentId) -> ChunkResult {
    Ok(view! { <partnership::PartnershipPage id=id/> }.into_any())
}

/// The chunk with the plan pages: vetting, objectives, roles,
/// communication and milestones.
#[cfg_attr(feature = "split", wasm_split(plan_pages, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_plan)))]
fn plan_group(id: DocumentId, page: PlanPage) -> ChunkResult {
    Ok(match page {
        PlanPage::Vetting => view! { <plan::vetting::VettingPage id=id/> }.into_any(),
        PlanPage::Objectives => view! { <plan::objectives::ObjectivesPage id=id/> }.into_any(),
        PlanPage::Roles => view! { <plan::roles::RolesPage id=id/> }.into_any(),
        PlanPage::Communication => view! { <plan::comm_plan::CommPlanPage id=id/> }.into_any(),
        _ => view! { <plan::milestones::MilestonesPage id=id/> }.into_any(),
    })
}

/// The chunk with the agreement page.
#[cfg_attr(feature = "split", wasm_split(agreement_page, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_agreement)))]
fn agreement_group(id: DocumentId) -> ChunkResult {
    Ok(view! { <agreement::AgreementPage id=id/> }.into_any())
}

/// The chunk with the operate pages: meetings, governance, conflicts,
/// health check, risks and reviews.
#[cfg_attr(feature = "split", wasm_split(operate_pages, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_operate)))]
fn operate_group(id: DocumentId, page: PlanPage) -> ChunkResult {
    Ok(match page {
        PlanPage::Meetings => view! { <operate::meetings::MeetingsPage id=id/> }.into_any(),
        PlanPage::Governance => view! { <operate::governance::GovernancePage id=id/> }.into_any(),
        PlanPage::Conflicts => view! { <operate::conflicts::ConflictsPage id=id/> }.into_any(),
        PlanPage::Health => view! { <operate::health::HealthPage id=id/> }.into_any(),
        PlanPage::Risks => view! { <operate::risks::RisksPage id=id/> }.into_any(),
        _ => view! { <operate::reviews::ReviewsPage id=id/> }.into_any(),
    })
}

/// The chunk with the live workshop boards.
#[cfg_attr(feature = "split", wasm_split(workshop_pages, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_workshops)))]
fn boards_group(id: DocumentId) -> ChunkResult {
    Ok(view! { <boards::BoardsPage id=id/> }.into_any())
}

/// The chunk with joining from an invite: only the form and the steps, so
/// someone whose first visit is an invite is asked who they are while the
/// sync client is still downloading (its calls go through
/// [`crate::client_chunk`]'s split points).
#[cfg_attr(feature = "split", wasm_split(invite_page, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_invite)))]
fn invite_group(id: DocumentId) -> ChunkResult {
    Ok(view! { <join::JoinPage id=id/> }.into_any())
}

/// The chunk with linking a device.
#[cfg_attr(feature = "split", wasm_split(join_pages, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_join)))]
fn link_group() -> ChunkResult {
    Ok(view! { <devices::LinkPage/> }.into_any())
}

/// What the home screen's "Your devices" holds, in the chunk of the link
/// page (the two share the account and QR code).
#[cfg_attr(feature = "split", wasm_split(join_pages, wasm_split_path = ::leptos::wasm_split, fallible))]
fn devices_group(open: RwSignal<bool>) -> ChunkResult {
    Ok(view! { <devices::DevicesContent open=open/> }.into_any())
}

/// The loader of what "Your devices" holds; `open` is whether it is unfolded.
pub fn devices_panel(open: RwSignal<bool>) -> LoadView {
    Rc::new(move || deferred_call!(devices_group(open)))
}

/// The loader of a partnership's overview.
pub fn overview_page(id: DocumentId) -> LoadView {
    Rc::new(move || deferred_call!(overview_group(id)))
}

/// The chunk a plan page's code is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageGroup {
    Plan,
    Agreement,
    Operate,
    Workshops,
}

fn group_of(page: PlanPage) -> PageGroup {
    match page {
        PlanPage::Vetting
        | PlanPage::Objectives
        | PlanPage::Roles
        | PlanPage::Communication
        | PlanPage::Milestones => PageGroup::Plan,
        PlanPage::Agreement => PageGroup::Agreement,
        PlanPage::Meetings
        | PlanPage::Governance
        | PlanPage::Conflicts
        | PlanPage::Health
        | PlanPage::Risks
        | PlanPage::Reviews => PageGroup::Operate,
        PlanPage::Boards => PageGroup::Workshops,
    }
}

/// The loader of a plan page's view, from the chunk of its group.
pub fn plan_page(id: DocumentId, page: PlanPage) -> LoadView {
    Rc::new(move || match group_of(page) {
        PageGroup::Plan => deferred_call!(plan_group(id, page)),
        PageGroup::Agreement => deferred_call!(agreement_group(id)),
        PageGroup::Operate => deferred_call!(operate_group(id, page)),
        PageGroup::Workshops => deferred_call!(boards_group(id)),
    })
}

/// Starts downloading the chunk of the page `route` shows (a deep link) at
/// the same time as the sync client's, instead of after it: the page
/// renders inside the client's frame, and would otherwise ask for its
/// chunk only once the client runs. A failure is left to the page, which
/// asks again and says so.
#[cfg(feature = "split")]
pub fn prefetch(route: super::Route) {
    use super::Route;
    leptos::task::spawn_local(async move {
        let _ = match route {
            Route::Partnership(_) => preload_overview().await,
            Route::Plan(_, page) => match group_of(page) {
                PageGroup::Plan => preload_plan().await,
                PageGroup::Agreement => preload_agreement().await,
                PageGroup::Operate => preload_operate().await,
                PageGroup::Workshops => preload_workshops().await,
            },
            Route::Join(_) => preload_invite().await,
            Route::Link => preload_join().await,
            Route::Home | Route::NotFound => Ok(()),
        };
    });
}

/// Without the `split` feature every page is in the one module already.
#[cfg(not(feature = "split"))]
pub fn prefetch(_route: super::Route) {}

/// The loader of the join page for an invite to `id`.
pub fn join_page(id: DocumentId) -> LoadView {
    Rc::new(move || deferred_call!(invite_group(id)))
}

/// The loader of the page that links this browser to an account.
pub fn link_page() -> LoadView {
    Rc::new(|| deferred_call!(link_group()))
}

/// Where a [`Deferred`] view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Loading,
    Ready,
    Unavailable,
}

/// A page view from a chunk: "Loading…" while it downloads (nothing when
/// it is already in), the page once it is, and an offline notice with a
/// retry when the download fails.
#[component]
pub fn Deferred(
    /// Starts loading the page's view.
    load: LoadView,
) -> impl IntoView {
    let state = RwSignal::new(Chunk::Loading);
    let loaded = StoredValue::new_local(None::<AnyView>);
    let load = StoredValue::new_local(load);
    let settle = move |result: ChunkResult| match result {
        Ok(view) => {
            loaded.set_value(Some(view));
            state.set(Chunk::Ready);
        }
        Err(ChunkUnavailable) => state.set(Chunk::Unavailable),
    };
    // The page's view belongs to this component (its context and cleanup)
    // also when a retry starts from a click handler.
    let owner = Owner::current().map(|owner| owner.downgrade());
    let attempt = move || {
        let run = move || {
            state.set(Chunk::Loading);
            let mut pending = untrack(|| load.with_value(|load| load()));
            // A chunk already in finishes at once: render it without a
            // "Loading…" frame.
            match (&mut pending).now_or_never() {
                Some(result) => settle(result),
                None => leptos::task::spawn_local_scoped_with_cancellation(async move {
                    settle(pending.await);
                }),
            }
        };
        match owner.as_ref().and_then(|owner| owner.upgrade()) {
            Some(owner) => owner.with(run),
            None => run(),
        }
    };
    attempt();
    move || match state.get() {
        Chunk::Loading => {
            view! { <p class="muted" data-testid="chunk-loading">"Loading…"</p> }.into_any()
        }
        Chunk::Ready => loaded
            .try_update_value(Option::take)
            .flatten()
            .unwrap_or_else(|| ().into_any()),
        Chunk::Unavailable => {
            let attempt = attempt.clone();
            view! {
            <div class="notice" role="alert" data-testid="chunk-unavailable">
                <p>
                    <strong>"This page is not available offline yet."</strong>
                    " It has not been downloaded to this device. Connect to the network and try again; once opened, it works offline too."
                </p>
                <button type="button" data-testid="chunk-retry" on:click=move |_| attempt()>
                    "Retry"
                </button>
            </div>
            }
            .into_any()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The split module (its `wasm_split` name above) of each page group.
    fn split_module(group: PageGroup) -> &'static str {
        match group {
            PageGroup::Plan => "plan_pages",
            PageGroup::Agreement => "agreement_page",
            PageGroup::Operate => "operate_pages",
            PageGroup::Workshops => "workshop_pages",
        }
    }

    /// `index.html` asks for a deep link's chunks before the app runs, so
    /// it keeps its own page → chunk table: it must name every page, and
    /// the chunk its code is in.
    #[test]
    fn the_page_preloads_each_plan_page_s_own_chunk() {
        let page = include_str!("../../index.html");
        for plan_page in PlanPage::ALL {
            let entry = format!(
                "{}: \"{}\"",
                plan_page.slug(),
                split_module(group_of(plan_page))
            );
            assert!(page.contains(&entry), "index.html lacks {entry}");
        }
        for module in ["overview_page", "invite_page", "join_pages", "files.client"] {
            assert!(page.contains(module), "index.html never names {module}");
        }
    }
}
