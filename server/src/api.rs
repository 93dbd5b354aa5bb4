//! The JSON API: device registration, grants, invites, revocation, health and metrics.

use accord_shared::http::{
    self, ClaimRequest, DeviceInfo, ErrorBody, Invite, LinkCode, LinkRequest, Linked, Me,
    NewInvite, RedeemRequest, RegisterRequest, Registered, SyncTicket,
};
use accord_shared::ids::DocumentId;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, put};
use axum::{Json, Router};

use crate::access::{
    AccessControl, AccessError, AccountDevice, AttestedKey, Grant, InviteSpec, LinkRefusal,
    MemberDevice, Registration,
};
use crate::hub::HubInput;
use crate::{AppState, now_ms};

/// An API failure: a status and a message, sent as `{"error": "…"}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn unauthorized(message: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn not_found(message: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    fn too_many(message: &str) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: message.into(),
        }
    }
}

/// Runs an access operation on the blocking pool: it may write to storage
/// and wait for an fsync, which must not stall the async worker threads.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    operation: impl FnOnce(&AccessControl) -> Result<T, AccessError> + Send + 'static,
) -> Result<T, ApiError> {
    let access = state.access.clone();
    tokio::task::spawn_blocking(move || operation(&access))
        .await
        .map_err(|_| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "the operation failed unexpectedly".into(),
        })?
        .map_err(ApiError::from)
}

/// The client's IP address, when the server recorded it (rate limits).
pub(crate) struct ClientAddress(Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

impl ClientAddress {
    fn key(&self) -> String {
        self.0
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }

    /// Refuses an address that sent too many wrong invite codes this minute.
    fn check(&self, state: &AppState) -> Result<(), ApiError> {
        if state.access.address_limited(&self.key(), now_ms()) {
            Err(ApiError::too_many(
                "too many wrong invite codes from this address; wait a minute and try again",
            ))
        } else {
            Ok(())
        }
    }

    /// Counts a wrong invite code against this address.
    fn count<T>(&self, state: &AppState, result: Result<T, ApiError>) -> Result<T, ApiError> {
        if let Err(error) = &result
            && error.status == StatusCode::NOT_FOUND
        {
            state.access.record_address_miss(&self.key(), now_ms());
        }
        result
    }
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        let status = match &error {
            AccessError::BadToken => StatusCode::UNAUTHORIZED,
            AccessError::InviteRequired
            | AccessError::NotOwner
            | AccessError::NoAccess
            | AccessError::Revoked
            | AccessError::NotYourDevice => StatusCode::FORBIDDEN,
            AccessError::BadPublicKey | AccessError::Invalid(_) => StatusCode::BAD_REQUEST,
            AccessError::InviteNotFound | AccessError::NoSuchGrant | AccessError::NotRevoked => {
                StatusCode::NOT_FOUND
            }
            AccessError::InviteExpired
            | AccessError::InviteUsedUp
            | AccessError::Link(LinkRefusal::Expired | LinkRefusal::Used) => StatusCode::GONE,
            AccessError::Link(LinkRefusal::Unknown) => StatusCode::NOT_FOUND,
            AccessError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            // Another relay node changed the record first: try again.
            AccessError::AlreadyOwned
            | AccessError::Storage(crate::storage::StorageError::Conflict(_)) => {
                StatusCode::CONFLICT
            }
            AccessError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        Self {
            status,
            message: error.to_string(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        // serde's messages quote the offending input (an unknown variant, a
        // bad string): keep them short.
        let text = rejection.body_text();
        let mut message = crate::text::truncate_utf8(&text, MAX_ERROR_BYTES).to_owned();
        if message.len() < text.len() {
            message.push('…');
        }
        Self {
            status: rejection.status(),
            message,
        }
    }
}

/// Longest error text the API sends.
const MAX_ERROR_BYTES: usize = 200;

/// Makes every error the API routes answer JSON, including the router's own
/// (405, bad path encoding), which are plain text otherwise.
async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = crate::text::truncate_utf8(text.trim(), MAX_ERROR_BYTES);
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        message.to_owned()
    };
    let mut json = ApiError { status, message }.into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            json.headers_mut().insert(name, value.clone());
        }
    }
    json
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response()
    }
}

/// The device behind the request's `Authorization: Bearer` token.
pub(crate) struct Caller(pub String);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized("missing Authorization: Bearer <token> header")
            })?;
        let device = state.access.authenticate(token.trim())?;
        note_seen(state, &device);
        Ok(Self(device))
    }
}

