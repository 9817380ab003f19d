//! [`Failure`]: why a request gets no 200, and the one place that turns it into a status and an
//! error body (`{"error": …, "request_id": …}`, and `"reason"` for a self-service refusal). A
//! refusal says what was wrong with the request; a failure on mailmfa's side (500) or of the store
//! (503) says only that, in a few words: its detail — SQL, a path, a database server's words — goes
//! to the log under the same request id (docs/DESIGN.md §13).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::http::MAX_BODY;
use super::observe::{self, ErrorDetail, Outcome};
use crate::service::{ServiceError, StoreError};

/// What was wrong with a request turned away at the door; the answer carries it as an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Refused {
    /// The answer's status.
    pub status: StatusCode,
    /// What was wrong, in a few words.
    pub what: &'static str,
}

/// Why a request gets no 200: a service error, or one of the HTTP layer's own.
#[derive(Debug)]
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
    /// Something failed inside mailmfa (a worker thread, drawing a QR code).
    Internal(String),
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

/// An error answer's body.
#[derive(Serialize)]
struct ErrorBody {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

/// What a caller is told when the store cannot be reached.
pub const STORE_UNAVAILABLE: &str = "the store cannot be reached just now; try again shortly";
/// What a caller is told when a code could not be sent.
pub const NOT_SENT: &str = "the code could not be sent; try again in a moment";
/// What a caller is told when the country database failed.
pub const NO_COUNTRIES: &str = "the country database cannot be used just now; try again shortly";
/// What a caller is told when something failed inside mailmfa.
pub const INTERNAL: &str = "something failed inside the login service; its log has the detail under this request id";

impl Failure {
    /// What was wrong, when the request was turned away before it reached the service (or for
    /// its client's rate): such refusals are counted rather than audited one by one.
    fn refused_at_the_door(&self) -> Option<Refused> {
        let (status, what) = match self {
            Self::TooMany(_) | Self::Service(ServiceError::TooManyRequests(_)) => {
                (StatusCode::TOO_MANY_REQUESTS, "too many requests")
            }
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
            Self::BadBody(status, _) if *status == StatusCode::UNSUPPORTED_MEDIA_TYPE => (*status, "body not JSON"),
            Self::BadBody(status, _) => (*status, "body not the JSON expected"),
            Self::SlowBody => (StatusCode::REQUEST_TIMEOUT, "body too slow"),
            Self::NotFound => (StatusCode::NOT_FOUND, "no such route"),
            Self::Service(_) | Self::Internal(_) => return None,
        };
        Some(Refused { status, what })
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Self::TooMany(seconds) => Some((*seconds).max(1)),
            Self::Service(ServiceError::Store(StoreError::Busy)) => Some(1),
            Self::Service(ServiceError::TooManyRequests(seconds)) => Some((*seconds).max(1)),
            _ => None,
        };
        let refused = self.refused_at_the_door();
        let word = self.word();
        let (status, error, reason) = self.status_and_message();
        let (error, detail) = if status.is_server_error() { caller_words(status, &self, error) } else { (error, None) };
        let request_id = observe::current().map(|id| id.to_string());
        let mut response = (status, axum::Json(ErrorBody { error, reason, request_id })).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        let extensions = response.extensions_mut();
        if let Some(refused) = refused {
            extensions.insert(refused);
        }
        extensions.insert(Outcome(if status.is_server_error() { "failed" } else { "refused" }, word));
        if let Some(detail) = detail {
            extensions.insert(ErrorDetail(detail));
        }
        response
    }
}

impl Failure {
    /// The status, the message of a refusal, and a self-service refusal's reason.
    fn status_and_message(&self) -> (StatusCode, String, Option<&'static str>) {
        match self {
            Self::Service(e) => (status_of(e), e.to_string(), refusal_reason(e)),
            Self::TooMany(seconds) => {
                (StatusCode::TOO_MANY_REQUESTS, format!("too many requests; try again in {seconds} s"), None)
            }
            Self::TooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {MAX_BODY} bytes"), None)
            }
            Self::BadBody(status, message) => (*status, message.clone(), None),
            Self::SlowBody => (StatusCode::REQUEST_TIMEOUT, "the body did not arrive in time".to_owned(), None),
            Self::NotFound => (StatusCode::NOT_FOUND, "no such endpoint".to_owned(), None),
            Self::Internal(what) => (StatusCode::INTERNAL_SERVER_ERROR, what.clone(), None),
        }
    }

    /// The request line's word for this failure: never the message, which may quote the body.
    fn word(&self) -> &'static str {
        match self {
            Self::Service(e) => error_word(e),
            Self::TooMany(_) => "too_many_requests",
            Self::TooLarge => "body_too_large",
            Self::BadBody(..) => "bad_body",
            Self::SlowBody => "body_too_slow",
            Self::NotFound => "no_such_route",
            Self::Internal(_) => "internal",
        }
    }
}

