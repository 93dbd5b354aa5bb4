//! The partnership report for a period, as Markdown: status and stage, KPIs
//! with their health, risks, health-check results and the decisions taken.
//!
//! Deterministic: the output depends only on the document, the period and
//! `now` (all dates UTC), so every device renders the same bytes. The app
//! shows it, offers it as a `.md` download, and prints it to PDF with the
//! print stylesheet.
//!
//! What is in the period: decisions (`at`), conflict resolutions
//! (`resolved_at`), achieved milestones (`achieved_at`) and reviews
//! (overlapping the period). KPIs and risks are shown as they stand now.
//! The health check is the latest round opened by the end of the period
//! whose answers are revealed.

use std::fmt::Write as _;

use automerge::ReadDoc;

use crate::calendar::UtcDateTime;
use crate::model::conflicts;
use crate::model::health::{self, Question};
use crate::model::ids::{MemberId, PartyId};
use crate::model::kpis::{self, Health, KpiKind};
use crate::model::meetings;
use crate::model::members;
use crate::model::milestones;
use crate::model::overview;
use crate::model::parties;
use crate::model::reviews;
use crate::model::risks::{self, HIGH_SCORE, RiskStatus};

/// The period a report covers.
pub use crate::model::period::Period;

fn date(ms: u64) -> String {
    UtcDateTime::from_millis(ms).date()
}

/// One line of a table cell: no pipes, no line breaks.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn number(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    format!("{rounded}")
}

fn health_label(health: Health) -> &'static str {
    match health {
        Health::NoData => "no data",
        Health::OffTrack => "off track",
        Health::AtRisk => "at risk",
        Health::OnTrack => "on track",
    }
}

