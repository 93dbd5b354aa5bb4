//! A minimal HTTP/1.1 client for the relay's JSON API (no extra dependencies).

use std::time::Duration;

use accord_server::plain_http;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::LoadError;

/// A valid Ed25519 public key (RFC 8032 test vector 1) for registering load devices.
const LOAD_PUBLIC_KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

/// `host:port` from `http://host:port[/]`.
fn authority(base: &str) -> &str {
    base.trim_start_matches("http://").trim_end_matches('/')
}

/// Sends one request with `Connection: close`; returns the status and the JSON body
/// (`Null` when empty).
pub async fn request(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value), LoadError> {
    let fail = |detail: String| LoadError::Http {
        what: "request",
        detail,
    };
    let host = authority(base);
    let body = body.map(Value::to_string).unwrap_or_default();
    let text = tokio::time::timeout(Duration::from_secs(30), async {
        let mut stream = TcpStream::connect(host).await?;
        let head = plain_http::request_head(method, path, host, token, body.len());
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&response).into_owned())
    })
    .await
    .map_err(|_| fail(format!("{method} {path} timed out")))?
    .map_err(|e| fail(format!("{method} {path}: {e}")))?;
    let (status, payload) = plain_http::response_parts(&text);
    Ok((status, plain_http::json_body(payload)))
}

/// Registers a device on an Accord relay; returns its bearer token.
pub async fn register_device(base: &str, name: &str) -> Result<String, LoadError> {
    let (status, body) = request(
        base,
        "POST",
        "/api/devices",
        None,
        Some(&json!({ "public_key": LOAD_PUBLIC_KEY, "name": name })),
    )
    .await?;
    if status != 201 && status != 200 {
        return Err(LoadError::Http {
            what: "registering a device",
            detail: format!("status {status}: {body}"),
        });
    }
    body["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| LoadError::Http {
            what: "registering a device",
            detail: format!("no token in {body}"),
        })
}

/// The sync WebSocket URL of an Accord relay for `token`.
pub fn accord_sync_url(base: &str, token: &str) -> String {
    format!("ws://{}/sync?token={token}", authority(base))
}
