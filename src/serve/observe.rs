//! What the login service says about each request (docs/DESIGN.md §13): a request id for every
//! request (in the `X-Request-Id` header, every error body, and every log line about it), one log
//! line when it is answered — the API client, route template, status, what was decided, how long
//! it took — and the error's detail under the same id, and the request's place in the metrics.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use super::metrics::Metrics;

/// The header that carries a request's id back to the caller.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A request's id: this process's random start and a count, so ids do not repeat across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestId {
    process: u32,
    count: u64,
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}-{:06x}", self.process, self.count)
    }
}

/// What the task answering a request knows of it beyond the request itself.
struct Scope {
    id: RequestId,
    /// The API client whose key was verified, once it is.
    client: std::cell::OnceCell<String>,
}

tokio::task_local! {
    static CURRENT: Scope;
}

/// The id of the request this task answers, if it answers one.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(|scope| scope.id).ok()
}

/// Notes, for the request's log line, the API client the request this task answers comes from.
pub fn called_by(client: Option<String>) {
    if let Some(client) = client {
        // The first client named stays: a request is one client's.
        let _ = CURRENT.try_with(|scope| scope.client.set(client));
    }
}

/// What a request led to, in two words (`challenge new_ip`, `rejected invalid_code`, `refused
/// bad_api_key`), put into its answer by whoever knows; the request line carries it.
#[derive(Debug, Clone, Copy)]
pub struct Outcome(pub &'static str, pub &'static str);

/// Why a request failed inside mailmfa, in full: for the log only, never for the caller.
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub String);

/// Hands out request ids.
pub struct RequestIds {
    process: u32,
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        let mut seed = [0u8; 4];
        // Without randomness the process id stands in: ids could then repeat only across restarts.
        if getrandom::fill(&mut seed).is_err() {
            seed = std::process::id().to_le_bytes();
        }
        Self { process: u32::from_le_bytes(seed), next: AtomicU64::new(1) }
    }
}

impl RequestIds {
    fn next(&self) -> RequestId {
        RequestId { process: self.process, count: self.next.fetch_add(1, Ordering::Relaxed) }
    }
}

/// What the middleware shares.
#[derive(Clone, Default)]
pub struct Observer {
    /// Where request ids come from.
    pub ids: Arc<RequestIds>,
    /// What is counted.
    pub metrics: Arc<Metrics>,
}

/// Gives the request its id, answers it, and logs and counts the answer.
pub async fn observe(State(observer): State<Observer>, request: Request, next: Next) -> Response {
    let id = observer.ids.next();
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut answering = std::pin::pin!(CURRENT.scope(Scope { id, client: Default::default() }, next.run(request)));
    let mut response = answering.as_mut().await;
    let client = answering.as_mut().take_value().and_then(|scope| scope.client.into_inner());
    let client = client.as_deref().unwrap_or("-");
    let took = started.elapsed();
    let status = response.status();
    let route = route.as_ref().map(MatchedPath::as_str);
    observer.metrics.request(route, status.as_u16(), took);
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let route = route.unwrap_or("-");
    // Milliseconds to the microsecond: enough to read, and short.
    let latency_ms = (took.as_secs_f64() * 1e6).round() / 1e3;
    let status = status.as_u16();
    let result = response.extensions().get::<Outcome>().map(|Outcome(first, second)| format!("{first} {second}"));
    let result = result.as_deref().unwrap_or("-");
    match response.extensions_mut().remove::<ErrorDetail>() {
        Some(ErrorDetail(detail)) => {
            tracing::error!(request_id = %id, client = %client, %method, %route, status, latency_ms, %result, %detail, "request failed");
        }
        None => {
            tracing::info!(request_id = %id, client = %client, %method, %route, status, latency_ms, %result, "request")
        }
    }
    response
}

/// Runs `work` as the request with the id `00000abc-000001` (tests of what answers carry).
#[cfg(test)]
pub async fn as_a_request<F: std::future::Future>(work: F) -> F::Output {
    CURRENT.scope(Scope { id: RequestId { process: 0xabc, count: 1 }, client: Default::default() }, work).await
}
