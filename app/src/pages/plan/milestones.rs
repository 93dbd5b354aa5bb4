//! Milestones: due and achieved, with a celebration note once achieved.

use accord_shared::automerge::Automerge;
use accord_shared::ids::DocumentId;
use accord_shared::model::milestones::{self, Milestone, MilestonePatch, NewMilestone};
use accord_shared::model::{Collection, items};
use leptos::prelude::*;

use crate::components::form::{InlineError, feedback};
use crate::edit::{self, apply_into, format_date, format_opt_date, parse_date};
use crate::store::Store;

/// The milestones page.
#[component]
pub fn MilestonesPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let data = edit::memo(store, id, |doc: &Automerge| milestones::list(doc));
    let error = feedback();
    let rows = move || {
        let Some(list) = data.get() else {
            return ().into_any();
        };
        let now = edit::now();
        let count = list.len();
        list.iter()
            .enumerate()
            .map(|(index, m): (usize, &Milestone)| {
                let mid = m.id;
                let achieved = m.achieved_at.is_some();
                let late = !achieved && m.due.is_some_and(|d| d < now);
                let update = move |patch: MilestonePatch| {
                    apply_into(error, &id, |tx| milestones::update(tx, mid, &patch));
                };
                view! {
                    <li class="card milestone" class:achieved=achieved class:late=late data-testid="milestone-row">
                        <div class="row">
                            <input type="text" class="grow" data-testid="milestone-title" aria-label="Milestone"
                                prop:value=m.title.clone()
                                on:change=move |ev| update(MilestonePatch { title: Some(event_target_value(&ev)), ..MilestonePatch::default() })/>
                            <label>"Due "
                                <input type="date" data-testid="milestone-due"
                                    prop:value=format_opt_date(m.due)
                                    on:change=move |ev| match parse_date("due date", &event_target_value(&ev)) {
                                        Ok(due) => update(MilestonePatch { due: Some(due), ..MilestonePatch::default() }),
                                        Err(e) => error.set(Some(e.to_string())),
                                    }/>
                            </label>
                            {if achieved {
                                view! {
                                    <span class="badge achieved" data-testid="milestone-achieved">
                                        {format!("🎉 achieved {}", format_opt_date(m.achieved_at))}
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
                            <super::MoveButtons id=id collection=Collection::Milestones item=mid index=index count=count error=error/>
                            <button class="link" data-testid="milestone-delete"
                                on:click=move |_| { apply_into(error, &id, |tx| items::delete(tx, Collection::Milestones, mid, edit::now())); }>
                                "Remove"
                            </button>
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
                }
            })
            .collect_view()
            .into_any()
    };
    let title = RwSignal::new(String::new());
    let due = RwSignal::new(format_date(edit::now()));
    let add_error = feedback();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(item) = edit::new_id(add_error) else {
            return;
        };
        let made = apply_into(add_error, &id, |tx| {
            let new = NewMilestone {
                title: title.get_untracked(),
                due: parse_date("due date", &due.get_untracked())?,
            };
            milestones::add(tx, item, &new)
        });
        if made {
            title.set(String::new());
        }
    };
    view! {
        <h2>"Milestones"</h2>
        <ul class="cards">{rows}</ul>
        <InlineError message=error test_id="milestone-row-error"/>
        <form class="inline-form" on:submit=add>
            <input type="text" data-testid="new-milestone-title" placeholder="New milestone" aria-label="New milestone" bind:value=title/>
            <input type="date" data-testid="new-milestone-due" aria-label="Due date" bind:value=due/>
            <button type="submit" data-testid="add-milestone">"Add milestone"</button>
        </form>
        <InlineError message=add_error test_id="milestone-error"/>
        <super::RemovedItems id=id collection=Collection::Milestones/>
    }
}
