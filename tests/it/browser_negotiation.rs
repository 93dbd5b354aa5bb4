//! Browser end-to-end for negotiation (issue 16), two organizations and a
//! real relay: Acme proposes the first clause, so Globex may only suggest;
//! Globex suggests a replacement while offline as Acme edits the same
//! clause; once Globex is back, Acme signs off and accepts the suggestion:
//! both devices read the same text and Acme's sign-off is void. A named
//! version's redline shows the replaced words, a comment on selected words
//! follows them while the partner types before them and reads "text
//! removed" once they are gone; the partner's caret shows in the clause
//! while they type and goes when they leave it; the redline prints. Screenshots of suggesting mode and of a
//! redline are written at 1280 and 360 px, and neither scrolls sideways.
//!
//! Needs the built app in `ACCORD_WEB_DIST`, Chromium and chromedriver;
//! `ACCORD_SKIP_BROWSER=1` skips.

use serde_json::json;

use crate::browser_look::{
    accessibility_violations, axe_source, screenshot, set_width, sideways_scroll,
};
use crate::device::clause::{FIRST, SECOND, within};
use crate::device::{Device, SELECT_ALL, TO_START, TwoOrganizations, tid};

fn state(clause: &str, state: &str) -> String {
    format!("{clause} [data-testid='signoff-state'][data-party][data-state='{state}']")
}

/// Scrolls `css` to the top of the window.
fn show(device: &Device, css: &str) {
    device.element(css);
    device.script(
        "document.querySelector(arguments[0]).scrollIntoView({ block: 'start' });",
        &json!([css]),
    );
}

/// Pictures of `css` at 1280 and 360 px as `name-<width>.png`, checking
/// the page does not scroll sideways at either width and has no serious
/// or critical axe-core violation.
fn pictures(device: &Device, css: &str, name: &str) {
    let axe = axe_source();
    // The "you are offline" notice from earlier would cover the view.
    if device.dismiss_notice() {
        device.wait("the notice to close", |d| d.all(&tid("toast")).is_empty());
    }
    for width in [360, 1280] {
        set_width(device, width);
        show(device, css);
        let overflow = sideways_scroll(device);
        assert_eq!(overflow, 0, "{name} at {width}px scrolls sideways");
        let violations = accessibility_violations(device, &axe);
        assert!(
            violations.is_empty(),
            "{name} at {width}px: {violations:#?}"
        );
        screenshot(device, &format!("{name}-{width}"));
    }
}

fn suggest_accept_and_void(a: &Device, b: &Device) {
    // Acme proposes the first clause: Globex can now only suggest.
    a.choose(&within(FIRST, "clause-status"), "proposed");
    b.wait_text(&within(FIRST, "suggest-only"), "Proposed by Acme");
    assert_eq!(
        b.prop(&within(FIRST, "suggesting-toggle"), "checked"),
        Some(json!(true))
    );
    assert!(b.all(&within(FIRST, "clause-body")).is_empty());
    let original = a.value(&within(FIRST, "clause-body"));
    assert!(original.contains("what they expect"), "{original:?}");

    // Globex, offline, replaces "expect" with "intend"; Acme meanwhile
    // edits the start of the same clause.
    b.set_offline(true);
    b.wait_text(&tid("sync-status"), "Offline");
    let suggested = original.replace("what they expect", "what they intend");
    b.keys(
        &within(FIRST, "suggest-body"),
        &format!("{SELECT_ALL}{suggested}"),
    );
    b.click(&within(FIRST, "suggest-submit"));
    b.wait_text(&within(FIRST, "suggestion"), "suggests to replace");
    a.keys(
        &within(FIRST, "clause-body"),
        &format!("{TO_START}In short: "),
    );
    a.wait_text(&tid("sync-status"), "Saved");
    assert!(a.all(&within(FIRST, "suggestion")).is_empty());

    b.set_offline(false);
    b.wait_text(&tid("sync-status"), "Saved");
    for device in [a, b] {
        device.wait_text(&within(FIRST, "suggestion-deleted"), "expect");
        device.wait_text(&within(FIRST, "suggestion-inserted"), "intend");
        device.wait_text(&within(FIRST, "suggestion"), "Bob Brown (Globex)");
    }
    // Globex's untouched suggestion box follows Acme's edit.
    b.wait("Acme's edit in Globex's suggestion box", |d| {
        d.value(&within(FIRST, "suggest-body"))
            .starts_with("In short: ")
    });
    pictures(b, FIRST, "negotiation-suggesting");
    set_width(b, 1280);

    // Acme signs the clause as it reads, saves the round, then accepts.
    a.click(&within(FIRST, "clause-sign"));
    b.wait_text(&state(FIRST, "signed"), "Acme: signed by Alice Adams");
    a.fill(&tid("version-name"), "Round 1");
    a.click(&tid("version-save"));
    b.wait_text(&tid("version-item"), "Round 1");
    a.click(&within(FIRST, "suggestion-accept"));
    let expected = format!("In short: {suggested}");
    a.wait_value(&within(FIRST, "clause-body"), &expected);
    b.wait_value(&within(FIRST, "suggest-body"), &expected);
    for device in [a, b] {
        device.wait_text(
            &state(FIRST, "void"),
            "Acme: void: the text changed after Alice Adams signed",
        );
        device.wait("the accepted suggestion to leave the open list", |d| {
            d.all(&within(FIRST, "suggestion")).is_empty()
        });
        // Folded away under "Decided suggestions", and on record.
        let decided = device.prop(&within(FIRST, "suggestion-decided"), "textContent");
        let decided = decided
            .as_ref()
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        assert!(decided.contains("Accepted by Alice Adams"), "{decided:?}");
    }
}