/// Records that `device` used its token now; writes the time to storage
/// (off the async threads) when the stored one is several minutes old.
pub(crate) fn note_seen(state: &AppState, device: &str) {
    let now = now_ms();
    if state.access.saw(device, now).is_some() {
        let access = state.access.clone();
        let device = device.to_owned();
        tokio::task::spawn_blocking(move || {
            if let Err(error) = access.store_last_seen(&device, now) {
                tracing::warn!(%error, "could not store a device's last-seen time");
            }
        });
    }
}

fn document(text: &str) -> Result<DocumentId, ApiError> {
    DocumentId::parse_url_or_id(text)
        .map_err(|e| ApiError::bad_request(format!("bad document id: {e}")))
}

/// Longest device id accepted in a path (ours are `dev_` and 16 hex digits).
const MAX_DEVICE_ID: usize = 64;

fn device_id(text: &str) -> Result<&str, ApiError> {
    if text.len() > MAX_DEVICE_ID {
        return Err(ApiError::bad_request(format!(
            "device ids are at most {MAX_DEVICE_ID} characters"
        )));
    }
    Ok(text)
}

/// What a request's path parameters name, once checked.
trait PathTarget: Sized {
    /// The parameters as text.
    type Text: serde::de::DeserializeOwned + Send;
    /// Checks the parameters.
    fn from_path(text: Self::Text) -> Result<Self, ApiError>;
}

impl PathTarget for DocumentId {
    type Text = String;
    fn from_path(text: String) -> Result<Self, ApiError> {
        document(&text)
    }
}

/// A device on a document, from `…/{document}/grants/{device}` and
/// `…/{document}/revocations/{device}`.
struct MemberPath {
    document: DocumentId,
    device: String,
}

impl PathTarget for MemberPath {
    type Text = (String, String);
    fn from_path((id, device): (String, String)) -> Result<Self, ApiError> {
        let document = document(&id)?;
        device_id(&device)?;
        Ok(Self { document, device })
    }
}

/// A device id from a path, its length checked (see [`device_id`]).
struct DevicePath(String);

impl PathTarget for DevicePath {
    type Text = String;
    fn from_path(text: String) -> Result<Self, ApiError> {
        device_id(&text)?;
        Ok(Self(text))
    }
}

/// A request by an authenticated caller about what the path names
/// (`/api/documents/{document}/…`, `…/devices/{device}`). A bad token is
/// refused before a bad path.
struct On<T> {
    state: AppState,
    /// The caller (see [`Caller`]).
    caller: String,
    /// What the path names.
    target: T,
}

impl<T: PathTarget> FromRequestParts<AppState> for On<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(caller) = Caller::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(text) = Path::<T::Text>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            state: state.clone(),
            caller,
            target: T::from_path(text).map_err(IntoResponse::into_response)?,
        })
    }
}

impl On<DevicePath> {
    /// Runs `operation` (caller, device) on the blocking pool, then closes
    /// the device's sync connections everywhere, saying `reason`.
    async fn sign_out(
        self,
        reason: &'static str,
        operation: impl FnOnce(&AccessControl, &str, &str) -> Result<(), AccessError> + Send + 'static,
    ) -> ApiResult<StatusCode> {
        let (caller, device) = (self.caller, self.target.0.clone());
        blocking(&self.state, move |access| {
            operation(access, &caller, &device)
        })
        .await?;
        let input = HubInput::SignedOut {
            device: self.target.0,
            reason,
        };
        cut_off(&self.state, input).await
    }
}

/// Answers an access change that cuts a device off once this node's hub
/// has `input` and every other node has stopped the device too.
async fn cut_off(state: &AppState, input: HubInput) -> ApiResult<StatusCode> {
    state.hub.send(input);
    // Other nodes stop the device before this call answers.
    state.access_changed().await;
    Ok(StatusCode::NO_CONTENT)
}

