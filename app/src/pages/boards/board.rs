//! One open board: its header, who is here, the facilitator's bar, timer
//! and vote, then the columns of notes with everyone's pointers on top.

use std::collections::BTreeMap;

use accord_shared::ids::DocumentId;
use accord_shared::model::boards::{
    self, Colour, NewNote, facilitation::FocusTarget, voting as model_voting,
};
use accord_shared::model::{ItemId, touched};
use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::{BoardCtx, People, place_of, publish_keys, read_board};
use crate::components::form::{InlineError, feedback};
use crate::components::icon::{Glyph, Icon};
use crate::components::rows;
use crate::edit::{self, apply_into};
use crate::presence::BoardSpot;
use crate::store::Store;
use crate::sync_client::client;
use crate::sync_client::party_colour;

/// Tells the others where this tab is on the board.
fn send_spot(id: DocumentId, board: ItemId, pointer: Option<(u16, u16)>, selected: Option<ItemId>) {
    if let Some(client) = client() {
        client.set_board_spot(
            id,
            Some(BoardSpot {
                board: board.key(),
                pointer,
                selected: selected.map(|s| s.key()),
            }),
        );
    }
}

/// Ten-thousandths of `part` in `whole`, clamped to 0..=10 000.
fn fraction(part: f64, whole: f64) -> u16 {
    if whole <= 0.0 {
        return 0;
    }
    // Clamped to 0..=10 000 first, so the conversion is exact.
    ((part / whole).clamp(0.0, 1.0) * 10_000.0).round() as u16
}

/// Scrolls the element marked `data-focus=key` into view.
fn scroll_to(key: &str) {
    let found = web_sys::window().and_then(|w| w.document()).and_then(|d| {
        d.query_selector(&format!("[data-focus='{key}']"))
            .ok()
            .flatten()
    });
    if let Some(element) = found {
        element.scroll_into_view();
    }
}

