//! Meetings: check-ins, quarterly business reviews, steering committees and
//! workshops, each with its agenda, minutes, decision log and action items
//! (owner, due date, done; overdue ones highlighted), marked held when they
//! took place, and exported to calendars as `.ics`.

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::meetings::{
    self, DEFAULT_DURATION_MINUTES, Meeting, MeetingKind, MeetingPatch, NewDecision, NewMeeting,
};
use accord_shared::model::members::Member;
use accord_shared::model::{Collection, ItemId, OpError, check_ins, overview};
use accord_shared::views::ics;
use leptos::prelude::*;

use accord_shared::model::actions::ActionSource;

use super::actions::{ActionRow, NewActionForm};
use super::{Drafts, format_date_time, format_time, member_name, parse_time};
use crate::browser;
use crate::components::form::{AddForm, InlineError, feedback, on_add, on_add_as_me};
use crate::components::icon::{Glyph, Icon};
use crate::components::items::RemoveButton;
use crate::components::live_text::LiveTextArea;
use crate::components::roster::Roster;
use crate::components::rows;
use crate::components::rows::{ListContext, RecordList};
use crate::components::text_field::TextField;
use crate::edit::{self, apply_into, format_date, parse_date, parse_whole};

fn meeting(doc: &Automerge, mid: ItemId) -> Option<Meeting> {
    meetings::get(doc, mid).ok()
}

/// The date and time inputs' text as a meeting time: `None` when the date
/// is empty (the model then uses the review cadence's next check-in).
fn meeting_time(date: &str, time: &str) -> Result<Option<u64>, OpError> {
    let offset = parse_time("time", time)?;
    Ok(parse_date("date", date)?.map(|day| day + offset))
}

/// A file name for a calendar export: the title's letters and digits.
fn ics_name(title: &str) -> String {
    let slug: String = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        "meetings.ics".to_owned()
    } else {
        format!("{slug}.ics")
    }
}

/// Offers `text` as an `.ics` download, or says why it could not.
fn offer_calendar(error: RwSignal<Option<String>>, name: &str, text: &str) {
    match browser::download(&ics_name(name), "text/calendar;charset=utf-8", text) {
        Ok(()) => error.set(None),
        Err(e) => error.set(Some(format!("could not export the calendar: {e}"))),
    }
}

/// The meetings page.
#[component]
pub fn MeetingsPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let list = ListContext::with_roster(id, Collection::Meetings);
    super::Drafts::provide();
    let export_error = feedback();
    let export_all = move |_| {
        let read = |doc: &Automerge| (meetings::list(doc), overview::title(doc));
        if let Some((all, partnership)) = edit::read_in(&id, &[], read) {
            let text = ics::calendar(&all, &partnership, edit::now());
            offer_calendar(export_error, &format!("{partnership} meetings"), &text);
        }
    };
    view! {
        <div class="row">
            <button type="button" data-testid="meetings-ics" on:click=export_all>
                "Download calendar (.ics)"
            </button>
        </div>
        <InlineError message=export_error test_id="ics-error"/>
        <RecordList list=list class="cards meetings"
            row=move |mid| view! { <MeetingCard id=id mid=mid data=list.data/> }>
            <ScheduleForm id=id/>
        </RecordList>
    }
}

/// Schedules a meeting: kind, title, date and time (by default the next
/// check-in the review cadence suggests), duration and location.
#[component]
fn ScheduleForm(id: DocumentId) -> impl IntoView {
    let suggested = edit::read_in(&id, &[], check_ins::suggested_time).flatten();
    let kind = RwSignal::new(MeetingKind::CheckIn.as_str().to_owned());
    let title = RwSignal::new(String::new());
    let date = RwSignal::new(suggested.map(format_date).unwrap_or_default());
    let time = RwSignal::new(suggested.map_or_else(|| "09:00".to_owned(), format_time));
    let duration = RwSignal::new(DEFAULT_DURATION_MINUTES.to_string());
    let location = RwSignal::new(String::new());
    let error = feedback();
    let schedule = move |tx: &mut Transaction<'_>, item| {
        let kind = kind.with_untracked(|k| {
            MeetingKind::ALL
                .into_iter()
                .find(|candidate| candidate.as_str() == k)
                .unwrap_or(MeetingKind::CheckIn)
        });
        let new = NewMeeting {
            kind,
            title: title.get_untracked(),
            at: meeting_time(&date.get_untracked(), &time.get_untracked())?,
            duration_minutes: parse_whole(
                "duration (minutes)",
                &duration.get_untracked(),
                1,
                meetings::MAX_DURATION_MINUTES,
            )?,
            location: location.get_untracked(),
        };
        check_ins::schedule(tx, item, &new, edit::now())
    };
    let schedule_done = move || {
        title.set(String::new());
        location.set(String::new());
    };
    let kinds = MeetingKind::ALL
        .into_iter()
        .map(|k| view! { <option value=k.as_str()>{k.label()}</option> })
        .collect_view();
    view! {
        <h3>"Schedule a meeting"</h3>
        <form class="inline-form" on:submit=on_add(error, id, schedule, schedule_done)>
            <select data-testid="new-meeting-kind" aria-label="Kind" bind:value=kind>{kinds}</select>
            <input type="text" data-testid="new-meeting-title" placeholder="Title (optional)" aria-label="Title" bind:value=title/>
            <label>"Date " <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="new-meeting-date" bind:value=date/></label>
            <label>"Time (UTC) " <input type="time" data-testid="new-meeting-time" bind:value=time/></label>
            <label>"Minutes " <input type="number" class="narrow" data-testid="new-meeting-duration" bind:value=duration/></label>
            <input type="text" data-testid="new-meeting-location" placeholder="Room or call link" aria-label="Location" bind:value=location/>
            <button type="submit" data-testid="schedule-meeting">"Schedule"</button>
        </form>
        <p class="muted">"Without a date the meeting goes to the next check-in of the review cadence."</p>
        <InlineError message=error test_id="meeting-error"/>
    }
}

