//! Browser end-to-end for the agreement (issue 6): two organizations start
//! from the standard outline, type in the same clause at the same moment
//! and both keep their words; Acme signs a clause off, Globex edits it
//! offline, and once Globex is back the sign-off shows as void on both
//! devices. Comments, "changed since you last looked" and the history's
//! past version are checked on the way.
//!
//! Needs the built app in `ACCORD_WEB_DIST`, Chromium and chromedriver;
//! `ACCORD_SKIP_BROWSER=1` skips.

use crate::browser_editor::caret_stays_after_own_words;
use crate::device::clause::{FIRST, SECOND, THIRD, within};
use crate::device::{Device, TO_END, TO_START, TwoOrganizations, tid};

/// Both type into the first clause at once, from two threads: Acme at the
/// end, Globex at the start. Both texts survive whole, on both devices.
fn concurrent_typing(a: &Device, b: &Device) {
    let body = within(FIRST, "clause-body");
    let acme = " Acme adds its own sentence here.";
    let globex = "Globex opens with this. ";
    std::thread::scope(|s| {
        s.spawn(|| a.keys(&body, &format!("{TO_END}{acme}")));
        s.spawn(|| b.keys(&body, &format!("{TO_START}{globex}")));
    });
    for device in [a, b] {
        device.wait("both typists' words in the clause", |d| {
            let text = d.value(&body);
            text.contains(acme) && text.contains(globex)
        });
    }
    let (on_a, on_b) = (a.value(&body), b.value(&body));
    assert_eq!(on_a, on_b, "the devices disagree on the clause text");
    assert!(on_a.starts_with(globex), "{on_a:?}");
    assert!(on_a.ends_with(acme), "{on_a:?}");
}

fn remote_edit_keeps_the_caret(a: &Device, b: &Device) {
    caret_stays_after_own_words(a, b, THIRD, ["A1 ", "Globex first. ", "A2 "]);
}

fn signoff_voided_by_offline_edit(a: &Device, b: &Device) {
    let state = |clause: &str, state: &str| {
        format!("{clause} [data-testid='signoff-state'][data-state='{state}']")
    };
    a.click(&within(FIRST, "clause-sign"));
    for device in [a, b] {
        device.wait_text(&state(FIRST, "signed"), "Acme: signed by Alice Adams");
        device.wait_text(&tid("signoff-overview"), "Acme: signed 1 of 11 clauses");
    }
    // The second clause is untouched and stays unsigned.
    assert!(
        a.text(&state(SECOND, "unsigned"))
            .contains("Acme: not signed")
    );

    b.set_offline(true);
    b.wait_text(&tid("sync-status"), "Offline");
    b.keys(
        &within(FIRST, "clause-body"),
        &format!("{TO_END} Amended offline."),
    );
    b.wait_text(
        &state(FIRST, "void"),
        "Acme: void: the text changed after Alice Adams signed",
    );
    // Acme has not received the edit yet: its sign-off still stands there.
    assert!(a.text(&state(FIRST, "signed")).contains("Acme: signed"));

    b.set_offline(false);
    b.wait_text(&tid("sync-status"), "Saved");
    a.wait_text(
        &state(FIRST, "void"),
        "Acme: void: the text changed after Alice Adams signed",
    );
    for device in [a, b] {
        device.wait_text(&tid("signoff-overview"), "Acme: signed 0 of 11 clauses");
        assert!(device.all(&state(FIRST, "signed")).is_empty());
    }
    // Signing again covers the amended text.
    a.click(&within(FIRST, "clause-sign"));
    b.wait_text(&state(FIRST, "signed"), "Acme: signed by Alice Adams");
}

