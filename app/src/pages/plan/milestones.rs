//! Milestones: due and achieved, with a celebration note once achieved.

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::milestones::{self, Milestone, MilestonePatch, NewMilestone};
use accord_shared::model::{Collection, ItemId};
use leptos::prelude::*;

use crate::components::form::{AddForm, feedback};
use crate::components::icon::{Glyph, Icon};
use crate::components::items::RemoveButton;
use crate::components::rows::{ListContext, RecordList};
use crate::edit::{self, apply_into, format_date, format_opt_date, parse_date};

/// One milestone (the model reads them as a list).
fn milestone(doc: &Automerge, mid: ItemId) -> Option<Milestone> {
    milestones::list(doc).into_iter().find(|m| m.id == mid)
}

/// One milestone. It re-renders only when this milestone (or its place)
/// changes, so typing a celebration note survives the partner's edits
/// elsewhere.
#[component]
fn MilestoneRow(list: ListContext<()>, mid: ItemId) -> impl IntoView {
    let ListContext { id, error, .. } = list;
    let row = list.placed(mid, milestone);
    let update = move |patch: MilestonePatch| {
        apply_into(error, &id, |tx| milestones::update(tx, mid, &patch));
    };
    move || {
        let (m, index, count) = row.get()?.parts();
        let achieved = m.achieved_at.is_some();
        let late = !achieved && m.fields.due.is_some_and(|d| d < edit::now());
        Some(view! {
            <li class="card milestone" class:achieved=achieved class:late=late data-testid="milestone-row">
                <div class="row">
                    <input type="text" class="grow" data-testid="milestone-title" aria-label="Milestone"
                        prop:value=m.fields.title.clone()
                        on:change=move |ev| update(MilestonePatch { title: Some(event_target_value(&ev)), ..MilestonePatch::default() })/>
                    <label>"Due "
                        <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="milestone-due"
                            prop:value=format_opt_date(m.fields.due)
                            on:change=move |ev| match parse_date("due date", &event_target_value(&ev)) {
                                Ok(due) => update(MilestonePatch { due: Some(due), ..MilestonePatch::default() }),
                                Err(e) => error.set(Some(e.to_string())),
                            }/>
                    </label>
                    {if achieved {
                        view! {
                            <span class="badge achieved" data-testid="milestone-achieved">
                                <Glyph icon=Icon::Star/>
                                {format!(" achieved {}", format_opt_date(m.achieved_at))}
                            </span>
                            <button class="link" data-testid="milestone-reopen"
                                on:click=move |_| { apply_into(error, &id, |tx| milestones::reopen(tx, mid)); }>
                                "Reopen"
                            </button>
                        }.into_any()
                    } else {
                        view! {
                            {late.then(|| view! { <span class="badge late">"overdue"</span> })}
                            <button data-testid="milestone-achieve"
                                on:click=move |_| { apply_into(error, &id, |tx| milestones::achieve(tx, mid, edit::now(), "")); }>
                                "Mark achieved"
                            </button>
                        }.into_any()
                    }}
                    <crate::components::items::MoveButtons id=id collection=Collection::Milestones item=mid index=index count=count error=error/>
                    <RemoveButton id=id collection=Collection::Milestones item=mid error=error test_id="milestone-delete"/>
                </div>
                {achieved.then(|| view! {
                    <label class="celebration">"Celebration note "
                        <input type="text" class="grow" data-testid="milestone-celebration"
                            placeholder="How did we celebrate? Who to thank?"
                            prop:value=m.celebration.clone()
                            on:change=move |ev| {
                                let note = event_target_value(&ev);
                                apply_into(error, &id, |tx| milestones::set_celebration(tx, mid, &note));
                            }/>
                    </label>
                })}
            </li>
        })
    }
}

/// The milestones page.
#[component]
pub fn MilestonesPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let list = ListContext::of(
        id,
        Collection::Milestones,
        Memo::new(|_| Some(())),
        feedback(),
    );
    let title = RwSignal::new(String::new());
    let due = RwSignal::new(format_date(edit::now()));
    let add_error = feedback();
    let add = move |tx: &mut Transaction<'_>, item| {
        let new = NewMilestone {
            title: title.get_untracked(),
            due: parse_date("due date", &due.get_untracked())?,
        };
        milestones::add(tx, item, &new)
    };
    let add_done = move || {
        title.set(String::new());
    };
    view! {
        <RecordList list=list error_id="milestone-row-error"
            row=move |mid| view! { <MilestoneRow list=list mid=mid/> }>
            <AddForm id=id add=add done=add_done error=add_error
                button="Add milestone" button_id="add-milestone" error_id="milestone-error">
                <input type="text" data-testid="new-milestone-title" placeholder="New milestone" aria-label="New milestone" bind:value=title/>
                <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="new-milestone-due" aria-label="Due date" bind:value=due/>
            </AddForm>
        </RecordList>
    }
}
