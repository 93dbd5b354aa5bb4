//! Browser end-to-end for the operate pages (issue 7), with the devices and
//! helpers of [`crate::browser_plan`]: two Chromium profiles of two
//! organizations on one partnership.
//!
//! - A check-in from agenda to minutes to action items: Acme schedules it,
//!   builds the agenda, writes minutes, logs a decision and adds an overdue
//!   action item with owner and due date; Globex's device sees all of it and
//!   marks the action done, which Acme then sees.
//! - A health round revealed only after both parties submit: once Acme has
//!   answered, Globex sees "Acme submitted" and no ratings; once Globex has
//!   answered, both devices show both parties' averages, the gaps and the
//!   trend.
//!
//! - A risk registered with likelihood and impact lands on both devices'
//!   heat maps and leaves them when the partner closes it.
//!
//! - Governance sets up an escalation ladder, a committee with members of
//!   both parties and a decision right; a conflict raised by Acme starts at
//!   the bottom, Globex escalates it, Acme resolves it.
//!
//! - A retrospective with an overdue action reaches the partner; Acme's
//!   overview then lists that action and Globex's activity under "Needs
//!   attention".
//!
//! Needs the built app in `ACCORD_WEB_DIST` (`cargo xtask web`), Chromium and
//! chromedriver; `ACCORD_SKIP_BROWSER=1` skips.

use serde_json::{Value, json};

use crate::device::{Device, TO_END, TwoOrganizations, open_page, tid, type_at_both_ends};
use crate::forms::Form;
use crate::helpers::assert_holds_all;

