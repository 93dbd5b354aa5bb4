//! Health, metrics, JSON errors and operator subcommands.

use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::Transactable;
use serde_json::json;

use crate::helpers::{Relay, TempDir, WAIT, assert_holds_all};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_json_errors() {
    let relay = Relay::start();
    assert_eq!(
        relay.api("GET", "/healthz", None, None),
        (200, serde_json::Value::String("ok".into()))
    );
    let device = relay.register("metrics");
    let (_client, id) = relay
        .client_with_new(&device, |tx| tx.put(ROOT, "k", 1))
        .await;
    let (status, text) = crate::helpers::http(relay.addr, "GET", "/metrics", None, None);
    assert_eq!(status, 200);
    let metrics = [
        "accord_connections_open 1",
        "accord_commits_total",
        "accord_messages_received_total",
        "accord_commit_seconds_total",
    ];
    assert_holds_all("metrics", &text, &metrics);
    let (status, body) = relay.api(
        "POST",
        "/api/devices",
        None,
        Some(&json!({"public_key": "short"})),
    );
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("public_key"));
    let (status, body) =
        crate::helpers::http(relay.addr, "POST", "/api/devices", None, Some("{not json"));
    assert_eq!(status, 400, "{body}");
    let (status, body) = relay.api(
        "PUT",
        "/api/documents/not-an-id",
        Some(&device.token),
        Some(&json!({})),
    );
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("document id"));
    let (status, me) = relay.api_as(&device, "GET", "/api/me");
    assert_eq!(status, 200);
    assert_eq!(me["grants"][0]["document"], id.to_string());
    assert_eq!(me["grants"][0]["role"], "owner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_list_export_invite_and_back_up() {
    operator_commands(Relay::start()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_list_export_invite_and_back_up_on_postgres() {
    let url = crate::postgres::database();
    operator_commands(Relay::start_on_postgres(&url, &[])).await;
}

/// `documents list/export`, `invite create` and `backup` against a running
/// relay's store; the backup is an SQLite database the relay can read.
async fn operator_commands(relay: Relay) {
    let device = relay.register("ops");
    let (_client, id) = relay
        .client_with_new(&device, |tx| tx.put(ROOT, "title", "Exported"))
        .await;

    let listed = relay.operator(&["documents", "list"]);
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&id.to_string()));

    let exported = relay.operator(&["documents", "export", &id.url()]);
    let json: serde_json::Value = serde_json::from_slice(succeeded(&exported)).unwrap();
    assert_eq!(json["title"], "Exported");

    let invite = relay.operator(&[
        "invite",
        "create",
        "--document",
        &id.to_string(),
        "--role",
        "viewer",
        "--party",
        "Beta",
    ]);
    assert!(invite.status.success());
    let code = String::from_utf8_lossy(&invite.stdout).trim().to_owned();
    let guest = relay.register("guest");
    let (status, grant) = relay.redeem(&guest, &code);
    assert_eq!(
        status, 200,
        "an invite made by the operator works on the running relay: {grant}"
    );
    assert_eq!(grant["role"], "viewer");

    let backups = TempDir::new("backup");
    let target = backups.path().join("copy.sqlite3");
    let backup = relay.operator(&["backup", target.to_str().unwrap()]);
    succeeded(&backup);
    assert!(std::fs::metadata(&target).unwrap().len() > 0);
    let again = relay.operator(&["backup", target.to_str().unwrap()]);
    assert!(!again.status.success(), "a backup never overwrites a file");

    // The copy is a data directory's database: export the document from it.
    let restored = TempDir::new("restored");
    std::fs::copy(&target, restored.path().join("accord.sqlite3")).unwrap();
    let exported = std::process::Command::new(crate::helpers::relay_binary())
        .arg("--data-dir")
        .arg(restored.path())
        .args(["documents", "export", &id.to_string()])
        .env_remove("ACCORD_STORE")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(succeeded(&exported)).unwrap();
    assert_eq!(json["title"], "Exported");
}

/// The standard output of a command that must have succeeded (else its
/// standard error says why it did not).
fn succeeded(output: &std::process::Output) -> &[u8] {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    &output.stdout
}

/// A GET whose whole response (head and body) comes back as text.
fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_is_served_with_security_headers_and_unknown_api_paths_are_json_404() {
    let dist = TempDir::new("dist");
    let script = "\n    import init from \"/pkg/app.js\";\n    await init();\n  ";
    std::fs::write(
        dist.path().join("index.html"),
        format!(
            "<!doctype html><html><head><script type=\"module\">{script}</script></head></html>"
        ),
    )
    .unwrap();
    let relay = Relay::start_with_web(dist.path());
    let page = raw_get(relay.addr, "/");
    let head = page.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let csp = head
        .lines()
        .find_map(|l| l.strip_prefix("content-security-policy: "))
        .unwrap_or_else(|| panic!("no CSP: {head}"));
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let scripts = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert!(!scripts.contains("unsafe-inline"), "{scripts}");
    assert!(
        csp.contains(&format!("ws://{}", relay.addr)),
        "the sync socket is allowed: {csp}"
    );
    // The inline module is allowed by its hash.
    let hash = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script))
    };
    assert!(
        csp.contains(&format!("'sha256-{}'", hash.to_ascii_lowercase())),
        "{csp}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("x-frame-options: deny"), "{head}");

    for path in ["/api/nope", "/api", "/api/", "/api/documents"] {
        let (status, body) = relay.api("GET", path, None, None);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(
            body["error"].is_string(),
            "{path}: JSON, not index.html: {body}"
        );
    }
    let (status, _) = relay.api("GET", "/some/client/route", None, None);
    assert_eq!(status, 200, "client-side routes still get the app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_require_a_token_or_move_to_another_address() {
    let relay = Relay::start_with_args(&["--metrics-token", "scrape-secret"]);
    let (status, _) = crate::helpers::http(relay.addr, "GET", "/metrics", None, None);
    assert_eq!(status, 401);
    let (status, _) =
        crate::helpers::http(relay.addr, "GET", "/metrics", Some("wrong-secret"), None);
    assert_eq!(status, 401);
    let (status, text) =
        crate::helpers::http(relay.addr, "GET", "/metrics", Some("scrape-secret"), None);
    assert_eq!(status, 200);
    assert!(text.contains("accord_connections_open"), "{text}");

    let relay = Relay::start_with_args(&["--metrics-listen", "127.0.0.1:0"]);
    let (status, body) = relay.api("GET", "/metrics", None, None);
    assert_eq!(status, 404, "not on the public address: {body}");
    assert_eq!(relay.api("GET", "/healthz", None, None).0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_are_short_json_even_from_the_router() {
    let relay = Relay::start();
    let device = relay.register("owner");
    let id = accord_shared::ids::DocumentId::from_bytes([4; 16]);
    // serde quotes an unknown variant: the answer must not echo 100 KB back.
    let role = "x".repeat(100_000);
    let (status, body) = relay.api(
        "POST",
        &format!("/api/documents/{id}/invites"),
        Some(&device.token),
        Some(&json!({ "role": role })),
    );
    assert_eq!(status, 422, "{}", body.to_string().len());
    assert!(
        body["error"].as_str().unwrap().len() <= 210,
        "{}",
        body.to_string().len()
    );
    // The router's own refusals are JSON too.
    let (status, body) = relay.api_as(&device, "PATCH", "/api/me");
    assert_eq!(status, 405);
    assert!(body["error"].is_string(), "{body}");
    let (status, body) = relay.api_as(&device, "GET", "/api/devices/%FF%FE");
    assert_eq!(status, 400);
    assert!(body["error"].is_string(), "{body}");
}
