//! Vetting: weighted criteria (editable), each party's 1–5 scores with
//! notes, weighted totals per party and combined, and the due-diligence
//! checklist with owner, evidence link and done state.

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::members::{self, Member};
use accord_shared::model::parties::{self, Party};
use accord_shared::model::vetting::{
    self, CriterionPatch, DiligencePatch, NewDiligence, SCORE_RANGE, Vetting, WEIGHT_RANGE,
};
use accord_shared::model::{Collection, ItemId, MemberId, OpError, PartyId, items, touched};
use leptos::prelude::*;

use super::owner_options;
use crate::components::form::{AddForm, InlineError, NameField, feedback, on_add_owned};
use crate::components::items::RemoveButton;
use crate::components::rows::{self, ListContext, Placed};
use crate::edit::{self, apply_into, parse_whole};

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

/// The vetting page.
#[component]
pub fn VettingPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let places = vec![touched::vetting(), touched::parties(), touched::members()];
    let data = rows::watched(id, places, load);
    let table_error = feedback();
    let criterion_error = feedback();
    let diligence_error = feedback();
    let criteria = rows::ids(data, |d| &d.vetting.criteria, |c| c.id);
    let diligence_ids = rows::ids(data, |d| &d.vetting.diligence, |i| i.id);
    // Who can own an entry, shared by every row.
    let owners = rows::part(data, |d| &d.members);
    let party_ids = rows::ids(data, |d| &d.parties, |p| p.id);
    // Each organization scores its own column; the others are shown.
    let my_party = Memo::new(move |_| {
        let me = edit::me(&id);
        data.with(|d| {
            d.as_ref()?
                .members
                .iter()
                .find(|m| Some(m.id) == me)
                .and_then(|m| m.party)
        })
    });
    let header = move || {
        data.with(|d| {
            d.as_ref().map(|d| {
                d.parties
                    .iter()
                    .map(|p| view! { <th scope="col">{p.fields.name.clone()}</th> })
                    .collect_view()
            })
        })
    };
    let totals = move || {
        data.with(|d| {
            let d = d.as_ref()?;
            let cells = d
                .parties
                .iter()
                .map(|party| {
                    let total = d
                        .vetting
                        .totals
                        .per_party
                        .iter()
                        .find(|t| t.party == party.id)
                        .and_then(|t| t.weighted);
                    view! { <td data-testid="vetting-total" data-party=party.fields.name.clone()>{total_text(total)}</td> }
                })
                .collect_view();
            let combined = total_text(d.vetting.totals.combined);
            let span = d.parties.len().max(1).to_string();
            Some(view! {
                <tr>
                    <th scope="row" colspan="2">"Weighted total (1–5)"</th>
                    {cells}
                    <td></td>
                </tr>
                <tr>
                    <th scope="row" colspan="2">"Combined"</th>
                    <td data-testid="vetting-combined" colspan=span>{combined}</td>
                    <td></td>
                </tr>
            })
        })
    };
    let no_parties = move || {
        party_ids.with(Vec::is_empty).then(|| view! {
            <p class="muted">"No parties yet: add the partner organizations on the overview to score them."</p>
        })
    };
    let table = view! {
        <table class="matrix vetting" tabindex="0" aria-label="Vetting criteria and scores">
            <thead>
                <tr>
                    <th scope="col">"Criterion"</th>
                    <th scope="col">"Weight"</th>
                    {header}
                    <th></th>
                </tr>
            </thead>
            <tbody>
                <For each=move || criteria.get() key=|cid| *cid let:cid>
                    <CriterionRow list=ListContext::new(id, data, table_error) cid=cid party_ids=party_ids my_party=my_party/>
                </For>
            </tbody>
            <tfoot>{totals}</tfoot>
        </table>
        {no_parties}
    };

    let new_name = RwSignal::new(String::new());
    let new_weight = RwSignal::new("1".to_owned());
    let add_criterion = move |tx: &mut Transaction<'_>, item| {
        let weight = parse_whole(
            "weight",
            &new_weight.get_untracked(),
            WEIGHT_RANGE.0,
            WEIGHT_RANGE.1,
        )?;
        vetting::add_criterion(tx, item, &new_name.get_untracked(), weight)
    };
    let add_criterion_done = move || {
        new_name.set(String::new());
    };

    let new_item = RwSignal::new(String::new());
    let new_evidence = RwSignal::new(String::new());
    let add_diligence = move |tx: &mut Transaction<'_>, item, owner| {
        let new = NewDiligence {
            item: new_item.get_untracked(),
            owner,
            evidence: new_evidence.get_untracked(),
        };
        vetting::add_diligence(tx, item, &new)
    };
    let diligence_added = move || {
        new_item.set(String::new());
        new_evidence.set(String::new());
    };

    view! {
        <p class="muted">"Score each party 1–5 per criterion; totals are weighted by the criteria's weights (1–10)."</p>
        {table}
        <InlineError message=table_error test_id="vetting-error"/>
        <AddForm id=id add=add_criterion done=add_criterion_done error=criterion_error
            button="Add criterion" button_id="add-criterion" error_id="criterion-error">
            <input type="text" data-testid="new-criterion-name" placeholder="New criterion" aria-label="New criterion"
                bind:value=new_name/>
            <input type="number" class="narrow" data-testid="new-criterion-weight" aria-label="Weight"
                bind:value=new_weight/>
        </AddForm>
        <crate::components::items::RemovedItems id=id collection=Collection::Criteria/>
        <h3>"Due diligence"</h3>
        <ul class="checklist">
            <For each=move || diligence_ids.get() key=|did| *did let:did>
                <DiligenceRow list=ListContext::new(id, data, diligence_error) did=did owners=owners/>
            </For>
        </ul>
        <form class="inline-form" on:submit=on_add_owned(diligence_error, id, add_diligence, diligence_added)>
            <input type="text" data-testid="new-diligence-item" placeholder="Check to do" aria-label="New checklist item"
                bind:value=new_item/>
            <input type="url" data-testid="new-diligence-evidence" placeholder="Evidence link (optional)" aria-label="Evidence link"
                bind:value=new_evidence/>
            <button type="submit" data-testid="add-diligence">"Add check"</button>
        </form>
        <InlineError message=diligence_error test_id="diligence-error"/>
        <crate::components::items::RemovedItems id=id collection=Collection::Diligence/>
    }
}

