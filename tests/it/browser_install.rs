//! The shipped web app in Chromium: the static first paint before the
//! WebAssembly arrives and a clear message when it cannot load, a new
//! build's service worker waiting for the person to reload, and the
//! manifest and worker that make the app installable.

use std::path::Path;

use serde_json::{Value, json};

use crate::device::{Browser, Device, tid};
use crate::helpers::{Relay, TempDir, get};

/// Copies `from` into `to` (a relay can then serve a build that the test
/// changes, as a deploy would).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Waits until a service worker controls the page.
fn wait_for_worker(device: &Device) {
    device.wait("a service worker to control the page", |d| {
        d.script("return !!navigator.serviceWorker.controller;", &json!([])) == true
    });
}

#[test]
fn the_shell_paints_before_the_wasm_and_a_failed_load_says_so() {
    let Some((relay, browser)) = Browser::start("first paint") else {
        return;
    };
    let home = format!("{}/", relay.http_url());

    // On a slow link (Fast-3G-like), the page paints its shell long before
    // the WebAssembly module has arrived.
    let [slow] = browser.open(["slow"]);
    slow.cdp("Network.enable", &json!({}));
    slow.cdp(
        "Network.emulateNetworkConditions",
        &json!({ "offline": false, "latency": 150,
                 "downloadThroughput": 200_000, "uploadThroughput": 90_000 }),
    );
    slow.goto(&home);
    slow.wait_text(&tid("sync-status"), "Saved");
    let timing = slow.script(
        "const paint = performance.getEntriesByName('first-contentful-paint')[0];
         const wasm = performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm'));
         return { paint: paint ? paint.startTime : null, wasm: wasm ? wasm.responseEnd : null };",
        &json!([]),
    );
    let paint = timing["paint"].as_f64().expect("a first contentful paint");
    let wasm = timing["wasm"].as_f64().expect("the wasm's resource timing");
    assert!(
        paint < wasm,
        "first paint at {paint} ms comes before the wasm arrives at {wasm} ms"
    );
    // Once the app mounts, the shell is gone and the app's header remains.
    assert!(slow.all(&tid("boot")).is_empty(), "the shell is replaced");
    assert_eq!(slow.texts("header.top .brand"), ["Accord"]);

    // The page as served: header, skeleton, loading line, wasm preloaded.
    let page = String::from_utf8(get(relay.addr, "/", &[]).body).unwrap();
    assert!(page.contains("Loading Accord…"), "{page}");
    assert!(page.contains(r#"class="boot-skeleton""#), "{page}");
    assert!(
        page.contains(r#"rel="preload" href="/pkg/accord_app_bg."#),
        "the wasm is preloaded: {page}"
    );

    // When the module cannot be fetched, the shell says so and offers a reload.
    let [blocked] = browser.open(["blocked"]);
    blocked.cdp("Network.enable", &json!({}));
    blocked.cdp("Network.setBlockedURLs", &json!({ "urls": ["*.wasm"] }));
    blocked.goto(&home);
    blocked.wait_text(&tid("boot-status"), "Accord could not load");
    assert_eq!(blocked.texts("#boot header .brand"), ["Accord"]);
    assert!(blocked.all(&tid("sync-status")).is_empty());
    blocked.cdp("Network.setBlockedURLs", &json!({ "urls": [] }));
    blocked.click(&tid("boot-reload"));
    blocked.wait_text(&tid("sync-status"), "Saved");
    assert!(blocked.all(&tid("boot")).is_empty());
}

#[test]
fn a_new_version_waits_for_the_person_to_reload_into_it() {
    let Some(browser) = Browser::launch("new version notice") else {
        return;
    };
    let deployed = TempDir::new("deployed-dist");
    copy_dir(&browser.dist, deployed.path());
    let relay = Relay::start_with_web(deployed.path());
    let [alice] = browser.open(["alice"]);
    let home = format!("{}/", relay.http_url());
    alice.goto(&home);
    alice.wait_text(&tid("sync-status"), "Saved");
    wait_for_worker(&alice);
    assert!(
        alice.all(&tid("update-ready")).is_empty(),
        "nothing new yet"
    );

    // A deploy: a new build's worker (its precompressed copies go with it).
    let worker = deployed.path().join("sw.js");
    let script = std::fs::read_to_string(&worker).unwrap();
    let (_, after) = script.split_once("const VERSION = \"").unwrap();
    let version = after.split('"').next().unwrap().to_owned();
    let next = format!("{version}-next");
    std::fs::write(&worker, script.replace(&version, &next)).unwrap();
    for variant in ["sw.js.br", "sw.js.gz"] {
        std::fs::remove_file(deployed.path().join(variant)).unwrap();
    }

    // The browser finds it in the background; the page keeps running the
    // old build and says a new one is ready.
    alice.script(
        "navigator.serviceWorker.getRegistration().then((r) => r.update());",
        &json!([]),
    );
    alice.wait_text(&tid("update-ready"), "A new version is ready");
    let caches = |d: &Device| -> Vec<String> {
        let keys: Value = d.script("return caches.keys();", &json!([]));
        keys.as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        caches(&alice).contains(&format!("accord-shell-{next}")),
        "the waiting worker installed its shell: {:?}",
        caches(&alice)
    );

    // Reload: the new worker takes over and the page comes back on it.
    alice.click(&tid("update-reload"));
    alice.wait("the new build to control the page", |d| {
        caches(d) == [format!("accord-shell-{next}")]
    });
    alice.wait_text(&tid("sync-status"), "Saved");
    assert!(alice.all(&tid("update-ready")).is_empty());
}

#[test]
fn the_app_has_a_manifest_and_worker_and_chromium_finds_it_installable() {
    let Some((relay, browser)) = Browser::start("installability") else {
        return;
    };

    let manifest = get(relay.addr, "/manifest.webmanifest", &[]);
    assert_eq!(manifest.status, 200);
    assert_eq!(
        manifest.header("content-type"),
        Some("application/manifest+json")
    );
    assert_eq!(manifest.header("cache-control"), Some("no-cache"));
    let fields: Value = serde_json::from_slice(&manifest.body).unwrap();
    assert_eq!(fields["name"], "Accord");
    assert_eq!(fields["display"], "standalone");
    assert_eq!(fields["start_url"], "/");
    let icons = fields["icons"].as_array().unwrap();
    let mut png_icons = Vec::new();
    for size in [192, 512] {
        let icon = icons
            .iter()
            .find(|i| i["sizes"] == format!("{size}x{size}") && i["type"] == "image/png")
            .unwrap_or_else(|| panic!("no {size}px PNG icon"));
        let src = icon["src"].as_str().unwrap().to_owned();
        png_icons.push((src.clone(), size));
        let served = get(relay.addr, &src, &[]);
        assert_eq!(served.status, 200, "{src}");
        assert!(served.body.starts_with(b"\x89PNG"), "{src}");
        assert!(
            served
                .header("cache-control")
                .unwrap()
                .contains("immutable"),
            "{src}"
        );
    }
    let style =
        std::fs::read_to_string(crate::helpers::workspace_root().join("app/style.css")).unwrap();
    for (field, token) in [("theme_color", "--accent"), ("background_color", "--bg")] {
        let colour = fields[field].as_str().unwrap();
        assert!(
            style.contains(&format!("{token}: {colour};")),
            "{field} {colour} is style.css's {token}"
        );
    }

    let [alice] = browser.open(["alice"]);
    alice.goto(&format!("{}/", relay.http_url()));
    alice.wait_text(&tid("sync-status"), "Saved");
    wait_for_worker(&alice);
    assert_eq!(
        alice.attr("meta[name='theme-color']", "content").as_deref(),
        fields["theme_color"].as_str()
    );
    let errors = alice.cdp("Page.getInstallabilityErrors", &json!({}));

    assert_eq!(
        errors["installabilityErrors"],
        json!([]),
        "Chromium's installability errors: {errors}"
    );
    let parsed = alice.cdp("Page.getAppManifest", &json!({}));
    assert_eq!(parsed["errors"], json!([]), "manifest errors: {parsed}");
    // The PNG icons decode to their stated sizes (Chromium also accepts the
    // SVG icon, so installability alone would not notice a broken PNG).
    for (src, size) in png_icons {
        let decoded = alice.script(
            "return fetch(arguments[0]).then((r) => r.blob()).then(createImageBitmap)
               .then((b) => [b.width, b.height]);",
            &json!([src]),
        );
        assert_eq!(decoded, json!([size, size]), "{src}");
    }
}

/// The page groups whose code is a chunk of its own, as (page, something
/// only that chunk draws).
const PAGE_GROUPS: [(&str, &str); 4] = [
    ("vetting", "new-criterion-name"),
    ("agreement", "agreement-export"),
    ("meetings", "new-meeting-title"),
    ("boards", "no-boards"),
];

/// The `.wasm` URLs the page itself fetched (the worker's own fetches are
/// not in the page's resource timing).
fn page_wasm_fetches(device: &Device) -> Vec<String> {
    page_wasm_initiators(device)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn page_groups_download_on_first_use_and_open_offline_after_the_first_visit() {
    let Some((relay, browser)) = Browser::start("page-group chunks offline") else {
        return;
    };
    let [alice] = browser.open(["alice"]);
    let home = format!("{}/", relay.http_url());

    // The home screen needs the main module; the sync client's chunk (and
    // what it shares with others) follows it, no page group's chunk.
    alice.goto(&home);
    alice.element(&tid("new-partnership"));
    let fetched = page_wasm_fetches(&alice);
    assert!(fetched[0].contains("/pkg/accord_app_bg."), "{fetched:?}");
    assert!(
        fetched
            .iter()
            .skip(1)
            .all(|url| url.contains("/pkg/split_client.") || url.contains("/pkg/chunk_")),
        "{fetched:?}"
    );
    let base = crate::device::solo_partnership(&relay, &alice);

    // Once the worker controls the page, it has kept every chunk.
    wait_for_worker(&alice);
    let cached = alice.script(
        "return caches.keys().then((keys) => caches.open(keys[0]))
           .then((cache) => cache.keys()).then((requests) => requests.map((r) => r.url));",
        &json!([]),
    );
    let cached: Vec<String> = serde_json::from_value(cached).unwrap();
    let mut chunks = Vec::new();
    for entry in std::fs::read_dir(browser.dist.join("pkg")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".wasm") && !name.starts_with("accord_app_bg.") {
            chunks.push(name);
        }
    }
    assert!(chunks.len() >= 6, "a chunk per page group: {chunks:?}");
    for chunk in &chunks {
        assert!(
            cached
                .iter()
                .any(|url| url.ends_with(&format!("/pkg/{chunk}"))),
            "{chunk} is not precached: {cached:?}"
        );
    }

    // Offline, in a fresh start of the app: every page group opens from
    // the worker's cache, none says it is unavailable.
    alice.set_offline(true);
    alice.reload();
    alice.element(&tid("sync-status"));
    alice.goto(&base);
    alice.wait_value(&tid("title-input"), "Untitled partnership");
    for (slug, inside) in PAGE_GROUPS {
        alice.goto(&format!("{base}/{slug}"));
        alice.element(&tid(&format!("page-{slug}")));
        alice.element(&tid(inside));
        assert!(alice.all(&tid("chunk-unavailable")).is_empty(), "{slug}");
    }
    alice.goto(&format!("{home}#/link"));
    alice.element(&tid("link-form"));
    alice.set_offline(false);

    // A browser whose chunks cannot be fetched (offline before it ever
    // opened the page, so nothing cached) says so and retries on request.
    let [bob] = browser.open(["bob"]);
    bob.cdp("Network.enable", &json!({}));
    bob.cdp("Network.setBypassServiceWorker", &json!({ "bypass": true }));
    let bob_base = crate::device::solo_partnership(&relay, &bob);
    let patterns: Vec<String> = chunks.iter().map(|c| format!("*/pkg/{c}")).collect();
    bob.cdp("Network.setBlockedURLs", &json!({ "urls": patterns }));
    bob.goto(&format!("{bob_base}/vetting"));
    bob.wait_text(
        &tid("chunk-unavailable"),
        "This page is not available offline yet.",
    );
    assert!(bob.all(&tid("new-criterion-name")).is_empty());
    // The app keeps running: the header and navigation still work.
    assert!(bob.all(&tid("sync-status")).len() == 1);
    bob.cdp("Network.setBlockedURLs", &json!({ "urls": [] }));
    bob.click(&tid("chunk-retry"));
    bob.element(&tid("new-criterion-name"));
    assert!(bob.all(&tid("chunk-unavailable")).is_empty());
}

/// Makes the page's fetches of the sync client's chunk wait until
/// `window.__accordReleaseClient()` is called, as on a link slow enough
/// that the chunk is still on its way; `window.__accordClientAsked` says
/// whether the page asked for it yet.
const HOLD_CLIENT_CHUNK: &str = r#"
window.__accordClientAsked = false;
const __accordHeld = [];
const __accordFetch = window.fetch.bind(window);
window.fetch = (input, init) => {
  const url = String(input instanceof Request ? input.url : input);
  if (!url.includes("/pkg/split_client.")) return __accordFetch(input, init);
  window.__accordClientAsked = true;
  return new Promise((go) => __accordHeld.push(go)).then(() => __accordFetch(input, init));
};
window.__accordReleaseClient = () => {
  window.fetch = __accordFetch;
  __accordHeld.splice(0).forEach((go) => go());
  return true;
};
"#;

/// Opens `url` as a new document whose sync client chunk is held back
/// (see [`HOLD_CLIENT_CHUNK`]) and waits until the page has asked for it.
fn open_with_client_held(device: &Device, url: &str) {
    device.goto(url);
    device.wait("the page to ask for the client's chunk", |d| {
        d.script("return window.__accordClientAsked === true;", &json!([])) == true
    });
}

fn release_client(device: &Device) {
    device.script("return window.__accordReleaseClient();", &json!([]));
}

#[test]
fn home_lists_stored_titles_before_the_client_chunk_and_clicks_wait_for_it() {
    let Some((relay, browser)) = Browser::start("the client's chunk after the home list") else {
        return;
    };
    let [alice] = browser.open(["alice"]);
    let base = crate::device::solo_partnership(&relay, &alice);
    alice.enter(&tid("title-input"), "Acme + Globex pilot");
    alice.wait_status("Saved");
    let first = base.rsplit('/').next().unwrap().to_owned();
    // Every later document of this browser holds the client's chunk back.
    alice.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        &json!({ "source": HOLD_CLIENT_CHUNK }),
    );
    // A query of its own makes each visit a new document.
    let home = |visit: u32| format!("{}/?visit={visit}#/", relay.http_url());

    // The list comes from the titles stored beside the documents: shown
    // while the client (Automerge, the engine) is still on its way.
    open_with_client_held(&alice, &home(1));
    alice.wait_text(&tid("partnership-link"), "Acme + Globex pilot");
    assert_eq!(
        alice.attr(".home", "data-client").as_deref(),
        Some("loading")
    );
    assert_eq!(alice.all(&tid("partnership-link")).len(), 1);

    // "New partnership" before the chunk is in: it waits, then creates one.
    alice.click(&tid("new-partnership"));
    alice.wait("the button to wait for the client", |d| {
        d.attr(&tid("new-partnership"), "aria-busy").as_deref() == Some("true")
    });
    assert!(alice.url().ends_with("#/"), "{}", alice.url());
    release_client(&alice);
    alice.wait_value(&tid("title-input"), "Untitled partnership");
    let created = alice.url();
    assert!(
        created.contains("#/p/") && !created.contains(&first),
        "{created}"
    );
    alice.wait_status("Saved");

    // Opening a stored partnership before the chunk is in: its page shows
    // once the chunk arrives, with the document's own title.
    open_with_client_held(&alice, &home(2));
    alice.wait_count(&tid("partnership-link"), 2);
    let links = alice.texts(&tid("partnership-link"));
    assert_eq!(links, ["Acme + Globex pilot", "Untitled partnership"]);
    alice.click(&format!(
        "{}:first-child {}",
        ".partnerships li",
        tid("partnership-link")
    ));
    alice.element(&tid("chunk-loading"));
    release_client(&alice);
    alice.wait_value(&tid("title-input"), "Acme + Globex pilot");
    assert!(alice.url().contains(&first), "{}", alice.url());
    alice.goto(&home(2));
    alice.wait_text(&tid("sync-status"), "Saved");
    assert_eq!(
        alice.attr(".home", "data-client").as_deref(),
        Some("running")
    );
}

#[test]
fn an_invite_asks_who_you_are_while_the_client_chunk_is_still_on_its_way() {
    let Some((relay, browser)) = Browser::start("joining before the client's chunk") else {
        return;
    };
    let [alice, bob, carol] = browser.open(["alice", "bob", "carol"]);
    let base = crate::device::solo_partnership(&relay, &alice);
    alice.goto(&base);
    let first = alice.invite_link("Globex", None);
    for newcomer in [&bob, &carol] {
        newcomer.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            &json!({ "source": HOLD_CLIENT_CHUNK }),
        );
    }

    // Bob's first visit is the invite: he is asked who he is from the join
    // page's own chunk, and can send the form before the client is in.
    open_with_client_held(&bob, &first);
    bob.wait_text(&tid("join-checking"), "Checking the invite…");
    bob.fill(&tid("join-name"), "Bob Brown");
    bob.fill(&tid("join-title"), "Alliances lead");
    crate::browser_identity::screenshots(&bob, "join-checking-invite", None);
    bob.click(&tid("join-submit"));
    bob.element(&tid("join-progress"));
    assert!(bob.url().contains("#/join/"), "{}", bob.url());
    // The client arrives, redeems the invite and joins with his name.
    release_client(&bob);
    bob.wait_value(&tid("title-input"), "Untitled partnership");
    alice.wait("Bob's name and organization on Alice's screen", |d| {
        let parties = d.text(&tid("party-list"));
        parties.contains("Bob Brown") && parties.contains("Globex")
    });
    bob.goto(&relay.home_url());
    bob.wait("Bob's profile to hold the invited organization", |d| {
        d.text(&tid("profile-summary"))
            .contains("Bob Brown · Globex")
    });

    // Carol types while the invite is being redeemed: the organization
    // appears beside the form without taking the field from under her.
    // A fresh page: the invite form is still open with the first link.
    alice.reload();
    let second = alice.invite_link("Globex", None);
    open_with_client_held(&carol, &second);
    carol.click(&tid("join-name"));
    carol.type_keys("Car");
    release_client(&carol);
    carol.wait_text(&tid("join-organization"), "Globex");
    carol.type_keys("ol Chen");
    assert_eq!(carol.value(&tid("join-name")), "Carol Chen");
    carol.click(&tid("join-submit"));
    carol.wait_value(&tid("title-input"), "Untitled partnership");
    alice.wait("Carol on Alice's screen", |d| {
        d.text(&tid("party-list")).contains("Carol Chen")
    });
}

/// The `.wasm` files the page fetched, each with what asked for it
/// (`link`: a `<link rel="preload">`; `fetch`: the split loader itself).
fn page_wasm_initiators(device: &Device) -> Vec<(String, String)> {
    let entries = device.script(
        "return performance.getEntriesByType('resource')
           .filter((e) => e.name.endsWith('.wasm')).map((e) => [e.name, e.initiatorType]);",
        &json!([]),
    );
    serde_json::from_value(entries).unwrap()
}

#[test]
fn a_first_visit_deep_link_asks_for_its_chunks_up_front_and_fetches_each_once() {
    let Some((relay, browser)) = Browser::start("a deep link's chunks up front") else {
        return;
    };
    let [alice] = browser.open(["alice"]);
    let base = crate::device::solo_partnership(&relay, &alice);
    let id = base.rsplit('/').next().unwrap().to_owned();
    let origin = relay.http_url();

    // A first visit of the app's code (no worker, nothing cached; the
    // document stays in IndexedDB) straight to a partnership's page: the
    // page asks for the client's chunk and the page group's before the
    // main module runs, and the split loader takes those responses rather
    // than downloading any module again.
    crate::bench_web::forget_code(&alice, &origin);
    alice.goto(&format!("{origin}/?visit=1#/p/{id}/meetings"));
    alice.element(&tid("new-meeting-title"));
    let fetched = page_wasm_initiators(&alice);
    let mut names: Vec<&str> = fetched.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), fetched.len(), "fetched twice: {fetched:?}");
    for chunk in ["/pkg/split_client.", "/pkg/split_operate_pages."] {
        assert!(
            fetched
                .iter()
                .any(|(name, by)| name.contains(chunk) && by == "link"),
            "{chunk} was not preloaded: {fetched:?}"
        );
    }
    assert!(
        fetched
            .iter()
            .all(|(name, _)| !name.contains("/pkg/split_plan_pages.")),
        "another page group's chunk: {fetched:?}"
    );

    // The home screen preloads nothing but the main module: the client
    // follows the list, asked for by the split loader.
    crate::bench_web::forget_code(&alice, &origin);
    alice.goto(&format!("{origin}/?visit=2#/"));
    alice.element(&tid("partnership-link"));
    alice.element("[data-client='running']");
    let fetched = page_wasm_initiators(&alice);
    assert!(
        fetched
            .iter()
            .any(|(name, _)| name.contains("/pkg/split_client.")),
        "{fetched:?}"
    );
    for (name, by) in &fetched {
        assert!(
            name.contains("/pkg/accord_app_bg.") || by != "link",
            "the home screen preloaded {name}"
        );
    }
}
