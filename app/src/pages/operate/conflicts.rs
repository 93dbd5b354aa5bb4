//! Conflicts: raised by whom and when, severity, where each sits on the
//! escalation ladder (since when, due by when; flagged once it has been at
//! its level too long), escalating one level up (recorded with when and
//! by whom), resolving with a resolution, and reopening.

use accord_shared::automerge::Automerge;
use accord_shared::ids::DocumentId;
use accord_shared::model::boards::convert::ItemLink;
use accord_shared::model::conflicts::{
    self, Conflict, ConflictPatch, ConflictStatus, NewConflict, Severity,
};
use accord_shared::model::governance::{self, EscalationLevel};
use accord_shared::model::members::{self, Member};
use accord_shared::model::{Collection, ItemId, MemberId};
use leptos::prelude::*;

use super::member_name;
use crate::components::form::{InlineError, feedback};
use crate::edit::{self, apply_into, format_date};
use crate::pages::boards::source::FromNote;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq)]
struct Data {
    conflicts: Vec<Conflict>,
    ladder: Vec<EscalationLevel>,
    members: Vec<Member>,
}

fn load(doc: &Automerge) -> Data {
    Data {
        conflicts: conflicts::list(doc),
        ladder: governance::ladder(doc),
        members: members::list(doc),
    }
}

/// The severity a `<select>` value names.
fn parse_severity(value: &str) -> Option<Severity> {
    Severity::ALL.into_iter().find(|s| s.as_str() == value)
}

/// Runs an op that needs this device's member and a fresh entry id.
fn with_me_and_id(
    error: RwSignal<Option<String>>,
    id: &DocumentId,
    op: impl FnOnce(
        &mut accord_shared::automerge::transaction::Transaction<'_>,
        MemberId,
        ItemId,
    ) -> Result<(), accord_shared::model::OpError>,
) -> bool {
    let me = match edit::me_or_error(id) {
        Ok(me) => me,
        Err(e) => {
            error.set(Some(e.to_string()));
            return false;
        }
    };
    let Some(entry) = edit::new_id(error) else {
        return false;
    };
    apply_into(error, id, |tx| op(tx, me, entry))
}

/// The conflicts page.
#[component]
pub fn ConflictsPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let data = edit::memo(store, id, load);
    super::Drafts::provide();
    let rows = move || {
        let Some(data) = data.get() else {
            return ().into_any();
        };
        let now = edit::now();
        data.conflicts
            .iter()
            .map(|c| view! { <ConflictCard id=id conflict=c.clone() data=data.clone() now=now/> })
            .collect_view()
            .into_any()
    };
    let no_ladder = move || {
        data.with(|d| d.as_ref().is_some_and(|d| d.ladder.is_empty()))
            .then(|| view! {
                <p class="note" data-testid="no-ladder">
                    "There is no escalation ladder yet: set its levels on the Governance page so conflicts can be escalated."
                </p>
            })
    };
    view! {
        <h2>"Conflicts"</h2>
        {no_ladder}
        <ul class="cards">{rows}</ul>
        <RaiseForm id=id/>
        <crate::pages::plan::RemovedItems id=id collection=Collection::Conflicts/>
    }
}