/// A server error as the caller sees it, and its detail for the log.
fn caller_words(status: StatusCode, failure: &Failure, detail: String) -> (String, Option<String>) {
    let shown = match failure {
        Failure::Service(ServiceError::Store(_)) => STORE_UNAVAILABLE,
        Failure::Service(ServiceError::Delivery(_)) => NOT_SENT,
        Failure::Service(ServiceError::Geo(_)) => NO_COUNTRIES,
        // The operator's own setting, named so the webmail's administrator can fix it.
        Failure::Service(
            ServiceError::NoPublicUrl | ServiceError::NoPasskeyOrigin | ServiceError::NoSigninPasskeyOrigin,
        ) => return (detail, None),
        _ if status == StatusCode::SERVICE_UNAVAILABLE => STORE_UNAVAILABLE,
        _ => INTERNAL,
    };
    (shown.to_owned(), Some(detail))
}

/// A service error in a word, for the request line.
fn error_word(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::NoApiKey => "no_api_key",
        ServiceError::BadApiKey => "bad_api_key",
        ServiceError::SourceNotAllowed(_) => "source_not_allowed",
        ServiceError::OutOfScope(_) => "out_of_scope",
        ServiceError::MetricsNotAllowed => "metrics_not_allowed",
        ServiceError::TooManyRequests(_) => "too_many_requests",
        ServiceError::UnknownTransaction => "unknown_transaction",
        ServiceError::Domain(_) => "invalid_input",
        ServiceError::Store(_) => "store",
        ServiceError::Delivery(_) => "delivery",
        ServiceError::Geo(_) => "country_database",
        _ => refusal_reason(e).unwrap_or("refused"),
    }
}

