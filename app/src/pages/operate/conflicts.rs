//! Conflicts: raised by whom and when, severity, where each sits on the
//! escalation ladder (since when, due by when; flagged once it has been at
//! its level too long), escalating one level up (recorded with when and
//! by whom), resolving with a resolution, and reopening.

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::boards::convert::ItemLink;
use accord_shared::model::conflicts::{
    self, Conflict, ConflictFields, ConflictPatch, NewConflict, Severity,
};
use accord_shared::model::governance::{self, EscalationLevel};
use accord_shared::model::members::{self, Member};
use accord_shared::model::{Collection, ItemId, MemberId, OpError, touched};
use leptos::prelude::*;

use super::member_name;
use crate::components::form::{InlineError, NameField, feedback};
use crate::components::from_note::FromNote;
use crate::components::items::RemoveButton;
use crate::components::live_text::LiveTextArea;
use crate::components::rows::{self, ListContext, RecordList};
use crate::components::text_field::TextField;
use crate::edit::{self, apply_into, format_date};

/// What every conflict's card shows besides its conflict (which it reads).
#[derive(Debug, Clone, PartialEq)]
struct Data {
    ladder: Vec<EscalationLevel>,
    members: Vec<Member>,
}

fn load(doc: &Automerge) -> Data {
    Data {
        ladder: governance::ladder(doc),
        members: members::list(doc),
    }
}

/// The places [`Data`] is read from.
fn data_places() -> Vec<touched::Path> {
    vec![
        touched::collection(Collection::EscalationLevels),
        touched::members(),
    ]
}

/// A conflict without its description, which the text area shows.
fn without_prose(doc: &Automerge, cid: ItemId) -> Option<Conflict> {
    let mut conflict = conflicts::get(doc, cid).ok()?;
    conflict.fields.description.clear();
    Some(conflict)
}

/// The severity a `<select>` value names.
fn parse_severity(value: &str) -> Option<Severity> {
    Severity::ALL.into_iter().find(|s| s.as_str() == value)
}

