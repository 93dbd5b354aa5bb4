//! A redline: the agreement compared between two versions (two named
//! versions, or one and now), clause by clause, as word-level insertions
//! and deletions; and that redline as Markdown.
//!
//! Clauses are listed in the order of the later version, then those only
//! in the earlier one (removed since). Each clause's text diff is
//! [`history::diff_words`].

use std::fmt::Write as _;

use automerge::{Automerge, ChangeHash};

use crate::model::agreement;
use crate::views::history::{self, ClauseDiff, DiffOp, HistoryError};

/// One clause in a redline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedlineClause {
    /// The title to show (the later one, or the earlier if removed).
    pub title: String,
    /// Whether its title, text or existence differ.
    pub changed: bool,
    /// The comparison.
    pub diff: ClauseDiff,
}

/// The agreement between two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redline {
    /// Every clause in either version.
    pub clauses: Vec<RedlineClause>,
}

impl Redline {
    /// How many clauses differ.
    pub fn changed(&self) -> usize {
        self.clauses.iter().filter(|c| c.changed).count()
    }
}

/// The redline from `from` to `to` (`None`: the document now).
pub fn redline(
    doc: &Automerge,
    from: &[ChangeHash],
    to: Option<&[ChangeHash]>,
) -> Result<Redline, HistoryError> {
    let before = agreement::clauses(&history::at(doc, from)?);
    let after = match to {
        Some(to) => agreement::clauses(&history::at(doc, to)?),
        None => agreement::clauses(doc),
    };
    let ids = after.iter().map(|c| c.id).chain(
        before
            .iter()
            .map(|c| c.id)
            .filter(|id| !after.iter().any(|c| c.id == *id)),
    );
    let mut clauses = Vec::new();
    for id in ids {
        let diff = history::clause_diff(doc, id, from, to)?;
        let changed =
            diff.title_before != diff.title_after || diff.body.iter().any(|p| p.op != DiffOp::Same);
        let title = diff
            .title_after
            .clone()
            .or_else(|| diff.title_before.clone())
            .unwrap_or_default();
        clauses.push(RedlineClause {
            title,
            changed,
            diff,
        });
    }
    Ok(Redline { clauses })
}

/// Text safe inside Markdown emphasis: no line breaks, no `~`/`*`/`_`
/// that would close the span early.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '[' | ']' | '<' | '>' | '#' | '|' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A run of changed text wrapped in `marker` on each line (Markdown spans
/// do not cross blank lines), keeping the whitespace at its edges outside.
fn wrap(out: &mut String, text: &str, marker: &str) {
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let core = line.trim();
        if core.is_empty() {
            out.push_str(line);
            continue;
        }
        let lead = &line[..line.len() - line.trim_start().len()];
        let tail = &line[line.trim_end().len()..];
        let _ = write!(out, "{lead}{marker}{}{marker}{tail}", escape(core));
    }
}