/// The values of every input matching `css`, in document order.
fn values(device: &Device, css: &str) -> Vec<String> {
    device
        .all(css)
        .iter()
        .filter_map(|id| {
            device
                .try_cmd("GET", &format!("/element/{id}/property/value"), None)
                .ok()
        })
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Clicks `css`, which offers a file download, and returns the file's text:
/// the page's `URL.createObjectURL` is replaced first so the Blob is kept.
fn download(device: &Device, css: &str) -> String {
    device.cmd(
        "POST",
        "/execute/sync",
        Some(&json!({
            "script": "window.__downloads = []; \
                       URL.createObjectURL = (blob) => { window.__downloads.push(blob); return 'blob:captured'; };",
            "args": [],
        })),
    );
    device.click(css);
    let text = device.cmd(
        "POST",
        "/execute/async",
        Some(&json!({
            "script": "const done = arguments[arguments.length - 1]; \
                       const blob = window.__downloads.pop(); \
                       if (blob) { blob.text().then(done); } else { done(null); }",
            "args": [],
        })),
    );
    text.as_str()
        .unwrap_or_else(|| panic!("{css} offered no download"))
        .to_owned()
}

/// The form that adds an action item to a meeting or a review.
const ACTION: Form = Form::new("add-action", "action-error", "action-row");

fn checked(device: &Device, css: &str) -> bool {
    device.prop(css, "checked") == Some(Value::Bool(true))
}

fn meetings(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "meetings");

    // A duration of 0 minutes is refused inline and nothing is scheduled.
    let meeting = Form::new("schedule-meeting", "meeting-error", "meeting-card");
    let no_time = [
        ("new-meeting-kind", "check_in"),
        ("new-meeting-date", "2026-12-01"),
        ("new-meeting-time", "10:00"),
        ("new-meeting-duration", "0"),
    ];
    let refusal = "duration (minutes) must be between 1 and 1440 (got 0)";
    meeting.refuses(a, &no_time, refusal, 0);
    meeting.add(a, &[("new-meeting-duration", "45")], 1);
    a.wait_text(&tid("meeting-kind"), "Check-in");
    a.wait_value(&tid("meeting-title"), "Check-in");
    a.wait_text(&tid("meeting-when"), "2026-12-01 10:00 UTC");

    // Agenda: an empty item is refused; two items, one renamed.
    let agenda = Form::new("add-agenda", "agenda-error", "agenda-row");
    agenda.refuses(a, &[], "agenda item must not be empty", 0);
    for item in ["Pipeline review", "Webinar"] {
        agenda.submit(a, &[("new-agenda-item", item)]);
    }
    a.wait_count(&tid("agenda-row"), 2);
    a.enter(
        "[data-testid='agenda-row']:nth-child(2) [data-testid='agenda-item']",
        "Joint webinar in March",
    );
    a.wait("the renamed agenda", |d| {
        values(d, &tid("agenda-item")) == ["Pipeline review", "Joint webinar in March"]
    });
    a.click("[data-testid='agenda-row']:nth-child(2) [data-testid='agenda-up']");
    a.wait("the webinar first", |d| {
        values(d, &tid("agenda-item")) == ["Joint webinar in March", "Pipeline review"]
    });

    // Minutes, a decision, and an action item due in the past (overdue).
    a.enter(
        &tid("meeting-minutes"),
        "Pipeline is healthy. Webinar agreed for March.",
    );
    a.fill(&tid("new-decision"), "Co-host the March webinar");
    a.click(&tid("add-decision"));
    a.wait_text(&tid("decision-text"), "Co-host the March webinar");
    a.fill(&tid("new-action-title"), "Send the webinar brief");
    // A change from the partner re-renders the card; the typed text stays.
    b.enter(&tid("meeting-title"), "Check-in with Globex");
    a.wait_value(&tid("meeting-title"), "Check-in with Globex");
    assert_eq!(a.value(&tid("new-action-title")), "Send the webinar brief");
    let owned = [
        ("new-action-owner", "Bob Brown"),
        ("new-action-due", "2026-01-15"),
    ];
    ACTION.add(a, &owned, 1);
    a.wait_text(&tid("action-overdue"), "overdue");
    let owner = a.value(&tid("action-owner"));
    assert!(!owner.is_empty(), "the action has an owner");
    a.wait_value(&tid("action-due"), "2026-01-15");
    a.click(&tid("meeting-mark-held"));
    a.wait_text(&tid("meeting-held"), "held");

    // The calendar export holds the meeting as an event.
    let ics = download(a, &tid("meetings-ics"));
    let event = [
        "BEGIN:VCALENDAR",
        "SUMMARY:Check-in with Globex",
        "DTSTART:20261201T100000Z",
        "DTEND:20261201T104500Z",
    ];
    assert_holds_all("calendar export", &ics, &event);

    // The partner sees agenda, minutes, decision and action item.
    b.wait("the agenda on Globex's side", |d| {
        values(d, &tid("agenda-item")) == ["Joint webinar in March", "Pipeline review"]
    });
    b.wait_value(
        &tid("meeting-minutes"),
        "Pipeline is healthy. Webinar agreed for March.",
    );
    // Minutes are written as typed: Globex adds a sentence, Acme sees it.
    b.keys(&tid("meeting-minutes"), " Globex sends the deck.");
    a.wait_value(
        &tid("meeting-minutes"),
        "Pipeline is healthy. Webinar agreed for March. Globex sends the deck.",
    );
    // Both type into the minutes at once, at either end: both keep their words.
    let (acme, globex) = ("Attendees: both teams. ", " Next check-in in January.");
    let merged = format!(
        "{acme}Pipeline is healthy. Webinar agreed for March. Globex sends the deck.{globex}"
    );
    type_at_both_ends(a, b, &tid("meeting-minutes"), [acme, globex], &merged);
    b.wait_text(&tid("decision-text"), "Co-host the March webinar");
    b.wait_value(&tid("action-title"), "Send the webinar brief");
    b.wait_value(&tid("action-owner"), &owner);
    b.wait_value(&tid("action-due"), "2026-01-15");
    b.wait_text(&tid("action-overdue"), "overdue");
    b.wait_text(&tid("meeting-held"), "held");
    assert!(!checked(b, &tid("action-done")));

    // Globex marks it done; Acme sees it done and no longer overdue.
    b.click(&tid("action-done"));
    b.wait_text(&tid("action-done-at"), "done");
    a.wait("the action done on Acme's side", |d| {
        checked(d, &tid("action-done")) && d.all(&tid("action-overdue")).is_empty()
    });
    a.wait_text(&tid("action-done-at"), "done");
}

