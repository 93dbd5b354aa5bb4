//! The risk register: likelihood × impact (1–5 each), owner, mitigation,
//! contingency plan and status, with a 5×5 heat map of the risks that are
//! not closed. High risks (score ≥ [`risks::HIGH_SCORE`]) are highlighted.

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::boards::convert::ItemLink;
use accord_shared::model::members::{self, Member};
use accord_shared::model::risks::{
    self, HIGH_SCORE, HeatMap, NewRisk, Risk, RiskPatch, RiskStatus,
};
use accord_shared::model::{Collection, ItemId, OpError};
use leptos::prelude::*;

use super::member_options;
use crate::components::form::{AddForm, feedback};
use crate::components::from_note::FromNote;
use crate::components::items::RemoveButton;
use crate::components::live_text::{Caption, LiveTextArea};
use crate::components::rows::{self, CardList, ListContext};
use crate::components::text_field::TextField;
use crate::edit::{self, apply_into, parse_whole};

#[derive(Debug, Clone, PartialEq)]
struct Data {
    risks: Vec<Risk>,
    members: Vec<Member>,
}

fn load(doc: &Automerge) -> Data {
    Data {
        risks: risks::list(doc),
        members: members::list(doc),
    }
}

/// A status as people read it.
fn status_label(status: RiskStatus) -> &'static str {
    match status {
        RiskStatus::Open => "open",
        RiskStatus::Mitigating => "mitigating",
        RiskStatus::Accepted => "accepted",
        RiskStatus::Occurred => "occurred",
        RiskStatus::Closed => "closed",
    }
}

/// The heat class of a score: low, medium or high.
fn heat(score: u32) -> &'static str {
    if score >= u32::from(HIGH_SCORE) {
        "heat high"
    } else if score >= 8 {
        "heat medium"
    } else {
        "heat low"
    }
}

/// A 1–5 level typed into a form, or the op's message.
fn level(field: &'static str, text: &str) -> Result<u8, OpError> {
    // In 1..=5, so it fits.
    parse_whole(field, text, 1, 5).map(|v| v as u8)
}

/// One risk. Its fields re-render only when this risk changes, and the
/// mitigation and contingency plan take every keystroke as a splice, so a
/// partner's edit elsewhere never drops what is being typed here and both
/// can write the same plan at once (see [`LiveTextArea`]).
#[component]
fn RiskRow(list: ListContext<Data>, rid: ItemId) -> impl IntoView {
    let ListContext { id, data, error } = list;
    // The risk without its prose, which the text areas show themselves.
    let without_prose = |r: &Risk| {
        let mut r = r.clone();
        r.fields.mitigation.clear();
        r.fields.contingency.clear();
        r
    };
    let risk = rows::found(data, |d| &d.risks, |r| r.id, rid, without_prose);
    let members = rows::part(data, |d| &d.members);
    let update = move |patch: RiskPatch| {
        apply_into(error, &id, |tx| risks::update(tx, rid, &patch));
    };
    // A 1–5 level of the risk: `field` names it in messages and test ids.
    let level_field =
        move |label: &'static str, field: &'static str, value: u8, patch: fn(u8) -> RiskPatch| {
            view! {
                <label>{label}
                    <input type="number" class="narrow" data-testid=format!("risk-{field}")
                        prop:value=value.to_string()
                        on:change=move |ev| match level(field, &event_target_value(&ev)) {
                            Ok(v) => update(patch(v)),
                            Err(e) => error.set(Some(e.to_string())),
                        }/>
                </label>
            }
        };
    let fields = move || {
        let risk = risk.get()?;
        let statuses = RiskStatus::ALL
            .into_iter()
            .map(|s| view! { <option value=s.as_str() selected=s == risk.status>{status_label(s)}</option> })
            .collect_view();
        Some(view! {
            <div class="row">
                <input type="text" class="grow" data-testid="risk-title" aria-label="Risk"
                    prop:value=risk.fields.title.clone()
                    on:change=move |ev| update(RiskPatch { title: Some(event_target_value(&ev)), ..RiskPatch::default() })/>
                <span class=heat(u32::from(risk.score())) data-testid="risk-score">{format!("score {}", risk.score())}</span>
                {risk.is_high().then(|| view! { <span class="badge late" data-testid="risk-high">"high"</span> })}
            </div>
            <div class="row">
                {level_field("Likelihood ", "likelihood", risk.fields.likelihood, |v| RiskPatch { likelihood: Some(v), ..RiskPatch::default() })}
                {level_field("Impact ", "impact", risk.fields.impact, |v| RiskPatch { impact: Some(v), ..RiskPatch::default() })}
                <label>"Owner "
                    <select data-testid="risk-owner"
                        on:change=move |ev| update(RiskPatch { owner: Some(event_target_value(&ev).parse().ok()), ..RiskPatch::default() })>
                        {member_options(&members.get(), risk.fields.owner)}
                    </select>
                </label>
                <label>"Status "
                    <select data-testid="risk-status"
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            if let Some(status) = RiskStatus::from_stored(&value) {
                                update(RiskPatch { status: Some(status), ..RiskPatch::default() });
                            }
                        }>
                        {statuses}
                    </select>
                </label>
                <RemoveButton id=id collection=Collection::Risks item=rid error=error test_id="risk-delete"/>
            </div>
        })
    };
    view! {
        <li class="card risk" class:high=move || risk.with(|r| r.as_ref().is_some_and(Risk::is_high))
            data-testid="risk-row">
            <FromNote id=id link=ItemLink::Risk(rid)/>
            {fields}
            <LiveTextArea id=id field=TextField::RiskMitigation(rid) error=error
                    test_id="risk-mitigation" label="Mitigation" caption=Caption::Block rows=2/>
            <LiveTextArea id=id field=TextField::RiskContingency(rid) error=error
                    test_id="risk-contingency" label="Contingency plan" caption=Caption::Block rows=2/>
        </li>
    }
}

