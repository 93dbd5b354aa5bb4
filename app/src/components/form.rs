//! Inline validation messages for forms.
//!
//! A form keeps its message in a [`Feedback`] signal; [`crate::edit::apply_into`]
//! clears it when an edit is made and fills it with the op's error otherwise,
//! and [`InlineError`] shows it next to the fields.

use leptos::prelude::*;

/// The message a form shows, `None` when the last edit succeeded.
pub type Feedback = RwSignal<Option<String>>;

/// A new, empty [`Feedback`].
pub fn feedback() -> Feedback {
    RwSignal::new(None)
}

/// Shows `message` (if any) as an inline alert tagged `data-testid=test_id`.
#[component]
pub fn InlineError(
    /// The message to show.
    message: Feedback,
    /// The element's `data-testid`.
    #[prop(into)]
    test_id: String,
) -> impl IntoView {
    move || {
        message.get().map(|text| {
            view! {
                <p class="inline-error" role="alert" data-testid=test_id.clone()>
                    {text}
                </p>
            }
        })
    }
}

/// Why a one-shot step (joining by invite, linking a device) failed, with
/// the way back to the partnership list.
#[component]
pub fn FailedStep(
    /// The one sentence saying why.
    message: String,
    /// The message's `data-testid`.
    test_id: &'static str,
) -> impl IntoView {
    view! {
        <div class="notice" role="alert">
            <p data-testid=test_id>{message}</p>
            <p><a href="#/">"Go to your partnerships"</a></p>
        </div>
    }
}
