//! The login service's HTTP side (docs/DESIGN.md §8): the routes, where a request comes from and
//! whether its rate admits it, JSON bodies of at most 16 kB read within a time limit, and running
//! a request through the writer. The API's handlers are in `api.rs`, the mail sign-in check's in
//! `mail.rs`, the hosted pages' in `pages.rs`; statuses come from one place ([`Failure`]'s `IntoResponse`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::de::DeserializeOwned;

use super::api;
pub use super::failure::Failure;
use super::failure::Refused;
use super::limits::RateLimits;
use super::mail::MailDesk;
use super::observe::{Observer, observe};
use super::tally::{Refusals, refusals_entry};
use super::writer::Writer;
use crate::domain::IpNetwork;
use crate::service::{ApiOutcome, ApiRequest, Caller};

/// The largest request body.
pub const MAX_BODY: usize = 16 * 1024;
/// How long a request's body may take to arrive.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What every handler shares: one reference counted once per request, however many extractors
/// ask for it.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state the handlers share.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
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
    /// The requests turned away at the door in the current minute.
    pub refusals: Arc<Refusals>,
    /// The mail sign-in check's readers and counts.
    pub mail: Arc<MailDesk>,
    /// The web administration's store connection, when `serve.admin` is on.
    pub admin: Option<Arc<super::admin::AdminDesk>>,
    /// Request ids and the metrics.
    pub observer: Observer,
}

/// The connection's peer, put into each request by the listener.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Where a request comes from: the connection's peer, or — when the peer is one of
/// `serve.trusted_proxies` — the address that proxy says it forwards (`X-Forwarded-For`).
#[derive(Debug, Clone, Copy)]
pub struct Source(pub IpAddr);

/// The routes of the API, behind the request rates, each request logged and counted.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(api::health))
        .route("/v1/metrics", get(api::metrics))
        .route("/v1/login/begin", post(api::begin))
        .route("/v1/login/verify", post(api::verify))
        .route("/v1/login/resend", post(api::resend))
        .route("/v1/login/enrolment", post(api::enrolment))
        .route("/v1/users/{address}/settings", get(api::show_user_settings).put(api::user_settings))
        .route("/v1/users/{address}/recovery-codes", post(api::new_recovery_codes))
        .route("/v1/users/{address}/devices", delete(api::forget_devices))
        .route("/v1/users/{address}/app-passwords", get(api::app_passwords).post(api::add_app_password))
        .route("/v1/users/{address}/app-passwords/{name}", delete(api::remove_app_password))
        .route("/v1/users/{address}/passkeys", get(api::passkeys))
        .route("/v1/users/{address}/passkeys/begin", post(api::begin_passkey))
        .route("/v1/users/{address}/passkeys/finish", post(api::finish_passkey))
        .route("/v1/users/{address}/passkeys/{name}", put(api::rename_passkey).delete(api::remove_passkey))
        .route("/v1/mail/auth", post(super::mail::auth))
        .route("/v1/signin", post(api::signin))
        .route("/v1/signin/redeem", post(api::redeem))
        .route("/signin/{id}", get(super::pages::view).post(super::pages::code))
        .route("/signin/{id}/resend", post(super::pages::resend))
        .route("/static/mailmfa.css", get(super::pages::stylesheet))
        .route("/static/passkey.js", get(super::pages::passkey_script))
        .merge(super::admin::routes(state.admin.is_some()))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), admit))
        .layer(axum::middleware::from_fn_with_state(state.observer.clone(), observe))
        .with_state(state)
}

/// Works out where a request comes from, and holds it back over its source's rate before anything
/// of it is read (a client's own rate is counted once its key is verified).
async fn admit(State(state): State<AppState>, mut request: Request, next: axum::middleware::Next) -> Response {
    let Some(peer) = request.extensions().get::<Peer>().copied() else {
        return Failure::NotFound.into_response();
    };
    let source = forwarded_source(peer.0.ip().to_canonical(), &state.trusted_proxies, request.headers());
    request.extensions_mut().insert(Source(source));
    let has_key = bearer(request.headers()).is_some();
    let response = match state.limits.admit(source, has_key) {
        Ok(()) => next.run(request).await,
        Err(seconds) => Failure::TooMany(seconds).into_response(),
    };
    let refused = match response.extensions().get::<Refused>() {
        Some(refused) => Some(*refused),
        None if response.status() == StatusCode::METHOD_NOT_ALLOWED => {
            Some(Refused { status: StatusCode::METHOD_NOT_ALLOWED, what: "method not allowed" })
        }
        None => None,
    };
    if let Some(refused) = refused.filter(|refused| state.refusals.note((source, *refused))) {
        state.writer.refusals(vec![refusals_entry((source, refused), 1, false)]).await;
    }
    response
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

/// The `Authorization: Bearer` key, if one was sent. The scheme is case-insensitive (RFC 9110
/// §11.1): `bearer` and `BEARER` are `Bearer`.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim().to_owned())
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
        let mut limited = std::pin::pin!(axum::body::to_bytes(req.into_body(), MAX_BODY));
        // A body that came with its headers needs no timer; one still on its way gets the time
        // it may take.
        let arrived = std::future::poll_fn(|cx| std::task::Poll::Ready(limited.as_mut().poll(cx))).await;
        let read = match arrived {
            std::task::Poll::Ready(read) => read,
            std::task::Poll::Pending => {
                tokio::time::timeout(BODY_TIMEOUT, limited).await.map_err(|_| Failure::SlowBody)?
            }
        };
        let bytes: Bytes = read.map_err(|_| Failure::TooLarge)?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| Failure::BadBody(StatusCode::BAD_REQUEST, format!("the body is not the JSON expected: {e}")))
    }
}

/// Who calls: the request's source and the key it sent, counted against the service's rates.
pub fn caller(state: &AppState, source: Source, headers: &HeaderMap) -> Caller {
    Caller { key: bearer(headers), source: source.0, budget: Some(state.limits.clone()) }
}

/// Runs a request through the writer, and delivers its code (if any) before answering.
pub async fn run<R: ApiRequest>(state: &AppState, caller: Caller, request: R) -> Result<R::Answer, Failure> {
    let ApiOutcome { result, delivery, client } = state.writer.call(caller, request).await;
    super::observe::called_by(client);
    let answer = result?;
    if let Some(delivery) = delivery {
        let sent = tokio::task::spawn_blocking(move || delivery.send())
            .await
            .map_err(|_| Failure::Internal("the code could not be sent: its worker stopped".to_owned()))?;
        state.observer.metrics.delivery(sent.channel(), sent.was_sent());
        state.writer.delivered(sent).await?;
    }
    Ok(answer)
}

async fn not_found() -> Failure {
    Failure::NotFound
}
