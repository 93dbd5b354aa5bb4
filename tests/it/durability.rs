//! `kill -9` of the relay never loses a change whose heads it advertised.

use std::time::Duration;

use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::Transactable;

use crate::helpers::{Relay, edit_stream, relayed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_stream_of_edits_loses_nothing_acknowledged() {
    kill_9_loses_nothing_acknowledged(Relay::start()).await;
}

/// A group commit held open for more writes (`--commit-linger-ms`) still
/// advertises nothing before it is on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_a_lingering_group_commit_loses_nothing_acknowledged() {
    kill_9_loses_nothing_acknowledged(Relay::start_with_args(&["--commit-linger-ms", "25"])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_stream_of_edits_loses_nothing_acknowledged_on_postgres() {
    let url = crate::postgres::database();
    kill_9_loses_nothing_acknowledged(Relay::start_on_postgres(&url, &[])).await;
}

/// Three cycles of: a stream of edits, `kill -9` of the relay, a restart on
/// the same store, and a fresh reader that must see every acknowledged change.
async fn kill_9_loses_nothing_acknowledged(mut relay: Relay) {
    let device = relay.register("writer");
    for cycle in 0..3u32 {
        let (writer, id) = relay
            .client_with_new(&device, |tx| tx.put(ROOT, "cycle", i64::from(cycle)))
            .await;
        let relay_peer = writer.relay_peer().unwrap();
        let mut acknowledged =
            edit_stream(&writer, id, &relay_peer, 0..=399, Vec::new(), |tx, n| {
                tx.put(ROOT, format!("edit-{}", n % 50), n)
            })
            .await;
        tokio::time::sleep(Duration::from_millis(5 * u64::from(cycle))).await;
        if let Some(heads) = writer.acknowledged_heads(id, &relay_peer) {
            acknowledged = heads;
        }
        relay.kill9();
        assert!(
            !acknowledged.is_empty(),
            "the relay acknowledged something before the kill"
        );
        relay.restart();

        let reader = relay.client_holding(&device, id).await;
        let missing = reader.lacking(id, &acknowledged);
        assert!(
            missing.is_empty(),
            "cycle {cycle}: acknowledged changes lost after kill -9: {missing:?}"
        );
        // The writer's unacknowledged tail is not lost either: it resyncs.
        writer
            .reconnect(&relay.ws_url(&device.token))
            .await
            .unwrap();
        relayed(&writer, &reader, id).await;
    }
}
