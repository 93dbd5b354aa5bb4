//! The DOM side of the rich clause editor: styled runs rendered as HTML,
//! the browser's selection read and placed as character offsets, and
//! pasted HTML read back as runs keeping only bold and italic.
//!
//! The editor's HTML holds the text one-to-one: every character of the
//! body is a character of some text node, in order (line breaks are `\n`
//! shown by `white-space: pre-wrap`), so an offset into the body is an
//! offset into the concatenated text nodes. The only other node is a
//! `<br>` after a final line break, which has no text.

use accord_shared::model::formatting::Run;
use wasm_bindgen::JsCast;
use web_sys::{Element, Node};

use super::live_text::utf16_offset;

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// The editor's HTML for `runs`: bold in `<strong>`, italic in `<em>`.
pub fn html(runs: &[Run]) -> String {
    let mut out = String::new();
    for run in runs {
        let (open, close) = match (run.bold, run.italic) {
            (true, true) => ("<strong><em>", "</em></strong>"),
            (true, false) => ("<strong>", "</strong>"),
            (false, true) => ("<em>", "</em>"),
            (false, false) => ("", ""),
        };
        out.push_str(open);
        escape(&run.text, &mut out);
        out.push_str(close);
    }
    if runs.last().is_some_and(|r| r.text.ends_with('\n')) {
        // A final line break shows an empty last line only with a <br>.
        out.push_str("<br>");
    }
    out
}

/// Characters of the editor's text before the DOM point (`node`, `offset`).
fn chars_before(root: &Element, node: &Node, offset: u32) -> Option<usize> {
    let range = root.owner_document()?.create_range().ok()?;
    range.set_start(root, 0).ok()?;
    range.set_end(node, offset).ok()?;
    Some(String::from(range.to_string()).chars().count())
}

/// The selection inside `root` as character offsets: (start, end, focus),
/// where focus is the end the person moves (the caret). `None` when the
/// selection is elsewhere.
pub fn selection(root: &Element) -> Option<(usize, usize, usize)> {
    let selection = web_sys::window()?.get_selection().ok()??;
    if selection.range_count() == 0 {
        return None;
    }
    let range = selection.get_range_at(0).ok()?;
    let start_node = range.start_container().ok()?;
    if !root.contains(Some(&start_node)) {
        return None;
    }
    let start = chars_before(root, &start_node, range.start_offset().ok()?)?;
    let end = chars_before(root, &range.end_container().ok()?, range.end_offset().ok()?)?;
    let focus = match (selection.focus_node(), selection.focus_offset()) {
        (Some(node), offset) if root.contains(Some(&node)) => {
            chars_before(root, &node, offset).unwrap_or(end)
        }
        _ => end,
    };
    Some((start, end, focus))
}

/// The DOM point of character `position` of the editor's text.
fn locate(root: &Element, position: usize) -> Option<(Node, u32)> {
    let document = root.owner_document()?;
    // 4 = NodeFilter.SHOW_TEXT.
    let walker = document
        .create_tree_walker_with_what_to_show(root, 4)
        .ok()?;
    let mut seen = 0;
    let mut last = None;
    while let Ok(Some(node)) = walker.next_node() {
        let data = node.text_content().unwrap_or_default();
        let len = data.chars().count();
        if position <= seen + len {
            let offset = utf16_offset(&data, position - seen);
            return Some((node, offset));
        }
        seen += len;
        last = Some((node, utf16_offset(&data, len)));
    }
    last.or_else(|| Some((root.clone().unchecked_into(), 0)))
}

/// Selects characters `start..end` inside `root` (a caret when equal).
pub fn place_selection(root: &Element, start: usize, end: usize) {
    let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) else {
        return;
    };
    let (Some((start_node, start_offset)), Some((end_node, end_offset))) =
        (locate(root, start), locate(root, end))
    else {
        return;
    };
    let Some(range) = root.owner_document().and_then(|d| d.create_range().ok()) else {
        return;
    };
    if range.set_start(&start_node, start_offset).is_err()
        || range.set_end(&end_node, end_offset).is_err()
    {
        return;
    }
    let _ = selection.remove_all_ranges();
    let _ = selection.add_range(&range);
}

/// A DOM range over characters `start..end` of `root`, with `root`'s own
/// box to measure it from.
fn measured_range(
    root: &Element,
    start: usize,
    end: usize,
) -> Option<(web_sys::Range, web_sys::DomRect)> {
    let (start_node, start_offset) = locate(root, start)?;
    let (end_node, end_offset) = locate(root, end)?;
    let range = root.owner_document()?.create_range().ok()?;
    range.set_start(&start_node, start_offset).ok()?;
    range.set_end(&end_node, end_offset).ok()?;
    Some((range, root.get_bounding_client_rect()))
}

