//! Health, metrics, JSON errors and operator subcommands.

use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::Transactable;
use serde_json::json;

use crate::helpers::{Relay, TempDir, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_json_errors() {
    let relay = Relay::start();
    assert_eq!(
        relay.api("GET", "/healthz", None, None),
        (200, serde_json::Value::String("ok".into()))
    );
    let device = relay.register("metrics");
    let client = relay.client(&device).await;
    let id = client.create(|tx| tx.put(ROOT, "k", 1)).unwrap();
    client.wait_synced(id, WAIT).await.unwrap();
    let (status, text) = crate::helpers::http(relay.addr, "GET", "/metrics", None, None);
    assert_eq!(status, 200);
    for name in [
        "accord_connections_open 1",
        "accord_commits_total",
        "accord_messages_received_total",
        "accord_commit_seconds_total",
    ] {
        assert!(text.contains(name), "metrics lack {name}:\n{text}");
    }
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
    let (status, me) = relay.api("GET", "/api/me", Some(&device.token), None);
    assert_eq!(status, 200);
    assert_eq!(me["grants"][0]["document"], id.to_string());
    assert_eq!(me["grants"][0]["role"], "owner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_list_export_invite_and_back_up() {
    let relay = Relay::start();
    let device = relay.register("ops");
    let client = relay.client(&device).await;
    let id = client
        .create(|tx| tx.put(ROOT, "title", "Exported"))
        .unwrap();
    client.wait_synced(id, WAIT).await.unwrap();

    let listed = relay.operator(&["documents", "list"]);
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&id.to_string()));

    let exported = relay.operator(&["documents", "export", &id.url()]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&exported.stdout).unwrap();
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
    let (status, grant) = relay.api(
        "POST",
        "/api/invites/redeem",
        Some(&guest.token),
        Some(&json!({ "code": code })),
    );
    assert_eq!(
        status, 200,
        "an invite made by the operator works on the running relay: {grant}"
    );
    assert_eq!(grant["role"], "viewer");

    let backups = TempDir::new("backup");
    let target = backups.path().join("copy.sqlite3");
    let backup = relay.operator(&["backup", target.to_str().unwrap()]);
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(std::fs::metadata(&target).unwrap().len() > 0);
}
