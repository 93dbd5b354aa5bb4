//! What a person types in the browser is kept: several tabs of one browser
//! (one offline) while compaction runs, the browser killed with `kill -9`
//! mid-typing, IndexedDB refusing writes, and a badge that says "Saved" only
//! about work the relay holds. Persistent Chromium profiles stand for a
//! device that is restarted.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::device::{Browser, Device, partnership, solo_partnership, tid};
use crate::helpers::measuring;

/// Typing at 100 keys a second: this many keys per 100 ms group.
const KEYS_PER_GROUP: usize = 10;
/// The most typing a crash may cost: 200 ms at 100 keys a second.
const MAY_LOSE: usize = 20;

fn purpose() -> String {
    tid("purpose-input")
}

/// How many chunks the device holds in IndexedDB, over all documents.
fn stored_chunks(device: &Device) -> u64 {
    let script = "const done = arguments[arguments.length - 1];
        const open = indexedDB.open('accord');
        open.onsuccess = () => {
            const count = open.result.transaction('chunks').objectStore('chunks').count();
            count.onsuccess = () => { done(count.result); open.result.close(); };
        };";
    device
        .script_async(script, &json!([]))
        .as_u64()
        .expect("a count")
}

/// True when the characters of `needle` appear in `haystack` in order.
fn is_subsequence(needle: &str, haystack: &str) -> bool {
    let mut rest = haystack.chars();
    needle.chars().all(|c| rest.any(|h| h == c))
}

/// The process id of the Chromium browser (not a renderer or helper)
/// running on `profile`.
fn browser_pid(profile: &Path) -> Option<u32> {
    let flag = format!("--user-data-dir={}", profile.display());
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            let ours = args.contains(&flag.as_bytes());
            let helper = args.iter().any(|a| a.starts_with(b"--type="));
            (ours && !helper).then_some(pid)
        })
}

#[test]
fn tabs_of_one_browser_one_offline_while_compacting_lose_nothing() {
    let Some((relay, browser)) = Browser::start("browser durability test (tabs)") else {
        return;
    };
    let (a, profile) = browser.open_restartable("acme-tabs");
    let [b] = browser.open(["globex"]);
    let base = partnership(&relay, &a, &b);

    // Three tabs of Acme's browser on the overview; the second is offline.
    let first = a.tab();
    let second = a.new_tab();
    a.goto(&base);
    a.element(&purpose());
    a.set_tab_offline(true);
    let third = a.new_tab();
    a.goto(&base);
    a.element(&purpose());
    let tabs = [(&first, "a"), (&second, "b"), (&third, "c")];
    // Enough separate batches in each tab that each compacts at least once
    // (every 64 batches) while the others hold chunks it has not seen.
    // Enough separate batches in each tab that each is due for compaction
    // (every 64 batches)...
    let mut streams: Vec<String> = vec![String::new(); tabs.len()];
    let mut type_in = |index: usize, round: usize| {
        let (tab, prefix) = tabs[index];
        let word = format!("{prefix}{round} ");
        a.switch_to(tab);
        a.keys(&purpose(), &word);
        streams[index].push_str(&word);
    };
    let mut round = 0;
    while round < 70 {
        for index in 0..tabs.len() {
            type_in(index, round);
        }
        std::thread::sleep(Duration::from_millis(60));
        round += 1;
    }
    // ...then each in turn falls quiet, and so compacts, while the other
    // two keep writing chunks it has not merged. A tab compacts after two
    // quiet seconds and then an idle moment of the browser; four seconds
    // leave room for both on a loaded machine (2.5 s did not, in CI).
    for quiet in 0..tabs.len() {
        let until = Instant::now() + Duration::from_millis(4_000);
        while Instant::now() < until {
            for index in (0..tabs.len()).filter(|i| *i != quiet) {
                type_in(index, round);
            }
            std::thread::sleep(Duration::from_millis(60));
            round += 1;
        }
    }
    // Each tab compacted (the app records a User Timing measure per
    // compaction). Counting the chunks left instead depended on the
    // machine's speed: a fast one types more chunks after the last
    // compaction than a slow one.
    for (tab, prefix) in tabs {
        a.switch_to(tab);
        a.wait(&format!("tab {prefix} to have compacted"), |d| {
            d.script(
                "return performance.getEntriesByName('accord:compact').length > 0;",
                &json!([]),
            ) == json!(true)
        });
    }
    println!(
        "chunks on the device after {round} rounds: {}",
        stored_chunks(&a)
    );
    // Tabs typing at the end of one text at once may interleave their
    // characters, so the check is on characters: the text holds exactly as
    // many as were typed, and each tab's keys in the order it typed them.
    let typed: usize = streams.iter().map(|s| s.chars().count()).sum();
    let has_all = |d: &Device| {
        let text = d.value(&purpose());
        text.chars().count() == typed && streams.iter().all(|s| is_subsequence(s, &text))
    };
    // Each tab sees the others' keys at once, the offline one too.
    for (tab, _) in tabs {
        a.switch_to(tab);
        a.wait("every tab's keys in this tab", has_all);
    }
    // Close the browser, start it again, offline: all of it is on the device.
    a.switch_to(&second);
    a.wait("the offline tab's words stored", |d| {
        d.attr(&tid("sync-status"), "data-unsaved").as_deref() == Some("0")
    });
    a.quit();
    let a = browser.open_profile("acme-tabs", profile.path());
    a.set_tab_offline(true);
    a.goto(&base);
    a.wait("every key after a restart, offline", has_all);
    // Back online, the relay gets everything: the partner reads it all.
    a.set_tab_offline(false);
    a.wait_status("Saved");
    b.goto(&base);
    b.wait("every key on the partner's device", has_all);
}

