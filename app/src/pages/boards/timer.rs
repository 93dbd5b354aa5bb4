//! The shared timer: the facilitator starts, pauses, resumes and stops it;
//! everyone sees the same countdown, computed from the start time stored in
//! the document, so it survives a reload or a late arrival.

use accord_shared::model::boards::facilitation::{self, MAX_TIMER_MS, MIN_TIMER_MS};
use leptos::prelude::*;

use super::BoardCtx;
use crate::components::form::{InlineError, feedback};
use crate::components::icon::{Glyph, Icon};
use crate::edit::{self, apply_into};

/// `m:ss` of a duration in milliseconds, rounded up to whole seconds.
pub fn clock(ms: u64) -> String {
    let seconds = ms.div_ceil(1000);
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The timer on the board.
#[component]
pub fn TimerPanel() -> impl IntoView {
    let ctx = expect_context::<BoardCtx>();
    let (id, board) = (ctx.id, ctx.board);
    let error = feedback();
    let minutes = RwSignal::new("5".to_owned());
    let now = RwSignal::new(edit::now());
    if let Ok(handle) = set_interval_with_handle(
        move || now.set(edit::now()),
        std::time::Duration::from_millis(250),
    ) {
        on_cleanup(move || handle.clear());
    }
    let timer = move || ctx.data.with(|b| b.as_ref().and_then(|b| b.timer));
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(by) = ctx.me.get_untracked() else {
            return;
        };
        let max = u32::try_from(MAX_TIMER_MS / 60_000).unwrap_or(240);
        match edit::parse_number("minutes", &minutes.get_untracked()) {
            Ok(m) if m > 0.0 && m <= f64::from(max) => {
                // Within 0..=240 minutes, so the conversion is exact enough.
                let ms = ((m * 60_000.0).round() as u64).max(MIN_TIMER_MS);
                apply_into(error, &id, |tx| {
                    facilitation::start_timer(tx, board, ms, by, edit::now())
                });
            }
            Ok(_) => error.set(Some(format!("minutes must be between 1 and {max}"))),
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    let act = move |what: &'static str| {
        let Some(by) = ctx.me.get_untracked() else {
            return;
        };
        apply_into(error, &id, |tx| match what {
            "pause" => facilitation::pause_timer(tx, board, by, edit::now()),
            "resume" => facilitation::resume_timer(tx, board, by, edit::now()),
            _ => facilitation::stop_timer(tx, board, by),
        });
    };
    view! {
        <section class="timer" data-testid="timer">
            {move || timer().map(|t| {
                let left = t.remaining_ms(now.get());
                view! {
                    <span class="timer-clock" class:done=left == 0 class:paused=t.is_paused()
                        data-testid="timer-remaining" role="timer">
                        <Glyph icon=if left == 0 { Icon::Bell } else { Icon::Timer }/>
                        {if left == 0 { " time is up".to_owned() } else { format!(" {} left", clock(left)) }}
                        {t.is_paused().then_some(" (paused)")}
                    </span>
                }
            })}
            <Show when=move || ctx.is_facilitator()>
                {move || match timer() {
                    Some(t) => view! {
                        {if t.is_paused() {
                            view! { <button data-testid="timer-resume" on:click=move |_| act("resume")>"Resume"</button> }.into_any()
                        } else {
                            view! { <button data-testid="timer-pause" on:click=move |_| act("pause")>"Pause"</button> }.into_any()
                        }}
                        <button data-testid="timer-stop" on:click=move |_| act("stop")>"Stop"</button>
                    }.into_any(),
                    None => view! {
                        <form class="inline-form" on:submit=start>
                            <label>"Minutes "
                                <input type="number" min="1" data-testid="timer-minutes" bind:value=minutes/>
                            </label>
                            <button type="submit" data-testid="timer-start">"Start timer"</button>
                        </form>
                    }.into_any(),
                }}
            </Show>
            <InlineError message=error test_id="timer-error"/>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_rounds_up_to_whole_seconds() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(1), "0:01");
        assert_eq!(clock(59_001), "1:00");
        assert_eq!(clock(300_000), "5:00");
        assert_eq!(clock(61_500), "1:02");
    }
}
