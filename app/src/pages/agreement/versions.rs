//! Named versions and the redline: "Save as version…" names the agreement
//! as it reads now (for example "Sent to Globex, 1 Dec"); "Compare" shows
//! any two named versions, or one and now, as a redline clause by clause,
//! and exports it as Markdown.

use accord_shared::model::{ItemId, overview, versions};
use accord_shared::views::redline::{self, Redline};
use leptos::prelude::*;

use super::{AgreementContext, file_stem, member_name};
use crate::browser;
use crate::components::diff::DiffText;
use crate::components::form::{InlineError, feedback};
use crate::edit::{self, apply_into};
use crate::store::Store;
use crate::sync_client::client;

/// The redline being printed, if any: the print view shows it instead of
/// the agreement while the browser's print dialog is open.
#[derive(Debug, Clone, Copy)]
pub(super) struct RedlinePrint(pub(super) RwSignal<Option<(String, String, Redline)>>);

/// The redline as the print view shows it: each changed clause with its
/// inserted words underlined and deleted words struck through.
pub(super) fn printed(title: &str, from: &str, to: &str, lines: &Redline) -> impl IntoView + use<> {
    let heading = format!("{title} — redline from “{from}” to “{to}”");
    let summary = format!(
        "{} of {} clauses changed. Underlined words were inserted; struck-through words were deleted.",
        lines.changed(),
        lines.clauses.len()
    );
    let clauses = lines
        .clauses
        .iter()
        .filter(|c| c.changed)
        .map(|c| {
            let parts = c.diff.body.clone();
            view! {
                <section class="print-clause">
                    <h3>{c.title.clone()}</h3>
                    <DiffText parts=parts/>
                </section>
            }
        })
        .collect_view();
    view! {
        <h1>{heading}</h1>
        <p>{summary}</p>
        {clauses}
    }
}

/// The value of the "now" choice in the compare pickers.
const NOW: &str = "now";

/// A named version as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    id: ItemId,
    name: String,
    note: String,
}

