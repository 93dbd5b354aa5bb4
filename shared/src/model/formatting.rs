//! Light formatting of clause bodies: **bold** and *italic* as Automerge
//! marks on the body Text, bulleted and numbered lists as line prefixes.
//!
//! The body stays the plain agreed text. Marks sit beside the characters
//! (a client that does not read them sees the same words, and the content
//! hash that sign-offs bind is unchanged), and list items are lines that
//! begin with `- ` or `1. `, which read as lists to a person, to Markdown
//! and to a v1 client alike. Automerge's block markers were not used: each
//! one is a character (U+FFFC) in the text every reader, the content hash
//! and a v1 client see.
//!
//! Marks expand *after*: typing at the end of bold words continues in
//! bold, typing just before them does not. Two people styling overlapping
//! words at once both keep their styling where they agree; where one sets
//! and the other clears the same characters, one wins on every replica
//! (Automerge's rule for concurrent marks).

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use automerge::marks::{ExpandMark, Mark};
use automerge::{ReadDoc, ScalarValue};

#[cfg(doc)]
use super::agreement::may_edit;
use super::agreement::{clause_body_text, editable_body_text};
use super::{ItemId, MemberId, OpError};
use crate::text::{self, Splice};

/// A character style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    /// Bold: mark `bold` = true.
    Bold,
    /// Italic: mark `italic` = true.
    Italic,
}

impl Style {
    /// Every style.
    pub const ALL: [Style; 2] = [Style::Bold, Style::Italic];

    /// The name of the Automerge mark that holds it.
    pub fn mark_name(self) -> &'static str {
        match self {
            Style::Bold => "bold",
            Style::Italic => "italic",
        }
    }
}

/// A stretch of text with one set of styles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    /// The characters.
    pub text: String,
    /// Shown bold.
    pub bold: bool,
    /// Shown italic.
    pub italic: bool,
}

impl Run {
    /// Plain text, no style.
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Whether the run has `style`.
    pub fn has(&self, style: Style) -> bool {
        match style {
            Style::Bold => self.bold,
            Style::Italic => self.italic,
        }
    }
}

/// Splits `text` into runs by the `bold` / `italic` marks among `marks`
/// (other marks, such as comment ranges, are ignored). Adjacent characters
/// with the same styles share a run; empty text gives no runs.
pub fn runs_of(text: &str, marks: &[Mark]) -> Vec<Run> {
    let chars: Vec<char> = text.chars().collect();
    let mut styles = vec![(false, false); chars.len()];
    for mark in marks {
        let bold = mark.name() == Style::Bold.mark_name();
        let italic = mark.name() == Style::Italic.mark_name();
        if !(bold || italic) || mark.value() != &ScalarValue::Boolean(true) {
            continue;
        }
        for slot in styles
            .iter_mut()
            .take(mark.end.min(chars.len()))
            .skip(mark.start)
        {
            if bold {
                slot.0 = true;
            } else {
                slot.1 = true;
            }
        }
    }
    let mut runs: Vec<Run> = Vec::new();
    for (c, (bold, italic)) in chars.into_iter().zip(styles) {
        match runs.last_mut() {
            Some(run) if run.bold == bold && run.italic == italic => run.text.push(c),
            _ => runs.push(Run {
                text: c.to_string(),
                bold,
                italic,
            }),
        }
    }
    runs
}

/// The clause body as styled runs.
pub fn clause_runs<R: ReadDoc>(doc: &R, clause: ItemId) -> OpResult<Vec<Run>> {
    let text = clause_body_text(doc, clause)?;
    let body = doc.text(&text)?;
    let marks = doc.marks(&text)?;
    Ok(runs_of(&body, &marks))
}

/// The plain text of `runs`.
pub fn plain_text(runs: &[Run]) -> String {
    runs.iter().map(|r| r.text.as_str()).collect()
}

