//! The JSON API's handlers (docs/DESIGN.md §8), as thin as CLI commands: each reads its body into
//! the service's request, runs it ([`run`]) and sends the answer as a typed body. What each answers
//! is the request's own type, so a handler cannot get another request's answer.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::http::{ApiJson, AppState, Failure, Source, caller, run};
use super::metrics::Gauges;
use super::observe::Outcome;
use crate::domain::{BeginAnswer, MailboxAddress, Purpose, Reason, Verified, VerifyAnswer};
use crate::service::{
    AddAppPasswordRequest, BeginPasskeyRequest, BeginRequest, Begun, CountryDatabase, EnrolmentRequest,
    FinishPasskeyRequest, ForgetDevicesRequest, ListAppPasswordsRequest, ListPasskeysRequest, MetricsRequest,
    NewRecoveryCodesRequest, Proof, RedeemRequest, RemoveAppPasswordRequest, RemovePasskeyRequest,
    RenamePasskeyRequest, ResendRequest, ServiceError, ShowUserSettingsRequest, SigninRequest, UserSettings,
    UserSettingsRequest, VerifyRequest,
};

/// `GET /v1/health`.
#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    store: &'static str,
    country_database: CountryState,
}

/// Whether logins can tell countries apart: `loaded`, `not_configured` or `failed` (and why).
#[derive(Serialize)]
struct CountryState {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// `GET /v1/health`: reads the store (in the writer's turn, so a stuck writer shows here too);
/// 503 when it cannot.
pub async fn health(State(state): State<AppState>) -> Result<Response, Failure> {
    let countries = state.writer.status().await?;
    let problem = match &countries {
        CountryDatabase::Failed(problem) => Some(problem.clone()),
        _ => None,
    };
    let country_database = CountryState { state: countries.word(), problem };
    let health = Health { status: "ok", version: env!("CARGO_PKG_VERSION"), store: state.store_kind, country_database };
    Ok(axum::Json(health).into_response())
}

/// `GET /v1/metrics`, in the Prometheus text format: for an API client given the metrics (`client
/// add --metrics`) that sends its key, or for a caller on this machine without one.
pub async fn metrics(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    if headers.contains_key(header::AUTHORIZATION) {
        run(&state, caller(&state, source, &headers), MetricsRequest).await?;
    } else if !source.0.is_loopback() {
        return Err(ServiceError::SourceNotAllowed(source.0).into());
    }
    let waiting = state.writer.waiting();
    let country_database = state.writer.status().await.ok().map(|countries| countries == CountryDatabase::Loaded);
    let text = state.observer.metrics.render(&Gauges { waiting, country_database });
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeginBody {
    address: String,
    ip: String,
    device_token: Option<String>,
    purpose: Option<String>,
}

/// `begin`'s answer: the decision, the transaction that waits for a code, and the enrolment QR
/// code as a PNG.
#[derive(Serialize)]
struct BeginReply {
    #[serde(flatten)]
    answer: BeginAnswer,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remember_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qr_png_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webauthn: Option<serde_json::Value>,
}

/// `POST /v1/login/begin`.
pub async fn begin(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BeginBody>,
) -> Result<Response, Failure> {
    let purpose = body.purpose.as_deref().map(str::parse::<Purpose>).transpose().map_err(ServiceError::from)?;
    let purpose = purpose.unwrap_or_default();
    let request = BeginRequest { address: body.address, ip: body.ip, device_token: body.device_token, purpose };
    let Begun { answer, transaction } = run(&state, caller(&state, source, &headers), request).await?;
    let decided = decided(&state, &answer);
    let qr_png_base64 = match &answer {
        BeginAnswer::Enroll { otpauth_uri, .. } if !otpauth_uri.is_empty() => {
            Some(qr_png_base64(otpauth_uri.clone()).await?)
        }
        _ => None,
    };
    let mut response = axum::Json(BeginReply {
        transaction_id: transaction.as_ref().map(|t| t.transaction_id.clone()),
        expires_in: transaction.as_ref().map(|t| t.expires_in),
        remember_days: transaction.as_ref().map(|t| t.remember_days).filter(|days| *days > 0),
        webauthn: transaction.and_then(|t| t.webauthn),
        answer,
        qr_png_base64,
    })
    .into_response();
    response.extensions_mut().insert(decided);
    Ok(response)
}

/// A login's decision (through the API or the hosted pages), counted, for the request's log line.
pub(super) fn decided(state: &AppState, answer: &BeginAnswer) -> Outcome {
    let decided = Outcome(answer.decision(), answer.reason().map_or("none", Reason::word));
    state.observer.metrics.decision(decided.0, decided.1);
    decided
}

/// A code's check (through the API or the hosted pages), counted, for the request's log line.
pub(super) fn checked(state: &AppState, answer: VerifyAnswer) -> Outcome {
    let result = match answer {
        VerifyAnswer::Accepted => Outcome("accepted", "none"),
        VerifyAnswer::Rejected { reason } => Outcome("rejected", reason.word()),
    };
    state.observer.metrics.verification(result.0, result.1);
    result
}

/// The QR code of an `otpauth://` URI, as base64 of a PNG (drawn off the async threads).
async fn qr_png_base64(uri: String) -> Result<String, Failure> {
    let png = tokio::task::spawn_blocking(move || crate::qr::png(&uri, 300))
        .await
        .map_err(|_| Failure::Internal("the QR code could not be drawn".to_owned()))?
        .map_err(ServiceError::from)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(png))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    transaction_id: String,
    code: Option<String>,
    webauthn: Option<serde_json::Value>,
    #[serde(default)]
    remember: bool,
}

/// `POST /v1/login/verify`.
pub async fn verify(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Response, Failure> {
    let proof = Proof::of(body.code, body.webauthn).map_err(ServiceError::from)?;
    let request = VerifyRequest { transaction_id: body.transaction_id, proof, remember: body.remember };
    let verified: Verified = run(&state, caller(&state, source, &headers), request).await?;
    let result = checked(&state, verified.answer);
    let mut response = axum::Json(verified).into_response();
    response.extensions_mut().insert(result);
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResendBody {
    transaction_id: String,
}

/// `resend`'s answer: where the new code went, or why none did (the send limit).
#[derive(Serialize)]
#[serde(untagged)]
enum ResendReply {
    Sent { sent_to: String },
    Not(BeginAnswer),
}

/// `POST /v1/login/resend`.
pub async fn resend(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ResendBody>,
) -> Result<Response, Failure> {
    let request = ResendRequest { transaction_id: body.transaction_id };
    let reply = match run(&state, caller(&state, source, &headers), request).await? {
        BeginAnswer::Challenge { sent_to: Some(sent_to), .. } => ResendReply::Sent { sent_to },
        other => ResendReply::Not(other),
    };
    Ok(axum::Json(reply).into_response())
}

/// `PUT /v1/users/{address}/settings`.
pub async fn user_settings(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
    ApiJson(settings): ApiJson<UserSettings>,
) -> Result<Response, Failure> {
    let request = UserSettingsRequest { address, settings, step_up_token: step_up(&headers) };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

/// `GET /v1/users/{address}/settings`.
pub async fn show_user_settings(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Result<Response, Failure> {
    let request = ShowUserSettingsRequest { address };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

/// `POST /v1/users/{address}/recovery-codes`.
pub async fn new_recovery_codes(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Result<Response, Failure> {
    let request = NewRecoveryCodesRequest { address, step_up_token: step_up(&headers) };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

/// `DELETE /v1/users/{address}/devices`.
pub async fn forget_devices(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Result<Response, Failure> {
    let request = ForgetDevicesRequest { address, step_up_token: step_up(&headers) };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppPasswordBody {
    name: String,
    protocols: Option<Vec<String>>,
}

/// `GET /v1/users/{address}/app-passwords`.
pub async fn app_passwords(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Result<Response, Failure> {
    let request = ListAppPasswordsRequest { address };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

/// `POST /v1/users/{address}/app-passwords` (needs a step-up): the new password, shown once.
pub async fn add_app_password(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
    ApiJson(body): ApiJson<AppPasswordBody>,
) -> Result<Response, Failure> {
    let request = AddAppPasswordRequest {
        address,
        name: body.name,
        protocols: body.protocols.map(|list| list.join(",")),
        step_up_token: step_up(&headers),
    };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

/// `DELETE /v1/users/{address}/app-passwords/{name}`.
pub async fn remove_app_password(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path((address, name)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let request = RemoveAppPasswordRequest { address, name };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

/// `GET /v1/users/{address}/passkeys`.
pub async fn passkeys(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Result<Response, Failure> {
    let request = ListPasskeysRequest { address };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

/// `POST /v1/users/{address}/passkeys/begin` (needs a step-up): the creation options of another
/// passkey, and the ceremony its answer goes back to.
pub async fn begin_passkey(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Result<Response, Failure> {
    let request = BeginPasskeyRequest { address, step_up_token: step_up(&headers) };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishPasskeyBody {
    ceremony_id: String,
    name: Option<String>,
    webauthn: serde_json::Value,
}

/// `POST /v1/users/{address}/passkeys/finish`.
pub async fn finish_passkey(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path(address): Path<String>,
    ApiJson(body): ApiJson<FinishPasskeyBody>,
) -> Result<Response, Failure> {
    let request =
        FinishPasskeyRequest { address, ceremony_id: body.ceremony_id, name: body.name, webauthn: body.webauthn };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenamePasskeyBody {
    name: String,
}

/// `PUT /v1/users/{address}/passkeys/{name}`: a new name.
pub async fn rename_passkey(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path((address, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<RenamePasskeyBody>,
) -> Result<Response, Failure> {
    let request = RenamePasskeyRequest { address, name, new_name: body.name };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

/// `DELETE /v1/users/{address}/passkeys/{name}` (needs a step-up).
pub async fn remove_passkey(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    Path((address, name)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let request = RemovePasskeyRequest { address, name, step_up_token: step_up(&headers) };
    Ok(axum::Json(run(&state, caller(&state, source, &headers), request).await?).into_response())
}

/// The step-up token a sensitive change brings (`Mailmfa-Step-Up`), from a `begin` with
/// `"purpose": "step_up"` whose code was accepted.
fn step_up(headers: &HeaderMap) -> Option<String> {
    headers.get("mailmfa-step-up").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentBody {
    transaction_id: String,
}

/// An enrolment as a webmail draws it: the key URI (for a phone's own app and for typing it in by
/// hand) and its QR code.
#[derive(Serialize)]
struct EnrolmentReply {
    otpauth_uri: String,
    qr_png_base64: String,
}

/// `POST /v1/login/enrolment`: the QR code of a transaction that waits for its first code, so a
/// webmail need not keep the secret between the page that shows it and the code.
pub async fn enrolment(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<EnrolmentBody>,
) -> Result<Response, Failure> {
    let request = EnrolmentRequest { transaction_id: body.transaction_id };
    let otpauth_uri = run(&state, caller(&state, source, &headers), request).await?;
    let qr_png_base64 = qr_png_base64(otpauth_uri.to_string()).await?;
    Ok(axum::Json(EnrolmentReply { otpauth_uri: otpauth_uri.to_string(), qr_png_base64 }).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigninBody {
    address: String,
    ip: String,
    return_url: String,
}

/// `signin`'s answer: the decision and, unless it is `allow`, the page the browser goes to. The
/// enrolment URI stays off the webmail's side: the browser gets only the page.
#[derive(Serialize)]
struct SigninReply {
    #[serde(flatten)]
    answer: BeginAnswer,
    #[serde(skip_serializing_if = "Option::is_none")]
    signin_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signin_url: Option<String>,
}

/// `POST /v1/signin`.
pub async fn signin(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SigninBody>,
) -> Result<Response, Failure> {
    let base = state.public_url.clone().ok_or(ServiceError::NoPublicUrl)?;
    let request = SigninRequest { address: body.address, ip: body.ip, return_url: body.return_url };
    let started = run(&state, caller(&state, source, &headers), request).await?;
    let decided = decided(&state, &started.answer);
    let signin_url = started.signin.as_ref().map(|id| format!("{base}/signin/{id}"));
    let answer = match started.answer {
        BeginAnswer::Enroll { provider, reason, .. } if signin_url.is_some() => {
            BeginAnswer::Enroll { provider, otpauth_uri: String::new(), reason }
        }
        answer => answer,
    };
    let mut response = axum::Json(SigninReply { answer, signin_id: started.signin, signin_url }).into_response();
    response.extensions_mut().insert(decided);
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    ticket: String,
    signin_id: String,
}

/// `redeem`'s answer.
#[derive(Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum RedeemReply {
    Accepted { address: MailboxAddress },
    Rejected { reason: &'static str },
}

/// `POST /v1/signin/redeem`.
pub async fn redeem(
    State(state): State<AppState>,
    axum::Extension(source): axum::Extension<Source>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RedeemBody>,
) -> Result<Response, Failure> {
    let reply = match run(
        &state,
        caller(&state, source, &headers),
        RedeemRequest { ticket: body.ticket, signin_id: body.signin_id },
    )
    .await?
    {
        Some(address) => RedeemReply::Accepted { address },
        None => RedeemReply::Rejected { reason: "invalid_ticket" },
    };
    Ok(axum::Json(reply).into_response())
}
