//! Malformed input closes only the offending connection; everyone else keeps
//! syncing and nothing stored is damaged.

use std::time::Duration;

use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::Transactable;
use accord_shared::ids::PeerId;
use accord_shared::protocol::{self, DocMessage, Message, PROTOCOL_VERSION};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::{Relay, WAIT, content};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw connection that has completed the handshake.
async fn joined(url: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connecting");
    let join = Message::Join {
        sender_id: "raw-peer".parse().unwrap(),
        supported_protocol_versions: vec![PROTOCOL_VERSION.into()],
        metadata: None,
    };
    socket
        .send(WsMessage::Binary(protocol::encode(&join).into()))
        .await
        .unwrap();
    match socket.next().await {
        Some(Ok(WsMessage::Binary(bytes))) => {
            assert!(matches!(protocol::decode(&bytes), Ok(Message::Peer { .. })))
        }
        other => panic!("expected a peer message, got {other:?}"),
    }
    socket
}

/// Reads until the relay closes; returns the `error` message it sent.
async fn error_then_close(socket: &mut Socket) -> String {
    let mut error = None;
    let result = tokio::time::timeout(WAIT, async {
        while let Some(frame) = socket.next().await {
            match frame {
                Ok(WsMessage::Binary(bytes)) => {
                    if let Ok(Message::Error { message }) = protocol::decode(&bytes) {
                        error = Some(message);
                    }
                }
                Ok(WsMessage::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(result.is_ok(), "the relay did not close the connection");
    error.expect("the relay sent an error message before closing")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_bad_input_closes_only_its_sender() {
    let relay = Relay::start_with_args(&["--max-frame-bytes", "65536"]);
    let owner = relay.register("owner");
    let good = relay.client(&owner).await;
    let id = good.create(|tx| tx.put(ROOT, "title", "Stable")).unwrap();
    good.wait_synced(id, WAIT).await.unwrap();
    let url = relay.ws_url(&owner.token);
    let me: PeerId = "raw-peer".parse().unwrap();
    let relay_peer = good.relay_peer().unwrap();

    let valid_sync = protocol::encode(&Message::Sync(DocMessage {
        sender_id: me.clone(),
        target_id: relay_peer.clone(),
        document_id: id,
        data: vec![0x42, 0x00],
    }));
    let mut bad_doc_id = protocol::encode(&Message::Request(DocMessage {
        sender_id: me.clone(),
        target_id: relay_peer.clone(),
        document_id: id,
        data: vec![],
    }));
    let id_text = id.to_string();
    let at = bad_doc_id
        .windows(id_text.len())
        .position(|w| w == id_text.as_bytes())
        .unwrap();
    bad_doc_id[at] = b'0'; // '0' is not in the base58 alphabet

    let cases: Vec<(&str, WsMessage, &str)> = vec![
        (
            "garbage bytes",
            WsMessage::Binary(vec![0xff, 0x13, 0x37, 0x00, 0x99].into()),
            "malformed",
        ),
        (
            "a text frame",
            WsMessage::Text("{\"type\":\"sync\"}".into()),
            "text frames",
        ),
        (
            "truncated CBOR",
            WsMessage::Binary(valid_sync[..valid_sync.len() / 2].to_vec().into()),
            "malformed",
        ),
        (
            "an oversized frame",
            WsMessage::Binary(vec![0xa0; 100_000].into()),
            "frame",
        ),
        (
            "a malformed document id",
            WsMessage::Binary(bad_doc_id.into()),
            "documentId",
        ),
        (
            "an undecodable sync payload",
            WsMessage::Binary(valid_sync.clone().into()),
            "undecodable",
        ),
    ];
    for (n, (what, frame, expected)) in cases.into_iter().enumerate() {
        let mut socket = joined(&url).await;
        let _ = socket.send(frame).await;
        let error = error_then_close(&mut socket).await;
        assert!(
            error.contains(expected),
            "{what}: error {error:?} should mention {expected:?}"
        );
        // The well-behaved client is unaffected.
        good.change(id, |tx| tx.put(ROOT, "after", i64::try_from(n).unwrap()))
            .unwrap();
        good.wait_synced(id, WAIT)
            .await
            .unwrap_or_else(|e| panic!("after {what}: {e}"));
    }
    assert!(good.is_connected());
    let fresh = relay.client(&owner).await;
    fresh.find(id, WAIT).await.unwrap();
    fresh.wait_heads(id, &good.heads(id), WAIT).await.unwrap();
    assert_eq!(content(&fresh, id)["title"], "Stable");
    assert_eq!(content(&fresh, id)["after"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_joins_or_spoofs_a_sender_is_closed() {
    let relay = Relay::start();
    let owner = relay.register("owner");
    let url = relay.ws_url(&owner.token);
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let leave = Message::Leave {
        sender_id: "x".parse().unwrap(),
    };
    socket
        .send(WsMessage::Binary(protocol::encode(&leave).into()))
        .await
        .unwrap();
    assert!(error_then_close(&mut socket).await.contains("join"));

    let mut socket = joined(&url).await;
    let spoofed = Message::Request(DocMessage {
        sender_id: "someone-else".parse().unwrap(),
        target_id: "relay".parse().unwrap(),
        document_id: accord_shared::ids::DocumentId::from_bytes([1; 16]),
        data: vec![],
    });
    socket
        .send(WsMessage::Binary(protocol::encode(&spoofed).into()))
        .await
        .unwrap();
    assert!(
        error_then_close(&mut socket)
            .await
            .contains("does not match")
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, _) = relay.api("GET", "/healthz", None, None);
    assert_eq!(status, 200);
}