#[test]
fn chromium_killed_while_typing_offline_loses_at_most_200_ms() {
    let Some((relay, browser)) = Browser::start("browser durability test (kill -9)") else {
        return;
    };
    let (a, profile) = browser.open_restartable("acme-kill");
    let base = solo_partnership(&relay, &a);
    a.set_offline(true);
    a.wait_status("Offline");
    a.click(&purpose());

    let alphabet: Vec<char> = ('a'..='z').collect();
    let mut typed = String::new();
    let mut shown = 0;
    let start = Instant::now();
    let mut group = 0;
    while start.elapsed() < Duration::from_secs(3) {
        let keys: String = (0..KEYS_PER_GROUP)
            .map(|i| alphabet[(group * KEYS_PER_GROUP + i) % alphabet.len()])
            .collect();
        a.type_keys_paced(&keys, Some(10));
        typed.push_str(&keys);
        shown = a.value(&purpose()).chars().count();
        group += 1;
    }
    assert_eq!(shown, typed.chars().count(), "every key reached the page");
    let pid = browser_pid(profile.path()).expect("the browser's process");
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    drop(a);

    let a = browser.open_profile("acme-kill", profile.path());
    a.set_tab_offline(true);
    a.goto(&base);
    a.element(&purpose());
    a.wait("the partnership loaded", |d| {
        !d.value(&purpose()).is_empty()
    });
    let kept = a.value(&purpose());
    assert!(
        typed.starts_with(&kept),
        "kept text is what was typed: {kept:?}"
    );
    let lost = shown - kept.chars().count();
    println!("kill -9 while typing {shown} keys at 100/s offline: {lost} lost");
    assert!(
        lost <= MAY_LOSE,
        "lost {lost} of {shown} keys (at most {MAY_LOSE} allowed)"
    );
}

#[test]
fn refused_writes_keep_the_work_in_the_tab_and_catch_up_when_space_returns() {
    let Some((relay, _browser, [a])) =
        Browser::start_with("browser durability test (failing writes)", ["acme-full"])
    else {
        return;
    };
    solo_partnership(&relay, &a);
    a.set_offline(true);
    a.wait_status("Offline");

    // The disk is full: every IndexedDB put throws as it does at quota.
    a.script(
        "window.__put = IDBObjectStore.prototype.put;
         IDBObjectStore.prototype.put = function () {
             throw new DOMException('injected: disk full', 'QuotaExceededError');
         };",
        &json!([]),
    );
    a.keys(&purpose(), "Written while the disk was full.");
    a.wait("the failing state on the badge", |d| {
        d.status().ends_with("only in this tab — keep it open")
    });
    a.wait_text(&tid("error"), "Could not save to this device");
    a.keys(&purpose(), " Still typing.");

    // Space returns: the retry stores everything and the warning goes.
    a.script("IDBObjectStore.prototype.put = window.__put;", &json!([]));
    a.wait("the failing state cleared", |d| {
        d.status().starts_with("Offline")
    });
    a.wait("the warning gone", |d| d.texts(&tid("error")).is_empty());
    a.reload();
    a.wait_value(&purpose(), "Written while the disk was full. Still typing.");
}

#[test]
fn saved_means_the_relay_holds_every_offline_change() {
    let devices = ["acme-status", "globex-status"];
    let Some((relay, _browser, [a, b])) =
        Browser::start_with("browser durability test (honest status)", devices)
    else {
        return;
    };
    let base = partnership(&relay, &a, &b);
    a.wait_status("Saved");
    a.set_offline(true);
    a.wait_status("Offline");

    // About 2,000 changes, with two offline reloads in between.
    let chunk: String = "offline work ".repeat(40);
    let mut expected = String::new();
    for part in 0..4 {
        a.keys(&purpose(), &chunk);
        expected.push_str(&chunk);
        if part == 1 || part == 3 {
            a.reload();
            a.wait_value(&purpose(), &expected);
        }
    }
    let status = a.status();
    assert!(
        status.starts_with("Offline — ") && status.ends_with("kept on this device"),
        "{status}"
    );

    // Back online: the moment the badge says "Saved", cut the network
    // again; the partner must still receive every change from the relay.
    a.set_offline(false);
    a.wait_within(Duration::from_secs(60), "Saved after reconnecting", |d| {
        d.status() == "Saved"
    });
    a.set_offline(true);
    b.goto(&base);
    b.wait_value(&purpose(), &expected);
}