type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_on_main))
        .route("/api/devices", post(register))
        .route("/api/devices/{device}", get(device).delete(sign_out))
        .route("/api/me", get(me))
        .route("/api/links", post(create_link))
        .route("/api/account/devices", get(account_devices))
        .route("/api/account/devices/{device}", delete(revoke_device))
        .route("/api/sync-ticket", post(sync_ticket))
        .route("/api/documents/{document}", put(claim))
        .route("/api/documents/{document}/grants", get(grants))
        .route("/api/documents/{document}/grants/{device}", delete(revoke))
        .route("/api/documents/{document}/devices", get(devices))
        .route(
            "/api/documents/{document}/revocations/{device}",
            delete(lift_revocation),
        )
        .route("/api/documents/{document}/keys", get(keys))
        .route("/api/documents/{document}/invites", post(create_invite))
        .route("/api/invites/redeem", post(redeem))
        .route("/api", any(unknown_api))
        .route("/api/{*rest}", any(unknown_api))
        .layer(axum::middleware::from_fn(json_errors))
}

/// Unknown API paths answer JSON 404, never the web app's `index.html`.
async fn unknown_api() -> ApiError {
    ApiError::not_found("no such API endpoint")
}

/// `ok` while sync works; 503 with the reason when the hub stopped or stalled.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.hub.health().check(now_ms()) {
        Ok(()) => "ok".into_response(),
        Err(failure) => ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: failure.to_string(),
        }
        .into_response(),
    }
}

/// The routes of a separate metrics listener.
pub(crate) fn metrics_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn metrics_on_main(State(state): State<AppState>, parts: Parts) -> Response {
    if state.metrics_access.separate_listener {
        return ApiError::not_found("metrics are served on a separate address").into_response();
    }
    metrics(State(state), parts).await
}

async fn metrics(State(state): State<AppState>, parts: Parts) -> Response {
    if let Some(expected) = &state.metrics_access.token {
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or("");
        let same = crate::access::secret::same(
            &crate::access::secret::hash(given.trim()),
            &crate::access::secret::hash(expected),
        );
        if !same {
            return ApiError::unauthorized("metrics need Authorization: Bearer <metrics token>")
                .into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn register(
    State(state): State<AppState>,
    address: ClientAddress,
    body: Result<Json<RegisterRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Registered>)> {
    let Json(request) = body?;
    if let Some(code) = request.link {
        if request.invite.is_some() {
            return Err(ApiError::bad_request(
                "give either an invite or a link code, not both",
            ));
        }
        address.check(&state)?;
        let result = blocking(&state, move |access| {
            access.register_linked(&request.public_key, &request.name, code.trim(), now_ms())
        })
        .await;
        let linked = address.count(&state, result)?;
        return Ok((
            StatusCode::CREATED,
            Json(Registered {
                device_id: linked.device.id,
                token: linked.token,
                linked: Some(Linked {
                    linked_by_key: linked.linked_by_key,
                    grants: linked.grants.iter().map(Grant::to_wire).collect(),
                }),
            }),
        ));
    }
    let with_invite =
        request.invite.is_some() || state.access.registration() == Registration::Invite;
    if with_invite {
        address.check(&state)?;
    }
    let result = blocking(&state, move |access| {
        access.register(
            &request.public_key,
            &request.name,
            request.invite.as_deref(),
            now_ms(),
        )
    })
    .await;
    let (device, token) = address.count(&state, result)?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            device_id: device.id,
            token,
            linked: None,
        }),
    ))
}

/// `POST /api/links`: a single-use code that registers another device of
/// the caller's account.
async fn create_link(
    State(state): State<AppState>,
    Caller(device): Caller,
    body: Result<Json<LinkRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<LinkCode>)> {
    let Json(request) = body?;
    let now = now_ms();
    let ttl = request.expires_in_seconds.map(|s| s.saturating_mul(1000));
    let (code, link) = state.access.create_link(&device, ttl, now)?;
    Ok((
        StatusCode::CREATED,
        Json(LinkCode {
            code: crate::access::links::display(&code),
            expires_at: link.expires_at,
            expires_in_seconds: link.expires_at.saturating_sub(now) / 1000,
        }),
    ))
}

/// `GET /api/account/devices`: the caller's devices.
async fn account_devices(
    State(state): State<AppState>,
    Caller(device): Caller,
) -> ApiResult<Json<Vec<AccountDevice>>> {
    Ok(Json(state.access.account_devices(&device)?))
}

/// `DELETE /api/account/devices/{id}`: revokes another device of the
/// caller's account; its sync connections close at once.
async fn revoke_device(on: On<DevicePath>) -> ApiResult<StatusCode> {
    let reason = "another device of this account revoked this device";
    on.sign_out(reason, |access, caller, target| {
        access.revoke_device(caller, target, now_ms()).map(drop)
    })
    .await
}

