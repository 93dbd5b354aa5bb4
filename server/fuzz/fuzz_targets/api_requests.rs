//! Arbitrary requests to the relay's HTTP API, in process (no sockets): any
//! method, any path under the API's routes with arbitrary segments, an
//! arbitrary body sent as JSON, with or without a valid bearer token.
//!
//! Checked for every input: the router does not panic, never answers 500,
//! and every `/api` answer is JSON (an error is `{"error": "…"}` with a
//! short message that does not echo long input back).
#![no_main]

use std::sync::{Arc, OnceLock};

use accord_server::storage::MemoryStore;
use accord_server::{AppState, Config, Limits};
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt as _;

/// An Ed25519 public key (RFC 8032 test vector 1).
const KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    token: String,
    document: String,
    device: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("an address"),
            data_dir: std::env::temp_dir(),
            web_dir: None,
            registration: accord_server::access::Registration::Open,
            limits: Limits::default(),
            storage_id: "fuzz".into(),
            metrics: accord_server::config::MetricsAccess::default(),
        };
        let state = runtime
            .block_on(async { AppState::start(&config, Arc::new(MemoryStore::new())) })
            .expect("the relay starts");
        let (device, token) = state
            .access()
            .register(KEY, "fuzzer", None, 1)
            .expect("registers");
        let document = accord_shared_document();
        state
            .access()
            .claim(document.parse().expect("an id"), &device.id, "Fuzz", 2)
            .expect("claims");
        Fixture {
            app: accord_server::app(state),
            runtime,
            token,
            document,
            device: device.id,
        }
    })
}

/// A fixed, valid document id.
fn accord_shared_document() -> String {
    accord_shared::ids::DocumentId::from_bytes([7; 16]).to_string()
}

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

/// Path shapes with slots the input fills: `{}` is a fuzzed segment, `{doc}`
/// the fixture's document, `{dev}` its device.
const PATHS: [&str; 14] = [
    "/api/devices",
    "/api/devices/{}",
    "/api/devices/{dev}",
    "/api/me",
    "/api/documents/{}",
    "/api/documents/{doc}",
    "/api/documents/{}/grants",
    "/api/documents/{doc}/grants/{}",
    "/api/documents/{doc}/devices",
    "/api/documents/{doc}/revocations/{}",
    "/api/documents/{}/keys",
    "/api/documents/{doc}/invites",
    "/api/invites/redeem",
    "/api/{}",
];

/// Percent-encodes everything but unreserved characters, so any bytes make a
/// valid URI path segment.
fn segment(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fuzz_target!(|input: &[u8]| {
    let [method, path, flags, rest @ ..] = input else {
        return;
    };
    let f = fixture();
    let (seg, body) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let path = PATHS[usize::from(*path) % PATHS.len()]
        .replace("{doc}", &f.document)
        .replace("{dev}", &f.device)
        .replace("{}", &segment(seg));
    let mut request = Request::builder()
        .method(METHODS[usize::from(*method) % METHODS.len()].clone())
        .uri(path.as_str())
        .header(header::CONTENT_TYPE, "application/json");
    if flags & 1 == 1 {
        request = request.header(header::AUTHORIZATION, format!("Bearer {}", f.token));
    }
    let Ok(request) = request.body(Body::from(body.to_vec())) else {
        return;
    };
    let app = f.app.clone();
    let (status, text) = f.runtime.block_on(async move {
        let response = app.oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("a bounded body");
        (status, bytes)
    });
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
    if status.is_client_error() || status.is_server_error() {
        let value: serde_json::Value = serde_json::from_slice(&text)
            .unwrap_or_else(|e| panic!("{path} answered {status} without JSON: {e}"));
        let message = value["error"].as_str().expect("an error message");
        assert!(message.len() <= 512, "{path}: a long error: {message}");
    }
});
