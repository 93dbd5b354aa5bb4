//! The plan pages of one partnership (issue 5): vetting, objectives and KPIs,
//! roles (RACI), communication plan and milestones, each at
//! `#/p/<id>/<slug>`, plus [`overview_panels`] for the overview page and
//! the page kinds ([`PlanPage`]) the navigation links to.
//!
//! Every form goes through [`crate::edit`]: a model op validates the input and
//! either writes only the fields that changed or refuses, in which case the
//! op's message is shown inline and the document is unchanged.

mod comm_plan;
mod milestones;
mod objectives;
pub mod overview_panels;
mod roles;
mod vetting;

use accord_shared::ids::DocumentId;
use leptos::prelude::*;

use accord_shared::model::{Collection, ItemId, items};

use super::operate;
use crate::components::form::{InlineError, feedback};
use crate::components::icon::{Glyph, Icon};
use crate::edit;
use crate::store::{Here, Store};
use crate::sync_client::client;

/// One plan page of a partnership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanPage {
    /// Criteria, scores, totals and due diligence.
    Vetting,
    /// Objectives and KPIs with their trend charts.
    Objectives,
    /// The RACI matrix.
    Roles,
    /// What is communicated, to whom, how often, and when next.
    Communication,
    /// Milestones, due and achieved.
    Milestones,
    /// The agreement: clauses, comments, sign-off, history, export.
    Agreement,
    /// Meetings with agenda, minutes, decisions and action items.
    Meetings,
    /// Committees, decision rights and the escalation ladder.
    Governance,
    /// Conflicts and their way up the escalation ladder.
    Conflicts,
    /// The risk register with its heat map.
    Risks,
    /// Health-check rounds, sealed until every party has submitted.
    Health,
    /// Reviews and post-mortems with their actions.
    Reviews,
    /// Live workshop boards.
    Boards,
}

impl PlanPage {
    /// Every page, in tab order.
    pub const ALL: [PlanPage; 13] = [
        Self::Vetting,
        Self::Objectives,
        Self::Roles,
        Self::Communication,
        Self::Milestones,
        Self::Agreement,
        Self::Meetings,
        Self::Governance,
        Self::Conflicts,
        Self::Risks,
        Self::Health,
        Self::Reviews,
        Self::Boards,
    ];

    /// The fragment segment after `#/p/<id>/`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Vetting => "vetting",
            Self::Objectives => "objectives",
            Self::Roles => "roles",
            Self::Communication => "communication",
            Self::Milestones => "milestones",
            Self::Agreement => "agreement",
            Self::Meetings => "meetings",
            Self::Governance => "governance",
            Self::Conflicts => "conflicts",
            Self::Risks => "risks",
            Self::Health => "health",
            Self::Reviews => "reviews",
            Self::Boards => "boards",
        }
    }

    /// One or two sentences under the page's title: what the page is for in
    /// a partnership and where to start.
    pub fn intro(self) -> &'static str {
        match self {
            Self::Vetting => {
                "Agree what makes a good partner, then each organization scores its own column. Start by adding the criteria that matter and their weight."
            }
            Self::Objectives => {
                "What the partnership is for, in measurable terms. Add an objective, then the KPIs that show progress and record measurements as you go."
            }
            Self::Roles => {
                "Who is Responsible, Accountable, Consulted and Informed for each activity. Add the activities both sides will carry out."
            }
            Self::Communication => {
                "What is shared, with whom, how and how often. Add each regular report, call or update."
            }
            Self::Milestones => {
                "The dates that matter and whether they were met. Add the first milestone; celebrate it when it is achieved."
            }
            Self::Agreement => {
                "The terms both organizations sign, clause by clause. Start from the standard outline or write the first clause."
            }
            Self::Meetings => {
                "Check-ins, business reviews and steering committees with agenda, minutes, decisions and actions. Schedule the next one."
            }
            Self::Governance => {
                "Who decides what, and where a disagreement goes next. Set up the joint committees and the escalation ladder."
            }
            Self::Conflicts => {
                "Disagreements, recorded early and climbed up the escalation ladder until resolved."
            }
            Self::Risks => {
                "What could go wrong, how likely and how bad, and the plan if it does. Add the first risk."
            }
            Self::Health => {
                "How each side feels the partnership is going, answered privately and revealed together. Open a round when you are ready."
            }
            Self::Reviews => {
                "Looking back: what went well, what to improve, and the actions that follow."
            }
            Self::Boards => {
                "Live workshop boards for both teams: sticky notes, dot votes and a timer. Start a board from a template."
            }
        }
    }

    /// The page for a fragment segment, if any.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.slug() == slug)
    }

    /// The tab label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Vetting => "Vetting",
            Self::Objectives => "Objectives & KPIs",
            Self::Roles => "Roles",
            Self::Communication => "Communication",
            Self::Milestones => "Milestones",
            Self::Agreement => "Agreement",
            Self::Meetings => "Meetings",
            Self::Governance => "Governance",
            Self::Conflicts => "Conflicts",
            Self::Risks => "Risks",
            Self::Health => "Health check",
            Self::Reviews => "Reviews",
            Self::Boards => "Workshops",
        }
    }
}

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
    let missing = move || {
        if store.ready.get() {
            "This partnership is not on this device."
        } else {
            "Loading…"
        }
    };
    view! {
        <Show when=held fallback=move || view! { <p class="muted">{missing}</p> }>
            <header class="page-header">
                <h1 data-testid="page-title">{page.label()}</h1>
                <p class="page-intro muted">{page.intro()}</p>
            </header>
            <ViewOnlyNote id=id/>
            <fieldset class="edit-area" disabled=viewer(store, id)>
            <article class="plan" data-testid=format!("page-{}", page.slug())>
                {match page {
                    PlanPage::Vetting => view! { <vetting::VettingPage id=id/> }.into_any(),
                    PlanPage::Objectives => view! { <objectives::ObjectivesPage id=id/> }.into_any(),
                    PlanPage::Roles => view! { <roles::RolesPage id=id/> }.into_any(),
                    PlanPage::Communication => view! { <comm_plan::CommPlanPage id=id/> }.into_any(),
                    PlanPage::Milestones => view! { <milestones::MilestonesPage id=id/> }.into_any(),
                    PlanPage::Agreement => view! { <super::agreement::AgreementPage id=id/> }.into_any(),
                    PlanPage::Meetings => view! { <operate::meetings::MeetingsPage id=id/> }.into_any(),
                    PlanPage::Governance => view! { <operate::governance::GovernancePage id=id/> }.into_any(),
                    PlanPage::Conflicts => view! { <operate::conflicts::ConflictsPage id=id/> }.into_any(),
                    PlanPage::Health => view! { <operate::health::HealthPage id=id/> }.into_any(),
                    PlanPage::Risks => view! { <operate::risks::RisksPage id=id/> }.into_any(),
                    PlanPage::Reviews => view! { <operate::reviews::ReviewsPage id=id/> }.into_any(),
                    PlanPage::Boards => view! { <super::boards::BoardsPage id=id/> }.into_any(),
                }}
            </article>
            </fieldset>
        </Show>
    }
}