/// The redline as Markdown: a heading naming both versions, a legend, then
/// each changed clause with deletions as `~~struck~~` and insertions as
/// `**bold**`; unchanged clauses are listed by title only.
pub fn markdown(redline: &Redline, title: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {} — Redline\n", title.trim());
    let _ = writeln!(out, "From **{}** to **{}**.\n", escape(from), escape(to));
    out.push_str("Inserted words are **bold**; deleted words are ~~struck through~~.\n\n");
    let _ = writeln!(
        out,
        "{} of {} clauses changed.\n",
        redline.changed(),
        redline.clauses.len()
    );
    for (index, clause) in redline.clauses.iter().enumerate() {
        let diff = &clause.diff;
        let note = match (&diff.title_before, &diff.title_after) {
            (None, Some(_)) => " (added)",
            (Some(_), None) => " (removed)",
            (Some(a), Some(b)) if a != b => " (renamed)",
            _ if !clause.changed => " (unchanged)",
            _ => "",
        };
        let _ = writeln!(out, "## {}. {}{note}\n", index + 1, escape(&clause.title));
        if let (Some(before), Some(after)) = (&diff.title_before, &diff.title_after)
            && before != after
        {
            let _ = writeln!(out, "Title: ~~{}~~ **{}**\n", escape(before), escape(after));
        }
        if !clause.changed {
            continue;
        }
        let mut body = String::new();
        for part in &diff.body {
            match part.op {
                DiffOp::Same => body.push_str(&escape(&part.text)),
                DiffOp::Added => wrap(&mut body, &part.text, "**"),
                DiffOp::Removed => wrap(&mut body, &part.text, "~~"),
            }
        }
        let body = body.trim_end();
        if body.is_empty() {
            out.push_str("_(no text)_\n\n");
        } else {
            let _ = writeln!(out, "{body}\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use automerge::AutoCommit;

    use super::*;
    use crate::model::agreement::{NewClause, add_clause, set_clause_body};
    use crate::model::items::{self, Collection};
    use crate::model::test_support::{T0, id, partnership};
    use crate::model::versions;

    fn clause(doc: &mut AutoCommit, n: u8, title: &str, body: &str) {
        let new = NewClause {
            title: title.into(),
            body: body.into(),
        };
        add_clause(doc, id(n), &new, T0).unwrap();
    }

    #[test]
    fn redline_between_named_versions_and_now() {
        let mut fixture = partnership();
        let alice = fixture.alice;
        let doc = &mut fixture.doc;
        clause(doc, 1, "Term", "The term is one year from signature.");
        clause(doc, 2, "Exit", "Either party may leave.");
        let round1 = doc.get_heads();
        versions::save(doc, id(50), "Round 1", &round1, alice, T0).unwrap();
        set_clause_body(doc, id(1), "The term is two years from signature.", None).unwrap();
        items::delete(doc, Collection::Clauses, id(2), T0).unwrap();
        clause(doc, 3, "Fees", "None.");
        let round2 = doc.get_heads();
        versions::save(doc, id(51), "Round 2", &round2, alice, T0 + 1).unwrap();
        set_clause_body(doc, id(3), "None at all.", None).unwrap();

        let saved = versions::list(doc);
        assert_eq!(
            saved.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
            ["Round 1", "Round 2"]
        );
        let doc = doc.document().clone();
        let lines = redline(&doc, &saved[0].heads, Some(&saved[1].heads)).unwrap();
        let titles: Vec<&str> = lines.clauses.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["Term", "Fees", "Exit"]);
        assert_eq!(lines.changed(), 3);
        let term = &lines.clauses[0].diff.body;
        let removed: Vec<&str> = term
            .iter()
            .filter(|p| p.op == DiffOp::Removed)
            .map(|p| p.text.as_str())
            .collect();
        let added: Vec<&str> = term
            .iter()
            .filter(|p| p.op == DiffOp::Added)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!((removed, added), (vec!["one year"], vec!["two years"]));
        assert_eq!(lines.clauses[2].diff.title_after, None);

        let text = markdown(&lines, "Acme × Globex", "Round 1", "Round 2");
        assert!(
            text.contains("The term is ~~one year~~**two years** from signature."),
            "{text}"
        );
        assert!(text.contains("## 3. Exit (removed)"), "{text}");
        assert!(text.contains("## 2. Fees (added)\n\n**None.**"), "{text}");

        // Round 2 against now: only the Fees clause changed since.
        let now = redline(&doc, &saved[1].heads, None).unwrap();
        assert_eq!(now.changed(), 1);
        let text = markdown(&now, "Acme × Globex", "Round 2", "now");
        assert!(text.contains("~~None.~~**None at all.**"), "{text}");
        assert!(text.contains("## 1. Term (unchanged)"), "{text}");
    }

    #[test]
    fn markdown_escapes_and_wraps_each_line() {
        let mut fixture = partnership();
        let doc = &mut fixture.doc;
        clause(doc, 1, "A", "x");
        let before = doc.get_heads();
        set_clause_body(doc, id(1), "x *y*\n\nz", None).unwrap();
        let doc = doc.document().clone();
        let lines = redline(&doc, &before, None).unwrap();
        let text = markdown(&lines, "T", "a", "b");
        assert!(text.contains("x **\\*y\\***\n\n**z**"), "{text}");
    }
}
