//! One sticky note: its text (edited in place, keeping focus across the
//! others' edits), colour, author, column (drag it, or pick one), group,
//! dots, the plan item it was turned into, and the others' selection.

use accord_shared::automerge::Automerge;
use accord_shared::model::actions::ActionSource;
use accord_shared::model::boards::convert::{self, Conversion, ItemLink};
use accord_shared::model::boards::facilitation::{self, FocusTarget};
use accord_shared::model::boards::{self, Colour, Note};
use accord_shared::model::conflicts::Severity;
use accord_shared::model::meetings;
use accord_shared::model::reviews;
use accord_shared::model::{Collection, ItemId, touched};
use accord_shared::text;
use leptos::html::Textarea;
use leptos::prelude::*;

use super::BoardCtx;
use crate::components::form::{InlineError, feedback};
use crate::components::live_text::is_focused;
use crate::components::rows;
use crate::edit::{self, apply_into};
use crate::pages::routes::Route;
use crate::store::Store;
use crate::sync_client::client;
use crate::sync_client::party_colour;

/// The note's new text when the user turned `base` into `typed` while the
/// document moved from `base` to `current` (someone else typed in the same
/// note): the user's change is rebased over theirs, so both keep their words.
fn merge(base: &str, typed: &str, current: &str) -> String {
    text::rebase_typing(base, typed, current)
        .map_or_else(|| current.to_owned(), |edit| text::apply(current, &edit))
}

/// What the "Turn into…" menu offers: (value, label).
fn conversions(doc: &Automerge) -> Vec<(String, String)> {
    let mut out = vec![
        ("risk".to_owned(), "a risk".to_owned()),
        ("objective".to_owned(), "an objective".to_owned()),
        ("conflict".to_owned(), "a conflict to resolve".to_owned()),
    ];
    out.extend(meetings::list(doc).into_iter().map(|m| {
        (
            format!("action:{}", m.id),
            format!("an action item of “{}”", m.fields.title),
        )
    }));
    out.extend(reviews::list(doc).into_iter().map(|r| {
        (
            format!("review-action:{}", r.id),
            format!("an action item of the review “{}”", r.fields.title),
        )
    }));
    out
}

/// Where the "Turn into…" choice `value` puts an action item, if it is one.
fn action_host(value: &str) -> Option<ActionSource> {
    let (kind, item) = value.split_once(':')?;
    let item = item.parse::<ItemId>().ok()?;
    match kind {
        "action" => Some(ActionSource::Meeting(item)),
        "review-action" => Some(ActionSource::Review(item)),
        _ => None,
    }
}

/// How a link to a plan item reads on the note.
fn link_label(link: ItemLink) -> &'static str {
    match link {
        ItemLink::Action { .. } => "→ action item",
        ItemLink::Risk(_) => "→ risk register",
        ItemLink::Objective(_) => "→ objective",
        ItemLink::Conflict(_) => "→ conflict",
    }
}

/// A letter per group, in board order (A, B, …).
fn group_label(groups: &[ItemId], group: ItemId) -> String {
    let index = groups.iter().position(|g| *g == group).unwrap_or(0);
    let letter = char::from(b'A' + u8::try_from(index % 26).unwrap_or(0));
    format!("Group {letter}")
}

