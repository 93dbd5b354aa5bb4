//! Malformed input closes only the offending connection; everyone else keeps
//! syncing and nothing stored is damaged.

use std::time::Duration;

use accord_shared::automerge::ROOT;
use accord_shared::automerge::transaction::Transactable;
use accord_shared::ids::PeerId;
use accord_shared::protocol::{self, DocMessage, Message, PROTOCOL_VERSION};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::{Relay, WAIT, content};

pub(crate) type Socket = WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw connection that has completed the handshake.
async fn joined(url: &str) -> Socket {
    joined_as(url, "raw-peer").await
}

/// Sends one protocol message over a raw connection (plain or TLS).
pub(crate) async fn send_message<S>(socket: &mut WebSocketStream<S>, message: &Message)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    socket
        .send(WsMessage::Binary(protocol::encode(message).into()))
        .await
        .unwrap();
}

/// Sends `join` as `peer` over a raw connection.
pub(crate) async fn send_join<S>(socket: &mut WebSocketStream<S>, peer: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let join = Message::Join {
        sender_id: peer.parse().unwrap(),
        supported_protocol_versions: vec![PROTOCOL_VERSION.into()],
        metadata: None,
    };
    send_message(socket, &join).await;
}

/// A raw connection that sent `join` as `peer` and expects a refusal.
pub(crate) async fn joined_as_refused(url: &str, peer: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connecting");
    send_join(&mut socket, peer).await;
    socket
}

/// A raw connection that has completed the handshake as `peer`.
pub(crate) async fn joined_as(url: &str, peer: &str) -> Socket {
    let mut socket = joined_as_refused(url, peer).await;
    match socket.next().await {
        Some(Ok(WsMessage::Binary(bytes))) => {
            assert!(matches!(protocol::decode(&bytes), Ok(Message::Peer { .. })))
        }
        other => panic!("expected a peer message, got {other:?}"),
    }
    socket
}

/// Reads until the relay closes; returns the `error` message it sent.
pub(crate) async fn error_then_close(socket: &mut Socket) -> String {
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
    let (relay, [owner], good, id) = Relay::start_with_args(&["--max-frame-bytes", "65536"])
        .with_devices_and_document(["owner"], |tx| tx.put(ROOT, "title", "Stable"))
        .await;
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
    let fresh = relay.client_holding(&owner, id).await;
    fresh.wait_heads(id, &good.heads(id), WAIT).await.unwrap();
    assert_eq!(content(&fresh, id)["title"], "Stable");
    assert_eq!(content(&fresh, id)["after"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_joins_or_spoofs_a_sender_is_closed() {
    let relay = Relay::start();
    let url = relay.registered_ws_url("owner");
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let leave = Message::Leave {
        sender_id: "x".parse().unwrap(),
    };
    send_message(&mut socket, &leave).await;
    assert!(error_then_close(&mut socket).await.contains("join"));

    let mut socket = joined(&url).await;
    let spoofed = Message::Request(DocMessage {
        sender_id: "someone-else".parse().unwrap(),
        target_id: "relay".parse().unwrap(),
        document_id: accord_shared::ids::DocumentId::from_bytes([1; 16]),
        data: vec![],
    });
    send_message(&mut socket, &spoofed).await;
    assert!(
        error_then_close(&mut socket)
            .await
            .contains("does not match")
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, _) = relay.api("GET", "/healthz", None, None);
    assert_eq!(status, 200);
}

/// A CBOR `request` for `document_id` given as raw text (so it can be invalid).
fn request_with_id_text(sender: &str, target: &str, document_id: &str) -> Vec<u8> {
    let mut out = vec![0xa5];
    let mut text = |t: &str| {
        let len = t.len();
        if len < 24 {
            out.push(0x60 | u8::try_from(len).unwrap());
        } else {
            out.push(0x7a);
            out.extend_from_slice(&u32::try_from(len).unwrap().to_be_bytes());
        }
        out.extend_from_slice(t.as_bytes());
    };
    for (key, value) in [
        ("type", "request"),
        ("senderId", sender),
        ("targetId", target),
        ("documentId", document_id),
    ] {
        text(key);
        text(value);
    }
    out.extend_from_slice(&[0x64, b'd', b'a', b't', b'a', 0x40]);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_document_id_is_refused_by_length_on_the_wire_and_over_http() {
    let relay = Relay::start();
    let owner = relay.register("owner");
    let url = relay.ws_url(&owner.token);
    let huge = "z".repeat(100_000);
    let mut socket = joined(&url).await;
    let frame = request_with_id_text("raw-peer", "relay", &huge);
    let started = std::time::Instant::now();
    socket.send(WsMessage::Binary(frame.into())).await.unwrap();
    let error = error_then_close(&mut socket).await;
    println!(
        "a 100,000-character documentId was refused in {:?}",
        started.elapsed()
    );
    assert!(
        error.contains("documentId") && error.contains("at most 28"),
        "refused by its length, before decoding: {error}"
    );

    let long = "z".repeat(60_000);
    let started = std::time::Instant::now();
    let (status, body) = relay.api(
        "PUT",
        &format!("/api/documents/{long}"),
        Some(&owner.token),
        Some(&serde_json::json!({})),
    );
    println!(
        "a 60 KB id over HTTP was refused in {:?}",
        started.elapsed()
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("at most 28"),
        "{body}"
    );
    assert!(
        body.to_string().len() < 200,
        "the error does not echo the id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_stuffed_with_versions_gets_a_short_error() {
    let relay = Relay::start();
    let (mut socket, _) = tokio_tungstenite::connect_async(relay.registered_ws_url("owner"))
        .await
        .unwrap();
    // 4 MB: a join whose supportedProtocolVersions holds 4M empty strings.
    let count: u32 = 4_000_000;
    let mut frame = vec![0xa3];
    frame.extend_from_slice(b"\x64type\x64join\x68senderId\x64evil");
    frame.push(0x79);
    frame.extend_from_slice(&25u16.to_be_bytes());
    frame.extend_from_slice(b"supportedProtocolVersions");
    frame.push(0x9a);
    frame.extend_from_slice(&count.to_be_bytes());
    frame.resize(frame.len() + count as usize, 0x60);
    socket.send(WsMessage::Binary(frame.into())).await.unwrap();
    let error = error_then_close(&mut socket).await;
    assert!(
        error.len() < 200,
        "the error is short, not an echo of the input: {} bytes",
        error.len()
    );
    assert!(error.contains("supportedProtocolVersions"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_non_ascii_close_reason_is_cut_on_a_character_boundary() {
    let relay = Relay::start();
    let url = relay.registered_ws_url("owner");
    let me = "ü".repeat(60);
    let mut socket = joined_as(&url, &me).await;
    let spoofed = Message::Request(DocMessage {
        sender_id: "ö".repeat(60).parse().unwrap(),
        target_id: "relay".parse().unwrap(),
        document_id: accord_shared::ids::DocumentId::from_bytes([1; 16]),
        data: vec![],
    });
    send_message(&mut socket, &spoofed).await;
    let mut close = None;
    let _ = tokio::time::timeout(WAIT, async {
        while let Some(Ok(frame)) = socket.next().await {
            if let WsMessage::Close(frame) = frame {
                close = Some(frame);
                break;
            }
        }
    })
    .await;
    let frame = close
        .expect("a close frame, not an abnormal closure (1006)")
        .expect("with a status and reason");
    assert_eq!(u16::from(frame.code), 1008);
    assert!(frame.reason.len() <= 123, "{}", frame.reason.len());
    assert!(frame.reason.starts_with("senderId ö"), "{}", frame.reason);
}
