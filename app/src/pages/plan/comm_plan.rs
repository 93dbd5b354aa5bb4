//! The communication plan: what, to whom, by which medium, how often, who
//! owns it, and when each is next due (overdue ones are flagged).

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::comm_plan::{
    self, Communication, CommunicationPatch, MAX_FREQUENCY_DAYS, NewCommunication,
};
use accord_shared::model::members::{self, Member};
use accord_shared::model::{Collection, ItemId, MemberId, touched};
use leptos::prelude::*;

use super::owner_options;
use crate::components::form::{InlineError, feedback, on_add_owned};
use crate::components::items::RemoveButton;
use crate::components::rows::{self, ListContext};
use crate::edit::{self, apply_into, format_opt_date, parse_whole};

/// Who can own an entry: the current members.
fn owners(doc: &Automerge) -> Vec<Member> {
    members::list(doc)
        .into_iter()
        .filter(|m| m.left_at.is_none())
        .collect()
}

/// One entry (the model reads the plan as a list).
fn entry(doc: &Automerge, cid: ItemId) -> Option<Communication> {
    comm_plan::list(doc).into_iter().find(|c| c.id == cid)
}

/// One entry of the plan. It re-renders only when this entry (or its place,
/// or who can own it) changes.
#[component]
fn CommRow(
    list: ListContext<Vec<Member>>,
    cid: ItemId,
    owners: Memo<Vec<Member>>,
) -> impl IntoView {
    let ListContext { id, error, .. } = list;
    let row = list.placed(cid, entry);
    let update = move |patch: CommunicationPatch| {
        apply_into(error, &id, |tx| comm_plan::update(tx, cid, &patch));
    };
    let text = move |field: &'static str| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            let mut patch = CommunicationPatch::default();
            match field {
                "what" => patch.what = Some(value),
                "audience" => patch.audience = Some(value),
                _ => patch.medium = Some(value),
            }
            update(patch);
        }
    };
    move || {
        let (c, index, count) = row.get()?.parts();
        let overdue = c.next_due.is_some_and(|d| d < edit::now());
        Some(view! {
            <tr data-testid="comm-row">
                <td><input type="text" data-testid="comm-what" aria-label="What" prop:value=c.fields.what.clone() on:change=text("what")/></td>
                <td><input type="text" data-testid="comm-audience" aria-label="Audience" prop:value=c.fields.audience.clone() on:change=text("audience")/></td>
                <td><input type="text" data-testid="comm-medium" aria-label="Medium" prop:value=c.fields.medium.clone() on:change=text("medium")/></td>
                <td>
                    <input type="number" class="narrow" data-testid="comm-frequency" aria-label="Every (days)"
                        prop:value=c.fields.frequency_days.to_string()
                        on:change=move |ev| {
                            match parse_whole("frequency (days)", &event_target_value(&ev), 1, MAX_FREQUENCY_DAYS) {
                                Ok(days) => update(CommunicationPatch { frequency_days: Some(days), ..CommunicationPatch::default() }),
                                Err(e) => error.set(Some(e.to_string())),
                            }
                        }/>
                </td>
                <td>
                    <select data-testid="comm-owner" aria-label="Owner"
                        on:change=move |ev| {
                            let owner = event_target_value(&ev).parse::<MemberId>().ok();
                            update(CommunicationPatch { owner: Some(owner), ..CommunicationPatch::default() });
                        }>
                        {move || owner_options(&owners.get(), c.fields.owner)}
                    </select>
                </td>
                <td data-testid="comm-next-due" class:overdue=overdue>
                    {format_opt_date(c.next_due)}
                    {overdue.then_some(" (overdue)")}
                </td>
                <td>
                    <button data-testid="comm-sent"
                        on:click=move |_| { apply_into(error, &id, |tx| comm_plan::mark_sent(tx, cid, edit::now())); }>
                        "Sent today"
                    </button>
                    <crate::components::items::MoveButtons id=id collection=Collection::CommPlan item=cid index=index count=count error=error/>
                    <RemoveButton id=id collection=Collection::CommPlan item=cid error=error test_id="comm-delete"/>
                </td>
            </tr>
        })
    }
}

/// The communication plan page.
#[component]
pub fn CommPlanPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let data = rows::watched(id, vec![touched::members()], owners);
    let error = feedback();
    let list = ListContext::of(id, Collection::CommPlan, data, error);
    // Who can own an entry, shared by every row.
    let owners = rows::part(data, |d| d);
    let what = RwSignal::new(String::new());
    let audience = RwSignal::new(String::new());
    let medium = RwSignal::new(String::new());
    let frequency = RwSignal::new("7".to_owned());
    let add_error = feedback();
    let add = move |tx: &mut Transaction<'_>, item, owner| {
        let new = NewCommunication {
            what: what.get_untracked(),
            audience: audience.get_untracked(),
            medium: medium.get_untracked(),
            frequency_days: parse_whole(
                "frequency (days)",
                &frequency.get_untracked(),
                1,
                MAX_FREQUENCY_DAYS,
            )?,
            owner,
        };
        comm_plan::add(tx, item, &new, edit::now())
    };
    let added = move || {
        what.set(String::new());
        audience.set(String::new());
        medium.set(String::new());
    };
    view! {
        <table class="matrix comm" tabindex="0" aria-label="Communication plan">
            <thead><tr>
                <th scope="col">"What"</th><th scope="col">"To whom"</th><th scope="col">"Medium"</th>
                <th scope="col">"Every (days)"</th><th scope="col">"Owner"</th><th scope="col">"Next due"</th><th></th>
            </tr></thead>
            <tbody>
                <For each=move || list.order().get() key=|cid| *cid let:cid>
                    <CommRow list=list cid=cid owners=owners/>
                </For>
            </tbody>
        </table>
        <InlineError message=error test_id="comm-row-error"/>
        <form class="inline-form" on:submit=on_add_owned(add_error, id, add, added)>
            <input type="text" data-testid="new-comm-what" placeholder="What (e.g. status report)" aria-label="What" bind:value=what/>
            <input type="text" data-testid="new-comm-audience" placeholder="To whom" aria-label="Audience" bind:value=audience/>
            <input type="text" data-testid="new-comm-medium" placeholder="Medium" aria-label="Medium" bind:value=medium/>
            <input type="number" class="narrow" data-testid="new-comm-frequency" aria-label="Every (days)" bind:value=frequency/>
            <button type="submit" data-testid="add-comm">"Add"</button>
        </form>
        <InlineError message=add_error test_id="comm-error"/>
        <crate::components::items::RemovedItems id=id collection=Collection::CommPlan/>
    }
}
