//! The hosted sign-in pages as a webmail and a browser use them: `/v1/signin`, the enrol and code
//! pages with their security headers and CSRF tokens, the redirect with a ticket, redeeming it
//! once, return URLs held to their prefixes, resend, locked and expired pages — over HTTP, and in
//! headless Chromium (Debian's `chromium` and `chromium-driver`) at desktop and phone width. The
//! passkey pages are in `passkeys.rs`.

mod passkeys;

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use crate::common::browser::{Browser, Screen, decode_qr, free_port};

use crate::common;
use crate::common::TestEnv;
use crate::common::fixtures::{
    alice_on_totp_and_bob_on_sms, api_key, current_code, secret_of, six_digits, sms_gateway,
};
use crate::common::http_server::{TestHttp, start_http_with};
use crate::common::serve::{Server, agent, call};
use mailmfa::domain::totp::decode_secret;
use serde_json::{Value, json};

const RETURN: &str = "https://mail.example.test/?_task=login&_action=mfa";

struct Site {
    env: TestEnv,
    gateway: TestHttp,
    key: String,
    server: Server,
    /// The sign-in started last: the one a ticket is redeemed for.
    last_signin: RefCell<Option<String>>,
}

impl Site {
    fn new() -> Self {
        Self::at("127.0.0.1")
    }

    /// The site with the pages at `http://HOST:PORT/` (`serve.public_url`); the service listens
    /// on 127.0.0.1 (`localhost` for a passkey, which needs a domain name).
    fn at(host: &str) -> Self {
        let env = TestEnv::new();
        alice_on_totp_and_bob_on_sms(&env);
        let gateway = sms_gateway(&env);
        let key = api_key(&env, "webmail", &["--return-url", "https://mail.example.test/"]);
        let port = free_port();
        env.ok(&["settings", "set", "serve.public_url", &format!("http://{host}:{port}/")]);
        let server = Server::start(&env, &["--listen", &format!("127.0.0.1:{port}")]);
        Site { env, gateway, key, server, last_signin: RefCell::new(None) }
    }

    fn signin(&self, address: &str, return_url: &str) -> common::serve::Answer {
        self.signin_as(&self.key, address, return_url)
    }

    fn signin_as(&self, key: &str, address: &str, return_url: &str) -> common::serve::Answer {
        let body = json!({"address": address, "ip": "203.0.113.9", "return_url": return_url}).to_string();
        let started = call(&agent(), "POST", &self.server.url("/v1/signin"), Some(key), Some(&body));
        if let Some(id) = started.json["signin_id"].as_str() {
            self.last_signin.replace(Some(id.to_owned()));
        }
        started
    }

    /// The code in the last text message the gateway was asked to send.
    fn last_sms_code(&self) -> String {
        six_digits(self.gateway.requests().last().unwrap().json()["message"].as_str().unwrap())
    }

    fn redeem(&self, ticket: &str) -> Value {
        self.redeem_as(&self.key, ticket)
    }

    /// Redeems `ticket` as the client of `key`, for the sign-in started last.
    fn redeem_as(&self, key: &str, ticket: &str) -> Value {
        let signin = self.last_signin.borrow().clone().unwrap_or_default();
        self.redeem_for(key, &signin, ticket)
    }

    /// Redeems `ticket` as the client of `key`, for the sign-in `signin`.
    fn redeem_for(&self, key: &str, signin: &str, ticket: &str) -> Value {
        let body = json!({"ticket": ticket, "signin_id": signin}).to_string();
        call(&agent(), "POST", &self.server.url("/v1/signin/redeem"), Some(key), Some(&body)).json
    }
}

/// A test webmail for the browser: a page on 127.0.0.1 the hosted pages send the browser back
/// to, and an API client whose return URLs point there.
struct Webmail {
    page: TestHttp,
    key: String,
}

