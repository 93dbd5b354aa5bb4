//! What needs attention, on the overview ([`attention`]): overdue
//! action items, KPIs off track, the next check-in, high risks, conflicts
//! past their escalation deadline, health rounds waiting for our party, and
//! what the partner changed since this browser last showed the overview
//! (the document heads then are kept in `localStorage` per partnership).
//! Sign-offs awaiting a party need the relay's attested keys and are not
//! listed here.
//!
//! While the overview is shown it also publishes this device's health-check
//! keys when a round is due for reveal, as the health page does.
//!
//! Also the partnership report for a period as a Markdown download
//! ([`report::markdown`]); the browser's print dialog makes a PDF of
//! the page.

use accord_shared::automerge::{Automerge, ChangeHash};
use accord_shared::ids::DocumentId;
use accord_shared::model::members::{self, Member};
use accord_shared::model::parties::{self, Party};
use accord_shared::model::{self as model, DAY_MS, OpError, PartyId};
use accord_shared::views::attention::{self, Attention, SignoffContext, Viewer};
use accord_shared::views::report::{self, Period};
use leptos::prelude::*;

use super::member_name;
use crate::browser;
use crate::components::form::{InlineError, feedback};
use crate::components::markdown::MarkdownView;
use crate::edit::{self, format_date};
use crate::pages::routes::PlanPage;
use crate::pages::routes::Route;
use crate::store::Store;

/// The `localStorage` key remembering the heads last seen for `id`.
fn seen_key(id: &DocumentId) -> String {
    format!("accord.seen.{id}")
}

