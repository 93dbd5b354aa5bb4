//! Suggesting mode for one clause: the person edits a copy of the clause
//! text, and "Suggest" turns each changed stretch of words into a
//! suggestion; the open suggestions are listed under the clause in their
//! author's party colour, with Accept and Reject.

use accord_shared::automerge::Automerge;
use accord_shared::model::suggestions::{
    self, NewSuggestion, Placement, Suggestion, SuggestionKind, SuggestionState, Verdict,
};
use accord_shared::model::{ItemId, MemberId, OpError, parties, touched};
use accord_shared::views::history::{self as doc_history, DiffOp};
use leptos::prelude::*;

use super::{AgreementContext, clause_places, member_name, party_name};
use crate::components::form::{Feedback, InlineError, feedback};
use crate::components::rows;
use crate::edit::{self, apply, apply_into};

/// Characters of context shown on each side of a suggested change.
const CONTEXT: usize = 40;

/// The changes that turn `base` into `draft`, as suggestions: each
/// changed stretch of words (removed and added text next to each other)
/// is one suggestion at its place in `base`.
pub(crate) fn changes(
    base: &str,
    draft: &str,
    author: MemberId,
    clause: ItemId,
) -> Vec<NewSuggestion> {
    let mut out = Vec::new();
    let mut position = 0;
    let mut pending: Option<NewSuggestion> = None;
    for part in doc_history::diff_words(base, draft) {
        let length = part.text.chars().count();
        match part.op {
            DiffOp::Same => {
                out.extend(pending.take());
                position += length;
            }
            DiffOp::Removed => {
                let change = pending.get_or_insert_with(|| NewSuggestion {
                    clause,
                    author,
                    position,
                    delete: 0,
                    insert: String::new(),
                });
                change.delete += length;
                position += length;
            }
            DiffOp::Added => {
                pending
                    .get_or_insert_with(|| NewSuggestion {
                        clause,
                        author,
                        position,
                        delete: 0,
                        insert: String::new(),
                    })
                    .insert
                    .push_str(&part.text);
            }
        }
    }
    out.extend(pending);
    out
}

/// A suggestion as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    id: ItemId,
    author: String,
    colour: &'static str,
    when: String,
    kind: &'static str,
    before: String,
    deleted: String,
    insert: String,
    after: String,
    applicable: bool,
    /// `None` while open; else how it was decided.
    outcome: Option<String>,
}

fn shown(doc: &Automerge, text: &[char], s: &Suggestion) -> Shown {
    let colours = parties::colours(doc);
    let colour = s
        .party
        .and_then(|p| colours.iter().find(|(id, _)| *id == p))
        .map_or("var(--muted)", |(_, c)| c.hex());
    let author = match (s.author, s.party) {
        (Some(m), Some(p)) => format!("{} ({})", member_name(doc, m), party_name(doc, p)),
        (Some(m), None) => member_name(doc, m),
        _ => "someone".to_owned(),
    };
    let (before, after, applicable) = match s.placement {
        Placement::At { start, end } => {
            let (before, after) = super::surroundings(text, start, end, CONTEXT);
            (before, after, true)
        }
        Placement::NotApplicable => (String::new(), String::new(), false),
    };
    let decided = |verb: &str, d: &suggestions::Decision| {
        let by =
            d.by.map_or_else(|| "someone".to_owned(), |m| member_name(doc, m));
        format!("{verb} by {by} {}", edit::format_opt_date(d.at))
    };
    Shown {
        id: s.id,
        author,
        colour,
        when: edit::format_opt_date(s.created_at),
        kind: match s.kind() {
            SuggestionKind::Insertion => "insert",
            SuggestionKind::Deletion => "delete",
            SuggestionKind::Replacement => "replace",
        },
        before,
        deleted: s.deleted.clone(),
        insert: s.insert.clone(),
        after,
        applicable,
        outcome: match &s.state {
            SuggestionState::Open => None,
            SuggestionState::Accepted(d) => Some(decided("Accepted", d)),
            SuggestionState::Rejected(d) => Some(decided("Rejected", d)),
        },
    }
}

