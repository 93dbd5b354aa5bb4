//! The agreement page (issue 6): ordered clauses co-edited as Automerge
//! Text, their status, threaded comments, clause-by-clause sign-off with the
//! device key, what the partner changed since this device last looked, the
//! history with any past version and its diff, and export to Markdown and
//! print. Negotiation (issue 16): suggesting mode with accept / reject,
//! comments on selected words, named versions and their redline.
//!
//! Sign-offs are judged against the keys the relay attests for the
//! partnership (`GET /api/documents/{id}/keys`, remembered on the device
//! for offline use): a member's key counts only when the relay vouches for
//! it. Until the relay has been asked once, sign-offs show as unverified,
//! never as signed.

mod clause;
mod comments;
mod editor;
mod history;
mod per_clause;
mod suggesting;
mod versions;

use accord_shared::automerge::{Automerge, ChangeHash};
use accord_shared::ids::DocumentId;
use accord_shared::model::agreement::{self, NewClause};
use accord_shared::model::formatting;
use accord_shared::model::signoff::{ClauseSignoffs, PartyState};
use accord_shared::model::{
    ItemId, MemberId, device_keys, members, overview, parties, suggestions, touched,
};
use accord_shared::views::export;
use accord_shared::views::history::{self as doc_history, ClauseChangeKind};
use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

use crate::browser;
use crate::components::form::{InlineError, feedback};
use crate::edit::{self, apply_into};
use crate::store::Store;
use crate::sync_client::client;

/// What the clause cards share with the page.
#[derive(Debug, Clone, Copy)]
struct AgreementContext {
    /// The partnership.
    id: DocumentId,
    /// Public keys (hex) the relay attests for this partnership; `None`
    /// until the relay (or this device's memory of it) has answered.
    keys: RwSignal<Option<Vec<String>>>,
    /// The version this device last looked at (`None`: first visit).
    seen: RwSignal<Option<Vec<ChangeHash>>>,
}

/// A member's name, or a placeholder for one not in the document.
fn member_name(doc: &Automerge, member: MemberId) -> String {
    members::list(doc)
        .into_iter()
        .find(|m| m.id == member)
        .map_or_else(|| "someone".to_owned(), |m| m.name)
}

/// "Name (Organization)" of a member.
fn member_with_party(doc: &Automerge, member: MemberId) -> String {
    let party = members::get(doc, member).ok().and_then(|m| m.party);
    match party {
        Some(party) => format!("{} ({})", member_name(doc, member), party_name(doc, party)),
        None => member_name(doc, member),
    }
}

/// A party's name, or a placeholder.
fn party_name(doc: &Automerge, party: accord_shared::model::PartyId) -> String {
    parties::list(doc)
        .into_iter()
        .find(|p| p.id == party)
        .map_or_else(|| "another organization".to_owned(), |p| p.fields.name)
}

/// Who changed the `watch`ed clause since the `baseline` ("changed by Bob
/// Brown (Globex) since you last looked"), when someone other than `me`
/// did.
fn change_note(
    doc: &Automerge,
    baseline: &doc_history::Baseline,
    watch: &mut doc_history::ClauseWatch,
    me: Option<MemberId>,
) -> Option<String> {
    let c = watch.change(doc, baseline)?;
    if !c.unattributed && c.members.iter().all(|m| Some(*m) == me) {
        return None;
    }
    let mut who: Vec<String> = c
        .members
        .iter()
        .filter(|m| Some(**m) != me)
        .map(|m| member_with_party(doc, *m))
        .collect();
    if c.unattributed {
        who.push("an unregistered device".to_owned());
    }
    let mine = me.is_some_and(|me| c.members.contains(&me));
    let what = match c.kind {
        ClauseChangeKind::Added if !mine => "added",
        ClauseChangeKind::Removed => "removed",
        _ => "changed",
    };
    Some(format!(
        "{what} by {} since you last looked",
        who.join(" and ")
    ))
}

