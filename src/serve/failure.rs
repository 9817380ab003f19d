//! [`Failure`]: why a request gets no 200, and the one place that turns it into a status and an
//! error body (`{"error": …}`, and `"reason"` for a self-service refusal).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::http::MAX_BODY;
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
}

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
        let (status, error, reason) = match self {
            Self::Service(e) => (status_of(&e), e.to_string(), refusal_reason(&e)),
            Self::TooMany(seconds) => {
                (StatusCode::TOO_MANY_REQUESTS, format!("too many requests; try again in {seconds} s"), None)
            }
            Self::TooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {MAX_BODY} bytes"), None)
            }
            Self::BadBody(status, message) => (status, message, None),
            Self::SlowBody => (StatusCode::REQUEST_TIMEOUT, "the body did not arrive in time".to_owned(), None),
            Self::NotFound => (StatusCode::NOT_FOUND, "no such endpoint".to_owned(), None),
            Self::Internal(what) => (StatusCode::INTERNAL_SERVER_ERROR, what, None),
        };
        let mut response = (status, axum::Json(ErrorBody { error, reason })).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(refused) = refused {
            response.extensions_mut().insert(refused);
        }
        response
    }
}

/// The status of a service error: every kind is decided here, once.
fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::NoApiKey | ServiceError::BadApiKey => StatusCode::UNAUTHORIZED,
        ServiceError::SourceNotAllowed(_)
        | ServiceError::SelfServiceOff(_)
        | ServiceError::OutOfScope(_)
        | ServiceError::AdministratorsOnly(_)
        | ServiceError::StepUpRequired
        | ServiceError::AdminSignIn
        | ServiceError::StaleForm => StatusCode::FORBIDDEN,
        ServiceError::AdminSession => StatusCode::UNAUTHORIZED,
        ServiceError::AdminSetupLink | ServiceError::PlatformOnly(_) => StatusCode::NOT_FOUND,
        ServiceError::ProviderDisabled { .. } | ServiceError::ProviderNotConfigurable { .. } if e.is_refusal() => {
            StatusCode::FORBIDDEN
        }
        ServiceError::UnknownTransaction | ServiceError::NoAppPassword { .. } => StatusCode::NOT_FOUND,
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
        | ServiceError::TooManyAppPasswords { .. }
        | ServiceError::AdminExists(_) => StatusCode::CONFLICT,
        ServiceError::Store(_) | ServiceError::Delivery(_) | ServiceError::Geo(_) | ServiceError::NoPublicUrl => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ServiceError::FileMissing { .. }
        | ServiceError::NotAStore(_)
        | ServiceError::KeyForAnotherStore { .. }
        | ServiceError::KeyDoesNotOpen { .. }
        | ServiceError::SameStore(_)
        | ServiceError::InMemory(_)
        | ServiceError::Io { .. }
        | ServiceError::Qr(_)
        | ServiceError::PasswordHash(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `reason` word of a self-service refusal.
fn refusal_reason(e: &ServiceError) -> Option<&'static str> {
    match e {
        ServiceError::SelfServiceOff(_) => Some("self_service_off"),
        ServiceError::StepUpRequired => Some("step_up_required"),
        ServiceError::ProviderDisabled { .. } if e.is_refusal() => Some("provider_disabled"),
        ServiceError::ProviderNotConfigurable { .. } if e.is_refusal() => Some("provider_not_user_configurable"),
        _ => None,
    }
}
