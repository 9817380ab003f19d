//! The web administration (docs/DESIGN.md §12), served under `/admin/` when `serve.admin` is on:
//! server-rendered pages (maud, one stylesheet, no JavaScript) for administrators who are not at
//! the server. This face only parses forms, finds the browser's session and draws pages; what an
//! administrator may do is decided in the service ([`crate::service::Scoped`]), which refuses a
//! post-office administrator's call outside their post offices — answered here with a 404.
//!
//! The pages' calls run on a store connection of their own ([`AdminDesk`]), off the async threads
//! and beside the login service's writer. `signin.rs` has the set-up and the sign-in,
//! `mailboxes.rs` the post offices and mailboxes, `platform.rs` the platform administrator's pages
//! and the audit log and report, `views.rs` the page frame and what every page shares, and
//! `texts.rs` every word the pages show.

mod mailboxes;
mod platform;
mod signin;
mod texts;
mod views;

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::Markup;

use super::http::{AppState, Failure};
use crate::service::{AdminSession, KeyFolder, Scoped, Service, ServiceError, ServiceResult, StoreLocation};

/// The cookie of a signed-in browser (its session's token).
const SESSION_COOKIE: &str = "mailmfa_admin";
/// The cookie the sign-in form's token is checked against (before there is a session).
const FORM_COOKIE: &str = "mailmfa_admin_form";

/// The web administration's store connection, and how its cookies are set.
pub struct AdminDesk {
    service: Mutex<Service>,
    /// Whether the pages are served over HTTPS (cookies get `Secure`).
    secure: bool,
}

impl AdminDesk {
    /// Opens the desk's own connection to the store the writer serves.
    pub fn open(location: &StoreLocation, keys: &KeyFolder, secure: bool) -> ServiceResult<Self> {
        Ok(Self { service: Mutex::new(Service::open(location, keys)?.with_actor(super::ACTOR)), secure })
    }

    /// Runs `f` on the desk's service, off the async threads.
    async fn call<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Service) -> T + Send + 'static,
    ) -> Result<T, Failure> {
        let desk = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut service = desk.service.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut service)
        })
        .await
        .map_err(|_| Failure::Internal("the web administration's worker stopped".to_owned()))
    }

    /// `/admin/…`: the administration is served at the root of the service's address.
    fn path(&self, rest: &str) -> String {
        format!("/admin/{rest}")
    }

    /// A cookie of the administration: script-proof, never sent by another site, and over
    /// HTTPS only where the pages are.
    fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
        HeaderValue::from_str(&format!("{name}={value}; Path=/admin; HttpOnly; SameSite=Strict{secure}{age}")).ok()
    }
}

/// The routes of the web administration, or none when `serve.admin` is off (every `/admin/`
/// address then answers 404 like any unknown one).
pub fn routes(on: bool) -> Router<AppState> {
    if !on {
        return Router::new();
    }
    Router::new()
        .route("/admin", get(signin::home))
        .route("/admin/", get(signin::home))
        .route("/admin/signin", get(signin::form).post(signin::password))
        .route("/admin/signin/code", get(signin::code_form).post(signin::code))
        .route("/admin/signout", post(signin::sign_out))
        .route("/admin/setup/{token}", get(signin::setup).post(signin::setup_password))
        .route("/admin/setup/{token}/code", post(signin::setup_code))
        .route("/admin/postoffices", get(mailboxes::postoffices))
        .route("/admin/postoffices/{name}", get(mailboxes::postoffice).post(mailboxes::set_postoffice))
        .route("/admin/mailboxes/{address}", get(mailboxes::mailbox))
        .route("/admin/mailbox/settings", post(mailboxes::set_mailbox))
        .route("/admin/mailbox/confirm", get(mailboxes::confirm))
        .route("/admin/mailbox/action", post(mailboxes::action))
        .route("/admin/audit", get(platform::audit))
        .route("/admin/coverage", get(platform::coverage))
        .route("/admin/coverage.csv", get(platform::coverage_csv))
        .route("/admin/providers", get(platform::providers).post(platform::set_provider))
        .route("/admin/settings", get(platform::settings).post(platform::set_setting))
        .route("/admin/clients", get(platform::clients).post(platform::remove_client))
        .route("/admin/administrators", get(platform::administrators).post(platform::change_administrators))
}

/// The desk, when the administration is on.
fn desk(state: &AppState) -> Option<Arc<AdminDesk>> {
    state.admin.clone()
}

/// The answer of every `/admin/` address while the administration is off.
fn off() -> Response {
    Failure::NotFound.into_response()
}

/// A cookie's value in the request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    super::pages::cookies(headers)
        .find(|(n, value)| *n == name && !value.is_empty() && value.len() <= 128)
        .map(|(_, value)| value.to_owned())
}

/// What a signed-in page's work gives back: a page to show, or where to go next.
enum Shown {
    /// A page (title, body).
    Page(String, Markup),
    /// `303 See Other` to this `/admin/` address.
    Redirect(String),
    /// A file to download (content type, file name, body).
    File(&'static str, &'static str, String),
}

/// Runs a signed-in page: the browser's session is looked up (a missing, ended or half-done one
/// goes to the sign-in), then `work` runs with the service acting for its administrator. The
/// service's refusals become pages: out of reach → 404, a stale form → 403.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    csrf: Option<String>,
    work: impl FnOnce(&Scoped<'_>, &AdminSession) -> ServiceResult<Shown> + Send + 'static,
) -> Response {
    let Some(desk) = desk(state) else { return off() };
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return redirect(&desk.path("signin"));
    };
    let answer = desk
        .call(move |service| {
            let session = service.admin_session(&token)?;
            if let Some(sent) = csrf {
                session.check_csrf(&sent)?;
            }
            let scoped = service.as_admin(&session)?;
            work(&scoped, &session).map(|shown| (shown, session))
        })
        .await;
    match answer {
        Ok(Ok((Shown::Page(title, body), session))) => views::page(&desk, Some(&session), &title, body),
        Ok(Ok((Shown::Redirect(to), _))) => redirect(&desk.path(&to)),
        Ok(Ok((Shown::File(kind, name, body), _))) => views::file(kind, name, body),
        Ok(Err(ServiceError::AdminSession)) => redirect(&desk.path("signin")),
        Ok(Err(e)) => views::error(&desk, &e),
        Err(failure) => failure.into_response(),
    }
}

/// `303 See Other` (POST → redirect → GET), with the pages' headers.
fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    super::pages::secure(response, None)
}
