//! Browser end-to-end for the plan pages (issue 5): for each of vetting,
//! objectives and KPIs, roles, communication plan and milestones, one device
//! tries invalid input (the op's message shows inline and nothing changes),
//! creates and edits, and the partner's device — another Chromium profile
//! that joined through an invite link — sees it and edits back.
//!
//! Needs the built app in `ACCORD_WEB_DIST` (`cargo xtask web`), Chromium and
//! chromedriver; `ACCORD_SKIP_BROWSER=1` skips. Every wait polls with a
//! timeout, so the test does not depend on timing.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Relay, TempDir, WAIT};
use crate::webdriver::{Driver, Setup, request, setup};

/// W3C WebDriver's key for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// WebDriver key codes: Tab (commits a field: `change` fires on blur),
/// Control, and the null key that releases modifiers.
const TAB: &str = "\u{E004}";
const SELECT_ALL: &str = "\u{E009}a\u{E000}";

/// One Chromium session with a fresh profile: one device.
pub(crate) struct Device {
    driver: SocketAddr,
    session: String,
    name: &'static str,
    _profile: TempDir,
}

impl Device {
    pub(crate) fn open(driver: &Driver, chromium: &Path, name: &'static str) -> Self {
        let profile = TempDir::new(&format!("chromium-plan-{name}"));
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
        .chain([format!("--user-data-dir={}", profile.path().display())])
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
            _profile: profile,
        }
    }

    pub(crate) fn try_cmd(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
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

    pub(crate) fn cmd(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.try_cmd(method, path, body)
            .unwrap_or_else(|e| panic!("[{}] {method} {path}: {e}", self.name))
    }

    pub(crate) fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(&json!({ "url": url })));
    }

    pub(crate) fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Elements matching a CSS selector, in document order.
    pub(crate) fn all(&self, css: &str) -> Vec<String> {
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
    pub(crate) fn texts(&self, css: &str) -> Vec<String> {
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
    pub(crate) fn text(&self, css: &str) -> String {
        self.texts(css).join(" | ")
    }

    /// A property (`value`, `checked`…) of the first element matching `css`.
    pub(crate) fn prop(&self, css: &str, name: &str) -> Option<Value> {
        let id = self.all(css).into_iter().next()?;
        self.try_cmd("GET", &format!("/element/{id}/property/{name}"), None)
            .ok()
    }

    pub(crate) fn value(&self, css: &str) -> String {
        self.prop(css, "value")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub(crate) fn console(&self) -> String {
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
    pub(crate) fn wait(&self, what: &str, check: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !check(self) {
            if Instant::now() > deadline {
                panic!(
                    "[{}] timed out waiting for {what}; at {}; errors {:?}; inline {:?}; console:\n{}",
                    self.name,
                    self.url(),
                    self.texts("[data-testid='error']"),
                    self.texts(".inline-error"),
                    self.console()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn wait_text(&self, css: &str, expected: &str) {
        self.wait(&format!("{css} to show {expected:?}"), |d| {
            d.text(css).contains(expected)
        });
    }

    pub(crate) fn wait_value(&self, css: &str, expected: &str) {
        self.wait(&format!("{css} to hold {expected:?}"), |d| {
            d.value(css) == expected
        });
    }

    pub(crate) fn wait_count(&self, css: &str, n: usize) {
        self.wait(&format!("{n} × {css}"), |d| d.all(css).len() == n);
    }

    pub(crate) fn element(&self, css: &str) -> String {
        self.wait(&format!("{css} to appear"), |d| !d.all(css).is_empty());
        self.all(css).remove(0)
    }

    pub(crate) fn click(&self, css: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/click"), Some(&json!({})));
    }

    pub(crate) fn keys(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(&json!({ "text": text })),
        );
    }

    /// Replaces a field's text as a user would (select all, type) and
    /// leaves it with Tab, so its `change` handler commits the edit once.
    pub(crate) fn enter(&self, css: &str, text: &str) {
        self.keys(css, &format!("{SELECT_ALL}{text}{TAB}"));
    }

    /// Types into an empty form field (no commit; forms are submitted).
    pub(crate) fn fill(&self, css: &str, text: &str) {
        self.keys(css, &format!("{SELECT_ALL}{text}"));
    }

    /// Picks `value` in a `<select>` (fires `input` and `change`).
    pub(crate) fn choose(&self, css: &str, value: &str) {
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

    /// First-run profile, each field committed on blur.
    pub(crate) fn profile(&self, name: &str, organization: &str) {
        for (id, text) in [
            ("profile-name", name),
            ("profile-organization", organization),
        ] {
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

/// The selector of `data-testid=id`.
pub(crate) fn tid(id: &str) -> String {
    format!("[data-testid='{id}']")
}

/// Two devices of two organizations on one partnership: Acme created it,
/// Globex joined through an invite link. Returns the partnership's base
/// URL (`…/#/p/<id>`).
pub(crate) fn partnership(relay: &Relay, a: &Device, b: &Device) -> String {
    let home = format!("{}/", relay.http_url());
    a.goto(&home);
    a.wait_text(&tid("sync-status"), "saved on relay");
    a.profile("Alice Adams", "Acme");
    a.click(&tid("new-partnership"));
    a.wait_value(&tid("title-input"), "Untitled partnership");
    let base = a.url();
    assert!(base.contains("#/p/"), "{base}");
    a.click(&tid("invite-open"));
    a.fill(&tid("invite-party"), "Globex");
    a.click(&tid("invite-create"));
    a.wait("an invite link", |d| {
        d.value(&tid("invite-link")).contains("#/join/")
    });
    let link = a.value(&tid("invite-link"));
    b.goto(&home);
    b.wait_text(&tid("sync-status"), "saved on relay");
    b.profile("Bob Brown", "Globex");
    b.goto(&link);
    b.wait_value(&tid("title-input"), "Untitled partnership");
    for device in [a, b] {
        device.wait("both parties with their members", |d| {
            let parties = d.text(&tid("party-list"));
            parties.contains("Alice Adams") && parties.contains("Bob Brown")
        });
    }
    base
}

/// Opens a plan page on both devices, through the tab bar on `a`.
pub(crate) fn open_page(a: &Device, b: &Device, base: &str, slug: &str) {
    a.click(&tid(&format!("tab-{slug}")));
    a.element(&tid(&format!("page-{slug}")));
    b.goto(&format!("{base}/{slug}"));
    b.element(&tid(&format!("page-{slug}")));
}

fn vetting(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "vetting");
    let acme = "[data-testid='score-input'][data-party='Acme']";
    let globex = "[data-testid='score-input'][data-party='Globex']";
    let acme_total = "[data-testid='vetting-total'][data-party='Acme']";
    a.wait_count(&tid("criterion-row"), 7);

    // Out of range: the message shows inline and nothing is stored.
    a.enter(acme, "7");
    a.wait_text(
        &tid("vetting-error"),
        "score must be between 1 and 5 (got 7)",
    );
    assert_eq!(a.text(acme_total), "—");

    // Create and edit: a score, a renamed criterion, a checklist item.
    a.enter(acme, "4");
    a.wait_text(acme_total, "4.00");
    assert!(
        a.all(&tid("vetting-error")).is_empty(),
        "the message clears"
    );
    a.enter(&tid("criterion-name"), "Track record (audited)");
    a.fill(&tid("new-diligence-item"), "Audited accounts 2025");
    a.fill(
        &tid("new-diligence-evidence"),
        "https://example.org/accounts.pdf",
    );
    a.click(&tid("add-diligence"));
    a.wait_count(&tid("diligence-row"), 1);
    a.click(&tid("add-diligence"));
    a.wait_text(&tid("diligence-error"), "must not be empty");
    a.wait_count(&tid("diligence-row"), 1);

    // The partner sees it all and scores their side; Acme sees that.
    b.wait_value(&tid("criterion-name"), "Track record (audited)");
    b.wait_text(acme_total, "4.00");
    b.wait_value(&tid("diligence-item"), "Audited accounts 2025");
    b.enter(globex, "2");
    b.click(&tid("diligence-done"));
    a.wait_text("[data-testid='vetting-total'][data-party='Globex']", "2.00");
    a.wait_text(&tid("vetting-combined"), "3.00");
    a.wait("the check done on Acme's side", |d| {
        d.prop(&tid("diligence-done"), "checked") == Some(Value::Bool(true))
    });
}

fn objectives(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "objectives");

    // An empty title is refused inline.
    a.click(&tid("add-objective"));
    a.wait_text(&tid("objective-error"), "title must not be empty");
    assert!(a.all(&tid("objective-row")).is_empty());
    a.fill(&tid("new-objective-title"), "Launch in the Nordics");
    a.click(&tid("add-objective"));
    a.wait_count(&tid("objective-row"), 1);
    a.choose(&tid("objective-status"), "in_progress");

    // A quantitative KPI needs a unit.
    a.fill(&tid("new-kpi-name"), "Qualified leads");
    a.fill(&tid("new-kpi-target"), "50");
    a.click(&tid("add-kpi"));
    a.wait_text(&tid("kpi-error"), "needs a unit");
    assert!(a.all(&tid("kpi-card")).is_empty());
    a.fill(&tid("new-kpi-unit"), "leads");
    a.click(&tid("add-kpi"));
    a.wait_count(&tid("kpi-card"), 1);
    a.wait_text(&tid("kpi-health"), "no data");

    // A measurement: 20 of 50 from 0 is 40 %: at risk; a bad value is refused.
    a.fill(&tid("measurement-value-input"), "lots");
    a.click(&tid("record-measurement"));
    a.wait_text(&tid("measurement-error"), "value must be a number");
    a.fill(&tid("measurement-value-input"), "20");
    a.click(&tid("record-measurement"));
    a.wait_count(&tid("measurement-row"), 1);
    a.wait_text(&tid("kpi-health"), "at risk");
    a.element(&tid("kpi-target-line"));

    // The partner sees objective, status, KPI, chart; records 45 (on track).
    b.wait_value(&tid("objective-title"), "Launch in the Nordics");
    b.wait_value(&tid("objective-status"), "in_progress");
    b.wait_text(&tid("kpi-health"), "at risk");
    b.element(&tid("kpi-chart"));
    b.fill(&tid("measurement-value-input"), "45");
    b.click(&tid("record-measurement"));
    b.enter(&tid("objective-title"), "Launch in Norway and Sweden");
    a.wait_count(&tid("measurement-row"), 2);
    a.wait_text(&tid("kpi-health"), "on track");
    a.wait_value(&tid("objective-title"), "Launch in Norway and Sweden");
    let dots = a.all("[data-testid='kpi-chart'] circle").len();
    assert_eq!(dots, 2, "one dot per measurement");
}

fn roles(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "roles");
    a.click(&tid("add-activity"));
    a.wait_text(&tid("raci-error"), "must not be empty");
    a.fill(&tid("new-activity"), "Joint webinar");
    a.click(&tid("add-activity"));
    a.wait_count(&tid("raci-row"), 1);
    a.wait_text(&tid("raci-warning"), "nobody is accountable");
    a.wait_text(&tid("raci-warning"), "nobody is responsible");
    a.choose("[data-testid='raci-cell'][data-member='Alice Adams']", "A");
    a.wait("only the missing R to be flagged", |d| {
        let warning = d.text(&tid("raci-warning"));
        warning.contains("nobody is responsible") && !warning.contains("accountable")
    });

    b.wait_value("[data-testid='raci-cell'][data-member='Alice Adams']", "A");
    b.wait_text(&tid("raci-warning"), "nobody is responsible");
    b.choose("[data-testid='raci-cell'][data-member='Bob Brown']", "R");
    a.wait("the warning to go", |d| {
        d.all(&tid("raci-warning")).is_empty()
    });
    a.wait_value("[data-testid='raci-cell'][data-member='Bob Brown']", "R");
}

fn communication(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "communication");
    a.fill(&tid("new-comm-what"), "Status report");
    a.fill(&tid("new-comm-frequency"), "0");
    a.click(&tid("add-comm"));
    a.wait_text(
        &tid("comm-error"),
        "frequency (days) must be between 1 and 366",
    );
    assert!(a.all(&tid("comm-row")).is_empty());
    a.fill(&tid("new-comm-frequency"), "30");
    a.fill(&tid("new-comm-audience"), "Steering committee");
    a.fill(&tid("new-comm-medium"), "Email");
    a.click(&tid("add-comm"));
    a.wait_count(&tid("comm-row"), 1);
    a.wait("a next-due date", |d| {
        !d.text(&tid("comm-next-due")).is_empty()
    });
    let first_due = a.text(&tid("comm-next-due"));
    a.click(&tid("comm-sent"));
    a.wait("the next due date to move a month on", |d| {
        let due = d.text(&tid("comm-next-due"));
        !due.is_empty() && due != first_due
    });
    let due = a.text(&tid("comm-next-due"));

    b.wait_value(&tid("comm-audience"), "Steering committee");
    b.wait_text(&tid("comm-next-due"), &due);
    b.enter(&tid("comm-medium"), "Video call");
    a.wait_value(&tid("comm-medium"), "Video call");
    a.wait_value(&tid("comm-what"), "Status report");
}

fn milestones(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "milestones");
    a.click(&tid("add-milestone"));
    a.wait_text(&tid("milestone-error"), "title must not be empty");
    a.fill(&tid("new-milestone-title"), "Pilot agreement signed");
    a.click(&tid("add-milestone"));
    a.wait_count(&tid("milestone-row"), 1);
    a.click(&tid("milestone-achieve"));
    a.wait_text(&tid("milestone-achieved"), "achieved");
    a.enter(&tid("milestone-celebration"), "Team dinner in Oslo");

    b.wait_value(&tid("milestone-celebration"), "Team dinner in Oslo");
    b.wait_text(&tid("milestone-achieved"), "achieved");
    b.enter(&tid("milestone-title"), "Pilot agreement signed by both");
    a.wait_value(&tid("milestone-title"), "Pilot agreement signed by both");

    // Removing only marks it deleted: the partner restores it, edits intact.
    a.click(&tid("milestone-delete"));
    b.wait_count(&tid("milestone-row"), 0);
    b.click(&tid("removed-summary"));
    b.wait_text(&tid("removed-item"), "Pilot agreement signed by both");
    b.click(&tid("restore-item"));
    a.wait_count(&tid("milestone-row"), 1);
    a.wait_value(&tid("milestone-celebration"), "Team dinner in Oslo");
}

fn overview(a: &Device, b: &Device, base: &str) {
    a.click(&tid("tab-overview"));
    b.goto(base);
    a.enter(&tid("review-cadence"), "0");
    a.wait_text(&tid("review-error"), "between 1 and 366");
    a.enter(&tid("review-cadence"), "30");
    a.click(&tid("record-check-in"));
    a.wait("a next check-in", |d| {
        !d.text(&tid("next-check-in")).is_empty()
    });
    let next = a.text(&tid("next-check-in"));
    a.enter("[data-testid='party-strengths']", "Product and engineering");
    b.wait_value(&tid("review-cadence"), "30");
    b.wait_text(&tid("next-check-in"), &next);
    b.wait_value("[data-testid='party-strengths']", "Product and engineering");
}

#[test]
fn plan_pages_create_edit_and_reach_the_partner() {
    let Some(Setup {
        dist,
        chromium,
        chromedriver,
    }) = setup("plan pages end-to-end test")
    else {
        return;
    };
    let relay = Relay::start_with_web(&dist);
    let driver = Driver::start(&chromedriver);
    let a = Device::open(&driver, &chromium, "acme");
    let b = Device::open(&driver, &chromium, "globex");
    let base = partnership(&relay, &a, &b);
    vetting(&a, &b, &base);
    objectives(&a, &b, &base);
    roles(&a, &b, &base);
    communication(&a, &b, &base);
    milestones(&a, &b, &base);
    overview(&a, &b, &base);
    for device in [&a, &b] {
        device.wait_text(&tid("sync-status"), "saved on relay");
    }
}