/// The named versions of the agreement and the redline between two.
#[component]
pub fn VersionsPanel() -> impl IntoView {
    let store = expect_context::<Store>();
    let ctx = expect_context::<AgreementContext>();
    let id = ctx.id;
    let error = feedback();
    let name = RwSignal::new(String::new());
    let listed = Memo::new(move |_| {
        edit::read(store, &id, |doc| {
            versions::list(doc)
                .into_iter()
                .map(|v| Listed {
                    id: v.id,
                    name: v.name,
                    note: format!(
                        "saved {} by {}",
                        edit::format_opt_date(v.at),
                        v.author
                            .map_or_else(|| "someone".to_owned(), |m| member_name(doc, m))
                    ),
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let author = match edit::me_or_error(&id) {
            Ok(author) => author,
            Err(e) => {
                error.set(Some(e.to_string()));
                return;
            }
        };
        let Some(heads) = client().and_then(|c| c.heads(&id)) else {
            error.set(Some("the partnership is still loading".into()));
            return;
        };
        let Some(version) = edit::new_id(error) else {
            return;
        };
        let title = name.get_untracked();
        if apply_into(error, &id, |tx| {
            versions::save(tx, version, &title, &heads, author, edit::now())
        }) {
            name.set(String::new());
        }
    };
    // The two sides compared: a version id, or "now".
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(NOW.to_owned());
    let pick = move |key: &str| -> Option<(String, Option<ItemId>)> {
        if key == NOW {
            return Some(("now".to_owned(), None));
        }
        let wanted: ItemId = key.parse().ok()?;
        listed.with(|l| {
            l.iter()
                .find(|v| v.id == wanted)
                .map(|v| (v.name.clone(), Some(v.id)))
        })
    };
    let compared = Memo::new(
        move |_| -> Option<Result<(String, String, Redline), String>> {
            let (from_name, from_id) = pick(&from.get())?;
            let (to_name, to_id) = pick(&to.get())?;
            edit::read(store, &id, |doc| {
                let heads =
                    |v: Option<ItemId>| v.and_then(|v| versions::get(doc, v).ok()).map(|v| v.heads);
                let Some(before) = heads(from_id) else {
                    return Err("pick a saved version to compare from".to_owned());
                };
                let after = heads(to_id);
                redline::redline(doc, &before, after.as_deref())
                    .map(|r| (from_name.clone(), to_name.clone(), r))
                    .map_err(|e| e.to_string())
            })
        },
    );
    let print_target = expect_context::<RedlinePrint>();
    let print = move |_| {
        let Some(Ok(compared)) = compared.get_untracked() else {
            return;
        };
        print_target.0.set(Some(compared));
        // Let the print view render the redline before the dialog opens.
        wasm_bindgen_futures::spawn_local(async move {
            browser::sleep(100).await;
            let result = browser::print();
            print_target.0.set(None);
            if let Err(e) = result {
                error.set(Some(format!("could not print: {e}")));
            }
        });
    };
    let export = move |_| {
        let Some(Ok((from, to, lines))) = compared.get_untracked() else {
            return;
        };
        let title = edit::read(store, &id, overview::title).unwrap_or_default();
        let markdown = redline::markdown(&lines, &title, &from, &to);
        let file = format!(
            "{} redline {} to {}.md",
            file_stem(&title),
            file_stem(&from),
            file_stem(&to)
        );
        if let Err(e) = browser::download(&file, "text/markdown;charset=utf-8", &markdown) {
            error.set(Some(format!("could not export: {e}")));
        }
    };
    view! {
        <section class="card versions screen-only" data-testid="versions" aria-label="Versions">
            <h3>"Versions"</h3>
            <form class="inline-form" on:submit=save>
                <input type="text" class="grow" data-testid="version-name" aria-label="Version name"
                    placeholder="Name this version, e.g. Sent to the partner, 1 Dec" bind:value=name/>
                <button type="submit" data-testid="version-save">"Save as version…"</button>
            </form>
            <InlineError message=error test_id="version-error"/>
            <Show when=move || listed.with(|l| !l.is_empty())
                fallback=|| view! { <p class="muted">"No named versions yet. Save one to compare rounds later."</p> }>
                <ul class="plain version-list">
                    {move || listed.get().into_iter().map(|v| view! {
                        <li data-testid="version-item"><strong>{v.name}</strong>" "<span class="muted">{v.note}</span></li>
                    }).collect_view()}
                </ul>
                <div class="row compare-pick">
                    <label>"Compare "
                        <select data-testid="compare-from" aria-label="Compare from"
                            prop:value=move || from.get()
                            on:change=move |ev| from.set(event_target_value(&ev))>
                            <option value="">"choose a version"</option>
                            {move || listed.get().into_iter().map(|v| view! {
                                <option value=v.id.key()>{v.name}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>" with "
                        <select data-testid="compare-to" aria-label="Compare with"
                            prop:value=move || to.get()
                            on:change=move |ev| to.set(event_target_value(&ev))>
                            <option value=NOW>"now"</option>
                            {move || listed.get().into_iter().map(|v| view! {
                                <option value=v.id.key()>{v.name}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </div>
            </Show>
            {move || compared.get().map(|result| match result {
                Err(e) => view! { <p class="muted" data-testid="redline-unavailable">{e}</p> }.into_any(),
                Ok((from, to, lines)) => view! {
                    <div class="redline" data-testid="redline">
                        <div class="row">
                            <p class="grow" data-testid="redline-heading">
                                {format!("Redline from “{from}” to “{to}”: {} of {} clauses changed.", lines.changed(), lines.clauses.len())}
                            </p>
                            <button class="secondary" data-testid="redline-export" on:click=export>"Export redline (Markdown)"</button>
                            <button class="secondary" data-testid="redline-print" on:click=print>"Print redline"</button>
                        </div>
                        <p class="muted">"Underlined words were inserted; struck-through words were deleted."</p>
                        {lines.clauses.into_iter().filter(|c| c.changed).map(|c| {
                            let note = match (&c.diff.title_before, &c.diff.title_after) {
                                (None, Some(_)) => " — added",
                                (Some(_), None) => " — removed",
                                (Some(a), Some(b)) if a != b => " — renamed",
                                _ => "",
                            };
                            view! {
                                <article class="version-clause" data-testid="redline-clause">
                                    <h4>{c.title}<span class="muted">{note}</span></h4>
                                    <DiffText parts=c.diff.body test_id="redline-diff"
                                        part_ids=("redline-inserted", "redline-deleted")/>
                                </article>
                            }
                        }).collect_view()}
                    </div>
                }.into_any(),
            })}
        </section>
    }
}
