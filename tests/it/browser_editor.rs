//! Browser end-to-end for the clause editor (issue 16, items 1 and 4), two
//! organizations and a real relay: Acme types bold words with Ctrl-B and
//! italicises a selection with the toolbar, and Globex sees them styled;
//! a numbered list continues on Enter, and Ctrl-Z / Ctrl-Shift-Z undo and
//! redo Acme's own typing; Globex typing before Acme's caret leaves the
//! caret where it was; Globex's caret and selection show inside the clause
//! text on Acme's screen in Globex's colour with Globex's name, and go within
//! about two seconds of Globex leaving the text or dropping off the network;
//! a thread on the whole clause is attached to selected words.
//! Pictures at 360, 768 and 1280 px, none scrolling sideways, each passing
//! axe.
//!
//! Needs the built app in `ACCORD_WEB_DIST`, Chromium and chromedriver;
//! `ACCORD_SKIP_BROWSER=1` skips.

use std::time::Duration;

use serde_json::json;

use crate::browser_look::{
    accessibility_violations, axe_source, screenshot, set_width, sideways_scroll,
};
use crate::device::clause::{FIRST, FOURTH, within};
use crate::device::{Device, TO_END, TO_START, TwoOrganizations, tid};

const CONTROL: &str = "\u{E009}";
const SHIFT: &str = "\u{E008}";
const ENTER: &str = "\u{E007}";