/// The suggestion box: a copy of the clause text to change, turned into
/// suggestions on "Suggest".
#[component]
pub fn SuggestBox(
    /// The clause.
    clause: ItemId,
    /// Where a refused suggestion is explained.
    error: Feedback,
) -> impl IntoView {
    let ctx = expect_context::<AgreementContext>();
    let id = ctx.id;
    let place = touched::clause(clause);
    let body = Memo::new(move |_| {
        edit::read_in(&id, &[&place], |doc| {
            accord_shared::model::agreement::clause(doc, clause)
                .ok()
                .map(|c| c.body)
        })
        .flatten()
        .unwrap_or_default()
    });
    // The text the draft started from; while the draft is untouched it
    // follows the clause as others edit it.
    let base = RwSignal::new(body.get_untracked());
    let draft = RwSignal::new(body.get_untracked());
    Effect::new(move |_| {
        let now = body.get();
        if draft.get_untracked() == base.get_untracked() {
            draft.set(now.clone());
        }
        base.set(now);
    });
    let submit = move |_| {
        let author = match edit::me_or_error(&id) {
            Ok(author) => author,
            Err(e) => {
                error.set(Some(e.to_string()));
                return;
            }
        };
        let current = body.get_untracked();
        let wanted = changes(&current, &draft.get_untracked(), author, clause);
        if wanted.is_empty() {
            error.set(Some(
                "change the text in the box first: each changed stretch becomes a suggestion"
                    .into(),
            ));
            return;
        }
        let mut ids = Vec::new();
        for _ in &wanted {
            match edit::new_id(error) {
                Some(id) => ids.push(id),
                None => return,
            }
        }
        let now = edit::now();
        if apply_into(error, &id, |tx| {
            wanted
                .iter()
                .zip(&ids)
                .try_for_each(|(new, sid)| suggestions::suggest(tx, *sid, new, now))
        }) {
            draft.set(current);
        }
    };
    view! {
        <div class="suggest-box">
            <textarea class="clause-body suggesting" data-testid="suggest-body" rows=4
                aria-label="Suggested text (changes become suggestions)"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))/>
            <div class="row">
                <button data-testid="suggest-submit" on:click=submit
                    disabled=move || draft.with(|d| body.with(|b| d == b))>"Suggest these changes"</button>
                <button class="secondary" data-testid="suggest-discard"
                    on:click=move |_| draft.set(body.get_untracked())
                    disabled=move || draft.with(|d| body.with(|b| d == b))>"Discard"</button>
            </div>
        </div>
    }
}

/// Accepts or rejects a suggestion as this device's member.
fn decide(
    id: &accord_shared::ids::DocumentId,
    suggestion: ItemId,
    verdict: Verdict,
) -> Result<(), String> {
    let by = edit::me_or_error(id).map_err(|e| e.to_string())?;
    let decision = edit::fresh_id().map_err(|e| e.to_string())?;
    apply(id, |tx| {
        suggestions::decide(tx, suggestion, decision, verdict, by, edit::now())
    })
    .map_err(|e| e.to_string())
}

