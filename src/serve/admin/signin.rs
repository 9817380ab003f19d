//! Signing in to the web administration, and the set-up link: the sign-in form (name and
//! password; its token checked against a cookie of its own, as there is no session yet), the code
//! form, *Sign out*, and the set-up's password, QR code and recovery codes. Every form posts and
//! is answered with a redirect to a page, except the set-up's last, whose recovery codes are
//! shown this once in its answer (as the hosted pages show a mailbox's).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use maud::html;

use super::views::{error, page};
use super::{AdminDesk, FORM_COOKIE, SESSION_COOKIE, cookie, desk, off, redirect};
use crate::serve::http::{AppState, Source};
use crate::serve::pages::Form;
use crate::service::{AdminSignedIn, ServiceError, SetupStep};

/// `GET /admin/`: the post offices, or the sign-in.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(desk) = desk(&state) else { return off() };
    let Some(token) = cookie(&headers, SESSION_COOKIE) else { return redirect(&desk.path("signin")) };
    let complete = desk.call(move |service| service.admin_session(&token).is_ok_and(|s| s.complete())).await;
    if complete.unwrap_or(false) { redirect(&desk.path("postoffices")) } else { redirect(&desk.path("signin")) }
}

/// `GET /admin/signin`: name and password.
pub async fn form(State(state): State<AppState>, uri: Uri) -> Response {
    let Some(desk) = desk(&state) else { return off() };
    let Some(token) = random_token() else { return error(&desk, &ServiceError::StaleForm) };
    let body = html! {
        h1 { "Sign in to mailmfa administration" }
        (failed_note(&uri, "The name or password is not right, or signing in is paused after too many attempts. Try again in a few minutes."))
        form method="post" action=(desk.path("signin")) {
            input type="hidden" name="csrf" value=(token);
            label for="name" { "Name" }
            input #name type="text" name="name" autocomplete="username" autocapitalize="off" spellcheck="false" required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            button type="submit" { "Next" }
        }
    };
    let mut response = page(&desk, None, "Sign in", body);
    if let Some(value) = desk.cookie(FORM_COOKIE, &token, None) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `POST /admin/signin`: a right password begins a session that still needs the code.
pub async fn password(
    State(state): State<AppState>,
    source: axum::Extension<Source>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let Some(desk) = desk(&state) else { return off() };
    let expected = cookie(&headers, FORM_COOKIE).unwrap_or_default();
    if expected.is_empty() || form.get("csrf") != expected {
        return error(&desk, &ServiceError::StaleForm);
    }
    let (name, password, ip) = (form.get("name"), form.get("password"), source.0.0);
    match desk.call(move |service| service.admin_sign_in(&name, &password, ip)).await {
        Ok(Ok(signed_in)) => with_session(&desk, redirect(&desk.path("signin/code")), &signed_in),
        Ok(Err(ServiceError::AdminSignIn)) => redirect(&desk.path("signin?failed=1")),
        Ok(Err(e)) => error(&desk, &e),
        Err(failure) => failure.into_response(),
    }
}

/// `GET /admin/signin/code`: the code from the app, or a recovery code.
pub async fn code_form(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let Some(desk) = desk(&state) else { return off() };
    let Some(token) = cookie(&headers, SESSION_COOKIE) else { return redirect(&desk.path("signin")) };
    let session = match desk.call(move |service| service.admin_session(&token)).await {
        Ok(Ok(session)) if !session.complete() => session,
        Ok(Ok(_)) => return redirect(&desk.path("postoffices")),
        _ => return redirect(&desk.path("signin")),
    };
    let body = html! {
        h1 { "Enter your sign-in code" }
        p.who { "Signing in as " strong { (session.admin().name) } }
        (failed_note(&uri, "That code is not right, or signing in is paused after too many attempts."))
        form method="post" action=(desk.path("signin/code")) {
            input type="hidden" name="csrf" value=(session.csrf());
            label for="code" { "6-digit code from your authenticator app, or a recovery code" }
            input #code type="text" name="code" autocomplete="one-time-code" autocapitalize="off" spellcheck="false" maxlength="16" required autofocus;
            button type="submit" { "Sign in" }
        }
    };
    page(&desk, None, "Sign-in code", body)
}

/// `POST /admin/signin/code`: a right code completes the session (under a new token).
pub async fn code(
    State(state): State<AppState>,
    source: axum::Extension<Source>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let Some(desk) = desk(&state) else { return off() };
    let Some(token) = cookie(&headers, SESSION_COOKIE) else { return redirect(&desk.path("signin")) };
    let (csrf, code, ip) = (form.get("csrf"), form.get("code"), source.0.0);
    match desk.call(move |service| service.admin_second_step(&token, &csrf, &code, ip)).await {
        Ok(Ok(signed_in)) => with_session(&desk, redirect(&desk.path("postoffices")), &signed_in),
        Ok(Err(ServiceError::AdminSignIn)) => redirect(&desk.path("signin/code?failed=1")),
        Ok(Err(ServiceError::AdminSession)) => redirect(&desk.path("signin")),
        Ok(Err(e)) => error(&desk, &e),
        Err(failure) => failure.into_response(),
    }
}

/// `POST /admin/signout`: the session ends, the cookie goes.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap, form: Form) -> Response {
    let Some(desk) = desk(&state) else { return off() };
    let Some(token) = cookie(&headers, SESSION_COOKIE) else { return redirect(&desk.path("signin")) };
    let csrf = form.get("csrf");
    match desk.call(move |service| service.admin_sign_out(&token, &csrf)).await {
        Ok(Ok(()) | Err(ServiceError::AdminSession)) => {
            let mut response = redirect(&desk.path("signin"));
            if let Some(value) = desk.cookie(SESSION_COOKIE, "", Some(0)) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Ok(Err(e)) => error(&desk, &e),
        Err(failure) => failure.into_response(),
    }
}

/// `GET /admin/setup/{token}`: choose a password, then enrol the app.
pub async fn setup(State(state): State<AppState>, Path(token): Path<String>, uri: Uri) -> Response {
    let Some(desk) = desk(&state) else { return off() };
    let link = token.clone();
    let step = match desk.call(move |service| service.admin_setup(&link)).await {
        Ok(Ok(step)) => step,
        Ok(Err(e)) => return error(&desk, &e),
        Err(failure) => return failure.into_response(),
    };
    match step {
        SetupStep::Password { name, csrf } => {
            let problem = query_value(&uri, "problem");
            let body = html! {
                h1 { "Set up your administrator account" }
                p.who { "Administrator " strong { (name) } }
                @if let Some(problem) = problem { p.note.bad role="status" { (problem_text(&problem)) } }
                form method="post" action=(desk.path(&format!("setup/{token}"))) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="password" { "Choose a password (at least 12 characters)" }
                    input #password type="password" name="password" autocomplete="new-password" minlength="12" required autofocus;
                    label for="again" { "The same password again" }
                    input #again type="password" name="again" autocomplete="new-password" minlength="12" required;
                    button type="submit" { "Next" }
                }
            };
            page(&desk, None, "Set up", body)
        }
        SetupStep::Enrol { name, csrf, otpauth_uri, secret_groups } => {
            let uri_text = otpauth_uri.to_string();
            let drawn = tokio::task::spawn_blocking(move || crate::qr::png_sized(&uri_text, 200)).await;
            let Ok(Ok((png, side))) = drawn else { return error(&desk, &ServiceError::StaleForm) };
            let qr = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png));
            let failed = query_value(&uri, "failed").is_some();
            let body = html! {
                h1 { "Add mailmfa to your authenticator app" }
                p.who { "Administrator " strong { (name) } }
                p { "A second step is required for every administrator. Scan this code with an authenticator app, then type the 6-digit code it shows." }
                img.qr src=(qr) alt="QR code to add this administrator to an authenticator app" width=(side) height=(side);
                p { "Can't scan it? Add an account by hand with this key:" }
                p.key { (secret_groups.as_str()) }
                @if failed { p.note.bad role="status" { "That code is not right. Check the time on your phone and try the next code." } }
                form method="post" action=(desk.path(&format!("setup/{token}/code"))) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="code" { "6-digit code" }
                    input #code type="text" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required;
                    button type="submit" { "Finish" }
                }
            };
            page(&desk, None, "Set up", body)
        }
    }
}

