//! One browser device for the end-to-end suites: a Chromium session with a
//! fresh profile driven over WebDriver, with waits that poll until a
//! timeout, plus the two-organization partnership most suites start from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Relay, TempDir, WAIT};
use crate::webdriver::{Driver, Setup, request, setup};

/// W3C WebDriver's key for element references.
pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// WebDriver key codes: Tab (commits a field: `change` fires on blur),
/// Control, and the null key that releases modifiers.
pub const TAB: &str = "\u{E004}";
pub const SELECT_ALL: &str = "\u{E009}a\u{E000}";
/// Ctrl+Home, then the null key releasing Ctrl: the caret to the start.
pub const TO_START: &str = "\u{E009}\u{E011}\u{E000}";
/// Ctrl+End, then the null key releasing Ctrl: the caret to the end.
pub const TO_END: &str = "\u{E009}\u{E010}\u{E000}";

/// One Chromium session with a fresh profile: one device.
pub struct Device {
    driver: SocketAddr,
    session: String,
    name: &'static str,
    /// The profile directory, when this device owns (and removes) it.
    owned_profile: Option<TempDir>,
}

impl Device {
    pub fn open(driver: &Driver, chromium: &Path, name: &'static str) -> Self {
        let profile = TempDir::new(&format!("chromium-device-{name}"));
        let mut device = Self::open_profile(driver, chromium, name, profile.path());
        device.owned_profile = Some(profile);
        device
    }