impl Webmail {
    fn on(site: &Site) -> Self {
        let page = start_http_with(
            200,
            "OK",
            "<!doctype html><title>Webmail</title><h1 id=\"inbox\">Inbox</h1>",
            &[("Content-Type", "text/html; charset=utf-8")],
        );
        let key = api_key(&site.env, "browser-webmail", &["--return-url", &page.url("/")]);
        Webmail { key, page }
    }

    /// Starts a sign-in for `address` as the webmail does after the password; the page's address.
    fn signin(&self, site: &Site, address: &str) -> String {
        let started = site.signin_as(&self.key, address, &self.page.url("/?_task=login&_action=mfa"));
        assert_eq!(started.status, 200, "{:?}", started.json);
        started.json["signin_url"].as_str().unwrap().to_owned()
    }
}

/// The code form of a sign-in page (not the resend form), filled in and sent.
fn submit_code(b: &Browser, code: &str) {
    let field = b.find("#code");
    field.clear();
    field.type_text(code);
    b.find("form:not([action$='/resend']) button[type=submit]").click();
}

/// Whether the page is wider than the window (a phone would scroll sideways).
fn scrolls_sideways(b: &Browser) -> bool {
    b.execute("return document.documentElement.scrollWidth > window.innerWidth;", json!([])).as_bool().unwrap()
}

/// A page as the browser gets it.
struct Page {
    status: u16,
    html: String,
    headers: Vec<(String, String)>,
}

impl Page {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of the first `name="…" value="…"` input.
    fn input(&self, name: &str) -> String {
        let at =
            self.html.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no input {name}: {}", self.html));
        let rest = &self.html[at..];
        let value = rest.split("value=\"").nth(1).unwrap();
        value[..value.find('"').unwrap()].to_owned()
    }
}

fn no_redirects() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::config::Config::builder().http_status_as_error(false).proxy(None).max_redirects(0).build(),
    )
}

fn fetch(request: ureq::http::Request<String>) -> Page {
    let response = no_redirects().run(request).unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    Page { status, html: response.into_body().read_to_string().unwrap_or_default(), headers }
}

fn get(url: &str) -> Page {
    fetch(ureq::http::Request::get(url).body(String::new()).unwrap())
}

fn post_form(url: &str, fields: &[(&str, &str)]) -> Page {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    fetch(
        ureq::http::Request::post(url).header("Content-Type", "application/x-www-form-urlencoded").body(body).unwrap(),
    )
}