/// Presses `key` with the modifiers held, into whatever has focus.
fn chord(device: &Device, modifiers: &[&str], key: &str) {
    let mut presses = Vec::new();
    for m in modifiers {
        presses.push(json!({ "type": "keyDown", "value": m }));
    }
    presses.push(json!({ "type": "keyDown", "value": key }));
    presses.push(json!({ "type": "keyUp", "value": key }));
    for m in modifiers.iter().rev() {
        presses.push(json!({ "type": "keyUp", "value": m }));
    }
    device.cmd(
        "POST",
        "/actions",
        Some(&json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": presses }] })),
    );
    device.cmd("DELETE", "/actions", None);
}

fn pressed(device: &Device, clause: &str, button: &str) -> String {
    device
        .attr(&within(clause, button), "aria-pressed")
        .unwrap_or_default()
}

fn bold_and_italic(a: &Device, b: &Device) {
    let body = within(FIRST, "clause-body");
    a.keys(&body, &format!("{TO_END} We agree"));
    chord(a, &[CONTROL], "b");
    a.wait("Bold to show as pressed", |d| {
        pressed(d, FIRST, "format-bold") == "true"
    });
    a.type_keys(" firmly");
    chord(a, &[CONTROL], "b");
    a.type_keys(".");
    let bold = format!("{body} strong");
    b.wait_text(&bold, "firmly");
    b.wait("the full stop after the bold words", |d| {
        d.value(&body).ends_with(" We agree firmly.")
    });
    assert_eq!(
        b.texts(&bold),
        [" firmly"],
        "only the words typed with Bold on"
    );
    assert_eq!(pressed(a, FIRST, "format-bold"), "false");
    // Select "We agree" and make it italic with the toolbar.
    let text = a.value(&body);
    let start = text.rfind("We agree").expect("typed words");
    a.select_text(&body, start, start + "We agree".len());
    a.click(&within(FIRST, "format-italic"));
    b.wait_text(&format!("{body} em"), "We agree");
    assert_eq!(pressed(a, FIRST, "format-italic"), "true");
    // The text itself is unchanged by styling it.
    assert!(b.value(&body).ends_with(" We agree firmly."));
}

fn lists_and_undo(a: &Device, b: &Device) {
    let body = within(FOURTH, "clause-body");
    a.keys(&body, &format!("{TO_END}{ENTER}Keep records"));
    a.click(&within(FOURTH, "format-numbers"));
    a.wait("Numbered list to show as pressed", |d| {
        pressed(d, FOURTH, "format-numbers") == "true"
    });
    a.type_keys(&format!("{ENTER}Report monthly"));
    b.wait("the numbered list on Globex's screen", |d| {
        d.value(&body)
            .ends_with("\n1. Keep records\n2. Report monthly")
    });
    chord(a, &[CONTROL], "z");
    chord(a, &[CONTROL], "z");
    b.wait("Acme's last two letters undone", |d| {
        d.value(&body).ends_with("\n2. Report month")
    });
    chord(a, &[CONTROL, SHIFT], "z");
    b.wait("one of them redone", |d| {
        d.value(&body).ends_with("\n2. Report monthl")
    });
    chord(a, &[CONTROL], "y");
    b.wait("the other redone", |d| {
        d.value(&body).ends_with("\n2. Report monthly")
    });
}

/// Acme pastes formatted HTML at the end of the first clause: the words,
/// their bold and the list item arrive; the colour and the link do not.
fn paste_keeps_text_and_light_formatting(a: &Device, b: &Device) {
    let body = within(FIRST, "clause-body");
    a.keys(&body, TO_END);
    a.script(
        "const field = document.querySelector(arguments[0]);
         const data = new DataTransfer();
         data.setData('text/html', '<p style=\"color:red\">Pasted <b>strong</b> <a href=\"https://example.org\">link</a></p><ul><li>one</li></ul>');
         data.setData('text/plain', 'Pasted strong link\\none');
         field.dispatchEvent(new InputEvent('beforeinput', {
           inputType: 'insertFromPaste', dataTransfer: data, bubbles: true, cancelable: true }));",
        &json!([body]),
    );
    b.wait("the pasted words", |d| {
        d.value(&body).ends_with("firmly.Pasted strong link\n- one")
    });
    assert!(
        b.texts(&format!("{body} strong"))
            .contains(&"strong".to_owned())
    );
    assert!(
        b.all(&format!("{body} a, {body} [style], {body} p, {body} li"))
            .is_empty()
    );
}

fn remote_edit_keeps_the_caret(a: &Device, b: &Device) {
    caret_stays_after_own_words(a, b, FOURTH, ["Acme: ", "Globex: ", "yes. "]);
}

/// Acme's caret stays after its own words while Globex inserts before
/// them in `clause`'s body: what Acme types next lands right after its
/// first words. `words` are Acme's first, Globex's, Acme's next.
pub(crate) fn caret_stays_after_own_words(a: &Device, b: &Device, clause: &str, words: [&str; 3]) {
    let [first, globex, next] = words;
    let body = within(clause, "clause-body");
    a.keys(&body, &format!("{TO_START}{first}"));
    b.wait("Acme's first words", |d| d.value(&body).starts_with(first));
    b.keys(&body, &format!("{TO_START}{globex}"));
    a.wait("Globex's words before Acme's", |d| {
        d.value(&body).starts_with(&format!("{globex}{first}"))
    });
    a.type_keys(next);
    for device in [a, b] {
        device.wait("Acme's next words right after its first", |d| {
            d.value(&body)
                .starts_with(&format!("{globex}{first}{next}"))
        });
    }
}

fn partner_caret_in_the_text(a: &Device, b: &Device) {
    let body = within(FOURTH, "clause-body");
    let caret = within(FOURTH, "remote-caret");
    // Globex selects "Acme" in the clause: Acme sees a caret with Globex's
    // name and a highlight over the word, inside the text.
    b.select_text(&body, "Globex: ".len(), "Globex: Acme".len());
    a.wait_text(&caret, "Bob Brown");
    a.wait("Globex's selection drawn", |d| {
        !d.all(&within(FOURTH, "remote-selection")).is_empty()
    });
    let colour = a
        .script(
            "return getComputedStyle(document.querySelector(arguments[0])).getPropertyValue('--party').trim();",
            &json!([caret]),
        )
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(colour.starts_with('#'), "party colour {colour:?}");
    // The caret is drawn over the clause text's box.
    let inside = a.script(
        "const [caret, body] = arguments;
         const c = document.querySelector(caret).getBoundingClientRect();
         const t = document.querySelector(body).getBoundingClientRect();
         return c.left >= t.left && c.right <= t.right + 4 && c.top >= t.top - 4 && c.bottom <= t.bottom + 4;",
        &json!([caret, body]),
    );
    assert_eq!(inside, json!(true), "the caret is drawn inside the text");
    // Globex leaves the text: gone well before presence's six seconds.
    b.click(&tid("version-name"));
    a.wait_within(Duration::from_secs(3), "the caret to go on blur", |d| {
        d.all(&caret).is_empty()
    });
    // Globex comes back, then drops off the network without a word.
    b.select_text(&body, 0, 0);
    a.wait_text(&caret, "Bob Brown");
    b.set_offline(true);
    a.wait_within(Duration::from_secs(4), "the caret to expire", |d| {
        d.all(&caret).is_empty()
    });
    b.set_offline(false);
    b.wait_text(&tid("sync-status"), "Saved");
}

/// Opens the fourth clause's comments unless selecting words already did.
fn open_comments(device: &Device) {
    if device.prop(&within(FOURTH, "comments"), "open") != Some(json!(true)) {
        device.click(&within(FOURTH, "comments-summary"));
    }
}

/// A thread on the whole clause is moved onto words Globex selects; Acme
/// sees it quote them.
fn attach_thread_to_words(a: &Device, b: &Device) {
    let body = within(FOURTH, "clause-body");
    open_comments(b);
    b.fill(&within(FOURTH, "new-comment"), "Who reports?");
    b.click(&within(FOURTH, "add-comment"));
    b.wait_text(&within(FOURTH, "comment"), "Who reports?");
    assert!(b.all(&within(FOURTH, "comment-quote")).is_empty());
    let text = b.value(&body);
    let start = text.find("Report monthly").expect("the list item");
    b.select_text(&body, start, start + "Report monthly".len());
    b.click(&within(FOURTH, "attach-words"));
    b.wait_text(&within(FOURTH, "comment-quote"), "Report monthly");
    open_comments(a);
    a.wait_text(&within(FOURTH, "comment-quote"), "Report monthly");
    a.wait_text(&within(FOURTH, "comment"), "Who reports?");
}

/// Pictures of the first clause at each width, none scrolling sideways,
/// each passing axe (serious and critical).
fn pictures(device: &Device) {
    let axe = axe_source();
    device.dismiss_notice();
    for width in [360, 768, 1280] {
        set_width(device, width);
        device.script(
            "document.querySelector(arguments[0]).scrollIntoView({ block: 'start' });",
            &json!([FOURTH]),
        );
        assert_eq!(
            sideways_scroll(device),
            0,
            "editor at {width}px scrolls sideways"
        );
        let violations = accessibility_violations(device, &axe);
        assert!(
            violations.is_empty(),
            "editor at {width}px: {violations:#?}"
        );
        screenshot(device, &format!("clause-editor-{width}"));
    }
}

#[test]
fn clause_editor_styles_lists_undo_caret_and_partner_carets() {
    let Some(org) = TwoOrganizations::start("clause editor end-to-end test") else {
        return;
    };
    let (a, b) = (&org.a, &org.b);
    org.agreement_from_outline();
    org.run(&[
        bold_and_italic,
        lists_and_undo,
        paste_keeps_text_and_light_formatting,
        remote_edit_keeps_the_caret,
        partner_caret_in_the_text,
        attach_thread_to_words,
    ]);
    // Acme's view with Globex's caret in the fourth clause.
    b.select_text(&within(FOURTH, "clause-body"), 0, "Globex".len());
    a.wait_text(&within(FOURTH, "remote-caret"), "Bob Brown");
    pictures(a);
    org.finish();
}
