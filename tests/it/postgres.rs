//! The relay on PostgreSQL (`accord serve --store postgres://…`): data and
//! access survive restarts, the schema is checked at start. The tests share
//! one throwaway cluster per test process, with a database each.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::Transactable;
use serde_json::json;

use crate::helpers::{Relay, TempDir, WAIT, caught_up, content, relay_binary};

/// A fresh database on the test process's cluster.
pub fn database() -> String {
    accord_testpg::Cluster::shared()
        .create_database()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The database name at the end of a URL from [`database`].
fn name(url: &str) -> &str {
    url.rsplit('/').next().expect("a database name")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_devices_and_grants_survive_a_restart_on_postgres() {
    let url = database();
    let mut relay = Relay::start_on_postgres(&url, &[]);
    let [owner, guest] = relay.register_all(["owner", "guest"]);
    let (_client, id) = relay
        .client_with_new(&owner, |tx| tx.put(ROOT, "title", "kept in PostgreSQL"))
        .await;
    relay.share(&owner, id, &guest, "viewer", "Beta");
    let tables = accord_testpg::Cluster::shared()
        .psql(
            name(&url),
            "SELECT (SELECT COUNT(*) FROM devices) || ',' || (SELECT COUNT(*) FROM grants) \
             || ',' || (SELECT COUNT(DISTINCT document) FROM chunks)",
        )
        .unwrap();
    assert_eq!(tables, "2,2,1", "devices, grants, documents in PostgreSQL");

    relay.restart();
    // The same tokens authenticate, and the grant still holds.
    let reader = relay.client_holding(&guest, id).await;
    assert_eq!(content(&reader, id)["title"], "kept in PostgreSQL");
    let (status, me) = relay.api_as(&guest, "GET", "/api/me");
    assert_eq!(status, 200);
    assert_eq!(me["grants"][0]["role"], "viewer");
    // A viewer still cannot write: the access rules come from PostgreSQL.
    let (status, _) = relay.api(
        "POST",
        &format!("/api/documents/{id}/invites"),
        Some(&guest.token),
        Some(&json!({"role": "editor", "party": "", "expires_in_seconds": 60, "uses": 1})),
    );
    assert_eq!(status, 403);
}

#[test]
fn the_relay_refuses_a_schema_from_a_newer_relay() {
    let url = database();
    // The first start creates the schema; then a "newer relay" moves it on.
    drop(Relay::start_on_postgres(&url, &[]));
    accord_testpg::Cluster::shared()
        .psql(
            name(&url),
            "INSERT INTO accord_schema_migrations (version, description) VALUES (999, 'future')",
        )
        .unwrap();
    let data = TempDir::new("schema");
    let mut child = Command::new(relay_binary())
        .arg("--data-dir")
        .arg(data.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--store", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the relay did not refuse to start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains("schema is at version 999") && stderr.contains("newer relay"),
        "unclear error: {stderr}"
    );
}

#[test]
fn a_store_that_is_not_a_postgres_url_is_refused_with_a_clear_error() {
    let data = TempDir::new("bad-store");
    for (store, expected) in [
        ("mysql://x/y", "--store takes a PostgreSQL URL"),
        ("postgres://nobody@127.0.0.1:1/none", "opening postgres"),
    ] {
        let output = Command::new(relay_binary())
            .arg("--data-dir")
            .arg(data.path())
            .args(["documents", "list"])
            .env("ACCORD_STORE", store)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(stderr.contains(expected), "{store}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_crash_loses_nothing_acknowledged_and_the_relay_recovers_without_a_restart() {
    // A cluster of its own: this test crashes it.
    let cluster = accord_testpg::Cluster::start().unwrap_or_else(|e| panic!("{e}"));
    let url = cluster.create_database().unwrap();
    let relay = Relay::start_on_postgres(&url, &[]);
    let device = relay.register("writer");
    let (writer, id) = relay
        .client_with_new(&device, |tx| tx.put(ROOT, "title", "before"))
        .await;
    let relay_peer = writer.relay_peer().unwrap();
    let mut acknowledged = Vec::new();
    for i in 0..300i64 {
        writer
            .change(id, |tx| tx.put(ROOT, format!("edit-{}", i % 30), i))
            .unwrap();
        if let Some(heads) = writer.acknowledged_heads(id, &relay_peer) {
            acknowledged = heads;
        }
        if i == 150 {
            // PostgreSQL dies mid-stream: no shutdown checkpoint, WAL replay
            // on the next start.
            cluster.crash().unwrap();
        }
        if i % 30 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    if let Some(heads) = writer.acknowledged_heads(id, &relay_peer) {
        acknowledged = heads;
    }
    assert!(!acknowledged.is_empty());
    cluster.restart().unwrap();

    // The same relay process, never restarted, serves everything again: the
    // acknowledged changes from PostgreSQL, the rest resynced by the writer.
    let deadline = Instant::now() + WAIT;
    loop {
        let attempt = writer.reconnect(&relay.ws_url(&device.token)).await;
        if attempt.is_ok() && writer.wait_synced(id, Duration::from_secs(3)).await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the relay did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reader = relay.client_holding(&device, id).await;
    caught_up(&reader, &writer, id).await;
    let missing = reader.lacking(id, &acknowledged);
    assert!(missing.is_empty(), "acknowledged changes lost: {missing:?}");
    assert_eq!(content(&reader, id)["edit-29"], 299);
}
