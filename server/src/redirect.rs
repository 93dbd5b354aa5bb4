//! The plain-HTTP listener's one answer: go to the same place over HTTPS.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A 308 to `https://<host>[:port]<path?query>`, the port omitted when it is
/// 443; 400 when the request names no usable host.
pub(crate) fn to_https(request: &axum::extract::Request, https_port: u16) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(host_name);
    let Some(host) = host else {
        return (StatusCode::BAD_REQUEST, "a Host header is needed").into_response();
    };
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let target = format!("https://{host}{port}{path}");
    match HeaderValue::from_str(&target) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "unusable request target").into_response(),
    }
}

/// The host part of a `Host` header (its port dropped), if it is a plain
/// name or address.
fn host_name(host: &str) -> Option<&str> {
    let name = if host.starts_with('[') {
        // [v6]:port
        &host[..=host.find(']')?]
    } else {
        host.split(':').next()?
    };
    let plain = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    plain.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(host: &str, path: &str, port: u16) -> Option<String> {
        let request = axum::http::Request::builder()
            .uri(path)
            .header(header::HOST, host)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = to_https(&request, port);
        response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn redirects_keep_host_and_path() {
        for (host, path, https_port, expected) in [
            (
                "accord.example.org",
                "/#x",
                443,
                Some("https://accord.example.org/"),
            ),
            (
                "accord.example.org:80",
                "/join/a?b=c",
                443,
                Some("https://accord.example.org/join/a?b=c"),
            ),
            ("127.0.0.1:8080", "/", 8443, Some("https://127.0.0.1:8443/")),
            ("[::1]:80", "/", 443, Some("https://[::1]/")),
            ("evil.com/x", "/", 443, None),
        ] {
            assert_eq!(
                location(host, path, https_port).as_deref(),
                expected,
                "Host {host}, path {path}"
            );
        }
    }
}
