//! Panels for the overview page: the lifecycle stage's history (who moved it
//! and when), the parties with their strengths and what's in it for them,
//! the partnership managers, and the review cadence with the next check-in.
//! [`OverviewPanels`] shows them all.

use accord_shared::automerge::Automerge;
use accord_shared::ids::DocumentId;
use accord_shared::model::members::{self, Member};
use accord_shared::model::overview::{self, MAX_REVIEW_CADENCE_DAYS, Overview};
use accord_shared::model::parties::{self, Party, PartyPatch};
use accord_shared::model::{MemberId, PartyId, touched};
use leptos::prelude::*;

use crate::components::form::{InlineError, feedback};
use crate::components::live_text::{Caption, LiveTextAreas};
use crate::components::rows::{self, CardList, ListContext};
use crate::components::text_field::TextField;
use crate::edit::{self, apply_into, format_date, format_opt_date, parse_whole};

#[derive(Debug, Clone, PartialEq)]
struct Data {
    overview: Overview,
    parties: Vec<Party>,
    members: Vec<Member>,
}

fn load(doc: &Automerge) -> Data {
    Data {
        overview: overview::read(doc),
        parties: parties::list(doc),
        members: members::list(doc),
    }
}

fn member_name(members: &[Member], id: Option<MemberId>) -> String {
    id.and_then(|id| members.iter().find(|m| m.id == id))
        .map_or_else(|| "someone".to_owned(), |m| m.name.clone())
}

fn party_name(parties: &[Party], id: Option<PartyId>) -> String {
    id.and_then(|id| parties.iter().find(|p| p.id == id))
        .map(|p| p.fields.name.clone())
        .unwrap_or_default()
}

/// Every overview panel of issue 5, in reading order.
#[component]
pub fn OverviewPanels(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let mut places = touched::overview();
    places.extend([touched::parties(), touched::members()]);
    let data = rows::watched(id, places, load);
    view! {
        <StageHistory data=data/>
        <PartiesPanel id=id data=data/>
        <ManagersPanel id=id data=data/>
        <ReviewPanel id=id data=data/>
    }
}

/// Who moved the lifecycle stage, from what to what, and when (newest first).
#[component]
fn StageHistory(data: Memo<Option<Data>>) -> impl IntoView {
    let rows = move || {
        let data = data.get()?;
        let rows = data
            .overview
            .history
            .iter()
            .rev()
            .map(|change| {
                let from = change.from.map(|s| format!("{s} → ")).unwrap_or_default();
                let who = member_name(&data.members, change.by);
                view! {
                    <li data-testid="stage-change">
                        <strong>{format!("{from}{}", change.to)}</strong>
                        {format!(" by {who} on {}", format_date(change.at))}
                    </li>
                }
            })
            .collect_view();
        Some(view! {
            <p>"Stage: " <strong data-testid="stage-current">{data.overview.stage.to_string()}</strong></p>
            <ul class="history">{rows}</ul>
        })
    };
    view! {
        <section class="panel" data-testid="stage-panel">
            <h2>"Lifecycle"</h2>
            {rows}
        </section>
    }
}

/// One organization's card. Its name and role re-render only when they
/// change; its prose takes every keystroke as a splice, so both sides can
/// write the profile at once.
#[component]
fn PartyCard(list: ListContext<Data>, pid: PartyId) -> impl IntoView {
    let ListContext {
        id, data, error, ..
    } = list;
    let head = Memo::new(move |_| {
        data.with(|d| {
            d.as_ref()?
                .parties
                .iter()
                .find(|p| p.id == pid)
                .map(|p| (p.fields.name.clone(), p.fields.role.clone()))
        })
    });
    let update = move |patch: PartyPatch| {
        apply_into(error, &id, |tx| parties::update(tx, pid, &patch));
    };
    let fields = move || {
        let (name, role) = head.get()?;
        Some(view! {
            <input type="text" data-testid="party-name" aria-label="Organization"
                prop:value=name
                on:change=move |ev| update(PartyPatch { name: Some(event_target_value(&ev)), ..PartyPatch::default() })/>
            <label class="field"><span>"Role"</span>
                <input type="text" data-testid="party-role" prop:value=role
                    on:change=move |ev| update(PartyPatch { role: Some(event_target_value(&ev)), ..PartyPatch::default() })/>
            </label>
        })
    };
    view! {
        <li class="card" data-testid="party-card">
            {fields}
            <LiveTextAreas id=id error=error caption=Caption::Field rows=2 fields=vec![
                (TextField::PartyStrengths(pid), "party-strengths", "Strengths"),
                (TextField::PartyWiifm(pid), "party-wiifm", "What's in it for them"),
            ]/>
        </li>
    }
}