/// The suggestions on a clause: open ones with Accept / Reject, decided
/// ones folded away.
#[component]
pub fn SuggestionList(
    /// The clause.
    clause: ItemId,
) -> impl IntoView {
    let ctx = expect_context::<AgreementContext>();
    let id = ctx.id;
    let error = feedback();
    let places = clause_places(clause, touched::suggestions());
    let all = Memo::new(move |_| {
        rows::read_at(&id, &places, |doc| {
            let text: Vec<char> = accord_shared::model::agreement::clause(doc, clause)
                .map(|c| c.body.chars().collect())
                .unwrap_or_default();
            suggestions::list(doc, clause)
                .iter()
                .map(|s| shown(doc, &text, s))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    });
    // The open suggestions, or the decided ones.
    let settled = move |decided: bool| {
        all.with(|a| {
            a.iter()
                .filter(|s| s.outcome.is_some() == decided)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let open = move || settled(false);
    let decided = move || settled(true);
    let act = move |suggestion: ItemId, verdict: Verdict| match decide(&id, suggestion, verdict) {
        Ok(()) => error.set(None),
        Err(e) => error.set(Some(e)),
    };
    view! {
        <Show when=move || all.with(|a| !a.is_empty())>
            <section class="suggestions" aria-label="Suggestions">
                <h4 class="suggestions-heading">{move || match open().len() {
                    0 => "No open suggestions".to_owned(),
                    1 => "1 suggestion".to_owned(),
                    n => format!("{n} suggestions"),
                }}</h4>
                <ul class="plain">
                    {move || open().into_iter().map(|s| {
                        let sid = s.id;
                        view! {
                            <li class="suggestion" data-testid="suggestion" data-kind=s.kind
                                style=format!("--party: {}", s.colour)>
                                <p class="suggestion-meta">
                                    <strong>{s.author.clone()}</strong>
                                    <span class="muted">{format!(" suggests to {} · {}", s.kind, s.when)}</span>
                                </p>
                                {if s.applicable {
                                    view! {
                                        <p class="suggestion-text" data-testid="suggestion-text">
                                            <span class="muted">{s.before.clone()}</span>
                                            {(!s.deleted.is_empty()).then(|| view! { <del data-testid="suggestion-deleted">{s.deleted.clone()}</del> })}
                                            {(!s.insert.is_empty()).then(|| view! { <ins data-testid="suggestion-inserted">{s.insert.clone()}</ins> })}
                                            <span class="muted">{s.after.clone()}</span>
                                        </p>
                                    }.into_any()
                                } else {
                                    view! {
                                        <p class="suggestion-text" data-testid="suggestion-text">
                                            {(!s.deleted.is_empty()).then(|| view! { <del>{s.deleted.clone()}</del> })}
                                            {(!s.insert.is_empty()).then(|| view! { <ins>{s.insert.clone()}</ins> })}
                                            <span class="muted" data-testid="suggestion-not-applicable">
                                                " — the words it changes were edited since; it can only be rejected."
                                            </span>
                                        </p>
                                    }.into_any()
                                }}
                                <div class="row">
                                    <button data-testid="suggestion-accept" disabled=!s.applicable
                                        on:click=move |_| act(sid, Verdict::Accept)>"Accept"</button>
                                    <button class="secondary" data-testid="suggestion-reject"
                                        on:click=move |_| act(sid, Verdict::Reject)>"Reject"</button>
                                </div>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <Show when=move || all.with(|a| a.iter().any(|s| s.outcome.is_some()))>
                    <details class="decided">
                        <summary>{move || format!("Decided suggestions ({})", decided().len())}</summary>
                        <ul class="plain">
                            {move || decided().into_iter().map(|s| view! {
                                <li class="suggestion decided" data-testid="suggestion-decided" style=format!("--party: {}", s.colour)>
                                    {(!s.deleted.is_empty()).then(|| view! { <del>{s.deleted.clone()}</del> })}
                                    {(!s.insert.is_empty()).then(|| view! { <ins>{s.insert.clone()}</ins> })}
                                    <span class="muted">{format!(" — suggested by {}; {}", s.author, s.outcome.clone().unwrap_or_default())}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    </details>
                </Show>
                <InlineError message=error test_id="suggestion-error"/>
            </section>
        </Show>
    }
}

/// Whether this device's member may only suggest on the clause (it is
/// proposed by another party), with the reason to show.
pub(crate) fn suggest_only(
    doc: &Automerge,
    clause: ItemId,
    me: Option<MemberId>,
) -> Option<String> {
    match accord_shared::model::agreement::may_edit(doc, clause, me) {
        Err(OpError::SuggestOnly) => {
            let by = accord_shared::model::agreement::clause(doc, clause)
                .ok()
                .and_then(|c| c.proposed_by)
                .map_or_else(|| "another organization".to_owned(), |p| party_name(doc, p));
            Some(format!(
                "Proposed by {by}: you can suggest changes, which they accept or reject."
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_changed_stretch_becomes_one_suggestion() {
        let member = MemberId::from_bytes([1; 16]);
        let clause = ItemId::from_bytes([2; 16]);
        let found = changes(
            "The term is one year from signature.",
            "The initial term is two years from signature",
            member,
            clause,
        );
        let summary: Vec<(usize, usize, &str)> = found
            .iter()
            .map(|s| (s.position, s.delete, s.insert.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (4, 0, "initial "),
                (12, 8, "two years"),
                (26, 10, "signature")
            ]
        );
        assert!(changes("same", "same", member, clause).is_empty());
    }
}