/// Installs, in the page, a record of when each `input` event happened and
/// when each IndexedDB read-write transaction began and committed (the
/// app's own writes, observed from outside, no hook in the app).
const RECORD_SAVES: &str = "
    window.__inputs = [];
    window.__commits = [];
    document.addEventListener('input', () => window.__inputs.push(performance.now()), true);
    const open = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (stores, mode, options) {
        const tx = open.call(this, stores, mode, options);
        if (mode === 'readwrite') {
            const began = performance.now();
            tx.addEventListener('complete', () => window.__commits.push([began, performance.now()]));
        }
        return tx;
    };";

/// Milliseconds from each input to the commit of the first transaction
/// begun after it: how long a keystroke waits to be durable on the device.
fn typed_to_durable(device: &Device) -> Vec<f64> {
    let inputs = device.script("return window.__inputs;", &json!([]));
    let commits = device.script("return window.__commits;", &json!([]));
    let commits: Vec<(f64, f64)> = commits
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c[0].as_f64()?, c[1].as_f64()?)))
        .collect();
    inputs
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_f64)
        .filter_map(|at| {
            commits
                .iter()
                .filter(|(began, _)| *began >= at)
                .map(|(_, done)| done - at)
                .reduce(f64::min)
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

/// Typed → durable in IndexedDB at 10 and 100 keys a second on a
/// partnership of about 10,000 changes. A measurement, not a check: set
/// `ACCORD_MEASURE_SAVE=1` (see `docs/benchmarks.md`).
#[test]
fn typed_to_durable_with_10000_changes() {
    if !measuring("ACCORD_MEASURE_SAVE", "save measurement") {
        return;
    }
    let Some((relay, _browser, [a])) =
        Browser::start_with("browser durability measurement", ["measure-save"])
    else {
        return;
    };
    solo_partnership(&relay, &a);
    let history: String = (0..1000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let started = Instant::now();
    for _ in 0..10 {
        a.keys(&purpose(), &history);
    }
    println!("typed 10,000 keys in {:?}", started.elapsed());
    let took = a.wait_within(Duration::from_secs(600), "Saved", |d| d.status() == "Saved");
    println!("saved on the relay {took:?} later");
    a.reload();
    a.wait("the partnership loaded", |d| {
        d.value(&purpose()).len() == 10_000
    });
    a.script(RECORD_SAVES, &json!([]));
    a.click(&purpose());
    // ACCORD_PROFILE=FILE: a CPU profile (Chrome DevTools format) of the
    // typing below, for finding where a keystroke's time goes.
    let profile = std::env::var("ACCORD_PROFILE").ok();
    if profile.is_some() {
        a.cdp("Profiler.enable", &json!({}));
        a.cdp("Profiler.setSamplingInterval", &json!({ "interval": 200 }));
        a.cdp("Profiler.start", &json!({}));
    }
    for (rate, keys) in [(10_u64, 100_usize), (100, 400)] {
        a.script("window.__inputs = []; window.__commits = [];", &json!([]));
        let text: String = (0..keys)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let started = Instant::now();
        for (index, group) in text.as_bytes().chunks(KEYS_PER_GROUP).enumerate() {
            a.type_keys_paced(std::str::from_utf8(group).expect("ascii"), Some(0));
            // Pace to `rate` keys a second overall.
            let due = Duration::from_millis(((index + 1) * KEYS_PER_GROUP) as u64 * 1000 / rate);
            std::thread::sleep(due.saturating_sub(started.elapsed()));
        }
        let took = started.elapsed();
        a.wait("everything stored", |d| {
            d.attr(&tid("sync-status"), "data-unsaved").as_deref() == Some("0")
        });
        let mut samples = typed_to_durable(&a);
        samples.sort_by(f64::total_cmp);
        println!(
            "typed → durable at {rate} keys/s (achieved {:.0}/s) with 10,000 changes: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {} keys",
            keys as f64 / took.as_secs_f64(),
            percentile(&samples, 0.5),
            percentile(&samples, 0.99),
            samples.last().copied().unwrap_or(f64::NAN),
            samples.len()
        );
    }
    if let Some(path) = profile {
        let taken = a.cdp("Profiler.stop", &json!({}));
        std::fs::write(&path, taken["profile"].to_string()).expect("write the profile");
        println!("CPU profile written to {path}");
    }
}
