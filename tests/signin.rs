//! The hosted sign-in pages over HTTP, as a webmail and a browser use them: `/v1/signin`, the
//! enrol and code pages with their security headers and CSRF tokens, the redirect with a ticket,
//! redeeming it once, return URLs held to their prefixes, resend, locked and expired pages.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::net::TcpListener;

use common::TestEnv;
use common::http_server::{TestHttp, start_http};
use common::serve::{Server, agent, call};
use mailmfa::domain::totp::{code_at_step, decode_secret, step_of};
use serde_json::{Value, json};

const RETURN: &str = "https://mail.example.test/?_task=login&_action=mfa";

struct Site {
    env: TestEnv,
    gateway: TestHttp,
    key: String,
    server: Server,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Site {
    fn new() -> Self {
        let env = TestEnv::new();
        let gateway = start_http(200, "OK", "{}");
        env.ok(&["postoffice", "add", "example.com"]);
        env.ok(&["postoffice", "set", "example.com", "--challenge", "always"]);
        env.ok(&["mailbox", "add", "alice@example.com"]);
        env.ok(&["mailbox", "add", "bob@example.com"]);
        env.ok(&["mailbox", "set", "bob@example.com", "--provider", "sms", "--sms-number", "+15551234567"]);
        env.ok(&["settings", "set", "sms.url", &gateway.url("/sms")]);
        let added = env.ok(&["client", "add", "webmail", "--return-url", "https://mail.example.test/", "--json"]).json();
        let key = added["key"].as_str().unwrap().to_owned();
        let port = free_port();
        env.ok(&["settings", "set", "serve.public_url", &format!("http://127.0.0.1:{port}/")]);
        let server = Server::start(&env, &["--listen", &format!("127.0.0.1:{port}")]);
        Site { env, gateway, key, server }
    }

    fn signin(&self, address: &str, return_url: &str) -> common::serve::Answer {
        let body = json!({"address": address, "ip": "203.0.113.9", "return_url": return_url}).to_string();
        call(&agent(), "POST", &self.server.url("/v1/signin"), Some(&self.key), Some(&body))
    }

    fn redeem(&self, ticket: &str) -> Value {
        let body = json!({"ticket": ticket}).to_string();
        call(&agent(), "POST", &self.server.url("/v1/signin/redeem"), Some(&self.key), Some(&body)).json
    }
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
        let at = self.html.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no input {name}: {}", self.html));
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
        ureq::http::Request::post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .unwrap(),
    )
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn a_browser_enrols_on_the_hosted_page_and_the_webmail_redeems_its_ticket_once() {
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
    let without_qr: String = page.html.split("data:image/png;base64,").map(|s| s.split('"').skip(1).collect::<Vec<_>>().join("\"")).collect();
    assert!(without_qr.len() < 30 * 1024, "the page is {} bytes without its QR image", without_qr.len());
    let key = page.html.split("class=\"key\">").nth(1).unwrap().split('<').next().unwrap().replace(' ', "");
    let secret = decode_secret(&key).unwrap().to_vec();
    let csrf = page.input("csrf");

    // A forged form (no token, or another token) is refused and changes nothing.
    let forged = post_form(&url, &[("csrf", "0000"), ("code", &code_at_step(&secret, step_of(now())))]);
    assert_eq!(forged.status, 200);
    assert!(forged.html.contains("out of date"), "{}", forged.html);
    let wrong = post_form(&url, &[("csrf", &csrf), ("code", "000000")]);
    assert!(wrong.html.contains("not right"));
    let done = post_form(&url, &[("csrf", &csrf), ("code", &code_at_step(&secret, step_of(now())))]);
    assert_eq!(done.status, 303, "{}", done.html);
    let location = done.header("location").unwrap().to_owned();
    assert!(location.starts_with(&format!("{RETURN}&mailmfa_ticket=")), "{location}");
    let ticket = location.split("mailmfa_ticket=").nth(1).unwrap();
    assert_eq!(site.redeem(ticket), json!({"result": "accepted", "address": "alice@example.com"}));
    assert_eq!(site.redeem(ticket), json!({"result": "rejected", "reason": "invalid_ticket"}), "a ticket works once");
    assert_eq!(site.redeem("made-up"), json!({"result": "rejected", "reason": "invalid_ticket"}));
    let over = get(&url);
    assert_eq!(over.status, 404);
    assert!(over.html.contains("has ended"));
}

#[test]
fn return_urls_are_held_to_the_clients_prefixes_and_tickets_to_their_client() {
    let site = Site::new();
    for bad in ["https://mail.example.test.evil.example/", "https://evil.example/", "http://mail.example.test/", "javascript:alert(1)"] {
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
    let message = site.gateway.requests().last().unwrap().json()["message"].as_str().unwrap().to_owned();
    let code: String = message.chars().filter(char::is_ascii_digit).take(6).collect();
    let done = post_form(&url, &[("csrf", &page.input("csrf")), ("code", &code)]);
    let ticket = done.header("location").unwrap().split("mailmfa_ticket=").nth(1).unwrap().to_owned();
    let other = site.env.ok(&["client", "add", "other", "--json"]).json()["key"].as_str().unwrap().to_owned();
    let stolen = call(
        &agent(),
        "POST",
        &site.server.url("/v1/signin/redeem"),
        Some(&other),
        Some(&json!({"ticket": ticket}).to_string()),
    );
    assert_eq!(stolen.json["result"], "rejected");
    assert_eq!(site.redeem(&ticket)["result"], "rejected", "the stolen try used the ticket up");
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