/// One conflict with its level, escalation history and resolution.
#[allow(clippy::needless_pass_by_value)] // component props are owned
#[component]
fn ConflictCard(id: DocumentId, conflict: Conflict, data: Data, now: u64) -> impl IntoView {
    let cid = conflict.id;
    let error = feedback();
    let open = conflict.status == ConflictStatus::Open;
    let overdue = conflict.is_overdue(now);
    let update = move |patch: ConflictPatch| {
        apply_into(error, &id, |tx| conflicts::update(tx, cid, &patch));
    };
    let severities = Severity::ALL
        .into_iter()
        .map(|s| view! { <option value=s.as_str() selected=s == conflict.severity>{s.as_str()}</option> })
        .collect_view();
    let total = data.ladder.len();
    let level = match &conflict.level {
        Some(level) => format!(
            "Level {} of {total}: {} ({}), since {}, due by {}",
            level.index + 1,
            level.level.name,
            level.level.who,
            format_date(level.since),
            format_date(level.deadline),
        ),
        None => "Not on the escalation ladder".to_owned(),
    };
    let at_top = conflict
        .level
        .as_ref()
        .is_some_and(|l| l.index + 1 >= total);
    let history = conflict
        .escalations
        .iter()
        .map(|e| {
            let name = data
                .ladder
                .iter()
                .find(|l| l.id == e.level)
                .map_or_else(|| "(removed level)".to_owned(), |l| l.name.clone());
            let what = if e.reopened { "reopened at" } else { "at" };
            view! {
                <li data-testid="escalation-entry">
                    {format!("{} {what} {name} by {}", format_date(e.at), member_name(&data.members, e.by))}
                </li>
            }
        })
        .collect_view();
    let resolution =
        super::Drafts::field(format!("resolution:{cid}"), || conflict.resolution.clone());
    let resolve = move |_| {
        let text = resolution.get_untracked();
        with_me_and_id(error, &id, |tx, me, _| {
            conflicts::resolve(tx, cid, &text, me, edit::now())
        });
    };
    let escalate = move |_| {
        with_me_and_id(error, &id, |tx, me, entry| {
            conflicts::escalate(tx, cid, entry, me, edit::now())
        });
    };
    let reopen = move |_| {
        with_me_and_id(error, &id, |tx, me, entry| {
            conflicts::reopen(tx, cid, entry, me, edit::now())
        });
    };
    view! {
        <li class="card conflict" class:overdue=overdue class:resolved=!open data-testid="conflict-row">
            <FromNote id=id link=ItemLink::Conflict(cid)/>
            <div class="row">
                <input type="text" class="grow" data-testid="conflict-title" aria-label="Conflict"
                    prop:value=conflict.title.clone()
                    on:change=move |ev| update(ConflictPatch { title: Some(event_target_value(&ev)), ..ConflictPatch::default() })/>
                <label>"Severity "
                    <select data-testid="conflict-severity"
                        on:change=move |ev| update(ConflictPatch { severity: parse_severity(&event_target_value(&ev)), ..ConflictPatch::default() })>
                        {severities}
                    </select>
                </label>
                <span class="badge" data-testid="conflict-status">{if open { "open" } else { "resolved" }}</span>
                {overdue.then(|| view! { <span class="badge late" data-testid="conflict-overdue">"overdue at this level"</span> })}
            </div>
            <p class="muted">{format!("Raised by {} on {}", member_name(&data.members, conflict.raised_by), format_date(conflict.raised_at))}</p>
            <p data-testid="conflict-level">{level}</p>
            <textarea rows="2" data-testid="conflict-description" placeholder="What it is about" aria-label="Description"
                prop:value=conflict.description.clone()
                on:change=move |ev| update(ConflictPatch { description: Some(event_target_value(&ev)), ..ConflictPatch::default() })>
            </textarea>
            <details>
                <summary>{format!("Escalation history ({})", conflict.escalations.len())}</summary>
                <ul class="plain">{history}</ul>
            </details>
            <button type="button" class="link" data-testid="conflict-delete"
                on:click=move |_| { apply_into(error, &id, |tx| conflicts::delete(tx, cid, edit::now())); }>
                "Remove"
            </button>
            {if open {
                view! {
                    <div class="row">
                        <button type="button" data-testid="conflict-escalate" disabled=at_top on:click=escalate>
                            "Escalate one level"
                        </button>
                    </div>
                    <div class="row">
                        <input type="text" class="grow" data-testid="conflict-resolution" placeholder="How it was resolved"
                            aria-label="Resolution" bind:value=resolution/>
                        <button type="button" data-testid="conflict-resolve" on:click=resolve>"Resolve"</button>
                    </div>
                }.into_any()
            } else {
                view! {
                    <p data-testid="conflict-resolved">
                        {format!("Resolved {} by {}: {}", conflict.resolved_at.map(format_date).unwrap_or_default(),
                            member_name(&data.members, conflict.resolved_by), conflict.resolution)}
                    </p>
                    <button type="button" data-testid="conflict-reopen" on:click=reopen>"Reopen"</button>
                }.into_any()
            }}
            <InlineError message=error test_id="conflict-row-error"/>
        </li>
    }
}

/// Raises a conflict (it starts at the bottom of the ladder).
#[component]
fn RaiseForm(id: DocumentId) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let severity = RwSignal::new(Severity::Medium.as_str().to_owned());
    let error = feedback();
    let raise = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let made = with_me_and_id(error, &id, |tx, me, item| {
            let new = NewConflict {
                title: title.get_untracked(),
                description: description.get_untracked(),
                severity: parse_severity(&severity.get_untracked()).unwrap_or(Severity::Medium),
                raised_by: me,
            };
            conflicts::raise(tx, item, &new, edit::now())
        });
        if made {
            title.set(String::new());
            description.set(String::new());
        }
    };
    let severities = Severity::ALL
        .into_iter()
        .map(|s| view! { <option value=s.as_str() selected=s == Severity::Medium>{s.as_str()}</option> })
        .collect_view();
    view! {
        <h3>"Raise a conflict"</h3>
        <form class="stacked-form" on:submit=raise>
            <div class="row">
                <input type="text" class="grow" data-testid="new-conflict-title" placeholder="What is the conflict" aria-label="Conflict" bind:value=title/>
                <select data-testid="new-conflict-severity" aria-label="Severity" bind:value=severity>{severities}</select>
            </div>
            <textarea rows="2" data-testid="new-conflict-description" placeholder="Details" aria-label="Details" bind:value=description></textarea>
            <button type="submit" data-testid="raise-conflict">"Raise"</button>
        </form>
        <InlineError message=error test_id="conflict-error"/>
    }
}
