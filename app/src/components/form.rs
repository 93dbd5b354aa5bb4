//! Inline validation messages for forms.
//!
//! A form keeps its message in a [`Feedback`] signal; [`crate::edit::apply_into`]
//! clears it when an edit is made and fills it with the op's error otherwise,
//! and [`InlineError`] shows it next to the fields.

use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::{ItemId, MemberId, OpError};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::edit;

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

/// The submit handler of a form that adds one item: it takes a fresh id,
/// runs `add` with it as one edit of the partnership `id` (a refusal, or a
/// field that does not parse, goes into `error`) and calls `done` once the
/// item is added, to clear the fields.
pub fn on_add<A, D>(error: Feedback, id: DocumentId, add: A, done: D) -> impl Fn(SubmitEvent)
where
    A: Fn(&mut Transaction<'_>, ItemId) -> Result<(), OpError> + 'static,
    D: Fn() + 'static,
{
    on_add_with(
        error,
        id,
        || Ok(()),
        move |tx, item, ()| add(tx, item),
        move |_| done(),
    )
}

/// [`on_add`] for an item recorded as this device's member's (`by`): when
/// this device is no member of the partnership, `error` says so and
/// nothing is written. `done` is given the new item's id.
pub fn on_add_as_me<A, D>(error: Feedback, id: DocumentId, add: A, done: D) -> impl Fn(SubmitEvent)
where
    A: Fn(&mut Transaction<'_>, ItemId, MemberId) -> Result<(), OpError> + 'static,
    D: Fn(ItemId) + 'static,
{
    on_add_with(error, id, move || edit::me_or_error(&id), add, done)
}

/// [`on_add`] for an item this device's member owns, if they are a member
/// (`owner`; `None` otherwise).
pub fn on_add_owned<A, D>(error: Feedback, id: DocumentId, add: A, done: D) -> impl Fn(SubmitEvent)
where
    A: Fn(&mut Transaction<'_>, ItemId, Option<MemberId>) -> Result<(), OpError> + 'static,
    D: Fn() + 'static,
{
    on_add_with(error, id, move || Ok(edit::me(&id)), add, move |_| done())
}

/// [`on_add`] with what `prepare` reads first (the document cannot be read
/// while it is being written), and the new item's id given to `done`.
pub fn on_add_with<X, P, A, D>(
    error: Feedback,
    id: DocumentId,
    prepare: P,
    add: A,
    done: D,
) -> impl Fn(SubmitEvent)
where
    P: Fn() -> Result<X, OpError> + 'static,
    A: Fn(&mut Transaction<'_>, ItemId, X) -> Result<(), OpError> + 'static,
    D: Fn(ItemId) + 'static,
{
    move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(item) = edit::new_id(error) else {
            return;
        };
        let ready = match prepare() {
            Ok(ready) => ready,
            Err(refused) => {
                error.set(Some(refused.to_string()));
                return;
            }
        };
        if edit::apply_into(error, &id, |tx| add(tx, item, ready)) {
            done(item);
        }
    }
}

/// A form that adds one item (see [`on_add`]): its fields, then the submit
/// button, with the form's message under it.
#[component]
pub fn AddForm<A, D>(
    /// The partnership.
    id: DocumentId,
    /// Adds the item under the fresh id it is given.
    add: A,
    /// Clears the fields once the item is added.
    done: D,
    /// The submit button's text.
    button: &'static str,
    /// The submit button's `data-testid`.
    button_id: &'static str,
    /// The message's `data-testid`.
    error_id: &'static str,
    /// Where a refusal is explained (by default the form's own message).
    #[prop(optional)]
    error: Option<Feedback>,
    /// The form's CSS class.
    #[prop(default = "inline-form")]
    class: &'static str,
    /// The fields.
    children: Children,
) -> impl IntoView
where
    A: Fn(&mut Transaction<'_>, ItemId) -> Result<(), OpError> + 'static,
    D: Fn() + 'static,
{
    let error = error.unwrap_or_else(feedback);
    view! {
        <form class=class on:submit=on_add(error, id, add, done)>
            {children()}
            <button type="submit" data-testid=button_id>{button}</button>
        </form>
        <InlineError message=error test_id=error_id/>
    }
}

/// A date field (`YYYY-MM-DD`, within the dates the model accepts) bound
/// to `value`.
#[component]
pub fn DateInput(
    /// The text of the date.
    value: RwSignal<String>,
    /// The field's `data-testid`.
    test_id: &'static str,
    /// Its accessible name, when no label around it gives one.
    #[prop(optional)]
    label: Option<&'static str>,
) -> impl IntoView {
    view! {
        <input type="date" min=edit::DATE_MIN max=edit::DATE_MAX data-testid=test_id
            aria-label=label bind:value=value/>
    }
}

/// `<option>`s for a choice that may be left empty: `none` first (value
/// ""), then each `(value, label)` of `choices`; the option whose value is
/// `selected` is chosen, `none` when nothing is.
pub fn optional_options(
    none: &'static str,
    choices: Vec<(String, String)>,
    selected: Option<&str>,
) -> impl IntoView + use<> {
    let options = choices
        .into_iter()
        .map(|(value, label)| {
            let chosen = selected == Some(value.as_str());
            view! { <option value=value selected=chosen>{label}</option> }
        })
        .collect_view();
    view! {
        <option value="" selected=selected.is_none()>{none}</option>
        {options}
    }
}
/// The one-line name of a record (a risk's title, a committee's name),
/// written with `rename` when it is changed and left.
#[component]
pub fn NameField<F>(
    /// What it shows now.
    value: String,
    /// Its `data-testid`.
    test_id: &'static str,
    /// Its accessible name.
    label: &'static str,
    /// Its CSS class.
    #[prop(default = "grow")]
    class: &'static str,
    /// Writes the new name.
    rename: F,
) -> impl IntoView
where
    F: Fn(String) + 'static,
{
    view! {
        <input type="text" class=class data-testid=test_id aria-label=label prop:value=value
            on:change=move |ev| rename(event_target_value(&ev))/>
    }
}