fn redline(a: &Device, b: &Device) {
    a.fill(&tid("version-name"), "Round 2");
    a.click(&tid("version-save"));
    b.wait_count(&tid("version-item"), 2);
    // Round 1 against Round 2 on Globex's device, Round 1 against now on
    // Acme's: both show "expect" replaced by "intend" in the first clause.
    b.choose_label(&tid("compare-from"), "Round 1");
    b.choose_label(&tid("compare-to"), "Round 2");
    a.choose_label(&tid("compare-from"), "Round 1");
    for device in [a, b] {
        device.wait_text(&tid("redline-heading"), "1 of 11 clauses changed");
        assert_eq!(device.texts(&tid("redline-deleted")), ["expect"]);
        assert_eq!(device.texts(&tid("redline-inserted")), ["intend"]);
    }
    assert!(
        b.text(&tid("redline-heading"))
            .contains("from “Round 1” to “Round 2”")
    );
    pictures(a, &tid("versions"), "negotiation-redline");
    set_width(a, 1280);
    // "Print redline" puts the redline, not the agreement, in the print
    // view while the print dialog is open (the dialog is stubbed to read
    // what it would print).
    a.script(
        "window.__printed = null;
         window.print = () => {
           window.__printed = document.querySelector(\"[data-testid='print-view']\").textContent;
         };",
        &json!([]),
    );
    a.click(&tid("redline-print"));
    a.wait("the redline in the print view", |d| {
        let printed = d.script("return window.__printed;", &json!([]));
        printed.as_str().is_some_and(|text| {
            text.contains("redline from “Round 1” to “now”")
                && text.contains("expect")
                && text.contains("intend")
        })
    });
    a.wait("the agreement back in the print view", |d| {
        d.prop(&tid("print-view"), "textContent")
            .and_then(|v| {
                v.as_str()
                    .map(|t| t.contains("Partnership agreement, printed"))
            })
            .unwrap_or(false)
    });
}

fn comment_on_words(a: &Device, b: &Device) {
    let body = within(SECOND, "clause-body");
    let text = b.value(&body);
    let words = "shared objectives";
    let start = text.find(words).expect("the outline's second clause");
    b.select_text(&body, start, start + words.len());
    b.wait_text(&within(SECOND, "comment-selection"), words);
    b.fill(&within(SECOND, "new-comment"), "Which ones exactly?");
    b.click(&within(SECOND, "add-comment"));
    a.click(&within(SECOND, "comments-summary"));
    a.wait_text(&within(SECOND, "comment-quote"), words);
    a.wait_text(&within(SECOND, "comment"), "Which ones exactly?");
    // Acme types before the words: the comment keeps to them.
    a.keys(&body, &format!("{TO_START}Jointly: "));
    b.wait("Acme's words in the clause", |d| {
        d.value(&body).starts_with("Jointly: ")
    });
    b.wait_text(&within(SECOND, "comment-quote"), words);
    // Globex sees where Acme's caret is, in the clause, until Acme leaves
    // the text box.
    b.wait_text(
        &within(SECOND, "partner-caret"),
        "Alice Adams (Acme) is typing here: Jointly: ",
    );
    a.click(&tid("version-name"));
    b.wait("Acme's caret to go", |d| {
        d.all(&within(SECOND, "partner-caret")).is_empty()
    });
    // Acme rewrites the clause: the words are gone.
    a.keys(&body, &format!("{SELECT_ALL}The parties pursue the plan."));
    for device in [a, b] {
        device.wait_text(&within(SECOND, "comment-quote-removed"), words);
    }
}

#[test]
fn negotiation_suggest_accept_redline_and_comment_on_words() {
    let Some(org) = TwoOrganizations::start("negotiation end-to-end test") else {
        return;
    };
    org.agreement_from_outline();
    org.run(&[suggest_accept_and_void, redline, comment_on_words]);
    org.finish();
}