/// Heads as stored: hex hashes joined by commas.
fn encode_heads(heads: &[ChangeHash]) -> String {
    heads
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Heads read back; `None` if any is unreadable (then nothing is compared).
fn decode_heads(text: &str) -> Option<Vec<ChangeHash>> {
    text.split(',')
        .filter(|h| !h.is_empty())
        .map(|h| h.parse().ok())
        .collect()
}

#[derive(Clone)]
struct Shown {
    attention: Attention,
    members: Vec<Member>,
    parties: Vec<Party>,
}

fn party_name(parties: &[Party], id: Option<PartyId>) -> String {
    id.and_then(|id| parties.iter().find(|p| p.id == id))
        .map_or_else(|| "the partner".to_owned(), |p| p.fields.name.clone())
}

/// The attention panel of one partnership.
#[component]
pub fn AttentionPanel(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    // What this browser saw when it last left the overview.
    let last_seen =
        StoredValue::new(browser::local_get(&seen_key(&id)).and_then(|text| decode_heads(&text)));
    on_cleanup(move || {
        let heads = crate::sync_client::client()
            .and_then(|c| c.read_doc(&id, |doc| encode_heads(&doc.get_heads())));
        if let Some(heads) = heads {
            browser::local_set(&seen_key(&id), &heads);
        }
    });
    // A round may be due for reveal while nobody has the health page open.
    let me = Memo::new(move |_| {
        store.revision.track();
        edit::me(&id)
    });
    let reveal_error = feedback();
    super::health::reveal_when_due(store, id, me, reveal_error);
    // The keys the relay attests, for the sign-off lists: remembered on
    // this device, then asked fresh.
    let keys = RwSignal::new(None::<Vec<String>>);
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(client) = crate::sync_client::client() {
            if let Ok(Some(known)) = client.remembered_keys(&id).await {
                keys.set(Some(known));
            }
            if let Ok(Some(fresh)) = client.attested_keys(&id).await {
                keys.set(Some(fresh));
            }
        }
    });
    let shown = move || {
        let me = edit::me(&id);
        let keys = keys.get();
        edit::read(store, &id, |doc: &Automerge| {
            let members = members::list(doc);
            let party = me.and_then(|me| members.iter().find(|m| m.id == me)?.party);
            let seen = last_seen.get_value();
            let viewer = Viewer {
                now: edit::now(),
                party,
                last_seen: seen.as_deref(),
            };
            let attested =
                accord_shared::model::device_keys::relay_attested(doc, &id, keys.as_deref());
            let signoffs = SignoffContext {
                document: &id,
                attested_keys: &attested,
            };
            Shown {
                attention: attention::attention(doc, &viewer, keys.is_some().then_some(&signoffs)),
                members,
                parties: parties::list(doc),
            }
        })
    };
    let link = move |page: PlanPage, text: String| {
        view! { <a href=Route::Plan(id, page).hash()>{text}</a> }
    };
    move || {
        let Shown {
            attention: a,
            members,
            parties,
        } = shown()?;
        let mut items = Vec::new();
        for r in &a.overdue_actions {
            let owner = member_name(&members, r.action.fields.owner);
            let page = match r.source {
                model::actions::ActionSource::Meeting(_) => PlanPage::Meetings,
                model::actions::ActionSource::Review(_) => PlanPage::Reviews,
            };
            let due = r.action.fields.due.map(format_date).unwrap_or_default();
            items.push(
                view! {
                    <li class="late" data-testid="attention-action">
                        "Overdue action: " {link(page, r.action.fields.title.clone())}
                        {format!(" ({owner}, due {due}, from {})", r.source_title)}
                    </li>
                }
                .into_any(),
            );
        }
        for k in &a.kpis_off_track {
            items.push(view! {
                <li class="late" data-testid="attention-kpi">"KPI off track: " {link(PlanPage::Objectives, k.fields.name.clone())}</li>
            }.into_any());
        }
        for r in &a.high_risks {
            items.push(view! {
                <li class="late" data-testid="attention-risk">
                    "High risk: " {link(PlanPage::Risks, r.fields.title.clone())} {format!(" (score {})", r.score())}
                </li>
            }.into_any());
        }
        for c in &a.overdue_conflicts {
            let due = c
                .level
                .as_ref()
                .map(|l| format_date(l.deadline))
                .unwrap_or_default();
            items.push(view! {
                <li class="late" data-testid="attention-conflict">
                    "Conflict past its escalation deadline: " {link(PlanPage::Conflicts, c.fields.title.clone())}
                    {format!(" (due {due})")}
                </li>
            }.into_any());
        }
        if !a.health_rounds_waiting.is_empty() {
            let n = a.health_rounds_waiting.len();
            items.push(view! {
                <li data-testid="attention-health">
                    {link(PlanPage::Health, format!("{n} health-check round(s)"))} " wait for your party's answers"
                </li>
            }.into_any());
        }
        for clause in &a.awaiting_partner_signoff {
            let waiting: Vec<String> = clause
                .waiting_for
                .iter()
                .map(|p| party_name(&parties, Some(*p)))
                .collect();
            items.push(
                view! {
                    <li data-testid="attention-awaiting-partner">
                        "Signed by your side, awaiting " {waiting.join(" and ")} ": "
                        {link(PlanPage::Agreement, clause.title.clone())}
                    </li>
                }
                .into_any(),
            );
        }
        for clause in &a.awaiting_our_signoff {
            items.push(view! {
                <li data-testid="attention-awaiting-us">
                    "Awaiting your organization's sign-off: " {link(PlanPage::Agreement, clause.title.clone())}
                </li>
            }.into_any());
        }
        for change in &a.partner_clause_changes {
            items.push(view! {
                <li data-testid="attention-clause">{format!("The partner changed the clause “{}”", change.title)}</li>
            }.into_any());
        }
        for activity in &a.partner_activity {
            let when = activity
                .last_at
                .map(|t| format!(", last on {}", format_date(t)))
                .unwrap_or_default();
            items.push(view! {
                <li data-testid="attention-activity">
                    {format!("{} ({}) made {} change(s) since you last looked{when}",
                        member_name(&members, Some(activity.member)), party_name(&parties, activity.party), activity.changes)}
                </li>
            }.into_any());
        }
        let next = a.next_check_in.as_ref().map(|n| {
            let when = super::format_date_time(n.at);
            let what = n.meeting.as_ref().map_or_else(
                || "due by the review cadence".to_owned(),
                |(_, title)| title.clone(),
            );
            view! {
                <p class:late=n.overdue data-testid="attention-check-in">
                    {if n.overdue { "Check-in overdue: " } else { "Next check-in: " }}
                    {format!("{when} — {what}")}
                </p>
            }
        });
        let empty = items.is_empty();
        Some(view! {
            <section class="attention card" aria-label="What needs attention" data-testid="attention-panel">
                <h2>"Needs attention"</h2>
                <InlineError message=reveal_error test_id="reveal-error"/>
                {next}
                {if empty {
                    view! { <p class="muted" data-testid="attention-empty">"Nothing overdue or at risk."</p> }.into_any()
                } else {
                    view! { <ul class="plain">{items}</ul> }.into_any()
                }}
            </section>
        })
    }
}