/// An open board.
#[component]
pub fn BoardView(
    /// The partnership.
    id: DocumentId,
    /// The board.
    board: ItemId,
    /// The board shown; cleared by "All workshops".
    open: RwSignal<Option<ItemId>>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let data = read_board(id, board);
    let place = place_of(board);
    let votes = Memo::new(move |_| {
        edit::read_in(&id, &[&place], |doc| model_voting::list(doc, board)).unwrap_or_default()
    });
    let people = rows::watched(
        id,
        vec![touched::members(), touched::parties()],
        People::read,
    );
    let people = Memo::new(move |_| people.get().unwrap_or_default());
    let me = Memo::new(move |_| {
        store.revision.track();
        edit::me(&id)
    });
    let ctx = BoardCtx {
        id,
        board,
        data,
        votes,
        people,
        me,
        error: feedback(),
        picked: RwSignal::new(Vec::new()),
        selected: RwSignal::new(None),
        draft: RwSignal::new(BTreeMap::new()),
    };
    provide_context(ctx);

    // Announce the board (and later the pointer); forget it on leaving.
    send_spot(id, board, None, None);
    on_cleanup(move || {
        if let Some(client) = client() {
            client.set_board_spot(id, None);
        }
    });

    // Publish this member's keys once the facilitator has revealed (a
    // change to this board's votes or notes).
    let place = place_of(board);
    Effect::new(move |_| {
        edit::watch(&id, &[&place]);
        if let Some(me) = me.get() {
            publish_keys(store, id, board, me);
        }
    });

    // Follow the facilitator's focus when it changes (not one's own).
    Effect::new(move |previous: Option<Option<u64>>| {
        let focus = data.with(|b| b.as_ref().and_then(|b| b.focus));
        let at = focus.map(|f| f.at);
        if let Some(focus) = focus
            && previous.is_some_and(|p| p != at)
            && focus.by != me.get_untracked()
        {
            let key = match focus.target {
                FocusTarget::Column(c) | FocusTarget::Note(c) => c.key(),
            };
            request_animation_frame(move || scroll_to(&key));
        }
        at
    });

    let area = NodeRef::<Div>::new();
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let Some(area) = area.get_untracked() else {
            return;
        };
        let element: &web_sys::Element = area.unchecked_ref();
        let rect = element.get_bounding_client_rect();
        let x = fraction(f64::from(ev.client_x()) - rect.left(), rect.width());
        let y = fraction(f64::from(ev.client_y()) - rect.top(), rect.height());
        send_spot(id, board, Some((x, y)), ctx.selected.get_untracked());
    };
    let on_leave = move |_| send_spot(id, board, None, ctx.selected.get_untracked());

    let title = move || data.with(|b| b.as_ref().map(|b| b.title.clone()).unwrap_or_default());
    let locked = move || data.with(|b| b.as_ref().is_some_and(|b| b.locked));
    let private = move || data.with(|b| b.as_ref().is_some_and(|b| b.private_writing.is_some()));
    let columns = move || super::column_choices(data);
    let group_error = feedback();
    let group = move |_| {
        let notes = ctx.picked.get_untracked();
        let existing = data.with_untracked(|b| {
            b.as_ref().and_then(|b| {
                b.notes
                    .iter()
                    .filter(|n| notes.contains(&n.id))
                    .find_map(|n| n.group)
            })
        });
        let Some(group) = existing.or_else(|| edit::new_id(group_error)) else {
            return;
        };
        let Some(by) = me.get_untracked() else {
            return;
        };
        if apply_into(group_error, &id, |tx| {
            boards::group_notes(tx, board, &notes, group, by)
        }) {
            ctx.picked.set(Vec::new());
        }
    };
    let column_title = RwSignal::new(String::new());
    let add_column = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(column), Some(by)) = (edit::new_id(ctx.error), me.get_untracked()) else {
            return;
        };
        if apply_into(ctx.error, &id, |tx| {
            boards::add_column(tx, board, column, &column_title.get_untracked(), by)
        }) {
            column_title.set(String::new());
        }
    };

    let others = Memo::new(move |_| others_on_board(store, &ctx));
    let missing =
        crate::components::not_here(store, "Loading the board…", "This board is no longer here.");
    view! {
        <Show when=move || data.with(Option::is_some) fallback=move || view! {
            <p class="muted" data-testid="board-missing">{missing}</p>
            <button class="link" data-testid="boards-back" on:click=move |_| open.set(None)>
                <Glyph icon=Icon::ArrowLeft/>
                " All workshops"
            </button>
        }>
        <div class="board-head row">
            <button class="link" data-testid="boards-back" on:click=move |_| open.set(None)>
                <Glyph icon=Icon::ArrowLeft/>
                " All workshops"
            </button>
            <h2 class="grow" data-testid="board-title">{title}</h2>
            <Show when=locked>
                <span class="badge" data-testid="board-locked"><Glyph icon=Icon::Lock/>" locked by the facilitator"</span>
            </Show>
            <Show when=private>
                <span class="badge" data-testid="private-writing"><Glyph icon=Icon::Pencil/>" private writing: notes stay sealed until revealed"</span>
            </Show>
        </div>
        <HereNow others=others/>
        <super::facilitator::FacilitatorBar/>
        <div class="board-tools row">
            <super::timer::TimerPanel/>
        </div>
        <super::voting::VotePanel/>
        <InlineError message=ctx.error test_id="board-error"/>
        <div class="board-area" node_ref=area on:mousemove=on_move on:mouseleave=on_leave
            data-testid="board-area">
            <div class="board-columns">
                <For each=columns key=|c| c.clone() let:column>
                    <ColumnView column=column.0 title=column.1/>
                </For>
            </div>
            <Cursors others=others/>
        </div>
        <div class="row board-foot">
            <Show when=move || ctx.picked.with(|p| !p.is_empty())>
                <button data-testid="group-notes" on:click=group>
                    {move || format!("Group {} ticked notes", ctx.picked.with(Vec::len))}
                </button>
            </Show>
            <form class="inline-form" on:submit=add_column>
                <fieldset class="plain-fieldset row" disabled=move || ctx.read_only()>
                <input type="text" data-testid="new-column-title" placeholder="New column"
                    aria-label="New column" bind:value=column_title/>
                <button type="submit" data-testid="add-column">"Add column"</button>
                </fieldset>
            </form>
        </div>
        <InlineError message=group_error test_id="group-error"/>
        <RemovedParts/>
        </Show>
    }
}