    /// A session on the Chromium profile in `profile`, which outlives it:
    /// the same device started again (after [`Self::quit`] or a crash).
    pub fn open_profile(
        driver: &Driver,
        chromium: &Path,
        name: &'static str,
        profile: &Path,
    ) -> Self {
        let args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--window-size=1280,1000",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": { "binary": chromium, "args": args },
        }}});
        let (status, value) = request(driver.addr, "POST", "/session", Some(&caps));
        let session = value["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused a session ({status}): {value}"))
            .to_owned();
        Self {
            driver: driver.addr,
            session,
            name,
            owned_profile: None,
        }
    }

    /// Closes every tab and ends the browser, as a person quitting it.
    pub fn quit(self) {
        let _ = self.try_cmd("DELETE", "", None);
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub fn script(&self, script: &str, args: &Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(&json!({ "script": script, "args": args })),
        )
    }

    /// Runs `script`, an async function body that calls the last of its
    /// `arguments` with the result, in the page; `arguments` holds `args` first.
    pub fn script_async(&self, script: &str, args: &Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            Some(&json!({ "script": script, "args": args })),
        )
    }

    /// Sends a Chrome DevTools Protocol command to the current tab.
    pub fn cdp(&self, command: &str, params: &Value) -> Value {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(&json!({ "cmd": command, "params": params })),
        )
    }

    /// Cuts only the current tab off the network (page fetches and
    /// WebSocket), or restores it; other tabs keep theirs.
    pub fn set_tab_offline(&self, offline: bool) {
        self.cdp("Network.enable", &json!({}));
        self.cdp(
            "Network.emulateNetworkConditions",
            &json!({ "offline": offline, "latency": 0,
                    "downloadThroughput": -1, "uploadThroughput": -1 }),
        );
    }

    /// Opens a new tab and makes it current; returns its handle.
    pub fn new_tab(&self) -> String {
        let handle = self.cmd("POST", "/window/new", Some(&json!({ "type": "tab" })))["handle"]
            .as_str()
            .expect("a window handle")
            .to_owned();
        self.switch_to(&handle);
        handle
    }

    /// The current tab's handle.
    pub fn tab(&self) -> String {
        self.cmd("GET", "/window", None)
            .as_str()
            .expect("a window handle")
            .to_owned()
    }

    /// Makes the tab `handle` current.
    pub fn switch_to(&self, handle: &str) {
        self.cmd("POST", "/window", Some(&json!({ "handle": handle })));
    }

    pub fn try_cmd(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let (status, value) = request(
            self.driver,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        );
        if status == 200 {
            Ok(value["value"].clone())
        } else {
            Err(format!("{status}: {}", value["value"]))
        }
    }

    pub fn cmd(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.try_cmd(method, path, body)
            .unwrap_or_else(|e| panic!("[{}] {method} {path}: {e}", self.name))
    }

    /// Reloads the page, once everything typed is stored on the device (as a
    /// person would after "Saving…"; the page asks before leaving otherwise).
    pub fn reload(&self) {
        self.wait("everything stored on this device", |d| {
            d.attr(&tid("sync-status"), "data-unsaved")
                .is_none_or(|unsaved| unsaved == "0")
        });
        self.cmd("POST", "/refresh", Some(&json!({})));
    }

    /// Types `text` into whatever has focus, as key presses that leave the
    /// caret where the page put it (sending keys to an element would place
    /// the caret first).
    pub fn type_keys(&self, text: &str) {
        self.type_keys_paced(text, None);
    }

    /// [`Self::type_keys`] with a pause of `pause_ms` after each key (a
    /// typing rate), and without letting go of the keyboard afterwards.
    pub fn type_keys_paced(&self, text: &str, pause_ms: Option<u64>) {
        let presses: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                let key = c.to_string();
                let pause = pause_ms.map(|ms| json!({ "type": "pause", "duration": ms }));
                [
                    Some(json!({ "type": "keyDown", "value": key })),
                    Some(json!({ "type": "keyUp", "value": key })),
                    pause,
                ]
                .into_iter()
                .flatten()
            })
            .collect();
        self.cmd(
            "POST",
            "/actions",
            Some(&json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": presses }] })),
        );
        if pause_ms.is_none() {
            self.cmd("DELETE", "/actions", None);
        }
    }

    /// Cuts this device off the network (page fetches and WebSocket), or restores it.
    pub fn set_offline(&self, offline: bool) {
        self.cmd(
            "POST",
            "/chromium/network_conditions",
            Some(&json!({ "network_conditions": {
                "offline": offline, "latency": 0,
                "download_throughput": -1, "upload_throughput": -1,
            }})),
        );
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(&json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Elements matching a CSS selector, in document order.
    pub fn all(&self, css: &str) -> Vec<String> {
        self.try_cmd(
            "POST",
            "/elements",
            Some(&json!({ "using": "css selector", "value": css })),
        )
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
        .collect()
    }

    /// Visible texts of the elements matching `css`.
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.all(css)
            .iter()
            .filter_map(|id| {
                self.try_cmd("GET", &format!("/element/{id}/text"), None)
                    .ok()
            })
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    /// All visible text under the elements matching `css`, joined.
    pub fn text(&self, css: &str) -> String {
        self.texts(css).join(" | ")
    }

    /// A property (`value`, `checked`…) of the first element matching `css`.
    pub fn prop(&self, css: &str, name: &str) -> Option<Value> {
        let id = self.all(css).into_iter().next()?;
        self.try_cmd("GET", &format!("/element/{id}/property/{name}"), None)
            .ok()
    }

    /// An attribute of the first element matching `css`, if both exist.
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        let id = self.all(css).into_iter().next()?;
        self.try_cmd("GET", &format!("/element/{id}/attribute/{name}"), None)
            .ok()?
            .as_str()
            .map(str::to_owned)
    }

    /// Selects UTF-16 units `start..end` of the field `css` (a text area's
    /// value or a `contenteditable` box's text) as a person would with the
    /// mouse, ending with the mouse-up that apps read selections on.
    pub fn select_text(&self, css: &str, start: usize, end: usize) {
        self.element(css);
        self.script(
            "const [css, start, end] = arguments;
             const field = document.querySelector(css);
             field.focus();
             if (typeof field.setSelectionRange === 'function') {
               field.setSelectionRange(start, end);
             } else {
               const walker = document.createTreeWalker(field, NodeFilter.SHOW_TEXT);
               const point = (at) => {
                 let seen = 0, node, last = [field, 0];
                 while ((node = walker.nextNode())) {
                   if (at <= seen + node.data.length) return [node, at - seen];
                   seen += node.data.length;
                   last = [node, node.data.length];
                 }
                 return last;
               };
               const [sn, so] = point(start);
               walker.currentNode = field;
               const [en, eo] = point(end);
               const range = document.createRange();
               range.setStart(sn, so);
               range.setEnd(en, eo);
               const selection = window.getSelection();
               selection.removeAllRanges();
               selection.addRange(range);
             }
             field.dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));",
            &json!([css, start, end]),
        );
    }

    /// What a field holds: an input's or text area's value, or the text
    /// of a `contenteditable` box (which has no value).
    pub fn value(&self, css: &str) -> String {
        self.prop(css, "value")
            .and_then(|v| v.as_str().map(str::to_owned))
            .or_else(|| {
                self.prop(css, "textContent")
                    .and_then(|v| v.as_str().map(str::to_owned))
            })
            .unwrap_or_default()
    }

    pub fn console(&self) -> String {
        self.try_cmd("POST", "/se/log", Some(&json!({ "type": "browser" })))
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|e| format!("  {}", e["message"].as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Polls `check` until it holds or [`WAIT`] passes, then fails saying what was awaited.
    pub fn wait(&self, what: &str, check: impl Fn(&Self) -> bool) {
        self.wait_within(WAIT, what, check);
    }

    /// Polls `check` every 50 ms until it holds or `within` passes (then
    /// fails saying what was awaited); returns the time it took, for suites
    /// that hold the page to a tighter bound than [`WAIT`] or report latency.
    pub fn wait_within(
        &self,
        within: Duration,
        what: &str,
        check: impl Fn(&Self) -> bool,
    ) -> Duration {
        let start = Instant::now();
        while !check(self) {
            if start.elapsed() > within {
                panic!(
                    "[{}] timed out after {within:?} waiting for {what}; at {}; status {:?}; errors {:?}; inline {:?}; console:\n{}",
                    self.name,
                    self.url(),
                    self.status(),
                    self.texts("[data-testid='error']"),
                    self.texts(".inline-error"),
                    self.console()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        start.elapsed()
    }

    /// The sync status line (`Saved`, `Offline`…), empty if not shown.
    pub fn status(&self) -> String {
        self.texts(&tid("sync-status"))
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// Waits for the sync status to be exactly `expected` (not merely contain it).
    pub fn wait_status(&self, expected: &str) {
        self.wait(&format!("status {expected:?}"), |d| d.status() == expected);
    }

    pub fn wait_text(&self, css: &str, expected: &str) {
        self.wait(&format!("{css} to show {expected:?}"), |d| {
            d.text(css).contains(expected)
        });
    }

    pub fn wait_value(&self, css: &str, expected: &str) {
        self.wait(&format!("{css} to hold {expected:?}"), |d| {
            d.value(css) == expected
        });
    }

    pub fn wait_count(&self, css: &str, n: usize) {
        self.wait(&format!("{n} × {css}"), |d| d.all(css).len() == n);
    }

    pub fn element(&self, css: &str) -> String {
        self.wait(&format!("{css} to appear"), |d| !d.all(css).is_empty());
        self.all(css).remove(0)
    }

    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/click"), Some(&json!({})));
    }

    pub fn keys(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(&json!({ "text": text })),
        );
    }

    /// Replaces a field's text as a user would (select all, type) and
    /// leaves it with Tab, so its `change` handler commits the edit once.
    pub fn enter(&self, css: &str, text: &str) {
        self.keys(css, &format!("{SELECT_ALL}{text}{TAB}"));
    }

    /// Types into an empty form field (no commit; forms are submitted).
    pub fn fill(&self, css: &str, text: &str) {
        self.keys(css, &format!("{SELECT_ALL}{text}"));
    }

    /// Picks `value` in a `<select>` (fires `input` and `change`).
    pub fn choose(&self, css: &str, value: &str) {
        let mut element = serde_json::Map::new();
        element.insert(ELEMENT.to_owned(), Value::String(self.element(css)));
        self.cmd(
            "POST",
            "/execute/sync",
            Some(&json!({
                "script": "const [el, v] = arguments; el.value = v; \
                           el.dispatchEvent(new Event('input', { bubbles: true })); \
                           el.dispatchEvent(new Event('change', { bubbles: true }));",
                "args": [element, value],
            })),
        );
    }

    /// Picks the option of a `<select>` whose text is `label` (fires
    /// `input` and `change`), for options whose values are generated ids.
    pub fn choose_label(&self, css: &str, label: &str) {
        let mut element = serde_json::Map::new();
        element.insert(ELEMENT.to_owned(), Value::String(self.element(css)));
        let found = self.cmd(
            "POST",
            "/execute/sync",
            Some(&json!({
                "script": "const [el, label] = arguments; \
                           const option = [...el.options].find(o => o.text === label); \
                           if (!option) return false; \
                           el.value = option.value; \
                           el.dispatchEvent(new Event('input', { bubbles: true })); \
                           el.dispatchEvent(new Event('change', { bubbles: true })); \
                           return true;",
                "args": [element, label],
            })),
        );
        assert_eq!(
            found,
            Value::Bool(true),
            "[{}] no option {label:?} in {css}",
            self.name
        );
    }

    /// The text of the selected option of the first `<select>` matching `css`.
    pub fn selected_label(&self, css: &str) -> String {
        let Some(id) = self.all(css).into_iter().next() else {
            return String::new();
        };
        let mut element = serde_json::Map::new();
        element.insert(ELEMENT.to_owned(), Value::String(id));
        self.try_cmd(
            "POST",
            "/execute/sync",
            Some(&json!({
                "script": "const [el] = arguments; \
                           return el.selectedIndex < 0 ? '' : el.options[el.selectedIndex].text;",
                "args": [element],
            })),
        )
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
    }

    /// Waits until the selected option of `css` reads `label`.
    pub fn wait_selected(&self, css: &str, label: &str) {
        self.wait(&format!("{css} to have {label:?} selected"), |d| {
            d.selected_label(css) == label
        });
    }

    /// Opens the invite form on the overview, creates an invite for `party`
    /// (as `role`, or the form's default role) and returns its link.
    pub fn invite_link(&self, party: &str, role: Option<&str>) -> String {
        self.click(&tid("invite-open"));
        self.fill(&tid("invite-party"), party);
        if let Some(role) = role {
            self.choose(&tid("invite-role"), role);
        }
        self.click(&tid("invite-create"));
        self.wait("an invite link", |d| {
            d.value(&tid("invite-link")).contains("#/join/")
        });
        self.value(&tid("invite-link"))
    }

    /// Dismisses the notice (toast) on screen, if one is; says whether one was.
    pub fn dismiss_notice(&self) -> bool {
        let dismiss = format!("{} button[aria-label='Dismiss']", tid("toast"));
        let shown = !self.all(&dismiss).is_empty();
        if shown {
            self.click(&dismiss);
        }
        shown
    }

    /// Opens `relay`'s home page and waits until this device is registered
    /// and connected (the status reads "Saved").
    pub fn open_home(&self, relay: &Relay) {
        self.goto(&relay.home_url());
        self.wait_status("Saved");
    }

    /// Signs in on `relay`'s home page: [`Self::open_home`], then the
    /// first-run profile of `name` of `organization`.
    pub fn sign_in(&self, relay: &Relay, name: &str, organization: &str) {
        self.open_home(relay);
        self.profile(name, organization);
    }

    /// [`Self::sign_in`] with a job title in the profile too.
    pub fn sign_in_titled(&self, relay: &Relay, name: &str, organization: &str, title: &str) {
        self.open_home(relay);
        self.profile_titled(name, organization, title);
    }

    /// Presses "New partnership" (on the home page, signed in) and waits for
    /// its overview; returns its base URL (`…/#/p/<id>`).
    pub fn start_partnership(&self) -> String {
        self.click(&tid("new-partnership"));
        self.wait_value(&tid("title-input"), "Untitled partnership");
        self.url()
    }

    /// Opens the invite `link` (signed in) and waits until the
    /// partnership's overview shows its title, `title`.
    pub fn join(&self, link: &str, title: &str) {
        self.goto(link);
        self.wait_value(&tid("title-input"), title);
    }

    /// First-run profile, each field committed on blur.
    pub fn profile(&self, name: &str, organization: &str) {
        self.profile_fields(name, organization, &[]);
    }

    /// First-run profile with a job title too, each field committed on blur.
    pub fn profile_titled(&self, name: &str, organization: &str, title: &str) {
        self.profile_fields(name, organization, &[("profile-title", title)]);
    }

    fn profile_fields(&self, name: &str, organization: &str, more: &[(&str, &str)]) {
        for (id, text) in [
            ("profile-name", name),
            ("profile-organization", organization),
        ]
        .iter()
        .chain(more)
        {
            self.enter(&tid(id), text);
        }
        self.wait("the profile to be saved", |d| {
            let summary = d.text(&tid("profile-summary"));
            summary.contains(name) && summary.contains(organization)
        });
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.try_cmd("DELETE", "", None);
    }
}

/// The agreement's clauses by position, and what is inside them.
pub mod clause {
    use super::tid;

    pub const FIRST: &str = "[data-testid='clause']:nth-child(1)";
    pub const SECOND: &str = "[data-testid='clause']:nth-child(2)";
    pub const THIRD: &str = "[data-testid='clause']:nth-child(3)";
    pub const FOURTH: &str = "[data-testid='clause']:nth-child(4)";

    /// The selector of `data-testid=id` inside `clause`.
    pub fn within(clause: &str, id: &str) -> String {
        format!("{clause} {}", tid(id))
    }
}

/// The selector of `data-testid=id`.
pub fn tid(id: &str) -> String {
    format!("[data-testid='{id}']")
}

/// Alice of Acme creates a partnership on `a` (nobody invited yet): the
/// home page, her profile, "New partnership". Returns its base URL
/// (`…/#/p/<id>`).
pub fn new_partnership(relay: &Relay, a: &Device) -> String {
    a.sign_in(relay, "Alice Adams", "Acme");
    a.start_partnership()
}

/// One device's own new partnership (see [`new_partnership`]), saved on
/// the relay; returns its base URL (`…/#/p/<id>`).
pub fn solo_partnership(relay: &Relay, a: &Device) -> String {
    let base = new_partnership(relay, a);
    a.wait_status("Saved");
    base
}

/// Two devices of two organizations on one partnership: Acme created it,
/// Globex joined through an invite link. Returns the partnership's base
/// URL (`…/#/p/<id>`).
pub fn partnership(relay: &Relay, a: &Device, b: &Device) -> String {
    let base = new_partnership(relay, a);
    assert!(base.contains("#/p/"), "{base}");
    let link = a.invite_link("Globex", None);
    b.sign_in(relay, "Bob Brown", "Globex");
    b.join(&link, "Untitled partnership");
    for device in [a, b] {
        device.wait("both parties with their members", |d| {
            let parties = d.text(&tid("party-list"));
            parties.contains("Alice Adams") && parties.contains("Bob Brown")
        });
    }
    base
}

/// Chromium and a running chromedriver: opens devices, each on a fresh
/// profile. Devices opened after it drop (and close) before it.
pub struct Browser {
    driver: Driver,
    chromium: PathBuf,
    /// The built web app the relay serves.
    pub dist: PathBuf,
}

impl Browser {
    /// A relay serving the web app and a browser for the suite `what`:
    /// where every browser test starts; `None` when browser tests are
    /// skipped (see [`crate::webdriver::setup`]).
    pub fn start(what: &str) -> Option<(Relay, Self)> {
        let browser = Self::launch(what)?;
        Some((Relay::start_with_web(&browser.dist), browser))
    }

    /// [`Self::start`] and one device per name, each on its own fresh
    /// profile: where a test of devices that are not (yet) on one
    /// partnership starts.
    pub fn start_with<const N: usize>(
        what: &str,
        names: [&'static str; N],
    ) -> Option<(Relay, Self, [Device; N])> {
        let (relay, browser) = Self::start(what)?;
        let devices = browser.open(names);
        Some((relay, browser, devices))
    }

    /// The browser alone, for a suite that starts its own relay.
    pub fn launch(what: &str) -> Option<Self> {
        let Setup {
            dist,
            chromium,
            chromedriver,
        } = setup(what)?;
        Some(Self {
            driver: Driver::start(&chromedriver),
            chromium,
            dist,
        })
    }

    /// One device per name, each on its own fresh profile.
    pub fn open<const N: usize>(&self, names: [&'static str; N]) -> [Device; N] {
        names.map(|name| Device::open(&self.driver, &self.chromium, name))
    }

    /// A device on a fresh profile that outlives it, so that the same
    /// device can be started again (see [`Self::open_profile`]); the
    /// profile is removed when the returned directory drops.
    pub fn open_restartable(&self, name: &'static str) -> (Device, TempDir) {
        let profile = TempDir::new(&format!("chromium-{name}"));
        (self.open_profile(name, profile.path()), profile)
    }

    /// A device on the profile in `profile`, which outlives it (see
    /// [`Device::open_profile`]).
    pub fn open_profile(&self, name: &'static str, profile: &Path) -> Device {
        Device::open_profile(&self.driver, &self.chromium, name, profile)
    }
}

/// A relay serving the web app, and two devices of two organizations on one
/// partnership (see [`partnership`]): where most browser suites start.
/// Fields drop in order, so the browsers close before chromedriver and the
/// relay stop.
pub struct TwoOrganizations {
    /// Acme's device, which created the partnership.
    pub a: Device,
    /// Globex's device, which joined through the invite link.
    pub b: Device,
    /// The partnership's base URL (`…/#/p/<id>`).
    pub base: String,
    _browser: Browser,
    _relay: Relay,
}

impl TwoOrganizations {
    /// Starts everything for the suite `what`; `None` when browser tests are
    /// skipped (see [`crate::webdriver::setup`]).
    pub fn start(what: &str) -> Option<Self> {
        let (relay, browser) = Browser::start(what)?;
        let [a, b] = browser.open(["acme", "globex"]);
        let base = partnership(&relay, &a, &b);
        Some(Self {
            a,
            b,
            base,
            _browser: browser,
            _relay: relay,
        })
    }

    /// Opens the agreement on both devices and starts it, on `a`, from the
    /// standard outline; waits until both show its 11 clauses.
    pub fn agreement_from_outline(&self) {
        open_page(&self.a, &self.b, &self.base, "agreement");
        self.a.click(&tid("agreement-outline"));
        for device in [&self.a, &self.b] {
            device.wait_count(&tid("clause"), 11);
        }
    }

    /// Runs `steps` in order, each with Acme's device and Globex's.
    pub fn run(&self, steps: &[fn(&Device, &Device)]) {
        for step in steps {
            step(&self.a, &self.b);
        }
    }

    /// Runs `steps` in order, each with Acme's device, Globex's and the
    /// partnership's base URL.
    pub fn run_with_base(&self, steps: &[fn(&Device, &Device, &str)]) {
        for step in steps {
            step(&self.a, &self.b, &self.base);
        }
    }

    /// Waits until both devices say everything is saved on the relay.
    pub fn finish(&self) {
        for device in [&self.a, &self.b] {
            device.wait_text(&tid("sync-status"), "Saved");
        }
    }
}

/// Opens a plan page on both devices, through the tab bar on `a`.
pub fn open_page(a: &Device, b: &Device, base: &str, slug: &str) {
    a.click(&tid(&format!("tab-{slug}")));
    a.element(&tid(&format!("page-{slug}")));
    b.goto(&format!("{base}/{slug}"));
    b.element(&tid(&format!("page-{slug}")));
}

/// Both people type into the field `css` at once, from two threads: on
/// `a` `front` at its start, on `b` `back` at its end; waits until both
/// devices hold `merged`, every word of both in place.
pub fn type_at_both_ends(
    a: &Device,
    b: &Device,
    css: &str,
    [front, back]: [&str; 2],
    merged: &str,
) {
    std::thread::scope(|s| {
        s.spawn(|| a.keys(css, &format!("{TO_START}{front}")));
        s.spawn(|| b.keys(css, &format!("{TO_END}{back}")));
    });
    for device in [a, b] {
        device.wait_value(css, merged);
    }
}

/// A further member of an existing organization: `a` (still on the
/// overview, its invite form open after [`partnership`]) creates a second
/// invite for `organization`, and `c` joins through it as `name`.
pub fn join_member(relay: &Relay, a: &Device, c: &Device, name: &str, organization: &str) {
    let first = a.value(&tid("invite-link"));
    a.fill(&tid("invite-party"), organization);
    a.click(&tid("invite-create"));
    a.wait("a fresh invite link", |d| {
        let link = d.value(&tid("invite-link"));
        link.contains("#/join/") && link != first
    });
    let link = a.value(&tid("invite-link"));
    c.sign_in(relay, name, organization);
    c.join(&link, "Untitled partnership");
    for device in [a, c] {
        device.wait("the new member in their organization", |d| {
            d.text(&tid("party-list")).contains(name)
        });
    }
}