/// The status of a service error: every kind is decided here, once.
fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::NoApiKey | ServiceError::BadApiKey => StatusCode::UNAUTHORIZED,
        ServiceError::SourceNotAllowed(_)
        | ServiceError::SelfServiceOff(_)
        | ServiceError::OutOfScope(_)
        | ServiceError::MetricsNotAllowed
        | ServiceError::AdministratorsOnly(_)
        | ServiceError::StepUpRequired
        | ServiceError::AdminSignIn
        | ServiceError::StaleForm => StatusCode::FORBIDDEN,
        ServiceError::AdminSession => StatusCode::UNAUTHORIZED,
        ServiceError::AdminSetupLink | ServiceError::PlatformOnly(_) => StatusCode::NOT_FOUND,
        ServiceError::ProviderDisabled { .. } | ServiceError::ProviderNotConfigurable { .. } if e.is_refusal() => {
            StatusCode::FORBIDDEN
        }
        ServiceError::UnknownTransaction
        | ServiceError::UnknownCeremony
        | ServiceError::NoAppPassword { .. }
        | ServiceError::NoPasskey { .. } => StatusCode::NOT_FOUND,
        ServiceError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::Domain(_)
        | ServiceError::NoPostOffice(_)
        | ServiceError::NoMailbox(_)
        | ServiceError::UnknownPostOffice(_)
        | ServiceError::NoTotpSecret(_)
        | ServiceError::ProviderDisabled { .. }
        | ServiceError::ProviderNotConfigurable { .. }
        | ServiceError::NoDestination { .. }
        | ServiceError::NothingToResend
        | ServiceError::ReturnUrlRefused(_)
        | ServiceError::NothingToTest
        | ServiceError::TestSend(_)
        | ServiceError::NoClient(_)
        | ServiceError::NoAdmin(_)
        | ServiceError::PasswordsDiffer
        | ServiceError::Import { .. } => StatusCode::BAD_REQUEST,
        ServiceError::PostOfficeExists(_)
        | ServiceError::MailboxExists(_)
        | ServiceError::PostOfficeNotEmpty { .. }
        | ServiceError::ClientExists(_)
        | ServiceError::AppPasswordExists { .. }
        | ServiceError::PasskeyExists { .. }
        | ServiceError::LastPasskey(_)
        | ServiceError::NotPasskeyMailbox(_)
        | ServiceError::TooManyAppPasswords { .. }
        | ServiceError::AdminExists(_) => StatusCode::CONFLICT,
        ServiceError::Store(_)
        | ServiceError::Delivery(_)
        | ServiceError::Geo(_)
        | ServiceError::NoPublicUrl
        | ServiceError::NoPasskeyOrigin
        | ServiceError::NoSigninPasskeyOrigin => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::FileMissing { .. }
        | ServiceError::NotAStore(_)
        | ServiceError::KeyForAnotherStore { .. }
        | ServiceError::KeyDoesNotOpen { .. }
        | ServiceError::SameStore(_)
        | ServiceError::InMemory(_)
        | ServiceError::Io { .. }
        | ServiceError::Qr(_)
        | ServiceError::Passkey(_)
        | ServiceError::PasswordHash(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `reason` word of a self-service refusal.
fn refusal_reason(e: &ServiceError) -> Option<&'static str> {
    match e {
        ServiceError::SelfServiceOff(_) => Some("self_service_off"),
        ServiceError::StepUpRequired => Some("step_up_required"),
        ServiceError::PasskeyExists { .. } => Some("passkey_exists"),
        ServiceError::LastPasskey(_) => Some("last_passkey"),
        ServiceError::NotPasskeyMailbox(_) => Some("not_passkey_mailbox"),
        ServiceError::ProviderDisabled { .. } if e.is_refusal() => Some("provider_disabled"),
        ServiceError::ProviderNotConfigurable { .. } if e.is_refusal() => Some("provider_not_user_configurable"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body, the log's detail and the request line's words of a failure answered as the
    /// request `00000abc-000001`.
    async fn answered(failure: Failure) -> (StatusCode, serde_json::Value, Option<String>, Outcome) {
        let response = observe::as_a_request(async { failure.into_response() }).await;
        let status = response.status();
        let detail = response.extensions().get::<ErrorDetail>().map(|d| d.0.clone());
        let outcome = *response.extensions().get::<Outcome>().expect("every failure has its words");
        let bytes = axum::body::to_bytes(response.into_body(), MAX_BODY).await.expect("the body");
        (status, serde_json::from_slice(&bytes).expect("JSON"), detail, outcome)
    }

    #[tokio::test]
    async fn a_store_out_of_reach_is_a_503_in_a_few_words() {
        let gone = StoreError::ServerGone {
            server: "postgres://db1.internal/mailmfa".to_owned(),
            reason: "FATAL: the database system is shutting down".to_owned(),
        };
        let (status, body, detail, outcome) = answered(Failure::Service(ServiceError::Store(gone))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, serde_json::json!({"error": STORE_UNAVAILABLE, "request_id": "00000abc-000001"}));
        let detail = detail.expect("the detail, for the log");
        assert!(detail.contains("db1.internal") && detail.contains("shutting down"), "{detail}");
        assert_eq!((outcome.0, outcome.1), ("failed", "store"));
    }

    #[tokio::test]
    async fn a_failure_inside_mailmfa_is_a_500_without_its_detail() {
        let (status, body, detail, _) = answered(Failure::Internal("the QR code could not be drawn".to_owned())).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], INTERNAL);
        assert_eq!(detail.as_deref(), Some("the QR code could not be drawn"));
        let io = ServiceError::Io {
            action: "read",
            path: "/var/lib/mailmfa/secret.key".into(),
            source: std::io::Error::other("permission denied"),
        };
        let (status, body, detail, _) = answered(Failure::Service(io)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("/var/lib"), "{body}");
        assert!(detail.is_some_and(|d| d.contains("/var/lib/mailmfa/secret.key")));
    }

    #[tokio::test]
    async fn a_refusal_says_what_was_wrong_and_keeps_nothing_for_the_log() {
        let (status, body, detail, outcome) = answered(Failure::Service(ServiceError::BadApiKey)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, serde_json::json!({"error": "the API key is not valid", "request_id": "00000abc-000001"}));
        assert_eq!(detail, None);
        assert_eq!((outcome.0, outcome.1), ("refused", "bad_api_key"));
    }
}