/// The meeting without its minutes and lists, for the parts of the card
/// that show only its own fields.
fn strip(meeting: &Meeting) -> Meeting {
    Meeting {
        minutes: String::new(),
        agenda: Vec::new(),
        decisions: Vec::new(),
        actions: Vec::new(),
        ..meeting.clone()
    }
}

/// One meeting with its agenda, minutes, decisions and action items.
///
/// The card stays in the page while the document changes; each part
/// re-renders only when what it shows changed. The minutes are written on
/// every keystroke as a splice rebased over whatever the partner typed
/// meanwhile, so both parties can type at once (see [`LiveTextArea`]).
#[component]
fn MeetingCard(id: DocumentId, mid: ItemId, data: Memo<Option<Roster>>) -> impl IntoView {
    let meeting = rows::record(id, Collection::Meetings, mid, meeting);
    let members = rows::part(data, |d| &d.members);
    let head = Memo::new(move |_| meeting.with(|m| m.as_ref().map(strip)));
    let agenda = Memo::new(move |_| {
        meeting.with(|m| {
            m.as_ref().map(|m| Meeting {
                agenda: m.agenda.clone(),
                ..strip(m)
            })
        })
    });
    let decisions = Memo::new(move |_| {
        meeting.with(|m| {
            m.as_ref().map(|m| Meeting {
                decisions: m.decisions.clone(),
                ..strip(m)
            })
        })
    });
    let actions = Memo::new(move |_| meeting.with(|m| m.as_ref().map(|m| m.actions.clone())));
    let error = feedback();
    let update = move |patch: MeetingPatch| {
        apply_into(error, &id, |tx| meetings::update(tx, mid, &patch));
    };
    let export = move |_| {
        let (Some(meeting), Some(partnership)) = (
            meeting.get_untracked(),
            edit::read_in(&id, &[], overview::title),
        ) else {
            return;
        };
        let text = ics::meeting(&meeting, &partnership, edit::now());
        offer_calendar(error, &meeting.fields.title, &text);
    };
    let header = move || {
        let meeting = head.get()?;
        let held = meeting.held_at;
        Some(view! {
            <div class="row">
                <span class="badge kind" data-testid="meeting-kind">{meeting.fields.kind.label()}</span>
                <input type="text" class="grow" data-testid="meeting-title" aria-label="Meeting title"
                    prop:value=meeting.fields.title.clone()
                    on:change=move |ev| update(MeetingPatch { title: Some(event_target_value(&ev)), ..MeetingPatch::default() })/>
                <span data-testid="meeting-when">{format_date_time(meeting.fields.at)}</span>
                <span class="muted">{format!("{} min", meeting.fields.duration_minutes)}</span>
            </div>
            <div class="row">
                <label>"Date "
                    <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="meeting-date" prop:value=format_date(meeting.fields.at)
                        on:change=move |ev| {
                            let offset = meeting.fields.at % accord_shared::model::DAY_MS;
                            match parse_date("date", &event_target_value(&ev)) {
                                Ok(Some(day)) => update(MeetingPatch { at: Some(day + offset), ..MeetingPatch::default() }),
                                Ok(None) => error.set(Some(OpError::InvalidDate { field: "date" }.to_string())),
                                Err(e) => error.set(Some(e.to_string())),
                            }
                        }/>
                </label>
                <label>"Location "
                    <input type="text" data-testid="meeting-location" prop:value=meeting.fields.location.clone()
                        on:change=move |ev| update(MeetingPatch { location: Some(event_target_value(&ev)), ..MeetingPatch::default() })/>
                </label>
                {match held {
                    Some(at) => view! {
                        <span class="badge achieved" data-testid="meeting-held">{format!("held {}", format_date(at))}</span>
                    }.into_any(),
                    None => view! {
                        <button type="button" data-testid="meeting-mark-held"
                            on:click=move |_| { apply_into(error, &id, |tx| check_ins::hold(tx, mid, edit::now())); }>
                            "Mark held"
                        </button>
                    }.into_any(),
                }}
                <button type="button" data-testid="meeting-ics" on:click=export>".ics"</button>
                <RemoveButton id=id collection=Collection::Meetings item=mid error=error test_id="meeting-delete"/>
            </div>
        })
    };
    let action_rows = move || {
        let list = actions.get()?;
        let members = members.get();
        let now = edit::now();
        let open = list.iter().filter(|a| !a.done).count();
        Some(view! {
            <h4>{format!("Action items ({open} open)")}</h4>
            <ul class="plain actions">
                {list.into_iter().map(|action| view! {
                    <ActionRow id=id host=ActionSource::Meeting(mid) action=action members=members.clone() now=now/>
                }).collect_view()}
            </ul>
        })
    };
    view! {
        <li class="card meeting" data-testid="meeting-card"
            class:held=move || head.with(|h| h.as_ref().is_some_and(|h| h.held_at.is_some()))>
            {header}
            <InlineError message=error test_id="meeting-row-error"/>
            {move || agenda.get().map(|m| view! { <Agenda id=id meeting=m/> })}
            <h4>"Minutes"</h4>
            <LiveTextArea id=id field=TextField::MeetingMinutes(mid)
                error=error test_id="meeting-minutes" class="minutes" label="Minutes"
                placeholder="What was discussed" rows=5/>
            {move || decisions.get().map(|m| view! { <Decisions id=id meeting=m members=members.get()/> })}
            {action_rows}
            {move || view! { <NewActionForm id=id host=ActionSource::Meeting(mid) members=members.get()/> }}
        </li>
    }
}

