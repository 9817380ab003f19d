//! The JSON API of DESIGN.md §8 as axum routes. Handlers are as thin as CLI commands: they read
//! the request into the service's terms, hand it to the writer, and map the answer; statuses come
//! from one place ([`Failure`]'s `IntoResponse`). Bodies are JSON of at most 16 kB, read within a
//! time limit; every answer is JSON, errors as `{"error": …}`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::limits::RateLimits;
use super::writer::Writer;
use crate::domain::{BeginAnswer, IpNetwork};
use crate::service::{ApiAnswer, ApiOutcome, ApiRequest, Caller, ServiceError, StoreError, UserSettings};

/// The largest request body.
pub const MAX_BODY: usize = 16 * 1024;
/// How long a request's body may take to arrive.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The group-commit writer.
    pub writer: Writer,
    /// Request rates per client and per source address.
    pub limits: Arc<RateLimits>,
    /// `local`, `shared` or `server`, for `/v1/health`.
    pub store_kind: &'static str,
    /// The address browsers reach the hosted pages at (`serve.public_url`, without a final `/`).
    pub public_url: Option<String>,
    /// The reverse proxies whose `X-Forwarded-For` is believed (`serve.trusted_proxies`).
    pub trusted_proxies: Arc<Vec<IpNetwork>>,
}

/// The connection's peer, put into each request by the listener.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Where a request comes from: the connection's peer, or — when the peer is one of
/// `serve.trusted_proxies` — the address that proxy says it forwards (`X-Forwarded-For`).
#[derive(Debug, Clone, Copy)]
pub struct Source(pub IpAddr);

/// The routes of the API, behind the request rates.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/login/begin", post(begin))
        .route("/v1/login/verify", post(verify))
        .route("/v1/login/resend", post(resend))
        .route("/v1/users/{address}/settings", get(show_user_settings).put(user_settings))
        .route("/v1/users/{address}/recovery-codes", post(new_recovery_codes))
        .route("/v1/users/{address}/devices", delete(forget_devices))
        .route("/v1/signin", post(signin))
        .route("/v1/signin/redeem", post(redeem))
        .route("/signin/{id}", get(super::pages::view).post(super::pages::code))
        .route("/signin/{id}/resend", post(super::pages::resend))
        .route("/static/mailmfa.css", get(super::pages::stylesheet))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), admit))
        .with_state(state)
}

/// Works out where a request comes from, and holds it back over its source's or its client's
/// rate before anything of it is read.
async fn admit(
    State(state): State<AppState>,
    mut request: Request,
    next: axum::middleware::Next,
) -> Result<Response, Failure> {
    let Some(peer) = request.extensions().get::<Peer>().copied() else {
        return Err(Failure::NotFound);
    };
    let source = forwarded_source(peer.0.ip().to_canonical(), &state.trusted_proxies, request.headers());
    request.extensions_mut().insert(Source(source));
    let key = bearer(request.headers());
    state.limits.admit(source, key.as_deref()).map_err(Failure::TooMany)?;
    Ok(next.run(request).await)
}

/// The address a request comes from. A peer that is not a trusted proxy is the source itself;
/// behind trusted proxies, the `X-Forwarded-For` hops are read from the nearest back, and the
/// first address that is not a trusted proxy is the source (a hop that is not an address ends the
/// walk at the last proxy vouched for). So a caller cannot name its own address by sending the
/// header: only what a trusted proxy appended counts.
pub fn forwarded_source(peer: IpAddr, trusted: &[IpNetwork], headers: &HeaderMap) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut source = peer;
    for hop in hops.iter().rev() {
        let address = hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()));
        let Some(address) = address.map(|a| a.to_canonical()) else { break };
        source = address;
        if !is_trusted(address) {
            break;
        }
    }
    source
}

/// The `Authorization: Bearer` key, if one was sent.
fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|k| k.trim().to_owned())
}

