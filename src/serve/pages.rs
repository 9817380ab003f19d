//! The hosted sign-in pages (docs/DESIGN.md §9): server-rendered HTML (maud: checked at compile time,
//! escaped by default), one small stylesheet, every word from [`super::texts`]. Only the passkey
//! page runs a script: one small file of mailmfa's own (`passkey.js`), no inline script. Pages
//! send a strict CSP, `frame-ancestors 'none'`, `Cache-Control: no-store` and
//! `Referrer-Policy: no-referrer`; every form carries the sign-in's CSRF token.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::http::{AppState, Failure, MAX_BODY, Source, run};
use super::observe::ErrorDetail;
use super::texts::{ENGLISH, Texts};
use crate::domain::Provider;
use crate::service::{
    Caller, IssuedRecoveryCodes, PageAnswer, PageFacts, PageNote, PageRequest, PageShown, SecondStep, ServiceError,
    path_of,
};

/// The stylesheet of the pages.
const STYLESHEET: &str = include_str!("mailmfa.css");

/// The passkey page's script.
const PASSKEY_SCRIPT: &str = include_str!("passkey.js");

/// `GET /static/mailmfa.css`.
pub async fn stylesheet() -> Response {
    static_file(STYLESHEET, "text/css; charset=utf-8")
}

/// `GET /static/passkey.js`.
pub async fn passkey_script() -> Response {
    static_file(PASSKEY_SCRIPT, "text/javascript; charset=utf-8")
}

/// A file built into the program, which browsers may keep for a day.
fn static_file(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The cookie that holds the tokens of a remembered browser, one per mailbox remembered in it.
const DEVICE_COOKIE: &str = "mailmfa_device";
/// How many mailboxes one browser's cookie remembers (the oldest goes first).
const TOKENS_PER_BROWSER: usize = 5;

/// `GET /signin/{id}`: a browser remembered for the mailbox (its cookie) goes straight back.
pub async fn view(
    State(state): State<AppState>,
    source: axum::Extension<Source>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    page(&state, source.0, PageRequest::View { signin: id, device: device_tokens(&headers) }, Vec::new()).await
}

/// The request's cookies, as `(name, value)` pairs.
pub(super) fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
}

/// The remembered-device tokens in the request's cookie (dot-separated, base64url each).
fn device_tokens(headers: &HeaderMap) -> Vec<String> {
    cookies(headers)
        .filter(|(name, _)| *name == DEVICE_COOKIE)
        .flat_map(|(_, tokens)| tokens.split('.'))
        .filter(|token| !token.is_empty() && token.len() <= 128)
        .take(TOKENS_PER_BROWSER)
        .map(str::to_owned)
        .collect()
}

/// `POST /signin/{id}`: the code form, or the passkey form (its `webauthn` field, the browser's
/// answer to the page's ceremony).
pub async fn code(
    State(state): State<AppState>,
    source: axum::Extension<Source>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let (signin, csrf, remember) = (id, form.get("csrf"), form.get("remember") == "1");
    let request = match form.get("webauthn") {
        webauthn if webauthn.is_empty() => PageRequest::Code { signin, csrf, code: form.get("code"), remember },
        webauthn => PageRequest::Passkey { signin, csrf, webauthn, remember },
    };
    page(&state, source.0, request, device_tokens(&headers)).await
}

/// `POST /signin/{id}/resend`.
pub async fn resend(
    State(state): State<AppState>,
    source: axum::Extension<Source>,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    page(&state, source.0, PageRequest::Resend { signin: id, csrf: form.get("csrf") }, Vec::new()).await
}

/// Runs a page's request and renders what it shows, or sends the browser back to the webmail;
/// `tokens` are the browser's remembered-device tokens, kept beside a new one.
async fn page(state: &AppState, source: Source, request: PageRequest, tokens: Vec<String>) -> Response {
    let caller = Caller::new(None, source.0);
    let PageShown { answer, verified } = match run(state, caller, request).await {
        Ok(shown) => shown,
        Err(Failure::Service(ServiceError::Delivery(e))) => {
            let mut response =
                error_page(StatusCode::SERVICE_UNAVAILABLE, "The code could not be sent. Try again in a moment.");
            response.extensions_mut().insert(ErrorDetail(e.to_string()));
            return response;
        }
        Err(failure) => return failure.into_response(),
    };
    let checked = verified.map(|answer| super::api::checked(state, answer));
    let mut response = shown(state, answer, tokens).await;
    if let Some(checked) = checked {
        response.extensions_mut().insert(checked);
    }
    response
}

