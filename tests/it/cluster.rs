//! Several relay processes on one PostgreSQL database: one owner per
//! document, leases, fenced commits, and (with `--cluster-secret`) any node
//! serving any client by forwarding to the owner over a node link. Tests
//! started with [`node`] run without links: a client must reach the owner.

use std::time::Duration;

use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::Transactable;
use accord_shared::ids::DocumentId;

use crate::helpers::{Relay, WAIT, caught_up, content, edit_stream, relayed, write_acknowledged};

/// Lease length for these tests: short, so takeovers happen within seconds.
const LEASE_MS: u64 = 1_500;

fn node(url: &str) -> Relay {
    Relay::start_on_postgres(url, &["--lease-ttl-ms", &LEASE_MS.to_string()])
}

/// The secret the linked test nodes share.
const SECRET: &str = "cluster-test-secret-0123456789";

/// A node that forwards to, and accepts links from, the other linked nodes.
fn linked(url: &str) -> Relay {
    Relay::start_on_postgres(
        url,
        &[
            "--lease-ttl-ms",
            &LEASE_MS.to_string(),
            "--cluster-secret",
            SECRET,
        ],
    )
}

/// The node id a relay keeps in its data directory.
fn node_id(relay: &Relay) -> String {
    std::fs::read_to_string(relay.data_dir().join("node-id"))
        .unwrap()
        .trim()
        .to_owned()
}

/// The node holding a valid lease on `id` (empty when none).
fn owner_of(url: &str, id: DocumentId) -> String {
    let name = url.rsplit('/').next().unwrap();
    accord_testpg::Cluster::shared()
        .psql(
            name,
            &format!(
                "SELECT node_id FROM document_owner WHERE document = '{id}' AND lease_until > now()"
            ),
        )
        .unwrap()
}

