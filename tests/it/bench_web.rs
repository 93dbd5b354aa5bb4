//! The web client's load benchmark (`cargo xtask bench-web`, or this
//! ignored test with `--ignored --nocapture`): Chromium loads the built app
//! from a local relay, unthrottled and on a Fast-3G-like link (150 ms
//! round trip, 1.6 Mbit/s down, 750 kbit/s up) with the CPU slowed 4×, and
//! reports first paint, the time until a screen is usable and the bytes
//! the page fetched over the network. It asserts nothing about the times:
//! it prints a Markdown table for `docs/benchmarks.md`.
//!
//! - *cold*: no HTTP cache, no service worker, no Cache Storage (a first
//!   visit; the partnership is already in IndexedDB for the deep link);
//! - *warm*: the next start, with the worker installed;
//! - *home*: until the home screen's "New partnership" button exists,
//!   (column "list") until the stored partnership's link is listed (from
//!   the titles stored in IndexedDB, before the sync client is in), and
//!   (column "client") until the sync client, a chunk fetched after the
//!   list, is running; the bytes are those fetched before the list showed
//!   and those fetched by the time the client runs;
//! - *deep link*: `#/p/<id>/meetings` until its form exists (its code is a
//!   chunk of its own);
//! - *invite*: a person who never used Accord opens an invite link (a new
//!   one each load), until the form asking who they are takes a name.

use serde_json::{Value, json};

use crate::device::{Browser, Device, tid};

/// Loads per scenario; the table shows the median.
const RUNS: usize = 3;

/// What the page records, from the start of each document: when each
/// awaited element first appeared (ms since navigation start).
const OBSERVER: &str = r#"
window.__accordSeen = {};
window.__accordBytes = {};
const __accordWatch = ["[data-testid='new-partnership']", "[data-testid='new-meeting-title']",
                       "[data-testid='partnership-link']", "[data-client='running']",
                       "[data-testid='join-name']"];
const __accordFetched = () => {
  const nav = performance.getEntriesByType("navigation")[0];
  return performance.getEntriesByType("resource")
    .reduce((sum, e) => sum + e.transferSize, nav ? nav.transferSize : 0);
};
new MutationObserver(() => {
  for (const css of __accordWatch) {
    if (!(css in window.__accordSeen) && document.querySelector(css)) {
      window.__accordSeen[css] = performance.now();
      window.__accordBytes[css] = __accordFetched();
    }
  }
}).observe(document, { childList: true, subtree: true, attributeFilter: ["data-client"] });
"#;

/// One load's figures.
#[derive(Debug, Clone, Copy)]
struct Load {
    first_paint_ms: f64,
    usable_ms: f64,
    /// When the home list showed the stored partnership (NaN on a deep link).
    listed_ms: f64,
    /// When the sync client was running (NaN on a deep link).
    client_ms: f64,
    /// Bytes fetched when the list showed (0 on a deep link).
    transferred_listed: u64,
    /// Bytes fetched once the awaited screen (and on home, the client) was there.
    transferred: u64,
}

/// A network and CPU profile.
struct Throttle {
    name: &'static str,
    latency_ms: u64,
    down_bytes_per_s: i64,
    up_bytes_per_s: i64,
    cpu_rate: u64,
}

const THROTTLES: [Throttle; 2] = [
    Throttle {
        name: "unthrottled",
        latency_ms: 0,
        down_bytes_per_s: -1,
        up_bytes_per_s: -1,
        cpu_rate: 1,
    },
    Throttle {
        name: "Fast 3G + 4× CPU",
        latency_ms: 150,
        down_bytes_per_s: 1_600_000 / 8,
        up_bytes_per_s: 750_000 / 8,
        cpu_rate: 4,
    },
];

fn throttle(device: &Device, throttle: &Throttle) {
    device.cdp("Network.enable", &json!({}));
    device.cdp(
        "Network.emulateNetworkConditions",
        &json!({ "offline": false, "latency": throttle.latency_ms,
                 "downloadThroughput": throttle.down_bytes_per_s,
                 "uploadThroughput": throttle.up_bytes_per_s }),
    );
    device.cdp(
        "Emulation.setCPUThrottlingRate",
        &json!({ "rate": throttle.cpu_rate }),
    );
}

/// Forgets the app's code: HTTP cache, service worker, Cache Storage.
pub(crate) fn forget_code(device: &Device, origin: &str) {
    device.script(
        "return Promise.all([
           navigator.serviceWorker.getRegistrations()
             .then((all) => Promise.all(all.map((r) => r.unregister()))),
           caches.keys().then((keys) => Promise.all(keys.map((k) => caches.delete(k)))),
         ]).then(() => true);",
        &json!([]),
    );
    device.cdp("Network.clearBrowserCache", &json!({}));
    device.cdp(
        "Storage.clearDataForOrigin",
        &json!({ "origin": origin, "storageTypes": "service_workers,cache_storage" }),
    );
}

