//! The built web app (see [`crate::web_assets`]) over HTTP: precompressed
//! variants chosen by `Accept-Encoding`, long-lived caching for hashed
//! files and ETag revalidation for the rest, `index.html` for app routes
//! and 404 for missing assets, and a Content-Security-Policy the app works
//! with on the page.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::web_assets::{self, Target, WebApp};

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
    let Some(web) = state.web.as_deref() else {
        return (
            StatusCode::NOT_FOUND,
            "This relay serves no web app (start it with --web-dir, or build it with the embed-web feature).",
        )
            .into_response();
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let Target::File(relative) = web_assets::resolve(path) else {
        return not_found();
    };
    let relative = if web.contains(relative).await {
        relative
    } else if web_assets::is_app_route(relative) {
        "index.html"
    } else {
        return not_found();
    };
    serve_file(web, relative, request.headers()).await
}

/// A missing asset: a plain 404, never the app page (a script or style
/// request given HTML fails in confusing ways).
fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such file").into_response()
}

/// One existing file with its caching, encoding and security headers.
async fn serve_file(web: &WebApp, relative: &str, request: &HeaderMap) -> Response {
    let accept = request
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut chosen = None;
    for encoding in web_assets::accepted_encodings(accept) {
        if let Some(bytes) = web.read(&format!("{relative}{}", encoding.suffix())).await {
            chosen = Some((bytes, Some(encoding)));
            break;
        }
    }
    if chosen.is_none() {
        chosen = web.read(relative).await.map(|bytes| (bytes, None));
    }
    let Some((body, encoding)) = chosen else {
        return not_found();
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(web_assets::content_type(relative)),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(web_assets::cache_control(relative)),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(encoding) = encoding {
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.name()),
        );
    }
    if relative.ends_with(".html") {
        let host = request
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| is_plain_host(h));
        let page = match encoding {
            None => body.clone(),
            Some(_) => web.read(relative).await.unwrap_or_default(),
        };
        let policy = content_security_policy(&page, host);
        if let Ok(value) = HeaderValue::from_str(&policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    if !web_assets::is_hashed(relative) {
        // Per variant: a gzip body and a brotli body are different bytes.
        let digest = Sha256::digest(&body);
        let tag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let etag = format!("\"{tag}\"");
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| web_assets::etag_matches(v, &etag));
        if let Ok(value) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, value);
        }
        if fresh {
            headers.remove(header::CONTENT_TYPE);
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
    }
    (StatusCode::OK, headers, body).into_response()
}

/// Headers every response carries: no MIME sniffing, no framing, no referrer
/// (sync URLs carry a token in their query string); over TLS also HSTS, so
/// a browser that once reached the relay securely never tries plain HTTP
/// for a year.
pub(crate) async fn security_headers(
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let over_tls = request
        .extensions()
        .get::<crate::listener::OverTls>()
        .is_some();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if over_tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
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
fn content_security_policy(page: &Bytes, host: Option<&str>) -> String {
    let index = String::from_utf8_lossy(page);
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