#[test]
fn the_enrol_page_over_http_and_the_webmail_redeems_its_ticket_once() {
    let site = Site::new();
    let started = site.signin("alice@example.com", RETURN);
    assert_eq!(started.status, 200, "{:?}", started.json);
    assert_eq!(started.json["decision"], "enroll");
    assert!(started.json.get("otpauth_uri").is_none(), "the webmail never sees the secret");
    let url = started.json["signin_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&site.server.base), "{url}");

    let page = get(&url);
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    for part in ["default-src 'none'", "frame-ancestors 'none'", "form-action 'self' https://mail.example.test"] {
        assert!(csp.contains(part), "{csp}");
    }
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page.html.contains("autocomplete=\"one-time-code\"") && page.html.contains("inputmode=\"numeric\""));
    assert!(!page.html.contains("<script"), "the pages need no JavaScript");
    let without_qr: String = page
        .html
        .split("data:image/png;base64,")
        .map(|s| s.split('"').skip(1).collect::<Vec<_>>().join("\""))
        .collect();
    assert!(without_qr.len() < 30 * 1024, "the page is {} bytes without its QR image", without_qr.len());
    let key_html = page.html.split("class=\"key\">").nth(1).unwrap().split("</p>").next().unwrap();
    let key = key_html.replace("<span>", "").replace("</span>", "").replace(' ', "");
    let secret = decode_secret(&key).unwrap().to_vec();
    let csrf = page.input("csrf");

    // A forged form (no token, or another token) is refused and changes nothing.
    let forged = post_form(&url, &[("csrf", "0000"), ("code", &current_code(&secret))]);
    assert_eq!(forged.status, 200);
    assert!(forged.html.contains("out of date"), "{}", forged.html);
    let wrong = post_form(&url, &[("csrf", &csrf), ("code", "000000")]);
    assert!(wrong.html.contains("not right"));
    let done = post_form(&url, &[("csrf", &csrf), ("code", &current_code(&secret))]);
    // The completed enrolment shows its recovery codes once, then links on with the ticket.
    assert_eq!(done.status, 200, "{}", done.html);
    assert_eq!(done.header("cache-control"), Some("no-store"));
    assert!(done.header("content-security-policy").unwrap().contains("default-src 'none'"));
    let codes: Vec<&str> = done.html.split("<li>").skip(1).map(|li| li.split("</li>").next().unwrap()).collect();
    assert_eq!(codes.len(), 10, "{}", done.html);
    assert!(codes.iter().all(|c| c.len() == 11 && &c[5..6] == "-"), "{codes:?}");
    let download = done.html.split("href=\"data:text/plain;charset=utf-8,").nth(1).unwrap().split('"').next().unwrap();
    let file = form_urlencoded::parse(format!("f={download}").as_bytes()).next().unwrap().1.into_owned();
    assert!(codes.iter().all(|c| file.contains(c)), "the text file holds the codes: {file:?}");
    let location = done.html.split("class=\"button\" href=\"").nth(1).unwrap().split('"').next().unwrap();
    let location = location.replace("&amp;", "&");
    assert!(location.starts_with(&format!("{RETURN}&mailmfa_ticket=")), "{location}");
    let again = post_form(&url, &[("csrf", &csrf), ("code", &current_code(&secret))]);
    assert_eq!(again.status, 404, "the codes page is not shown twice");
    let ticket = location.split("mailmfa_ticket=").nth(1).unwrap();
    assert_eq!(site.redeem(ticket), json!({"result": "accepted", "address": "alice@example.com"}));
    assert_eq!(site.redeem(ticket), json!({"result": "rejected", "reason": "invalid_ticket"}), "a ticket works once");
    assert_eq!(site.redeem("made-up"), json!({"result": "rejected", "reason": "invalid_ticket"}));
    let over = get(&url);
    assert_eq!(over.status, 404);
    assert!(over.html.contains("has ended"));

    // The hosted pages' decisions and checks are counted with the API's (§13).
    let metrics = call(&agent(), "GET", &site.server.url("/v1/metrics"), None, None).text;
    for counted in [
        r#"mailmfa_login_decisions_total{decision="enroll",reason="always"} 1"#,
        r#"mailmfa_login_verifications_total{result="rejected",reason="invalid_code"} 1"#,
        r#"mailmfa_login_verifications_total{result="accepted",reason="none"} 1"#,
    ] {
        assert!(metrics.lines().any(|line| line == counted), "{counted} is not in\n{metrics}");
    }
}

#[test]
fn return_urls_are_held_to_the_clients_prefixes_and_tickets_to_their_client() {
    let site = Site::new();
    for bad in [
        "https://mail.example.test.evil.example/",
        "https://evil.example/",
        "http://mail.example.test/",
        "javascript:alert(1)",
    ] {
        let refused = site.signin("alice@example.com", bad);
        assert_eq!(refused.status, 400, "{bad}: {:?}", refused.json);
        assert!(refused.json["error"].as_str().unwrap().contains("return URL"));
    }
    // Another client cannot redeem this client's ticket.
    site.env.ok(&["mailbox", "set", "alice@example.com", "--challenge", "always"]);
    let started = site.signin("bob@example.com", RETURN);
    let url = started.json["signin_url"].as_str().unwrap().to_owned();
    let page = get(&url);
    assert!(page.html.contains("+•••••••••67"), "{}", page.html);
    let code = site.last_sms_code();
    let done = post_form(&url, &[("csrf", &page.input("csrf")), ("code", &code)]);
    let ticket = done.header("location").unwrap().split("mailmfa_ticket=").nth(1).unwrap().to_owned();
    let other = api_key(&site.env, "other", &[]);
    let stolen = call(
        &agent(),
        "POST",
        &site.server.url("/v1/signin/redeem"),
        Some(&other),
        Some(&json!({"ticket": ticket, "signin_id": started.json["signin_id"]}).to_string()),
    );
    assert_eq!(stolen.json["result"], "rejected");
    assert_eq!(site.redeem(&ticket)["result"], "rejected", "the stolen try used the ticket up");
}

