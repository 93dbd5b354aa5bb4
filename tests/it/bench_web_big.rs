//! The big-partnership benchmark (issue 18, item 5; run by
//! `cargo xtask bench-web`, or this ignored test with `--ignored
//! --nocapture`): a partnership with a year of typing in it — 10,000
//! changes written through the relay by the native client, each a few
//! characters typed into one of the agreement's clauses — is opened by
//! Chromium (unthrottled) so it lands in IndexedDB, and the test prints:
//!
//! - *start to interactive*: a reload with the document in IndexedDB until
//!   the agreement page shows the clause text, and until the home screen is
//!   usable;
//! - *keystroke to screen*: from a key's `keydown` to the clause body in the
//!   DOM showing its character, median and p95 over [`KEYSTROKES`] keys;
//! - *remote change to render*: from the native client's change (wall clock)
//!   to the browser's DOM showing it;
//! - *IndexedDB compaction*: the `accord:compact` User Timing measures the
//!   app records around each compaction's transaction, and the
//!   `accord:snapshot` ones around saving the document in memory for it;
//! - *keystroke to screen on the risks page*: [`RISKS`] risks (added with
//!   the year of typing), keys typed into the first one's mitigation; from
//!   each key's `keydown` to the first animation frame after its `input`
//!   event (the frame that paints it, once the app has written the change
//!   and re-rendered what it touched).
//!
//! It asserts nothing about the times: it prints Markdown rows for
//! `docs/benchmarks.md`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use accord_server::client::Client;
use accord_shared::automerge::{ActorId, Automerge, ReadDoc, transaction::Transactable};
use accord_shared::ids::DocumentId;
use accord_shared::model::risks::{self, NewRisk};
use accord_shared::model::{ItemId, agreement};
use serde_json::{Value, json};

use crate::device::{Browser, Device, TO_END, tid};

/// Changes in the big partnership (besides the browser's own few).
const CHANGES: usize = 10_000;
/// Changes typed into one clause before moving to the next (an editing session).
const SESSION: usize = 250;
/// Keys typed for the keystroke figure: more than the app's writes between
/// two compactions (`saving::COMPACT_EVERY`, 64), so one comes due while
/// the keys are typed (and must wait until they stop).
const KEYSTROKES: usize = 100;
/// Risks in the big partnership, for the keystroke figure of a page other
/// than the agreement.
const RISKS: usize = 200;
/// Remote changes for the remote-render figure.
const REMOTE: usize = 20;
/// Reloads for the start-to-interactive figures; the median is shown.
const RELOADS: usize = 3;
/// The word the last generated change types, so a load can tell the whole
/// document is on screen.
const LAST_WORD: &str = "yearend";
/// How long to wait for any one thing in this benchmark.
const PATIENCE: Duration = Duration::from_secs(60);

/// Short words, typed one change each with the occasional correction.
const WORDS: [&str; 12] = [
    "the ",
    "parties ",
    "agree ",
    "to ",
    "review ",
    "quarterly ",
    "and ",
    "share ",
    "data ",
    "within ",
    "ten ",
    "days ",
];

/// Recorded in every new document: when the agreement's last clause text
/// appeared and the home screen's "New partnership" was first enabled, i.e.
/// the list shown (ms since navigation start).
const OBSERVER: &str = r#"
window.__accordBig = {};
new MutationObserver(() => {
  const seen = window.__accordBig;
  if (!("home" in seen) && document.querySelector("[data-testid='new-partnership']:not([disabled])")) {
    seen.home = performance.now();
  }
  if (!("agreement" in seen)) {
    for (const body of document.querySelectorAll("[data-testid='clause-body']")) {
      if (body.textContent.includes("LAST_WORD")) { seen.agreement = performance.now(); break; }
    }
  }
}).observe(document, { childList: true, subtree: true, characterData: true,
                       attributeFilter: ["disabled"] });
"#;

/// Installed before the keystrokes: for each `keydown` on the clause body,
/// the time until the body's text first grows by one character.
const KEY_PROBE: &str = r#"
const body = document.querySelector(arguments[0]);
window.__accordKeys = [];
let pending = null;
body.addEventListener("keydown", (e) => {
  pending = { down: e.timeStamp, length: body.textContent.length };
}, true);
new MutationObserver(() => {
  if (pending && body.textContent.length > pending.length) {
    window.__accordKeys.push(performance.now() - pending.down);
    pending = null;
  }
}).observe(body, { childList: true, subtree: true, characterData: true });
return true;
"#;

/// Installed before the remote changes: the wall-clock time at which each
/// marker first shows in the second clause.
const REMOTE_PROBE: &str = r#"
const body = document.querySelectorAll("[data-testid='clause-body']")[1];
window.__accordRemote = {};
new MutationObserver(() => {
  const text = body.textContent;
  for (const marker of text.match(/remote\d+/g) || []) {
    if (!(marker in window.__accordRemote)) {
      window.__accordRemote[marker] = performance.timeOrigin + performance.now();
    }
  }
}).observe(body, { childList: true, subtree: true, characterData: true });
return true;
"#;

