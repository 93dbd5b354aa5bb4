//! Browser end-to-end for linked devices (issue 17): Alice of Acme, already
//! in a partnership with Globex and holding a second partnership of her
//! own, links her phone (a separate browser profile) with "Link another
//! device". The phone gets both partnerships (and one the laptop creates
//! afterwards), edits and signs a clause off
//! as the same member (Globex sees one Alice, and a valid sign-off); Alice
//! revokes the phone from her laptop and the phone's next sync is refused.
//! A reused or expired link code gets a clear sentence. The new screens
//! fit 360, 768 and 1280 px without sideways scrolling (photographed into
//! `docs/screenshots/`).
//!
//! Needs the built app in `ACCORD_WEB_DIST`, Chromium and chromedriver;
//! `ACCORD_SKIP_BROWSER=1` skips.

use std::time::Duration;

use serde_json::json;

use crate::browser_identity::screenshots;
use crate::device::clause::FIRST;
use crate::device::{Browser, Device, partnership, tid};

/// Makes `window.confirm` answer yes without showing a dialog.
fn accept_confirmations(d: &Device) {
    d.script("window.confirm = () => true;", &json!([]));
}

/// Presses "Link this browser" once the app has started.
fn submit_link(d: &Device) {
    d.wait("the link button enabled", |d| {
        d.prop(&tid("link-submit"), "disabled") == Some(json!(false))
    });
    d.click(&tid("link-submit"));
}