/// One criterion: its name and weight, and a cell per party. The name and
/// weight re-render only when the criterion (or its place) changes, and
/// each cell only when its own score does, so one organization scoring
/// never disturbs the other typing a note.
#[component]
fn CriterionRow(
    list: ListContext<Data>,
    cid: ItemId,
    party_ids: Memo<Vec<PartyId>>,
    my_party: Memo<Option<PartyId>>,
) -> impl IntoView {
    let ListContext {
        id, data, error, ..
    } = list;
    let row = rows::placed(data, |d| &d.vetting.criteria, |c| c.id, cid);
    let name_and_weight = move || {
        let criterion = row.get()?.item;
        Some(view! {
            <td>
                <NameField value=criterion.name.clone() test_id="criterion-name" label="Criterion" class=""
                    rename=move |name| {
                        let patch = CriterionPatch { name: Some(name), ..CriterionPatch::default() };
                        apply_into(error, &id, |tx| vetting::update_criterion(tx, cid, &patch));
                    }/>
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
                        apply_into(error, &id, |tx| {
                            let weight = parse_whole("weight", &text, WEIGHT_RANGE.0, WEIGHT_RANGE.1)?;
                            let patch = CriterionPatch { weight: Some(weight), ..CriterionPatch::default() };
                            vetting::update_criterion(tx, cid, &patch)
                        });
                    }
                />
            </td>
        })
    };
    let actions = move || {
        let Placed { index, count, .. } = row.get()?;
        Some(view! {
            <td>
                <crate::components::items::MoveButtons id=id collection=Collection::Criteria item=cid index=index count=count error=error/>
                <button
                    class="link"
                    data-testid="criterion-delete"
                    on:click=move |_| {
                        crate::edit::remove_into(error, &id, Collection::Criteria, cid, |tx| items::delete(tx, Collection::Criteria, cid, edit::now()));
                    }
                >
                    "Remove"
                </button>
            </td>
        })
    };
    view! {
        <tr data-testid="criterion-row">
            {name_and_weight}
            <For each=move || party_ids.get() key=|party| *party let:party>
                <ScoreCell list=ListContext::new(id, data, error) party=party my_party=my_party criterion=cid/>
            </For>
            {actions}
        </tr>
    }
}

