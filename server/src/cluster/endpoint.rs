//! `GET /internal/link`: the owner's side of a node link. After the secret
//! and device headers check, the link is an ordinary sync connection of
//! that device ([`crate::ws::serve_link`]).

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{DEVICE_HEADER, SECRET_HEADER};
use crate::AppState;
use crate::api::ApiError;

/// Refuses a link from outside the cluster (no cluster configured, wrong
/// or missing secret, no device), then serves it like a client's socket.
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(cluster) = state.cluster.clone() else {
        return ApiError::unauthorized("this relay is not part of a cluster").into_response();
    };
    let secret = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !cluster.admits(secret) {
        return ApiError::unauthorized("wrong or missing cluster secret").into_response();
    }
    let Some(device) = headers
        .get(DEVICE_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
    else {
        return ApiError::unauthorized("a node link names its device").into_response();
    };
    crate::ws::serve_link(ws, state, device)
}
