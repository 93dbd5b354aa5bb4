//! Vetting: weighted criteria (editable), each party's 1–5 scores with
//! notes, weighted totals per party and combined, and the due-diligence
//! checklist with owner, evidence link and done state.

use accord_shared::automerge::Automerge;
use accord_shared::ids::DocumentId;
use accord_shared::model::members::{self, Member};
use accord_shared::model::parties::{self, Party};
use accord_shared::model::vetting::{
    self, CriterionPatch, DiligencePatch, NewDiligence, SCORE_RANGE, Vetting, WEIGHT_RANGE,
};
use accord_shared::model::{Collection, ItemId, MemberId, OpError, PartyId, items};
use leptos::prelude::*;

use crate::components::form::{Feedback, InlineError, feedback};
use crate::edit::{self, apply_into, parse_whole};
use crate::store::Store;

#[derive(Debug, Clone, PartialEq)]
struct Data {
    vetting: Vetting,
    parties: Vec<Party>,
    members: Vec<Member>,
}

fn load(doc: &Automerge) -> Data {
    Data {
        vetting: vetting::read(doc),
        parties: parties::list(doc),
        members: members::list(doc)
            .into_iter()
            .filter(|m| m.left_at.is_none())
            .collect(),
    }
}

/// Formats a weighted total such as `3.67`, or `—` when nothing is scored.
fn total_text(total: Option<f64>) -> String {
    total.map_or_else(|| "—".to_owned(), |t| format!("{t:.2}"))
}

/// A score typed into a cell: empty clears it; otherwise a whole number 1–5.
fn parse_score(text: &str) -> Result<Option<u8>, OpError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let (min, max) = SCORE_RANGE;
    let score = parse_whole("score", text, u32::from(min), u32::from(max))?;
    Ok(u8::try_from(score).ok())
}

fn member_options(members: &[Member], selected: Option<MemberId>) -> impl IntoView + use<> {
    let options = members
        .iter()
        .map(|m| {
            let key = m.id.key();
            let chosen = selected == Some(m.id);
            view! { <option value=key selected=chosen>{m.name.clone()}</option> }
        })
        .collect_view();
    view! {
        <option value="" selected=selected.is_none()>"(no owner)"</option>
        {options}
    }
}

