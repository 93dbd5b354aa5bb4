//! Browser end-to-end for who people are: a first-time visitor who opens an
//! invite link is asked their name before joining (and partners see that
//! name, never a placeholder); renaming yourself shows on the partner's
//! screen; "New partnership" asks for the profile first; each party shows
//! in its own colour. Screenshots of the new screens at phone, tablet and
//! desktop widths go to `docs/screenshots/` (see [`screenshots`]).
//!
//! Set `ACCORD_SKIP_BROWSER=1` to skip.

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::json;

use crate::device::{Browser, Device, new_partnership, tid};

/// The widths every changed screen is checked and photographed at.
const WIDTHS: [u32; 3] = [360, 768, 1280];

/// Photographs the current page at each of [`WIDTHS`] into
/// `docs/screenshots/<name>-<width>.png`, checking at each width that the
/// page does not scroll sideways. `focus`, when given, is scrolled into
/// view first (the part of the page the picture is about).
pub(crate) fn screenshots(d: &Device, name: &str, focus: Option<&str>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&dir).expect("creating docs/screenshots");
    for width in WIDTHS {
        d.cmd(
            "POST",
            "/window/rect",
            Some(&json!({ "width": width, "height": 900 })),
        );
        d.wait(&format!("the page to fit {width} px"), |d| {
            d.script(
                "return document.documentElement.scrollWidth <= document.documentElement.clientWidth;",
                &json!([]),
            ) == json!(true)
        });
        if let Some(css) = focus {
            d.script(
                "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
                &json!([css]),
            );
        }
        let png = d.cmd("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a base64 screenshot"))
            .expect("screenshot is base64");
        std::fs::write(dir.join(format!("{name}-{width}.png")), bytes)
            .expect("writing a screenshot");
    }
    d.cmd(
        "POST",
        "/window/rect",
        Some(&json!({ "width": 1280, "height": 900 })),
    );
}

/// The `--party` colour of each element matching `css`.
fn party_colours(d: &Device, css: &str) -> Vec<String> {
    d.script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.style.getPropertyValue('--party').trim());",
        &json!([css]),
    )
    .as_array()
    .map(|all| {
        all.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    })
    .unwrap_or_default()
}

#[test]
fn invite_asks_who_you_are_then_partners_see_the_real_name_and_renames() {
    let devices = ["acme", "globex"];
    let Some((relay, _browser, [a, b])) = Browser::start_with("browser identity test", devices)
    else {
        return;
    };

    // A presses "New partnership" before saying who they are: asked first.
    a.open_home(&relay);
    a.click(&tid("new-partnership"));
    a.wait("the profile asked for first", |d| {
        !d.all(&tid("profile-first")).is_empty()
            && d.prop("details.profile", "open") == Some(json!(true))
    });
    assert!(
        !a.url().contains("#/p/"),
        "no partnership without a profile"
    );
    screenshots(&a, "profile-first", None);
    a.profile_titled("Alice Adams", "Acme", "Head of partnerships");
    assert!(a.all(&tid("profile-first")).is_empty());
    let base = a.start_partnership();
    // The agreement starts from the standard outline before Globex joins:
    // Globex arrives to it, so none of it is "changed since you looked".
    a.goto(&format!("{base}/agreement"));
    a.click(&tid("agreement-outline"));
    a.wait_count(&tid("clause"), 11);
    a.goto(&base);
    a.wait_value(&tid("title-input"), "Untitled partnership");
    let link = a.invite_link("Globex", None);

    // B opens the link before ever filling in a profile: asked who they
    // are, with the organization fixed by the invite.
    b.goto(&link);
    b.wait_text(&tid("join-organization"), "Globex");
    screenshots(&b, "join-who-are-you", None);
    b.fill(&tid("join-name"), "Bob Brown");
    b.fill(&tid("join-title"), "Alliances lead");
    b.click(&tid("join-submit"));
    b.wait_value(&tid("title-input"), "Untitled partnership");
    for device in [&a, &b] {
        device.wait("Bob's real name on both screens", |d| {
            let parties = d.text(&tid("party-list"));
            parties.contains("Bob Brown") && !parties.contains("Unnamed")
        });
    }

    // Each organization shows in the colour stored for its party (Acme took
    // the palette's first, Globex the first one left), on both screens.
    for device in [&a, &b] {
        device.wait("each party's own colour on both avatars", |d| {
            let mut shown = party_colours(d, &tid("presence-peer"));
            shown.sort();
            shown == ["#1d4ed8", "#b45309"]
        });
    }
    screenshots(&a, "party-colours", Some(&tid("presence")));

    // B's profile took the invited organization; B renames themself and A
    // sees the new name in the parties list.
    b.goto(&relay.home_url());
    b.wait("the profile to hold the invited organization", |d| {
        d.text(&tid("profile-summary"))
            .contains("Bob Brown · Globex")
    });
    b.click(&tid("profile-summary"));
    b.enter(&tid("profile-name"), "Robert Brown");
    a.wait("the rename on the partner's screen", |d| {
        let parties = d.text(&tid("party-list"));
        parties.contains("Robert Brown") && !parties.contains("Bob Brown")
    });
    b.goto(&base);
    b.wait("the new name on B too", |d| {
        d.text(&tid("party-list")).contains("Robert Brown")
    });

    // Changed since you last looked starts when Globex first opened the
    // partnership: the clause Acme adds now is flagged on Globex's first
    // visit to the agreement, the outline Globex arrived to is not.
    a.goto(&format!("{base}/agreement"));
    a.wait_count(&tid("clause"), 11);
    a.fill(&tid("new-clause-title"), "Pricing");
    a.click(&tid("add-clause"));
    a.wait_count(&tid("clause"), 12);
    b.goto(&format!("{base}/agreement"));
    b.wait_count(&tid("clause"), 12);
    b.wait("only Acme's new clause flagged", |d| {
        d.texts(&tid("clause-changed")) == ["added by Alice Adams (Acme) since you last looked"]
    });
    b.wait_text(
        "[data-testid='clause']:nth-child(12) [data-testid='clause-changed']",
        "added by Alice Adams",
    );
}

