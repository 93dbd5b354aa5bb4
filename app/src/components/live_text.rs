//! A text area for long prose that several people type into at once (clause
//! bodies, meeting minutes): each keystroke becomes a splice of the item's
//! Automerge Text, and a partner's edits arrive without moving the local
//! cursor.
//!
//! The editor remembers the text it last showed (`shown`). On input it
//! diffs what the user now sees against `shown` into one splice; if the
//! document moved on meanwhile (a partner's edit that the area has not shown
//! yet) the splice is rebased over that change first, so it never removes
//! the partner's words. When the document changes, the area takes the new
//! text and its selection is carried across the change with
//! [`text::map_position`].

use accord_shared::ids::DocumentId;
use accord_shared::text;
use leptos::html::Textarea;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::form::Feedback;
use crate::components::text_field::TextField;
use crate::edit;
use crate::sync_client::client;

/// The character index of a UTF-16 offset in `text` (what a text area's
/// selection reports), clamped to the text's end.
pub fn char_index(text: &str, utf16_offset: u32) -> usize {
    let mut units = 0u32;
    for (index, c) in text.chars().enumerate() {
        if units >= utf16_offset {
            return index;
        }
        units += u32::try_from(c.len_utf16()).unwrap_or(2);
    }
    text.chars().count()
}

/// The UTF-16 offset of character `index` in `text`, clamped to the end.
pub fn utf16_offset(text: &str, index: usize) -> u32 {
    text.chars()
        .take(index)
        .map(|c| u32::try_from(c.len_utf16()).unwrap_or(2))
        .sum()
}

fn current_text(id: &DocumentId, field: TextField) -> Option<String> {
    client()?.read_doc(id, |doc| field.read(doc))?
}

/// Whether `area` has the keyboard focus.
pub fn is_focused(area: &web_sys::HtmlTextAreaElement) -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .is_some_and(|active| {
            active.unchecked_ref::<web_sys::Node>() == area.unchecked_ref::<web_sys::Node>()
        })
}

/// Puts `body` into the area; if it has focus, its selection is carried
/// across the change from `before`.
fn show(area: &web_sys::HtmlTextAreaElement, before: &str, body: &str) {
    let selection = is_focused(area)
        .then(|| {
            let start = area.selection_start().ok().flatten()?;
            let end = area.selection_end().ok().flatten()?;
            Some((char_index(before, start), char_index(before, end)))
        })
        .flatten();
    area.set_value(body);
    if let (Some((start, end)), Some(change)) = (selection, text::diff(before, body)) {
        let start = utf16_offset(body, text::map_position(start, &change));
        let end = utf16_offset(body, text::map_position(end, &change));
        let _ = area.set_selection_range(start, end);
    }
}

/// How a [`LiveTextArea`] shows its label besides naming it for assistive
/// technology.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Caption {
    /// Not shown (the page shows a heading of its own).
    #[default]
    Hidden,
    /// Above the area, in a block label.
    Block,
    /// As a form field's caption.
    Field,
}

/// The Text of one field as a text area that merges concurrent typing.
#[component]
pub fn LiveTextArea(
    /// The partnership.
    id: DocumentId,
    /// The field this edits.
    field: TextField,
    /// Where a refused edit is explained.
    error: Feedback,
    /// `data-testid` of the text area.
    test_id: &'static str,
    /// Its CSS class.
    #[prop(default = "")]
    class: &'static str,
    /// Its accessible name.
    label: &'static str,
    /// Whether and how the name is shown.
    #[prop(optional)]
    caption: Caption,
    /// Shown while it is empty.
    #[prop(default = "")]
    placeholder: &'static str,
    /// Visible lines.
    #[prop(default = 4)]
    rows: u32,
) -> impl IntoView {
    let area = NodeRef::<Textarea>::new();
    let shown = StoredValue::new(String::new());
    // Re-read only when a change writes the field's record.
    let place = field.place();
    let current =
        Memo::new(move |_| edit::read_in(&id, &[&place], |doc| field.read(doc)).flatten());
    Effect::new(move |_| {
        let (Some(current), Some(area)) = (current.get(), area.get()) else {
            return;
        };
        let before = area.value();
        if before != current {
            show(&area, &before, &current);
        }
        shown.set_value(current);
    });
    let on_input = move |_| {
        let Some(area) = area.get_untracked() else {
            return;
        };
        let typed = area.value();
        let base = shown.get_value();
        let Some(current) = current_text(&id, field) else {
            return;
        };
        let Some(splice) = text::rebase_typing(&base, &typed, &current) else {
            return;
        };
        if edit::apply_into(error, &id, |tx| field.write(tx, &splice)) {
            shown.set_value(typed);
        } else {
            // Refused: show the document's text again, nothing was written.
            show(&area, &typed, &current);
            shown.set_value(current);
        }
    };
    let textarea = view! {
        <textarea
            node_ref=area
            class=class
            data-testid=test_id
            aria-label=label
            rows=rows
            placeholder=placeholder
            on:input=on_input
        ></textarea>
    };
    match caption {
        Caption::Hidden => textarea.into_any(),
        Caption::Block => view! { <label class="block">{label}{textarea}</label> }.into_any(),
        Caption::Field => {
            view! { <label class="field"><span>{label}</span>{textarea}</label> }.into_any()
        }
    }
}

/// Several [`LiveTextArea`]s of one record, each given as its field, its
/// `data-testid` and its label, captioned alike.
#[component]
pub fn LiveTextAreas(
    /// The partnership.
    id: DocumentId,
    /// The fields: what each edits, its `data-testid` and its label.
    fields: Vec<(TextField, &'static str, &'static str)>,
    /// Where a refused edit is explained.
    error: Feedback,
    /// How each shows its label.
    caption: Caption,
    /// Visible lines of each.
    rows: u32,
) -> impl IntoView {
    fields
        .into_iter()
        .map(|(field, test_id, label)| {
            view! {
                <LiveTextArea id=id field=field error=error test_id=test_id label=label
                    caption=caption rows=rows/>
            }
        })
        .collect_view()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_offsets_and_char_indexes_agree() {
        let text = "a€😀b";
        // a: 1 unit, €: 1 unit, 😀: 2 units, b: 1 unit.
        assert_eq!(utf16_offset(text, 0), 0);
        assert_eq!(utf16_offset(text, 2), 2);
        assert_eq!(utf16_offset(text, 3), 4);
        assert_eq!(utf16_offset(text, 4), 5);
        assert_eq!(utf16_offset(text, 99), 5);
        for index in 0..=4 {
            assert_eq!(char_index(text, utf16_offset(text, index)), index);
        }
        assert_eq!(char_index(text, 99), 4);
    }
}
