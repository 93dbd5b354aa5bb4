//! The built web app, served from `--web-dir` with precompressed variants and
//! a fallback to `index.html` for client-side routes, under a
//! Content-Security-Policy the app works with.

use std::path::Path;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

use crate::AppState;

/// Fallback handler for every path no API route matched.
pub(crate) async fn serve(State(state): State<AppState>, request: Request<Body>) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        // Whatever the router did not match under /api (`/api/` included)
        // is an unknown endpoint, never the web app.
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({ "error": "no such API endpoint" })),
        )
            .into_response();
    }
    let Some(dir) = state.web_dir.clone() else {
        return (
            StatusCode::NOT_FOUND,
            "This relay serves no web app (start it with --web-dir).",
        )
            .into_response();
    };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_plain_host(h))
        .map(str::to_owned);
    let index = ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let service = ServeDir::new(&dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index);
    let mut response = match service.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    };
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        let policy = content_security_policy(&dir, host.as_deref());
        if let Ok(value) = HeaderValue::from_str(&policy) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// Headers every response carries: no MIME sniffing, no framing, no referrer
/// (sync URLs carry a token in their query string).
pub(crate) async fn security_headers(
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A `Host` header safe to repeat in a policy: a name or address and port.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// The app's policy. Scripts: its own files, WebAssembly compilation
/// (`'wasm-unsafe-eval'`) and the inline module in `index.html`, allowed by
/// its hash rather than by `'unsafe-inline'`. Connections: its own origin,
/// including the sync WebSocket (`ws:`/`wss:` on the same host, spelled out
/// for browsers whose `'self'` does not cover them). Styles allow inline
/// `style` attributes, which the UI sets. No framing, plugins or `<base>`.
fn content_security_policy(dir: &Path, host: Option<&str>) -> String {
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap_or_default();
    let hashes: String = inline_scripts(&index)
        .map(|script| format!(" 'sha256-{}'", STANDARD.encode(Sha256::digest(script))))
        .collect();
    let sockets = host.map_or_else(String::new, |h| format!(" ws://{h} wss://{h}"));
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
         connect-src 'self'{sockets}; worker-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The bodies of `<script>` elements without a `src` attribute.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find("<script")?;
            let after = &rest[start..];
            let open_end = after.find('>')?;
            let tag = &after[..open_end];
            let body_and_more = &after[open_end + 1..];
            let close = body_and_more.find("</script>")?;
            let body = &body_and_more[..close];
            rest = &body_and_more[close..];
            if !tag.contains(" src=") {
                return Some(body);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_inline_scripts_only() {
        let html = "<script src=\"/a.js\"></script><script type=\"module\">\n  go();\n</script>";
        let found: Vec<&str> = inline_scripts(html).collect();
        assert_eq!(found, ["\n  go();\n"]);
        assert!(is_plain_host("127.0.0.1:8080"));
        assert!(!is_plain_host("evil.com; script-src *"));
    }
}