/// The report for `period`, generated at `now` (UTC ms).
pub fn markdown<R: ReadDoc>(doc: &R, period: Period, now: u64) -> String {
    let overview = overview::read(doc);
    let parties = parties::list(doc);
    let people = members::list(doc);
    let member_name = |id: Option<MemberId>| {
        id.and_then(|id| people.iter().find(|m| m.id == id))
            .map_or_else(|| "—".to_owned(), |m| cell(&m.name))
    };
    let party_name = |id: PartyId| {
        parties
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| "(removed party)".to_owned(), |p| cell(&p.fields.name))
    };
    let mut out = String::new();
    let _ = writeln!(out, "# Partnership report: {}\n", cell(&overview.title));
    let _ = writeln!(
        out,
        "Period: {} to {} (UTC). Generated {}.\n",
        date(period.from),
        date(period.to),
        date(now)
    );

    // Status.
    out.push_str("## Status\n\n");
    let _ = writeln!(out, "- Stage: **{}**", overview.stage);
    let names: Vec<String> = parties
        .iter()
        .map(|p| match p.fields.role.trim() {
            "" => cell(&p.fields.name),
            role => format!("{} ({})", cell(&p.fields.name), cell(role)),
        })
        .collect();
    let _ = writeln!(out, "- Parties: {}", names.join(", "));
    let _ = writeln!(
        out,
        "- Last check-in: {}; next due: {}",
        overview
            .last_check_in
            .map_or_else(|| "none yet".to_owned(), date),
        overview.next_check_in.map_or_else(|| "—".to_owned(), date)
    );
    let actions = crate::views::attention::all_actions(doc);
    let open_actions = actions.iter().filter(|a| !a.action.done).count();
    let overdue_actions = actions.iter().filter(|a| a.action.is_overdue(now)).count();
    let _ = writeln!(
        out,
        "- Open action items: {open_actions} ({overdue_actions} overdue)"
    );
    let all_conflicts = conflicts::list(doc);
    let open_conflicts = all_conflicts.iter().filter(|c| c.is_open()).count();
    let overdue_conflicts = all_conflicts.iter().filter(|c| c.is_overdue(now)).count();
    let _ = writeln!(
        out,
        "- Open conflicts: {open_conflicts} ({overdue_conflicts} past their escalation deadline)\n"
    );

    // KPIs.
    out.push_str("## KPIs\n\n");
    let kpis = kpis::list(doc);
    if kpis.is_empty() {
        out.push_str("No KPIs defined.\n\n");
    } else {
        out.push_str("| KPI | Latest | Target | Health |\n|---|---|---|---|\n");
        for kpi in &kpis {
            let (unit, target) = match &kpi.fields.kind {
                KpiKind::Quantitative { unit, target, .. } => (format!(" {}", cell(unit)), *target),
                KpiKind::Qualitative { scale, target } => (format!("/{scale}"), f64::from(*target)),
            };
            let latest = kpi.measurements.last().map_or_else(
                || "—".to_owned(),
                |m| format!("{}{unit} ({})", number(m.value), date(m.at)),
            );
            let _ = writeln!(
                out,
                "| {} | {latest} | {}{unit} | {} |",
                cell(&kpi.fields.name),
                number(target),
                health_label(kpi.health)
            );
        }
        out.push('\n');
    }

    // Risks.
    out.push_str("## Risks\n\n");
    let mut register: Vec<risks::Risk> = risks::list(doc)
        .into_iter()
        .filter(|r| r.status != RiskStatus::Closed)
        .collect();
    register.sort_by(|a, b| b.score().cmp(&a.score()).then(a.id.cmp(&b.id)));
    let high = register.iter().filter(|r| r.is_high()).count();
    let _ = writeln!(
        out,
        "{} open, {high} high (likelihood × impact ≥ {HIGH_SCORE}).\n",
        register.len()
    );
    if !register.is_empty() {
        out.push_str(
            "| Risk | Likelihood | Impact | Score | Owner | Status |\n|---|---|---|---|---|---|\n",
        );
        for risk in &register {
            let _ = writeln!(
                out,
                "| {}{} | {} | {} | {} | {} | {} |",
                cell(&risk.fields.title),
                if risk.is_high() { " **(high)**" } else { "" },
                risk.fields.likelihood,
                risk.fields.impact,
                risk.score(),
                member_name(risk.fields.owner),
                risk.status.as_str()
            );
        }
        out.push('\n');
    }

    // Health check.
    out.push_str("## Health check\n\n");
    let round = health::list(doc)
        .into_iter()
        .rfind(|r| r.opened_at <= period.to && r.results.is_some());
    match round.as_ref().and_then(|r| Some((r, r.results.as_ref()?))) {
        None => out.push_str("No health-check round revealed by the end of the period.\n\n"),
        Some((round, results)) => {
            let _ = writeln!(
                out,
                "{} (opened {}){}.\n",
                cell(&round.title),
                date(round.opened_at),
                if results.complete {
                    ""
                } else {
                    "; not every answer is revealed yet"
                }
            );
            out.push_str("| Question |");
            for party in &results.parties {
                let _ = write!(out, " {} |", party_name(party.party));
            }
            out.push_str(" Gap |\n|---|");
            for _ in &results.parties {
                out.push_str("---|");
            }
            out.push_str("---|\n");
            for question in Question::ALL {
                let _ = write!(out, "| {} |", question.label());
                for party in &results.parties {
                    let value = party.averages[question.index()]
                        .map_or_else(|| "—".to_owned(), |v| format!("{v:.1}"));
                    let _ = write!(out, " {value} |");
                }
                let gap = results.gaps.iter().find(|g| g.question == question);
                let gap = match gap {
                    Some(g) if g.highlighted => format!("**{:.1}**", g.gap),
                    Some(g) => format!("{:.1}", g.gap),
                    None => "—".to_owned(),
                };
                let _ = writeln!(out, " {gap} |");
            }
            out.push_str("\nGaps of 1.0 or more are in bold.\n\n");
        }
    }

    // Decisions.
    out.push_str("## Decisions\n\n");
    let mut decisions: Vec<(u64, String)> = Vec::new();
    for meeting in meetings::list(doc) {
        for decision in meeting.decisions.iter().filter(|d| period.contains(d.at)) {
            decisions.push((
                decision.at,
                format!("{} ({})", cell(&decision.text), cell(&meeting.fields.title)),
            ));
        }
    }
    for conflict in &all_conflicts {
        if let Some(at) = conflict.resolved_at.filter(|&at| period.contains(at)) {
            decisions.push((
                at,
                format!(
                    "Conflict “{}” resolved: {}",
                    cell(&conflict.fields.title),
                    cell(&conflict.resolution)
                ),
            ));
        }
    }
    decisions.sort();
    if decisions.is_empty() {
        out.push_str("None recorded in the period.\n\n");
    } else {
        for (at, text) in &decisions {
            let _ = writeln!(out, "- {} — {text}", date(*at));
        }
        out.push('\n');
    }

    // Milestones and reviews.
    out.push_str("## Milestones achieved\n\n");
    let achieved = milestones::achieved_in(&milestones::list(doc), period);
    if achieved.is_empty() {
        out.push_str("None in the period.\n\n");
    } else {
        for milestone in &achieved {
            let _ = write!(
                out,
                "- {} — {}",
                date(milestone.achieved_at.unwrap_or_default()),
                cell(&milestone.fields.title)
            );
            let celebration = milestone.celebration.trim();
            if !celebration.is_empty() {
                let _ = write!(out, " (celebrated: {})", cell(celebration));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    let in_period: Vec<reviews::Review> = reviews::list(doc)
        .into_iter()
        .filter(|r| r.period.overlaps(period))
        .collect();
    if !in_period.is_empty() {
        out.push_str("## Reviews\n\n");
        for review in &in_period {
            let _ = writeln!(
                out,
                "### {} ({} to {})\n",
                cell(&review.fields.title),
                date(review.period.from),
                date(review.period.to)
            );
            let _ = writeln!(out, "- Went well: {}", cell(&review.fields.went_well));
            let _ = writeln!(out, "- To improve: {}", cell(&review.fields.to_improve));
            let open = review.actions.iter().filter(|a| !a.done).count();
            let _ = writeln!(out, "- Actions: {} ({open} open)\n", review.actions.len());
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use automerge::AutoCommit;

    use super::*;
    use crate::model::DAY_MS;
    use crate::model::actions::{self, ActionSource, NewAction};
    use crate::model::conflicts::{ConflictFields, NewConflict, Severity};
    use crate::model::governance;
    use crate::model::health::{AnswerKey, Answers};
    use crate::model::kpis::{NewKpi, NewMeasurement};
    use crate::model::meetings::{MeetingKind, NewDecision, NewMeeting};
    use crate::model::milestones::NewMilestone;
    use crate::model::overview::Stage;
    use crate::model::reviews::{NewReview, ReviewKind, ReviewPatch};
    use crate::model::risks::NewRisk;
    use crate::model::test_support::{T0, id, partnership, revenue_kpi};

    /// 2024-01-01T00:00:00Z.
    const JAN: u64 = 1_704_067_200_000;

    fn sample() -> (AutoCommit, Period, u64) {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        overview::move_stage(doc, id(90), Stage::Active, alice, T0).unwrap();
        kpis::add(doc, id(1), &revenue_kpi(None), T0).unwrap();
        kpis::record(
            doc,
            id(1),
            id(2),
            &NewMeasurement {
                value: 42.5,
                note: String::new(),
                at: JAN + 10 * DAY_MS,
                by: alice,
            },
        )
        .unwrap();
        kpis::add(
            doc,
            id(3),
            &NewKpi {
                name: "Partner | satisfaction".into(),
                objective: None,
                kind: KpiKind::Qualitative {
                    scale: 5,
                    target: 4,
                },
                cadence_days: 90,
            },
            T0,
        )
        .unwrap();
        risks::add(
            doc,
            id(4),
            &NewRisk {
                title: "Key engineer leaves".into(),
                likelihood: 3,
                impact: 5,
                owner: Some(bob),
                ..NewRisk::default()
            },
            T0,
        )
        .unwrap();
        risks::add(
            doc,
            id(5),
            &NewRisk {
                title: "Currency swings".into(),
                likelihood: 2,
                impact: 3,
                ..NewRisk::default()
            },
            T0,
        )
        .unwrap();
        meetings::schedule(
            doc,
            id(6),
            &NewMeeting {
                kind: MeetingKind::QuarterlyBusinessReview,
                title: "Q1 review".into(),
                at: Some(JAN + 20 * DAY_MS),
                duration_minutes: 60,
                location: String::new(),
            },
            T0,
        )
        .unwrap();
        crate::model::check_ins::hold(doc, id(6), JAN + 20 * DAY_MS).unwrap();
        meetings::record_decision(
            doc,
            id(6),
            id(7),
            &NewDecision {
                text: "Launch in Benelux first".into(),
                at: JAN + 20 * DAY_MS,
                by: alice,
            },
        )
        .unwrap();
        meetings::record_decision(
            doc,
            id(6),
            id(8),
            &NewDecision {
                text: "Outside the period".into(),
                at: JAN + 200 * DAY_MS,
                by: alice,
            },
        )
        .unwrap();
        actions::add(
            doc,
            ActionSource::Meeting(id(6)),
            id(9),
            &NewAction {
                title: "Price list".into(),
                owner: Some(bob),
                due: Some(JAN + 30 * DAY_MS),
            },
        )
        .unwrap();
        governance::add_level(doc, id(10), "Managers", "Alice and Bob", 7).unwrap();
        conflicts::raise(
            doc,
            id(11),
            &NewConflict {
                fields: ConflictFields {
                    title: "Lead sharing".into(),
                    description: String::new(),
                    severity: Severity::High,
                },
                raised_by: bob,
            },
            JAN,
        )
        .unwrap();
        conflicts::resolve(doc, id(11), "Weekly lead sync.", alice, JAN + 5 * DAY_MS).unwrap();
        milestones::add(
            doc,
            id(12),
            &NewMilestone {
                title: "First joint customer".into(),
                due: None,
            },
        )
        .unwrap();
        milestones::achieve(doc, id(12), JAN + 15 * DAY_MS, "Dinner").unwrap();
        reviews::add(
            doc,
            id(13),
            &NewReview {
                kind: ReviewKind::Retrospective,
                title: "Q1 retro".into(),
                period: Period {
                    from: JAN,
                    to: JAN + 89 * DAY_MS,
                },
            },
            T0,
        )
        .unwrap();
        reviews::update(
            doc,
            id(13),
            &ReviewPatch {
                went_well: Some("Fast decisions.".into()),
                to_improve: Some("Lead\nhandover.".into()),
                ..ReviewPatch::default()
            },
        )
        .unwrap();
        health::open_round(doc, id(14), "Health check Q1", alice, JAN + DAY_MS).unwrap();
        let (ka, kb) = (
            AnswerKey::from_bytes([1; 32]),
            AnswerKey::from_bytes([2; 32]),
        );
        health::submit(
            doc,
            id(14),
            alice,
            &Answers {
                ratings: [4, 4, 3, 5, 3],
                comment: String::new(),
            },
            &ka,
            [1; 12],
            JAN + DAY_MS,
        )
        .unwrap();
        health::submit(
            doc,
            id(14),
            bob,
            &Answers {
                ratings: [3, 4, 4, 3, 3],
                comment: String::new(),
            },
            &kb,
            [2; 12],
            JAN + DAY_MS,
        )
        .unwrap();
        health::reveal(doc, id(14), alice, &ka).unwrap();
        health::reveal(doc, id(14), bob, &kb).unwrap();
        (
            fixture.doc,
            Period {
                from: JAN,
                to: JAN + 90 * DAY_MS - 1,
            },
            JAN + 91 * DAY_MS,
        )
    }

    const GOLDEN: &str = r#"# Partnership report: Acme × Globex

Period: 2024-01-01 to 2024-03-30 (UTC). Generated 2024-04-01.

## Status

- Stage: **active**
- Parties: Acme (lead), Globex (distribution partner)
- Last check-in: 2024-01-21; next due: 2024-04-21
- Open action items: 1 (1 overdue)
- Open conflicts: 0 (0 past their escalation deadline)

## KPIs

| KPI | Latest | Target | Health |
|---|---|---|---|
| Joint revenue | 42.5 kEUR (2024-01-11) | 100 kEUR | at risk |
| Partner \| satisfaction | — | 4/5 | no data |

## Risks

2 open, 1 high (likelihood × impact ≥ 15).

| Risk | Likelihood | Impact | Score | Owner | Status |
|---|---|---|---|---|---|
| Key engineer leaves **(high)** | 3 | 5 | 15 | Bob | open |
| Currency swings | 2 | 3 | 6 | — | open |

## Health check

Health check Q1 (opened 2024-01-02).

| Question | Acme | Globex | Gap |
|---|---|---|---|
| Trust | 4.0 | 3.0 | **1.0** |
| Communication | 4.0 | 4.0 | 0.0 |
| Value delivered | 3.0 | 4.0 | **1.0** |
| Alignment | 5.0 | 3.0 | **2.0** |
| Responsiveness | 3.0 | 3.0 | 0.0 |

Gaps of 1.0 or more are in bold.

## Decisions

- 2024-01-06 — Conflict “Lead sharing” resolved: Weekly lead sync.
- 2024-01-21 — Launch in Benelux first (Q1 review)

## Milestones achieved

- 2024-01-16 — First joint customer (celebrated: Dinner)

## Reviews

### Q1 retro (2024-01-01 to 2024-03-30)

- Went well: Fast decisions.
- To improve: Lead handover.
- Actions: 0 (0 open)
"#;

    #[test]
    fn golden_report() {
        let (doc, period, now) = sample();
        let report = markdown(&doc, period, now);
        assert_eq!(report, GOLDEN);
        // Deterministic: a replica with the same changes renders the same bytes.
        let copy = AutoCommit::load(&doc.clone().save()).unwrap();
        assert_eq!(markdown(&copy, period, now), report);
    }

    #[test]
    fn the_report_reads_back_for_its_print_view() {
        use crate::views::markdown::{Block, blocks};
        let parsed = blocks(GOLDEN);
        let tables: Vec<_> = parsed
            .iter()
            .filter_map(|b| match b {
                Block::Table { header, rows } => Some((header.len(), rows.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(tables.len(), 3, "KPIs, risks, health");
        for (columns, rows) in &tables {
            assert!(rows.iter().all(|r| r.len() == *columns));
        }
        let headings = parsed
            .iter()
            .filter(|b| matches!(b, Block::Heading { .. }))
            .count();
        assert_eq!(headings, 9);
    }

    #[test]
    fn an_empty_partnership_reports_gracefully() {
        let doc = partnership().doc;
        let report = markdown(
            &doc,
            Period {
                from: JAN,
                to: JAN + DAY_MS,
            },
            JAN,
        );
        assert!(report.contains("No KPIs defined."));
        assert!(report.contains("0 open, 0 high"));
        assert!(report.contains("No health-check round revealed"));
        assert!(report.contains("None recorded in the period."));
        assert!(!report.contains("## Reviews"));
        assert!(report.ends_with('\n') && !report.ends_with("\n\n"));
    }
}