/// The report period from two date inputs (inclusive of the last day).
fn report_period(from: &str, to: &str) -> Result<Period, OpError> {
    let from = edit::parse_required_date("report start", from)?;
    let to = edit::parse_required_date("report end", to)?;
    if to < from {
        return Err(OpError::Invalid {
            field: "report period",
            reason: "it ends before it starts",
        });
    }
    Ok(Period {
        from,
        to: to + DAY_MS - 1,
    })
}

/// Downloads the partnership report for a period as Markdown, or prints
/// the page (to PDF) with the browser's print dialog.
#[component]
pub fn ReportExport(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let now = edit::now();
    let from = RwSignal::new(format_date(now.saturating_sub(90 * DAY_MS)));
    let to = RwSignal::new(format_date(now));
    let error = feedback();
    let printable = RwSignal::new(None::<String>);
    // The report's Markdown and the partnership's title, or the message why not.
    let render = move || -> Option<(String, String)> {
        let period = match report_period(&from.get_untracked(), &to.get_untracked()) {
            Ok(period) => period,
            Err(e) => {
                error.set(Some(e.to_string()));
                return None;
            }
        };
        edit::read(store, &id, |doc| {
            (
                report::markdown(doc, period, edit::now()),
                model::overview::title(doc),
            )
        })
    };
    let export = move |_| {
        let Some((text, title)) = render() else {
            return;
        };
        let name = format!("{} report {}.md", title.trim(), to.get_untracked());
        match browser::download(&name, "text/markdown;charset=utf-8", &text) {
            Ok(()) => error.set(None),
            Err(e) => error.set(Some(format!("could not export the report: {e}"))),
        }
    };
    // Shows the report formatted on the page, then opens the print dialog
    // once it is drawn; the print style prints it alone, so "Save as PDF"
    // in that dialog makes the PDF.
    let print = move |_| {
        let Some((text, _)) = render() else {
            return;
        };
        error.set(None);
        printable.set(Some(text));
        request_animation_frame(|| {
            if let Ok(window) = browser::window() {
                let _ = window.print();
            }
        });
    };
    view! {
        <section class="report card" aria-label="Partnership report">
            <h2>"Report"</h2>
            <div class="inline-form">
                <label>"From " <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="report-from" bind:value=from/></label>
                <label>"to " <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="report-to" bind:value=to/></label>
                <button type="button" data-testid="report-markdown" on:click=export>"Download Markdown"</button>
                <button type="button" class="secondary" data-testid="report-print" on:click=print>"Print / PDF"</button>
            </div>
            <InlineError message=error test_id="report-error"/>
            {move || printable.get().map(|text| view! {
                <article class="report-print" data-testid="report-text">
                    <button type="button" class="link screen-only" data-testid="report-close"
                        on:click=move |_| printable.set(None)>"Close the print preview"</button>
                    <MarkdownView text=text/>
                </article>
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_round_trip_and_junk_is_ignored() {
        let heads = vec![ChangeHash([1; 32]), ChangeHash([0xab; 32])];
        assert_eq!(decode_heads(&encode_heads(&heads)), Some(heads));
        assert_eq!(decode_heads(""), Some(Vec::new()));
        assert_eq!(decode_heads("zz,12"), None);
    }

    #[test]
    fn a_report_period_includes_its_last_day() {
        let period = report_period("2026-01-01", "2026-01-31").unwrap();
        assert_eq!(format_date(period.to), "2026-01-31");
        assert_eq!(format_date(period.to + 1), "2026-02-01");
        assert!(report_period("2026-02-01", "2026-01-31").is_err());
    }
}
