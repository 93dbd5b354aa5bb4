//! What a person sees, on every page at phone, tablet and laptop widths
//! (360, 768 and 1280 px): nothing scrolls sideways, no text is made of
//! emoji (which render as empty boxes without an emoji font), the
//! navigation lists every page, and axe-core finds no serious or critical
//! accessibility problem. The main pages are saved as screenshots in
//! `docs/screenshots/` (the README shows them).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::device::{Device, TwoOrganizations, tid};
use crate::helpers::workspace_root;

/// Widths every page is checked at.
const WIDTHS: [u32; 3] = [360, 768, 1280];

/// Every page of a partnership, by its slug ("" is the overview).
const PAGES: [&str; 14] = [
    "",
    "vetting",
    "objectives",
    "roles",
    "communication",
    "milestones",
    "agreement",
    "meetings",
    "governance",
    "conflicts",
    "risks",
    "health",
    "reviews",
    "boards",
];

/// Pages kept as screenshots, at every width.
const SHOWN: [&str; 3] = ["", "agreement", "boards"];

pub(crate) fn set_width(device: &Device, width: u32) {
    device.cmd(
        "POST",
        "/window/rect",
        Some(&json!({ "width": width, "height": 900 })),
    );
}

/// How far the page scrolls sideways, in CSS pixels (0 when it does not).
pub(crate) fn sideways_scroll(device: &Device) -> i64 {
    device
        .script(
            "const e = document.scrollingElement;
             return e.scrollWidth - e.clientWidth;",
            &json!([]),
        )
        .as_i64()
        .unwrap_or(0)
}

/// Text on the page made only of emoji (and their joiners).
fn emoji_only_text(device: &Device) -> Vec<String> {
    let found = device.script(
        "const out = [];
         const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
         const emoji = /^[\\s\\p{Extended_Pictographic}\\u{FE0F}\\u{200D}]+$/u;
         const any = /\\p{Extended_Pictographic}/u;
         for (let n = walker.nextNode(); n; n = walker.nextNode()) {
           const t = n.textContent;
           if (t.trim() && emoji.test(t) && any.test(t)) out.push(t);
         }
         return out;",
        &json!([]),
    );
    strings(&found)
}

/// The strings in a JSON array (none if `value` is not one).
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// axe-core's script, installed by `npm ci` in `tests/browser/js`.
pub(crate) fn axe_source() -> String {
    let path = workspace_root().join("tests/browser/js/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `npm ci` in tests/browser/js, as `cargo xtask test` does)",
            path.display()
        )
    })
}

/// Serious and critical axe-core violations on the page, one line each.
pub(crate) fn accessibility_violations(device: &Device, axe: &str) -> Vec<String> {
    let loaded = device.script(&format!("{axe}\nreturn typeof axe;"), &json!([]));
    assert_eq!(loaded, json!("object"), "axe-core loaded into the page");
    let script = "const done = arguments[arguments.length - 1];
        axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
          .then(r => done(r.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' +
                 v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))
          .catch(e => done(['axe failed: ' + e]));";
    let found: Value = device.script_async(script, &json!([]));
    strings(&found)
}

/// Saves the current viewport as `<dir>/<name>.png`.
fn screenshot_into(device: &Device, dir: &Path, name: &str) {
    let encoded = device.cmd("GET", "/screenshot", None);
    let png = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_str().expect("base64 PNG"))
        .expect("a PNG");
    std::fs::create_dir_all(dir).expect("the screenshot folder");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
}

/// Saves the current viewport as `docs/screenshots/<name>.png`.
pub(crate) fn screenshot(device: &Device, name: &str) {
    screenshot_into(device, &workspace_root().join("docs/screenshots"), name);
}

/// The address of plan page `page` (the overview when empty).
fn page_url(base: &str, page: &str) -> String {
    if page.is_empty() {
        base.to_owned()
    } else {
        format!("{base}/{page}")
    }
}

/// An element that is on page `page` once it has rendered.
fn page_marker(page: &str) -> String {
    if page.is_empty() {
        tid("title-input")
    } else {
        tid(&format!("page-{page}"))
    }
}

#[test]
fn every_page_fits_every_width_draws_its_icons_and_passes_axe() {
    let Some(orgs) = TwoOrganizations::start("browser look test") else {
        return;
    };
    let axe = axe_source();
    let a = &orgs.a;
    // Some content, so the pages look as they do in use.
    a.keys(&tid("purpose-input"), "A joint pilot in the Nordics.");
    a.click(&tid("tab-agreement"));
    a.click(&tid("agreement-outline"));
    a.click(&tid("tab-boards"));
    a.choose(&tid("new-board-template"), "retrospective");
    a.fill(&tid("new-board-title"), "Q4 retro");
    a.click(&tid("create-board"));
    a.wait_text(&tid("board-title"), "Q4 retro");
    orgs.finish();

    // `ACCORD_REVIEW_SCREENSHOTS=DIR` also photographs every other page
    // into DIR, for looking over the whole app (not kept in the repository).
    let review_dir = std::env::var_os("ACCORD_REVIEW_SCREENSHOTS").map(PathBuf::from);
    let mut problems = Vec::new();
    for width in WIDTHS {
        set_width(a, width);
        for page in PAGES {
            a.goto(&page_url(&orgs.base, page));
            a.element(&page_marker(page));
            let nav = a.all("[data-testid^='tab-']").len();
            if nav != PAGES.len() + 1 {
                problems.push(format!("{width}px {page:?}: {nav} navigation links"));
            }
            let overflow = sideways_scroll(a);
            if overflow > 0 {
                problems.push(format!(
                    "{width}px {page:?}: scrolls sideways by {overflow}px"
                ));
            }
            for text in emoji_only_text(a) {
                problems.push(format!("{width}px {page:?}: emoji-only text {text:?}"));
            }
            for violation in accessibility_violations(a, &axe) {
                problems.push(format!("{width}px {page:?}: {violation}"));
            }
            let name = if page.is_empty() { "overview" } else { page };
            if SHOWN.contains(&page) {
                screenshot(a, &format!("{name}-{width}"));
            } else if let Some(dir) = &review_dir {
                screenshot_into(a, dir, &format!("{name}-{width}"));
            }
        }
    }
    // Dark mode (the system's preference): every page again at 1280 px,
    // where axe's contrast rule catches a light background left under
    // light dark-mode text.
    set_width(a, 1280);
    a.cdp(
        "Emulation.setEmulatedMedia",
        &json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
    );
    for page in PAGES {
        a.goto(&page_url(&orgs.base, page));
        a.element(&page_marker(page));
        for violation in accessibility_violations(a, &axe) {
            problems.push(format!("dark {page:?}: {violation}"));
        }
        if SHOWN.contains(&page) {
            let name = if page.is_empty() { "overview" } else { page };
            screenshot(a, &format!("{name}-dark-1280"));
        }
    }
    a.cdp("Emulation.setEmulatedMedia", &json!({ "features": [] }));
    a.goto(&format!(
        "{}/",
        orgs.base.split("/#/").next().unwrap_or_default()
    ));
    a.element(&tid("partnership-list"));
    screenshot(a, "home-1280");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
