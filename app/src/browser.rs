//! Small wrappers over browser APIs: clock, randomness, timers, the page's origin.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// Why a browser API could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrowserError {
    /// There is no `window` (not running in a page).
    #[error("no window: not running in a browser page")]
    NoWindow,
    /// A browser API threw.
    #[error("{0}")]
    Js(String),
}

impl From<JsValue> for BrowserError {
    fn from(value: JsValue) -> Self {
        Self::Js(describe(&value))
    }
}

/// Renders a thrown JavaScript value as text for error messages.
pub fn describe(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

/// The page's window.
pub fn window() -> Result<web_sys::Window, BrowserError> {
    web_sys::window().ok_or(BrowserError::NoWindow)
}

/// Milliseconds since the Unix epoch from the browser clock.
pub fn now_ms() -> u64 {
    // `Date.now()` is a non-negative integer well inside f64's exact range.
    js_sys::Date::now().max(0.0) as u64
}

/// The page's high-resolution clock (`performance.now()`, ms since the
/// page started), or `None` where the page has none.
pub fn performance_now() -> Option<f64> {
    let performance =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance")).ok()?;
    let now = js_sys::Reflect::get(&performance, &JsValue::from_str("now")).ok()?;
    let now: &js_sys::Function = now.dyn_ref()?;
    now.call0(&performance).ok()?.as_f64()
}

/// Records a User Timing measure `name` from `start` (a
/// [`performance_now`] reading) until now, so a benchmark can read how long
/// a step took (`performance.getEntriesByName(name)`). Best effort: a page
/// without User Timing records nothing.
pub fn record_duration(name: &str, start: f64) {
    let Ok(performance) =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
    else {
        return;
    };
    let Ok(measure) = js_sys::Reflect::get(&performance, &JsValue::from_str("measure")) else {
        return;
    };
    let Some(measure) = measure.dyn_ref::<js_sys::Function>() else {
        return;
    };
    let options = js_sys::Object::new();
    if js_sys::Reflect::set(
        &options,
        &JsValue::from_str("start"),
        &JsValue::from_f64(start),
    )
    .is_ok()
    {
        let _ = measure.call2(&performance, &JsValue::from_str(name), &options);
    }
}

/// Fills `buf` from the browser's cryptographic random source.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), BrowserError> {
    let crypto = window()?.crypto()?;
    crypto.get_random_values_with_u8_array(buf)?;
    Ok(())
}

/// A uniformly distributed number in `[0, 1)` (for jitter; not cryptographic).
pub fn random_unit() -> f64 {
    js_sys::Math::random()
}

/// Copies `text` to the clipboard through `navigator.clipboard.writeText`.
/// Fails where the Clipboard API is missing or refused (an insecure origin,
/// a denied permission): the caller then offers the text to copy by hand.
pub async fn copy_to_clipboard(text: &str) -> Result<(), BrowserError> {
    let navigator = JsValue::from(window()?.navigator());
    let clipboard = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))?;
    if clipboard.is_undefined() || clipboard.is_null() {
        return Err(BrowserError::Js(
            "the clipboard is not available here".into(),
        ));
    }
    let write = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText"))?
        .dyn_into::<js_sys::Function>()
        .map_err(|_| BrowserError::Js("the clipboard cannot take text here".into()))?;
    let promise = write
        .call1(&clipboard, &JsValue::from_str(text))?
        .dyn_into::<js_sys::Promise>()
        .map_err(|_| BrowserError::Js("the clipboard did not answer".into()))?;
    wasm_bindgen_futures::JsFuture::from(promise).await?;
    Ok(())
}

/// Offers `text` to the user as a file download named `filename` of type
/// `mime`: a Blob behind an object URL, clicked through a temporary link,
/// and the URL revoked a little later.
pub fn download(filename: &str, mime: &str, text: &str) -> Result<(), BrowserError> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = window()?.document().ok_or(BrowserError::NoWindow)?;
    let link: web_sys::HtmlAnchorElement = document.create_element("a")?.unchecked_into();
    link.set_href(&url);
    link.set_download(filename);
    link.click();
    // Revoking at once can cancel the download in some browsers.
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(10),
    );
    Ok(())
}