/// Installed before the keys typed into a risk's mitigation (a text area,
/// which shows a key by itself): for each `keydown`, the time until the
/// first animation frame after its `input` event, which runs once the
/// event's handlers and the work they queued are done.
const FRAME_PROBE: &str = r#"
const area = document.querySelector(arguments[0]);
window.__accordFrames = [];
let down = null;
area.addEventListener("keydown", (e) => { down = e.timeStamp; }, true);
area.addEventListener("input", () => {
  const from = down;
  down = null;
  if (from !== null) {
    requestAnimationFrame(() => window.__accordFrames.push(performance.now() - from));
  }
}, true);
return true;
"#;

/// The device's relay token, from its identity record in IndexedDB.
fn browser_token(device: &Device) -> String {
    let script = "const done = arguments[arguments.length - 1];
        const open = indexedDB.open('accord');
        open.onerror = () => done(null);
        open.onsuccess = () => {
          const get = open.result.transaction('meta').objectStore('meta').get('identity');
          get.onsuccess = () => {
            open.result.close();
            const record = get.result;
            const text = typeof record === 'string' ? record : record.details;
            done(JSON.parse(text).registration.token);
          };
        };";
    let token = device.script_async(script, &json!([]));
    token.as_str().expect("a registered device").to_owned()
}

/// The browser's document plus [`CHANGES`] changes typed into the standard
/// outline's clauses, by an actor of its own.
fn year_of_typing(mut doc: Automerge) -> Automerge {
    doc.set_actor(ActorId::random());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    doc.transact(|tx| agreement::standard_outline(tx, now))
        .expect("the standard outline");
    // A register of risks, one change each, with a few lines of prose.
    let prose: String = (0..30).map(|n| WORDS[(n * 5) % WORDS.len()]).collect();
    for n in 0..RISKS {
        let mut bytes = [7u8; 16];
        bytes[..8].copy_from_slice(&(n as u64).to_le_bytes());
        let new = NewRisk {
            title: format!("Risk {n}: {}", WORDS[n % WORDS.len()].trim()),
            likelihood: 1 + (n % 5) as u8,
            impact: 1 + (n / 5 % 5) as u8,
            owner: None,
            mitigation: prose.clone(),
            contingency: prose.clone(),
        };
        doc.transact(|tx| risks::add(tx, ItemId::from_bytes(bytes), &new, now))
            .expect("a risk");
    }
    let clauses = agreement::clauses(&doc);
    for n in 0..CHANGES {
        let clause = clauses[(n / SESSION) % clauses.len()].id;
        let text = agreement::clause_body_text(&doc, clause).expect("a clause body");
        doc.transact(|tx| {
            let length = tx.length(&text);
            if n == CHANGES - 1 {
                tx.splice_text(&text, length, 0, LAST_WORD)
            } else if n % 9 == 8 && length > 3 {
                // A correction: the last two characters deleted.
                tx.splice_text(&text, length - 2, 2, "")
            } else {
                // Words in a varied order (a fixed pseudo-random walk), so
                // the text compresses no better than prose would.
                let word = WORDS[(n * 7 + n / 13 + n * n / 31) % WORDS.len()];
                tx.splice_text(&text, length, 0, word)
            }
        })
        .expect("a typed change");
    }
    doc
}

fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// The `p`-th percentile (nearest rank) of `values`.
fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .map(|all| all.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// The `accord:compact` measures recorded in the current document.
fn compactions(device: &Device) -> Vec<f64> {
    measures(device, "accord:compact")
}

/// The durations of the User Timing measures `name` in the current document.
fn measures(device: &Device, name: &str) -> Vec<f64> {
    measured(device, name, "duration")
}

/// One field (`duration`, `startTime`) of each User Timing measure `name`
/// in the current document.
fn measured(device: &Device, name: &str, field: &str) -> Vec<f64> {
    numbers(&device.script(
        "return performance.getEntriesByName(arguments[0]).map((e) => e[arguments[1]]);",
        &json!([name, field]),
    ))
}

/// The page's `performance.now()`.
fn page_now(device: &Device) -> f64 {
    device
        .script("return performance.now();", &json!([]))
        .as_f64()
        .unwrap_or_default()
}

#[test]
#[ignore = "a benchmark: run with `cargo xtask bench-web`"]
fn bench_web_big_partnership() {
    let started = Instant::now();
    let Some((relay, browser)) = Browser::start("big partnership benchmark") else {
        return;
    };
    let [device] = browser.open(["big"]);
    let origin = relay.http_url();
    let base = crate::device::solo_partnership(&relay, &device);
    let id: DocumentId = base.rsplit('/').next().unwrap().parse().expect("an id");
    let url = relay.ws_url(&browser_token(&device));
    // The agreement page stays open while the year of typing arrives.
    device.goto(&format!("{base}/agreement"));
    device.element(&tid("page-agreement"));

    // A year of typing, built on a copy of the browser's document and handed
    // to the relay in one sync by a second connection of the same device.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let writer = runtime.block_on(async {
        let reader = Client::connect(&url).await.expect("connect");
        reader.find(id, PATIENCE).await.expect("the partnership");
        let doc = reader.read(id, Automerge::clone).expect("its document");
        reader.disconnect();
        let generated = Instant::now();
        let doc = year_of_typing(doc);
        let changes = doc.get_changes(&[]).len();
        let bytes = doc.save().len();
        eprintln!(
            "generated {changes} changes ({bytes} bytes saved) in {:.1} s",
            generated.elapsed().as_secs_f64()
        );
        let writer = Client::connect(&url).await.expect("connect");
        let sent = Instant::now();
        writer.insert(id, doc);
        writer
            .wait_synced(id, PATIENCE)
            .await
            .expect("relay stores it");
        (writer, sent)
    });
    let (writer, received) = writer;

    // The open page receives it, shows it and stores it in IndexedDB.
    device.wait_within(PATIENCE, "the year of typing on screen", |d| {
        d.texts(&tid("clause-body"))
            .iter()
            .any(|t| t.contains(LAST_WORD))
    });
    let arrival_ms = received.elapsed().as_secs_f64() * 1000.0;
    device.wait_within(PATIENCE, "the document saved", |d| d.status() == "Saved");
    let arrival_compactions = compactions(&device);

    // Start to interactive, from IndexedDB.
    device.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        &json!({ "source": OBSERVER.replace("LAST_WORD", LAST_WORD) }),
    );
    let mut agreement_loads = Vec::new();
    let mut home_loads = Vec::new();
    for run in 0..RELOADS {
        for (fragment, key, loads) in [
            (
                format!("#/p/{id}/agreement"),
                "agreement",
                &mut agreement_loads,
            ),
            ("#/".to_owned(), "home", &mut home_loads),
        ] {
            device.goto(&format!("{origin}/?big={run}{fragment}"));
            let script = format!("return window.__accordBig['{key}'] ?? null;");
            device.wait_within(PATIENCE, key, |d| !d.script(&script, &json!([])).is_null());
            loads.push(device.script(&script, &json!([])).as_f64().unwrap());
        }
    }

    // Keystroke to screen, at the end of the first clause.
    device.goto(&format!("{origin}/?big=keys#/p/{id}/agreement"));
    let body = format!("{} {}", tid("clause"), tid("clause-body"));
    device.wait_within(PATIENCE, "the agreement", |d| {
        d.texts(&tid("clause-body"))
            .iter()
            .any(|t| t.contains(LAST_WORD))
    });
    device.wait_within(PATIENCE, "the document saved", |d| d.status() == "Saved");
    device.keys(&body, TO_END);
    device.script(KEY_PROBE, &json!([body]));
    // ACCORD_PROFILE=FILE: a CPU profile (Chrome DevTools format) of the
    // keystrokes, for finding where a keystroke's time goes.
    let profile = std::env::var("ACCORD_PROFILE").ok();
    if profile.is_some() {
        device.cdp("Profiler.enable", &json!({}));
        device.cdp("Profiler.setSamplingInterval", &json!({ "interval": 200 }));
        device.cdp("Profiler.start", &json!({}));
    }
    let typing_from = page_now(&device);
    for n in 0..KEYSTROKES {
        let key = char::from(b'a' + (n % 26) as u8).to_string();
        device.type_keys(&key);
        device.wait_within(PATIENCE, "the key on screen", |d| {
            numbers(&d.script("return window.__accordKeys;", &json!([]))).len() > n
        });
    }
    let typing_until = page_now(&device);
    let keys = numbers(&device.script("return window.__accordKeys;", &json!([])));
    // Compactions (and their snapshots) that began while the keys were typed.
    let while_typing = ["accord:compact", "accord:snapshot"]
        .iter()
        .flat_map(|name| measured(&device, name, "startTime"))
        .filter(|start| (typing_from..=typing_until).contains(start))
        .count();
    if let Some(path) = profile {
        let taken = device.cdp("Profiler.stop", &json!({}));
        std::fs::write(&path, taken["profile"].to_string()).expect("write the profile");
        eprintln!("CPU profile written to {path}");
    }

    // Remote change to render, into the second clause.
    device.script(REMOTE_PROBE, &json!([]));
    let clauses = writer.read(id, agreement::clauses).expect("the document");
    let second = clauses[1].id;
    let mut remote = Vec::new();
    for n in 0..REMOTE {
        let marker = format!("remote{n}");
        let sent = wall_ms();
        writer
            .change(id, |tx| {
                let text = agreement::clause_body_text(tx, second).expect("a clause body");
                let length = tx.length(&text);
                tx.splice_text(&text, length, 0, &format!(" {marker}"))
            })
            .expect("a remote change");
        let script = format!("return window.__accordRemote['{marker}'] ?? null;");
        device.wait_within(PATIENCE, &marker, |d| {
            !d.script(&script, &json!([])).is_null()
        });
        remote.push(device.script(&script, &json!([])).as_f64().unwrap() - sent);
    }

    // Compaction: the typing and remote changes make it due; it runs when quiet.
    let quiet = Instant::now();
    while compactions(&device).is_empty() && quiet.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let later_compactions = compactions(&device);
    // Saving the document in memory for a compaction, before its write
    // transaction (`storage::SNAPSHOT_MEASURE`).
    let snapshots = measures(&device, "accord:snapshot");
    let chunks = device.cmd(
        "POST",
        "/execute/async",
        Some(
            &json!({ "script": "const done = arguments[arguments.length - 1];
            const open = indexedDB.open('accord');
            open.onsuccess = () => {
              const all = open.result.transaction('chunks').objectStore('chunks').getAll();
              all.onsuccess = () => { open.result.close();
                done([all.result.length, all.result.reduce((s, c) => s + c.byteLength, 0)]); };
            };", "args": [] }),
        ),
    );

    // Keystroke to screen on the risks page, in the first risk's mitigation.
    device.goto(&format!("{origin}/?big=risks#/p/{id}/risks"));
    let count = format!(
        "return document.querySelectorAll(\"{}\").length;",
        tid("risk-row")
    );
    device.wait_within(PATIENCE, "the risks", |d| {
        d.script(&count, &json!([])).as_u64() == Some(RISKS as u64)
    });
    device.wait_within(PATIENCE, "the document saved", |d| d.status() == "Saved");
    let mitigation = tid("risk-mitigation");
    device.keys(&mitigation, TO_END);
    device.script(FRAME_PROBE, &json!([mitigation]));
    for n in 0..KEYSTROKES {
        let key = char::from(b'a' + (n % 26) as u8).to_string();
        device.type_keys(&key);
        device.wait_within(PATIENCE, "the key's frame", |d| {
            numbers(&d.script("return window.__accordFrames;", &json!([]))).len() > n
        });
    }
    let risk_keys = numbers(&device.script("return window.__accordFrames;", &json!([])));

    let ms = |v: f64| format!("{v:.1}");
    let list = |v: &[f64]| v.iter().map(|x| ms(*x)).collect::<Vec<_>>().join(", ");
    println!("| figure | value |");
    println!("|---|---:|");
    println!(
        "| 10,000 changes from the native client, through the relay, to the open agreement page's screen | {arrival_ms:.0} ms |"
    );
    println!(
        "| start to interactive: agreement page from IndexedDB (median of {RELOADS}) | {:.0} ms |",
        percentile(agreement_loads.clone(), 50.0)
    );
    println!(
        "| start to interactive: home screen usable (median of {RELOADS}) | {:.0} ms |",
        percentile(home_loads.clone(), 50.0)
    );
    // Median / p95 / max of some times, and how many.
    let spread = |v: &[f64]| {
        let at = |p: f64| ms(percentile(v.to_vec(), p));
        format!(
            "of {} | {} / {} / {}",
            v.len(),
            at(50.0),
            at(95.0),
            at(100.0)
        )
    };
    println!(
        "| keystroke to screen, median / p95 / max {} ms |",
        spread(&keys)
    );
    println!(
        "| keystroke to screen on the risks page ({RISKS} risks), median / p95 / max {} ms |",
        spread(&risk_keys)
    );
    println!(
        "| remote change to render, median / p95 of {REMOTE} | {} / {} ms |",
        ms(percentile(remote.clone(), 50.0)),
        ms(percentile(remote.clone(), 95.0))
    );
    println!(
        "| IndexedDB compactions: after the arrival [{}], after typing [{}] | ms |",
        list(&arrival_compactions),
        list(&later_compactions)
    );
    println!(
        "| compaction's snapshot of the document in memory [{}] | ms |",
        list(&snapshots)
    );
    println!(
        "| compaction steps that began while the {} keys were typed ({:.1} s) | {while_typing} |",
        keys.len(),
        (typing_until - typing_from) / 1000.0
    );
    println!("| IndexedDB chunks / bytes at the end | {chunks} |");
    eprintln!(
        "loads: agreement {agreement_loads:?} home {home_loads:?}; keys {keys:?}; risk keys {risk_keys:?}; remote {remote:?}; took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    runtime.block_on(async { writer.disconnect() });
}