async fn device(on: On<DevicePath>) -> ApiResult<Json<DeviceInfo>> {
    let device = on
        .state
        .access
        .device(&on.target.0)
        .ok_or_else(|| ApiError::not_found("no such device"))?;
    Ok(Json(DeviceInfo {
        device_id: device.id,
        name: device.name,
        public_key: device
            .public_key
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    }))
}

/// `DELETE /api/devices/{id}`: the device signs itself out. Its token stops
/// working and its sync connections close.
async fn sign_out(on: On<DevicePath>) -> ApiResult<StatusCode> {
    on.sign_out("this device signed out", |access, caller, device| {
        access.sign_out(device, caller)
    })
    .await
}

/// `POST /api/sync-ticket`: lets a browser open the sync socket without
/// putting its bearer token in the URL.
async fn sync_ticket(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<SyncTicket>> {
    // A shared store writes the ticket: off the async threads.
    let ticket = blocking(&state, move |access| {
        access.issue_sync_ticket(&caller, now_ms())
    })
    .await?;
    Ok(Json(SyncTicket {
        ticket,
        expires_in_seconds: crate::access::tickets::TICKET_TTL_MS / 1000,
    }))
}

async fn me(State(state): State<AppState>, Caller(id): Caller) -> ApiResult<Json<Me>> {
    let device = state.access.device(&id).ok_or(AccessError::BadToken)?;
    Ok(Json(Me {
        grants: state
            .access
            .grants_of(&id)
            .iter()
            .map(Grant::to_wire)
            .collect(),
        device_id: device.id,
        name: device.name,
    }))
}

async fn claim(
    State(state): State<AppState>,
    Caller(device): Caller,
    Path(id): Path<String>,
    body: Result<Json<ClaimRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<http::Grant>)> {
    let Json(request) = body?;
    let document = document(&id)?;
    let grant = blocking(&state, move |access| {
        access.claim(document, &device, &request.party, now_ms())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(grant.to_wire())))
}

async fn grants(on: On<DocumentId>) -> ApiResult<Json<Vec<http::Grant>>> {
    let grants = on.state.access.grants_on(&on.target, &on.caller)?;
    Ok(Json(grants.iter().map(Grant::to_wire).collect()))
}

async fn devices(on: On<DocumentId>) -> ApiResult<Json<Vec<MemberDevice>>> {
    Ok(Json(on.state.access.devices_on(&on.target, &on.caller)?))
}

async fn keys(on: On<DocumentId>) -> ApiResult<Json<Vec<AttestedKey>>> {
    Ok(Json(on.state.access.keys_on(&on.target, &on.caller)?))
}

async fn lift_revocation(on: On<MemberPath>) -> ApiResult<StatusCode> {
    let (caller, MemberPath { document, device }) = (on.caller, on.target);
    blocking(&on.state, move |access| {
        access.lift_revocation(&document, &caller, &device)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke(on: On<MemberPath>) -> ApiResult<StatusCode> {
    let (caller, MemberPath { document, device }) = (on.caller, on.target);
    let revoked = device.clone();
    blocking(&on.state, move |access| {
        access.revoke(&document, Some(&caller), &revoked, now_ms())
    })
    .await?;
    cut_off(&on.state, HubInput::Revoked { device, document }).await
}

async fn create_invite(
    State(state): State<AppState>,
    Caller(device): Caller,
    Path(id): Path<String>,
    body: Result<Json<NewInvite>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Invite>)> {
    let Json(request) = body?;
    let spec = InviteSpec {
        role: request.role,
        party: request.party,
        expires_in_ms: request.expires_in_seconds.saturating_mul(1000),
        uses: request.uses,
    };
    let document = document(&id)?;
    let (code, invite) = blocking(&state, move |access| {
        access.create_invite(document, Some(&device), &spec, now_ms())
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(Invite {
            code,
            document_id: invite.document.to_string(),
            role: invite.role,
            party: invite.party,
            expires_at: invite.expires_at,
            uses: invite.uses_left,
        }),
    ))
}

async fn redeem(
    State(state): State<AppState>,
    Caller(device): Caller,
    address: ClientAddress,
    body: Result<Json<RedeemRequest>, JsonRejection>,
) -> ApiResult<Json<http::Grant>> {
    let Json(request) = body?;
    address.check(&state)?;
    let result = blocking(&state, move |access| {
        access.redeem(&device, request.code.trim(), now_ms())
    })
    .await;
    Ok(Json(address.count(&state, result)?.to_wire()))
}