/// A page's answer as the browser gets it.
async fn shown(state: &AppState, answer: PageAnswer, tokens: Vec<String>) -> Response {
    let base = state.public_url.as_deref().unwrap_or("");
    let t = &ENGLISH;
    match answer {
        PageAnswer::Done { redirect, recovery_codes: Some(IssuedRecoveryCodes { codes, after }), remember } => {
            let shown: Vec<String> = codes.iter().map(|c| c.shown()).collect();
            let file = format!("{}\r\n{}\r\n", t.codes_file_heading, shown.join("\r\n"));
            let download = format!("data:text/plain;charset=utf-8,{}", utf8_percent_encode(&file, NON_ALPHANUMERIC));
            let intro = match after {
                SecondStep::Code => t.codes_intro,
                SecondStep::Passkey => t.codes_intro_passkey,
            };
            let body = html! {
                h1 { (t.codes_title) }
                p { (intro) }
                ol.codes { @for code in &shown { li { (code) } } }
                p.save { a download="recovery-codes.txt" href=(download) { (t.codes_download) } }
                a.button href=(redirect) { (t.codes_continue) }
            };
            let response = secure(document(t, base, t.codes_title, body).into_response(), None);
            remembered(response, base, remember, tokens)
        }
        PageAnswer::Done { redirect, recovery_codes: None, remember } => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(location) = HeaderValue::from_str(&redirect) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            remembered(secure(response, None), base, remember, tokens)
        }
        PageAnswer::Enrol { page, otpauth_uri, secret_groups } => {
            enrol_page(t, base, &page, &otpauth_uri, &secret_groups).await
        }
        PageAnswer::Code { page, provider, sent_to } => code_page(t, base, &page, provider, sent_to.as_deref()),
        PageAnswer::Passkey { page, options, create } => passkey_page(t, base, &page, &options, create),
        PageAnswer::Locked { address, retry_after_s } => {
            let body = html! {
                h1 { (t.locked_title) }
                p.who { (t.signing_in_as) " " (address) }
                p.note.bad { (t.locked_text) " " (wait(retry_after_s)) "." }
            };
            secure(document(t, base, t.locked_title, body).into_response(), None)
        }
        PageAnswer::Expired => {
            let body = html! { h1 { (t.expired_title) } p { (t.expired_text) } };
            let mut response = document(t, base, t.expired_title, body).into_response();
            *response.status_mut() = StatusCode::NOT_FOUND;
            secure(response, None)
        }
    }
}

/// An enrolment URI's QR code for a page, drawn off the async threads.
pub(super) async fn drawn_qr(otpauth_uri: &str) -> Option<crate::qr::PageImage> {
    let uri = otpauth_uri.to_owned();
    tokio::task::spawn_blocking(move || crate::qr::page_image(&uri, 200)).await.ok()?.ok()
}

/// The enrolment page: the QR code (drawn off the async threads), the key to type by hand, and the
/// form for the first code.
async fn enrol_page(t: &Texts, base: &str, page: &PageFacts, otpauth_uri: &str, secret_groups: &str) -> Response {
    let Some(qr) = drawn_qr(otpauth_uri).await else {
        return error_page(StatusCode::SERVICE_UNAVAILABLE, "The QR code could not be drawn.");
    };
    let body = html! {
        h1 { (t.enrol_title) }
        (who(t, page))
        p { (t.enrol_intro) }
        img.qr src=(qr.src) alt=(t.qr_alt) width=(qr.side) height=(qr.side);
        // A phone cannot scan its own screen: it can open the URI in its app instead.
        p.on-phone { a href=(otpauth_uri) { (t.add_on_this_device) } }
        p { (t.manual_entry) }
        // Two halves that wrap as wholes: two even rows where one does not fit.
        @let groups: Vec<&str> = secret_groups.split(' ').collect();
        @let (first, second) = groups.split_at(groups.len().div_ceil(2));
        p.key { span { (first.join(" ")) } " " span { (second.join(" ")) } }
        p { (t.enrol_code_intro) }
        (note(t, page.note))
        (code_form(t, base, page, false))
    };
    secure(document(t, base, t.enrol_title, body).into_response(), Some(&page.return_origin))
}

