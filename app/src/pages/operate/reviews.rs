//! Reviews and post-mortems: a period, what went well, what to improve, and
//! the actions that follow (action items like a meeting's, so they show in
//! the attention panel); the milestones achieved in the period are listed
//! to celebrate them.

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::milestones;
use accord_shared::model::period::Period;
use accord_shared::model::reviews::{self, NewReview, Review, ReviewKind, ReviewPatch};
use accord_shared::model::{Collection, DAY_MS, ItemId, OpError, touched};
use leptos::prelude::*;

use accord_shared::model::actions::ActionSource;

use super::actions::{ActionRow, NewActionForm};
use crate::components::form::{AddForm, InlineError, feedback};
use crate::components::icon::{Glyph, Icon};
use crate::components::items::RemoveButton;
use crate::components::live_text::{Caption, LiveTextAreas};
use crate::components::roster::{Roster, roster};
use crate::components::rows::{self, ListContext, RecordList};
use crate::components::text_field::TextField;
use crate::edit::{self, apply_into, format_date};

fn review(doc: &Automerge, rid: ItemId) -> Option<Review> {
    reviews::get(doc, rid).ok()
}

/// A period from two date inputs: from the first day's start to the end of
/// the last day (inclusive). Both dates are required.
fn period(from: &str, to: &str) -> Result<Period, OpError> {
    let from = edit::parse_required_date("period start", from)?;
    let to = edit::parse_required_date("period end", to)?;
    Ok(Period {
        from,
        to: to + DAY_MS - 1,
    })
}

/// The reviews page.
#[component]
pub fn ReviewsPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let data = roster(id);
    super::Drafts::provide();
    // Newest first; each card stays in the page while the document changes.
    let list = ListContext::of(id, Collection::Reviews, data, feedback());
    view! {
        <NewReviewForm id=id/>
        <RecordList list=list newest_first=true
            row=move |rid| view! { <ReviewCard id=id rid=rid data=data/> }/>
    }
}

/// One review. Like a meeting card it stays in the page while the document
/// changes and each part re-renders only when what it shows changed; the two
/// prose fields take every keystroke as a splice, so both parties writing
/// the retro at once keep their words (see [`crate::components::live_text::LiveTextArea`]).
#[component]
fn ReviewCard(id: DocumentId, rid: ItemId, data: Memo<Option<Roster>>) -> impl IntoView {
    let review = rows::record(id, Collection::Reviews, rid, review);
    let members = rows::part(data, |d| &d.members);
    let head = Memo::new(move |_| {
        review.with(|r| {
            r.as_ref()
                .map(|r| (r.kind, r.fields.title.clone(), r.period))
        })
    });
    // A review lists the milestones achieved in its period.
    let all_milestones = rows::watched(
        id,
        vec![touched::collection(Collection::Milestones)],
        milestones::list,
    );
    let celebrated = Memo::new(move |_| {
        let Some((_, _, period)) = head.get() else {
            return Vec::new();
        };
        all_milestones.with(|all| {
            all.as_deref()
                .map(|all| milestones::achieved_in(all, period))
                .unwrap_or_default()
        })
    });
    let actions = Memo::new(move |_| {
        review.with(|r| r.as_ref().map(|r| r.actions.clone()).unwrap_or_default())
    });
    let error = feedback();
    let update = move |patch: ReviewPatch| {
        apply_into(error, &id, |tx| reviews::update(tx, rid, &patch));
    };
    let header = move || {
        let (kind, title, reviewed) = head.get()?;
        let from = RwSignal::new(format_date(reviewed.from));
        let to = RwSignal::new(format_date(reviewed.to));
        let set_period = move |_| match period(&from.get_untracked(), &to.get_untracked()) {
            Ok(p) => update(ReviewPatch {
                period: Some(p),
                ..ReviewPatch::default()
            }),
            Err(e) => error.set(Some(e.to_string())),
        };
        Some(view! {
            <div class="row">
                <span class="badge kind" data-testid="review-kind">{kind.label()}</span>
                <input type="text" class="grow" data-testid="review-title" aria-label="Review title"
                    prop:value=title
                    on:change=move |ev| update(ReviewPatch { title: Some(event_target_value(&ev)), ..ReviewPatch::default() })/>
                <label>"From " <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="review-from" bind:value=from on:change=set_period/></label>
                <label>"to " <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="review-to" bind:value=to on:change=set_period/></label>
                <RemoveButton id=id collection=Collection::Reviews item=rid error=error test_id="review-delete"/>
            </div>
        })
    };
    let celebration = move || {
        let list = celebrated.get();
        (!list.is_empty()).then(|| {
            view! {
                <h4>"Achieved in this period"</h4>
                <ul class="plain celebrate">
                    {list.into_iter().map(|m| view! {
                        <li data-testid="review-milestone">
                            <Glyph icon=Icon::Star/>
                            {format!(" {} ({})", m.fields.title, m.achieved_at.map(format_date).unwrap_or_default())}
                            {(!m.celebration.trim().is_empty()).then(|| view! {
                                <span class="muted">{format!(" — {}", m.celebration.trim())}</span>
                            })}
                        </li>
                    }).collect_view()}
                </ul>
            }
        })
    };
    let action_rows = move || {
        let members = members.get();
        let now = edit::now();
        actions
            .get()
            .into_iter()
            .map(|action| view! {
                <ActionRow id=id host=ActionSource::Review(rid) action=action members=members.clone() now=now/>
            })
            .collect_view()
    };
    view! {
        <li class="card review" data-testid="review-card">
            {header}
            <InlineError message=error test_id="review-row-error"/>
            <div class="two-col">
                <LiveTextAreas id=id error=error caption=Caption::Block rows=3 fields=vec![
                    (TextField::ReviewWentWell(rid), "review-went-well", "What went well"),
                    (TextField::ReviewToImprove(rid), "review-to-improve", "What to improve"),
                ]/>
            </div>
            {celebration}
            <h4>"Actions"</h4>
            <ul class="plain actions">{action_rows}</ul>
            {move || view! { <NewActionForm id=id host=ActionSource::Review(rid) members=members.get()/> }}
        </li>
    }
}