/// The partner organizations: role, strengths, what's in it for them.
#[component]
fn PartiesPanel(id: DocumentId, data: Memo<Option<Data>>) -> impl IntoView {
    let error = feedback();
    let ids = rows::ids(data, |d| &d.parties, |p| p.id);
    view! {
        <section class="panel">
            <h2>"What each party brings and gains"</h2>
            <CardList ids=ids error=error error_id="party-error" class="cards two"
                row=move |pid| view! { <PartyCard list=ListContext::new(id, data, error) pid=pid/> }/>
        </section>
    }
}

/// Who manages the partnership on each side.
#[component]
fn ManagersPanel(id: DocumentId, data: Memo<Option<Data>>) -> impl IntoView {
    let error = feedback();
    let rows = move || {
        let data = data.get()?;
        Some(
            data.members
                .iter()
                .filter(|m| m.left_at.is_none())
                .map(|member| {
                    let mid = member.id;
                    let party = party_name(&data.parties, member.party);
                    view! {
                        <li>
                            <label>
                                <input type="checkbox" data-testid="manager-toggle" data-member=member.name.clone()
                                    prop:checked=member.manager
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        apply_into(error, &id, |tx| members::set_manager(tx, mid, on));
                                    }/>
                                {format!(" {} ", member.name)}
                                <span class="muted">{party}</span>
                            </label>
                        </li>
                    }
                })
                .collect_view(),
        )
    };
    view! {
        <section class="panel">
            <h2>"Partnership managers"</h2>
            <ul class="plain">{rows}</ul>
            <InlineError message=error test_id="manager-error"/>
        </section>
    }
}

/// The review cadence, the last check-in and when the next one is due.
#[component]
fn ReviewPanel(id: DocumentId, data: Memo<Option<Data>>) -> impl IntoView {
    let error = feedback();
    let cadence = move || {
        data.get()
            .map(|d| d.overview.review_cadence_days.to_string())
            .unwrap_or_default()
    };
    let last = move || {
        data.get()
            .map(|d| format_opt_date(d.overview.last_check_in))
            .unwrap_or_default()
    };
    let next = move || {
        data.get()
            .map(|d| format_opt_date(d.overview.next_check_in))
            .unwrap_or_default()
    };
    let overdue = move || {
        data.get()
            .and_then(|d| d.overview.next_check_in)
            .is_some_and(|n| n < edit::now())
    };
    let set_cadence = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        apply_into(error, &id, |tx| {
            let max = u32::try_from(MAX_REVIEW_CADENCE_DAYS).unwrap_or(u32::MAX);
            let days = parse_whole("review cadence (days)", &text, 1, max)?;
            overview::set_review_cadence(tx, u64::from(days))
        });
    };
    view! {
        <section class="panel">
            <h2>"Reviews"</h2>
            <div class="row">
                <label>"Check in every "
                    <input type="number" class="narrow" data-testid="review-cadence" prop:value=cadence on:change=set_cadence/>
                    " days"
                </label>
                <span>"Last check-in: " <span data-testid="last-check-in">{last}</span></span>
                <span class:overdue=overdue>"Next check-in: " <strong data-testid="next-check-in">{next}</strong></span>
                <button data-testid="record-check-in"
                    on:click=move |_| { apply_into(error, &id, |tx| overview::record_check_in(tx, edit::now())); }>
                    "Checked in today"
                </button>
            </div>
            <InlineError message=error test_id="review-error"/>
        </section>
    }
}
