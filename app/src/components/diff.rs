//! Views of how a text changed: a paragraph of a text compared with an
//! earlier one, and the `<details>` whose open state a page keeps.

use accord_shared::views::history::{DiffOp, DiffPart};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// One paragraph of compared text: kept text as it is, added text
/// underlined (`<ins>`), removed text struck through (`<del>`).
#[component]
pub fn DiffText(
    /// The parts, in order.
    parts: Vec<DiffPart>,
    /// The paragraph's `data-testid`.
    #[prop(optional)]
    test_id: Option<&'static str>,
    /// The `data-testid`s of added and of removed parts.
    #[prop(optional)]
    part_ids: Option<(&'static str, &'static str)>,
) -> impl IntoView {
    let (added, removed) = part_ids.unzip();
    let parts = parts
        .into_iter()
        .map(|part| match part.op {
            DiffOp::Same => view! { <span>{part.text}</span> }.into_any(),
            DiffOp::Added => view! { <ins data-testid=added>{part.text}</ins> }.into_any(),
            DiffOp::Removed => view! { <del data-testid=removed>{part.text}</del> }.into_any(),
        })
        .collect_view();
    view! { <p class="diff" data-testid=test_id>{parts}</p> }
}

/// A `<details>` element's `toggle` handler that keeps whether it is open
/// in `open`.
pub fn keep_open_in(open: RwSignal<bool>) -> impl FnMut(leptos::ev::Event) + 'static {
    move |ev| {
        let opened = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlDetailsElement>().ok())
            .is_some_and(|d| d.open());
        open.set(opened);
    }
}