/// Why a request gets no 200: a service error, or one of the HTTP layer's own.
pub enum Failure {
    /// What the service said.
    Service(ServiceError),
    /// Too many requests: come back after so many seconds.
    TooMany(u64),
    /// The body is too large.
    TooLarge,
    /// The body is not JSON (415) or not the JSON expected (400).
    BadBody(StatusCode, String),
    /// The body did not arrive in time.
    SlowBody,
    /// No such route.
    NotFound,
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::Service(e) => return service_error(e),
            Self::TooMany(seconds) => {
                let body = json!({"error": format!("too many requests; try again in {seconds} s")});
                let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
                return response;
            }
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {MAX_BODY} bytes")),
            Self::BadBody(status, message) => (status, message),
            Self::SlowBody => (StatusCode::REQUEST_TIMEOUT, "the body did not arrive in time".to_owned()),
            Self::NotFound => (StatusCode::NOT_FOUND, "no such endpoint".to_owned()),
        };
        (status, axum::Json(json!({"error": body}))).into_response()
    }
}

/// The one place a service error becomes a status.
fn service_error(e: ServiceError) -> Response {
    let status = match &e {
        ServiceError::NoApiKey | ServiceError::BadApiKey => StatusCode::UNAUTHORIZED,
        ServiceError::SourceNotAllowed(_) => StatusCode::FORBIDDEN,
        _ if e.is_refusal() => StatusCode::FORBIDDEN,
        ServiceError::UnknownTransaction => StatusCode::NOT_FOUND,
        ServiceError::Store(_) | ServiceError::Delivery(_) | ServiceError::Geo(_) | ServiceError::NoPublicUrl => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let mut body = json!({"error": e.to_string()});
    if let Some(reason) = refusal_reason(&e) {
        body["reason"] = json!(reason);
    }
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if matches!(e, ServiceError::Store(StoreError::Busy)) {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The `reason` word of a self-service refusal.
fn refusal_reason(e: &ServiceError) -> Option<&'static str> {
    match e {
        ServiceError::SelfServiceOff(_) => Some("self_service_off"),
        ServiceError::ProviderDisabled { .. } if e.is_refusal() => Some("provider_disabled"),
        ServiceError::ProviderNotConfigurable { .. } if e.is_refusal() => Some("provider_not_user_configurable"),
        _ => None,
    }
}

/// A JSON body: `application/json`, at most [`MAX_BODY`] bytes, arriving within [`BODY_TIMEOUT`].
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            let message = "send the body as Content-Type: application/json".to_owned();
            return Err(Failure::BadBody(StatusCode::UNSUPPORTED_MEDIA_TYPE, message));
        }
        let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_BODY) {
            return Err(Failure::TooLarge);
        }
        let limited = axum::body::to_bytes(req.into_body(), MAX_BODY);
        let bytes: Bytes = match tokio::time::timeout(BODY_TIMEOUT, limited).await {
            Err(_) => return Err(Failure::SlowBody),
            Ok(Err(_)) => return Err(Failure::TooLarge),
            Ok(Ok(bytes)) => bytes,
        };
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| Failure::BadBody(StatusCode::BAD_REQUEST, format!("the body is not the JSON expected: {e}")))
    }
}

/// Who calls.
fn caller(source: Source, headers: &HeaderMap) -> Caller {
    Caller { key: bearer(headers), source: source.0 }
}

/// Runs a request through the writer, and delivers its code (if any) before answering.
pub async fn run(state: &AppState, caller: Caller, request: ApiRequest) -> Result<ApiAnswer, Failure> {
    let ApiOutcome { result, delivery } = state.writer.call(caller, request).await;
    let answer = result?;
    if let Some(delivery) = delivery {
        let sent = tokio::task::spawn_blocking(move || delivery.send())
            .await
            .map_err(|_| Failure::Service(ServiceError::Store(StoreError::Busy)))?;
        state.writer.delivered(sent).await?;
    }
    Ok(answer)
}

async fn health(State(state): State<AppState>) -> Response {
    axum::Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "store": state.store_kind})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BeginBody {
    address: String,
    ip: String,
    device_token: Option<String>,
}