/// `POST /admin/setup/{token}`: the password chosen.
pub async fn setup_password(State(state): State<AppState>, Path(token): Path<String>, form: Form) -> Response {
    let Some(desk) = desk(&state) else { return off() };
    let (csrf, password, again) = (form.get("csrf"), form.get("password"), form.get("again"));
    let link = token.clone();
    match desk.call(move |service| service.admin_setup_password(&link, &csrf, &password, &again)).await {
        Ok(Ok(())) => redirect(&desk.path(&format!("setup/{token}"))),
        Ok(Err(ServiceError::PasswordsDiffer)) => redirect(&desk.path(&format!("setup/{token}?problem=differ"))),
        Ok(Err(ServiceError::Domain(_))) => redirect(&desk.path(&format!("setup/{token}?problem=short"))),
        Ok(Err(e)) => error(&desk, &e),
        Err(failure) => failure.into_response(),
    }
}

/// `POST /admin/setup/{token}/code`: the first code; right → the recovery codes, shown once.
pub async fn setup_code(State(state): State<AppState>, Path(token): Path<String>, form: Form) -> Response {
    let Some(desk) = desk(&state) else { return off() };
    let (csrf, code) = (form.get("csrf"), form.get("code"));
    let link = token.clone();
    let codes = match desk.call(move |service| service.admin_setup_confirm(&link, &csrf, &code)).await {
        Ok(Ok(codes)) => codes,
        Ok(Err(ServiceError::AdminSignIn | ServiceError::Domain(_))) => {
            return redirect(&desk.path(&format!("setup/{token}?failed=1")));
        }
        Ok(Err(e)) => return error(&desk, &e),
        Err(failure) => return failure.into_response(),
    };
    let body = html! {
        h1 { "Save your recovery codes" }
        p { "If you lose your phone, each of these codes signs you in once in place of a code from the app. They are shown only now." }
        ol.codes { @for code in &codes { li { (code.shown()) } } }
        a.button href=(desk.path("signin")) { "I have saved them. Sign in" }
    };
    page(&desk, None, "Recovery codes", body)
}

/// Sets the cookie of a session just begun.
fn with_session(desk: &Arc<AdminDesk>, mut response: Response, signed_in: &AdminSignedIn) -> Response {
    if let Some(value) = desk.cookie(SESSION_COOKIE, &signed_in.token, None) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A random token for the sign-in form and its cookie.
fn random_token() -> Option<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A field of the request's query.
pub(super) fn query_value(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn failed_note(uri: &Uri, text: &'static str) -> maud::Markup {
    html! { @if query_value(uri, "failed").is_some() { p.note.bad role="status" { (text) } } }
}

fn problem_text(problem: &str) -> &'static str {
    match problem {
        "differ" => "The two passwords differ.",
        _ => "Choose a password of at least 12 characters.",
    }
}