#[test]
fn invite_link_copies_and_bad_links_say_not_found() {
    let Some((relay, _browser, [a])) = Browser::start_with("browser identity test", ["acme"])
    else {
        return;
    };
    let home = relay.home_url();
    let base = new_partnership(&relay, &a);

    // The raw document address sits in a folded "Details" section.
    assert_eq!(a.prop(&tid("document-details"), "open"), Some(json!(false)));
    assert!(
        a.text(&tid("document-url")).is_empty(),
        "hidden until unfolded"
    );
    a.click(&format!("{} summary", tid("document-details")));
    a.wait("the address shown", |d| {
        d.text(&tid("document-url")).starts_with("automerge:")
    });

    // Copy puts the invite link on the clipboard and says so.
    a.cdp(
        "Browser.grantPermissions",
        &json!({ "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"] }),
    );
    let link = a.invite_link("Globex", None);
    a.click(&tid("invite-copy"));
    a.wait_text(&tid("invite-copied"), "Copied");
    assert_eq!(
        a.script("return navigator.clipboard.readText();", &json!([])),
        json!(link)
    );
    screenshots(&a, "invite-copy", Some(&tid("invite-copy")));

    // Without a usable clipboard the link is selected for copying by hand.
    a.script(
        "Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true });",
        &json!([]),
    );
    a.click(&tid("invite-copy"));
    a.wait_text(&tid("invite-copied"), "The link is selected");
    let selected = a.script(
        "const i = document.querySelector(arguments[0]); \
         return i.value.substring(i.selectionStart, i.selectionEnd);",
        &json!([tid("invite-link")]),
    );
    assert_eq!(selected, json!(link));

    // Unknown and expired invite codes each get one clear sentence.
    let owner = relay.register("owner");
    let document = accord_shared::ids::DocumentId::from_bytes([4; 16]);
    relay.claim(&owner, document, "Acme");
    let expiring = relay.invite(&owner, document, "editor", "Globex", 1, 1);
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    for (code, sentence) in [
        (
            "no-such-code",
            "This invite link is not valid: check that you opened the whole link, or ask the partner for a new one.",
        ),
        (
            expiring.as_str(),
            "This invite link has expired: ask the partner for a new one.",
        ),
    ] {
        a.goto(&format!("{home}#/join/{document}/{code}"));
        a.wait("one clear sentence", |d| {
            d.texts(&tid("join-error")) == [sentence]
        });
    }

    // Mistyped links show "not found" with a way back, never the home page.
    for bad in [
        format!("{base}/no-such-page"),
        format!("{home}#/p/not-a-partnership"),
        format!("{home}#/elsewhere"),
    ] {
        a.goto(&bad);
        a.element(&tid("not-found"));
        assert!(a.all(&tid("partnership-list")).is_empty(), "{bad}");
    }
    screenshots(&a, "not-found", None);
    a.click(&tid("not-found-home"));
    a.element(&tid("partnership-list"));
    // A well-formed id of a partnership this device does not hold.
    a.goto(&format!(
        "{home}#/p/{}",
        accord_shared::ids::DocumentId::from_bytes([3; 16])
    ));
    a.wait_text(&tid("partnership-missing"), "not on this device");
    a.click(&tid("not-found-home"));
    a.element(&tid("partnership-list"));
}

/// A person who types their name, organization and title in one go,
/// tabbing between the fields without pausing, keeps every character: each
/// field is committed when left, and committing one never resets another
/// that is already being typed into. Checked again after a reload (what
/// was stored, not only what is on screen).
#[test]
fn fast_typing_across_profile_fields_keeps_every_character() {
    let Some((relay, _browser, [a])) = Browser::start_with("browser profile typing test", ["acme"])
    else {
        return;
    };
    a.open_home(&relay);
    a.wait("the profile form open on first run", |d| {
        d.prop("details.profile", "open") == Some(json!(true))
    });
    a.click(&tid("profile-name"));
    // U+E004 is WebDriver's Tab key.
    a.type_keys("Alice Adams\u{E004}Acme Industries\u{E004}Head of strategic partnerships\u{E004}");
    let expected = [
        ("profile-name", "Alice Adams"),
        ("profile-organization", "Acme Industries"),
        ("profile-title", "Head of strategic partnerships"),
    ];
    for (field, text) in expected {
        a.wait_value(&tid(field), text);
    }
    a.wait("the whole profile stored in IndexedDB", |d| {
        stored_profile(d).contains("Head of strategic partnerships")
    });
    a.reload();
    a.wait_text(&tid("sync-status"), "Saved");
    a.click(&tid("profile-summary"));
    for (field, text) in expected {
        a.wait_value(&tid(field), text);
    }
}

/// The profile as this device stored it in IndexedDB (JSON text, empty
/// when none is stored yet).
fn stored_profile(device: &Device) -> String {
    let script = "const done = arguments[arguments.length - 1];
        const open = indexedDB.open('accord');
        open.onsuccess = () => {
            const get = open.result.transaction('meta').objectStore('meta').get('profile');
            get.onsuccess = () => { done(get.result || ''); open.result.close(); };
        };";
    device
        .script_async(script, &json!([]))
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