/// Loads the attested keys (remembered first, then fresh from the relay)
/// and the last-seen version; on leaving, records the version now shown as
/// seen.
fn load_device_state(ctx: AgreementContext) {
    let id = ctx.id;
    spawn_local(async move {
        let Some(client) = client() else {
            return;
        };
        if let Ok(Some(keys)) = client.remembered_keys(&id).await {
            ctx.keys.set(Some(keys));
        }
        match client.seen_heads(&id).await {
            Ok(Some(heads)) => ctx.seen.set(Some(heads)),
            _ => {
                // First visit: everything is new to this device, so nothing
                // is singled out; from now on changes are.
                if let Some(heads) = client.heads(&id) {
                    let _ = client.mark_seen(&id, &heads).await;
                    ctx.seen.set(Some(heads));
                }
            }
        }
        refresh_keys(ctx).await;
    });
    on_cleanup(move || {
        spawn_local(async move {
            if let Some(client) = client()
                && let Some(heads) = client.heads(&id)
            {
                let _ = client.mark_seen(&id, &heads).await;
            }
        });
    });
}

/// How long [`start_watching`] waits for the partnership to arrive whole
/// before taking what is here as the starting point.
const CATCH_UP_WAIT_MS: u64 = 10_000;

/// Starts "changed since you last looked" when the person first opens the
/// partnership (on any page), not on their first visit to the agreement:
/// what partners change after that is flagged on the agreement page, while
/// what was there when they arrived (including what was still arriving as
/// they joined) is not. Does nothing once a version is recorded.
pub(crate) fn start_watching(id: DocumentId) {
    spawn_local(async move {
        let Some(client) = client() else {
            return;
        };
        if matches!(client.seen_heads(&id).await, Ok(Some(_))) {
            return;
        }
        let deadline = crate::browser::now_ms() + CATCH_UP_WAIT_MS;
        while !client.caught_up_with_relay(&id) && crate::browser::now_ms() < deadline {
            crate::browser::sleep(200).await;
        }
        if matches!(client.seen_heads(&id).await, Ok(Some(_))) {
            return;
        }
        if let Some(heads) = client.heads(&id).filter(|h| !h.is_empty()) {
            let _ = client.mark_seen(&id, &heads).await;
        }
    });
}

/// Asks the relay for the keys it attests now.
async fn refresh_keys(ctx: AgreementContext) {
    let Some(client) = client() else {
        return;
    };
    match client.attested_keys(&ctx.id).await {
        Ok(Some(keys)) => ctx.keys.set(Some(keys)),
        Ok(None) => {}
        Err(error) => browser::log(&format!("attested keys: {error}")),
    }
}