fn comments(a: &Device, b: &Device) {
    b.click(&within(SECOND, "comments-summary"));
    b.fill(
        &within(SECOND, "new-comment"),
        "Can we name the objectives here?",
    );
    b.click(&within(SECOND, "add-comment"));
    a.click(&within(SECOND, "comments-summary"));
    a.wait_text(
        &within(SECOND, "comment"),
        "Can we name the objectives here?",
    );
    a.wait_text(&within(SECOND, "comments-summary"), "1 open");
    // Acme's reply is still a draft when Globex starts another thread on
    // the clause: the draft survives and is sent as typed.
    a.fill(&within(SECOND, "reply"), "Yes, see the plan page.");
    b.fill(&within(SECOND, "new-comment"), "And who owns the budget?");
    b.click(&within(SECOND, "add-comment"));
    a.wait_text(&within(SECOND, "comments-summary"), "2 open");
    a.click(&within(SECOND, "send-reply"));
    b.wait_text(&within(SECOND, "thread"), "Yes, see the plan page.");
    b.click(&within(SECOND, "resolve-thread"));
    a.wait_text(&within(SECOND, "comments-summary"), "1 open");
    b.click(&within(SECOND, "resolve-thread"));
    a.wait_text(&within(SECOND, "comments-summary"), "all resolved");
}

fn changed_since_and_history(a: &Device) {
    // Globex typed in the first clause since Acme opened the page.
    a.wait_text(
        &within(FIRST, "clause-changed"),
        "changed by Bob Brown (Globex) since you last looked",
    );
    a.click(&tid("mark-seen"));
    a.wait("the change note to clear", |d| {
        d.all(&tid("changed-since")).is_empty()
    });

    a.click(&tid("history-summary"));
    a.wait_text(&tid("history-entry"), "Bob Brown (Globex)");
    // The oldest entry is the outline: its version lacks everything typed
    // since. Every keystroke is a change, so older pages are fetched first.
    while !a.all(&tid("history-more")).is_empty() {
        let shown = a.all(&tid("history-entry")).len();
        a.click(&tid("history-more"));
        a.wait("older history entries", |d| {
            d.all(&tid("history-entry")).len() > shown
        });
    }
    let entries = a.all(&tid("history-entry")).len();
    assert!(entries > 50, "{entries} history entries");
    a.click(&format!(
        "{} li:last-child {}",
        tid("history"),
        tid("history-view")
    ));
    a.wait_text(&tid("version-view"), "compared with now");
    a.wait("the first clause's typed words shown as added", |d| {
        d.text(&format!("{} ins", tid("version-diff")))
            .contains("Acme")
    });
    // Compared with the next-oldest version instead of now: the words typed
    // much later are no longer part of the difference.
    a.click(&format!(
        "{} li:nth-last-child(2) {}",
        tid("history"),
        tid("history-compare")
    ));
    a.wait("the heading to name two past versions", |d| {
        let heading = d.text(&tid("version-heading"));
        heading.contains("compared with") && !heading.contains("compared with now")
    });
    a.wait("the later typing to leave the difference", |d| {
        !d.text(&format!("{} ins", tid("version-diff")))
            .contains("Acme")
    });
    a.click(&tid("version-against-now"));
    a.wait_text(&tid("version-heading"), "compared with now");
    a.click(&tid("version-close"));
}

#[test]
fn agreement_co_editing_signoff_and_offline_void() {
    let Some(org) = TwoOrganizations::start("agreement end-to-end test") else {
        return;
    };
    let (a, b, base) = (&org.a, &org.b, org.base.as_str());
    org.agreement_from_outline();
    for device in [&a, &b] {
        device.wait_value(&within(FIRST, "clause-title"), "Purpose");
    }
    org.run(&[
        concurrent_typing,
        remote_edit_keeps_the_caret,
        signoff_voided_by_offline_edit,
        comments,
    ]);
    changed_since_and_history(a);
    // The overview's attention panel: Acme waits for Globex, Globex is asked.
    for device in [&a, &b] {
        device.goto(base);
    }
    a.wait_text(
        &tid("attention-awaiting-partner"),
        "awaiting Globex: Purpose",
    );
    b.wait_text(
        &tid("attention-awaiting-us"),
        "Awaiting your organization's sign-off: Purpose",
    );
    org.finish();
}