/// Starts a review of a period (by default the last 90 days).
#[component]
fn NewReviewForm(id: DocumentId) -> impl IntoView {
    let now = edit::now();
    let kind = RwSignal::new(ReviewKind::Performance.as_str().to_owned());
    let title = RwSignal::new(String::new());
    let from = RwSignal::new(format_date(now.saturating_sub(90 * DAY_MS)));
    let to = RwSignal::new(format_date(now));
    let add = move |tx: &mut Transaction<'_>, item| {
        let period = period(&from.get_untracked(), &to.get_untracked())?;
        let new = NewReview {
            kind: kind
                .with_untracked(|k| ReviewKind::from_stored(k).unwrap_or(ReviewKind::Performance)),
            title: title.get_untracked(),
            period,
        };
        reviews::add(tx, item, &new, edit::now())
    };
    let kinds = ReviewKind::ALL
        .into_iter()
        .map(|k| view! { <option value=k.as_str()>{k.label()}</option> })
        .collect_view();
    view! {
        <AddForm id=id add=add done=move || title.set(String::new())
            button="Start review" button_id="add-review" error_id="review-error">
            <select data-testid="new-review-kind" aria-label="Kind" bind:value=kind>{kinds}</select>
            <input type="text" data-testid="new-review-title" placeholder="Title (optional)" aria-label="Title" bind:value=title/>
            <label>"From " <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="new-review-from" bind:value=from/></label>
            <label>"to " <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="new-review-to" bind:value=to/></label>
        </AddForm>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_covers_its_last_day() {
        let Period { from, to } = period("2026-01-01", "2026-03-31").unwrap();
        assert_eq!(format_date(from), "2026-01-01");
        assert_eq!(format_date(to), "2026-03-31");
        assert_eq!(format_date(to + 1), "2026-04-01");
        assert_eq!(
            period("", "2026-03-31").unwrap_err().to_string(),
            "period start must be a date from 1 January 2000 to 31 December 2199"
        );
    }
}