/// Opens `url` as a new document and waits for `css` (and for `listed`
/// and the running client, when given).
fn load(device: &Device, url: &str, css: &str, listed: Option<&str>) -> Load {
    const RUNNING: &str = "[data-client='running']";
    device.goto(url);
    device.element(css);
    if let Some(listed) = listed {
        device.element(listed);
        device.element(RUNNING);
    }
    // The figures after the last resource fetched so far has finished.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let figures = device.script(
        "const paint = performance.getEntriesByName('first-contentful-paint')[0];
         const nav = performance.getEntriesByType('navigation')[0];
         const bytes = performance.getEntriesByType('resource')
           .reduce((sum, e) => sum + e.transferSize, nav ? nav.transferSize : 0);
         const listed = arguments[1];
         return { paint: paint ? paint.startTime : null, usable: window.__accordSeen[arguments[0]],
                  listed: listed ? window.__accordSeen[listed] : null,
                  client: listed ? window.__accordSeen[arguments[2]] : null,
                  listedBytes: listed ? window.__accordBytes[listed] : 0, bytes,
                  repeated: performance.getEntriesByType('resource').map((e) => e.name)
                    .filter((name, i, all) => name.endsWith('.wasm') && all.indexOf(name) !== i) };",
        &json!([css, listed, RUNNING]),
    );
    // A deep link's `<link rel="preload">`s must be what the split loader's
    // fetches take, not a second download of the same module.
    assert_eq!(
        figures["repeated"],
        json!([]),
        "{url}: wasm modules the page fetched twice"
    );
    let number = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    Load {
        first_paint_ms: number(&figures["paint"]),
        usable_ms: number(&figures["usable"]),
        listed_ms: number(&figures["listed"]),
        client_ms: number(&figures["client"]),
        transferred_listed: figures["listedBytes"].as_u64().unwrap_or(0),
        transferred: figures["bytes"].as_u64().unwrap_or(0),
    }
}

fn wait_for_worker(device: &Device) {
    device.wait("a service worker to control the page", |d| {
        d.script("return !!navigator.serviceWorker.controller;", &json!([])) == true
    });
}

/// One row of the printed table: medians of `loads`, the middle load's
/// bytes; `listed` says whether the list and client columns apply.
fn table_row(profile: &Throttle, cold: bool, page: &str, loads: &[Load], listed: bool) -> String {
    let optional = |ms: f64| {
        if ms.is_nan() {
            "—".to_owned()
        } else {
            format!("{ms:.0}")
        }
    };
    let middle = loads[loads.len() / 2];
    format!(
        "| {} | {} {page} | {:.0} | {:.0} | {} | {} | {} | {} |",
        profile.name,
        if cold { "cold" } else { "warm" },
        median(loads.iter().map(|l| l.first_paint_ms).collect()),
        median(loads.iter().map(|l| l.usable_ms).collect()),
        optional(median(loads.iter().map(|l| l.listed_ms).collect())),
        optional(median(loads.iter().map(|l| l.client_ms).collect())),
        if listed {
            middle.transferred_listed.to_string()
        } else {
            "—".to_owned()
        },
        middle.transferred,
    )
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[test]
#[ignore = "a benchmark: run with `cargo xtask bench-web`"]
fn bench_web_load() {
    let Some((relay, browser)) = Browser::start("web load benchmark") else {
        return;
    };
    let [device, newcomer] = browser.open(["bench", "newcomer"]);
    let origin = relay.http_url();
    let base = crate::device::solo_partnership(&relay, &device);
    let id = base.rsplit('/').next().unwrap().to_owned();
    // The newcomer's browser has been to the relay's origin once (so its
    // code can be forgotten before each cold load) and has no profile.
    newcomer.open_home(&relay);
    for d in [&device, &newcomer] {
        d.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            &json!({ "source": OBSERVER }),
        );
    }

    let mut rows = Vec::new();
    let mut run = 0;
    for profile in &THROTTLES {
        throttle(&device, profile);
        throttle(&newcomer, profile);
        let listed = tid("partnership-link");
        for (page, fragment, css, list) in [
            (
                "home",
                "#/".to_owned(),
                tid("new-partnership"),
                Some(&listed),
            ),
            (
                "deep link",
                format!("#/p/{id}/meetings"),
                tid("new-meeting-title"),
                None,
            ),
        ] {
            for cold in [true, false] {
                let mut loads = Vec::new();
                for _ in 0..RUNS {
                    run += 1;
                    if cold {
                        forget_code(&device, &origin);
                    } else {
                        wait_for_worker(&device);
                    }
                    // A query makes each load a new document.
                    let url = format!("{origin}/?run={run}{fragment}");
                    loads.push(load(&device, &url, &css, list.map(String::as_str)));
                }
                rows.push(table_row(profile, cold, page, &loads, list.is_some()));
                // The next warm load needs the worker this load installs.
                if cold {
                    wait_for_worker(&device);
                }
            }
        }
        for cold in [true, false] {
            let mut loads = Vec::new();
            for _ in 0..RUNS {
                run += 1;
                // A new document each time: a fresh invite form.
                device.goto(&base.replacen("/#/", &format!("/?invite={run}#/"), 1));
                let link = device.invite_link("Globex", None);
                if cold {
                    forget_code(&newcomer, &origin);
                } else {
                    wait_for_worker(&newcomer);
                }
                let url = link.replacen("/#/", &format!("/?run={run}#/"), 1);
                loads.push(load(&newcomer, &url, &tid("join-name"), None));
                if cold {
                    wait_for_worker(&newcomer);
                }
            }
            rows.push(table_row(profile, cold, "invite", &loads, false));
        }
    }
    println!(
        "| profile | load | first paint (ms) | usable (ms) | list (ms) | client (ms) | bytes by the list | bytes fetched |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!("{row}");
    }
}