async fn begin(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BeginBody>,
) -> Result<Response, Failure> {
    let caller = caller(source, &headers);
    let ApiAnswer::Begin(answer, transaction) =
        run(&state, caller, ApiRequest::Begin { address: body.address, ip: body.ip, device_token: body.device_token })
            .await?
    else {
        return Err(Failure::NotFound);
    };
    let mut json = serde_json::to_value(&answer).unwrap_or_default();
    if let Some(transaction) = transaction {
        json["transaction_id"] = json!(transaction.transaction_id);
        json["expires_in"] = json!(transaction.expires_in);
        if transaction.remember_days > 0 {
            json["remember_days"] = json!(transaction.remember_days);
        }
    }
    if let BeginAnswer::Enroll { otpauth_uri, .. } = &answer {
        let uri = otpauth_uri.clone();
        let png = tokio::task::spawn_blocking(move || crate::qr::png(&uri, 300))
            .await
            .map_err(|_| Failure::Service(ServiceError::Store(StoreError::Busy)))?
            .map_err(ServiceError::from)?;
        json["qr_png_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(png));
    }
    Ok(axum::Json(json).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    transaction_id: String,
    code: String,
    #[serde(default)]
    remember: bool,
}

async fn verify(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Response, Failure> {
    let caller = caller(source, &headers);
    let request = ApiRequest::Verify { transaction_id: body.transaction_id, code: body.code, remember: body.remember };
    match run(&state, caller, request).await? {
        ApiAnswer::Verify(answer) => Ok(axum::Json(answer).into_response()),
        _ => Err(Failure::NotFound),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResendBody {
    transaction_id: String,
}

async fn resend(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ResendBody>,
) -> Result<Response, Failure> {
    let caller = caller(source, &headers);
    let ApiAnswer::Resend(answer) =
        run(&state, caller, ApiRequest::Resend { transaction_id: body.transaction_id }).await?
    else {
        return Err(Failure::NotFound);
    };
    let json: Value = match answer {
        BeginAnswer::Challenge { sent_to: Some(to), .. } => json!({"sent_to": to}),
        other => serde_json::to_value(&other).unwrap_or_default(),
    };
    Ok(axum::Json(json).into_response())
}

async fn user_settings(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
    ApiJson(settings): ApiJson<UserSettings>,
) -> Result<Response, Failure> {
    user_call(&state, source, &headers, ApiRequest::UserSettings { address, settings }).await
}

async fn show_user_settings(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Result<Response, Failure> {
    user_call(&state, source, &headers, ApiRequest::ShowUserSettings { address }).await
}

async fn new_recovery_codes(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Result<Response, Failure> {
    user_call(&state, source, &headers, ApiRequest::NewRecoveryCodes { address }).await
}

async fn forget_devices(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Result<Response, Failure> {
    user_call(&state, source, &headers, ApiRequest::ForgetDevices { address }).await
}

/// A call a webmail's settings page makes for its user: the answer as JSON.
async fn user_call(
    state: &AppState,
    source: Source,
    headers: &HeaderMap,
    request: ApiRequest,
) -> Result<Response, Failure> {
    match run(state, caller(source, headers), request).await? {
        ApiAnswer::UserSettings(view) => Ok(axum::Json(view).into_response()),
        ApiAnswer::RecoveryCodes(codes) => Ok(axum::Json(codes).into_response()),
        _ => Err(Failure::NotFound),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SigninBody {
    address: String,
    ip: String,
    return_url: String,
}

async fn signin(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SigninBody>,
) -> Result<Response, Failure> {
    let base = state.public_url.clone().ok_or(ServiceError::NoPublicUrl)?;
    let request = ApiRequest::Signin { address: body.address, ip: body.ip, return_url: body.return_url };
    let ApiAnswer::Signin(answer, signin) = run(&state, caller(source, &headers), request).await? else {
        return Err(Failure::NotFound);
    };
    let mut json = serde_json::to_value(&answer).unwrap_or_default();
    if let (Some(id), Some(map)) = (signin, json.as_object_mut()) {
        // The browser gets only the page: the enrolment URI stays off the webmail's side.
        map.remove("otpauth_uri");
        map.insert("signin_url".to_owned(), json!(format!("{base}/signin/{id}")));
    }
    Ok(axum::Json(json).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemBody {
    ticket: String,
}

async fn redeem(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RedeemBody>,
) -> Result<Response, Failure> {
    match run(&state, caller(source, &headers), ApiRequest::Redeem { ticket: body.ticket }).await? {
        ApiAnswer::Redeemed(Some(address)) => {
            Ok(axum::Json(json!({"result": "accepted", "address": address})).into_response())
        }
        ApiAnswer::Redeemed(None) => {
            Ok(axum::Json(json!({"result": "rejected", "reason": "invalid_ticket"})).into_response())
        }
        _ => Err(Failure::NotFound),
    }
}

async fn not_found() -> Failure {
    Failure::NotFound
}