#[test]
fn a_linked_phone_is_the_same_member_until_revoked() {
    let Some((relay, browser)) = Browser::start("browser linked devices test") else {
        return;
    };
    let [laptop, globex, phone, stranger] = browser.open(["laptop", "globex", "phone", "stranger"]);
    let home = format!("{}/", relay.http_url());
    let base = partnership(&relay, &laptop, &globex);
    // A second partnership of Alice's own.
    laptop.goto(&home);
    laptop.click(&tid("new-partnership"));
    laptop.wait_value(&tid("title-input"), "Untitled partnership");
    laptop.wait_status("Saved");

    // The laptop shows a code, its link and a QR code, with the time left.
    laptop.goto(&home);
    laptop.wait_count(&tid("partnership-link"), 2);
    laptop.click(&tid("devices-summary"));
    laptop.wait_count(&tid("device-row"), 1);
    laptop.click(&tid("link-device"));
    laptop.wait("a link code", |d| {
        d.value(&tid("device-link")).contains("#/link/")
    });
    let code = laptop.text(&tid("link-code"));
    let link = laptop.value(&tid("device-link"));
    assert!(link.ends_with(&code), "{link} / {code}");
    assert_eq!(code.len(), 14, "{code}");
    assert!(
        laptop
            .text(&tid("link-expiry"))
            .starts_with("Expires in 4:")
            || laptop
                .text(&tid("link-expiry"))
                .starts_with("Expires in 5:"),
        "{}",
        laptop.text(&tid("link-expiry"))
    );
    screenshots(&laptop, "link-device", Some(&tid("link-code-panel")));
    let qr_path = laptop
        .attr(&format!("{} path", tid("link-qr")), "d")
        .unwrap_or_default();
    assert!(qr_path.len() > 1000, "a QR code is drawn: {qr_path:?}");

    // The phone opens the link: the code is filled in, one press links it.
    phone.goto(&link);
    phone.wait_value(&tid("link-code-input"), &code);
    phone.wait("a suggested device name", |d| {
        !d.value(&tid("link-device-name")).is_empty()
    });
    phone.fill(&tid("link-device-name"), "Alice's phone");
    screenshots(&phone, "link-this-browser", None);
    submit_link(&phone);
    phone.wait("the phone's home page", |d| {
        !d.url().contains("#/link") || !d.all(&tid("link-error")).is_empty()
    });
    assert!(
        phone.all(&tid("link-error")).is_empty(),
        "{}",
        phone.text(&tid("link-error"))
    );
    phone.wait_count(&tid("partnership-link"), 2);
    laptop.wait_text(
        &tid("device-joined"),
        "\u{201c}Alice's phone\u{201d} is now one of your devices",
    );
    laptop.wait_count(&tid("device-row"), 2);
    assert!(
        laptop.all(&tid("link-code")).is_empty(),
        "the used code is hidden"
    );
    // The laptop has attested the phone's key in both partnerships.
    laptop.wait_status("Saved");
    // The phone is Alice: same name and organization.
    phone.wait("Alice's profile on the phone", |d| {
        d.text(&tid("profile-summary"))
            .contains("Alice Adams · Acme")
    });

    // A partnership the laptop creates from now on reaches the phone too.
    laptop.goto(&home);
    laptop.click(&tid("new-partnership"));
    laptop.wait_value(&tid("title-input"), "Untitled partnership");
    laptop.wait_status("Saved");
    phone.reload();
    phone.wait_count(&tid("partnership-link"), 3);

    // The same code again, on another browser: already used.
    stranger.goto(&link);
    stranger.wait_value(&tid("link-code-input"), &code);
    submit_link(&stranger);
    stranger.wait_text(&tid("link-error"), "This link code was already used");
    // An expired code (made short-lived through the API by another account).
    let other = relay.register("elsewhere");
    let (status, body) = relay.api(
        "POST",
        "/api/links",
        Some(&other.token),
        Some(&json!({ "expires_in_seconds": 1 })),
    );
    assert_eq!(status, 201, "{body}");
    std::thread::sleep(Duration::from_millis(1500));
    stranger.goto(&format!(
        "{}#/link/{}",
        home,
        body["code"].as_str().unwrap()
    ));
    stranger.reload();
    stranger.wait_value(&tid("link-code-input"), body["code"].as_str().unwrap());
    submit_link(&stranger);
    stranger.wait_text(&tid("link-error"), "This link code has expired");
    assert!(stranger.all(&tid("partnership-link")).is_empty());

    // On the phone, the shared partnership: Alice edits it, Globex sees
    // her as one member.
    phone.goto(&base);
    phone.wait_value(&tid("title-input"), "Untitled partnership");
    phone.goto(&format!("{base}/agreement"));
    phone.click(&tid("agreement-outline"));
    for device in [&phone, &globex, &laptop] {
        device.goto(&format!("{base}/agreement"));
        device.wait_count(&tid("clause"), 11);
    }
    let sign = format!("{FIRST} {}", tid("clause-sign"));
    phone.click(&sign);
    let signed = format!("{FIRST} [data-testid='signoff-state'][data-state='signed']");
    for device in [&globex, &laptop, &phone] {
        device.wait_text(&signed, "Acme: signed by Alice Adams");
    }
    globex.goto(&base);
    globex.wait("one Alice in Acme", |d| {
        d.text(&tid("party-list")).matches("Alice Adams").count() == 1
    });
    assert!(!globex.text(&tid("party-list")).contains("Unnamed"));

    // Alice revokes the phone from her laptop: its next sync is refused.
    laptop.goto(&home);
    laptop.click(&tid("devices-summary"));
    laptop.wait_count(&tid("device-row"), 2);
    assert!(
        laptop.text(&tid("device-list")).contains("seen"),
        "{}",
        laptop.text(&tid("device-list"))
    );
    screenshots(&laptop, "my-devices", Some(&tid("device-list")));
    accept_confirmations(&laptop);
    laptop.click(&tid("revoke-device"));
    laptop.wait_count(&tid("device-row"), 1);
    phone.wait_text(&tid("error"), "The relay no longer accepts this device");
    phone.goto(&base);
    phone.wait_value(&tid("title-input"), "Untitled partnership");
    phone.fill(&tid("title-input"), "Changed on a lost phone");
    std::thread::sleep(Duration::from_secs(3));
    globex.reload();
    globex.wait_value(&tid("title-input"), "Untitled partnership");
    assert_ne!(phone.status(), "Saved", "the phone cannot reach the relay");
}