/// One note of the board.
#[component]
pub fn NoteCard(
    /// The note.
    note: ItemId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let ctx = expect_context::<BoardCtx>();
    let (id, board) = (ctx.id, ctx.board);
    let error = feedback();
    let data = Memo::new(move |_| {
        ctx.data.with(|b| {
            b.as_ref()
                .and_then(|b| b.notes.iter().find(|n| n.id == note).cloned())
        })
    });
    let field =
        move |f: fn(&Note) -> String| move || data.with(|n| n.as_ref().map(f).unwrap_or_default());
    let columns = move || super::column_choices(ctx.data);
    let sealed = move || data.with(|n| n.as_ref().is_some_and(|n| n.sealed));
    let mine = move || data.with(|n| n.as_ref().and_then(|n| n.author)) == ctx.me.get();
    // The author reads their own sealed note with their key.
    // A memo, so the others' edits elsewhere do not redraw it mid-typing.
    let own_words = Memo::new(move |_| {
        if !sealed() || !mine() {
            return None;
        }
        let me = ctx.me.get()?;
        let key = client()?.seal_key(board, note, me);
        edit::read(store, &id, |doc| {
            facilitation::open_own_note(doc, board, note, &key)
        })
        .flatten()
    });
    let author = move || {
        let (author, party) = data.with(|n| {
            n.as_ref()
                .map(|n| (n.author, n.party))
                .unwrap_or((None, None))
        });
        ctx.people.with(|p| (p.name(author), p.party(party)))
    };
    let focused = move || {
        ctx.data.with(|b| {
            b.as_ref()
                .and_then(|b| b.focus)
                .is_some_and(|f| f.target == FocusTarget::Note(note))
        })
    };
    // The organizations of the others who selected this note.
    let selected_by = move || {
        let key = note.key();
        let board_key = board.key();
        store.presence.with(|peers| {
            peers
                .iter()
                .filter(|p| {
                    p.beacon.board.as_ref().is_some_and(|b| {
                        b.board == board_key && b.selected.as_deref() == Some(key.as_str())
                    })
                })
                .map(|p| (p.beacon.name.clone(), p.beacon.organization.clone()))
                .collect::<Vec<_>>()
        })
    };
    let outline = move || {
        selected_by()
            .first()
            .map(|(_, org)| format!("--peer: {}", party_colour(&ctx.id, org)))
            .unwrap_or_default()
    };

    // The text area takes the others' edits while it is not being typed
    // in; `shown` is the document's text it last showed, the base of what
    // the user typed (see [`merge`]).
    let area = NodeRef::<Textarea>::new();
    let shown = StoredValue::new(String::new());
    let current = move || {
        client()
            .and_then(|c| {
                c.read_doc(&id, |doc| {
                    boards::get(doc, board)
                        .ok()
                        .and_then(|b| b.notes.into_iter().find(|n| n.id == note))
                        .map(|n| n.text)
                })
            })
            .flatten()
    };
    let sync_area = move |area: &web_sys::HtmlTextAreaElement, text: String| {
        if area.value() != text {
            area.set_value(&text);
        }
        shown.set_value(text);
    };
    Effect::new(move |_| {
        let text = data.with(|n| n.as_ref().map(|n| n.text.clone()));
        if let (Some(text), Some(area)) = (text, area.get())
            && !is_focused(&area)
        {
            sync_area(&area, text);
        }
    });
    let by = move || ctx.me.get_untracked();
    let commit_text = move |_| {
        let (Some(area), Some(now)) = (area.get_untracked(), current()) else {
            return;
        };
        let merged = merge(&shown.get_value(), &area.value(), &now);
        if let Some(by) = by()
            && merged != now
            && !apply_into(error, &id, |tx| {
                boards::edit_note(tx, board, note, &merged, by)
            })
        {
            // Refused: show the document's text again, nothing was written.
            sync_area(&area, now);
            return;
        }
        sync_area(&area, current().unwrap_or(merged));
    };
    // Left without typing: take in what others wrote meanwhile.
    let left = move |_| {
        if let (Some(area), Some(now)) = (area.get_untracked(), current())
            && area.value() == shown.get_value()
        {
            sync_area(&area, now);
        }
    };
    // The author rewrites their sealed note: sealed again, fresh nonce.
    let rewrite = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        let (Some(by), Some(client)) = (by(), client()) else {
            return;
        };
        let Some(nonce) = super::nonce(error) else {
            return;
        };
        let key = client.seal_key(board, note, by);
        apply_into(error, &id, |tx| {
            facilitation::rewrite_private_note(tx, board, note, &text, &key, nonce, by)
        });
    };
    let set_colour = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        match Colour::parse(&value) {
            Ok(colour) => {
                if let Some(by) = by() {
                    apply_into(error, &id, |tx| {
                        boards::set_colour(tx, board, note, colour, by)
                    });
                }
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    let move_to = move |ev: leptos::ev::Event| {
        let Ok(column) = event_target_value(&ev).parse::<ItemId>() else {
            return;
        };
        if let Some(by) = by() {
            apply_into(error, &id, |tx| {
                boards::move_note(tx, board, note, column, usize::MAX, by)
            });
        }
    };
    let shift = move |step: isize| {
        let Some((column, index)) = ctx.data.with_untracked(|b| {
            let b = b.as_ref()?;
            let column = b.notes.iter().find(|n| n.id == note)?.column;
            let index = b.notes_in(column).position(|n| n.id == note)?;
            Some((column, index))
        }) else {
            return;
        };
        let Some(target) = index.checked_add_signed(step) else {
            return;
        };
        if let Some(by) = by() {
            apply_into(error, &id, |tx| {
                boards::move_note(tx, board, note, column, target, by)
            });
        }
    };
    let remove = move |_| {
        if let Some(by) = by() {
            apply_into(ctx.error, &id, |tx| {
                boards::delete_note(tx, board, note, by, edit::now())
            });
        }
    };
    let ungroup = move |_| {
        if let Some(by) = by() {
            apply_into(error, &id, |tx| boards::ungroup_note(tx, board, note, by));
        }
    };
    let focus_here = move |_| {
        if let Some(by) = by() {
            apply_into(error, &id, |tx| {
                facilitation::set_focus(tx, board, FocusTarget::Note(note), by, edit::now())
            });
        }
    };
    let convert_to = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let (Some(by), Some(item)) = (by(), edit::new_id(error)) else {
            return;
        };
        let conversion = match value.as_str() {
            "risk" => Conversion::Risk {
                likelihood: 3,
                impact: 3,
                owner: Some(by),
            },
            "objective" => Conversion::Objective {
                owner: None,
                due: None,
            },
            "conflict" => Conversion::Conflict {
                severity: Severity::Medium,
            },
            other => match action_host(other) {
                Some(into) => Conversion::Action {
                    into,
                    owner: Some(by),
                    due: None,
                },
                None => return,
            },
        };
        apply_into(error, &id, |tx| {
            convert::convert_note(tx, board, note, item, &conversion, by, edit::now()).map(|_| ())
        });
    };
    let picked = move || ctx.picked.with(|p| p.contains(&note));
    let pick = move |_| {
        ctx.picked.update(|p| {
            if let Some(i) = p.iter().position(|n| *n == note) {
                p.remove(i);
            } else {
                p.push(note);
            }
        });
    };
    let on_select = move || {
        if ctx.selected.get_untracked() != Some(note) {
            ctx.selected.set(Some(note));
            if let Some(client) = client() {
                client.select_on_board(id, board, Some(note));
            }
        }
    };
    let on_drag = move |ev: leptos::ev::DragEvent| {
        if let Some(transfer) = ev.data_transfer() {
            let _ = transfer.set_data("text/plain", &note.key());
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        // Dropped on this note: the dragged one takes its place.
        let Some(dragged) = super::dragged_note(&ev) else {
            return;
        };
        ev.prevent_default();
        ev.stop_propagation();
        if dragged == note {
            return;
        }
        let Some((column, index)) = ctx.data.with_untracked(|b| {
            let b = b.as_ref()?;
            let column = b.notes.iter().find(|n| n.id == note)?.column;
            let index = b
                .notes_in(column)
                .filter(|n| n.id != dragged)
                .position(|n| n.id == note)?;
            Some((column, index))
        }) else {
            return;
        };
        if let Some(by) = by() {
            apply_into(error, &id, |tx| {
                boards::move_note(tx, board, dragged, column, index, by)
            });
        }
    };
    // The meetings and reviews an action item can go to.
    let targets = vec![
        touched::collection(Collection::Meetings),
        touched::collection(Collection::Reviews),
    ];
    let menu = rows::watched(id, targets, conversions);
    let menu = Memo::new(move |_| menu.get().unwrap_or_default());
    let group = move || {
        let group = data.with(|n| n.as_ref().and_then(|n| n.group))?;
        let groups = ctx.data.with(|b| {
            let mut seen: Vec<ItemId> = Vec::new();
            for g in b
                .iter()
                .flat_map(|b| b.notes.iter())
                .filter_map(|n| n.group)
            {
                if !seen.contains(&g) {
                    seen.push(g);
                }
            }
            seen
        });
        Some(group_label(&groups, group))
    };
    let link = move || data.with(|n| n.as_ref().and_then(|n| n.link));

    view! {
        <li class="sticky" data-testid="note" data-note=note.key() data-focus=note.key()
            data-colour=field(|n| n.colour.as_str().to_owned())
            class:focused=focused class:picked=picked class:peer-selected=move || !selected_by().is_empty()
            style=outline draggable=move || if ctx.read_only() { "false" } else { "true" }
            on:dragstart=on_drag
            on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=on_drop
            on:focusin=move |_| on_select() on:click=move |_| on_select()>
            {move || if sealed() {
                let words = own_words.get();
                match words {
                    Some(words) => view! {
                        <div class="sealed-own" data-testid="note-sealed-own">
                            <textarea class="note-text" data-testid="note-sealed-text" rows="3"
                                aria-label="Your sealed note" prop:value=words
                                readonly=move || ctx.read_only() on:change=rewrite></textarea>
                            <span class="muted">"Sealed: only you can read this until the reveal."</span>
                        </div>
                    }.into_any(),
                    None => view! {
                        <p class="sealed" data-testid="note-sealed">"✎ sealed until the facilitator reveals"</p>
                    }.into_any(),
                }
            } else {
                view! {
                    <textarea node_ref=area class="note-text" data-testid="note-text" rows="3"
                        aria-label="Note text" readonly=move || ctx.read_only()
                        on:change=commit_text on:blur=left></textarea>
                }.into_any()
            }}
            <p class="note-meta">
                {move || {
                    let (name, org) = author();
                    view! {
                        <span class="note-author" data-testid="note-author"
                            style=format!("--party: {}", party_colour(&ctx.id, &org))>
                            {if org.is_empty() { name } else { format!("{name} · {org}") }}
                        </span>
                    }
                }}
                {move || group().map(|g| view! {
                    <span class="badge note-group" data-testid="note-group">{g}</span>
                    <button class="link" data-testid="note-ungroup" on:click=ungroup>"ungroup"</button>
                })}
                {move || link().map(|l| view! {
                    <a class="badge note-link" data-testid="note-link"
                        href=Route::Plan(id, crate::components::from_note::page_of(l)).hash()>{link_label(l)}</a>
                })}
                {move || {
                    let names: Vec<String> = selected_by().into_iter().map(|(n, _)| n).collect();
                    (!names.is_empty()).then(|| view! {
                        <span class="muted note-selected-by" data-testid="note-selected-by">
                            {format!("selected by {}", names.join(", "))}
                        </span>
                    })
                }}
            </p>
            <super::voting::NoteDots note=note/>
            <details class="note-controls">
                <summary data-testid="note-menu" aria-label="Note actions">"⋯"</summary>
                <fieldset class="plain-fieldset" disabled=move || ctx.read_only()>
                <div class="row wrap">
                    <label>"Colour "
                        <select data-testid="note-colour"
                            prop:value=field(|n| n.colour.as_str().to_owned())
                            on:change=set_colour>
                            {Colour::ALL.into_iter().map(|c| view! {
                                <option value=c.as_str()>{c.as_str()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Column "
                        <select data-testid="note-column"
                            prop:value=move || data.with(|n| n.as_ref().map(|n| n.column.key()).unwrap_or_default())
                            on:change=move_to>
                            {move || columns().into_iter().map(|(c, title)| view! {
                                <option value=c.key()>{title}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <button class="link" title="Move up" aria-label="Move up" data-testid="note-up"
                        on:click=move |_| shift(-1)>"↑"</button>
                    <button class="link" title="Move down" aria-label="Move down" data-testid="note-down"
                        on:click=move |_| shift(1)>"↓"</button>
                    <label><input type="checkbox" data-testid="note-pick" prop:checked=picked on:change=pick/>" for grouping"</label>
                    <Show when=move || ctx.is_facilitator()>
                        <button class="link" data-testid="focus-note" on:click=focus_here>"Bring everyone here"</button>
                    </Show>
                    <Show when=move || link().is_none() && !sealed()>
                        <select data-testid="note-convert" aria-label="Turn into" on:change=convert_to>
                            <option value="" selected=true>"Turn into…"</option>
                            {move || menu.get().into_iter().map(|(value, label)| view! {
                                <option value=value>{label}</option>
                            }).collect_view()}
                        </select>
                    </Show>
                    <button class="link danger" data-testid="note-remove" on:click=remove>"Remove"</button>
                </div>
                </fieldset>
            </details>
            <InlineError message=error test_id="note-error"/>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_merges_over_a_concurrent_edit_of_the_same_note() {
        assert_eq!(
            merge("Weekly sync", "Weekly sync, shorter", "The weekly sync"),
            "The weekly sync, shorter"
        );
        assert_eq!(merge("a", "a", "ab"), "ab");
        assert_eq!(merge("abc", "xbc", "abc"), "xbc");
        assert_eq!(merge("日本", "日本語", "日本"), "日本語");
    }

    #[test]
    fn groups_are_lettered_in_board_order() {
        let (g1, g2) = (ItemId::from_bytes([1; 16]), ItemId::from_bytes([2; 16]));
        assert_eq!(group_label(&[g2, g1], g1), "Group B");
        assert_eq!(group_label(&[g2, g1], g2), "Group A");
    }

    #[test]
    fn action_choices_name_their_meeting_or_review() {
        let item = ItemId::from_bytes([7; 16]);
        assert_eq!(
            action_host(&format!("action:{item}")),
            Some(ActionSource::Meeting(item))
        );
        assert_eq!(
            action_host(&format!("review-action:{item}")),
            Some(ActionSource::Review(item))
        );
        assert_eq!(action_host("risk"), None);
        assert_eq!(action_host("action:not-an-id"), None);
    }
}