/// The agenda: items renamed in place, moved up and down, removed, and
/// added at the end.
#[allow(clippy::needless_pass_by_value)] // component props are owned
#[component]
fn Agenda(id: DocumentId, meeting: Meeting) -> impl IntoView {
    let mid = meeting.id;
    let error = feedback();
    let new_item = Drafts::field(format!("agenda:{mid}"), String::new);
    let add = move |tx: &mut Transaction<'_>, item| {
        meetings::add_agenda_item(tx, mid, item, &new_item.get_untracked())
    };
    let count = meeting.agenda.len();
    let items = meeting
        .agenda
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let iid = item.id;
            view! {
                <li class="row" data-testid="agenda-row">
                    <input type="text" class="grow" data-testid="agenda-item" aria-label="Agenda item"
                        prop:value=item.title.clone()
                        on:change=move |ev| {
                            let title = event_target_value(&ev);
                            apply_into(error, &id, |tx| meetings::rename_agenda_item(tx, mid, iid, &title));
                        }/>
                    <button type="button" class="link" data-testid="agenda-up" aria-label="Move up" disabled=index == 0
                        on:click=move |_| { apply_into(error, &id, |tx| meetings::move_agenda_item(tx, mid, iid, index.saturating_sub(1))); }>
                        <Glyph icon=Icon::ArrowUp/>
                    </button>
                    <button type="button" class="link" data-testid="agenda-down" aria-label="Move down" disabled=index + 1 == count
                        on:click=move |_| { apply_into(error, &id, |tx| meetings::move_agenda_item(tx, mid, iid, index + 1)); }>
                        <Glyph icon=Icon::ArrowDown/>
                    </button>
                    <RemoveButton id=id collection=Collection::Agenda { meeting: mid } item=iid error=error test_id="agenda-remove"/>
                </li>
            }
        })
        .collect_view();
    view! {
        <h4>"Agenda"</h4>
        <ol class="agenda">{items}</ol>
        <AddForm id=id add=add done=move || new_item.set(String::new()) error=error
            button="Add to agenda" button_id="add-agenda" error_id="agenda-error">
            <input type="text" data-testid="new-agenda-item" placeholder="New agenda item" aria-label="New agenda item" bind:value=new_item/>
        </AddForm>
    }
}

/// The decision log: what was decided, when and by whom.
#[allow(clippy::needless_pass_by_value)] // component props are owned
#[component]
fn Decisions(id: DocumentId, meeting: Meeting, members: Vec<Member>) -> impl IntoView {
    let mid = meeting.id;
    let error = feedback();
    let text = Drafts::field(format!("decision:{mid}"), String::new);
    let add = move |tx: &mut Transaction<'_>, item, by| {
        let new = NewDecision {
            text: text.get_untracked(),
            at: edit::now(),
            by,
        };
        meetings::record_decision(tx, mid, item, &new)
    };
    let rows = meeting
        .decisions
        .iter()
        .map(|decision| {
            let did = decision.id;
            view! {
                <li data-testid="decision-row">
                    <span data-testid="decision-text">{decision.text.clone()}</span>
                    <span class="muted">{format!(" — {}, {}", member_name(&members, decision.by), format_date(decision.at))}</span>
                    <RemoveButton id=id collection=Collection::Decisions { meeting: mid } item=did error=error test_id="decision-remove"/>
                </li>
            }
        })
        .collect_view();
    view! {
        <h4>"Decisions"</h4>
        <ul class="plain decisions">{rows}</ul>
        <form class="inline-form" on:submit=on_add_as_me(error, id, add, move |_| text.set(String::new()))>
            <input type="text" class="grow" data-testid="new-decision" placeholder="What was decided" aria-label="New decision" bind:value=text/>
            <button type="submit" data-testid="add-decision">"Log decision"</button>
        </form>
        <InlineError message=error test_id="decision-error"/>
    }
}