fn risks(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "risks");
    let cell = "[data-testid='heat-cell'][data-likelihood='4'][data-impact='5']";

    // A likelihood of 6 is refused inline and nothing is registered.
    let risk = Form::new("add-risk", "risk-error", "risk-row");
    let unlikely = [
        ("new-risk-title", "Key engineer leaves"),
        ("new-risk-likelihood", "6"),
        ("new-risk-impact", "5"),
    ];
    risk.refuses(
        a,
        &unlikely,
        "likelihood must be between 1 and 5 (got 6)",
        0,
    );
    let owned = [
        ("new-risk-likelihood", "4"),
        ("new-risk-owner", "Alice Adams"),
        ("new-risk-mitigation", "Pair on every component"),
    ];
    risk.add(a, &owned, 1);
    a.wait_text(&tid("risk-score"), "score 20");
    a.wait_text(&tid("risk-high"), "high");
    a.wait_text(cell, "1");

    // The partner sees it on the heat map, writes the contingency plan and
    // closes it; Acme's heat map empties.
    b.wait_text(cell, "1");
    b.wait_value(&tid("risk-mitigation"), "Pair on every component");
    // Acme keeps typing the mitigation while Globex changes the same risk:
    // the field keeps its focus and caret, and the words stay in order.
    a.keys(&tid("risk-mitigation"), &format!("{TO_END} and review"));
    b.wait_value(
        &tid("risk-mitigation"),
        "Pair on every component and review",
    );
    b.choose(&tid("risk-status"), "mitigating");
    a.wait_value(&tid("risk-status"), "mitigating");
    a.type_keys(" weekly");
    for device in [a, b] {
        device.wait_value(
            &tid("risk-mitigation"),
            "Pair on every component and review weekly",
        );
    }
    b.enter(&tid("risk-contingency"), "Contractor on call");
    b.choose(&tid("risk-status"), "closed");
    a.wait_value(&tid("risk-contingency"), "Contractor on call");
    a.wait_value(&tid("risk-status"), "closed");
    a.wait("the closed risk off the heat map", |d| {
        d.text(cell).is_empty() && d.all(&tid("risk-high")).is_empty()
    });

    // Removing only marks it deleted: the partner restores it, plan intact.
    a.click(&tid("risk-delete"));
    b.wait_count(&tid("risk-row"), 0);
    b.restore_removed("", "Key engineer leaves");
    a.wait_count(&tid("risk-row"), 1);
    a.wait_value(&tid("risk-contingency"), "Contractor on call");
}

fn governance_and_conflicts(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "governance");

    // The ladder: a level of 0 days is refused; two levels.
    let level = Form::new("add-level", "level-error", "level-row");
    let level_fields = |name, who, days| {
        [
            ("new-level-name", name),
            ("new-level-who", who),
            ("new-level-days", days),
        ]
    };
    let managers = level_fields("Partnership managers", "Alice and Bob", "0");
    level.refuses(
        a,
        &managers,
        "within (days) must be between 1 and 366 (got 0)",
        0,
    );
    level.add(a, &[("new-level-days", "14")], 1);
    level.add(a, &level_fields("Steering committee", "Both CEOs", "30"), 2);

    // A committee with a member of each party, and a decision right.
    let committee = Form::new("add-committee", "committee-error", "committee-row");
    committee.add(a, &[("new-committee-name", "Joint steering committee")], 1);
    a.click("[data-testid='committee-member'][data-member='Alice Adams']");
    a.wait_text(&tid("committee-parties"), "1 member(s) from 1 party(ies)");
    // Acme drafts the mandate and keeps typing while Globex joins the
    // committee: the change to the card takes neither focus nor words.
    a.keys(&tid("committee-mandate"), "Pricing and budget");
    b.wait_value(&tid("committee-mandate"), "Pricing and budget");
    b.click("[data-testid='committee-member'][data-member='Bob Brown']");
    a.wait_text(&tid("committee-parties"), "2 member(s) from 2 party(ies)");
    a.type_keys(" and escalations");
    for device in [a, b] {
        device.wait_value(
            &tid("committee-mandate"),
            "Pricing and budget and escalations",
        );
    }
    let right = Form::new("add-right", "right-error", "right-row");
    let pricing = [
        ("new-right-decision", "Pricing of joint offers"),
        ("new-right-decider", "Joint steering committee"),
    ];
    right.add(a, &pricing, 1);
    b.wait_value(&tid("right-decision"), "Pricing of joint offers");
    b.wait("the committee as decider", |d| {
        d.value(&tid("right-decider")).starts_with("committee:")
    });
    b.wait("both ladder levels in order", |d| {
        values(d, &tid("level-name")) == ["Partnership managers", "Steering committee"]
    });

    // A conflict starts at the bottom; Globex escalates it; Acme resolves it.
    open_page(a, b, base, "conflicts");
    let conflict = Form::new("raise-conflict", "conflict-error", "conflict-row");
    conflict.refuses(a, &[], "title must not be empty", 0);
    let one_sided = [
        ("new-conflict-title", "Lead sharing is one-sided"),
        ("new-conflict-severity", "high"),
    ];
    conflict.add(a, &one_sided, 1);
    a.wait_text(&tid("conflict-level"), "Level 1 of 2: Partnership managers");
    b.wait_text(&tid("conflict-level"), "Level 1 of 2: Partnership managers");
    b.wait_value(&tid("conflict-severity"), "high");
    // Acme describes it while Globex escalates it: the description keeps
    // its focus and words across the change.
    a.keys(&tid("conflict-description"), "Leads arrive late");
    b.wait_value(&tid("conflict-description"), "Leads arrive late");
    b.click(&tid("conflict-escalate"));
    a.wait_text(
        &tid("conflict-level"),
        "Level 2 of 2: Steering committee (Both CEOs)",
    );
    a.type_keys(" and unqualified");
    b.wait_value(
        &tid("conflict-description"),
        "Leads arrive late and unqualified",
    );
    // Then both add to it at once, at either end, and both keep theirs.
    let merged = "Since May: Leads arrive late and unqualified Both sides agree.";
    let ends = ["Since May: ", " Both sides agree."];
    type_at_both_ends(a, b, &tid("conflict-description"), ends, merged);
    a.wait_count(&tid("escalation-entry"), 2);
    a.wait("escalating further to be impossible at the top", |d| {
        d.prop(&tid("conflict-escalate"), "disabled") == Some(Value::Bool(true))
    });
    a.click(&tid("conflict-resolve"));
    a.wait_text(&tid("conflict-row-error"), "resolution must not be empty");
    a.fill(&tid("conflict-resolution"), "Monthly lead exchange agreed");
    a.click(&tid("conflict-resolve"));
    b.wait_text(&tid("conflict-status"), "resolved");
    b.wait_text(&tid("conflict-resolved"), "Monthly lead exchange agreed");
}

