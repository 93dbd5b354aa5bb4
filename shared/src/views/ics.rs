//! Calendar export of meetings as iCalendar (RFC 5545).
//!
//! One `VCALENDAR` with a `VEVENT` per meeting: `UID` (the meeting id, stable
//! across exports so calendars update rather than duplicate), `DTSTAMP` (the
//! export time), `DTSTART`/`DTEND` in UTC, `SUMMARY`, `LOCATION` and a
//! `DESCRIPTION` holding the agenda. Text values are escaped (`\\`, `\;`,
//! `\,`, `\n`) and content lines are folded at 75 octets without splitting
//! a UTF-8 character; lines end with CRLF.
//!
//! Written by hand rather than with the `icalendar` crate: Accord needs one
//! component with six properties, escaping and folding (about a hundred
//! lines, tested below), while that crate builds on `chrono`, which the
//! web build does not otherwise contain; dates come from
//! [`crate::calendar`].

use std::fmt::Write as _;

pub use crate::calendar::UtcDateTime;
use crate::model::meetings::Meeting;

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma
/// and newlines (a CR or CRLF becomes one `\n`).
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            // Other control characters are not allowed in TEXT.
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds one content line (RFC 5545 §3.1): no line longer than 75 octets
/// (excluding CRLF), continuation lines start with one space, and a
/// multi-byte character is never split. Returns the line with its CRLF.
pub fn fold_line(line: &str) -> String {
    const LIMIT: usize = 75;
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > LIMIT {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
    out
}

/// The description of a meeting's event: its kind and agenda.
fn description(meeting: &Meeting, partnership: &str) -> String {
    let mut text = format!("{} — {}", meeting.fields.kind.label(), partnership);
    if !meeting.agenda.is_empty() {
        text.push_str("\n\nAgenda:");
        for (n, item) in meeting.agenda.iter().enumerate() {
            let _ = write!(text, "\n{}. {}", n + 1, item.title);
        }
    }
    text
}

/// The content lines of one meeting's `VEVENT` (unfolded).
fn event_lines(meeting: &Meeting, partnership: &str, now: u64) -> Vec<String> {
    let mut lines = vec![
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}@accord", meeting.id),
        format!("DTSTAMP:{}", UtcDateTime::from_millis(now).ical()),
        format!(
            "DTSTART:{}",
            UtcDateTime::from_millis(meeting.fields.at).ical()
        ),
        format!(
            "DTEND:{}",
            UtcDateTime::from_millis(meeting.ends_at()).ical()
        ),
        format!("SUMMARY:{}", escape_text(&meeting.fields.title)),
    ];
    if !meeting.fields.location.is_empty() {
        lines.push(format!(
            "LOCATION:{}",
            escape_text(&meeting.fields.location)
        ));
    }
    lines.push(format!(
        "DESCRIPTION:{}",
        escape_text(&description(meeting, partnership))
    ));
    lines.push("END:VEVENT".to_owned());
    lines
}

/// An iCalendar file with one event per meeting, exported at `now`
/// (UTC ms). `partnership` is the partnership's title, named in each
/// description and in the calendar name.
pub fn calendar(meetings: &[Meeting], partnership: &str, now: u64) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Accord//Partnership meetings//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        format!("X-WR-CALNAME:{}", escape_text(partnership)),
    ];
    for meeting in meetings {
        lines.extend(event_lines(meeting, partnership, now));
    }
    lines.push("END:VCALENDAR".to_owned());
    lines.iter().map(|line| fold_line(line)).collect()
}

/// An iCalendar file for one meeting.
pub fn meeting(meeting: &Meeting, partnership: &str, now: u64) -> String {
    calendar(std::slice::from_ref(meeting), partnership, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ItemId;
    use crate::model::meetings::{AgendaItem, MeetingFields, MeetingKind};

    #[test]
    fn escaping() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg\u{7}h\ti"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng".to_owned() + "h\ti"
        );
        assert_eq!(escape_text("plain: text"), "plain: text");
    }

    #[test]
    fn folding_at_75_octets_without_splitting_characters() {
        let short = "SUMMARY:short";
        assert_eq!(fold_line(short), "SUMMARY:short\r\n");
        let exact = "X".repeat(75);
        assert_eq!(fold_line(&exact), format!("{exact}\r\n"));
        let long = format!("DESCRIPTION:{}", "a".repeat(200));
        let folded = fold_line(&long);
        for line in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets", line.len());
        }
        // Unfolding (removing CRLF + space) gives the line back.
        assert_eq!(folded.replace("\r\n ", "").trim_end(), long);
        let lines: Vec<&str> = folded.split("\r\n").collect();
        assert_eq!(lines[0].len(), 75);
        assert_eq!(lines[1].len(), 75);
        assert!(lines[1].starts_with(' '));

        // Multi-byte characters: 'é' is two octets, '€' three.
        let accents = format!("SUMMARY:{}", "é€".repeat(40));
        let folded = fold_line(&accents);
        for line in folded.split("\r\n") {
            assert!(line.len() <= 75);
        }
        assert_eq!(folded.replace("\r\n ", "").trim_end(), accents);
    }

    #[test]
    fn a_meeting_becomes_a_vevent() {
        let meeting = Meeting {
            id: ItemId::from_bytes([0xab; 16]),
            fields: MeetingFields {
                kind: MeetingKind::QuarterlyBusinessReview,
                title: "Q1 review; pipeline, risks".into(),
                at: 1_700_000_000_000,
                duration_minutes: 90,
                location: "Room 4, HQ".into(),
            },
            held_at: None,
            agenda: vec![
                AgendaItem {
                    id: ItemId::from_bytes([1; 16]),
                    title: "Pipeline".into(),
                },
                AgendaItem {
                    id: ItemId::from_bytes([2; 16]),
                    title: "A very long agenda item about the joint go-to-market plan for the Benelux region".into(),
                },
            ],
            minutes: String::new(),
            decisions: Vec::new(),
            actions: Vec::new(),
            created_at: None,
        };
        let ics = meeting_calendar_for_test(&meeting);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
        assert!(ics.contains(&format!("\r\nUID:{}@accord\r\n", "ab".repeat(16))));
        assert!(ics.contains("\r\nDTSTAMP:20240101T000000Z\r\n"));
        assert!(ics.contains("\r\nDTSTART:20231114T221320Z\r\n"));
        assert!(ics.contains("\r\nDTEND:20231114T234320Z\r\n"));
        assert!(ics.contains("\r\nSUMMARY:Q1 review\\; pipeline\\, risks\r\n"));
        assert!(ics.contains("\r\nLOCATION:Room 4\\, HQ\r\n"));
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(
            "DESCRIPTION:Quarterly business review — Acme × Globex\\n\\nAgenda:\\n1. Pipeline\\n2. A very long agenda item about the joint go-to-market plan for the Benelux region\r\n"
        ));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line:?}");
        }
        assert!(!ics.replace("\r\n", "").contains('\n'));
    }

    fn meeting_calendar_for_test(m: &Meeting) -> String {
        meeting(m, "Acme × Globex", 1_704_067_200_000)
    }
}
