//! The agreement's history: every change by member and organization, newest
//! first; any past version viewable, with each clause's difference from now
//! or from another past version.

use accord_shared::automerge::{Automerge, ChangeHash};
use accord_shared::model::{ItemId, agreement};
use accord_shared::views::history::{self, DiffPart, HistoryEntry};
use leptos::prelude::*;

use super::{AgreementContext, member_name, party_name};
use crate::components::diff::{DiffText, keep_open_in};
use crate::edit;
use crate::store::Store;

/// How many entries the list shows before "Show older".
const PAGE: usize = 50;

/// `YYYY-MM-DD HH:MM UTC` of a millisecond time.
fn date_time(ms: u64) -> String {
    let minutes = ms / 60_000 % (24 * 60);
    format!(
        "{} {:02}:{:02} UTC",
        edit::format_date(ms),
        minutes / 60,
        minutes % 60
    )
}

/// One timeline row as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    /// Position in the timeline, oldest first (orders two picked versions).
    index: usize,
    hash: ChangeHash,
    when: String,
    who: String,
    what: String,
}

fn row(doc: &Automerge, index: usize, entry: &HistoryEntry) -> Row {
    let who = match (entry.member, entry.party) {
        (Some(m), Some(p)) => format!("{} ({})", member_name(doc, m), party_name(doc, p)),
        (Some(m), None) => member_name(doc, m),
        _ => "an unregistered device".to_owned(),
    };
    Row {
        index,
        hash: entry.hash,
        when: entry.at.map(date_time).unwrap_or_default(),
        who,
        what: entry.description.clone(),
    }
}

/// One clause of a past version compared with now.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClauseThen {
    title: String,
    note: String,
    body: Vec<DiffPart>,
}

/// The agreement at `heads` compared with the version at `to` (`None`:
/// now), clause by clause.
fn version(
    doc: &Automerge,
    heads: &[ChangeHash],
    to: Option<&[ChangeHash]>,
) -> Option<Vec<ClauseThen>> {
    let then = history::clauses_at(doc, heads).ok()?;
    let later = match to {
        Some(to) => history::clauses_at(doc, to).ok()?,
        None => agreement::clauses(doc),
    };
    let mut ids: Vec<ItemId> = then.iter().map(|c| c.id).collect();
    for clause in later {
        if !ids.contains(&clause.id) {
            ids.push(clause.id);
        }
    }
    let rows = ids
        .into_iter()
        .filter_map(|clause| {
            let diff = history::clause_diff(doc, clause, heads, to).ok()?;
            let note = match (&diff.title_before, &diff.title_after) {
                (None, Some(_)) => "added since".to_owned(),
                (Some(_), None) => "removed since".to_owned(),
                (Some(a), Some(b)) if a != b => format!("renamed since to “{b}”"),
                _ if diff.status_before != diff.status_after => format!(
                    "status then {}, now {}",
                    diff.status_before.map_or("–", |s| s.as_str()),
                    diff.status_after.map_or("–", |s| s.as_str())
                ),
                _ => String::new(),
            };
            Some(ClauseThen {
                title: diff.title_before.or(diff.title_after).unwrap_or_default(),
                note,
                body: diff.body,
            })
        })
        .collect();
    Some(rows)
}

/// The history section of the agreement page.
#[component]
pub fn HistoryPanel() -> impl IntoView {
    let store = expect_context::<Store>();
    let ctx = expect_context::<AgreementContext>();
    let open = RwSignal::new(false);
    let shown = RwSignal::new(PAGE);
    // The version viewed, and the one it is compared with (`None`: now);
    // each is (timeline position, change, when).
    let selected = RwSignal::new(None::<(usize, ChangeHash, String)>);
    let against = RwSignal::new(None::<(usize, ChangeHash, String)>);
    let rows = Memo::new(move |_| {
        if !open.get() {
            return (Vec::new(), 0);
        }
        let limit = shown.get();
        edit::read(store, &ctx.id, |doc| {
            let entries = history::timeline(doc, &[]).unwrap_or_default();
            let total = entries.len();
            let rows: Vec<Row> = entries
                .iter()
                .enumerate()
                .rev()
                .take(limit)
                .map(|(index, e)| row(doc, index, e))
                .collect();
            (rows, total)
        })
        .unwrap_or_default()
    });
    // The earlier of the two picked versions is the "before".
    let pair = move || {
        let viewed = selected.get()?;
        Some(match against.get() {
            Some(other) if other.0 < viewed.0 => (other, Some(viewed)),
            Some(other) => (viewed, Some(other)),
            None => (viewed, None),
        })
    };
    let compared = Memo::new(move |_| {
        let ((_, from, _), to) = pair()?;
        let to = to.map(|(_, hash, _)| [hash]);
        edit::read(store, &ctx.id, |doc| {
            version(doc, &[from], to.as_ref().map(|t| &t[..]))
        })
        .flatten()
    });
    let heading = move || {
        pair().map(|((_, _, from), to)| match to {
            Some((_, _, to)) => format!("The agreement at {from}, compared with {to}"),
            None => format!("The agreement as it was at {from}, compared with now"),
        })
    };
    view! {
        <details class="history screen-only" data-testid="history"
            on:toggle=keep_open_in(open)>
            <summary data-testid="history-summary">"History"</summary>
            {move || selected.get().map(|_| view! {
                <section class="version" data-testid="version-view">
                    <div class="row">
                        <h3 class="grow" data-testid="version-heading">{heading}</h3>
                        <Show when=move || against.with(Option::is_some)>
                            <button class="link" data-testid="version-against-now"
                                on:click=move |_| against.set(None)>"Compare with now"</button>
                        </Show>
                        <button class="link" data-testid="version-close"
                            on:click=move |_| { selected.set(None); against.set(None); }>"Close"</button>
                    </div>
                    <p class="muted">"Struck-through text was removed between the two versions; underlined text was added."</p>
                    {move || compared.get().unwrap_or_default().into_iter().map(|c| view! {
                        <article class="version-clause" data-testid="version-clause">
                            <h4>{c.title}{(!c.note.is_empty()).then(|| view! { <span class="muted">{format!(" — {}", c.note)}</span> })}</h4>
                            <DiffText parts=c.body test_id="version-diff"/>
                        </article>
                    }).collect_view()}
                </section>
            })}
            <ol class="plain timeline">
                {move || rows.get().0.into_iter().map(|r| {
                    let picked = (r.index, r.hash, r.when.clone());
                    let other = picked.clone();
                    let viewing = selected.with(|s| s.as_ref().is_some_and(|s| s.1 != r.hash));
                    view! {
                        <li data-testid="history-entry">
                            <span class="muted">{r.when}</span>" "
                            <strong>{r.who}</strong>" "
                            <span data-testid="history-what">{r.what}</span>" "
                            <button class="link" data-testid="history-view"
                                on:click=move |_| { selected.set(Some(picked.clone())); against.set(None); }>
                                "View this version"
                            </button>
                            {viewing.then(|| view! {
                                " "
                                <button class="link" data-testid="history-compare"
                                    on:click=move |_| against.set(Some(other.clone()))>
                                    "Compare with the version viewed"
                                </button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ol>
            <Show when=move || rows.with(|(r, total)| r.len() < *total)>
                <button class="link" data-testid="history-more" on:click=move |_| shown.update(|n| *n += PAGE)>
                    "Show older changes"
                </button>
            </Show>
        </details>
    }
}