/// The vetting page.
#[component]
pub fn VettingPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let data = edit::memo(store, id, load);
    let table_error = feedback();
    let criterion_error = feedback();
    let diligence_error = feedback();

    let table = move || {
        let Some(data) = data.get() else {
            return ().into_any();
        };
        let parties = data.parties.clone();
        let header = parties
            .iter()
            .map(|p| view! { <th scope="col">{p.name.clone()}</th> })
            .collect_view();
        let count = data.vetting.criteria.len();
        // Each organization scores its own column; the others are shown.
        let me = edit::me(&id);
        let my_party = data
            .members
            .iter()
            .find(|m| Some(m.id) == me)
            .and_then(|m| m.party);
        let rows = data
            .vetting
            .criteria
            .iter()
            .enumerate()
            .map(|(index, criterion)| {
                let cid = criterion.id;
                let cells = parties
                    .iter()
                    .map(|party| score_cell(id, &data, party.id, my_party, cid, table_error))
                    .collect_view();
                view! {
                    <tr data-testid="criterion-row">
                        <td>
                            <input
                                type="text"
                                data-testid="criterion-name"
                                aria-label="Criterion"
                                prop:value=criterion.name.clone()
                                on:change=move |ev| {
                                    let name = event_target_value(&ev);
                                    let patch = CriterionPatch { name: Some(name), ..CriterionPatch::default() };
                                    apply_into(table_error, &id, |tx| vetting::update_criterion(tx, cid, &patch));
                                }
                            />
                        </td>
                        <td>
                            <input
                                type="number"
                                class="narrow"
                                data-testid="criterion-weight"
                                aria-label="Weight"
                                prop:value=criterion.weight.to_string()
                                on:change=move |ev| {
                                    let text = event_target_value(&ev);
                                    apply_into(table_error, &id, |tx| {
                                        let weight = parse_whole("weight", &text, WEIGHT_RANGE.0, WEIGHT_RANGE.1)?;
                                        let patch = CriterionPatch { weight: Some(weight), ..CriterionPatch::default() };
                                        vetting::update_criterion(tx, cid, &patch)
                                    });
                                }
                            />
                        </td>
                        {cells}
                        <td>
                            <super::MoveButtons id=id collection=Collection::Criteria item=cid index=index count=count error=table_error/>
                            <button
                                class="link"
                                data-testid="criterion-delete"
                                on:click=move |_| {
                                    apply_into(table_error, &id, |tx| {
                                        items::delete(tx, Collection::Criteria, cid, edit::now())
                                    });
                                }
                            >
                                "Remove"
                            </button>
                        </td>
                    </tr>
                }
            })
            .collect_view();
        let totals = parties
            .iter()
            .map(|party| {
                let total = data
                    .vetting
                    .totals
                    .per_party
                    .iter()
                    .find(|t| t.party == party.id)
                    .and_then(|t| t.weighted);
                view! { <td data-testid="vetting-total" data-party=party.name.clone()>{total_text(total)}</td> }
            })
            .collect_view();
        let combined = total_text(data.vetting.totals.combined);
        view! {
            <table class="matrix vetting">
                <thead>
                    <tr>
                        <th scope="col">"Criterion"</th>
                        <th scope="col">"Weight"</th>
                        {header}
                        <th></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
                <tfoot>
                    <tr>
                        <th scope="row" colspan="2">"Weighted total (1–5)"</th>
                        {totals}
                        <td></td>
                    </tr>
                    <tr>
                        <th scope="row" colspan="2">"Combined"</th>
                        <td data-testid="vetting-combined" colspan=parties.len().max(1).to_string()>{combined}</td>
                        <td></td>
                    </tr>
                </tfoot>
            </table>
            {parties.is_empty().then(|| view! {
                <p class="muted">"No parties yet: add the partner organizations on the overview to score them."</p>
            })}
        }
        .into_any()
    };

    let new_name = RwSignal::new(String::new());
    let new_weight = RwSignal::new("1".to_owned());
    let add_criterion = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(item) = edit::new_id(criterion_error) else {
            return;
        };
        let made = apply_into(criterion_error, &id, |tx| {
            let weight = parse_whole(
                "weight",
                &new_weight.get_untracked(),
                WEIGHT_RANGE.0,
                WEIGHT_RANGE.1,
            )?;
            vetting::add_criterion(tx, item, &new_name.get_untracked(), weight)
        });
        if made {
            new_name.set(String::new());
        }
    };

    let diligence = move || {
        let Some(data) = data.get() else {
            return ().into_any();
        };
        let count = data.vetting.diligence.len();
        data.vetting
            .diligence
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let did = item.id;
                let done = item.done;
                let owner_select = member_options(&data.members, item.owner);
                view! {
                    <li data-testid="diligence-row" class:done=done>
                        <input
                            type="checkbox"
                            data-testid="diligence-done"
                            aria-label="Done"
                            prop:checked=done
                            on:change=move |ev| {
                                let patch = DiligencePatch { done: Some(event_target_checked(&ev)), ..DiligencePatch::default() };
                                apply_into(diligence_error, &id, |tx| vetting::update_diligence(tx, did, &patch));
                            }
                        />
                        <input
                            type="text"
                            data-testid="diligence-item"
                            aria-label="Checklist item"
                            prop:value=item.item.clone()
                            on:change=move |ev| {
                                let patch = DiligencePatch { item: Some(event_target_value(&ev)), ..DiligencePatch::default() };
                                apply_into(diligence_error, &id, |tx| vetting::update_diligence(tx, did, &patch));
                            }
                        />
                        <select
                            data-testid="diligence-owner"
                            aria-label="Owner"
                            on:change=move |ev| {
                                let owner = event_target_value(&ev).parse::<MemberId>().ok();
                                let patch = DiligencePatch { owner: Some(owner), ..DiligencePatch::default() };
                                apply_into(diligence_error, &id, |tx| vetting::update_diligence(tx, did, &patch));
                            }
                        >
                            {owner_select}
                        </select>
                        <input
                            type="url"
                            data-testid="diligence-evidence"
                            placeholder="Evidence link"
                            aria-label="Evidence link"
                            prop:value=item.evidence.clone()
                            on:change=move |ev| {
                                let patch = DiligencePatch { evidence: Some(event_target_value(&ev)), ..DiligencePatch::default() };
                                apply_into(diligence_error, &id, |tx| vetting::update_diligence(tx, did, &patch));
                            }
                        />
                        {(!item.evidence.trim().is_empty()).then(|| view! {
                            <a href=item.evidence.clone() target="_blank" rel="noopener noreferrer">"open"</a>
                        })}
                        <super::MoveButtons id=id collection=Collection::Diligence item=did index=index count=count error=diligence_error/>
                        <button class="link" data-testid="diligence-delete"
                            on:click=move |_| {
                                apply_into(diligence_error, &id, |tx| items::delete(tx, Collection::Diligence, did, edit::now()));
                            }>
                            "Remove"
                        </button>
                    </li>
                }
            })
            .collect_view()
            .into_any()
    };

    let new_item = RwSignal::new(String::new());
    let new_evidence = RwSignal::new(String::new());
    let add_diligence = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(item) = edit::new_id(diligence_error) else {
            return;
        };
        let owner = edit::me(&id);
        let made = apply_into(diligence_error, &id, |tx| {
            let new = NewDiligence {
                item: new_item.get_untracked(),
                owner,
                evidence: new_evidence.get_untracked(),
            };
            vetting::add_diligence(tx, item, &new)
        });
        if made {
            new_item.set(String::new());
            new_evidence.set(String::new());
        }
    };

    view! {
        <h2>"Vetting"</h2>
        <p class="muted">"Score each party 1–5 per criterion; totals are weighted by the criteria's weights (1–10)."</p>
        {table}
        <InlineError message=table_error test_id="vetting-error"/>
        <form class="inline-form" on:submit=add_criterion>
            <input type="text" data-testid="new-criterion-name" placeholder="New criterion" aria-label="New criterion"
                bind:value=new_name/>
            <input type="number" class="narrow" data-testid="new-criterion-weight" aria-label="Weight"
                bind:value=new_weight/>
            <button type="submit" data-testid="add-criterion">"Add criterion"</button>
        </form>
        <InlineError message=criterion_error test_id="criterion-error"/>
        <super::RemovedItems id=id collection=Collection::Criteria/>
        <h3>"Due diligence"</h3>
        <ul class="checklist">{diligence}</ul>
        <form class="inline-form" on:submit=add_diligence>
            <input type="text" data-testid="new-diligence-item" placeholder="Check to do" aria-label="New checklist item"
                bind:value=new_item/>
            <input type="url" data-testid="new-diligence-evidence" placeholder="Evidence link (optional)" aria-label="Evidence link"
                bind:value=new_evidence/>
            <button type="submit" data-testid="add-diligence">"Add check"</button>
        </form>
        <InlineError message=diligence_error test_id="diligence-error"/>
        <super::RemovedItems id=id collection=Collection::Diligence/>
    }
}