/// What one score cell shows: the score, the note, the party's name, and
/// whether it is another organization's (read-only).
#[derive(Debug, Clone, PartialEq)]
struct Cell {
    score: String,
    note: String,
    party_name: String,
    theirs: bool,
}

/// One party's score and note for one criterion, editable by members of
/// that party (and by anyone not yet a member of any).
#[component]
fn ScoreCell(
    list: ListContext<Data>,
    party: PartyId,
    my_party: Memo<Option<PartyId>>,
    criterion: ItemId,
) -> impl IntoView {
    let ListContext {
        id, data, error, ..
    } = list;
    let cell = Memo::new(move |_| {
        let theirs = my_party.get().is_some_and(|mine| mine != party);
        data.with(|d| {
            let d = d.as_ref()?;
            let score = d
                .vetting
                .scores
                .iter()
                .find(|s| s.party == party && s.criterion == criterion);
            Some(Cell {
                score: score
                    .and_then(|s| s.score)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                note: score.map(|s| s.note.clone()).unwrap_or_default(),
                party_name: d
                    .parties
                    .iter()
                    .find(|p| p.id == party)
                    .map(|p| p.fields.name.clone())
                    .unwrap_or_default(),
                theirs,
            })
        })
    });
    move || {
        let Cell {
            score,
            note,
            party_name,
            theirs,
        } = cell.get()?;
        let scored_by = theirs.then(|| format!("Scored by {party_name}"));
        Some(view! {
            <td class="score" title=scored_by>
                <input
                    type="number"
                    class="narrow"
                    data-testid="score-input"
                    disabled=theirs
                    data-party=party_name.clone()
                    aria-label=format!("Score of {party_name}")
                    prop:value=score
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
        })
    }
}

/// One due-diligence check: done, what, owner, evidence link.
#[component]
fn DiligenceRow(list: ListContext<Data>, did: ItemId, owners: Memo<Vec<Member>>) -> impl IntoView {
    let ListContext {
        id, data, error, ..
    } = list;
    let row = rows::placed(data, |d| &d.vetting.diligence, |i| i.id, did);
    let update = move |patch: DiligencePatch| {
        apply_into(error, &id, |tx| vetting::update_diligence(tx, did, &patch));
    };
    move || {
        let Placed { item, index, count } = row.get()?;
        let done = item.done;
        let owner = item.owner;
        Some(view! {
            <li data-testid="diligence-row" class:done=done>
                <input
                    type="checkbox"
                    data-testid="diligence-done"
                    aria-label="Done"
                    prop:checked=done
                    on:change=move |ev| update(DiligencePatch { done: Some(event_target_checked(&ev)), ..DiligencePatch::default() })
                />
                <input
                    type="text"
                    data-testid="diligence-item"
                    aria-label="Checklist item"
                    prop:value=item.item.clone()
                    on:change=move |ev| update(DiligencePatch { item: Some(event_target_value(&ev)), ..DiligencePatch::default() })
                />
                <select
                    data-testid="diligence-owner"
                    aria-label="Owner"
                    on:change=move |ev| {
                        let owner = event_target_value(&ev).parse::<MemberId>().ok();
                        update(DiligencePatch { owner: Some(owner), ..DiligencePatch::default() });
                    }
                >
                    {move || owner_options(&owners.get(), owner)}
                </select>
                <input
                    type="url"
                    data-testid="diligence-evidence"
                    placeholder="Evidence link"
                    aria-label="Evidence link"
                    prop:value=item.evidence.clone()
                    on:change=move |ev| update(DiligencePatch { evidence: Some(event_target_value(&ev)), ..DiligencePatch::default() })
                />
                {item.link().map(|link| view! {
                    <a href=link.to_owned() target="_blank" rel="noopener noreferrer">"open"</a>
                })}
                <crate::components::items::MoveButtons id=id collection=Collection::Diligence item=did index=index count=count error=error/>
                <RemoveButton id=id collection=Collection::Diligence item=did error=error test_id="diligence-delete"/>
            </li>
        })
    }
}