fn reviews_and_attention(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "reviews");

    // A period that ends before it starts is refused inline.
    let review = Form::new("add-review", "review-error", "review-card");
    let backwards = [
        ("new-review-kind", "retrospective"),
        ("new-review-from", "2026-10-01"),
        ("new-review-to", "2026-09-01"),
    ];
    review.refuses(
        a,
        &backwards,
        "period is not valid: it ends before it starts",
        0,
    );
    review.add(a, &[("new-review-to", "2026-10-31")], 1);
    a.wait_text(&tid("review-kind"), "Retrospective");
    a.enter(&tid("review-went-well"), "Joint pipeline doubled");
    let retro_notes = [
        ("new-action-title", "Share the retro notes"),
        ("new-action-owner", "Alice Adams"),
        ("new-action-due", "2026-11-01"),
    ];
    ACTION.add(a, &retro_notes, 1);
    a.wait_text(&tid("action-overdue"), "overdue");

    // The partner sees the review and its action and adds to it.
    b.wait_value(&tid("review-went-well"), "Joint pipeline doubled");
    b.wait_value(&tid("action-title"), "Share the retro notes");
    b.enter(&tid("review-to-improve"), "Answer leads within a day");
    a.wait_value(&tid("review-to-improve"), "Answer leads within a day");
    // Both write "went well" at once; the card stays put and both keep
    // their words.
    let (acme, globex) = ("Kick-off on time. ", " Shared dashboard live.");
    let merged = format!("{acme}Joint pipeline doubled{globex}");
    type_at_both_ends(a, b, &tid("review-went-well"), [acme, globex], &merged);

    // Acme's overview lists the overdue action and what Globex did since
    // Acme last looked; a report period ending before it starts is refused.
    a.click(&tid("tab-overview"));
    a.wait_text(&tid("attention-action"), "Share the retro notes");
    a.wait_text(&tid("attention-activity"), "Bob Brown (Globex) made");
    assert!(
        !a.text(&tid("attention-panel"))
            .contains("Send the webinar brief"),
        "a done action is not overdue"
    );
    a.choose(&tid("report-from"), "2026-12-01");
    a.choose(&tid("report-to"), "2026-01-01");
    a.click(&tid("report-markdown"));
    a.wait_text(
        &tid("report-error"),
        "report period is not valid: it ends before it starts",
    );
    a.choose(&tid("report-from"), "2026-01-01");
    a.choose(&tid("report-to"), "2026-12-31");
    let report = download(a, &tid("report-markdown"));
    assert!(
        report.starts_with("# Partnership report: Untitled partnership"),
        "{report}"
    );
    assert!(
        report.contains("- Open action items: 1 (1 overdue)"),
        "{report}"
    );
    // The print view shows the same report formatted, not as Markdown.
    a.click(&tid("report-print"));
    a.wait_text(
        "[data-testid='report-text'] h2",
        "Partnership report: Untitled partnership",
    );
    a.wait_text(
        "[data-testid='report-text'] li",
        "Open action items: 1 (1 overdue)",
    );
    assert!(!a.text(&tid("report-text")).contains("## "));
    a.click(&tid("report-close"));
    a.wait_count(&tid("report-text"), 0);
}