/// Whether the characters `start..end` all have `style`. An empty range
/// asks about the character before it (what typing there would continue),
/// and at the very start of the text the answer is no.
pub fn has_style(runs: &[Run], start: usize, end: usize, style: Style) -> bool {
    let (start, end) = if start < end {
        (start, end)
    } else if start == 0 {
        return false;
    } else {
        (start - 1, start)
    };
    let mut at = 0;
    let mut any = false;
    for run in runs {
        let len = run.text.chars().count();
        let (from, to) = (at, at + len);
        at = to;
        if to <= start || from >= end {
            continue;
        }
        if !run.has(style) {
            return false;
        }
        any = true;
    }
    any
}

/// Whether any character of `start..end` has `style`.
fn any_style(runs: &[Run], start: usize, end: usize, style: Style) -> bool {
    let mut at = 0;
    runs.iter().any(|run| {
        let (from, to) = (at, at + run.text.chars().count());
        at = to;
        to > start && from < end && run.has(style)
    })
}

fn check_range(length: usize, start: usize, end: usize) -> OpResult {
    if start > end || end > length {
        return Err(OpError::Invalid {
            field: "selection",
            reason: "it reaches outside the clause text",
        });
    }
    Ok(())
}

fn write_style<T: Tx>(
    tx: &mut T,
    text: &automerge::ObjId,
    start: usize,
    end: usize,
    style: Style,
    on: bool,
) -> OpResult {
    if start == end {
        return Ok(());
    }
    if on {
        tx.mark(
            text,
            Mark::new(style.mark_name().to_owned(), true, start, end),
            ExpandMark::After,
        )?;
    } else {
        tx.unmark(text, style.mark_name(), start, end, ExpandMark::After)?;
    }
    Ok(())
}

/// Sets (`on`) or clears `style` on the characters `start..end` of the
/// clause body, by `editor` (subject to [`may_edit`]). The text is
/// unchanged. An empty range changes nothing.
pub fn set_style<T: Tx>(
    tx: &mut T,
    clause: ItemId,
    (start, end): (usize, usize),
    style: Style,
    on: bool,
    editor: Option<MemberId>,
) -> OpResult {
    let text = editable_body_text(tx, clause, editor)?;
    check_range(tx.length(&text), start, end)?;
    write_style(tx, &text, start, end, style, on)
}

/// Replaces `delete` characters at `position` of the clause body with
/// `runs`, each keeping exactly its own styles (typing with a style turned
/// on or off, pasting formatted text). By `editor`, subject to
/// [`may_edit`].
pub fn insert_runs<T: Tx>(
    tx: &mut T,
    clause: ItemId,
    position: usize,
    delete: usize,
    runs: &[Run],
    editor: Option<MemberId>,
) -> OpResult {
    let text = editable_body_text(tx, clause, editor)?;
    let insert = plain_text(runs);
    text::splice(
        tx,
        &text,
        &Splice {
            position,
            delete,
            insert,
        },
    )?;
    // What the inserted characters picked up from marks that expand over
    // them; write only where that differs from what was asked.
    let now = runs_of(&tx.text(&text)?, &tx.marks(&text)?);
    let mut at = position;
    for run in runs {
        let len = run.text.chars().count();
        for style in Style::ALL {
            let wanted = run.has(style);
            let uniform = if wanted {
                has_style(&now, at, at + len, style)
            } else {
                !any_style(&now, at, at + len, style)
            };
            if !uniform {
                write_style(tx, &text, at, at + len, style, wanted)?;
            }
        }
        at += len;
    }
    Ok(())
}

/// The characters `start..end` of `runs`, with their styles.
pub fn slice(runs: &[Run], start: usize, end: usize) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut at = 0;
    for run in runs {
        let len = run.text.chars().count();
        let (from, to) = (at.max(start), (at + len).min(end));
        if from < to {
            out.push(Run {
                text: run.text.chars().skip(from - at).take(to - from).collect(),
                ..run.clone()
            });
        }
        at += len;
    }
    out
}

/// One local change, as an undo history keeps it: at character `at`, the
/// runs `before` were replaced by the runs `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Where the change starts.
    pub at: usize,
    /// What was there (text and styles).
    pub before: Vec<Run>,
    /// What is there now.
    pub after: Vec<Run>,
}

