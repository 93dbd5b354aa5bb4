//! The relay's HTTP API (`/api/...`), called with `fetch` on the page's own origin.

pub use accord_shared::http::{
    AccountDevice, AttestedKey, Grant, Invite, LinkCode, Linked, NewInvite, Role,
};
use accord_shared::http::{
    ClaimRequest, ErrorBody, LinkRequest, Me, RedeemRequest, RegisterRequest, Registered,
    SyncTicket,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response};

use crate::browser::{self, describe};

/// Why an API call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The request did not reach the relay (offline, refused, aborted).
    #[error("relay unreachable: {0}")]
    Network(String),
    /// The relay answered with an error status.
    #[error("relay answered {status}: {message}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// The relay's `error` text, or the raw body.
        message: String,
    },
    /// The relay's answer was not the JSON we expected.
    #[error("unexpected answer from relay: {0}")]
    Decode(String),
}

impl ApiError {
    /// True when the relay is simply not reachable right now (retry later).
    pub fn is_network(&self) -> bool {
        matches!(self, Self::Network(_))
    }
}

/// What `POST /api/devices` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRegistration {
    /// The relay's id for this device.
    pub device_id: String,
    /// Bearer token for `/sync` and the API.
    pub token: String,
}

/// Registers this device's Ed25519 public key (64 hex characters).
pub async fn register_device(
    origin: &str,
    public_key_hex: &str,
    name: &str,
) -> Result<DeviceRegistration, ApiError> {
    let body = json(&RegisterRequest {
        public_key: public_key_hex.to_owned(),
        name: name.to_owned(),
        invite: None,
        link: None,
    })?;
    let text = call("POST", &format!("{origin}/api/devices"), None, Some(body)).await?;
    let answer: Registered = parse(&text)?;
    Ok(DeviceRegistration {
        device_id: answer.device_id,
        token: answer.token,
    })
}

/// Claims ownership of a new document for `party` (`PUT /api/documents/{id}`).
pub async fn claim_document(
    origin: &str,
    token: &str,
    document: &str,
    party: &str,
) -> Result<(), ApiError> {
    let body = json(&ClaimRequest {
        party: party.to_owned(),
    })?;
    let url = format!("{origin}/api/documents/{document}");
    call("PUT", &url, Some(token), Some(body)).await?;
    Ok(())
}

/// Creates an invite for `document` (the caller must own it).
pub async fn create_invite(
    origin: &str,
    token: &str,
    document: &str,
    invite: &NewInvite,
) -> Result<Invite, ApiError> {
    let url = format!("{origin}/api/documents/{document}/invites");
    parse(&call("POST", &url, Some(token), Some(json(invite)?)).await?)
}

/// Asks the relay for a single-use ticket to open the sync socket with, so
/// the bearer token never goes into a URL.
pub async fn sync_ticket(origin: &str, token: &str) -> Result<String, ApiError> {
    let url = format!("{origin}/api/sync-ticket");
    let text = call("POST", &url, Some(token), None).await?;
    Ok(parse::<SyncTicket>(&text)?.ticket)
}

/// Redeems an invite code. A revoked, expired or used-up code comes back as
/// [`ApiError::Status`] carrying the relay's own explanation.
pub async fn redeem_invite(origin: &str, token: &str, code: &str) -> Result<Grant, ApiError> {
    let body = json(&RedeemRequest {
        code: code.to_owned(),
    })?;
    let url = format!("{origin}/api/invites/redeem");
    parse(&call("POST", &url, Some(token), Some(body)).await?)
}

/// The public keys of every device granted `document` (any grant holder may ask).
pub async fn document_keys(
    origin: &str,
    token: &str,
    document: &str,
) -> Result<Vec<AttestedKey>, ApiError> {
    let url = format!("{origin}/api/documents/{document}/keys");
    parse(&call("GET", &url, Some(token), None).await?)
}