/// The agreement page.
#[component]
pub fn AgreementPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let ctx = AgreementContext {
        id,
        keys: RwSignal::new(None),
        seen: RwSignal::new(None),
    };
    provide_context(ctx);
    load_device_state(ctx);

    // A member key the relay has not been asked about yet (someone just
    // joined, or linked another device): ask again, at most every ten
    // seconds.
    let last_refresh = StoredValue::new(0u64);
    let member_places = touched::members();
    Effect::new(move |_| {
        let keys = ctx.keys.get();
        let unknown = edit::read_in(&id, &[&member_places], |doc| {
            members::list(doc).iter().any(|m| {
                device_keys::member_keys(doc, &id, m.id).iter().any(|k| {
                    let k = browser::hex(k.as_bytes());
                    keys.as_ref()
                        .is_some_and(|keys| !keys.iter().any(|x| x.eq_ignore_ascii_case(&k)))
                })
            })
        })
        .unwrap_or(false);
        let now = edit::now();
        if unknown && now.saturating_sub(last_refresh.get_value()) > 10_000 {
            last_refresh.set_value(now);
            spawn_local(refresh_keys(ctx));
        }
    });

    // Two members who accepted one suggestion at once each inserted its
    // words; once their changes meet, take the second copy out (any
    // replica may, and several doing so at once converge).
    let suggestion_places = touched::suggestions();
    Effect::new(move |_| {
        if edit::read_in(&id, &[&suggestion_places], suggestions::unsettled) == Some(true)
            && let Err(e) = edit::apply(&id, |tx| suggestions::settle(tx).map(|_| ()))
        {
            browser::log(&format!("settling suggestions: {e}"));
        }
    });

    // Any change to a clause concerns the list of clauses: reading only
    // the ids and order keeps that cheap.
    let clause_places = touched::clauses();
    let order = Memo::new(move |_| {
        edit::read_in(&id, &[&clause_places], agreement::clause_ids).unwrap_or_default()
    });
    let me = Memo::new(move |_| {
        store.revision.track();
        edit::me(&id)
    });
    let per_clause = per_clause::PerClause::new(ctx, me);
    // The clauses changed by others since this device last looked: those
    // there now and those there then (removed since).
    let changed_count = Memo::new(move |_| {
        let mut clauses = order.get();
        for clause in per_clause.seen_clauses() {
            if !clauses.contains(&clause) {
                clauses.push(clause);
            }
        }
        clauses
            .into_iter()
            .filter(|c| per_clause.note(*c).with(Option::is_some))
            .count()
    });
    provide_context(per_clause);
    provide_context(order);
    provide_context(versions::RedlinePrint(RwSignal::new(None)));

    let error = feedback();
    let add_title = RwSignal::new(String::new());
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(clause) = edit::new_id(error) else {
            return;
        };
        let new = NewClause {
            title: add_title.get_untracked(),
            body: String::new(),
        };
        if apply_into(error, &id, |tx| {
            agreement::add_clause(tx, clause, &new, edit::now())
        }) {
            add_title.set(String::new());
        }
    };
    let outline = move |_| {
        apply_into(error, &id, |tx| {
            agreement::standard_outline(tx, edit::now())
        });
    };
    let mark_seen = move |_| {
        spawn_local(async move {
            if let Some(client) = client()
                && let Some(heads) = client.heads(&id)
            {
                let _ = client.mark_seen(&id, &heads).await;
                ctx.seen.set(Some(heads));
            }
        });
    };
    let export = move |_| {
        let keys = ctx.keys.get_untracked();
        let made = edit::read(store, &id, |doc| {
            let title = overview::title(doc);
            let markdown = export::agreement_markdown(
                doc,
                &id,
                &device_keys::relay_attested(doc, &id, keys.as_deref()),
            );
            (title, markdown)
        });
        if let Some((title, markdown)) = made {
            let name = format!("{} agreement.md", file_stem(&title));
            if let Err(e) = browser::download(&name, "text/markdown;charset=utf-8", &markdown) {
                error.set(Some(format!("could not export: {e}")));
            }
        }
    };
    let print = move |_| {
        if let Err(e) = browser::print() {
            error.set(Some(format!("could not print: {e}")));
        }
    };
    let changed_count = move || changed_count.get();

    view! {
        <div class="agreement-head screen-only">
            <SignoffOverview/>
            <div class="row">
                <button class="secondary" data-testid="agreement-export" on:click=export>"Export Markdown"</button>
                <button class="secondary" data-testid="agreement-print" on:click=print>"Print / PDF"</button>
            </div>
            <Show when=move || { changed_count() > 0 }>
                <p class="note changed-note" data-testid="changed-since" role="status">
                    {move || match changed_count() {
                        1 => "1 clause changed since you last looked (highlighted).".to_owned(),
                        n => format!("{n} clauses changed since you last looked (highlighted)."),
                    }}
                    " "
                    <button class="link" data-testid="mark-seen" on:click=mark_seen>"Mark as seen"</button>
                </p>
            </Show>
        </div>
        <ol class="clauses screen-only">
            <For each=move || order.get() key=|clause| *clause let:clause>
                <clause::ClauseCard clause=clause/>
            </For>
        </ol>
        <Show when=move || order.with(Vec::is_empty)>
            <p class="muted screen-only">"No clauses yet."</p>
            <button class="screen-only" data-testid="agreement-outline" on:click=outline>
                "Start from the standard outline"
            </button>
        </Show>
        <form class="inline-form screen-only" on:submit=add>
            <input type="text" data-testid="new-clause-title" placeholder="New clause title"
                aria-label="New clause title" bind:value=add_title/>
            <button type="submit" data-testid="add-clause">"Add clause"</button>
        </form>
        <InlineError message=error test_id="agreement-error"/>
        <RemovedClauses/>
        <versions::VersionsPanel/>
        <history::HistoryPanel/>
        <PrintView/>
    }
}

