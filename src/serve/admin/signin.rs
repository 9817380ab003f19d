//! Signing in to the web administration, and the set-up link: the sign-in form (name and
//! password; its token checked against a cookie of its own, as there is no session yet), the code
//! form, *Sign out*, and the set-up's password, QR code and recovery codes. Every form posts and
//! is answered with a redirect to a page, except the set-up's last, whose recovery codes are
//! shown this once in its answer (as the hosted pages show a mailbox's).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::texts::ENGLISH;
use super::views::{error, page};
use super::{AdminDesk, FORM_COOKIE, SESSION_COOKIE, cookie, desk, off, redirect};
use crate::serve::http::{AppState, Failure, Source};
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
    let t = &ENGLISH;
    let body = html! {
        h1 { (t.signin_heading) }
        (failed_note(&uri, t.signin_failed))
        form method="post" action=(desk.path("signin")) {
            input type="hidden" name="csrf" value=(token);
            label for="name" { (t.name_label) }
            input #name type="text" name="name" autocomplete="username" autocapitalize="off" spellcheck="false" required autofocus;
            label for="password" { (t.password_label) }
            input #password type="password" name="password" autocomplete="current-password" required;
            button type="submit" { (t.next_button) }
        }
    };
    let mut response = page(&desk, None, t.signin_title, body);
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
    let t = &ENGLISH;
    let body = html! {
        h1 { (t.code_heading) }
        p.who { (t.signing_in_as) " " strong { (session.admin().name) } }
        (failed_note(&uri, t.code_failed))
        form method="post" action=(desk.path("signin/code")) {
            input type="hidden" name="csrf" value=(session.csrf());
            label for="code" { (t.code_label) }
            input #code type="text" name="code" autocomplete="one-time-code" autocapitalize="off" spellcheck="false" maxlength="16" required autofocus;
            button type="submit" { (t.sign_in_button) }
        }
    };
    page(&desk, None, t.code_title, body)
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
            let t = &ENGLISH;
            let body = html! {
                h1 { (t.setup_heading) }
                p.who { (t.administrator) " " strong { (name) } }
                @if let Some(problem) = problem { p.note.bad role="status" { (problem_text(&problem)) } }
                form method="post" action=(desk.path(&format!("setup/{token}"))) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="password" { (t.choose_password) }
                    input #password type="password" name="password" autocomplete="new-password" minlength="12" required autofocus;
                    label for="again" { (t.password_again) }
                    input #again type="password" name="again" autocomplete="new-password" minlength="12" required;
                    button type="submit" { (t.next_button) }
                }
            };
            page(&desk, None, t.setup_title, body)
        }
        SetupStep::Enrol { name, csrf, otpauth_uri, secret_groups } => {
            let Some(qr) = crate::serve::pages::drawn_qr(&otpauth_uri).await else {
                return Failure::Internal("the QR code could not be drawn".to_owned()).into_response();
            };
            let failed = query_value(&uri, "failed").is_some();
            let t = &ENGLISH;
            let body = html! {
                h1 { (t.enrol_heading) }
                p.who { (t.administrator) " " strong { (name) } }
                p { (t.enrol_intro) }
                img.qr src=(qr.src) alt=(t.enrol_qr_alt) width=(qr.side) height=(qr.side);
                p { (t.manual_entry) }
                p.key { (secret_groups.as_str()) }
                @if failed { p.note.bad role="status" { (t.enrol_failed) } }
                form method="post" action=(desk.path(&format!("setup/{token}/code"))) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="code" { (t.first_code_label) }
                    input #code type="text" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required;
                    button type="submit" { (t.finish_button) }
                }
            };
            page(&desk, None, t.setup_title, body)
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
    let t = &ENGLISH;
    let body = html! {
        h1 { (t.codes_heading) }
        p { (t.codes_intro) }
        ol.codes { @for code in &codes { li { (code.shown()) } } }
        a.button href=(desk.path("signin")) { (t.codes_continue) }
    };
    page(&desk, None, t.codes_title, body)
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
        "differ" => ENGLISH.passwords_differ,
        _ => ENGLISH.password_short,
    }
}
