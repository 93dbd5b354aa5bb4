//! What the pages' forms and lists share, driven on one [`Device`]: setting
//! a field as a person would, a form (filled, submitted, refused with its
//! message inline or adding an item) and the removed-items list that
//! brings an item back. Everything is addressed by test id (see [`tid`]).

use serde_json::{Value, json};

use crate::device::{Device, ELEMENT, tid};

/// A form of a page, by the test ids of its parts.
#[derive(Clone, Copy)]
pub struct Form {
    /// The button that submits it.
    submit: &'static str,
    /// Where it shows why it refused what was entered.
    error: &'static str,
    /// One element of this test id per item in the list the form adds to
    /// (or edits).
    item: &'static str,
}

impl Form {
    /// The form submitted by `submit`, showing refusals in `error`, whose
    /// list has one `item` per item (all test ids).
    pub const fn new(submit: &'static str, error: &'static str, item: &'static str) -> Self {
        Self {
            submit,
            error,
            item,
        }
    }

    /// Sets `fields` (test id, value: see [`Device::set`]) on `device` and
    /// presses the submit button.
    pub fn submit(&self, device: &Device, fields: &[(&str, &str)]) {
        for (id, value) in fields {
            device.set(&tid(id), value);
        }
        device.click(&tid(self.submit));
    }

    /// Submits `fields` and waits until the list holds `items` items.
    pub fn add(&self, device: &Device, fields: &[(&str, &str)], items: usize) {
        self.submit(device, fields);
        device.wait_count(&tid(self.item), items);
    }

    /// Submits `fields`, waits for the form to show `message`, and checks
    /// that the list still holds exactly `items` items (nothing was added).
    pub fn refuses(&self, device: &Device, fields: &[(&str, &str)], message: &str, items: usize) {
        self.submit(device, fields);
        device.wait_text(&tid(self.error), message);
        assert_eq!(
            device.all(&tid(self.item)).len(),
            items,
            "{} refused {fields:?} with {message:?} but its list changed",
            self.submit
        );
    }
}

impl Device {
    /// Sets the form field `css` to `value` as a person would: picks the
    /// option of a `<select>` whose value or text is `value`, sets a date
    /// or time input (what its picker does), and types into any other
    /// field (replacing what it held, without leaving it).
    pub fn set(&self, css: &str, value: &str) {
        self.element(css);
        let kind = self
            .prop(css, "type")
            .and_then(|kind| kind.as_str().map(str::to_owned))
            .unwrap_or_default();
        match kind.as_str() {
            "select-one" => self.pick(css, value),
            "date" | "time" => self.choose(css, value),
            _ => self.fill(css, value),
        }
    }

    /// Picks the option of the `<select>` `css` whose value, or else whose
    /// text, is `value` (fires `input` and `change`); fails if it has none.
    fn pick(&self, css: &str, value: &str) {
        let mut element = serde_json::Map::new();
        element.insert(ELEMENT.to_owned(), Value::String(self.element(css)));
        let found = self.script(
            "const [el, v] = arguments; \
             const options = [...el.options]; \
             const option = options.find(o => o.value === v) || options.find(o => o.text === v); \
             if (!option) return false; \
             el.value = option.value; \
             el.dispatchEvent(new Event('input', { bubbles: true })); \
             el.dispatchEvent(new Event('change', { bubbles: true })); \
             return true;",
            &json!([element, value]),
        );
        assert_eq!(found, Value::Bool(true), "no option {value:?} in {css}");
    }

    /// Brings back the removed item that reads `label` from the
    /// removed-items list inside `within` (a CSS selector; empty for the
    /// page's own list).
    pub fn restore_removed(&self, within: &str, label: &str) {
        let part = |id: &str| format!("{within} {}", tid(id));
        self.click(&part("removed-summary"));
        self.wait_text(&part("removed-item"), label);
        self.click(&part("restore-item"));
    }
}