/// The code page: where the code comes from, the form, and for a sent code the resend button.
fn code_page(t: &Texts, base: &str, page: &PageFacts, provider: Provider, sent_to: Option<&str>) -> Response {
    let lead = match (provider, sent_to) {
        (Provider::Sms, Some(to)) => html! { (t.code_sent_sms) " " strong { (to) } "." },
        (Provider::Smtp, Some(to)) => html! { (t.code_sent_email) " " strong { (to) } "." },
        _ => html! { (t.code_from_app) },
    };
    let body = html! {
        h1 { (t.code_title) }
        (who(t, page))
        p { (lead) }
        (note(t, page.note))
        (code_form(t, base, page, true))
        @if provider != Provider::Totp {
            form method="post" action={ (base) "/signin/" (page.signin) "/resend" } {
                input type="hidden" name="csrf" value=(page.csrf);
                button.link type="submit" { (t.resend_button) }
            }
        }
    };
    secure(document(t, base, t.code_title, body).into_response(), Some(&page.return_origin))
}

/// The passkey page: the form whose script runs the ceremony (its options in `data-options`) and
/// posts the browser's answer; the words the script may show, hidden until it shows one; without
/// JavaScript, what to do instead; and the recovery code form, folded away.
fn passkey_page(t: &Texts, base: &str, page: &PageFacts, options: &serde_json::Value, create: bool) -> Response {
    let (title, intro, button, summary) = if create {
        (t.passkey_create_title, t.passkey_create_intro, t.passkey_create_button, t.passkey_create_recovery_summary)
    } else {
        (t.passkey_title, t.passkey_intro, t.passkey_button, t.passkey_recovery_summary)
    };
    let action = format!("{base}/signin/{}", page.signin);
    let body = html! {
        h1 { (title) }
        (who(t, page))
        p { (intro) }
        (note(t, page.note))
        @for (which, text) in [
            ("unsupported", t.passkey_unsupported),
            ("cancelled", t.passkey_cancelled),
            ("failed", t.passkey_failed),
        ] {
            p.note.bad role="status" data-passkey-note=(which) hidden { (text) }
        }
        noscript { p.note { (t.passkey_no_script) } }
        form #passkey method="post" action=(action) data-options=(options.to_string())
            data-ceremony=(if create { "create" } else { "get" }) {
            input type="hidden" name="csrf" value=(page.csrf);
            input type="hidden" name="webauthn" value="";
            (remember_box(t, page, "remember"))
            button.passkey-go type="button" hidden { (button) }
        }
        (access_pass_form(t, &action, page, summary))
    };
    let response = document_with_script(t, base, title, body).into_response();
    secure_scripted(response, Some(&page.return_origin))
}

/// Sets the cookie of a browser just remembered, its new token beside those it had (for other
/// mailboxes; the oldest beyond [`TOKENS_PER_BROWSER`] go): the sign-in pages' path only,
/// script-proof, sent along when the webmail sends the browser to a sign-in page, and over HTTPS
/// only where the pages are served over HTTPS.
fn remembered(
    mut response: Response,
    base: &str,
    remember: Option<(String, i64)>,
    mut tokens: Vec<String>,
) -> Response {
    let Some((token, days)) = remember else { return response };
    tokens.push(token);
    let keep = tokens.len().saturating_sub(TOKENS_PER_BROWSER);
    let token = tokens[keep..].join(".");
    let secure = if base.starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!(
        "{DEVICE_COOKIE}={token}; Max-Age={}; Path={}/signin; HttpOnly; SameSite=Lax{secure}",
        days * 86_400,
        path_of(base)
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn who(t: &Texts, page: &PageFacts) -> Markup {
    html! { p.who { (t.signing_in_as) " " strong { (page.address) } } }
}

fn note(t: &Texts, note: Option<PageNote>) -> Markup {
    let (text, bad) = match note {
        None => return html! {},
        Some(PageNote::WrongCode) => (t.wrong_code, true),
        Some(PageNote::BadCode) => (t.bad_code, true),
        Some(PageNote::ExpiredCode) => (t.expired_code, true),
        Some(PageNote::SendLimit) => (t.send_limit, true),
        Some(PageNote::StaleForm) => (t.stale_form, true),
        Some(PageNote::PasskeyRefused) => (t.passkey_refused, true),
        Some(PageNote::Resent) => (t.resent, false),
    };
    html! { p.note.bad[bad] role="status" { (text) } }
}

/// The code form; `focus` puts the cursor in the field (not on the enrol page, where a phone would
/// scroll past the QR code to it). Below it, folded away, the same form for a temporary access
/// pass: letters, which the numeric code field would not take.
fn code_form(t: &Texts, base: &str, page: &PageFacts, focus: bool) -> Markup {
    let action = format!("{base}/signin/{}", page.signin);
    html! {
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(page.csrf);
            label for="code" { (t.code_label) }
            input #code type="text" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6"
                autocomplete="one-time-code" autofocus[focus] required;
            (remember_box(t, page, "remember"))
            button type="submit" { (t.verify_button) }
        }
        (access_pass_form(t, &action, page, t.access_pass_summary))
    }
}

/// The form for a recovery code or a temporary access pass, folded away under `summary`.
fn access_pass_form(t: &Texts, action: &str, page: &PageFacts, summary: &str) -> Markup {
    html! {
        details.access-pass {
            summary { (summary) }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(page.csrf);
                label for="pass" { (t.access_pass_label) }
                input #pass type="text" name="code" maxlength="16" autocomplete="off" autocapitalize="off"
                    spellcheck="false" placeholder="abcde-fghjk" required;
                (remember_box(t, page, "remember-pass"))
                button type="submit" { (t.verify_button) }
            }
        }
    }
}

