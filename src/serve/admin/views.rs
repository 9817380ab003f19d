//! The web administration's page frame: the document (the hosted pages' stylesheet and headers),
//! the navigation of the signed-in administrator (platform pages only for platform
//! administrators), the error pages, and small pieces every page shares. Every word is in
//! [`super::texts`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::AdminDesk;
use super::texts::ENGLISH;
use crate::clock::UnixTime;
use crate::service::{AdminSession, ServiceError};

/// A whole page: the frame around `body`, with the security headers of the hosted pages.
pub fn page(desk: &AdminDesk, session: Option<&AdminSession>, title: &str, body: Markup) -> Response {
    let t = &ENGLISH;
    let markup = html! {
        (DOCTYPE)
        html lang=(t.lang) {
            (super::super::pages::head(&format!("{title}{}", t.title_suffix), ""))
            body.admin {
                @if let Some(session) = session { (nav(desk, session)) }
                main { (body) }
            }
        }
    };
    super::super::pages::secure(markup.into_response(), None)
}

/// The navigation bar: where a signed-in administrator can go, and *Sign out*.
fn nav(desk: &AdminDesk, session: &AdminSession) -> Markup {
    let (admin, t) = (session.admin(), &ENGLISH);
    html! {
        nav {
            a href=(desk.path("postoffices")) { (t.nav_postoffices) }
            a href=(desk.path("audit")) { (t.nav_audit) }
            a href=(desk.path("coverage")) { (t.nav_coverage) }
            @if admin.is_platform() {
                a href=(desk.path("providers")) { (t.nav_providers) }
                a href=(desk.path("settings")) { (t.nav_settings) }
                a href=(desk.path("clients")) { (t.nav_clients) }
                a href=(desk.path("administrators")) { (t.nav_admins) }
            }
            form.signout method="post" action=(desk.path("signout")) {
                input type="hidden" name="csrf" value=(session.csrf());
                span.who { (admin.name) " (" (admin.role) ")" }
                button.link type="submit" { (t.sign_out) }
            }
        }
    }
}

/// The page of a refusal or an error. Anything out of the administrator's reach — another post
/// office's mailbox, a platform page — is "not found", as an address that does not exist.
pub fn error(desk: &AdminDesk, e: &ServiceError) -> Response {
    let t = &ENGLISH;
    let (status, title, text) = match e {
        ServiceError::OutOfScope(_)
        | ServiceError::PlatformOnly(_)
        | ServiceError::NoMailbox(_)
        | ServiceError::NoPostOffice(_)
        | ServiceError::AdminSetupLink => (StatusCode::NOT_FOUND, t.not_found_title, not_found_text(e)),
        ServiceError::StaleForm => (StatusCode::FORBIDDEN, t.stale_title, e.to_string()),
        ServiceError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, t.busy_title, t.store_busy.to_owned()),
        _ => (StatusCode::BAD_REQUEST, t.not_done_title, e.to_string()),
    };
    let body = html! {
        h1 { (title) }
        p.note.bad role="status" { (text) }
        p { a href=(desk.path("postoffices")) { (t.back_to_postoffices) } }
    };
    let mut response = page(desk, None, title, body);
    *response.status_mut() = status;
    response
}

fn not_found_text(e: &ServiceError) -> String {
    match e {
        ServiceError::AdminSetupLink => e.to_string(),
        _ => ENGLISH.not_found.to_owned(),
    }
}

/// A file to download, with the pages' headers.
pub fn file(kind: &'static str, name: &'static str, body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    super::super::pages::secure(response, None)
}

/// A form's hidden CSRF token.
pub fn csrf(session: &AdminSession) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf()); }
}

/// A time as the pages show it (UTC), or "never".
pub fn when(time: Option<UnixTime>) -> String {
    time.map_or_else(|| ENGLISH.never.to_owned(), crate::clock::format_readable)
}

/// A note that something was done, from the `done` word a redirect carried.
pub fn done_note(done: Option<&str>) -> Markup {
    let t = &ENGLISH;
    let text = match done {
        Some("saved") => t.done_saved,
        Some("reset-code") => t.done_reset_code,
        Some("reset-countries") => t.done_reset_countries,
        Some("unlock") => t.done_unlock,
        Some("forget-devices") => t.done_forget_devices,
        Some("remove-app-password") => t.done_remove_app_password,
        Some("removed") => t.done_removed,
        _ => return html! {},
    };
    html! { p.note role="status" { (text) } }
}