/// One party's score and note for one criterion, editable by members of
/// that party (and by anyone not yet a member of any).
fn score_cell(
    id: DocumentId,
    data: &Data,
    party: PartyId,
    my_party: Option<PartyId>,
    criterion: ItemId,
    error: Feedback,
) -> impl IntoView + use<> {
    let theirs = my_party.is_some_and(|mine| mine != party);
    let score = data
        .vetting
        .scores
        .iter()
        .find(|s| s.party == party && s.criterion == criterion);
    let value = score
        .and_then(|s| s.score)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let note = score.map(|s| s.note.clone()).unwrap_or_default();
    let party_name = data
        .parties
        .iter()
        .find(|p| p.id == party)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let scored_by = theirs.then(|| format!("Scored by {party_name}"));
    view! {
        <td class="score" title=scored_by>
            <input
                type="number"
                class="narrow"
                data-testid="score-input"
                disabled=theirs
                data-party=party_name.clone()
                aria-label=format!("Score of {party_name}")
                prop:value=value
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    apply_into(error, &id, |tx| {
                        let score = parse_score(&text)?;
                        vetting::set_score(tx, party, criterion, score)
                    });
                }
            />
            <input
                type="text"
                data-testid="score-note"
                disabled=theirs
                placeholder="Note"
                aria-label=format!("Note of {party_name}")
                prop:value=note
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    apply_into(error, &id, |tx| vetting::set_score_note(tx, party, criterion, &text));
                }
            />
        </td>
    }
}
