//! Browser end-to-end for the plan pages (issue 5): for each of vetting,
//! objectives and KPIs, roles, communication plan and milestones, one device
//! tries invalid input (the op's message shows inline and nothing changes),
//! creates and edits, and the partner's device — another Chromium profile
//! that joined through an invite link — sees it and edits back.
//!
//! Needs the built app in `ACCORD_WEB_DIST` (`cargo xtask web`), Chromium and
//! chromedriver; `ACCORD_SKIP_BROWSER=1` skips. Every wait polls with a
//! timeout, so the test does not depend on timing.

use serde_json::Value;

use crate::device::{Device, TAB, TO_END, TwoOrganizations, open_page, tid, type_at_both_ends};
use crate::forms::Form;

fn vetting(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "vetting");
    let acme = "[data-testid='score-input'][data-party='Acme']";
    let globex = "[data-testid='score-input'][data-party='Globex']";
    let acme_total = "[data-testid='vetting-total'][data-party='Acme']";
    a.wait_count(&tid("criterion-row"), 7);

    // Out of range: the message shows inline and nothing is stored.
    a.enter(acme, "7");
    a.wait_text(
        &tid("vetting-error"),
        "score must be between 1 and 5 (got 7)",
    );
    assert_eq!(a.text(acme_total), "—");

    // Each organization scores its own column.
    a.wait("Globex's column to be read-only for Acme", |d| {
        d.prop(globex, "disabled") == Some(Value::Bool(true))
    });

    // Create and edit: a score, a renamed criterion, a checklist item.
    a.enter(acme, "4");
    a.wait_text(acme_total, "4.00");
    assert!(
        a.all(&tid("vetting-error")).is_empty(),
        "the message clears"
    );
    a.enter(&tid("criterion-name"), "Track record (audited)");
    let diligence = Form::new("add-diligence", "diligence-error", "diligence-row");
    let evidence = "https://example.org/accounts.pdf";
    diligence.add(
        a,
        &[
            ("new-diligence-item", "Audited accounts 2025"),
            ("new-diligence-evidence", evidence),
        ],
        1,
    );
    diligence.refuses(a, &[], "must not be empty", 1);

    // The partner sees it all and scores their side; Acme sees that.
    b.wait_value(&tid("criterion-name"), "Track record (audited)");
    b.wait_text(acme_total, "4.00");
    b.wait_value(&tid("diligence-item"), "Audited accounts 2025");
    b.enter(globex, "2");
    b.click(&tid("diligence-done"));
    a.wait_text("[data-testid='vetting-total'][data-party='Globex']", "2.00");
    a.wait_text(&tid("vetting-combined"), "3.00");
    a.wait("the check done on Acme's side", |d| {
        d.prop(&tid("diligence-done"), "checked") == Some(Value::Bool(true))
    });

    // Acme is still writing a note (not yet committed) when Globex scores
    // the same criterion: the note being written is left alone.
    let acme_note = "[data-testid='score-note'][aria-label='Note of Acme']";
    a.keys(acme_note, "Ten years of audited");
    b.enter(globex, "3");
    a.wait_text("[data-testid='vetting-total'][data-party='Globex']", "3.00");
    a.type_keys(&format!(" accounts{TAB}"));
    b.wait_value(acme_note, "Ten years of audited accounts");
}