/// A ticket is redeemed only for the sign-in it completes: a webmail that checks only `result`
/// cannot be handed another user's ticket for its user's sign-in.
#[test]
fn a_ticket_is_redeemed_only_for_the_sign_in_it_completes() {
    let site = Site::new();
    let alices = site.signin("alice@example.com", RETURN);
    let alice_signin = alices.json["signin_id"].as_str().expect("the sign-in's id").to_owned();
    assert!(alices.json["signin_url"].as_str().unwrap().ends_with(&alice_signin));
    let bob_ticket = |site: &Site| {
        let started = site.signin("bob@example.com", RETURN);
        let url = started.json["signin_url"].as_str().unwrap().to_owned();
        let page = get(&url);
        let done = post_form(&url, &[("csrf", &page.input("csrf")), ("code", &site.last_sms_code())]);
        let ticket = done.header("location").unwrap().split("mailmfa_ticket=").nth(1).unwrap().to_owned();
        (started.json["signin_id"].as_str().unwrap().to_owned(), ticket)
    };
    let (_, ticket) = bob_ticket(&site);
    let swapped = site.redeem_for(&site.key, &alice_signin, &ticket);
    assert_eq!(swapped, json!({"result": "rejected", "reason": "invalid_ticket"}), "bob's ticket for alice's sign-in");
    let (bobs, ticket) = bob_ticket(&site);
    assert_eq!(site.redeem_for(&site.key, &bobs, &ticket), json!({"result": "accepted", "address": "bob@example.com"}));
    let without = call(
        &agent(),
        "POST",
        &site.server.url("/v1/signin/redeem"),
        Some(&site.key),
        Some(&json!({"ticket": ticket}).to_string()),
    );
    assert_eq!(without.status, 400, "the sign-in is required");
}

#[test]
fn resend_locked_and_expired_pages() {
    let site = Site::new();
    site.env.ok(&["settings", "set", "lockout.threshold", "3"]);
    let started = site.signin("bob@example.com", RETURN);
    let url = started.json["signin_url"].as_str().unwrap().to_owned();
    let page = get(&url);
    let csrf = page.input("csrf");
    assert!(page.html.contains("Send a new code"));
    let sent = site.gateway.requests().len();
    let resent = post_form(&format!("{url}/resend"), &[("csrf", &csrf)]);
    assert!(resent.html.contains("new code is on its way"), "{}", resent.html);
    assert_eq!(site.gateway.requests().len(), sent + 1);
    for _ in 0..3 {
        post_form(&url, &[("csrf", &csrf), ("code", "000000")]);
    }
    let locked = get(&url);
    assert!(locked.html.contains("Sign-in paused") && locked.html.contains("Try again in"), "{}", locked.html);
    let unknown = get(&site.server.url("/signin/feedfacefeedfacefeedfacefeedface"));
    assert_eq!(unknown.status, 404);
    assert!(unknown.html.contains("has ended"));
    let css = get(&site.server.url("/static/mailmfa.css"));
    assert!(css.header("content-type").unwrap().starts_with("text/css") && css.html.contains("max-width"));
}

