//! The JSON API: device registration, grants, invites, revocation, health and metrics.

use accord_shared::ids::DocumentId;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize, Serializer};

use crate::access::{AccessError, AttestedKey, Grant, InviteSpec, Role};
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
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        let status = match &error {
            AccessError::BadToken => StatusCode::UNAUTHORIZED,
            AccessError::InviteRequired | AccessError::NotOwner | AccessError::NoAccess => {
                StatusCode::FORBIDDEN
            }
            AccessError::BadPublicKey | AccessError::Invalid(_) => StatusCode::BAD_REQUEST,
            AccessError::InviteNotFound | AccessError::NoSuchGrant => StatusCode::NOT_FOUND,
            AccessError::InviteExpired | AccessError::InviteUsedUp => StatusCode::GONE,
            AccessError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AccessError::AlreadyOwned => StatusCode::CONFLICT,
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
        Self {
            status: rejection.status(),
            message: rejection.body_text(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            error: String,
        }
        (
            self.status,
            Json(Body {
                error: self.message,
            }),
        )
            .into_response()
    }
}

/// Serializes a document id as its bs58check text.
pub(crate) fn document_as_text<S: Serializer>(
    id: &DocumentId,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(id)
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
        Ok(Self(state.access.authenticate(token.trim())?))
    }
}

fn document(text: &str) -> Result<DocumentId, ApiError> {
    DocumentId::parse_url_or_id(text)
        .map_err(|e| ApiError::bad_request(format!("bad document id: {e}")))
}

type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/api/devices", post(register))
        .route("/api/devices/{device}", get(device))
        .route("/api/me", get(me))
        .route("/api/documents/{document}", put(claim))
        .route("/api/documents/{document}/grants", get(grants))
        .route("/api/documents/{document}/grants/{device}", delete(revoke))
        .route("/api/documents/{document}/keys", get(keys))
        .route("/api/documents/{document}/invites", post(create_invite))
        .route("/api/invites/redeem", post(redeem))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

#[derive(Deserialize)]
struct RegisterRequest {
    public_key: String,
    #[serde(default)]
    name: String,
    invite: Option<String>,
}

#[derive(Serialize)]
struct Registered {
    device_id: String,
    token: String,
}

async fn register(
    State(state): State<AppState>,
    body: Result<Json<RegisterRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Registered>)> {
    let Json(request) = body?;
    let (device, token) = state.access.register(
        &request.public_key,
        &request.name,
        request.invite.as_deref(),
        now_ms(),
    )?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            device_id: device.id,
            token,
        }),
    ))
}

#[derive(Serialize)]
struct DeviceView {
    device_id: String,
    name: String,
    public_key: String,
}

async fn device(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DeviceView>> {
    let device = state.access.device(&id).ok_or(ApiError {
        status: StatusCode::NOT_FOUND,
        message: "no such device".into(),
    })?;
    Ok(Json(DeviceView {
        device_id: device.id,
        name: device.name,
        public_key: device
            .public_key
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    }))
}

#[derive(Serialize)]
struct Me {
    device_id: String,
    name: String,
    grants: Vec<Grant>,
}

async fn me(State(state): State<AppState>, Caller(id): Caller) -> ApiResult<Json<Me>> {
    let device = state.access.device(&id).ok_or(AccessError::BadToken)?;
    Ok(Json(Me {
        grants: state.access.grants_of(&id),
        device_id: device.id,
        name: device.name,
    }))
}

#[derive(Deserialize)]
struct ClaimRequest {
    #[serde(default)]
    party: String,
}

async fn claim(
    State(state): State<AppState>,
    Caller(device): Caller,
    Path(id): Path<String>,
    body: Result<Json<ClaimRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Grant>)> {
    let Json(request) = body?;
    let grant = state
        .access
        .claim(document(&id)?, &device, &request.party, now_ms())?;
    Ok((StatusCode::CREATED, Json(grant)))
}

async fn grants(
    State(state): State<AppState>,
    Caller(device): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Grant>>> {
    Ok(Json(state.access.grants_on(&document(&id)?, &device)?))
}

async fn keys(
    State(state): State<AppState>,
    Caller(device): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AttestedKey>>> {
    Ok(Json(state.access.keys_on(&document(&id)?, &device)?))
}

async fn revoke(
    State(state): State<AppState>,
    Caller(device): Caller,
    Path((id, target)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let document = document(&id)?;
    state.access.revoke(&document, Some(&device), &target)?;
    state.hub.send(HubInput::Revoked {
        device: target,
        document,
    });
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct InviteRequest {
    role: Role,
    #[serde(default)]
    party: String,
    #[serde(default = "default_expiry_seconds")]
    expires_in_seconds: u64,
    #[serde(default = "default_uses")]
    uses: u32,
}

fn default_expiry_seconds() -> u64 {
    7 * 24 * 3600
}

fn default_uses() -> u32 {
    1
}

#[derive(Serialize)]
struct InviteView {
    code: String,
    #[serde(serialize_with = "document_as_text")]
    document_id: DocumentId,
    role: Role,
    party: String,
    expires_at: u64,
    uses: u32,
}

async fn create_invite(
    State(state): State<AppState>,
    Caller(device): Caller,
    Path(id): Path<String>,
    body: Result<Json<InviteRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<InviteView>)> {
    let Json(request) = body?;
    let spec = InviteSpec {
        role: request.role,
        party: request.party,
        expires_in_ms: request.expires_in_seconds.saturating_mul(1000),
        uses: request.uses,
    };
    let (code, invite) =
        state
            .access
            .create_invite(document(&id)?, Some(&device), &spec, now_ms())?;
    Ok((
        StatusCode::CREATED,
        Json(InviteView {
            code,
            document_id: invite.document,
            role: invite.role,
            party: invite.party,
            expires_at: invite.expires_at,
            uses: invite.uses_left,
        }),
    ))
}

#[derive(Deserialize)]
struct RedeemRequest {
    code: String,
}

async fn redeem(
    State(state): State<AppState>,
    Caller(device): Caller,
    body: Result<Json<RedeemRequest>, JsonRejection>,
) -> ApiResult<Json<Grant>> {
    let Json(request) = body?;
    Ok(Json(state.access.redeem(
        &device,
        request.code.trim(),
        now_ms(),
    )?))
}
