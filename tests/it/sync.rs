//! Multi-client sync through a real relay.

use std::time::Duration;

use accord_server::client::Client;
use accord_shared::automerge::transaction::Transactable;
use accord_shared::automerge::{ObjType, ROOT, ReadDoc};

use crate::helpers::{Relay, WAIT, content, converge};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_editing_concurrently_converge() {
    let (relay, [alice, bob], a, id) = Relay::with_document(["alice", "bob"], |tx| {
        tx.put(ROOT, "title", "Joint venture")?;
        tx.put_object(ROOT, "notes", ObjType::Text)?;
        Ok(())
    })
    .await;
    let b = relay
        .member_holding(&alice, id, &bob, "editor", "Beta Corp")
        .await;

    for i in 0..50 {
        a.change(id, |tx| tx.put(ROOT, format!("a{i}"), i64::from(i)))
            .unwrap();
        b.change(id, |tx| tx.put(ROOT, format!("b{i}"), i64::from(i)))
            .unwrap();
    }
    converge(&[&a, &b], id).await;
    let doc = content(&a, id);
    assert_eq!(doc, content(&b, id));
    assert_eq!(doc["title"], "Joint venture");
    assert_eq!(doc["a49"], 49);
    assert_eq!(doc["b49"], 49);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_clients_editing_one_document_converge() {
    let relay = Relay::start();
    let owner = relay.register("owner");
    let first = relay.client(&owner).await;
    let id = first
        .create(|tx| {
            tx.put_object(ROOT, "minutes", ObjType::Text)?;
            Ok(())
        })
        .unwrap();
    first.wait_synced(id, WAIT).await.unwrap();
    let mut clients = vec![first];
    for n in 1..10 {
        let device = relay.register(&format!("member-{n}"));
        relay.share(
            &owner,
            id,
            &device,
            "editor",
            if n % 2 == 0 { "Acme" } else { "Beta" },
        );
        let client = relay.client_holding(&device, id).await;
        clients.push(client);
    }
    for round in 0..10 {
        for (n, client) in clients.iter().enumerate() {
            client
                .change(id, |tx| {
                    let minutes = tx.get(ROOT, "minutes")?.expect("minutes exist").1;
                    tx.splice_text(&minutes, 0, 0, &format!("[{n}:{round}]"))?;
                    tx.put(ROOT, format!("member{n}"), i64::from(round))
                })
                .unwrap();
        }
    }
    let refs: Vec<&Client> = clients.iter().collect();
    converge(&refs, id).await;
    let reference = content(&clients[0], id);
    for client in &clients {
        assert_eq!(content(client, id), reference);
    }
    let text_len = clients[0]
        .read(id, |doc| {
            doc.text(doc.get(ROOT, "minutes").unwrap().unwrap().1)
                .unwrap()
                .len()
        })
        .unwrap();
    let expected: usize = (0..10)
        .flat_map(|n| (0..10).map(move |r| format!("[{n}:{r}]").len()))
        .sum();
    assert_eq!(text_len, expected, "every member's typing survives");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_divergence_of_a_thousand_changes_each_converges() {
    let (relay, [alice, bob], a, id) = Relay::with_document(["alice", "bob"], |tx| {
        tx.put(ROOT, "title", "Offline review")
    })
    .await;
    let b = relay
        .member_holding(&alice, id, &bob, "editor", "Beta")
        .await;

    a.disconnect();
    b.disconnect();
    for i in 0..1000 {
        a.change(id, |tx| tx.put(ROOT, format!("kpi-{i}"), i64::from(i)))
            .unwrap();
        b.change(id, |tx| tx.put(ROOT, format!("risk-{i}"), i64::from(i)))
            .unwrap();
    }
    let (a0, b0) = (a.stats(), b.stats());
    let started = std::time::Instant::now();
    a.reconnect(&relay.ws_url(&alice.token)).await.unwrap();
    b.reconnect(&relay.ws_url(&bob.token)).await.unwrap();
    converge(&[&a, &b], id).await;
    let took = started.elapsed();
    let (a1, b1) = (a.stats(), b.stats());
    let messages =
        (a1.messages_sent - a0.messages_sent) + (a1.messages_received - a0.messages_received);
    let bytes = (a1.bytes_sent - a0.bytes_sent) + (a1.bytes_received - a0.bytes_received);
    let b_messages =
        (b1.messages_sent - b0.messages_sent) + (b1.messages_received - b0.messages_received);
    let b_bytes = (b1.bytes_sent - b0.bytes_sent) + (b1.bytes_received - b0.bytes_received);
    println!(
        "offline divergence 1000+1000 changes: converged in {took:?}; alice {messages} messages ({} round trips) {bytes} bytes; bob {b_messages} messages ({} round trips) {b_bytes} bytes",
        messages / 2,
        b_messages / 2
    );
    let doc = content(&a, id);
    assert_eq!(doc, content(&b, id));
    assert_eq!(doc["kpi-999"], 999);
    assert_eq!(doc["risk-999"], 999);
    assert!(a.wait_synced(id, Duration::from_secs(5)).await.is_ok());
}
