//! The clause text editor: a `contenteditable` box whose every edit is
//! taken from `beforeinput`, written to the clause body as an Automerge
//! splice or mark (`model::formatting`), and shown by rendering the body
//! again from the document. The caret and selection are kept as character
//! offsets and carried across a partner's edits, as in `LiveTextArea`.
//!
//! Bold and italic are marks; bulleted and numbered lists are line
//! prefixes. The toolbar and Ctrl/Cmd-B, -I, -Z, -Shift-Z / -Y act on the
//! selection. Undo and redo are this tab's own edits only, never a
//! partner's. Input the editor cannot take from `beforeinput` (an input
//! method composing characters) is read back from the box once it is
//! done and written as the smallest splice.

use accord_shared::model::formatting::{self, Change, ListKind, NewLine, Run, Style};
use accord_shared::model::{ItemId, OpError, touched};
use accord_shared::text;
use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::AgreementContext;
use crate::components::form::Feedback;
use crate::components::icon::{Glyph, Icon};
use crate::components::rich_dom;
use crate::edit;
use crate::sync_client::client;

/// A partner's caret in this clause, at a character position of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerCaret {
    /// "Name (Organization)".
    pub who: String,
    /// Their party's colour.
    pub colour: &'static str,
    /// Where their caret is.
    pub caret: usize,
    /// The other end of their selection, while they have words selected.
    pub anchor: Option<usize>,
}

/// A partner's caret as drawn over the text (CSS pixels within the box).
#[derive(Debug, Clone, PartialEq)]
struct Drawn {
    who: String,
    colour: &'static str,
    left: f64,
    top: f64,
    height: f64,
    /// Too near the top for the name above the caret.
    label_below: bool,
    /// Too near the right edge for the name to run rightwards.
    label_left: bool,
    /// Their selection's boxes: (left, top, width, height).
    selection: Vec<(f64, f64, f64, f64)>,
}

/// The most edits kept for undo.
const UNDO_DEPTH: usize = 200;

/// The editor's state that is not shown by Leptos.
#[derive(Default)]
struct EditorState {
    /// The runs the box shows now.
    shown: Vec<Run>,
    /// Styles chosen with a collapsed selection, for what is typed next at
    /// that position: (position, bold, italic).
    pending: Option<(usize, bool, bool)>,
    /// This tab's edits, newest last.
    undo: Vec<Change>,
    /// Undone edits, newest last.
    redo: Vec<Change>,
    /// An input method is composing characters in the box.
    composing: bool,
}

fn read_runs(id: &accord_shared::ids::DocumentId, clause: ItemId) -> Option<Vec<Run>> {
    client()?
        .read_doc(id, |doc| formatting::clause_runs(doc, clause).ok())
        .flatten()
}

fn is_focused(root: &web_sys::Element) -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .is_some_and(|active| root.contains(Some(active.unchecked_ref())))
}

/// Where words are typed and what selection follows an edit.
#[derive(Debug, Clone, Copy)]
enum After {
    /// Keep the selection where the document moved it.
    Map,
    /// Put the caret here.
    Caret(usize),
}