impl Change {
    /// The same change, undone.
    pub fn inverse(&self) -> Self {
        Self {
            at: self.at,
            before: self.after.clone(),
            after: self.before.clone(),
        }
    }
}

/// The smallest [`Change`] (common start and end kept, styles compared
/// too) that turns `old` into `new`; `None` when they are the same.
pub fn change_between(old: &[Run], new: &[Run]) -> Option<Change> {
    let flat = |runs: &[Run]| -> Vec<(char, bool, bool)> {
        runs.iter()
            .flat_map(|r| r.text.chars().map(move |c| (c, r.bold, r.italic)))
            .collect()
    };
    let (a, b) = (flat(old), flat(new));
    if a == b {
        return None;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    Some(Change {
        at: prefix,
        before: slice(old, prefix, a.len() - suffix),
        after: slice(new, prefix, b.len() - suffix),
    })
}

/// Applies `change` to the clause body (for undo and redo), by `editor`
/// subject to [`may_edit`]: the characters at `change.at` must still read
/// as `change.before` (else [`OpError::Invalid`]: a partner changed them
/// since, and nothing is written). When only styles differ the text is
/// left alone and only the styles are set, so a partner's cursors and
/// comment ranges on those words stay.
pub fn apply_change<T: Tx>(
    tx: &mut T,
    clause: ItemId,
    change: &Change,
    editor: Option<MemberId>,
) -> OpResult {
    let text = editable_body_text(tx, clause, editor)?;
    let body: Vec<char> = tx.text(&text)?.chars().collect();
    let old = plain_text(&change.before);
    let len = old.chars().count();
    let end = change.at.checked_add(len).filter(|end| *end <= body.len());
    if end.is_none_or(|end| body[change.at..end].iter().collect::<String>() != old) {
        return Err(OpError::Invalid {
            field: "undo",
            reason: "those words were changed by someone else since",
        });
    }
    if old == plain_text(&change.after) {
        let mut at = change.at;
        for run in &change.after {
            let len = run.text.chars().count();
            for style in Style::ALL {
                write_style(tx, &text, at, at + len, style, run.has(style))?;
            }
            at += len;
        }
        return Ok(());
    }
    insert_runs(tx, clause, change.at, len, &change.after, editor)
}

/// A kind of list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Lines beginning `- `.
    Bulleted,
    /// Lines beginning `1. ` (any number of up to four digits).
    Numbered,
}

/// A line's list prefix: its kind, its length in characters, and the
/// item's number for a numbered list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListPrefix {
    /// Bulleted or numbered.
    pub kind: ListKind,
    /// Characters of the prefix, its space included.
    pub len: usize,
    /// The number, for a numbered item.
    pub number: Option<u32>,
}

/// The list prefix `line` begins with, if any.
pub fn list_prefix(line: &str) -> Option<ListPrefix> {
    if line.starts_with("- ") {
        return Some(ListPrefix {
            kind: ListKind::Bulleted,
            len: 2,
            number: None,
        });
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if (1..=4).contains(&digits) && line[digits..].starts_with(". ") {
        return Some(ListPrefix {
            kind: ListKind::Numbered,
            len: digits + 2,
            number: line[..digits].parse().ok(),
        });
    }
    None
}

/// What pressing Enter at the end of `line_before_caret` (the current
/// line up to the caret) should do in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewLine {
    /// Not in a list: a plain line break.
    Plain,
    /// Continue the list: a line break followed by this prefix.
    Continue(String),
    /// The item is empty: remove its prefix (this many characters before
    /// the caret) and end the list.
    EndList(usize),
}

/// What Enter does after `line_before_caret`.
pub fn new_line(line_before_caret: &str) -> NewLine {
    let Some(prefix) = list_prefix(line_before_caret) else {
        return NewLine::Plain;
    };
    if line_before_caret.chars().count() == prefix.len {
        return NewLine::EndList(prefix.len);
    }
    NewLine::Continue(match prefix.kind {
        ListKind::Bulleted => "- ".to_owned(),
        ListKind::Numbered => format!("{}. ", prefix.number.unwrap_or(0).saturating_add(1)),
    })
}

