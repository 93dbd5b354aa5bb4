//! Browser end-to-end, one device at a time: the built web app
//! (`ACCORD_WEB_DIST`) served by a real relay, driven in headless Chromium
//! (see `device` and `webdriver`). A partnership is stored on the relay and
//! survives a reload; a second browser profile is a separate device.
//!
//! Set `ACCORD_SKIP_BROWSER=1` to skip; otherwise a missing Chromium,
//! chromedriver or dist fails the test.

use crate::device::{Browser, tid};

#[test]
fn partnership_is_saved_on_relay_and_survives_reload() {
    let devices = ["alice", "bob"];
    let Some((relay, _browser, [alice, bob])) = Browser::start_with("browser test", devices) else {
        return;
    };
    let home = relay.home_url();
    let status = tid("sync-status");
    let links = tid("partnership-link");

    // The page loads, registers the device and connects.
    alice.goto(&home);
    assert_eq!(alice.cmd("GET", "/title", None), "Accord");
    alice.wait_text(&status, "Saved");
    assert!(
        alice.all(&links).is_empty(),
        "a fresh profile holds no partnerships"
    );

    // Alice says who she is (a partnership records its creator's
    // organization), creates a partnership and edits it; the relay
    // confirms it is stored.
    alice.profile("Alice Adams", "Acme");
    alice.click(&tid("new-partnership"));
    alice.wait_value(&tid("title-input"), "Untitled partnership");
    alice.enter(&tid("title-input"), "Acme + Globex pilot");
    alice.enter(&tid("purpose-input"), "Joint go-to-market in the Nordics");
    alice.wait_value(&tid("title-input"), "Acme + Globex pilot");
    alice.wait_text(&status, "Saved");

    // After a reload everything comes back from IndexedDB.
    alice.reload();
    alice.wait_value(&tid("title-input"), "Acme + Globex pilot");
    alice.wait_value(&tid("purpose-input"), "Joint go-to-market in the Nordics");
    alice.goto(&home);
    alice.wait("the list to show the partnership", |d| {
        d.texts(&links) == ["Acme + Globex pilot"]
    });
    alice.wait_text(&status, "Saved");
    alice.wait("the list to show that partnership's sync state", |d| {
        d.texts(&tid("partnership-status")) == ["Saved"]
    });

    // A second profile is a separate device: nothing of Alice's is stored there.
    bob.goto(&home);
    bob.wait_text(&status, "Saved");
    assert!(
        bob.all(&links).is_empty(),
        "bob's profile must not see alice's local data"
    );
}
