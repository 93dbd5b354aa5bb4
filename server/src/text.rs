//! Peer-supplied text on its way into close frames and logs: cut to a byte
//! budget on a character boundary, control characters escaped.

use std::fmt::Write as _;

/// The most a WebSocket close reason may hold: a control frame carries at
/// most 125 bytes, two of which are the status code (RFC 6455 §5.5).
pub(crate) const CLOSE_REASON_BYTES: usize = 123;

/// Longest text a single log field carries before it is cut.
pub(crate) const LOG_FIELD_CHARS: usize = 200;

/// The longest prefix of `text` that fits in `max_bytes` without splitting a
/// character.
pub(crate) fn truncate_utf8(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` made safe for one log field: control characters (newlines
/// included) escaped, so a peer cannot forge log lines, and at most
/// [`LOG_FIELD_CHARS`] characters kept, so it cannot flood the log.
pub(crate) fn for_log(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(LOG_FIELD_CHARS + 8));
    for (n, c) in text.chars().enumerate() {
        if n == LOG_FIELD_CHARS {
            let _ = write!(out, "… ({} bytes)", text.len());
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_are_cut_on_a_character_boundary() {
        let reason = "ü".repeat(100);
        let cut = truncate_utf8(&reason, CLOSE_REASON_BYTES);
        assert!(cut.len() <= CLOSE_REASON_BYTES);
        assert_eq!(cut.len(), 122, "61 two-byte characters");
        assert_eq!(truncate_utf8("short", CLOSE_REASON_BYTES), "short");
    }

    #[test]
    fn log_fields_are_escaped_and_bounded() {
        let forged = "bye\n2026-01-01T00:00:00Z  INFO accord: admin logged in";
        let safe = for_log(forged);
        assert!(!safe.contains('\n'), "{safe}");
        assert!(safe.contains("\\n"));
        let long = for_log(&"x".repeat(1_000_000));
        assert!(long.len() < LOG_FIELD_CHARS + 40, "{}", long.len());
        assert!(long.ends_with("(1000000 bytes)"));
    }
}