/// Connects `device` to `relay` until the client finds `id` (a dead
/// owner's lease has to lapse first; clients retry as they would against a
/// load balancer).
async fn find_retrying(
    relay: &Relay,
    device: &crate::helpers::Device,
    id: DocumentId,
) -> accord_server::client::Client {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let client = relay.client(device).await;
        if client.find(id, Duration::from_secs(2)).await.is_ok() {
            return client;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{id} never became available on {}",
            relay.addr
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until every node in `nodes` knows `device` (access records reach
/// other nodes within about a second).
fn known_everywhere(nodes: &[&Relay], device: &crate::helpers::Device) {
    for relay in nodes {
        eventually(
            "the node knows the device",
            || relay.api_as(device, "GET", "/api/me"),
            200,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_loses_its_document_to_another_node_and_never_writes_after() {
    let url = crate::postgres::database();
    let a = node(&url);
    let device = a.register("writer");
    let (writer_a, id) = a
        .client_with_new(&device, |tx| tx.put(ROOT, "title", "on node a"))
        .await;
    let b = node(&url);

    // One owner: node b refuses the document node a holds and says why.
    let early = b.client(&device).await;
    early.open(id);
    let reason = early.wait_closed(WAIT).await.unwrap();
    assert!(reason.contains("moved to another relay node"), "{reason}");
    assert!(b.metric("accord_ownership_refused_total") >= 1);

    let acknowledged_by_a = write_acknowledged(&writer_a, id, "a", 0..20).await;

    // Node a freezes past its lease; node b takes the document over.
    a.signal("STOP");
    tokio::time::sleep(Duration::from_millis(LEASE_MS + 500)).await;
    // Changes sent to the frozen node wait in its socket.
    for i in 20..30i64 {
        writer_a.change(id, |tx| tx.put(ROOT, "a", i)).unwrap();
    }
    let writer_b = b.client_holding(&device, id).await;
    assert_eq!(
        writer_b.lacking(id, &acknowledged_by_a).len(),
        0,
        "node b loaded everything node a acknowledged"
    );
    let acknowledged_by_b = write_acknowledged(&writer_b, id, "b", 0..20).await;

    // Node a wakes up: it must not write, and its client is sent away.
    a.signal("CONT");
    let reason = writer_a.wait_closed(WAIT).await.unwrap();
    assert!(reason.contains("moved to another relay node"), "{reason}");
    assert!(a.metric("accord_ownership_lost_total") >= 1);
    assert_eq!(a.metric("accord_documents_owned"), 0);

    // The writer reconnects to the owner; its unacknowledged tail resyncs.
    writer_a.reconnect(&b.ws_url(&device.token)).await.unwrap();
    writer_a.wait_synced(id, WAIT).await.unwrap();
    let reader = b.client_holding(&device, id).await;
    caught_up(&reader, &writer_a, id).await;
    assert_eq!(reader.lacking(id, &acknowledged_by_a).len(), 0);
    assert_eq!(reader.lacking(id, &acknowledged_by_b).len(), 0);
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
    let (writer, id) = a.client_with_new(&device, |tx| tx.put(ROOT, "n", 0)).await;
    let b = node(&url);
    let relay_a = writer.relay_peer().unwrap();
    let acknowledged = edit_stream(&writer, id, &relay_a, 1..=200, Vec::new(), |tx, n| {
        tx.put(ROOT, "n", n)
    })
    .await;
    a.kill9();
    assert!(!acknowledged.is_empty());

    // Node b serves the document once a's lease lapses (the client retries
    // meanwhile, as clients do against a load balancer).
    let reader = find_retrying(&b, &device, id).await;
    assert_eq!(
        reader.lacking(id, &acknowledged).len(),
        0,
        "acknowledged changes lost"
    );
    writer.reconnect(&b.ws_url(&device.token)).await.unwrap();
    relayed(&writer, &reader, id).await;
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
    let [owner, guest] = a.register_all(["owner", "guest"]);
    for device in [&owner, &guest] {
        eventually(
            "node b knows the device",
            || b.api_as(device, "GET", "/api/me"),
            200,
        );
    }
    let (writer, id) = b
        .client_with_new(&owner, |tx| tx.put(ROOT, "round", 0))
        .await;
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
    let (status, _) = a.redeem(&guest, invite["code"].as_str().unwrap());
    assert_eq!(status, 200);
    let guest_client = find_retrying(&b, &guest, id).await;

    // Revoked through node a: node b stops the guest's sync of the document.
    let (status, _) = a.api_as(
        &owner,
        "DELETE",
        &format!("/api/documents/{id}/grants/{}", guest.id),
    );
    assert_eq!(status, 204);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (status, grants) = b.api_as(&owner, "GET", &format!("/api/documents/{id}/grants"));
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
    let (_writer, id) = a.client_with_new(&device, |tx| tx.put(ROOT, "n", 1)).await;
    let b = Relay::start_on_postgres(&url, &long_lease);
    a.signal("TERM");
    let status = a.wait_exit(WAIT).expect("the relay exits on SIGTERM");
    assert!(status.success(), "{status:?}");
    let reader = b.client_holding(&device, id).await;
    assert_eq!(content(&reader, id)["n"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_spread_over_three_nodes_converge_with_one_owner_per_document() {
    let url = crate::postgres::database();
    let nodes = [linked(&url), linked(&url), linked(&url)];
    let device = nodes[0].register("member");
    known_everywhere(&[&nodes[1], &nodes[2]], &device);
    // One document created on each node, so each has a different owner.
    let mut documents = Vec::new();
    let mut creators = Vec::new();
    for (n, relay) in nodes.iter().enumerate() {
        let (creator, id) = relay
            .client_with_new(&device, |tx| tx.put(ROOT, "created_on", n as i64))
            .await;
        documents.push(id);
        creators.push(creator);
    }
    // Two more clients per node, each opening every document and writing
    // its own key in each.
    let mut clients = Vec::new();
    for relay in &nodes {
        for _ in 0..2 {
            clients.push(relay.client(&device).await);
        }
    }
    for (c, client) in clients.iter().enumerate() {
        for id in &documents {
            client.find(*id, WAIT).await.unwrap();
            client
                .change(*id, |tx| tx.put(ROOT, format!("client{c}"), c as i64))
                .unwrap();
        }
    }
    for id in &documents {
        for client in &clients {
            client.wait_synced(*id, WAIT).await.unwrap();
        }
        let all: Vec<&accord_server::client::Client> = clients.iter().collect();
        crate::helpers::converge(&all, *id).await;
        let doc = content(&clients[0], *id);
        for c in 0..clients.len() {
            assert_eq!(doc[format!("client{c}")], c as i64, "{doc}");
        }
    }
    // Exactly one owner each: the node the document was created on.
    for (n, id) in documents.iter().enumerate() {
        assert_eq!(owner_of(&url, *id), node_id(&nodes[n]));
    }
    for relay in &nodes {
        assert_eq!(relay.metric("accord_documents_owned"), 1);
        assert!(relay.metric("accord_forwarded_to_owner_total") > 0);
        assert!(relay.metric("accord_forwarded_from_owner_total") > 0);
    }
    // Presence crosses nodes: an ephemeral message from a client on the
    // first node reaches a client on the third about the second's document.
    clients[0].broadcast(documents[1], b"caret".to_vec());
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if clients[5]
            .take_ephemeral()
            .iter()
            .any(|m| m.document_id == documents[1] && m.data == b"caret")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the ephemeral message never crossed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_b_to_a_document_a_owns_reaches_c_and_survives_kill_9_of_a() {
    let url = crate::postgres::database();
    let mut a = linked(&url);
    let (b, c) = (linked(&url), linked(&url));
    let owner = a.register("owner");
    known_everywhere(&[&b, &c], &owner);
    let (creator, id) = a.client_with_new(&owner, |tx| tx.put(ROOT, "n", 0)).await;
    assert_eq!(owner_of(&url, id), node_id(&a));
    // A guest registered and granted through node b (node a learns of it
    // from the store when the guest's frames arrive).
    let guest = b.register("guest");
    known_everywhere(&[&a], &guest);
    let code = a.invite(&owner, id, "editor", "Beta", 3600, 1);
    eventually("node b redeems the invite", || b.redeem(&guest, &code), 200);

    let writer = b.client_holding(&guest, id).await;
    let relay = writer.relay_peer().unwrap();
    assert_eq!(
        Some(relay.clone()),
        creator.relay_peer(),
        "every node answers as the same relay"
    );
    for i in 1..=50i64 {
        writer.change(id, |tx| tx.put(ROOT, "n", i)).unwrap();
    }
    writer.wait_synced(id, WAIT).await.unwrap();
    let reader = c.client_holding(&owner, id).await;
    caught_up(&reader, &writer, id).await;
    assert_eq!(content(&reader, id)["n"], 50);
    assert_eq!(owner_of(&url, id), node_id(&a), "still one owner");
    assert_eq!(b.metric("accord_documents_owned"), 0);
    assert_eq!(c.metric("accord_documents_owned"), 0);

    // More writes through b, then a dies mid-stream.
    let so_far = writer.acknowledged_heads(id, &relay).unwrap();
    let mut acknowledged = edit_stream(&writer, id, &relay, 51..=250, so_far, |tx, n| {
        tx.put(ROOT, "n", n)
    })
    .await;
    a.kill9();
    if let Some(heads) = writer.acknowledged_heads(id, &relay) {
        acknowledged = heads;
    }
    // b tells its client to reconnect.
    let reason = writer.wait_closed(WAIT).await.unwrap();
    assert!(reason.contains("reconnect"), "{reason}");

    // Once a's lease lapses, c serves the document: nothing a acknowledged
    // (through b) is missing.
    let fresh = find_retrying(&c, &owner, id).await;
    assert_eq!(
        fresh.lacking(id, &acknowledged).len(),
        0,
        "acknowledged changes lost"
    );
    // The writer reconnects to b, which now forwards to c; its
    // unacknowledged tail resyncs.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        writer.reconnect(&b.ws_url(&guest.token)).await.unwrap();
        if writer.wait_synced(id, Duration::from_secs(3)).await.is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never resynced"
        );
    }
    fresh.wait_heads(id, &writer.heads(id), WAIT).await.unwrap();
    assert_eq!(content(&fresh, id)["n"], 250);
    assert_eq!(owner_of(&url, id), node_id(&c));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_c_cuts_a_device_connected_through_b_to_a_document_a_owns_before_it_answers()
 {
    let url = crate::postgres::database();
    let a = linked(&url);
    let (b, c) = (linked(&url), linked(&url));
    let owner = a.register("owner");
    let (owner_client, id) = a
        .client_with_new(&owner, |tx| tx.put(ROOT, "round", 0))
        .await;
    let guest = a.register("guest");
    known_everywhere(&[&b, &c], &owner);
    known_everywhere(&[&b], &guest);
    a.share(&owner, id, &guest, "editor", "Beta");
    let guest_client = find_retrying(&b, &guest, id).await;
    guest_client
        .change(id, |tx| tx.put(ROOT, "guest", 1))
        .unwrap();
    relayed(&guest_client, &owner_client, id).await;
    assert_eq!(owner_of(&url, id), node_id(&a));

    // Node c knows the grant, then revokes it: when the call answers, a
    // and b already stopped the guest (no waiting here).
    eventually(
        "node c knows the grant",
        || {
            let (status, grants) = c.api_as(&owner, "GET", &format!("/api/documents/{id}/grants"));
            (
                if grants.as_array().map_or(0, Vec::len) == 2 {
                    status
                } else {
                    0
                },
                grants,
            )
        },
        200,
    );
    let (status, body) = c.api_as(
        &owner,
        "DELETE",
        &format!("/api/documents/{id}/grants/{}", guest.id),
    );
    assert_eq!(status, 204, "{body}");
    assert_eq!(c.metric("accord_access_changes_announced_total"), 1);
    // Neither direction flows any more.
    owner_client
        .change(id, |tx| tx.put(ROOT, "round", 1))
        .unwrap();
    owner_client.wait_synced(id, WAIT).await.unwrap();
    if guest_client.is_connected() {
        let _ = guest_client.change(id, |tx| tx.put(ROOT, "guest", 2));
    }
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(
        content(&guest_client, id)["round"],
        0,
        "the revoked guest still receives"
    );
    let reader = find_retrying(&c, &owner, id).await;
    caught_up(&reader, &owner_client, id).await;
    assert_eq!(
        content(&reader, id)["guest"],
        1,
        "the revoked guest still writes"
    );
    // And a fresh connection of the guest through b is refused the document.
    let again = b.client(&guest).await;
    assert!(again.find(id, Duration::from_secs(3)).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_js_clients_on_two_nodes_converge_on_a_document_one_of_them_owns() {
    use crate::interop::{hex_heads, js_edit, node as js, wait_script_heads};
    let url = crate::postgres::database();
    let (a, b) = (linked(&url), linked(&url));
    let [alice, bob] = a.register_all(["alice", "bob"]);
    known_everywhere(&[&b], &alice);
    known_everywhere(&[&b], &bob);
    let (native, id) = a
        .client_with_new(&alice, |tx| tx.put(ROOT, "title", "on a"))
        .await;
    a.share(&alice, id, &bob, "editor", "Beta");
    let doc_url = id.url();

    // A stock client on b edits (forwarded to a, the owner); one on a edits.
    let on_b = js_edit(&b.ws_url(&bob.token), &doc_url, "from_b", "\"js on b\"").await;
    wait_script_heads(&native, id, &on_b).await;
    let on_a = js_edit(&a.ws_url(&alice.token), &doc_url, "from_a", "\"js on a\"").await;
    wait_script_heads(&native, id, &on_a).await;
    assert_eq!(owner_of(&url, id), node_id(&a));
    assert!(b.metric("accord_forwarded_to_owner_total") > 0);
    assert_eq!(on_a["doc"]["from_b"], "js on b", "a's client saw b's edit");

    // Both nodes now give a stock client the same document and heads.
    let found_b = js("find.mjs", &[&b.ws_url(&bob.token), &doc_url])
        .await
        .ok("find.mjs on b");
    let found_a = js("find.mjs", &[&a.ws_url(&alice.token), &doc_url])
        .await
        .ok("find.mjs on a");
    assert_eq!(found_a["doc"], found_b["doc"]);
    assert_eq!(hex_heads(&found_a), hex_heads(&found_b));
    assert_eq!(
        found_b["doc"],
        serde_json::json!({ "title": "on a", "from_b": "js on b", "from_a": "js on a" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_ticket_issued_by_one_node_opens_a_socket_on_another_once() {
    let url = crate::postgres::database();
    let (a, b) = (linked(&url), linked(&url));
    let device = a.register("browser");
    known_everywhere(&[&b], &device);
    let (status, body) = a.api_as(&device, "POST", "/api/sync-ticket");
    assert_eq!(status, 200, "{body}");
    let ticket = body["ticket"].as_str().unwrap().to_owned();
    let sync_url = |relay: &Relay| format!("ws://{}/sync?ticket={ticket}", relay.addr);
    let client = accord_server::client::Client::connect(&sync_url(&b))
        .await
        .expect("node b accepts node a's ticket");
    let id = client.create(|tx| tx.put(ROOT, "via", "ticket")).unwrap();
    client.wait_synced(id, WAIT).await.unwrap();
    // Spent: neither node takes it again.
    for relay in [&a, &b] {
        let again = accord_server::client::Client::connect(&sync_url(relay)).await;
        assert!(
            matches!(&again, Err(error) if error.to_string().contains("401")),
            "a spent ticket opened a socket on {}",
            relay.addr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_link_without_the_cluster_secret_is_refused() {
    let url = crate::postgres::database();
    let (linked_node, plain_node) = (linked(&url), node(&url));
    let device = linked_node.register("device");
    let upgrade = [
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("x-accord-device", device.id.as_str()),
    ];
    let with = |secret: &'static str| {
        let mut headers = upgrade.to_vec();
        headers.push(("x-accord-cluster-secret", secret));
        headers
    };
    // No secret, a wrong one, and a node that is not in a cluster: 401
    // with a reason, never an upgrade.
    for (relay, headers) in [
        (&linked_node, upgrade.to_vec()),
        (&linked_node, with("not-the-cluster-secret")),
        (&plain_node, with(SECRET)),
    ] {
        let fetched = crate::helpers::get(relay.addr, "/internal/link", &headers);
        assert_eq!(
            fetched.status,
            401,
            "{}",
            String::from_utf8_lossy(&fetched.body)
        );
        let body = String::from_utf8_lossy(&fetched.body);
        assert!(
            body.contains("secret") || body.contains("cluster"),
            "{body}"
        );
    }
    // The right secret upgrades.
    let fetched = crate::helpers::get(linked_node.addr, "/internal/link", &with(SECRET));
    assert_eq!(fetched.status, 101);
}

/// Runs `call` for every node at once (one thread each, released together)
/// and returns the HTTP statuses in node order.
fn all_at_once<'a>(
    nodes: &'a [Relay],
    call: impl Fn(usize, &'a Relay) -> (u16, serde_json::Value) + Sync,
) -> Vec<u16> {
    let start = std::sync::Barrier::new(nodes.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(n, relay)| {
                let (start, call) = (&start, &call);
                scope.spawn(move || {
                    start.wait();
                    call(n, relay).0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_and_single_use_redemptions_on_three_nodes_have_one_winner() {
    let url = crate::postgres::database();
    let nodes = [linked(&url), linked(&url), linked(&url)];
    let devices: Vec<_> = (0..3)
        .map(|n| nodes[n].register(&format!("device{n}")))
        .collect();
    for device in &devices {
        known_everywhere(&[&nodes[0], &nodes[1], &nodes[2]], device);
    }
    for round in 0..5u8 {
        // Three devices claim one new document, each through its own node.
        let id = DocumentId::from_bytes([round + 40; 16]);
        let statuses = all_at_once(&nodes, |n, relay| {
            relay.api(
                "PUT",
                &format!("/api/documents/{id}"),
                Some(&devices[n].token),
                Some(&serde_json::json!({})),
            )
        });
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "round {round}: claims answered {statuses:?}"
        );
        let winner = statuses.iter().position(|s| *s == 201).unwrap();
        // Every node agrees on the one owner, and no loser holds a grant.
        for relay in &nodes {
            eventually_true(|| holds(relay, &devices[winner], id));
            for (n, device) in devices.iter().enumerate() {
                if n != winner {
                    assert!(
                        !holds(relay, device, id),
                        "round {round}: device{n} holds a grant on {}",
                        relay.addr
                    );
                }
            }
        }
        // A single-use invite from the owner, redeemed by the other two
        // devices on different nodes at once: one of them gets in.
        let code = nodes[winner].invite(&devices[winner], id, "editor", "Beta", 3600, 1);
        let guests: Vec<usize> = (0..3).filter(|n| *n != winner).collect();
        let statuses = all_at_once(&nodes[..2], |slot, relay| {
            relay.redeem(&devices[guests[slot]], &code)
        });
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: redemptions answered {statuses:?}"
        );
    }
}

/// Polls `check` until it holds (access records reach every node within
/// about a second).
fn eventually_true(check: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !check() {
        assert!(std::time::Instant::now() < deadline, "never became true");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `relay` lists a grant on `id` for `device`.
fn holds(relay: &Relay, device: &crate::helpers::Device, id: DocumentId) -> bool {
    let (status, me) = relay.api_as(device, "GET", "/api/me");
    assert_eq!(status, 200, "{me}");
    me["grants"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["document"] == id.to_string())
}