/// The rectangle of character position `position` inside `root`, relative
/// to `root`'s own box: (left, top, height) in CSS pixels. For drawing a
/// partner's caret there.
pub fn caret_box(root: &Element, position: usize) -> Option<(f64, f64, f64)> {
    let (range, origin) = measured_range(root, position, position)?;
    let rects = range.get_client_rects()?;
    let rect = match rects.get(0) {
        Some(rect) => rect,
        None => range.get_bounding_client_rect(),
    };
    if rect.height() == 0.0 && rect.left() == 0.0 {
        // An empty text: the start of the box.
        return Some((4.0, 4.0, 20.0));
    }
    Some((
        rect.left() - origin.left() + f64::from(root.scroll_left()),
        rect.top() - origin.top() + f64::from(root.scroll_top()),
        rect.height(),
    ))
}

/// The boxes covering characters `start..end` inside `root`, relative to
/// `root`: (left, top, width, height) each, for a partner's selection.
pub fn range_boxes(root: &Element, start: usize, end: usize) -> Vec<(f64, f64, f64, f64)> {
    let found = (|| {
        let (range, origin) = measured_range(root, start, end)?;
        let rects = range.get_client_rects()?;
        let mut boxes = Vec::new();
        for index in 0..rects.length() {
            if let Some(r) = rects.get(index)
                && r.width() > 0.0
            {
                boxes.push((
                    r.left() - origin.left() + f64::from(root.scroll_left()),
                    r.top() - origin.top() + f64::from(root.scroll_top()),
                    r.width(),
                    r.height(),
                ));
            }
        }
        Some(boxes)
    })();
    found.unwrap_or_default()
}

/// Collects pasted content as runs: text with its bold and italic, and
/// line breaks where blocks end. Everything else of the HTML (links,
/// colours, fonts, images, tables as such) is dropped.
#[derive(Debug, Default)]
pub struct PasteBuilder {
    runs: Vec<Run>,
    /// A line break is owed before the next text (a block ended).
    pending_break: bool,
}

impl PasteBuilder {
    /// Adds `text` (HTML whitespace collapsed to single spaces).
    pub fn text(&mut self, text: &str, bold: bool, italic: bool) {
        let mut collapsed = String::new();
        let mut space = false;
        for c in text.chars() {
            if c.is_whitespace() {
                space = true;
            } else {
                if space && (!collapsed.is_empty() || !self.ends_in_space()) {
                    collapsed.push(' ');
                }
                space = false;
                collapsed.push(c);
            }
        }
        // Trailing space, or a text of spaces only (between two inline
        // elements): one space, unless one is already there.
        if space && (!collapsed.is_empty() || !self.ends_in_space()) {
            collapsed.push(' ');
        }
        if collapsed.is_empty() {
            return;
        }
        if self.pending_break {
            self.pending_break = false;
            self.push("\n", false, false);
        }
        self.push(&collapsed, bold, italic);
    }

    /// Adds text as is (a list prefix, or a `<br>`'s line break).
    pub fn raw(&mut self, text: &str) {
        if self.pending_break {
            self.pending_break = false;
            self.push("\n", false, false);
        }
        self.push(text, false, false);
    }

    /// A block (paragraph, list item, heading) starts or ends here.
    pub fn block(&mut self) {
        if !self.runs.is_empty() && !self.at_line_start() {
            self.pending_break = true;
        }
    }

    fn ends_in_space(&self) -> bool {
        self.runs
            .last()
            .is_none_or(|r| r.text.ends_with(char::is_whitespace))
    }

    fn at_line_start(&self) -> bool {
        self.runs.last().is_none_or(|r| r.text.ends_with('\n'))
    }

    fn push(&mut self, text: &str, bold: bool, italic: bool) {
        match self.runs.last_mut() {
            Some(last) if last.bold == bold && last.italic == italic => last.text.push_str(text),
            _ => self.runs.push(Run {
                text: text.to_owned(),
                bold,
                italic,
            }),
        }
    }

    /// The runs, without trailing spaces or line breaks.
    pub fn finish(mut self) -> Vec<Run> {
        while let Some(last) = self.runs.last_mut() {
            let trimmed = last.text.trim_end().len();
            last.text.truncate(trimmed);
            if last.text.is_empty() {
                self.runs.pop();
            } else {
                break;
            }
        }
        self.runs
    }
}

fn weight_is_bold(weight: &str) -> Option<bool> {
    match weight.trim() {
        "" => None,
        "bold" | "bolder" => Some(true),
        "normal" | "lighter" => Some(false),
        number => number.parse::<u32>().ok().map(|n| n >= 600),
    }
}