/// A person in Chromium: reads the QR code off the screen into an "authenticator", types its
/// code, lands back at the webmail with a ticket, which the webmail redeems once.
#[test]
fn a_person_enrols_in_a_real_browser_and_the_webmail_redeems_the_ticket_once() {
    let site = Site::new();
    let webmail = Webmail::on(&site);
    let url = webmail.signin(&site, "alice@example.com");
    let b = Browser::start(Screen::desktop(1280, 900));
    b.goto(&url);
    let uri = decode_qr(&b.wait_for("img.qr").screenshot());
    assert!(uri.starts_with("otpauth://totp/") && uri.contains(":alice@example.com?"), "{uri}");
    let key = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    assert_eq!(b.find(".key").text().replace(' ', ""), key, "the key typed by hand is the scanned secret");
    assert!(!b.find(".on-phone").is_displayed(), "a desktop is not offered the phone's own app");
    assert!(!scrolls_sideways(&b));
    let secret = decode_secret(&key).unwrap().to_vec();

    submit_code(&b, "000000");
    assert!(b.wait_for(".note.bad").text().contains("not right"), "{}", b.visible_text());
    assert!(b.url().starts_with(&site.server.base), "a wrong code stays on the page: {}", b.url());
    submit_code(&b, &current_code(&secret));
    // The recovery codes, once, before going on.
    b.wait_for("ol.codes");
    let codes: Vec<String> = b.find_all("ol.codes li").iter().map(|li| li.text()).collect();
    assert_eq!(codes.len(), 10, "{}", b.visible_text());
    assert!(b.visible_text().contains("shown only now"), "{}", b.visible_text());
    assert!(!scrolls_sideways(&b));
    b.find("a.button").click();
    b.wait_until("the webmail's page", |b| b.url().starts_with(&webmail.page.url("/")));
    b.wait_for("#inbox");
    let landed = b.url();
    let ticket = landed.split("mailmfa_ticket=").nth(1).unwrap_or_else(|| panic!("no ticket in {landed}"));
    assert!(landed.starts_with(&webmail.page.url("/?_task=login&_action=mfa&mailmfa_ticket=")), "{landed}");
    assert_eq!(site.redeem_as(&webmail.key, ticket), json!({"result": "accepted", "address": "alice@example.com"}));
    assert_eq!(site.redeem_as(&webmail.key, ticket)["result"], "rejected", "a ticket works once");

    // Back to the sign-in page (the browser's Back button): it has ended.
    b.goto(&url);
    b.wait_for("h1");
    assert!(b.visible_text().contains("has ended"), "{}", b.visible_text());

    // The phone is lost: a recovery code signs in once, in the field folded under the code field.
    for attempt in ["first", "second"] {
        b.goto(&webmail.signin(&site, "alice@example.com"));
        b.wait_for("#code");
        b.find("details.access-pass summary").click();
        b.find("#pass").type_text(&codes[0]);
        b.find("details.access-pass button[type=submit]").click();
        if attempt == "first" {
            b.wait_until("the webmail's page", |b| b.url().starts_with(&webmail.page.url("/")));
        } else {
            assert!(b.wait_for(".note.bad").text().contains("not right"), "a recovery code works once");
        }
    }
    let left = site.env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json()["recovery_codes_left"].clone();
    assert_eq!(left, 9);
}