/// Whether this device only views `id` (joined with a viewer invite), as a
/// signal-like closure for `disabled` attributes.
pub fn viewer(store: Store, id: DocumentId) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    move || {
        store.revision.track();
        client().is_some_and(|c| c.is_viewer(&id))
    }
}

/// "View only" above a page's controls for a viewer, who may not edit
/// (the relay would discard the change).
#[component]
pub fn ViewOnlyNote(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let viewer = viewer(store, id);
    move || {
        viewer().then(|| {
            view! {
                <p class="note" data-testid="view-only" role="status">
                    "View only: you joined as a viewer, so you can read this partnership but not change it."
                </p>
            }
        })
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

/// "Move up" and "move down" buttons for the item at `index` of `count`
/// live items of `collection`; a refused move shows in `error`.
#[component]
pub fn MoveButtons(
    /// The partnership.
    id: DocumentId,
    /// Which collection.
    collection: Collection,
    /// The item.
    item: ItemId,
    /// Where it is shown now.
    index: usize,
    /// How many live items there are.
    count: usize,
    /// Where a refusal is explained.
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let shift = move |to: usize| {
        edit::apply_into(error, &id, |tx| items::move_to(tx, collection, item, to));
    };
    let first = index == 0;
    let last = index + 1 >= count;
    view! {
        <button class="link" title="Move up" aria-label="Move up" data-testid="move-up"
            disabled=first on:click=move |_| shift(index.saturating_sub(1))><Glyph icon=Icon::ArrowUp/></button>
        <button class="link" title="Move down" aria-label="Move down" data-testid="move-down"
            disabled=last on:click=move |_| shift(index + 1)><Glyph icon=Icon::ArrowDown/></button>
    }
}

/// The removed items of one collection, each with a Restore button. A
/// removal only marks the item deleted, so an edit the partner made to it
/// concurrently is kept and comes back with it (see the model's `items`).
#[component]
pub fn RemovedItems(
    /// The partnership.
    id: DocumentId,
    /// Which collection.
    collection: Collection,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let error = feedback();
    let removed = Memo::new(move |_| {
        edit::read(store, &id, |doc| {
            items::deleted(doc, collection).unwrap_or_default()
        })
        .unwrap_or_default()
    });
    let rows = move || {
        removed
            .get()
            .into_iter()
            .map(|item| {
                let iid = item.id;
                view! {
                    <li data-testid="removed-item">
                        <span>{item.label}</span>
                        <span class="muted">{format!(" removed {} ", edit::format_date(item.deleted_at))}</span>
                        <button class="link restore" data-testid="restore-item"
                            on:click=move |_| { edit::apply_into(error, &id, |tx| items::restore(tx, collection, iid)); }>
                            "Restore"
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <Show when=move || removed.with(|r| !r.is_empty())>
            <details class="removed">
                <summary data-testid="removed-summary">{move || format!("Removed ({})", removed.with(Vec::len))}</summary>
                <ul class="plain">{rows}</ul>
                <InlineError message=error test_id="restore-error"/>
            </details>
        </Show>
    }
}
