//! Fault injection: storage failures, clients that never read, reconnect storms.

use std::sync::Arc;
use std::time::Duration;

use accord_server::client::Client;
use accord_server::storage::MemoryStore;
use accord_server::{AppState, Config, Limits};
use accord_shared::automerge::ROOT;
use accord_shared::automerge::sync::SyncDoc;
use accord_shared::automerge::transaction::Transactable;
use accord_shared::ids::{DocumentId, PeerId};
use accord_shared::protocol::{DocMessage, Message};
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::{Relay, TEST_PUBLIC_KEY, WAIT, caught_up, content, converge, http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_failure_refuses_writes_and_loses_nothing_once_it_recovers() {
    let store = Arc::new(MemoryStore::new());
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: std::env::temp_dir(),
        web_dir: None,
        registration: accord_server::access::Registration::Open,
        limits: Limits::default(),
        storage_id: "in-process".into(),
        metrics: accord_server::config::MetricsAccess::default(),
    };
    let state = AppState::start(&config, store.clone()).unwrap();
    let (device, token) = state
        .access()
        .register(TEST_PUBLIC_KEY, "writer", None, 0)
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(accord_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let url = format!("ws://{addr}/sync?token={token}");

    let client = Client::connect(&url).await.unwrap();
    let id = client
        .create(|tx| tx.put(ROOT, "title", "before the disk failed"))
        .unwrap();
    client.wait_synced(id, WAIT).await.unwrap();

    store.set_failing(true);
    client
        .change(id, |tx| tx.put(ROOT, "title", "written while failing"))
        .unwrap();
    let reason = client.wait_closed(WAIT).await.unwrap();
    assert!(
        reason.contains("storage error"),
        "the client is told why: {reason}"
    );
    assert!(
        client.unsynced_changes(id) > 0,
        "the failed write was never acknowledged"
    );
    let (status, metrics) = http(addr, "GET", "/metrics", None, None);
    assert_eq!(status, 200, "the relay itself stays up");
    assert!(
        !metrics.contains("accord_commit_failures_total 0"),
        "{metrics}"
    );

    store.set_failing(false);
    client.reconnect(&url).await.unwrap();
    client.wait_synced(id, WAIT).await.unwrap();
    let reader = Client::connect(&url).await.unwrap();
    reader.find(id, WAIT).await.unwrap();
    caught_up(&reader, &client, id).await;
    assert_eq!(content(&reader, id)["title"], "written while failing");
    assert_eq!(device.name, "writer");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_and_memory_stays_bounded() {
    let (relay, [owner], writer, id) =
        Relay::start_with_args(&["--max-messages-per-second", "100000"])
            .with_devices_and_document(["owner"], |tx| tx.put(ROOT, "board", "workshop"))
            .await;

    // A raw peer joins, subscribes to the document, then stops reading.
    let mut silent = requesting_peer(
        &relay.ws_url(&owner.token),
        "silent-peer",
        writer.relay_peer().unwrap(),
        id,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = relay.rss_kib();

    let payload = vec![7u8; 1024];
    for _ in 0..30_000 {
        writer.broadcast(id, payload.clone());
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, metrics) = http(relay.addr, "GET", "/metrics", None, None);
        if !metrics.contains("accord_slow_clients_dropped_total 0") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the silent client was never dropped:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let growth = relay.rss_kib().saturating_sub(rss_before);
    println!(
        "relay RSS grew by {growth} KiB while 30 MB of ephemeral traffic targeted a client that never reads"
    );
    assert!(growth < 64 * 1024, "relay memory grew by {growth} KiB");
    writer
        .change(id, |tx| tx.put(ROOT, "still", "working"))
        .unwrap();
    writer.wait_synced(id, WAIT).await.unwrap();
    // The relay closed the dropped client's connection: reading what was
    // buffered for it ends, so it knows to reconnect.
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(Ok(frame)) = silent.next().await {
            if matches!(frame, WsMessage::Close(_)) {
                break;
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the relay left the dropped client's socket open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_storm_converges() {
    let relay = Relay::start();
    let owner = relay.register("owner");
    let (anchor, id) = relay
        .client_with_new(&owner, |tx| tx.put(ROOT, "title", "storm"))
        .await;
    let url = relay.ws_url(&owner.token);
    let mut clients = Vec::new();
    for _ in 0..20 {
        let client = Client::connect(&url).await.unwrap();
        client.find(id, WAIT).await.unwrap();
        clients.push(client);
    }
    for round in 0..5i64 {
        for (n, client) in clients.iter().enumerate() {
            client.disconnect();
            client
                .change(id, |tx| tx.put(ROOT, format!("c{n}"), round))
                .unwrap();
        }
        anchor
            .change(id, |tx| tx.put(ROOT, "round", round))
            .unwrap();
        let reconnects = clients.iter().map(|c| c.reconnect(&url));
        for result in futures_util::future::join_all(reconnects).await {
            result.unwrap();
        }
    }
    let mut all: Vec<&Client> = clients.iter().collect();
    all.push(&anchor);
    converge(&all, id).await;
    let doc = content(&anchor, id);
    assert_eq!(doc["round"], 4);
    for n in 0..20 {
        assert_eq!(doc[format!("c{n}")], 4, "{doc}");
    }
    let (status, _) = relay.api(
        "POST",
        "/api/devices",
        None,
        Some(&json!({"public_key": TEST_PUBLIC_KEY})),
    );
    assert_eq!(status, 201, "the relay still serves the API");
}

/// Pseudo-random bytes (so neither Automerge nor anything else compresses them).
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_that_stall_on_a_large_document_are_bounded_in_bytes() {
    const BUDGET: u64 = 16 * 1024 * 1024;
    let budget = BUDGET.to_string();
    let relay = Relay::start_with_args(&[
        "--max-outbox-bytes",
        "1048576",
        "--max-outbound-bytes",
        &budget,
    ]);
    let owner = relay.register("owner");
    let writer = relay.client(&owner).await;
    let blob = noise(6 * 1024 * 1024);
    let id = writer
        .create(|tx| {
            tx.put(
                ROOT,
                "attachment",
                accord_shared::automerge::ScalarValue::Bytes(blob),
            )
        })
        .unwrap();
    writer.wait_synced(id, WAIT).await.unwrap();
    let relay_peer = writer.relay_peer().unwrap();
    let rss_before = relay.rss_kib();

    // Sixteen peers ask for the document and never read the answer: each
    // answer costs twice its 6 MiB in the budget, so one fits at a time
    // (6 MiB is also more than loopback socket buffers absorb).
    let mut stalled = Vec::new();
    for n in 0..16 {
        let socket = requesting_peer(
            &relay.ws_url(&owner.token),
            &format!("stalled-{n}"),
            relay_peer.clone(),
            id,
        )
        .await;
        stalled.push(socket);
    }
    let deadline = tokio::time::Instant::now() + 3 * WAIT;
    let metrics = loop {
        let (_, metrics) = http(relay.addr, "GET", "/metrics", None, None);
        if metric(&metrics, "accord_slow_clients_dropped_total") >= 10 {
            break metrics;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stalled readers were not dropped:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let queued = metric(&metrics, "accord_outbound_queued_bytes");
    assert!(queued <= BUDGET, "{queued} bytes queued, budget {BUDGET}");
    let growth = relay.rss_kib().saturating_sub(rss_before);
    println!(
        "relay RSS grew by {} MiB while 16 peers stalled on a 6 MiB document ({} dropped, {queued} bytes queued)",
        growth / 1024,
        metric(&metrics, "accord_slow_clients_dropped_total"),
    );
    assert!(growth < 100 * 1024, "relay memory grew by {growth} KiB");
    writer
        .change(id, |tx| tx.put(ROOT, "still", "working"))
        .unwrap();
    writer.wait_synced(id, WAIT).await.unwrap();
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_time_out_and_health_answers_at_the_connection_cap() {
    use std::io::{Read, Write};
    let relay = Relay::start_with_args(&[
        "--max-connections",
        "50",
        "--header-read-timeout-ms",
        "2000",
    ]);
    // Fifty clients each send half a request head and stop (slowloris).
    let mut half_sent = Vec::new();
    for _ in 0..50 {
        let mut stream = std::net::TcpStream::connect(relay.addr).unwrap();
        stream
            .write_all(b"GET /api/me HTTP/1.1\r\nHost: relay\r\n")
            .unwrap();
        half_sent.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // At the cap: health still answers, everything else is refused clearly.
    let (status, body) = http(relay.addr, "GET", "/healthz", None, None);
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, body) = http(relay.addr, "GET", "/api/me", None, None);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("limit of 50 connections"), "{body}");
    // The relay closes every half-sent request once its head is overdue.
    for (n, stream) in half_sent.iter_mut().enumerate() {
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut rest = Vec::new();
        let closed = stream.read_to_end(&mut rest);
        assert!(
            closed.is_ok(),
            "half-sent request {n} is still open: {closed:?}"
        );
    }
    let started = std::time::Instant::now();
    loop {
        let (status, _) = http(relay.addr, "GET", "/api/me", None, None);
        if status == 401 {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "the relay did not recover: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A raw peer that has joined as `peer` and asked `relay_peer` for `id`;
/// it reads nothing more unless the test does.
async fn requesting_peer(
    url: &str,
    peer: &str,
    relay_peer: PeerId,
    id: DocumentId,
) -> crate::bad_input::Socket {
    let mut socket = crate::bad_input::joined_as(url, peer).await;
    let hello = accord_shared::automerge::Automerge::new()
        .generate_sync_message(&mut accord_shared::automerge::sync::State::new())
        .unwrap();
    let request = Message::Request(DocMessage {
        sender_id: peer.parse().unwrap(),
        target_id: relay_peer,
        document_id: id,
        data: hello.encode(),
    });
    crate::bad_input::send_message(&mut socket, &request).await;
    socket
}