/// On a 360 px phone the pages fit the screen, the enrol page offers to open the account in the
/// phone's own authenticator app, and a code sent by SMS completes the sign-in.
#[test]
fn the_pages_fit_a_phone_and_a_code_by_sms_completes_the_sign_in() {
    let site = Site::new();
    let webmail = Webmail::on(&site);
    let b = Browser::start(Screen::phone(360, 780, 2.0));
    b.goto(&webmail.signin(&site, "alice@example.com"));
    b.wait_for("img.qr");
    assert!(!scrolls_sideways(&b), "the enrol page is wider than a phone");
    let link = b.find(".on-phone a");
    assert!(link.is_displayed(), "a phone is offered its own authenticator app");
    assert!(link.attribute("href").unwrap().starts_with("otpauth://totp/"));
    let (_, _, width, _) = b.find("#code").rect();
    assert!(width >= 250.0, "the code field is {width} px wide on a phone");
    // The recovery codes after the first code: each on one line, nothing wider than the phone.
    let key = b.find(".key").text().replace([' ', '\n'], "");
    submit_code(&b, &current_code(&decode_secret(&key).unwrap()));
    b.wait_for("ol.codes");
    assert!(!scrolls_sideways(&b), "the recovery codes page is wider than a phone");
    let line = b
        .execute("return parseFloat(getComputedStyle(document.querySelector('ol.codes li')).lineHeight);", json!([]))
        .as_f64()
        .unwrap();
    for li in b.find_all("ol.codes li") {
        assert!(li.rect().3 < line * 1.5, "{:?} breaks across lines on a phone", li.text());
    }

    b.goto(&webmail.signin(&site, "bob@example.com"));
    let lead = b.wait_for("main").text();
    assert!(lead.contains("+•••••••••67"), "{lead}");
    assert!(!scrolls_sideways(&b), "the code page is wider than a phone");
    let code = site.last_sms_code();
    submit_code(&b, &code);
    b.wait_until("the webmail's page", |b| b.url().starts_with(&webmail.page.url("/")));
    let ticket = b.url().split("mailmfa_ticket=").nth(1).unwrap().to_owned();
    assert_eq!(site.redeem_as(&webmail.key, &ticket)["address"], "bob@example.com");
}

/// The README's pictures of the hosted pages, from a real run: the enrol page and the code page
/// (a code sent by SMS) at desktop width and on a phone. Writes to `$MAILMFA_SCREENSHOT_DIR`,
/// else to `assets/screenshots/`.
#[test]
#[ignore = "makes the README's screenshots; run by scripts/screenshots-web.sh"]
fn screenshots_of_the_hosted_pages() {
    let folder = std::env::var_os("MAILMFA_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/screenshots"));
    std::fs::create_dir_all(&folder).unwrap();
    for (suffix, screen) in [("", Screen::desktop(1280, 900)), ("-phone", Screen::phone(360, 780, 2.0))] {
        let site = Site::new();
        site.env.ok(&["settings", "set", "remember.days", "30"]);
        let webmail = Webmail::on(&site);
        let b = Browser::start(screen);
        if screen.phone_pixel_ratio.is_none() {
            b.set_viewport_size(1280, 900);
        }
        let shoot = |page: &str| {
            let path = folder.join(format!("signin-{page}{suffix}.png"));
            std::fs::write(&path, b.screenshot()).unwrap();
            eprintln!("wrote {}", path.display());
        };
        for (page, address) in [("enrol", "alice@example.com"), ("code", "bob@example.com")] {
            b.goto(&webmail.signin(&site, address));
            b.wait_for("#code");
            shoot(page);
        }
        b.goto(&webmail.signin(&site, "alice@example.com"));
        let uri = decode_qr(&b.wait_for("img.qr").screenshot());
        submit_code(&b, &current_code(&secret_of(&uri)));
        b.wait_for("ol.codes");
        shoot("recovery-codes");
    }
}

