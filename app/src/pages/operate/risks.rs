//! The risk register: likelihood × impact (1–5 each), owner, mitigation,
//! contingency plan and status, with a 5×5 heat map of the risks that are
//! not closed. High risks (score ≥ [`risks::HIGH_SCORE`]) are highlighted.

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::boards::convert::ItemLink;
use accord_shared::model::members::Member;
use accord_shared::model::risks::{
    self, HIGH_SCORE, HeatMap, NewRisk, Risk, RiskPatch, RiskStatus,
};
use accord_shared::model::{Collection, ItemId, OpError};
use leptos::prelude::*;

use super::member_options;
use crate::components::form::{AddForm, NameField};
use crate::components::from_note::FromNote;
use crate::components::items::RemoveButton;
use crate::components::live_text::{Caption, LiveTextAreas};
use crate::components::roster::Roster;
use crate::components::rows::{ListContext, RecordList};
use crate::components::text_field::TextField;
use crate::edit::{self, parse_whole};

/// A risk without its prose, which the text areas show themselves.
fn without_prose(doc: &Automerge, rid: ItemId) -> Option<Risk> {
    let mut risk = risks::get(doc, rid).ok()?;
    risk.fields.mitigation.clear();
    risk.fields.contingency.clear();
    Some(risk)
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
fn RiskRow(list: ListContext<Roster>, rid: ItemId) -> impl IntoView {
    let ListContext { id, error, .. } = list;
    let risk = list.record(rid, without_prose);
    let members = list.members();
    let update = list.updater(rid, |tx, rid, patch| risks::update(tx, rid, patch));
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
                <NameField value=risk.fields.title.clone() test_id="risk-title" label="Risk"
                    rename=move |title| update(RiskPatch { title: Some(title), ..RiskPatch::default() })/>
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
            <LiveTextAreas id=id error=error caption=Caption::Block rows=2 fields=vec![
                (TextField::RiskMitigation(rid), "risk-mitigation", "Mitigation"),
                (TextField::RiskContingency(rid), "risk-contingency", "Contingency plan"),
            ]/>
        </li>
    }
}

/// The risks page.
#[component]
pub fn RisksPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    // Each row stays in the page while the document changes.
    let list = ListContext::with_roster(id, Collection::Risks);
    view! {
        <HeatMapView list=list/>
        <RecordList list=list error_id="risk-row-error"
            row=move |rid| view! { <RiskRow list=list rid=rid/> }>
            <NewRiskForm id=id members=list.members()/>
        </RecordList>
    }
}

/// The 5×5 heat map of the risks of `list`: likelihood up the side,
/// impact along the bottom. A change to one risk re-reads that risk only.
#[component]
fn HeatMapView(list: ListContext<Roster>) -> impl IntoView {
    let all = list.each(without_prose);
    let rows = move || {
        let map: HeatMap = all.with(|all| risks::heat_map(all));
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
fn NewRiskForm(id: DocumentId, members: Memo<Vec<Member>>) -> impl IntoView {
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
    let owners = move || members.with(|members| member_options(members, None));
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
