//! One HTTP/1.1 exchange as text, for the small JSON API clients of the load
//! generator and the integration tests: the request's head, and the status
//! and body of the response. No I/O here; the callers own their sockets.

use serde_json::Value;

/// The head of a request to `host` with `Connection: close`, a bearer
/// `token` when given, and a JSON body of `body_len` bytes to follow.
pub fn request_head(
    method: &str,
    path: &str,
    host: &str,
    token: Option<&str>,
    body_len: usize,
) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {body_len}\r\nConnection: close\r\n\r\n"
    )
}

/// The status (0 when there is none) and the body, de-chunked when sent
/// chunked, of a whole response.
pub fn response_parts(text: &str) -> (u16, String) {
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    (status, body)
}

/// A response body as JSON: `Null` when empty, the text itself as a JSON
/// string when it does not parse.
pub fn json_body(body: String) -> Value {
    if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).unwrap_or(Value::String(body))
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || tail.len() < size {
            break;
        }
        out.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_json_response_comes_back_whole() {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
        let (status, body) = response_parts(text);
        assert_eq!((status, body.as_str()), (200, "{\"a\":1}"));
        assert_eq!(json_body(body), serde_json::json!({ "a": 1 }));
    }

    #[test]
    fn empty_and_non_json_bodies() {
        let (status, body) = response_parts("HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!((status, json_body(body)), (204, Value::Null));
        assert_eq!(json_body("oops".into()), Value::String("oops".into()));
        assert_eq!(response_parts("garbage").0, 0);
    }
}