fn objectives(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "objectives");

    // An empty title is refused inline.
    let objective = Form::new("add-objective", "objective-error", "objective-row");
    objective.refuses(a, &[], "title must not be empty", 0);
    objective.add(a, &[("new-objective-title", "Launch in the Nordics")], 1);
    a.choose(&tid("objective-status"), "in_progress");

    // A quantitative KPI needs a unit.
    let kpi = Form::new("add-kpi", "kpi-error", "kpi-card");
    let unitless = [
        ("new-kpi-name", "Qualified leads"),
        ("new-kpi-target", "50"),
    ];
    kpi.refuses(a, &unitless, "needs a unit", 0);
    kpi.add(a, &[("new-kpi-unit", "leads")], 1);
    a.wait_text(&tid("kpi-health"), "no data");

    // A measurement: 20 of 50 from 0 is 40 %: at risk; a bad value is refused.
    let measurement = Form::new("record-measurement", "measurement-error", "measurement-row");
    let value = |text| [("measurement-value-input", text)];
    measurement.refuses(a, &value("lots"), "value must be a number", 0);
    measurement.add(a, &value("20"), 1);
    a.wait_text(&tid("kpi-health"), "at risk");
    a.element(&tid("kpi-target-line"));

    // The partner sees objective, status, KPI, chart; records 45 (on track).
    b.wait_value(&tid("objective-title"), "Launch in the Nordics");
    b.wait_value(&tid("objective-status"), "in_progress");
    // Both list deliverables at once, at either end: both keep theirs.
    let deliverables = tid("objective-deliverables");
    a.keys(&deliverables, "Launch plan.");
    b.wait_value(&deliverables, "Launch plan.");
    let merged = "Pricing sheet. Launch plan. Partner list.";
    type_at_both_ends(
        a,
        b,
        &deliverables,
        ["Pricing sheet. ", " Partner list."],
        merged,
    );
    b.wait_text(&tid("kpi-health"), "at risk");
    b.element(&tid("kpi-chart"));
    measurement.submit(b, &value("45"));
    b.enter(&tid("objective-title"), "Launch in Norway and Sweden");
    a.wait_count(&tid("measurement-row"), 2);
    a.wait_text(&tid("kpi-health"), "on track");
    a.wait_value(&tid("objective-title"), "Launch in Norway and Sweden");
    let dots = a.all("[data-testid='kpi-chart'] circle").len();
    assert_eq!(dots, 2, "one dot per measurement");

    // The partner corrects the newest value (listed first): 30 is 60 %.
    b.wait_count(&tid("measurement-row"), 2);
    b.enter(&tid("measurement-value"), "thirty");
    b.wait_text(&tid("measurement-error"), "value must be a number");
    b.enter(&tid("measurement-value"), "30");
    a.wait_value(&tid("measurement-value"), "30");
    a.wait_text(&tid("kpi-health"), "at risk");
    // Removing it leaves the first measurement on both devices.
    a.click(&tid("measurement-delete"));
    for device in [a, b] {
        device.wait_count(&tid("measurement-row"), 1);
        device.wait_value(&tid("measurement-value"), "20");
    }
    // The partner brings it back from the KPI's removed list.
    b.restore_removed(&tid("kpi-card"), "30");
    a.wait_count(&tid("measurement-row"), 2);
    a.wait_value(&tid("measurement-value"), "30");
    // The KPI is linked to the objective on one device, seen on the other.
    b.choose_label(&tid("kpi-objective"), "Launch in Norway and Sweden");
    a.wait_selected(&tid("kpi-objective"), "Launch in Norway and Sweden");
    // A lower target and a slower cadence; a zero cadence is refused.
    a.click(&tid("kpi-settings"));
    let settings = Form::new("kpi-edit-save", "kpi-edit-error", "kpi-card");
    settings.refuses(a, &[("kpi-edit-cadence", "0")], "between 1 and 366", 1);
    settings.submit(a, &[("kpi-edit-target", "25"), ("kpi-edit-cadence", "90")]);
    for device in [a, b] {
        device.wait_text(&tid("kpi-target"), "0 → 25 leads");
        device.wait_text(&tid("kpi-health"), "on track");
        device.wait_text(&tid("kpi-card"), "every 90 days");
    }
}

fn roles(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "roles");
    let activity = Form::new("add-activity", "raci-error", "raci-row");
    activity.refuses(a, &[], "must not be empty", 0);
    activity.add(a, &[("new-activity", "Joint webinar")], 1);
    a.wait_text(&tid("raci-warning"), "nobody is accountable");
    a.wait_text(&tid("raci-warning"), "nobody is responsible");
    a.choose("[data-testid='raci-cell'][data-member='Alice Adams']", "A");
    a.wait("only the missing R to be flagged", |d| {
        let warning = d.text(&tid("raci-warning"));
        warning.contains("nobody is responsible") && !warning.contains("accountable")
    });

    b.wait_value("[data-testid='raci-cell'][data-member='Alice Adams']", "A");
    b.wait_text(&tid("raci-warning"), "nobody is responsible");
    b.choose("[data-testid='raci-cell'][data-member='Bob Brown']", "R");
    a.wait("the warning to go", |d| {
        d.all(&tid("raci-warning")).is_empty()
    });
    a.wait_value("[data-testid='raci-cell'][data-member='Bob Brown']", "R");
}