/// The value stored under `key` in this origin's `localStorage`, if any.
pub fn local_get(key: &str) -> Option<String> {
    window().ok()?.local_storage().ok()??.get_item(key).ok()?
}

/// Stores `value` under `key` in `localStorage` (best effort: a browser
/// that refuses storage only loses what the key remembers).
pub fn local_set(key: &str, value: &str) {
    if let Some(storage) = window().ok().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(key, value);
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Parses lowercase or uppercase hex into exactly `N` bytes.
pub fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

/// Resolves after `ms` milliseconds (uses `setTimeout`).
pub async fn sleep(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let scheduled = web_sys::window().map(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                i32::try_from(ms).unwrap_or(i32::MAX),
            )
        });
        if !matches!(scheduled, Some(Ok(_))) {
            // No timer available: resolve at once rather than hang forever.
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Resolves at the browser's next idle moment (`requestIdleCallback`,
/// at the latest after `timeout_ms`), or after a zero timer where the
/// browser has no idle callbacks.
pub async fn idle(timeout_ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if request_idle(&resolve, timeout_ms) {
            return;
        }
        let scheduled = web_sys::window()
            .map(|w| w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0));
        if !matches!(scheduled, Some(Ok(_))) {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Calls `requestIdleCallback(callback, { timeout })` if the page has it.
fn request_idle(callback: &js_sys::Function, timeout_ms: u32) -> bool {
    let global = js_sys::global();
    let Ok(request) = js_sys::Reflect::get(&global, &JsValue::from_str("requestIdleCallback"))
    else {
        return false;
    };
    let Some(request) = request.dyn_ref::<js_sys::Function>() else {
        return false;
    };
    let options = js_sys::Object::new();
    js_sys::Reflect::set(
        &options,
        &JsValue::from_str("timeout"),
        &JsValue::from(timeout_ms),
    )
    .is_ok()
        && request.call2(&global, callback, &options).is_ok()
}

/// The page's origin, e.g. `http://127.0.0.1:8080`.
pub fn origin() -> Result<String, BrowserError> {
    Ok(window()?.location().origin()?)
}

/// The relay's WebSocket URL for `origin` (`http` → `ws`, `https` → `wss`),
/// opened with a single-use `ticket` (never the bearer token).
pub fn sync_url(origin: &str, ticket: &str) -> String {
    let ws = if let Some(rest) = origin.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = origin.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        origin.to_owned()
    };
    format!("{ws}/sync?ticket={}", encode_query(ticket))
}

/// Percent-encodes everything but unreserved characters.
fn encode_query(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Asks `question` in the browser's confirmation dialog; `false` when it
/// is declined or cannot be shown.
pub fn confirm(question: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(question).ok())
        .unwrap_or(false)
}

/// Opens the browser's print dialog (the print stylesheet gives a clean PDF).
pub fn print() -> Result<(), BrowserError> {
    Ok(window()?.print()?)
}

/// Writes a line to the browser console.
pub fn log(message: &str) {
    web_sys::console::log_1(&JsValue::from_str(message));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&bytes), "0001abff");
        assert_eq!(unhex::<4>("0001ABff"), Some(bytes));
        assert_eq!(unhex::<4>("0001ab"), None);
        assert_eq!(unhex::<2>("zz00"), None);
    }

    #[test]
    fn sync_url_follows_the_page_scheme() {
        assert_eq!(
            sync_url("http://127.0.0.1:8080", "a b"),
            "ws://127.0.0.1:8080/sync?ticket=a%20b"
        );
        assert_eq!(
            sync_url("https://accord.example", "t-1"),
            "wss://accord.example/sync?ticket=t-1"
        );
    }
}
