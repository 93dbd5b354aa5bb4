//! Exports of the partnership document.
//!
//! [`agreement_markdown`]: the agreement as Markdown, each clause with its
//! status and, per party, the state of its sign-off (valid, void, invalid,
//! not signed) judged exactly as the app judges it
//! ([`crate::model::signoff`]). The output depends only on the document,
//! the document id and the attested keys, so the same inputs give the same
//! bytes on every device (dates are UTC).

use std::fmt::Write as _;

use automerge::ReadDoc;
use ed25519_dalek::VerifyingKey;

use crate::ids::DocumentId;
use crate::model::signoff::{self, PartyState, Validity};
use crate::model::{MemberId, agreement, formatting, members, overview, parties};

pub use crate::calendar::date;

/// One line, with Markdown table and heading syntax neutralised.
fn inline(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The agreement as Markdown: title, parties, overall sign-off state, then
/// every clause in order with its status, text and a table of each party's
/// sign-off. `attested_keys` as for [`signoff::verify`].
pub fn agreement_markdown<R: ReadDoc>(
    doc: &R,
    document: &DocumentId,
    attested_keys: &dyn Fn(MemberId) -> Vec<VerifyingKey>,
) -> String {
    let title = overview::read(doc).title;
    let parties = parties::list(doc);
    let members = members::list(doc);
    let name_of = |member: MemberId| {
        members
            .iter()
            .find(|m| m.id == member)
            .map_or_else(|| "an unknown member".to_owned(), |m| inline(&m.name))
    };
    let clauses = agreement::clauses(doc);
    let summary = signoff::summary(doc, document, attested_keys);

    let mut out = String::new();
    let _ = writeln!(out, "# {} — Agreement\n", inline(&title));
    if !parties.is_empty() {
        let names: Vec<String> = parties
            .iter()
            .map(|p| {
                if p.fields.role.trim().is_empty() {
                    inline(&p.fields.name)
                } else {
                    format!("{} ({})", inline(&p.fields.name), inline(&p.fields.role))
                }
            })
            .collect();
        let _ = writeln!(out, "Parties: {}\n", names.join("; "));
    }
    let fully = summary.clauses.iter().filter(|c| c.fully_signed()).count();
    let _ = writeln!(
        out,
        "Signed by every party: {fully} of {} clauses{}\n",
        clauses.len(),
        if summary.complete {
            " — the agreement is fully signed."
        } else {
            "."
        }
    );
    for (index, clause) in clauses.iter().enumerate() {
        let _ = writeln!(out, "## {}. {}\n", index + 1, inline(&clause.title));
        let _ = writeln!(out, "Status: {}\n", clause.status);
        // Bold, italic and list lines kept as Markdown (`model::formatting`).
        let styled = formatting::clause_runs(doc, clause.id)
            .map_or_else(|_| clause.body.clone(), |runs| formatting::markdown(&runs));
        let body = styled.trim_end();
        if body.is_empty() {
            out.push_str("_(no text yet)_\n\n");
        } else {
            let _ = writeln!(out, "{body}\n");
        }
        let Some(signoffs) = summary.clauses.iter().find(|c| c.clause == clause.id) else {
            continue;
        };
        if signoffs.parties.is_empty() {
            continue;
        }
        out.push_str("| Party | Sign-off |\n|---|---|\n");
        for party in &signoffs.parties {
            let party_name = parties
                .iter()
                .find(|p| p.id == party.party)
                .map_or_else(String::new, |p| inline(&p.fields.name));
            let who = |validity: fn(&Validity) -> bool| {
                let mut found: Vec<String> = signoffs
                    .statuses
                    .iter()
                    .filter(|s| s.party == Some(party.party) && validity(&s.validity))
                    .filter_map(|s| {
                        let member = s.member?;
                        let at = s.at.map(date).unwrap_or_default();
                        Some(format!("{}, {at}", name_of(member)))
                    })
                    .collect();
                found.dedup();
                found.join("; ")
            };
            let state = match party.state {
                PartyState::Signed => format!("valid ({})", who(|v| *v == Validity::Valid)),
                PartyState::Void => format!(
                    "void: the text changed after it was signed ({})",
                    who(|v| *v == Validity::Void)
                ),
                PartyState::Invalid => "invalid sign-off (not counted)".to_owned(),
                PartyState::Unsigned => "not signed".to_owned(),
            };
            let _ = writeln!(out, "| {party_name} | {state} |");
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::agreement::{ClauseStatus, NewClause, add_clause, set_clause_status};
    use crate::model::signoff::tests::{CLAUSE_ID, DOC, key, signed_fixture};
    use crate::model::test_support::{T0, id, put_clause};
    use crate::model::{DAY_MS, signoff::sign};

    #[test]
    fn clause_text_keeps_bold_italic_and_lists() {
        use crate::model::formatting::{ListKind, Style, set_style, toggle_list};
        let mut fixture = crate::model::test_support::partnership();
        let doc = &mut fixture.doc;
        let body = "Each party must:\nkeep records\nreport monthly";
        let new = NewClause {
            title: "Duties".into(),
            body: body.into(),
        };
        add_clause(doc, id(4), &new, T0).unwrap();
        set_style(doc, id(4), (5, 10), Style::Bold, true, None).unwrap();
        set_style(doc, id(4), (11, 15), Style::Italic, true, None).unwrap();
        toggle_list(doc, id(4), (17, 33), ListKind::Numbered, None).unwrap();
        let markdown = agreement_markdown(doc, &DOC, &|_| Vec::new());
        assert!(
            markdown.contains("Each **party** *must*:\n1. keep records\n2. report monthly\n"),
            "{markdown}"
        );
    }

    #[test]
    fn golden_markdown() {
        let (mut fixture, keys) = signed_fixture();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        put_clause(
            doc,
            2,
            "Exit | wind-down",
            "Either party may leave\nwith 90 days' notice.\n\n",
        );
        put_clause(doc, 3, "Confidentiality", "");
        set_clause_status(doc, id(CLAUSE_ID), ClauseStatus::Agreed, None).unwrap();
        sign(doc, &DOC, id(CLAUSE_ID), alice, &key(1), T0).unwrap();
        sign(doc, &DOC, id(CLAUSE_ID), bob, &key(2), T0 + DAY_MS).unwrap();
        sign(doc, &DOC, id(2), bob, &key(2), T0).unwrap();
        crate::model::agreement::set_clause_body(
            doc,
            id(2),
            "Either party may leave\nwith 60 days' notice.",
            None,
        )
        .unwrap();
        let lookup = |m: MemberId| keys.get(&m).copied().into_iter().collect::<Vec<_>>();
        let markdown = agreement_markdown(doc, &DOC, &lookup);
        let expected = "\
# Acme × Globex — Agreement

Parties: Acme (lead); Globex (distribution partner)

Signed by every party: 1 of 3 clauses.

## 1. Term

Status: agreed

The term is one year.

| Party | Sign-off |
|---|---|
| Acme | valid (Alice, 2023-11-14) |
| Globex | valid (Bob, 2023-11-15) |

## 2. Exit \\| wind-down

Status: draft

Either party may leave
with 60 days' notice.

| Party | Sign-off |
|---|---|
| Acme | not signed |
| Globex | void: the text changed after it was signed (Bob, 2023-11-14) |

## 3. Confidentiality

Status: draft

_(no text yet)_

| Party | Sign-off |
|---|---|
| Acme | not signed |
| Globex | not signed |
";
        assert_eq!(markdown, expected);
        // Deterministic, and an unattested key never reads as valid.
        assert_eq!(agreement_markdown(doc, &DOC, &lookup), expected);
        let nobody = |_: MemberId| Vec::new();
        let unattested = agreement_markdown(doc, &DOC, &nobody);
        assert!(!unattested.contains("valid ("));
        assert!(unattested.contains("| Acme | invalid sign-off (not counted) |"));
    }
}