/// Asks for a single-use link code (`POST /api/links`) for adding another
/// device to this device's account.
pub async fn create_link(origin: &str, token: &str) -> Result<LinkCode, ApiError> {
    let body = json(&LinkRequest::default())?;
    parse(
        &call(
            "POST",
            &format!("{origin}/api/links"),
            Some(token),
            Some(body),
        )
        .await?,
    )
}

/// Registers this device with a link code: it becomes another device of the
/// account that showed the code, with the same grants.
pub async fn register_linked(
    origin: &str,
    public_key_hex: &str,
    name: &str,
    code: &str,
) -> Result<(DeviceRegistration, Linked), ApiError> {
    let body = json(&RegisterRequest {
        public_key: public_key_hex.to_owned(),
        name: name.to_owned(),
        invite: None,
        link: Some(code.to_owned()),
    })?;
    let text = call("POST", &format!("{origin}/api/devices"), None, Some(body)).await?;
    let answer: Registered = parse(&text)?;
    let linked = answer
        .linked
        .ok_or_else(|| ApiError::Decode("the relay did not say which account was joined".into()))?;
    Ok((
        DeviceRegistration {
            device_id: answer.device_id,
            token: answer.token,
        },
        linked,
    ))
}

/// The devices of this device's account (`GET /api/account/devices`).
pub async fn account_devices(origin: &str, token: &str) -> Result<Vec<AccountDevice>, ApiError> {
    let url = format!("{origin}/api/account/devices");
    parse(&call("GET", &url, Some(token), None).await?)
}

/// Every grant this device holds (`GET /api/me`).
pub async fn my_grants(origin: &str, token: &str) -> Result<Vec<Grant>, ApiError> {
    let text = call("GET", &format!("{origin}/api/me"), Some(token), None).await?;
    Ok(parse::<Me>(&text)?.grants)
}

/// Signs a device out with its own token (`DELETE /api/devices/{id}`).
pub async fn sign_out(origin: &str, token: &str, device: &str) -> Result<(), ApiError> {
    let url = format!("{origin}/api/devices/{device}");
    call("DELETE", &url, Some(token), None).await?;
    Ok(())
}

/// Revokes another device of this account: its token and grants go at once.
pub async fn revoke_device(origin: &str, token: &str, device: &str) -> Result<(), ApiError> {
    let url = format!("{origin}/api/account/devices/{device}");
    call("DELETE", &url, Some(token), None).await?;
    Ok(())
}

/// A request body as JSON.
fn json(body: &impl Serialize) -> Result<String, ApiError> {
    serde_json::to_string(body).map_err(|e| ApiError::Decode(e.to_string()))
}

/// Sends one request and returns the body of a successful answer; an error
/// status becomes [`ApiError::Status`] with the relay's explanation.
async fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Result<String, ApiError> {
    let (status, text) = send(method, url, token, body.as_deref()).await?;
    expect_success(status, &text)?;
    Ok(text)
}

fn expect_success(status: u16, text: &str) -> Result<(), ApiError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let message = serde_json::from_str::<ErrorBody>(text)
        .map(|b| b.error)
        .unwrap_or_else(|_| text.to_owned());
    Err(ApiError::Status { status, message })
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::Decode(e.to_string()))
}

async fn send(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, String), ApiError> {
    let network = |e: JsValue| ApiError::Network(describe(&e));
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().map_err(network)?;
    if let Some(body) = body {
        headers
            .set("content-type", "application/json")
            .map_err(network)?;
        init.set_body(&JsValue::from_str(body));
    }
    if let Some(token) = token {
        headers
            .set("authorization", &format!("Bearer {token}"))
            .map_err(network)?;
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(url, &init).map_err(network)?;
    let window = browser::window().map_err(|e| ApiError::Network(e.to_string()))?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(network)?
        .dyn_into()
        .map_err(network)?;
    let text = JsFuture::from(response.text().map_err(network)?)
        .await
        .map_err(network)?;
    Ok((response.status(), text.as_string().unwrap_or_default()))
}
