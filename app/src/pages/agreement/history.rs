//! The agreement's history: every change by member and organization, newest
//! first; any past version viewable, with each clause's difference from now.

use accord_shared::automerge::{Automerge, ChangeHash};
use accord_shared::history::{self, DiffOp, DiffPart, HistoryEntry};
use accord_shared::model::{ItemId, agreement};
use leptos::prelude::*;

use super::{AgreementContext, member_name, party_name};
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
    hash: ChangeHash,
    when: String,
    who: String,
    what: String,
}

fn row(doc: &Automerge, entry: &HistoryEntry) -> Row {
    let who = match (entry.member, entry.party) {
        (Some(m), Some(p)) => format!("{} ({})", member_name(doc, m), party_name(doc, p)),
        (Some(m), None) => member_name(doc, m),
        _ => "an unregistered device".to_owned(),
    };
    Row {
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

fn version(doc: &Automerge, heads: &[ChangeHash]) -> Option<Vec<ClauseThen>> {
    let then = history::clauses_at(doc, heads).ok()?;
    let mut ids: Vec<ItemId> = then.iter().map(|c| c.id).collect();
    for clause in agreement::clauses(doc) {
        if !ids.contains(&clause.id) {
            ids.push(clause.id);
        }
    }
    let rows = ids
        .into_iter()
        .filter_map(|clause| {
            let diff = history::clause_diff(doc, clause, heads, None).ok()?;
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
    let selected = RwSignal::new(None::<(ChangeHash, String)>);
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
                .rev()
                .take(limit)
                .map(|e| row(doc, e))
                .collect();
            (rows, total)
        })
        .unwrap_or_default()
    });
    let compared = Memo::new(move |_| {
        let (hash, _) = selected.get()?;
        edit::read(store, &ctx.id, |doc| version(doc, &[hash])).flatten()
    });
    view! {
        <details class="history screen-only" data-testid="history"
            on:toggle=move |ev| {
                use wasm_bindgen::JsCast;
                let opened = ev
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::HtmlDetailsElement>().ok())
                    .is_some_and(|d| d.open());
                open.set(opened);
            }>
            <summary data-testid="history-summary">"History"</summary>
            {move || selected.get().map(|(_, when)| view! {
                <section class="version" data-testid="version-view">
                    <div class="row">
                        <h3 class="grow">{format!("The agreement as it was at {when}, compared with now")}</h3>
                        <button class="link" data-testid="version-close" on:click=move |_| selected.set(None)>"Close"</button>
                    </div>
                    <p class="muted">"Struck-through text has been removed since; underlined text was added since."</p>
                    {move || compared.get().unwrap_or_default().into_iter().map(|c| view! {
                        <article class="version-clause" data-testid="version-clause">
                            <h4>{c.title}{(!c.note.is_empty()).then(|| view! { <span class="muted">{format!(" — {}", c.note)}</span> })}</h4>
                            <p class="diff" data-testid="version-diff">
                                {c.body.into_iter().map(|part| match part.op {
                                    DiffOp::Same => view! { <span>{part.text}</span> }.into_any(),
                                    DiffOp::Added => view! { <ins>{part.text}</ins> }.into_any(),
                                    DiffOp::Removed => view! { <del>{part.text}</del> }.into_any(),
                                }).collect_view()}
                            </p>
                        </article>
                    }).collect_view()}
                </section>
            })}
            <ol class="plain timeline">
                {move || rows.get().0.into_iter().map(|r| {
                    let when = r.when.clone();
                    let hash = r.hash;
                    view! {
                        <li data-testid="history-entry">
                            <span class="muted">{r.when}</span>" "
                            <strong>{r.who}</strong>" "
                            <span data-testid="history-what">{r.what}</span>" "
                            <button class="link" data-testid="history-view"
                                on:click=move |_| selected.set(Some((hash, when.clone())))>
                                "View this version"
                            </button>
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
