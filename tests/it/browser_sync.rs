//! Browser end-to-end for two organizations working on one partnership: invite
//! and join, live edits both ways, offline edits that survive a reload,
//! convergence on reconnect, and presence. Two Chromium profiles (two devices)
//! are driven through chromedriver's W3C WebDriver JSON protocol by the shared
//! `device::Device` (see `device` and `webdriver`); the built app comes from
//! `ACCORD_WEB_DIST` and is served by a real relay.
//!
//! Set `ACCORD_SKIP_BROWSER=1` to skip. Going offline uses chromedriver's
//! network emulation, which cuts the page's fetches and its WebSocket.
//!
//! `ACCORD_MEASURE_LOAD=1` additionally runs [`load_time_with_1000_changes`]'s
//! measurement (without it the test returns at once: it is a measurement, not
//! a check).

use std::time::Duration;

use serde_json::json;

use crate::device::{Browser, Device, tid};
use crate::helpers::{WAIT, measuring};

/// How soon a live edit must show on the other device.
const LIVE: Duration = Duration::from_secs(1);

/// Names of the peers shown in the presence bar.
fn presence(d: &Device) -> Vec<String> {
    d.texts(&tid("presence-peer"))
}

#[test]
fn two_organizations_invite_edit_live_go_offline_and_converge() {
    let devices = ["acme", "globex"];
    let Some((relay, _browser, [a, b])) = Browser::start_with("browser sync test", devices) else {
        return;
    };
    let title = tid("title-input");
    let purpose = tid("purpose-input");

    // A: first run, profile, a new partnership, an invite for Globex.
    a.sign_in_titled(&relay, "Alice Adams", "Acme", "Head of partnerships");
    a.start_partnership();
    a.fill(&title, "Acme + Globex pilot");
    a.wait_value(&title, "Acme + Globex pilot");
    let link = a.invite_link("Globex", None);
    assert!(link.starts_with(&relay.http_url()), "{link}");

    // B: another device and organization joins through the link.
    b.sign_in_titled(&relay, "Bob Brown", "Globex", "Alliances lead");
    b.join(&link, "Acme + Globex pilot");
    for device in [&a, &b] {
        device.wait("both parties with their members", |d| {
            let parties = d.text(&tid("party-list"));
            parties.contains("Acme")
                && parties.contains("Alice Adams")
                && parties.contains("Globex")
                && parties.contains("Bob Brown")
        });
        device.wait("presence of both", |d| presence(d).len() == 2);
    }
    let on_a = presence(&a).join(" | ");
    assert!(
        on_a.contains("Bob Brown") && on_a.contains("overview"),
        "{on_a}"
    );

    // Live: each sees the other's edit within a second.
    a.keys(&purpose, "Pilot in the Nordics.");
    let took = b.wait_within(LIVE, "the purpose typed on A", |d| {
        d.value(&purpose) == "Pilot in the Nordics."
    });
    println!("A → B live edit seen after {took:?}");
    b.fill(&title, "Acme + Globex Nordic pilot");
    let took = a.wait_within(LIVE, "the title typed on B", |d| {
        d.value(&title) == "Acme + Globex Nordic pilot"
    });
    println!("B → A live edit seen after {took:?}");
    a.wait_status("Saved");
    b.wait_status("Saved");

    // B goes offline; both edit the purpose and B the title too.
    b.set_offline(true);
    b.wait_status("Offline");
    a.keys(&purpose, " Acme brings the product.");
    b.keys(&purpose, " Globex brings the channel.");
    b.fill(&title, "Nordic pilot (draft)");
    b.wait_value(&title, "Nordic pilot (draft)");
    a.wait_status("Saved");
    // B really is cut off: A's saved edit does not reach it.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !b.value(&purpose).contains("Acme brings"),
        "B received an edit while offline"
    );
    // A sees B leave within seconds: no heartbeat while B is cut off.
    a.wait("presence of A alone", |d| presence(d).len() == 1);

    // B reloads with no network: the shell and its own edits come from the device.
    b.reload();
    b.wait_value(&title, "Nordic pilot (draft)");
    b.wait("B's offline purpose edit after reload", |d| {
        d.value(&purpose).contains("Globex brings the channel.")
    });
    let status = b.status();
    assert!(
        status.starts_with("Offline — "),
        "offline edits are counted: {status}"
    );

    // Reconnect: both converge, nothing lost.
    b.set_offline(false);
    for device in [&a, &b] {
        device.wait_value(&title, "Nordic pilot (draft)");
        device.wait("both offline purpose edits", |d| {
            let p = d.value(&purpose);
            p.starts_with("Pilot in the Nordics.")
                && p.contains(" Acme brings the product.")
                && p.contains(" Globex brings the channel.")
        });
        device.wait_status("Saved");
    }
    assert_eq!(a.value(&purpose), b.value(&purpose));

    // Presence: both again, then one once B closes its tab.
    for device in [&a, &b] {
        device.wait("presence of both again", |d| presence(d).len() == 2);
    }
    b.cmd("DELETE", "/window", None);
    let took = a.wait_within(WAIT, "presence of A alone after B closed", |d| {
        presence(d).len() == 1
    });
    println!("B's departure seen after {took:?}");
}