/// The average cell of `party` for `question` in the results table.
fn result(question: &str, party: &str) -> String {
    format!(
        "[data-testid='result-row'][data-question='{question}'] \
         [data-testid='result-value'][data-party='{party}']"
    )
}

/// Fills the answer form with `ratings` (in question order) and `comment`.
fn answer(device: &Device, ratings: [&str; 5], comment: &str) {
    let questions = [
        "Trust",
        "Communication",
        "Value delivered",
        "Alignment",
        "Responsiveness",
    ];
    for (question, rating) in questions.into_iter().zip(ratings) {
        device.fill(
            &format!("[data-testid='rating-input'][data-question='{question}']"),
            rating,
        );
    }
    device.fill(&tid("answer-comment"), comment);
    device.click(&tid("submit-answer"));
}

fn health(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "health");
    a.click(&tid("open-round"));
    a.wait_count(&tid("round-card"), 1);
    b.wait_count(&tid("round-card"), 1);
    b.element(&tid("submit-answer"));
    assert!(b.all(&tid("not-asked")).is_empty(), "Bob is asked");

    // A rating out of range is refused inline; nothing is sealed.
    answer(a, ["7", "4", "4", "5", "3"], "Great momentum");
    a.wait_text(
        &tid("answer-error"),
        "Trust must be between 1 and 5 (got 7)",
    );
    a.wait_text(&tid("round-sealed"), "0 answer(s) sealed");

    answer(a, ["5", "4", "4", "5", "3"], "Great momentum");
    a.wait_text(
        "[data-testid='party-progress'][data-party='Acme']",
        "Acme submitted",
    );
    a.wait_text(&tid("own-answer"), "5 · 4 · 4 · 5 · 3");

    // Globex sees that Acme is in, but nothing of what Acme answered.
    b.wait_text(
        "[data-testid='party-progress'][data-party='Acme']",
        "Acme submitted",
    );
    b.wait_text(
        "[data-testid='party-progress'][data-party='Globex']",
        "Globex: 0 of 1 answered",
    );
    b.wait_text(&tid("round-sealed"), "1 answer(s) sealed");
    assert!(b.all(&tid("health-results")).is_empty(), "no results yet");
    assert!(b.all(&tid("result-value")).is_empty(), "no ratings yet");
    assert!(
        !b.text("body").contains("Great momentum"),
        "Acme's free text is not readable before the reveal"
    );
    assert!(a.all(&tid("health-results")).is_empty(), "no results yet");

    // Acme moves to the overview; Globex answers. Every party is in: Globex's
    // health page and Acme's overview each publish their device's key.
    a.click(&tid("tab-overview"));
    a.element(&tid("attention-panel"));
    answer(b, ["2", "4", "3", "5", "3"], "Replies are slow");
    b.wait("Acme's answer revealed by Acme's overview", |d| {
        d.text(&result("Trust", "Acme")) == "5.0" && d.all(&tid("results-partial")).is_empty()
    });
    a.click(&tid("tab-health"));
    for device in [a, b] {
        device.wait_text(&result("Trust", "Acme"), "5.0");
        device.wait_text(&result("Trust", "Globex"), "2.0");
        device.wait_text(&result("Value delivered", "Acme"), "4.0");
        device.wait_text(&result("Value delivered", "Globex"), "3.0");
        device.wait("every answer revealed", |d| {
            d.all(&tid("results-partial")).is_empty()
        });
        device.wait_count(&tid("radar-party"), 2);
        device.wait_count("tr.gap[data-testid='result-row']", 2);
        device.element("tr.gap[data-question='Value delivered']");
        device.element("tr.gap[data-question='Trust']");
        device.wait_text(&tid("result-comment"), "Great momentum");
        device.wait_text(&tid("result-comment"), "Replies are slow");
        device.wait_count(&tid("trend-row"), 1);
        device.wait_count(&tid("trend-line"), 2);
        device.wait_text("[data-testid='trend-value'][data-party='Acme']", "4.2");
        device.wait_text("[data-testid='trend-value'][data-party='Globex']", "3.4");
    }
    assert!(a.all(&tid("submit-answer")).is_empty());
    assert!(b.all(&tid("submit-answer")).is_empty());
}

#[test]
fn operate_pages_create_edit_and_reach_the_partner() {
    let Some(org) = TwoOrganizations::start("operate pages end-to-end test") else {
        return;
    };
    org.run_with_base(&[
        meetings,
        health,
        risks,
        governance_and_conflicts,
        reviews_and_attention,
    ]);
    org.finish();
}