/// The board's removed columns and notes, each with a way back: an edit
/// that reached a note after someone removed it is kept in it and returns
/// with it, and two people removing the last two columns at once leave a
/// board that a restore mends.
#[component]
fn RemovedParts() -> impl IntoView {
    let ctx = expect_context::<BoardCtx>();
    let (id, board) = (ctx.id, ctx.board);
    let place = place_of(board);
    let removed = Memo::new(move |_| {
        edit::read_in(&id, &[&place], |doc| {
            (
                boards::deleted_columns(doc, board),
                boards::deleted_notes(doc, board),
            )
        })
        .unwrap_or_default()
    });
    let restore = move |column: bool, item: ItemId| {
        let Some(by) = ctx.me.get_untracked() else {
            return;
        };
        apply_into(ctx.error, &id, |tx| {
            if column {
                boards::restore_column(tx, board, item, by)
            } else {
                boards::restore_note(tx, board, item, by)
            }
        });
    };
    let rows = move || {
        let (columns, notes) = removed.get();
        let tagged = columns
            .into_iter()
            .map(|c| (true, c))
            .chain(notes.into_iter().map(|n| (false, n)));
        tagged
            .map(|(column, item)| {
                let iid = item.id;
                let what = if column { "column" } else { "note" };
                view! {
                    <li data-testid="removed-part">
                        <span class="muted">{format!("{what}: ")}</span>
                        <span>{item.label}</span>
                        <span class="muted">{format!(" removed {} ", edit::format_date(item.deleted_at))}</span>
                        <button class="link restore" data-testid="restore-part"
                            disabled=move || ctx.read_only()
                            on:click=move |_| restore(column, iid)>
                            "Restore"
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    let count = move || removed.with(|(c, n)| c.len() + n.len());
    view! {
        <Show when=move || { count() > 0 }>
            <details class="removed">
                <summary data-testid="removed-parts">{move || format!("Removed from this board ({})", count())}</summary>
                <ul class="plain">{rows}</ul>
            </details>
        </Show>
    }
}

/// One column: its heading, its notes in order, a form adding a note.
#[component]
fn ColumnView(
    /// The column.
    column: ItemId,
    /// Its heading.
    title: String,
) -> impl IntoView {
    let ctx = expect_context::<BoardCtx>();
    let (id, board) = (ctx.id, ctx.board);
    let notes = Memo::new(move |_| {
        ctx.data.with(|b| {
            b.as_ref()
                .map(|b| b.notes_in(column).map(|n| n.id).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let focused = move || {
        ctx.data.with(|b| {
            b.as_ref()
                .and_then(|b| b.focus)
                .is_some_and(|f| f.target == FocusTarget::Column(column))
        })
    };
    let text = RwSignal::new(String::new());
    let error = feedback();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(note) = edit::new_id(error) else {
            return;
        };
        let Some(author) = ctx.me.get_untracked() else {
            error.set(Some(
                "this device has not joined the partnership as a member yet".to_owned(),
            ));
            return;
        };
        let new = NewNote {
            column,
            text: text.get_untracked(),
            colour: Colour::Yellow,
            author,
        };
        let private = ctx
            .data
            .with_untracked(|b| b.as_ref().is_some_and(|b| b.private_writing.is_some()));
        let made = if private {
            let (Some(client), Some(nonce)) = (client(), super::nonce(error)) else {
                return;
            };
            let key = client.seal_key(board, note, author);
            apply_into(error, &id, |tx| {
                boards::facilitation::add_private_note(
                    tx,
                    board,
                    note,
                    &new,
                    &key,
                    nonce,
                    edit::now(),
                )
            })
        } else {
            apply_into(error, &id, |tx| {
                boards::add_note(tx, board, note, &new, edit::now())
            })
        };
        if made {
            text.set(String::new());
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        let Some(note) = super::dragged_note(&ev) else {
            return;
        };
        if let Some(by) = ctx.me.get_untracked() {
            apply_into(ctx.error, &id, |tx| {
                boards::move_note(tx, board, note, column, usize::MAX, by)
            });
        }
    };
    let rename = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        if let Some(by) = ctx.me.get_untracked() {
            apply_into(ctx.error, &id, |tx| {
                boards::rename_column(tx, board, column, &text, by)
            });
        }
    };
    let remove = move |_| {
        if let Some(by) = ctx.me.get_untracked() {
            apply_into(ctx.error, &id, |tx| {
                boards::delete_column(tx, board, column, by, edit::now())
            });
        }
    };
    let focus = move |_| {
        if let Some(by) = ctx.me.get_untracked() {
            apply_into(ctx.error, &id, |tx| {
                boards::facilitation::set_focus(
                    tx,
                    board,
                    FocusTarget::Column(column),
                    by,
                    edit::now(),
                )
            });
        }
    };
    view! {
        <section class="board-column" class:focused=focused data-testid="board-column"
            data-focus=column.key()
            on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=on_drop>
            <div class="row column-head">
                <input type="text" class="grow column-title" data-testid="column-title"
                    aria-label="Column title" prop:value=title on:change=rename/>
                <Show when=move || ctx.is_facilitator()>
                    <button class="link" data-testid="focus-column" title="Bring everyone here"
                        aria-label="Bring everyone to this column" on:click=focus><Glyph icon=Icon::Eye/></button>
                </Show>
                <Show when=move || notes.with(Vec::is_empty)>
                    <button class="link danger" data-testid="remove-column" title="Remove empty column"
                        aria-label="Remove this empty column" on:click=remove><Glyph icon=Icon::Cross/></button>
                </Show>
            </div>
            <ol class="notes plain">
                <For each=move || notes.get() key=|n| *n let:note>
                    <super::note::NoteCard note=note/>
                </For>
            </ol>
            <form class="add-note" on:submit=add>
                <input type="text" data-testid="new-note" placeholder="Add a note"
                    aria-label="New note" bind:value=text disabled=move || ctx.read_only()/>
                <button type="submit" data-testid="add-note" disabled=move || ctx.read_only()>"Add"</button>
            </form>
            <InlineError message=error test_id="note-add-error"/>
        </section>
    }
}

/// Someone else on the board: name, organization and where their pointer
/// is on it, if it is.
type Other = (String, String, Option<(u16, u16)>);

/// The others who have the board of `ctx` open.
fn others_on_board(store: Store, ctx: &BoardCtx) -> Vec<Other> {
    let key = ctx.board.key();
    store.presence.with(|peers| {
        peers
            .iter()
            .filter(|p| p.document == ctx.id)
            .filter_map(|p| {
                let spot = p.beacon.board.as_ref().filter(|b| b.board == key)?;
                let (name, organization) = (&p.beacon.name, &p.beacon.organization);
                Some((name.clone(), organization.clone(), spot.pointer))
            })
            .collect()
    })
}

/// Who else has this board open, coloured by organization.
#[component]
fn HereNow(others: Memo<Vec<Other>>) -> impl IntoView {
    let store = expect_context::<Store>();
    let ctx = expect_context::<BoardCtx>();
    let here = move || {
        others
            .get()
            .into_iter()
            .map(|(name, organization, _)| (name, organization))
    };
    let me = move || crate::components::me_as_shown(store, &ctx.id);
    view! {
        <ul class="presence board-here" data-testid="board-here" aria-label="On this board now">
            {move || {
                let (name, organization) = me();
                view! {
                    <li class="avatar me" data-testid="board-here-peer"
                        style=format!("--party: {}", party_colour(&ctx.id, &organization))>
                        <span class="who">{format!("{name} (you, {organization})")}</span>
                    </li>
                }
            }}
            {move || here().map(|(name, organization)| view! {
                <li class="avatar" data-testid="board-here-peer"
                    style=format!("--party: {}", party_colour(&ctx.id, &organization))>
                    <span class="who">{format!("{name} ({organization})")}</span>
                </li>
            }).collect_view()}
        </ul>
    }
}

/// The others' pointers on the board, each labelled with their name.
#[component]
fn Cursors(others: Memo<Vec<Other>>) -> impl IntoView {
    let id = expect_context::<BoardCtx>().id;
    let cursors = move || {
        others
            .get()
            .into_iter()
            .filter_map(|(name, organization, pointer)| {
                let (x, y) = pointer?;
                Some((name, organization, x, y))
            })
    };
    view! {
        {move || cursors().map(|(name, organization, x, y)| view! {
            <div class="peer-cursor" data-testid="peer-cursor" aria-hidden="true"
                style=format!(
                    "left: {}%; top: {}%; --party: {}",
                    f64::from(x) / 100.0,
                    f64::from(y) / 100.0,
                    party_colour(&id, &organization)
                )>
                <span>{name}</span>
            </div>
        }).collect_view()}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_fractions_are_clamped_ten_thousandths() {
        assert_eq!(fraction(50.0, 200.0), 2_500);
        assert_eq!(fraction(-5.0, 200.0), 0);
        assert_eq!(fraction(300.0, 200.0), 10_000);
        assert_eq!(fraction(1.0, 0.0), 0);
    }
}
