//! Several relay processes on one PostgreSQL database: one owner per
//! document, leases, fenced commits. (Forwarding between nodes, access
//! changes across nodes and drain are not built yet: each test registers
//! its devices before starting the second node, and a client talks to the
//! node that owns its document.)

use std::time::Duration;

use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::Transactable;
use accord_shared::ids::DocumentId;

use crate::helpers::{Relay, WAIT, content};

/// Lease length for these tests: short, so takeovers happen within seconds.
const LEASE_MS: u64 = 1_500;

fn node(url: &str) -> Relay {
    Relay::start_on_postgres(url, &["--lease-ttl-ms", &LEASE_MS.to_string()])
}

/// Every change hash in `hashes` is in `reader`'s copy of `id`.
fn missing(
    reader: &accord_server::client::Client,
    id: DocumentId,
    hashes: &[accord_shared::automerge::ChangeHash],
) -> usize {
    hashes
        .iter()
        .filter(|hash| {
            reader
                .read(id, |doc| doc.get_change_meta_by_hash(hash).is_none())
                .unwrap_or(true)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_loses_its_document_to_another_node_and_never_writes_after() {
    let url = crate::postgres::database();
    let a = node(&url);
    let device = a.register("writer");
    let writer_a = a.client(&device).await;
    let id = writer_a
        .create(|tx| tx.put(ROOT, "title", "on node a"))
        .unwrap();
    writer_a.wait_synced(id, WAIT).await.unwrap();
    let b = node(&url);

    // One owner: node b refuses the document node a holds and says why.
    let early = b.client(&device).await;
    early.open(id);
    let reason = early.wait_closed(WAIT).await.unwrap();
    assert!(reason.contains("moved to another relay node"), "{reason}");
    assert!(b.metric("accord_ownership_refused_total") >= 1);

    for i in 0..20i64 {
        writer_a.change(id, |tx| tx.put(ROOT, "a", i)).unwrap();
    }
    writer_a.wait_synced(id, WAIT).await.unwrap();
    let relay_a = writer_a.relay_peer().unwrap();
    let acknowledged_by_a = writer_a.acknowledged_heads(id, &relay_a).unwrap();

    // Node a freezes past its lease; node b takes the document over.
    a.signal("STOP");
    tokio::time::sleep(Duration::from_millis(LEASE_MS + 500)).await;
    // Changes sent to the frozen node wait in its socket.
    for i in 20..30i64 {
        writer_a.change(id, |tx| tx.put(ROOT, "a", i)).unwrap();
    }
    let writer_b = b.client(&device).await;
    writer_b.find(id, WAIT).await.unwrap();
    assert_eq!(
        missing(&writer_b, id, &acknowledged_by_a),
        0,
        "node b loaded everything node a acknowledged"
    );
    for i in 0..20i64 {
        writer_b.change(id, |tx| tx.put(ROOT, "b", i)).unwrap();
    }
    writer_b.wait_synced(id, WAIT).await.unwrap();
    let relay_b = writer_b.relay_peer().unwrap();
    let acknowledged_by_b = writer_b.acknowledged_heads(id, &relay_b).unwrap();

    // Node a wakes up: it must not write, and its client is sent away.
    a.signal("CONT");
    let reason = writer_a.wait_closed(WAIT).await.unwrap();
    assert!(reason.contains("moved to another relay node"), "{reason}");
    assert!(a.metric("accord_ownership_lost_total") >= 1);
    assert_eq!(a.metric("accord_documents_owned"), 0);

    // The writer reconnects to the owner; its unacknowledged tail resyncs.
    writer_a.reconnect(&b.ws_url(&device.token)).await.unwrap();
    writer_a.wait_synced(id, WAIT).await.unwrap();
    let reader = b.client(&device).await;
    reader.find(id, WAIT).await.unwrap();
    reader
        .wait_heads(id, &writer_a.heads(id), WAIT)
        .await
        .unwrap();
    assert_eq!(missing(&reader, id, &acknowledged_by_a), 0);
    assert_eq!(missing(&reader, id, &acknowledged_by_b), 0);
    assert_eq!(content(&reader, id)["a"], 29);
    assert_eq!(content(&reader, id)["b"], 19);
    // One owner row: node b, at the epoch its takeover made.
    let b_node = std::fs::read_to_string(b.data_dir().join("node-id")).unwrap();
    let name = url.rsplit('/').next().unwrap();
    let owner = accord_testpg::Cluster::shared()
        .psql(
            name,
            &format!("SELECT node_id || ' ' || epoch FROM document_owner WHERE document = '{id}'"),
        )
        .unwrap();
    assert_eq!(owner, format!("{} 2", b_node.trim()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_of_the_owner_another_node_serves_everything_it_acknowledged() {
    let url = crate::postgres::database();
    let mut a = node(&url);
    let device = a.register("writer");
    let writer = a.client(&device).await;
    let id = writer.create(|tx| tx.put(ROOT, "n", 0)).unwrap();
    writer.wait_synced(id, WAIT).await.unwrap();
    let b = node(&url);
    let relay_a = writer.relay_peer().unwrap();
    let mut acknowledged = Vec::new();
    for i in 1..=200i64 {
        writer.change(id, |tx| tx.put(ROOT, "n", i)).unwrap();
        if let Some(heads) = writer.acknowledged_heads(id, &relay_a) {
            acknowledged = heads;
        }
        if i % 40 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    a.kill9();
    assert!(!acknowledged.is_empty());

    // Node b serves the document once a's lease lapses (the client retries
    // meanwhile, as clients do against a load balancer).
    let deadline = std::time::Instant::now() + WAIT;
    let reader = loop {
        let reader = b.client(&device).await;
        if reader.find(id, Duration::from_secs(2)).await.is_ok() {
            break reader;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node b never took over"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        missing(&reader, id, &acknowledged),
        0,
        "acknowledged changes lost"
    );
    writer.reconnect(&b.ws_url(&device.token)).await.unwrap();
    writer.wait_synced(id, WAIT).await.unwrap();
    reader
        .wait_heads(id, &writer.heads(id), WAIT)
        .await
        .unwrap();
    assert_eq!(content(&reader, id)["n"], 200);
}

/// Retries `call` until it answers `status` (other nodes see a change
/// within about a second).
fn eventually(
    what: &str,
    mut call: impl FnMut() -> (u16, serde_json::Value),
    status: u16,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (got, body) = call();
        if got == status {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: still {got} {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_grants_and_revocations_made_on_one_node_hold_on_the_other() {
    let url = crate::postgres::database();
    let (a, b) = (node(&url), node(&url));
    // Registered through node a, used on node b.
    let (owner, guest) = (a.register("owner"), a.register("guest"));
    for device in [&owner, &guest] {
        eventually(
            "node b knows the device",
            || b.api("GET", "/api/me", Some(&device.token), None),
            200,
        );
    }
    let writer = b.client(&owner).await;
    let id = writer.create(|tx| tx.put(ROOT, "round", 0)).unwrap();
    writer.wait_synced(id, WAIT).await.unwrap();
    // The invite is made and redeemed through node a; the guest syncs on b.
    let body = serde_json::json!({"role": "editor", "party": "Beta", "expires_in_seconds": 600, "uses": 1});
    let invite = eventually(
        "node a knows the claim",
        || {
            a.api(
                "POST",
                &format!("/api/documents/{id}/invites"),
                Some(&owner.token),
                Some(&body),
            )
        },
        201,
    );
    let code = serde_json::json!({ "code": invite["code"] });
    let (status, _) = a.api(
        "POST",
        "/api/invites/redeem",
        Some(&guest.token),
        Some(&code),
    );
    assert_eq!(status, 200);
    let guest_client = {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let client = b.client(&guest).await;
            if client.find(id, Duration::from_secs(2)).await.is_ok() {
                break client;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the grant never reached node b"
            );
        }
    };

    // Revoked through node a: node b stops the guest's sync of the document.
    let (status, _) = a.api(
        "DELETE",
        &format!("/api/documents/{id}/grants/{}", guest.id),
        Some(&owner.token),
        None,
    );
    assert_eq!(status, 204);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (status, grants) = b.api(
            "GET",
            &format!("/api/documents/{id}/grants"),
            Some(&owner.token),
            None,
        );
        assert_eq!(status, 200);
        if grants.as_array().unwrap().len() == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node b never saw the revocation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The hub is told right after the cache changes; on a loaded machine
    // that task may wait for a core, so give it a generous moment.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    writer.change(id, |tx| tx.put(ROOT, "round", 1)).unwrap();
    writer.wait_synced(id, WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        content(&guest_client, id)["round"],
        0,
        "the revoked device no longer receives through node b"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_the_owners_documents_to_another_node_at_once() {
    let url = crate::postgres::database();
    // A lease far longer than the test: only a hand-off lets b in.
    let long_lease = ["--lease-ttl-ms", "600000"];
    let mut a = Relay::start_on_postgres(&url, &long_lease);
    let device = a.register("writer");
    let writer = a.client(&device).await;
    let id = writer.create(|tx| tx.put(ROOT, "n", 1)).unwrap();
    writer.wait_synced(id, WAIT).await.unwrap();
    let b = Relay::start_on_postgres(&url, &long_lease);
    a.signal("TERM");
    let status = a.wait_exit(WAIT).expect("the relay exits on SIGTERM");
    assert!(status.success(), "{status:?}");
    let reader = b.client(&device).await;
    reader.find(id, WAIT).await.unwrap();
    assert_eq!(content(&reader, id)["n"], 1);
}