/// A file name made from a partnership title.
fn file_stem(title: &str) -> String {
    let stem: String = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = stem.trim();
    if stem.is_empty() {
        "partnership".to_owned()
    } else {
        stem.to_owned()
    }
}

/// Per party, how many of the clauses it has signed as they read now.
#[component]
fn SignoffOverview() -> impl IntoView {
    let ctx = expect_context::<AgreementContext>();
    let order = expect_context::<Memo<Vec<ItemId>>>();
    let per_clause = expect_context::<per_clause::PerClause>();
    let party_places = touched::parties();
    // Each clause's sign-offs are computed once per change of that clause
    // (see `per_clause`); this adds them up.
    let rows = Memo::new(move |_| {
        let clauses: Vec<ClauseSignoffs> = order
            .get()
            .into_iter()
            .filter_map(|c| per_clause.signoffs(c).get())
            .collect();
        let total = clauses.len();
        edit::read_in(&ctx.id, &[&party_places], parties::list)
            .unwrap_or_default()
            .into_iter()
            .map(|party| {
                let signed = clauses
                    .iter()
                    .filter(|c| c.signed_by().contains(&party.id))
                    .count();
                let void = clauses
                    .iter()
                    .filter(|c| {
                        c.parties
                            .iter()
                            .any(|p| p.party == party.id && p.state == PartyState::Void)
                    })
                    .count();
                (party.fields.name, signed, void, total)
            })
            .collect::<Vec<_>>()
    });
    view! {
        <ul class="signoff-overview plain" data-testid="signoff-overview">
            {move || rows.get().into_iter().map(|(name, signed, void, total)| {
                let all = total > 0 && signed == total;
                view! {
                    <li class:all-signed=all data-testid="party-signoff-total">
                        <strong>{name}</strong>
                        {format!(": signed {signed} of {total} clauses")}
                        {(void > 0).then(|| format!(" ({void} void after later edits)"))}
                    </li>
                }
            }).collect_view()}
        </ul>
        <Show when=move || ctx.keys.with(Option::is_none)>
            <p class="muted" data-testid="keys-unverified">
                "Sign-offs are unverified until the relay has confirmed the members' keys."
            </p>
        </Show>
    }
}