/// The clause body as a rich text box with its formatting toolbar.
#[component]
pub fn ClauseEditor(
    /// The clause.
    clause: ItemId,
    /// Where a refused edit is explained.
    error: Feedback,
    /// Told the selection (start, end, caret) whenever it may have moved
    /// (for comments on words and the caret sent to partners).
    on_select: Callback<Option<(usize, usize, usize)>>,
    /// The partners' carets in this clause, drawn inside the text.
    partners: Memo<Vec<PartnerCaret>>,
) -> impl IntoView {
    let ctx = expect_context::<AgreementContext>();
    let id = ctx.id;
    let root = NodeRef::<Div>::new();
    let state = StoredValue::new(EditorState::default());
    // Bold / italic at the selection, for the toolbar's pressed state.
    let active = RwSignal::new((false, false));
    let place = touched::clause(clause);
    let runs = Memo::new(move |_| {
        edit::read_in(&id, &[&place], |doc| {
            formatting::clause_runs(doc, clause).ok()
        })
        .flatten()
    });
    let drawn = RwSignal::new(Vec::<Drawn>::new());
    // Places the partners' carets over the text as the box shows it now.
    let redraw = move || {
        let Some(root) = root.get_untracked() else {
            return;
        };
        let width = f64::from(root.client_width());
        let list: Vec<Drawn> = partners
            .get_untracked()
            .into_iter()
            .filter_map(|p| {
                let (left, top, height) = rich_dom::caret_box(&root, p.caret)?;
                let selection = p
                    .anchor
                    .filter(|a| *a != p.caret)
                    .map(|a| rich_dom::range_boxes(&root, a.min(p.caret), a.max(p.caret)))
                    .unwrap_or_default();
                Some(Drawn {
                    who: p.who,
                    colour: p.colour,
                    left,
                    top,
                    height,
                    label_below: top < 16.0,
                    label_left: left > width - 140.0,
                    selection,
                })
            })
            .collect();
        if drawn.with_untracked(|d| *d != list) {
            drawn.set(list);
        }
    };
    Effect::new(move |_| {
        partners.track();
        redraw();
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| redraw());
    on_cleanup(move || resize.remove());

    let refresh_active = move || {
        let Some(root) = root.get_untracked() else {
            return;
        };
        let Some((start, end, focus)) = rich_dom::selection(&root) else {
            return;
        };
        let pending = state.with_value(|s| s.pending.filter(|p| p.0 == start && start == end));
        let now = match pending {
            Some((_, bold, italic)) => (bold, italic),
            None => state.with_value(|s| {
                (
                    formatting::has_style(&s.shown, start, end, Style::Bold),
                    formatting::has_style(&s.shown, start, end, Style::Italic),
                )
            }),
        };
        active.set(now);
        on_select.run(Some((start, end, focus)));
    };

    // Shows `next` in the box; the selection follows `after`. `remote`: the
    // change is not this tab's, so this tab's undo steps move with it (its
    // own edits are in the steps' sequence already).
    let render = move |next: Vec<Run>, after: After, remote: bool| {
        let Some(root) = root.get_untracked() else {
            return;
        };
        let focused = is_focused(&root);
        let before = state.with_value(|s| formatting::plain_text(&s.shown));
        let now = formatting::plain_text(&next);
        let selection = focused.then(|| rich_dom::selection(&root)).flatten();
        let change = text::diff(&before, &now);
        if let Some(change) = change.as_ref().filter(|_| remote) {
            // Undo steps and a pending style move with the text.
            state.update_value(|s| {
                for step in s.undo.iter_mut().chain(s.redo.iter_mut()) {
                    step.at = text::map_position(step.at, change);
                }
                s.pending = s
                    .pending
                    .map(|(p, b, i)| (text::map_position(p, change), b, i));
            });
        }
        root.set_inner_html(&rich_dom::html(&next));
        state.update_value(|s| s.shown = next);
        if focused {
            match after {
                After::Caret(at) => rich_dom::place_selection(&root, at, at),
                After::Map => {
                    if let Some((start, end, _)) = selection {
                        let map = |p| change.as_ref().map_or(p, |c| text::map_position(p, c));
                        rich_dom::place_selection(&root, map(start), map(end));
                    }
                }
            }
            refresh_active();
        }
        redraw();
    };

    // The document moved on (a partner's edit, or one of ours arriving
    // through the store): show it if the box does not already.
    Effect::new(move |_| {
        let Some(next) = runs.get() else {
            return;
        };
        if root.get().is_none() || state.with_value(|s| s.composing || s.shown == next) {
            return;
        }
        render(next, After::Map, true);
    });

    // Makes one local edit: runs `op`, records it for undo, shows the result.
    let perform = move |op: &dyn Fn(
        &mut accord_shared::automerge::transaction::Transaction<'_>,
    ) -> Result<(), OpError>,
                        after: After,
                        undoable: bool| {
        let Some(before) = read_runs(&id, clause) else {
            return false;
        };
        if !edit::apply_into(error, &id, op) {
            return false;
        }
        let Some(next) = read_runs(&id, clause) else {
            return false;
        };
        let change = undoable
            .then(|| formatting::change_between(&before, &next))
            .flatten();
        // Shown as a local edit: the caret goes where the edit says, and
        // the text the box showed is the text before it.
        state.update_value(|s| s.shown = before);
        render(next, after, false);
        if let Some(change) = change {
            state.update_value(|s| {
                s.redo.clear();
                s.undo.push(change);
                if s.undo.len() > UNDO_DEPTH {
                    s.undo.remove(0);
                }
            });
        }
        true
    };

    // Replaces the selection with `runs`.
    let insert = move |start: usize, end: usize, typed: Vec<Run>| {
        let me = edit::me(&id);
        let len: usize = typed.iter().map(|r| r.text.chars().count()).sum();
        perform(
            &|tx| formatting::insert_runs(tx, clause, start, end - start, &typed, me),
            After::Caret(start + len),
            true,
        );
    };

    // Typed text takes the styles chosen for the caret, else those of the
    // character before it (of the first selected one when replacing).
    let type_text = move |start: usize, end: usize, typed: String| {
        let (bold, italic) = state.with_value(|s| match s.pending {
            Some((at, bold, italic)) if at == start => (bold, italic),
            _ => {
                let probe = if end > start {
                    (start, start + 1)
                } else {
                    (start, start)
                };
                (
                    formatting::has_style(&s.shown, probe.0, probe.1, Style::Bold),
                    formatting::has_style(&s.shown, probe.0, probe.1, Style::Italic),
                )
            }
        });
        state.update_value(|s| s.pending = None);
        insert(
            start,
            end,
            vec![Run {
                text: typed,
                bold,
                italic,
            }],
        );
    };

    let delete = move |start: usize, end: usize| {
        if start == end {
            return;
        }
        let me = edit::me(&id);
        perform(
            &|tx| formatting::insert_runs(tx, clause, start, end - start, &[], me),
            After::Caret(start),
            true,
        );
    };

    let toggle_style = move |style: Style| {
        let Some((start, end, _)) = root.get_untracked().and_then(|r| rich_dom::selection(&r))
        else {
            return;
        };
        if start == end {
            // Nothing selected: the style applies to what is typed next.
            let (bold, italic) = active.get_untracked();
            let next = match style {
                Style::Bold => (!bold, italic),
                Style::Italic => (bold, !italic),
            };
            state.update_value(|s| s.pending = Some((start, next.0, next.1)));
            active.set(next);
            return;
        }
        let on = !state.with_value(|s| formatting::has_style(&s.shown, start, end, style));
        let me = edit::me(&id);
        perform(
            &|tx| formatting::set_style(tx, clause, (start, end), style, on, me),
            After::Map,
            true,
        );
        if let Some(root) = root.get_untracked() {
            rich_dom::place_selection(&root, start, end);
        }
        refresh_active();
    };

    let toggle_list = move |kind: ListKind| {
        let Some((start, end, _)) = root.get_untracked().and_then(|r| rich_dom::selection(&r))
        else {
            return;
        };
        let me = edit::me(&id);
        perform(
            &|tx| formatting::toggle_list(tx, clause, (start, end), kind, me),
            After::Map,
            true,
        );
    };

    // Undo (`redo` false) or redo this tab's latest edit.
    let history = move |redo: bool| {
        let step = state.try_update_value(|s| if redo { s.redo.pop() } else { s.undo.pop() });
        let Some(Some(step)) = step else {
            return;
        };
        let change = if redo { step.clone() } else { step.inverse() };
        let me = edit::me(&id);
        let caret = change.at + formatting::plain_text(&change.after).chars().count();
        if perform(
            &|tx| formatting::apply_change(tx, clause, &change, me),
            After::Caret(caret),
            false,
        ) {
            state.update_value(|s| {
                if redo {
                    s.undo.push(step);
                } else {
                    s.redo.push(step);
                }
            });
        }
    };

    let new_line = move |start: usize, end: usize| {
        let text = state.with_value(|s| formatting::plain_text(&s.shown));
        let before: String = text.chars().take(start).collect();
        let line = before.rsplit('\n').next().unwrap_or_default();
        match formatting::new_line(line) {
            NewLine::EndList(len) if start == end => delete(start - len, start),
            NewLine::Continue(prefix) => type_text(start, end, format!("\n{prefix}")),
            _ => type_text(start, end, "\n".to_owned()),
        }
    };

    let on_beforeinput = move |ev: web_sys::InputEvent| {
        let kind = ev.input_type();
        if kind == "insertCompositionText" || ev.is_composing() {
            // An input method is composing: read back once it is done.
            return;
        }
        ev.prevent_default();
        let Some(root_el) = root.get_untracked() else {
            return;
        };
        // A partner's edit that arrived but is not shown yet: show it
        // first, so the selection's offsets are offsets into the document.
        if let Some(current) = read_runs(&id, clause)
            && state.with_value(|s| s.shown != current)
        {
            render(current, After::Map, true);
        }
        let Some((start, end, _)) = rich_dom::selection(&root_el) else {
            return;
        };
        let text = state.with_value(|s| formatting::plain_text(&s.shown));
        let chars: Vec<char> = text.chars().collect();
        let word_start = |from: usize| {
            let mut at = from;
            while at > 0 && chars[at - 1].is_whitespace() {
                at -= 1;
            }
            while at > 0 && !chars[at - 1].is_whitespace() {
                at -= 1;
            }
            at
        };
        let word_end = |from: usize| {
            let mut at = from;
            while at < chars.len() && chars[at].is_whitespace() {
                at += 1;
            }
            while at < chars.len() && !chars[at].is_whitespace() {
                at += 1;
            }
            at
        };
        let line_start = |from: usize| {
            let mut at = from;
            while at > 0 && chars[at - 1] != '\n' {
                at -= 1;
            }
            at
        };
        let line_end = |from: usize| {
            let mut at = from;
            while at < chars.len() && chars[at] != '\n' {
                at += 1;
            }
            at
        };
        let collapsed = start == end;
        match kind.as_str() {
            "insertText" | "insertReplacementText" => {
                let typed = ev
                    .data()
                    .or_else(|| {
                        ev.data_transfer()
                            .and_then(|d| d.get_data("text/plain").ok())
                    })
                    .unwrap_or_default();
                if !typed.is_empty() {
                    type_text(start, end, typed);
                }
            }
            "insertParagraph" | "insertLineBreak" => new_line(start, end),
            "insertFromPaste" | "insertFromDrop" | "insertFromYank" => {
                let Some(data) = ev.data_transfer() else {
                    return;
                };
                let html = data.get_data("text/html").unwrap_or_default();
                let pasted = if html.trim().is_empty() {
                    None
                } else {
                    rich_dom::runs_from_html(&html)
                };
                let pasted = pasted.unwrap_or_else(|| {
                    rich_dom::runs_from_plain(&data.get_data("text/plain").unwrap_or_default())
                });
                insert(start, end, pasted);
            }
            "deleteContentBackward" if collapsed => delete(start.saturating_sub(1), start),
            "deleteContentForward" if collapsed => delete(start, (start + 1).min(chars.len())),
            "deleteWordBackward" if collapsed => delete(word_start(start), start),
            "deleteWordForward" if collapsed => delete(start, word_end(start)),
            "deleteSoftLineBackward" | "deleteHardLineBackward" if collapsed => {
                delete(line_start(start), start);
            }
            "deleteSoftLineForward" | "deleteHardLineForward" if collapsed => {
                delete(start, line_end(start));
            }
            k if k.starts_with("delete") => delete(start, end),
            "historyUndo" => history(false),
            "historyRedo" => history(true),
            "formatBold" => toggle_style(Style::Bold),
            "formatItalic" => toggle_style(Style::Italic),
            // Other formatting (underline, colours, alignment…) is not kept.
            _ => {}
        }
    };

    // After an input method: write what it changed as one splice.
    let read_back = move || {
        let Some(root_el) = root.get_untracked() else {
            return;
        };
        let typed = root_el.text_content().unwrap_or_default();
        let base = state.with_value(|s| formatting::plain_text(&s.shown));
        let Some(current) = read_runs(&id, clause) else {
            return;
        };
        let Some(splice) = text::rebase_typing(&base, &typed, &formatting::plain_text(&current))
        else {
            return;
        };
        let caret = splice.position + splice.insert.chars().count();
        let me = edit::me(&id);
        if !perform(
            &|tx| accord_shared::model::agreement::edit_clause_body(tx, clause, &splice, me),
            After::Caret(caret),
            true,
        ) {
            // Refused: show the document again.
            state.update_value(|s| s.shown = Vec::new());
            render(current, After::Map, false);
        }
    };

    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        if !(ev.ctrl_key() || ev.meta_key()) || ev.alt_key() {
            return;
        }
        let key = ev.key().to_ascii_lowercase();
        let handled = match (key.as_str(), ev.shift_key()) {
            ("b", false) => {
                toggle_style(Style::Bold);
                true
            }
            ("i", false) => {
                toggle_style(Style::Italic);
                true
            }
            ("z", false) => {
                history(false);
                true
            }
            ("z", true) | ("y", false) => {
                history(true);
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    };

    let button = move |label: &'static str,
                       test_id: &'static str,
                       icon: Icon,
                       pressed: Signal<bool>,
                       act: Callback<()>| {
        view! {
            <button type="button" class="icon-button" aria-label=label title=label data-testid=test_id
                aria-pressed=move || if pressed.get() { "true" } else { "false" }
                // Keep the selection in the text while clicking.
                on:mousedown=|ev| ev.prevent_default()
                on:click=move |_| act.run(())>
                <Glyph icon=icon/>
            </button>
        }
    };
    let line_kind = Memo::new(move |_| {
        active.track();
        runs.track();
        let root = root.get()?;
        let (start, _, _) = rich_dom::selection(&root)?;
        let text = state.with_value(|s| formatting::plain_text(&s.shown));
        let before: String = text.chars().take(start).collect();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        formatting::list_prefix(&text[line_start..]).map(|p| p.kind)
    });
    view! {
        <div class="clause-editor">
            <div class="format-bar" role="toolbar" aria-label="Text formatting">
                {button("Bold", "format-bold", Icon::Bold,
                    Signal::derive(move || active.get().0),
                    Callback::new(move |()| toggle_style(Style::Bold)))}
                {button("Italic", "format-italic", Icon::Italic,
                    Signal::derive(move || active.get().1),
                    Callback::new(move |()| toggle_style(Style::Italic)))}
                {button("Bulleted list", "format-bullets", Icon::BulletList,
                    Signal::derive(move || line_kind.get() == Some(ListKind::Bulleted)),
                    Callback::new(move |()| toggle_list(ListKind::Bulleted)))}
                {button("Numbered list", "format-numbers", Icon::NumberedList,
                    Signal::derive(move || line_kind.get() == Some(ListKind::Numbered)),
                    Callback::new(move |()| toggle_list(ListKind::Numbered)))}
            </div>
            <div class="text-layer">
            <div node_ref=root class="clause-body rich" data-testid="clause-body"
                contenteditable="true" role="textbox" aria-multiline="true"
                aria-label="Clause text" data-placeholder="The text of this clause"
                spellcheck="true"
                on:beforeinput=on_beforeinput
                on:input=move |_| {
                    if !state.with_value(|s| s.composing) {
                        read_back();
                    }
                }
                on:compositionstart=move |_| state.update_value(|s| s.composing = true)
                on:compositionend=move |_| {
                    state.update_value(|s| s.composing = false);
                    read_back();
                }
                on:keydown=on_keydown
                on:keyup=move |_| refresh_active()
                on:mouseup=move |_| refresh_active()
                on:focus=move |_| refresh_active()
            ></div>
            <div class="remote-marks" aria-hidden="true">
                {move || drawn.get().into_iter().map(|d| {
                    let party = format!("--party: {};", d.colour);
                    view! {
                        {d.selection.iter().map(|(left, top, width, height)| view! {
                            <div class="remote-selection" data-testid="remote-selection"
                                style=format!("{party} left: {left}px; top: {top}px; width: {width}px; height: {height}px;")></div>
                        }).collect_view()}
                        <div class="remote-caret" data-testid="remote-caret"
                            class:label-below=d.label_below class:label-left=d.label_left
                            style=format!("{party} left: {}px; top: {}px; height: {}px;", d.left, d.top, d.height)>
                            <span class="remote-caret-name">{d.who}</span>
                        </div>
                    }
                }).collect_view()}
            </div>
            </div>
        </div>
    }
}
