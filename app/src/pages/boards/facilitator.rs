//! The facilitator's bar: lock the board, bring everyone to a column or
//! note (the 👁 buttons) or let them look freely again, and private writing
//! with its reveal. Others see what is on, not the buttons.

use accord_shared::model::boards::{self, facilitation};
use leptos::prelude::*;

use super::BoardCtx;
use crate::components::form::{InlineError, feedback};
use crate::edit::{self, apply_into};

/// The facilitator's controls, and who facilitates.
#[component]
pub fn FacilitatorBar() -> impl IntoView {
    let ctx = expect_context::<BoardCtx>();
    let (id, board) = (ctx.id, ctx.board);
    let error = feedback();
    let read = move |f: fn(&boards::Board) -> bool| ctx.data.with(|b| b.as_ref().is_some_and(f));
    let locked = move || read(|b| b.locked);
    let private = move || read(|b| b.private_writing.is_some());
    let focused = move || read(|b| b.focus.is_some());
    let facilitator = move || {
        let who = ctx.data.with(|b| b.as_ref().and_then(|b| b.facilitator));
        ctx.people.with(|p| p.name(who))
    };
    let run = move |what: &'static str| {
        let Some(by) = ctx.me.get_untracked() else {
            return;
        };
        let now = edit::now();
        apply_into(error, &id, |tx| match what {
            "lock" => boards::set_locked(tx, board, true, by),
            "unlock" => boards::set_locked(tx, board, false, by),
            "private" => facilitation::start_private_writing(tx, board, by, now),
            "reveal" => facilitation::reveal_private_notes(tx, board, by),
            _ => facilitation::clear_focus(tx, board, by),
        });
    };
    view! {
        <div class="facilitator-bar row" data-testid="facilitator-bar">
            <span class="muted" data-testid="facilitator">{move || format!("Facilitator: {}", facilitator())}</span>
            <Show when=move || ctx.is_facilitator()>
                {move || if locked() {
                    view! { <button data-testid="board-unlock" on:click=move |_| run("unlock")>"Unlock board"</button> }.into_any()
                } else {
                    view! { <button data-testid="board-lock" on:click=move |_| run("lock")>"Lock board"</button> }.into_any()
                }}
                {move || if private() {
                    view! { <button data-testid="private-reveal" on:click=move |_| run("reveal")>"Reveal private notes"</button> }.into_any()
                } else {
                    view! { <button data-testid="private-start" on:click=move |_| run("private")>"Start private writing"</button> }.into_any()
                }}
                <Show when=focused>
                    <button data-testid="focus-clear" on:click=move |_| run("focus")>"Let everyone look freely"</button>
                </Show>
                <span class="muted">"Use the eye button on a column, or “Bring everyone here” on a note, to bring everyone to your view."</span>
            </Show>
        </div>
        <InlineError message=error test_id="facilitator-error"/>
    }
}