/// The risks page.
#[component]
pub fn RisksPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let data = edit::page_memo(id, load);
    let error = feedback();
    // Each row stays in the page while the document changes.
    let ids = rows::ids(data, |d| &d.risks, |r| r.id);
    let map = move || {
        data.with(|d| d.as_ref().map(|d| risks::heat_map(&d.risks)))
            .unwrap_or_default()
    };
    view! {
        <HeatMapView map=Signal::derive(map)/>
        <CardList ids=ids error=error error_id="risk-row-error"
            row=move |rid| view! { <RiskRow list=ListContext::new(id, data, error) rid=rid/> }/>
        <NewRiskForm id=id data=data/>
        <crate::components::items::RemovedItems id=id collection=Collection::Risks/>
    }
}

/// The 5×5 heat map: likelihood up the side, impact along the bottom.
#[component]
fn HeatMapView(map: Signal<HeatMap>) -> impl IntoView {
    let rows = move || {
        let map = map.get();
        (1..=5u8)
            .rev()
            .map(|l| {
                let cells = (1..=5u8)
                    .map(|i| {
                        let count = map.count(l, i);
                        view! {
                            <td class=heat(u32::from(l) * u32::from(i)) data-testid="heat-cell"
                                data-likelihood=l data-impact=i>
                                {(count > 0).then(|| count.to_string())}
                            </td>
                        }
                    })
                    .collect_view();
                view! { <tr><th scope="row">{l}</th>{cells}</tr> }
            })
            .collect_view()
    };
    view! {
        <table class="heat-map" data-testid="heat-map" aria-label="Open risks by likelihood and impact">
            <caption>"Open risks: likelihood (rows) × impact (columns)"</caption>
            <tbody>{rows}</tbody>
            <tfoot><tr><th></th>{(1..=5).map(|i| view! { <th>{i}</th> }).collect_view()}</tr></tfoot>
        </table>
    }
}

/// Registers a risk.
#[component]
fn NewRiskForm(id: DocumentId, data: Memo<Option<Data>>) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let likelihood = RwSignal::new("3".to_owned());
    let impact = RwSignal::new("3".to_owned());
    let owner = RwSignal::new(String::new());
    let mitigation = RwSignal::new(String::new());
    let contingency = RwSignal::new(String::new());
    let add = move |tx: &mut Transaction<'_>, item| {
        let new = NewRisk {
            title: title.get_untracked(),
            likelihood: level("likelihood", &likelihood.get_untracked())?,
            impact: level("impact", &impact.get_untracked())?,
            owner: owner.get_untracked().parse().ok(),
            mitigation: mitigation.get_untracked(),
            contingency: contingency.get_untracked(),
        };
        risks::add(tx, item, &new, edit::now())
    };
    let done = move || {
        title.set(String::new());
        mitigation.set(String::new());
        contingency.set(String::new());
    };
    let owners = move || {
        data.with(|d| {
            d.as_ref()
                .map(|d| member_options(&d.members, None).into_any())
        })
    };
    view! {
        <h3>"Register a risk"</h3>
        <AddForm id=id add=add done=done button="Add risk" button_id="add-risk" error_id="risk-error" class="stacked-form">
            <div class="row">
                <input type="text" class="grow" data-testid="new-risk-title" placeholder="What could happen" aria-label="Risk" bind:value=title/>
                <label>"Likelihood " <input type="number" class="narrow" data-testid="new-risk-likelihood" bind:value=likelihood/></label>
                <label>"Impact " <input type="number" class="narrow" data-testid="new-risk-impact" bind:value=impact/></label>
                <label>"Owner " <select data-testid="new-risk-owner" bind:value=owner>{owners}</select></label>
            </div>
            <textarea rows="2" data-testid="new-risk-mitigation" placeholder="Mitigation" aria-label="Mitigation" bind:value=mitigation></textarea>
            <textarea rows="2" data-testid="new-risk-contingency" placeholder="Contingency plan" aria-label="Contingency plan" bind:value=contingency></textarea>
        </AddForm>
    }
}
