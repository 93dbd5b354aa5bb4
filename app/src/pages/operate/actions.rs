//! Action items, shared by meetings and reviews: one row per action (owner,
//! due date, done; overdue highlighted) and the form that adds one. The
//! model keeps each action in the meeting or review that produced it.

use accord_shared::ids::DocumentId;
use accord_shared::model::MemberId;
use accord_shared::model::actions::{self, ActionItem, ActionPatch, ActionSource, NewAction};
use accord_shared::model::boards::convert::ItemLink;
use accord_shared::model::members::Member;
use leptos::prelude::*;

use super::{Drafts, member_options};
use accord_shared::automerge::transaction::Transaction;

use crate::components::form::{AddForm, DateInput, InlineError, feedback};
use crate::components::from_note::FromNote;
use crate::components::items::RemoveButton;
use crate::edit::{self, apply_into, format_date, format_opt_date, parse_date};

/// The member id chosen in an owner `<select>` (empty: nobody).
fn chosen_member(value: &str) -> Option<MemberId> {
    value.parse().ok()
}

/// One action item: title, owner, due date, done; overdue highlighted.
#[allow(clippy::needless_pass_by_value)] // component props are owned
#[component]
pub fn ActionRow(
    /// The partnership.
    id: DocumentId,
    /// The meeting or review holding the action.
    host: ActionSource,
    /// The action item.
    action: ActionItem,
    /// Every member, for the owner choice.
    members: Vec<Member>,
    /// The time overdue is judged at.
    now: u64,
) -> impl IntoView {
    let aid = action.id;
    let error = feedback();
    let update = move |patch: ActionPatch| {
        apply_into(error, &id, |tx| actions::update(tx, host, aid, &patch));
    };
    let overdue = action.is_overdue(now);
    let done = action.done;
    let link = ItemLink::Action {
        source: match host {
            ActionSource::Meeting(m) => ActionSource::Meeting(m),
            ActionSource::Review(r) => ActionSource::Review(r),
        },
        id: aid,
    };
    view! {
        <li class="action" class:overdue=overdue class:done=done data-testid="action-row">
            <div class="row">
                <input type="checkbox" data-testid="action-done" aria-label="Done" prop:checked=done
                    on:change=move |ev| {
                        let checked = event_target_checked(&ev);
                        apply_into(error, &id, |tx| actions::set_done(tx, host, aid, checked, edit::now()));
                    }/>
                <input type="text" class="grow" data-testid="action-title" aria-label="Action item"
                    prop:value=action.fields.title.clone()
                    on:change=move |ev| update(ActionPatch { title: Some(event_target_value(&ev)), ..ActionPatch::default() })/>
                <label>"Owner "
                    <select data-testid="action-owner"
                        on:change=move |ev| update(ActionPatch { owner: Some(chosen_member(&event_target_value(&ev))), ..ActionPatch::default() })>
                        {member_options(&members, action.fields.owner)}
                    </select>
                </label>
                <label>"Due "
                    <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="action-due" prop:value=format_opt_date(action.fields.due)
                        on:change=move |ev| match parse_date("due date", &event_target_value(&ev)) {
                            Ok(due) => update(ActionPatch { due: Some(due), ..ActionPatch::default() }),
                            Err(e) => error.set(Some(e.to_string())),
                        }/>
                </label>
                {overdue.then(|| view! { <span class="badge late" data-testid="action-overdue">"overdue"</span> })}
                {action.done_at.map(|at| view! { <span class="muted" data-testid="action-done-at">{format!("done {}", format_date(at))}</span> })}
                <FromNote id=id link=link/>
                <RemoveButton id=id collection=host.collection() item=aid error=error test_id="action-remove"/>
            </div>
            <InlineError message=error test_id="action-row-error"/>
        </li>
    }
}

/// Adds an action item with an owner and a due date.
#[allow(clippy::needless_pass_by_value)] // component props are owned
#[component]
pub fn NewActionForm(
    /// The partnership.
    id: DocumentId,
    /// The meeting or review to add the action to.
    host: ActionSource,
    /// Every member, for the owner choice.
    members: Vec<Member>,
) -> impl IntoView {
    let key = match host {
        ActionSource::Meeting(m) => format!("meeting:{m}"),
        ActionSource::Review(r) => format!("review:{r}"),
    };
    let title = Drafts::field(format!("action-title:{key}"), String::new);
    let owner = Drafts::field(format!("action-owner:{key}"), String::new);
    let due = Drafts::field(format!("action-due:{key}"), String::new);
    let add = move |tx: &mut Transaction<'_>, item| {
        let new = NewAction {
            title: title.get_untracked(),
            owner: chosen_member(&owner.get_untracked()),
            due: parse_date("due date", &due.get_untracked())?,
        };
        actions::add(tx, host, item, &new)
    };
    let done = move || {
        title.set(String::new());
        due.set(String::new());
    };
    view! {
        <AddForm id=id add=add done=done button="Add action" button_id="add-action" error_id="action-error">
            <input type="text" class="grow" data-testid="new-action-title" placeholder="New action item" aria-label="New action item" bind:value=title/>
            <select data-testid="new-action-owner" aria-label="Owner" bind:value=owner>
                {member_options(&members, None)}
            </select>
            <DateInput value=due test_id="new-action-due" label="Due date"/>
        </AddForm>
    }
}