/// "Remember this device for N days", where the platform allows it.
fn remember_box(t: &Texts, page: &PageFacts, id: &str) -> Markup {
    html! {
        @if page.remember_days > 0 {
            label.remember for=(id) {
                input #(id) type="checkbox" name="remember" value="1";
                " " (t.remember_device) " " (page.remember_days) " " (t.days)
            }
        }
    }
}

/// A page's `head`: its title, the one stylesheet (under `base`), a phone's width, and no search
/// engine. The hosted pages and the web administration share it.
pub(super) fn head(title: &str, base: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="robots" content="noindex";
            title { (title) }
            link rel="stylesheet" href={ (base) "/static/mailmfa.css" };
        }
    }
}

fn document(t: &Texts, base: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(t.lang) {
            (head(title, base))
            body {
                main {
                    (body)
                    footer { (t.footer) }
                }
            }
        }
    }
}

/// [`document`] with the passkey script, run once the page is parsed.
fn document_with_script(t: &Texts, base: &str, title: &str, body: Markup) -> Markup {
    document(t, base, title, html! { (body) script src={ (base) "/static/passkey.js" } defer {} })
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let t = &ENGLISH;
    let body = html! { h1 { (t.expired_title) } p.note.bad { (message) } };
    let mut response = document(t, "", t.expired_title, body).into_response();
    *response.status_mut() = status;
    secure(response, None)
}

/// `45 seconds`, `3 minutes`.
fn wait(seconds: i64) -> String {
    match seconds.max(1) {
        s @ 0..=90 => format!("{s} seconds"),
        s => format!("{} minutes", (s + 59) / 60),
    }
}

/// The pages' security headers. A form's CSP lets it go to this service and, once the code is
/// accepted, back to the webmail (browsers check a form's redirect too). No script runs.
pub(super) fn secure(response: Response, return_origin: Option<&str>) -> Response {
    secure_with(response, return_origin, "")
}

/// [`secure`] for the passkey page: its one script, a file of this service's own (no inline
/// script, no `eval`), which writes to no HTML sink (Trusted Types are required).
fn secure_scripted(response: Response, return_origin: Option<&str>) -> Response {
    secure_with(response, return_origin, "; script-src 'self'; require-trusted-types-for 'script'")
}

fn secure_with(mut response: Response, return_origin: Option<&str>, script: &str) -> Response {
    let form_action = match return_origin {
        Some(origin) if !origin.is_empty() => format!("'self' {origin}"),
        _ => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src data:; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'{script}"
    );
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A page's form fields (`application/x-www-form-urlencoded`, at most [`MAX_BODY`] bytes).
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The value of the field `name` (empty when it was not sent).
    pub(super) fn get(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Failure;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let limited = axum::body::to_bytes(req.into_body(), MAX_BODY);
        let bytes = match tokio::time::timeout(super::http::BODY_TIMEOUT, limited).await {
            Err(_) => return Err(Failure::SlowBody),
            Ok(Err(_)) => return Err(Failure::TooLarge),
            Ok(Ok(bytes)) => bytes,
        };
        Ok(Self(form_urlencoded::parse(&bytes).into_owned().collect()))
    }
}
