//! The frame around every page of one partnership: a navigation that never
//! moves. On wide screens it is a sidebar listing every page, grouped as a
//! partnership is run (Plan, Agreement, Operate, Workshops); on narrow
//! screens the same list folds behind a "Menu" button. The page itself sits
//! beside (or under) it and wide content scrolls inside its own box.

use accord_shared::ids::DocumentId;
use leptos::prelude::*;

use super::Route;
use super::routes::PlanPage;
use crate::components::icon::{Glyph, Icon};
use crate::store::Store;
use crate::sync_client::client;

/// One group of the navigation.
struct Group {
    title: &'static str,
    /// `None` stands for the overview.
    pages: &'static [Option<PlanPage>],
}

/// The navigation, in the order a partnership is set up and then run.
const GROUPS: [Group; 4] = [
    Group {
        title: "Plan",
        pages: &[
            None,
            Some(PlanPage::Vetting),
            Some(PlanPage::Objectives),
            Some(PlanPage::Roles),
            Some(PlanPage::Communication),
            Some(PlanPage::Milestones),
        ],
    },
    Group {
        title: "Agreement",
        pages: &[Some(PlanPage::Agreement)],
    },
    Group {
        title: "Operate",
        pages: &[
            Some(PlanPage::Meetings),
            Some(PlanPage::Governance),
            Some(PlanPage::Conflicts),
            Some(PlanPage::Risks),
            Some(PlanPage::Health),
            Some(PlanPage::Reviews),
        ],
    },
    Group {
        title: "Workshops",
        pages: &[Some(PlanPage::Boards)],
    },
];

fn label(page: Option<PlanPage>) -> &'static str {
    page.map_or("Overview", PlanPage::label)
}

fn slug(page: Option<PlanPage>) -> &'static str {
    page.map_or("overview", PlanPage::slug)
}

/// A partnership's page (`current`, `None` for the overview) inside the
/// navigation frame.
#[component]
pub fn PartnershipShell(
    /// The partnership.
    id: DocumentId,
    /// The page shown.
    current: Option<PlanPage>,
    /// The page.
    children: Children,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let open = RwSignal::new(false);
    let title = move || {
        store.revision.track();
        client()
            .and_then(|c| c.title(&id))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Partnership".to_owned())
    };
    let link = move |page: Option<PlanPage>| {
        let route = page.map_or(Route::Partnership(id), |p| Route::Plan(id, p));
        let active = page == current;
        view! {
            <li>
                <a
                    href=route.hash()
                    class=if active { "nav-link active" } else { "nav-link" }
                    aria-current=active.then_some("page")
                    data-testid=format!("tab-{}", slug(page))
                    on:click=move |_| open.set(false)
                >
                    {label(page)}
                </a>
            </li>
        }
    };
    view! {
        <div class="shell">
            <aside class="sidebar">
                <div class="sidebar-head">
                    <a href="#/" class="back-link" data-testid="tab-home">
                        <Glyph icon=Icon::ArrowLeft/>
                        " All partnerships"
                    </a>
                    <p class="sidebar-title" data-testid="shell-title">{title}</p>
                    <button
                        type="button"
                        class="secondary menu-button"
                        data-testid="menu-toggle"
                        aria-expanded=move || open.get().to_string()
                        aria-controls="partnership-nav"
                        on:click=move |_| open.update(|o| *o = !*o)
                    >
                        <Glyph icon=Icon::Menu/>
                        <span>{format!(" {}", label(current))}</span>
                    </button>
                </div>
                <nav id="partnership-nav" class="partnership-nav" class:open=move || open.get()
                    aria-label="Partnership pages">
                    {GROUPS
                        .iter()
                        .map(|group| {
                            view! {
                                <p class="nav-group">{group.title}</p>
                                <ul>{group.pages.iter().map(|page| link(*page)).collect_view()}</ul>
                            }
                        })
                        .collect_view()}
                </nav>
            </aside>
            <div class="shell-page">{children()}</div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_is_in_the_navigation_once() {
        let listed: Vec<Option<PlanPage>> = GROUPS
            .iter()
            .flat_map(|g| g.pages.iter().copied())
            .collect();
        assert_eq!(listed.len(), PlanPage::ALL.len() + 1);
        assert!(listed.contains(&None));
        for page in PlanPage::ALL {
            assert_eq!(
                listed.iter().filter(|p| **p == Some(page)).count(),
                1,
                "{page:?}"
            );
        }
    }
}