/// A user who lost their phone signs in with the access pass their administrator gave them, in
/// the field folded away under the code field (the code field takes only digits).
#[test]
fn an_access_pass_signs_in_on_the_hosted_page() {
    let site = Site::new();
    let webmail = Webmail::on(&site);
    let pass = site.env.ok(&["mailbox", "tap", "alice@example.com", "--once", "--json"]).json()["tap"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = Browser::start(Screen::desktop(1280, 900));
    b.goto(&webmail.signin(&site, "alice@example.com"));
    b.wait_for("img.qr");
    assert!(!b.find("#pass").is_displayed(), "folded away until asked for");
    b.find("details.access-pass summary").click();
    b.find("#pass").type_text(&pass.to_uppercase());
    b.find("details.access-pass button[type=submit]").click();
    b.wait_until("the webmail's page", |b| b.url().starts_with(&webmail.page.url("/")));
    let ticket = b.url().split("mailmfa_ticket=").nth(1).unwrap().to_owned();
    assert_eq!(site.redeem_as(&webmail.key, &ticket)["address"], "alice@example.com");
    let details = site.env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json();
    assert!(details["access_pass_until"].is_null(), "a --once pass is used up: {details}");
}

/// "Remember this device" on the hosted page: the browser gets an HttpOnly cookie, and its next
/// sign-in page sends it straight back to the webmail with a ticket, until the administrator
/// forgets the device.
#[test]
fn a_remembered_browser_goes_straight_back_to_the_webmail() {
    let site = Site::new();
    let webmail = Webmail::on(&site);
    site.env.ok(&["settings", "set", "remember.days", "30"]);
    // Prompt Always asks a remembered browser too, unless the post office lets it skip.
    site.env.ok(&["postoffice", "set", "example.com", "--remember-in-always", "true"]);
    let codes = site.env.ok(&["mailbox", "recovery-codes", "alice@example.com", "--new", "--json"]).json();
    let b = Browser::start(Screen::desktop(1280, 900));
    b.goto(&webmail.signin(&site, "alice@example.com"));
    b.wait_for("img.qr");
    assert!(b.visible_text().contains("Remember this device for 30 days"), "{}", b.visible_text());
    b.find("details.access-pass summary").click();
    b.find("#pass").type_text(codes["recovery_codes"][0].as_str().unwrap());
    b.find("#remember-pass").click();
    b.find("details.access-pass button[type=submit]").click();
    b.wait_until("the webmail's page", |b| b.url().starts_with(&webmail.page.url("/")));
    assert_eq!(site.env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json()["remembered_devices"], 1);

    // The next sign-in: the page is passed straight through, with a ticket the webmail redeems.
    let url = webmail.signin(&site, "alice@example.com");
    b.goto(&url);
    b.wait_until("the webmail's page", |b| b.url().starts_with(&webmail.page.url("/")));
    let ticket = b.url().split("mailmfa_ticket=").nth(1).unwrap().to_owned();
    assert_eq!(site.redeem_as(&webmail.key, &ticket)["address"], "alice@example.com");
    let audit = site.env.ok(&["audit", "--json", "--limit", "1"]).json();
    assert!(audit.to_string().contains("remembered_device"), "{audit}");

    // Script cannot read the cookie; once the device is forgotten, the page asks again.
    b.goto(&site.server.url("/signin/0000"));
    b.wait_for("h1");
    assert!(b.cookies().iter().any(|(name, _)| name == "mailmfa_device"), "the cookie is there: {:?}", b.cookies());
    let script_sees = b.execute("return document.cookie;", json!([]));
    assert!(!script_sees.as_str().unwrap_or_default().contains("mailmfa_device"), "{script_sees}");
    site.env.ok(&["mailbox", "reset", "alice@example.com", "--devices"]);
    b.goto(&webmail.signin(&site, "alice@example.com"));
    b.wait_for("img.qr");
    assert!(b.url().starts_with(&site.server.base), "asked again: {}", b.url());
}

/// The code of a hosted sign-in goes out when its page is opened, not when the webmail starts the
/// sign-in: a browser remembered for an SMS mailbox goes straight back to the webmail and no text
/// message is sent at all.
#[test]
fn a_remembered_browser_is_sent_no_code() {
    let site = Site::new();
    let webmail = Webmail::on(&site);
    site.env.ok(&["settings", "set", "remember.days", "30"]);
    // Prompt Always asks a remembered browser too, unless the post office lets it skip.
    site.env.ok(&["postoffice", "set", "example.com", "--remember-in-always", "true"]);
    let sent = || site.gateway.requests().len();
    let b = Browser::start(Screen::desktop(1280, 900));

    let url = webmail.signin(&site, "bob@example.com");
    assert_eq!(sent(), 0, "nothing is sent before the page is opened");
    b.goto(&url);
    b.wait_for("#code");
    assert_eq!(sent(), 1, "the page sent the code");
    let code = site.last_sms_code();
    b.find("#code").type_text(&code);
    b.find("#remember").click();
    b.find("form:not([action$='/resend']) button[type=submit]").click();
    b.wait_until("the webmail's page", |b| b.url().starts_with(&webmail.page.url("/")));
    b.goto(&url);
    b.wait_for("h1");
    assert_eq!(sent(), 1, "opening the ended page again sends nothing");

    let again = webmail.signin(&site, "bob@example.com");
    b.goto(&again);
    b.wait_until("the webmail's page", |b| b.url().starts_with(&webmail.page.url("/")));
    assert_eq!(sent(), 1, "a remembered browser is sent no code");
    let ticket = b.url().split("mailmfa_ticket=").nth(1).unwrap().to_owned();
    assert_eq!(site.redeem_as(&webmail.key, &ticket)["address"], "bob@example.com");
}

/// A gateway that is down when the page is opened: the page says the code could not be sent
/// (503), the failure is audited, and once the gateway is back *Send a new code* works.
#[test]
fn a_code_that_cannot_be_sent_is_said_on_the_page() {
    let site = Site::new();
    let working = site.gateway.url("/sms");
    site.env.ok(&["settings", "set", "sms.url", "http://127.0.0.1:9/dead"]);
    let started = site.signin("bob@example.com", RETURN);
    assert_eq!(started.status, 200, "{:?}", started.json);
    let url = started.json["signin_url"].as_str().unwrap().to_owned();
    let page = get(&url);
    assert_eq!(page.status, 503);
    assert!(page.html.contains("could not be sent"), "{}", page.html);
    let audit = site.env.ok(&["audit", "--json", "--limit", "20"]).json();
    assert!(
        audit.as_array().unwrap().iter().any(|e| e["action"] == "login.send_code"
            && e["outcome"] == "failed"
            && e["actor"] == "user:bob@example.com"),
        "the user signing in on the hosted page: {audit}"
    );

    site.env.ok(&["settings", "set", "sms.url", &working]);
    let page = get(&url);
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(site.gateway.requests().is_empty(), "reopening the page does not send again");
    let resent = post_form(&format!("{url}/resend"), &[("csrf", &page.input("csrf"))]);
    assert!(resent.html.contains("new code is on its way"), "{}", resent.html);
    assert_eq!(site.gateway.requests().len(), 1);
}

/// One browser remembered for two mailboxes: the cookie keeps a token for each, and both go
/// straight back to the webmail afterwards.
#[test]
fn one_browser_remembers_two_mailboxes() {
    let site = Site::new();
    let webmail = Webmail::on(&site);
    site.env.ok(&["settings", "set", "remember.days", "30"]);
    // Prompt Always asks a remembered browser too, unless the post office lets it skip.
    site.env.ok(&["postoffice", "set", "example.com", "--remember-in-always", "true"]);
    let b = Browser::start(Screen::desktop(1280, 900));
    for address in ["alice@example.com", "bob@example.com"] {
        let codes = site.env.ok(&["mailbox", "recovery-codes", address, "--new", "--json"]).json();
        b.goto(&webmail.signin(&site, address));
        b.wait_for("#code");
        b.find("details.access-pass summary").click();
        b.find("#pass").type_text(codes["recovery_codes"][0].as_str().unwrap());
        b.find("#remember-pass").click();
        b.find("details.access-pass button[type=submit]").click();
        b.wait_until("the webmail's page", |b| b.url().starts_with(&webmail.page.url("/")));
    }
    for address in ["alice@example.com", "bob@example.com"] {
        b.goto(&webmail.signin(&site, address));
        b.wait_until("the webmail's page", |b| b.url().starts_with(&webmail.page.url("/")));
        let ticket = b.url().split("mailmfa_ticket=").nth(1).unwrap().to_owned();
        assert_eq!(site.redeem_as(&webmail.key, &ticket)["address"], address, "{address} is remembered too");
    }
}
