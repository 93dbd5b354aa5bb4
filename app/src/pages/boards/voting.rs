//! Dot voting: the facilitator opens a vote with N dots each; everyone
//! places their dots on notes and casts them sealed, so the others see only
//! how many have voted; once the facilitator reveals, every device
//! publishes its key and the ranked totals appear on all of them.

use accord_shared::model::ItemId;
use accord_shared::model::boards::voting::{self, Ballot, MAX_VOTES_EACH};
use leptos::prelude::*;

use super::BoardCtx;
use crate::components::form::{InlineError, feedback};
use crate::components::icon::{Glyph, Icon};
use crate::edit::{self, apply_into};
use crate::store::Store;
use crate::sync_client::client;

/// The vote bar above the board.
#[component]
pub fn VotePanel() -> impl IntoView {
    let store = expect_context::<Store>();
    let ctx = expect_context::<BoardCtx>();
    let (id, board) = (ctx.id, ctx.board);
    let error = feedback();
    let each = RwSignal::new("3".to_owned());

    // The draft starts from this member's cast ballot, whenever the open
    // vote changes (a reload keeps one's dots).
    Effect::new(move |previous: Option<Option<ItemId>>| {
        let open = ctx.open_vote().map(|v| v.id);
        if previous != Some(open) {
            let dots = match (open, ctx.me.get_untracked(), client()) {
                (Some(vote), Some(me), Some(client)) => {
                    let key = client.seal_key(board, vote, me);
                    edit::read(store, &id, |doc| {
                        voting::own_ballot(doc, board, vote, me, &key)
                    })
                    .flatten()
                    .map(|b| b.dots)
                    .unwrap_or_default()
                }
                _ => Default::default(),
            };
            ctx.draft.set(dots);
        }
        open
    });

    let open_vote = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(vote), Some(by)) = (edit::new_id(error), ctx.me.get_untracked()) else {
            return;
        };
        match edit::parse_whole(
            "votes each",
            &each.get_untracked(),
            1,
            MAX_VOTES_EACH as u32,
        ) {
            Ok(n) => {
                apply_into(error, &id, |tx| {
                    voting::open(tx, board, vote, n, by, edit::now())
                });
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    let cast = move |_| {
        let (Some(vote), Some(me), Some(client)) =
            (ctx.open_vote(), ctx.me.get_untracked(), client())
        else {
            return;
        };
        let Some(nonce) = super::nonce(error) else {
            return;
        };
        let key = client.seal_key(board, vote.id, me);
        let ballot = Ballot {
            dots: ctx.draft.get_untracked(),
        };
        apply_into(error, &id, |tx| {
            voting::cast(tx, board, vote.id, me, &ballot, &key, nonce, edit::now())
        });
    };
    let reveal = move |_| {
        let (Some(vote), Some(by)) = (ctx.open_vote(), ctx.me.get_untracked()) else {
            return;
        };
        apply_into(error, &id, |tx| {
            voting::reveal(tx, board, vote.id, by, edit::now())
        });
    };
    let close = move |_| {
        let (Some(vote), Some(by)) = (ctx.latest_vote(), ctx.me.get_untracked()) else {
            return;
        };
        apply_into(error, &id, |tx| {
            voting::close(tx, board, vote.id, by, edit::now())
        });
    };
    let note_text = move |note: ItemId| {
        ctx.data.with(|b| {
            b.as_ref()
                .and_then(|b| b.notes.iter().find(|n| n.id == note))
                .map(|n| n.text.clone())
                .unwrap_or_else(|| "(removed note)".to_owned())
        })
    };

    view! {
        <section class="vote-panel" data-testid="vote-panel">
            {move || match ctx.latest_vote() {
                Some(vote) if vote.is_open() => {
                    let each = vote.votes_each;
                    let mine = ctx.me.get().is_some_and(|me| vote.voters.iter().any(|v| v.0 == me));
                    view! {
                        <p data-testid="vote-status">
                            {format!("Dot voting: {each} dots each · {} voted", vote.voters.len())}
                        </p>
                        <p class="muted" data-testid="vote-mine">
                            {move || {
                                let placed: u32 = ctx.draft.with(|d| d.values().map(|&n| u32::from(n)).sum());
                                format!("You placed {placed} of {each} dots{}", if mine { " (cast; you may change and cast again)" } else { "" })
                            }}
                        </p>
                        <button data-testid="vote-cast" on:click=cast>"Cast my dots (sealed)"</button>
                        <Show when=move || ctx.is_facilitator()>
                            <button data-testid="vote-reveal" on:click=reveal>"Reveal votes"</button>
                        </Show>
                    }.into_any()
                }
                Some(vote) => {
                    let results = vote.results.clone();
                    view! {
                        <p data-testid="vote-status">
                            {format!("Votes revealed · {} voted", vote.voters.len())}
                            {results.as_ref().filter(|r| !r.complete).map(|r| format!(" · {} of {} ballots opened so far", r.counted, r.cast))}
                        </p>
                        <ol class="vote-results" data-testid="vote-results">
                            {results.map(|r| r.ranking.into_iter().filter(|(_, n)| *n > 0).map(|(note, total)| view! {
                                <li data-testid="vote-result">{format!("{total} · {}", note_text(note))}</li>
                            }).collect_view())}
                        </ol>
                        <Show when=move || ctx.is_facilitator()>
                            <button data-testid="vote-close" on:click=close>"Done with this vote"</button>
                        </Show>
                    }.into_any()
                }
                None => view! {
                    <Show when=move || ctx.is_facilitator()>
                        <form class="inline-form" on:submit=open_vote>
                            <label>"Dots each "
                                <input type="number" min="1" max=MAX_VOTES_EACH.to_string()
                                    data-testid="vote-each" bind:value=each/>
                            </label>
                            <button type="submit" data-testid="vote-open">"Open dot voting"</button>
                        </form>
                    </Show>
                }.into_any(),
            }}
            <InlineError message=error test_id="vote-error"/>
        </section>
    }
}

/// A note's dots: this member's placing while a vote is open, the total
/// once it is revealed.
#[component]
pub fn NoteDots(
    /// The note.
    note: ItemId,
) -> impl IntoView {
    let ctx = expect_context::<BoardCtx>();
    let mine = move || ctx.draft.with(|d| d.get(&note).copied().unwrap_or(0));
    let change = move |step: i8| {
        let Some(vote) = ctx.open_vote() else {
            return;
        };
        ctx.draft.update(|d| {
            let placed: u32 = d.values().map(|&n| u32::from(n)).sum();
            let current = d.get(&note).copied().unwrap_or(0);
            let next = if step > 0 {
                if placed >= vote.votes_each {
                    return;
                }
                current.saturating_add(1)
            } else {
                current.saturating_sub(1)
            };
            if next == 0 {
                d.remove(&note);
            } else {
                d.insert(note, next);
            }
        });
    };
    move || {
        match ctx.latest_vote() {
        Some(vote) if vote.is_open() => view! {
            <div class="note-dots row">
                <button class="link" data-testid="dot-remove" aria-label="Take a dot off" on:click=move |_| change(-1)><Glyph icon=Icon::Minus/></button>
                <span data-testid="dot-mine" data-count=move || mine().to_string()
                    aria-label=move || format!("your dots: {}", mine())>
                    {move || (0..mine()).map(|_| view! { <Glyph icon=Icon::Dot/> }).collect_view()}
                </span>
                <button class="link" data-testid="dot-add" aria-label="Place a dot" on:click=move |_| change(1)><Glyph icon=Icon::Plus/><Glyph icon=Icon::Dot/></button>
            </div>
        }
        .into_any(),
        Some(vote) => {
            let total = vote
                .results
                .and_then(|r| r.ranking.iter().find(|(n, _)| *n == note).map(|(_, t)| *t));
            total
                .map(|t| view! { <p class="note-total" data-testid="note-total">{if t == 1 { "1 dot".to_owned() } else { format!("{t} dots") }}</p> })
                .into_any()
        }
        None => ().into_any(),
    }
    }
}
