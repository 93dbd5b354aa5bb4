//! Reading back the Markdown that Accord's own exports write (the
//! partnership report, the agreement), so the app can show the same text as
//! a formatted page for printing to PDF.
//!
//! It understands only what those exports emit: `#`–`###` headings, `- `
//! bullet items, pipe tables with a `|---|` rule under the header row,
//! paragraphs, `**strong**` spans and `\|` inside table cells. Anything else
//! is kept as plain text. The result is a list of blocks for a view layer to
//! build elements from (never HTML), so text from the document cannot inject
//! markup.
//!
//! Read by hand rather than with `pulldown-cmark` for correctness: the
//! exports copy clause text as typed (they escape only `|`, in one-line
//! fields), so a CommonMark parser would turn a clause starting "1." into a
//! numbered list, `_words_` into emphasis, `<b>` into raw HTML and
//! `[x](y)` into a link, none of which the export meant. This reader
//! knows exactly the subset the exports write and keeps everything else
//! as the text it was.

/// A run of text, plain or strong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    /// Ordinary text.
    Plain(String),
    /// Text between `**` pairs.
    Strong(String),
}

/// One block of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A heading of level 1 to 3.
    Heading {
        /// 1 for `#`, 2 for `##`, 3 for `###`.
        level: u8,
        /// Its text.
        text: Vec<Span>,
    },
    /// Consecutive lines joined into one paragraph.
    Paragraph(Vec<Span>),
    /// Consecutive `- ` items.
    List(Vec<Vec<Span>>),
    /// A pipe table.
    Table {
        /// The header row's cells.
        header: Vec<Vec<Span>>,
        /// The body rows' cells.
        rows: Vec<Vec<Vec<Span>>>,
    },
}

/// Splits `text` into plain and strong spans. An unpaired `**` stays as
/// written.
pub fn spans(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("**") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("**") else {
            break;
        };
        if start > 0 {
            out.push(Span::Plain(rest[..start].to_owned()));
        }
        out.push(Span::Strong(after[..end].to_owned()));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        out.push(Span::Plain(rest.to_owned()));
    }
    out
}

/// The cells of a table row (`| a | b \| c |` → `a`, `b | c`).
fn cells(line: &str) -> Vec<Vec<Span>> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => out.push(spans(std::mem::take(&mut cell).trim())),
            _ => cell.push(c),
        }
    }
    out.push(spans(cell.trim()));
    out
}

fn is_rule(line: &str) -> bool {
    let line = line.trim();
    line.starts_with('|') && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

fn heading(line: &str) -> Option<Block> {
    let level = line.chars().take_while(|&c| c == '#').count();
    let text = line[level..].strip_prefix(' ')?;
    let level = u8::try_from(level).ok().filter(|l| (1..=3).contains(l))?;
    Some(Block::Heading {
        level,
        text: spans(text.trim()),
    })
}

/// The blocks of `markdown`, in order.
pub fn blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, out: &mut Vec<Block>| {
        if !paragraph.is_empty() {
            out.push(Block::Paragraph(spans(&paragraph.join(" "))));
            paragraph.clear();
        }
    };
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        if trimmed.is_empty() {
            flush(&mut paragraph, &mut out);
            i += 1;
        } else if let Some(block) = heading(trimmed) {
            flush(&mut paragraph, &mut out);
            out.push(block);
            i += 1;
        } else if trimmed.starts_with("- ") {
            flush(&mut paragraph, &mut out);
            let mut items = Vec::new();
            while let Some(item) = lines.get(i).and_then(|l| l.trim().strip_prefix("- ")) {
                items.push(spans(item));
                i += 1;
            }
            out.push(Block::List(items));
        } else if trimmed.starts_with('|') && lines.get(i + 1).is_some_and(|l| is_rule(l)) {
            flush(&mut paragraph, &mut out);
            let header = cells(trimmed);
            i += 2;
            let mut rows = Vec::new();
            while let Some(row) = lines.get(i).filter(|l| l.trim().starts_with('|')) {
                rows.push(cells(row));
                i += 1;
            }
            out.push(Block::Table { header, rows });
        } else {
            paragraph.push(trimmed);
            i += 1;
        }
    }
    flush(&mut paragraph, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Vec<Span> {
        vec![Span::Plain(text.into())]
    }

    #[test]
    fn strong_spans_and_unpaired_markers() {
        assert_eq!(
            spans("Stage: **active** now"),
            vec![
                Span::Plain("Stage: ".into()),
                Span::Strong("active".into()),
                Span::Plain(" now".into()),
            ]
        );
        assert_eq!(spans("2 ** 3"), plain("2 ** 3"));
        assert_eq!(spans(""), Vec::<Span>::new());
    }

    #[test]
    fn a_report_reads_back_as_headings_lists_tables_and_paragraphs() {
        let text = "# Report\n\nPeriod: 2024.\nGenerated today.\n\n## KPIs\n\n\
                    | KPI | Health |\n|---|---|\n| Partner \\| satisfaction | **at risk** |\n\n\
                    - one\n- two\n\n#hashtag is text\n";
        assert_eq!(
            blocks(text),
            vec![
                Block::Heading {
                    level: 1,
                    text: plain("Report")
                },
                Block::Paragraph(plain("Period: 2024. Generated today.")),
                Block::Heading {
                    level: 2,
                    text: plain("KPIs")
                },
                Block::Table {
                    header: vec![plain("KPI"), plain("Health")],
                    rows: vec![vec![
                        plain("Partner | satisfaction"),
                        vec![Span::Strong("at risk".into())]
                    ]],
                },
                Block::List(vec![plain("one"), plain("two")]),
                Block::Paragraph(plain("#hashtag is text")),
            ]
        );
    }

    #[test]
    fn a_pipe_line_without_a_rule_is_a_paragraph() {
        assert_eq!(
            blocks("| not a table"),
            vec![Block::Paragraph(plain("| not a table"))]
        );
    }
}