/// Removed clauses, each with a Restore button.
#[component]
fn RemovedClauses() -> impl IntoView {
    let store = expect_context::<Store>();
    let ctx = expect_context::<AgreementContext>();
    let error = feedback();
    let removed = Memo::new(move |_| {
        edit::read(store, &ctx.id, |doc| {
            agreement::deleted_clauses(doc)
                .into_iter()
                .map(|(c, at)| (c.id, c.title, at))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    });
    view! {
        <Show when=move || removed.with(|r| !r.is_empty())>
            <details class="removed screen-only">
                <summary>{move || format!("Removed clauses ({})", removed.with(Vec::len))}</summary>
                <ul class="plain">
                    {move || removed.get().into_iter().map(|(clause, title, at)| view! {
                        <li data-testid="removed-clause">
                            {title}
                            <span class="muted">{format!(" removed {} ", edit::format_date(at))}</span>
                            <button class="link" data-testid="restore-clause"
                                on:click=move |_| { apply_into(error, &ctx.id, |tx| accord_shared::model::items::restore(tx, accord_shared::model::Collection::Clauses, clause)); }>
                                "Restore"
                            </button>
                        </li>
                    }).collect_view()}
                </ul>
                <InlineError message=error test_id="restore-clause-error"/>
            </details>
        </Show>
    }
}

/// Styled runs of clause text as HTML (bold, italic; line breaks kept by
/// the `print-body` class).
fn styled(runs: Vec<formatting::Run>) -> impl IntoView {
    runs.into_iter()
        .map(|run| match (run.bold, run.italic) {
            (true, true) => view! { <strong><em>{run.text}</em></strong> }.into_any(),
            (true, false) => view! { <strong>{run.text}</strong> }.into_any(),
            (false, true) => view! { <em>{run.text}</em> }.into_any(),
            (false, false) => run.text.into_any(),
        })
        .collect_view()
}

/// The agreement as it prints: clause text with its styles and lines and each party's
/// sign-off state (hidden on screen; the print stylesheet shows only this).
#[component]
fn PrintView() -> impl IntoView {
    let store = expect_context::<Store>();
    let ctx = expect_context::<AgreementContext>();
    let redline = expect_context::<versions::RedlinePrint>();
    let order = expect_context::<Memo<Vec<ItemId>>>();
    let title = Memo::new(move |_| edit::read(store, &ctx.id, overview::title).unwrap_or_default());
    let content = move || {
        if let Some((from, to, lines)) = redline.0.get() {
            return versions::printed(&title.get(), &from, &to, &lines).into_any();
        }
        view! {
            <h1>{move || title.get()}</h1>
            <p>"Partnership agreement, printed " {edit::format_date(edit::now())}</p>
            <For each=move || order.get() key=|clause| *clause let:clause>
                <PrintClause clause=clause/>
            </For>
        }
        .into_any()
    };
    view! { <div class="print-only" data-testid="print-view">{content}</div> }
}

/// One clause as it prints, re-read only when that clause (or its
/// sign-offs) changed.
#[component]
fn PrintClause(
    /// The clause.
    clause: ItemId,
) -> impl IntoView {
    let ctx = expect_context::<AgreementContext>();
    let order = expect_context::<Memo<Vec<ItemId>>>();
    let per_clause = expect_context::<per_clause::PerClause>();
    let places = [touched::clause(clause), touched::parties()];
    let number = move || order.with(|o| o.iter().position(|c| *c == clause).map_or(0, |i| i + 1));
    let content = move || {
        let signoffs = per_clause.signoffs(clause).get();
        let paths: Vec<&[String]> = places.iter().map(Vec::as_slice).collect();
        edit::read_in(&ctx.id, &paths, |doc| {
            let c = agreement::clause(doc, clause).ok()?;
            let state = signoffs
                .map(|s| {
                    s.parties
                        .iter()
                        .map(|p| format!("{}: {}", party_name(doc, p.party), state_label(p.state)))
                        .collect::<Vec<_>>()
                        .join(" · ")
                })
                .unwrap_or_default();
            let runs = formatting::clause_runs(doc, clause).unwrap_or_default();
            Some(view! {
                <h3>{format!("{}. {}", number(), c.title)}</h3>
                <p class="print-status">{format!("Status: {} — {state}", c.status)}</p>
                <div class="print-body">{styled(runs)}</div>
            })
        })
        .flatten()
    };
    view! { <section class="print-clause">{content}</section> }
}

/// How a party's sign-off state reads.
fn state_label(state: PartyState) -> &'static str {
    match state {
        PartyState::Signed => "signed",
        PartyState::Void => "void (changed since signed)",
        PartyState::Invalid => "invalid sign-off",
        PartyState::Unsigned => "not signed",
    }
}

/// A clause and who wrote it (members, their parties), with `also`: what
/// a view of the clause that names people re-reads on.
pub(super) fn clause_places(clause: ItemId, also: touched::Path) -> [touched::Path; 4] {
    [
        touched::clause(clause),
        touched::members(),
        touched::parties(),
        also,
    ]
}

/// Up to `around` characters of `text` before `start` and after `end`
/// (a caret, or a stretch of text), each marked with "…" where it was cut.
pub(super) fn surroundings(
    text: &[char],
    start: usize,
    end: usize,
    around: usize,
) -> (String, String) {
    let end = end.min(text.len());
    let start = start.min(end);
    let from = start.saturating_sub(around);
    let to = end.saturating_add(around).min(text.len());
    let mut before: String = text[from..start].iter().collect();
    let mut after: String = text[end..to].iter().collect();
    if from > 0 {
        before.insert(0, '…');
    }
    if to < text.len() {
        after.push('…');
    }
    (before, after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_words_and_drop_path_characters() {
        assert_eq!(file_stem("Acme / Beta: 2027"), "Acme _ Beta_ 2027");
        assert_eq!(file_stem("  "), "partnership");
    }
}