/// The lines of `text` that the characters `start..end` touch, as
/// (start of line, line) pairs; an empty range touches the caret's line.
fn touched_lines(text: &str, start: usize, end: usize) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut at = 0;
    for line in text.split('\n') {
        let len = line.chars().count();
        let (from, to) = (at, at + len);
        if to >= start && from <= end.max(start) && !(from == end && end > start) {
            lines.push((from, line.to_owned()));
        }
        at = to + 1;
    }
    lines
}

/// Turns the lines touched by `start..end` into items of a `kind` list, or,
/// when they all already are, back into plain lines. Numbered items count
/// on from a numbered line just above. Only prefixes change, by splices, so
/// a partner's concurrent typing in those lines is kept.
pub fn toggle_list<T: Tx>(
    tx: &mut T,
    clause: ItemId,
    (start, end): (usize, usize),
    kind: ListKind,
    editor: Option<MemberId>,
) -> OpResult {
    let text = editable_body_text(tx, clause, editor)?;
    let body = tx.text(&text)?;
    check_range(body.chars().count(), start, end)?;
    let lines = touched_lines(&body, start, end);
    let all = lines
        .iter()
        .all(|(_, line)| list_prefix(line).is_some_and(|p| p.kind == kind));
    let mut number = match lines.first() {
        Some((first, _)) if *first > 0 => {
            let above: String = body.chars().take(first - 1).collect();
            let above = above.rsplit('\n').next().unwrap_or_default();
            list_prefix(above)
                .filter(|p| p.kind == ListKind::Numbered)
                .and_then(|p| p.number)
                .unwrap_or(0)
        }
        _ => 0,
    };
    // Last line first, so earlier positions stay valid.
    let mut edits = Vec::new();
    for (from, line) in &lines {
        let old = list_prefix(line).map_or(0, |p| p.len);
        let new = if all {
            String::new()
        } else {
            match kind {
                ListKind::Bulleted => "- ".to_owned(),
                ListKind::Numbered => {
                    number += 1;
                    format!("{number}. ")
                }
            }
        };
        edits.push(Splice {
            position: *from,
            delete: old,
            insert: new,
        });
    }
    for edit in edits.into_iter().rev() {
        text::splice(tx, &text, &edit)?;
    }
    Ok(())
}

/// `runs` as Markdown: bold as `**…**`, italic as `*…*`, list prefixes as
/// written (they are Markdown already). Styles never span a line break,
/// and spaces at a run's edges stay outside its markers, so every marker
/// pair is valid Markdown.
pub fn markdown(runs: &[Run]) -> String {
    let mut out = String::new();
    for run in runs {
        let marker = match (run.bold, run.italic) {
            (true, true) => "***",
            (true, false) => "**",
            (false, true) => "*",
            (false, false) => "",
        };
        for (index, line) in run.text.split('\n').enumerate() {
            if index > 0 {
                out.push('\n');
            }
            let core = line.trim();
            if marker.is_empty() || core.is_empty() {
                out.push_str(line);
                continue;
            }
            // A list prefix at the start of a line stays outside too.
            let at_line_start = out.is_empty() || out.ends_with('\n');
            let (prefix, line) = match list_prefix(line).filter(|_| at_line_start) {
                Some(p) => line.split_at(
                    line.char_indices()
                        .nth(p.len)
                        .map_or(line.len(), |(i, _)| i),
                ),
                None => ("", line),
            };
            let core = line.trim();
            out.push_str(prefix);
            if core.is_empty() {
                out.push_str(line);
                continue;
            }
            let lead = &line[..line.len() - line.trim_start().len()];
            let trail = &line[line.trim_end().len()..];
            out.push_str(lead);
            out.push_str(marker);
            out.push_str(core);
            out.push_str(marker);
            out.push_str(trail);
        }
    }
    out
}

#[cfg(test)]
mod tests;