/// Runs an op that needs this device's member and a fresh entry id.
fn with_me_and_id(
    error: RwSignal<Option<String>>,
    id: &DocumentId,
    op: impl FnOnce(&mut Transaction<'_>, MemberId, ItemId) -> Result<(), OpError>,
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
    let data = rows::watched(id, data_places(), load);
    // Each card stays in the page while the document changes.
    let list = ListContext::of(id, Collection::Conflicts, data, feedback());
    let no_ladder = move || {
        data.with(|d| d.as_ref().is_some_and(|d| d.ladder.is_empty()))
            .then(|| view! {
                <p class="note" data-testid="no-ladder">
                    "There is no escalation ladder yet: set its levels on the Governance page so conflicts can be escalated."
                </p>
            })
    };
    view! {
        {no_ladder}
        <RecordList list=list row=move |cid| view! { <ConflictRow id=id cid=cid data=data/> }>
            <RaiseForm id=id/>
        </RecordList>
    }
}

/// What one conflict's card shows besides its description, which the text
/// area shows itself.
#[derive(Debug, Clone, PartialEq)]
struct Card {
    conflict: Conflict,
    ladder_len: usize,
    /// Escalation entries, one line each: when, what, level, by whom.
    history: Vec<String>,
    raised_by: String,
    resolved_by: String,
}

fn card(data: &Data, conflict: &Conflict) -> Card {
    let history = conflict
        .escalations
        .iter()
        .map(|e| {
            let name = data
                .ladder
                .iter()
                .find(|l| l.id == e.level)
                .map_or("(removed level)", |l| l.name.as_str());
            let what = if e.reopened { "reopened at" } else { "at" };
            format!(
                "{} {what} {name} by {}",
                format_date(e.at),
                member_name(&data.members, e.by)
            )
        })
        .collect();
    Card {
        conflict: conflict.clone(),
        ladder_len: data.ladder.len(),
        history,
        raised_by: member_name(&data.members, conflict.raised_by),
        resolved_by: member_name(&data.members, conflict.resolved_by),
    }
}

/// Where a conflict sits on the ladder, as people read it.
fn level_line(conflict: &Conflict, total: usize) -> String {
    match &conflict.level {
        Some(level) => format!(
            "Level {} of {total}: {} ({}), since {}, due by {}",
            level.index + 1,
            level.level.name,
            level.level.who,
            format_date(level.since),
            format_date(level.deadline),
        ),
        None => "Not on the escalation ladder".to_owned(),
    }
}

/// One conflict with its level, escalation history and resolution. Its
/// fields re-render only when this conflict changes, and the description
/// takes every keystroke as a splice (see [`LiveTextArea`]), so a partner
/// escalating it or typing in it never drops what is being typed here.
#[component]
fn ConflictRow(id: DocumentId, cid: ItemId, data: Memo<Option<Data>>) -> impl IntoView {
    let error = feedback();
    // A conflict's level is read from the ladder.
    let ladder = vec![touched::collection(Collection::EscalationLevels)];
    let conflict = rows::record_also(id, Collection::Conflicts, cid, ladder, without_prose);
    let card = Memo::new(move |_| {
        let conflict = conflict.get()?;
        data.with(|d| d.as_ref().map(|d| card(d, &conflict)))
    });
    let is_open = move || card.with(|c| c.as_ref().is_some_and(|c| c.conflict.is_open()));
    let overdue = move || {
        card.with(|c| {
            c.as_ref()
                .is_some_and(|c| c.conflict.is_overdue(edit::now()))
        })
    };
    let update = move |patch: ConflictPatch| {
        apply_into(error, &id, |tx| conflicts::update(tx, cid, &patch));
    };
    // Kept while the card re-renders, until it is resolved.
    let resolution = RwSignal::new(String::new());
    let resolve = move |_| {
        let text = resolution.get_untracked();
        if with_me_and_id(error, &id, |tx, me, _| {
            conflicts::resolve(tx, cid, &text, me, edit::now())
        }) {
            resolution.set(String::new());
        }
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
    let head = move || {
        let Card {
            conflict,
            ladder_len,
            raised_by,
            ..
        } = card.get()?;
        let severities = Severity::ALL
            .into_iter()
            .map(|s| view! { <option value=s.as_str() selected=s == conflict.fields.severity>{s.as_str()}</option> })
            .collect_view();
        let open = conflict.is_open();
        let overdue = conflict.is_overdue(edit::now());
        Some(view! {
            <div class="row">
                <NameField value=conflict.fields.title.clone() test_id="conflict-title" label="Conflict"
                    rename=move |title| update(ConflictPatch { title: Some(title), ..ConflictPatch::default() })/>
                <label>"Severity "
                    <select data-testid="conflict-severity"
                        on:change=move |ev| update(ConflictPatch { severity: parse_severity(&event_target_value(&ev)), ..ConflictPatch::default() })>
                        {severities}
                    </select>
                </label>
                <span class="badge" data-testid="conflict-status">{if open { "open" } else { "resolved" }}</span>
                {overdue.then(|| view! { <span class="badge late" data-testid="conflict-overdue">"overdue at this level"</span> })}
            </div>
            <p class="muted">{format!("Raised by {raised_by} on {}", format_date(conflict.raised_at))}</p>
            <p data-testid="conflict-level">{level_line(&conflict, ladder_len)}</p>
        })
    };
    let history = move || {
        let entries = card.with(|c| c.as_ref().map(|c| c.history.clone()).unwrap_or_default());
        let count = entries.len();
        let items = entries
            .into_iter()
            .map(|line| view! { <li data-testid="escalation-entry">{line}</li> })
            .collect_view();
        view! {
            <summary>{format!("Escalation history ({count})")}</summary>
            <ul class="plain">{items}</ul>
        }
    };
    let at_top = move || {
        card.with(|c| {
            c.as_ref().is_some_and(|c| {
                c.conflict
                    .level
                    .as_ref()
                    .is_some_and(|l| l.index + 1 >= c.ladder_len)
            })
        })
    };
    let resolved = move || {
        card.with(|c| {
            c.as_ref().map(|c| {
                format!(
                    "Resolved {} by {}: {}",
                    c.conflict.resolved_at.map(format_date).unwrap_or_default(),
                    c.resolved_by,
                    c.conflict.resolution
                )
            })
        })
    };
    view! {
        <li class="card conflict" class:overdue=overdue class:resolved=move || !is_open() data-testid="conflict-row">
            <FromNote id=id link=ItemLink::Conflict(cid)/>
            {head}
            <LiveTextArea id=id field=TextField::ConflictDescription(cid) error=error
                test_id="conflict-description" label="Description" placeholder="What it is about" rows=2/>
            <details>{history}</details>
            <RemoveButton id=id collection=Collection::Conflicts item=cid error=error test_id="conflict-delete"/>
            <Show when=is_open fallback=move || view! {
                <p data-testid="conflict-resolved">{resolved}</p>
                <button type="button" data-testid="conflict-reopen" on:click=reopen>"Reopen"</button>
            }>
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
            </Show>
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
                fields: ConflictFields {
                    title: title.get_untracked(),
                    description: description.get_untracked(),
                    severity: parse_severity(&severity.get_untracked()).unwrap_or(Severity::Medium),
                },
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