fn communication(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "communication");
    let comm = Form::new("add-comm", "comm-error", "comm-row");
    let never = [
        ("new-comm-what", "Status report"),
        ("new-comm-frequency", "0"),
    ];
    comm.refuses(a, &never, "frequency (days) must be between 1 and 366", 0);
    let monthly = [
        ("new-comm-frequency", "30"),
        ("new-comm-audience", "Steering committee"),
        ("new-comm-medium", "Email"),
    ];
    comm.add(a, &monthly, 1);
    a.wait("a next-due date", |d| {
        !d.text(&tid("comm-next-due")).is_empty()
    });
    let first_due = a.text(&tid("comm-next-due"));
    a.click(&tid("comm-sent"));
    a.wait("the next due date to move a month on", |d| {
        let due = d.text(&tid("comm-next-due"));
        !due.is_empty() && due != first_due
    });
    let due = a.text(&tid("comm-next-due"));

    b.wait_value(&tid("comm-audience"), "Steering committee");
    b.wait_text(&tid("comm-next-due"), &due);
    b.enter(&tid("comm-medium"), "Video call");
    a.wait_value(&tid("comm-medium"), "Video call");
    a.wait_value(&tid("comm-what"), "Status report");
}

fn milestones(a: &Device, b: &Device, base: &str) {
    open_page(a, b, base, "milestones");
    let milestone = Form::new("add-milestone", "milestone-error", "milestone-row");
    let title = |text| [("new-milestone-title", text)];
    milestone.refuses(a, &[], "title must not be empty", 0);
    milestone.add(a, &title("Pilot agreement signed"), 1);
    a.click(&tid("milestone-achieve"));
    a.wait_text(&tid("milestone-achieved"), "achieved");
    a.enter(&tid("milestone-celebration"), "Team dinner in Oslo");

    b.wait_value(&tid("milestone-celebration"), "Team dinner in Oslo");
    b.wait_text(&tid("milestone-achieved"), "achieved");
    b.enter(&tid("milestone-title"), "Pilot agreement signed by both");
    a.wait_value(&tid("milestone-title"), "Pilot agreement signed by both");

    // Removing only marks it deleted: the partner restores it, edits intact.
    a.click(&tid("milestone-delete"));
    b.wait_count(&tid("milestone-row"), 0);
    b.restore_removed("", "Pilot agreement signed by both");
    a.wait_count(&tid("milestone-row"), 1);
    a.wait_value(&tid("milestone-celebration"), "Team dinner in Oslo");

    // A second milestone, moved to the top, is on top for the partner too.
    milestone.add(a, &title("Kick-off workshop"), 2);
    a.click("[data-testid='milestone-row']:nth-child(2) [data-testid='move-up']");
    b.wait_value(&tid("milestone-title"), "Kick-off workshop");
    a.wait_value(&tid("milestone-title"), "Kick-off workshop");

    // Globex is still typing a title (not yet committed) when Acme renames
    // the other milestone: the row being typed in is left alone.
    let second = "[data-testid='milestone-row']:nth-child(2) [data-testid='milestone-title']";
    b.keys(second, &format!("{TO_END} parties"));
    a.enter(&tid("milestone-title"), "Kick-off workshop in Oslo");
    b.wait_value(&tid("milestone-title"), "Kick-off workshop in Oslo");
    b.type_keys(TAB);
    a.wait_value(second, "Pilot agreement signed by both parties");
}

fn overview(a: &Device, b: &Device, base: &str) {
    a.click(&tid("tab-overview"));
    b.goto(base);
    a.enter(&tid("review-cadence"), "0");
    a.wait_text(&tid("review-error"), "between 1 and 366");
    a.enter(&tid("review-cadence"), "30");
    a.click(&tid("record-check-in"));
    a.wait("a next check-in", |d| {
        !d.text(&tid("next-check-in")).is_empty()
    });
    let next = a.text(&tid("next-check-in"));
    a.enter("[data-testid='party-strengths']", "Product and engineering");
    b.wait_value(&tid("review-cadence"), "30");
    b.wait_text(&tid("next-check-in"), &next);
    b.wait_value("[data-testid='party-strengths']", "Product and engineering");
    // Both sides add to Acme's strengths at once, at either end.
    let merged = "Brand, Product and engineering, field sales";
    type_at_both_ends(
        a,
        b,
        &tid("party-strengths"),
        ["Brand, ", ", field sales"],
        merged,
    );
}

#[test]
fn plan_pages_create_edit_and_reach_the_partner() {
    let Some(org) = TwoOrganizations::start("plan pages end-to-end test") else {
        return;
    };
    org.run_with_base(&[
        vetting,
        objectives,
        roles,
        communication,
        milestones,
        overview,
    ]);
    org.finish();
}