#[test]
fn bad_invite_links_say_why() {
    let Some((relay, _browser, [b])) = Browser::start_with("browser sync test", ["stranger"])
    else {
        return;
    };
    b.open_home(&relay);
    b.goto(&format!(
        "{}/#/join/{}/not-a-real-code",
        relay.http_url(),
        accord_shared::ids::DocumentId::from_bytes([5; 16])
    ));
    b.wait("a clear refusal", |d| {
        d.texts(&tid("join-error"))
            .first()
            .is_some_and(|t| t.contains("invite link"))
    });

    // A real link whose single use someone else already took: the relay's
    // 410 explanation reaches the page.
    let owner = relay.register("owner");
    let id = accord_shared::ids::DocumentId::from_bytes([6; 16]);
    relay.claim(&owner, id, "Acme");
    let code = relay.invite(&owner, id, "editor", "Globex", 3600, 1);
    let first = relay.register("first");
    let (status, body) = relay.redeem(&first, &code);
    assert_eq!(status, 200, "{body}");
    b.goto(&format!("{}/#/join/{id}/{code}", relay.http_url()));
    b.wait("the used-up link explained", |d| {
        d.texts(&tid("join-error"))
            .first()
            .is_some_and(|t| t.contains("already been used"))
    });
}

#[test]
fn remove_a_partnership_from_this_device() {
    let Some((relay, _browser, [a])) = Browser::start_with("browser sync test", ["remover"]) else {
        return;
    };
    let links = tid("partnership-link");
    a.sign_in_titled(&relay, "Alice Adams", "Acme", "Head of partnerships");
    a.start_partnership();
    a.wait_status("Saved");
    a.goto(&relay.home_url());
    a.wait_count(&links, 1);
    // Accept the confirmation dialog without showing it.
    a.script("window.confirm = () => true;", &json!([]));
    a.click(&tid("remove-partnership"));
    a.wait_count(&links, 0);
    // Every queued write (the delete included) is done once saved.
    a.wait_status("Saved");
    a.reload();
    a.wait_status("Saved");
    assert!(
        a.all(&links).is_empty(),
        "the removed partnership came back after a reload"
    );
    a.wait("the empty list note", |d| {
        d.texts(&tid("partnership-list"))
            .join(" ")
            .trim()
            .is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(a.all(&links).is_empty());
}

#[test]
fn a_viewer_sees_view_only_with_editing_disabled() {
    let devices = ["owner", "viewer"];
    let Some((relay, _browser, [a, b])) = Browser::start_with("browser sync test", devices) else {
        return;
    };
    a.sign_in_titled(&relay, "Alice Adams", "Acme", "Head of partnerships");
    a.start_partnership();
    a.fill(&tid("title-input"), "Viewed pilot");
    a.wait_value(&tid("title-input"), "Viewed pilot");
    assert!(
        a.all(&tid("view-only")).is_empty(),
        "the owner is not a viewer"
    );
    let link = a.invite_link("Globex", Some("viewer"));

    b.sign_in_titled(&relay, "Vic Viewer", "Globex", "Observer");
    b.join(&link, "Viewed pilot");
    b.wait("the view-only note", |d| {
        d.texts(&tid("view-only"))
            .first()
            .is_some_and(|t| t.contains("View only"))
    });
    for field in ["title-input", "purpose-input", "stage-select"] {
        let id = b.element(&tid(field));
        let enabled = b.cmd("GET", &format!("/element/{id}/enabled"), None);
        assert_eq!(enabled, json!(false), "{field} is editable for a viewer");
    }

    // A plan page says which page it is in presence, as the overview does.
    a.click(&tid("tab-vetting"));
    b.wait("A on vetting in presence", |d| {
        d.all(&tid("presence-peer")).iter().any(|id| {
            d.try_cmd("GET", &format!("/element/{id}/attribute/title"), None)
                .ok()
                .and_then(|t| t.as_str().map(str::to_owned))
                .is_some_and(|t| t.contains("Alice Adams") && t.ends_with("on vetting"))
        })
    });
}

/// Measurement for the closing note, run only with `ACCORD_MEASURE_LOAD=1`:
/// one partnership with 1,000 local changes (1,000 keystrokes, one change
/// each), then a reload; prints the time from navigation start to the title
/// showing, as `performance.now()` in the page.
#[test]
fn load_time_with_1000_changes() {
    if !measuring("ACCORD_MEASURE_LOAD", "load measurement") {
        return;
    }
    let Some((relay, _browser, [a])) = Browser::start_with("browser sync test", ["measure"]) else {
        return;
    };
    a.open_home(&relay);
    a.start_partnership();
    let text: String = (0..1000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    a.keys(&tid("purpose-input"), &text);
    a.wait_value(&tid("purpose-input"), &text);
    a.wait_status("Saved");
    let script = "const done = arguments[arguments.length - 1];
        const check = () => {
          const title = document.querySelector(\"[data-testid='title-input']\");
          const purpose = document.querySelector(\"[data-testid='purpose-input']\");
          if (title && title.value && purpose && purpose.value.length === 1000) done(performance.now());
          else requestAnimationFrame(check);
        };
        check();";
    let mut samples = Vec::new();
    for _ in 0..5 {
        a.reload();
        let ms = a.script_async(script, &json!([]));
        samples.push(ms.as_f64().unwrap_or(f64::NAN));
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "load to interactive with 1,000 changes: median {:.0} ms, samples {samples:?}",
        samples[samples.len() / 2]
    );
}