fn walk(node: &Node, bold: bool, italic: bool, out: &mut PasteBuilder) {
    const TEXT_NODE: u16 = 3;
    const ELEMENT_NODE: u16 = 1;
    match node.node_type() {
        TEXT_NODE => out.text(&node.text_content().unwrap_or_default(), bold, italic),
        ELEMENT_NODE => {
            let Some(element) = node.dyn_ref::<Element>() else {
                return;
            };
            let tag = element.tag_name().to_ascii_lowercase();
            if matches!(
                tag.as_str(),
                "script" | "style" | "head" | "title" | "meta" | "template"
            ) {
                return;
            }
            let style = element.get_attribute("style").unwrap_or_default();
            let declared = |name: &str| {
                style.split(';').find_map(|part| {
                    let (key, value) = part.split_once(':')?;
                    (key.trim().eq_ignore_ascii_case(name))
                        .then(|| value.trim().to_ascii_lowercase())
                })
            };
            let mut bold = bold || matches!(tag.as_str(), "b" | "strong" | "h1" | "h2" | "h3");
            let mut italic = italic || matches!(tag.as_str(), "i" | "em");
            if let Some(weight) = declared("font-weight").and_then(|w| weight_is_bold(&w)) {
                bold = weight;
            }
            if let Some(slant) = declared("font-style") {
                italic = slant == "italic" || slant == "oblique";
            }
            let block = matches!(
                tag.as_str(),
                "p" | "div"
                    | "li"
                    | "ul"
                    | "ol"
                    | "h1"
                    | "h2"
                    | "h3"
                    | "h4"
                    | "h5"
                    | "h6"
                    | "tr"
                    | "blockquote"
                    | "pre"
                    | "section"
                    | "article"
            );
            if tag == "br" {
                out.raw("\n");
                return;
            }
            if block {
                out.block();
            }
            if tag == "li" {
                let numbered = element
                    .parent_element()
                    .is_some_and(|p| p.tag_name().eq_ignore_ascii_case("ol"));
                let prefix = if numbered {
                    let mut index = 1;
                    let mut sibling = element.previous_element_sibling();
                    while let Some(s) = sibling {
                        if s.tag_name().eq_ignore_ascii_case("li") {
                            index += 1;
                        }
                        sibling = s.previous_element_sibling();
                    }
                    format!("{index}. ")
                } else {
                    "- ".to_owned()
                };
                out.raw(&prefix);
            }
            let children = node.child_nodes();
            for index in 0..children.length() {
                if let Some(child) = children.get(index) {
                    walk(&child, bold, italic, out);
                }
            }
            if block {
                out.block();
            }
        }
        _ => {}
    }
}

/// Runs from pasted `html` (bold and italic kept, blocks as lines, list
/// items as `- ` / `1. ` lines); `None` when it cannot be parsed.
pub fn runs_from_html(html: &str) -> Option<Vec<Run>> {
    let parser = web_sys::DomParser::new().ok()?;
    let document = parser
        .parse_from_string(html, web_sys::SupportedType::TextHtml)
        .ok()?;
    let body = document.body()?;
    let mut builder = PasteBuilder::default();
    walk(&body, false, false, &mut builder);
    Some(builder.finish())
}

/// Runs from pasted plain text (line breaks kept, `\r` dropped).
pub fn runs_from_plain(text: &str) -> Vec<Run> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    if text.is_empty() {
        Vec::new()
    } else {
        vec![Run::plain(text)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, bold: bool, italic: bool) -> Run {
        Run {
            text: text.into(),
            bold,
            italic,
        }
    }

    #[test]
    fn html_escapes_text_and_shows_a_final_line_break() {
        let runs = [
            run("a < b & ", false, false),
            run("\"c\"", true, true),
            run("\n", false, true),
        ];
        assert_eq!(
            html(&runs),
            "a &lt; b &amp; <strong><em>&quot;c&quot;</em></strong><em>\n</em><br>"
        );
        assert_eq!(html(&[]), "");
    }

    #[test]
    fn pasted_blocks_become_lines_and_whitespace_collapses() {
        let mut paste = PasteBuilder::default();
        paste.block();
        paste.text("\n  Hello   ", false, false);
        paste.text("world", true, false);
        paste.text("  ", false, false);
        paste.text("again", false, false);
        paste.block();
        paste.block();
        paste.raw("- ");
        paste.text(" item ", false, true);
        paste.block();
        paste.text("   ", false, false);
        assert_eq!(
            paste.finish(),
            vec![
                run("Hello ", false, false),
                run("world", true, false),
                run(" again\n- ", false, false),
                run("item", false, true),
            ]
        );
        assert_eq!(weight_is_bold("700"), Some(true));
        assert_eq!(weight_is_bold("normal"), Some(false));
        assert_eq!(weight_is_bold("400"), Some(false));
        assert_eq!(runs_from_plain("a\r\nb"), vec![Run::plain("a\nb")]);
    }
}
