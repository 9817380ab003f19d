//! What one caller of the login service can do to the others, and to a mailbox it does not own:
//! rates spent only by verified clients, a cap on connections per address, clients limited to
//! their post offices, a fresh second step before sensitive changes, the enrolment secret fetched
//! rather than kept, the Bearer scheme in any case, and a counted trace of what is turned away.

use std::io::Read;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{Site, audit, begin, post, verify};
use crate::common::fixtures::{api_key, secret_of};
use crate::common::serve::{Server, agent, call, call_from, connect_from};
use crate::on_each_backend;
use mailmfa::domain::totp::{code_at_step, step_of};
use serde_json::{Value, json};

const ELSEWHERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));
const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// The id in a key `mmfa_<id>_<secret>`.
fn id_of(key: &str) -> &str {
    key.trim_start_matches("mmfa_").split('_').next().unwrap()
}

/// Wrong keys that name a real client's id, sent from an address the client may not call from,
/// cost the client nothing; a flood of keyless requests from the client's own address neither; its
/// own logins that go well, however many, neither. Its failed requests do: once they spent its
/// rate, all its requests are turned away, and another client's are not.
#[test]
fn a_clients_rate_is_spent_only_by_its_own_failed_requests() {
    let site = Site::new();
    // One failure a second, two as a burst: slow enough that a busy test machine cannot refill
    // the client's bucket between the requests below.
    site.env.ok(&["settings", "set", "serve.client_rate", "1"]);
    site.env.ok(&["settings", "set", "serve.ip_rate", "5"]);
    let key = api_key(&site.env, "local", &["--allow", "127.0.0.1/32"]);
    let server = Server::start(&site.env, &[]);
    let forged = format!("Bearer mmfa_{}_wrong", id_of(&key));
    let body = json!({"address": "alice@example.com", "ip": "203.0.113.9"}).to_string();
    let statuses: Vec<u16> = (0..20)
        .map(|_| {
            let auth = [("Authorization", forged.as_str())];
            call_from(ELSEWHERE, &server, "POST", "/v1/login/begin", &auth, Some(&body)).status
        })
        .collect();
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
    assert!(statuses.contains(&429), "the failing address is turned away in the end: {statuses:?}");
    let health: Vec<u16> =
        (0..30).map(|_| call(&agent(), "GET", &server.url("/v1/health"), None, None).status).collect();
    assert!(health.contains(&429), "keyless requests have a rate of their own: {health:?}");

    let good: Vec<u16> = (0..30).map(|_| begin(&server, &key, "alice@example.com").status).collect();
    assert!(good.iter().all(|s| *s == 200), "logins that go well are never held back: {good:?}");
    // Guessing: a wrong code for a transaction that is not there, again and again.
    let guessed: Vec<u16> = (0..4).map(|_| verify(&server, &key, "no-such-transaction", "123456").status).collect();
    assert_eq!(guessed[0], 404, "{guessed:?}");
    assert!(guessed.contains(&429), "failed requests spend the client's rate: {guessed:?}");
    let after = begin(&server, &key, "alice@example.com");
    assert_eq!(after.status, 429, "a client whose failures spent its rate is turned away: {:?}", after.json);
    assert!(after.retry_after.is_some(), "{after:?}");
    let other = begin(&server, &site.key, "alice@example.com");
    assert_eq!(other.status, 200, "another client is not: {:?}", other.json);
}

/// `Authorization: bearer …` is the same scheme as `Bearer` (RFC 9110 §11.1).
#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let site = Site::new();
    let server = Server::start(&site.env, &[]);
    let body = json!({"address": "alice@example.com", "ip": "203.0.113.9"}).to_string();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let auth = format!("{scheme} {}", site.key);
        let answer = call_from(HERE, &server, "POST", "/v1/login/begin", &[("Authorization", &auth)], Some(&body));
        assert_eq!(answer.status, 200, "{scheme}: {:?}", answer.json);
    }
}

/// One address holds at most `serve.connections_per_address` connections; another address is
/// still served.
#[test]
fn one_address_cannot_hold_every_connection() {
    let site = Site::new();
    site.env.ok(&["settings", "set", "serve.connections_per_address", "4"]);
    let server = Server::start(&site.env, &[]);
    let held: Vec<_> = (0..4).map(|_| connect_from(ELSEWHERE, &server)).collect();
    // Four idle connections are held, not answered, while the server waits for their requests.
    let mut fifth = connect_from(ELSEWHERE, &server);
    fifth.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    let mut byte = [0u8; 1];
    let read = fifth.read(&mut byte);
    assert!(
        matches!(read, Ok(0)) || read.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the fifth connection from one address is closed at once: {read:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4), "closed, not left waiting");
    assert_eq!(call(&agent(), "GET", &server.url("/v1/health"), None, None).status, 200, "another address");
    drop(held);
}

/// A client limited to a post office acts for its mailboxes and no other's: a begin, a sign-in
/// and a settings call for another post office's mailbox are refused and audited.
fn a_client_limited_to_post_offices_acts_for_no_other() {
    let site = Site::new();
    site.env.ok(&["postoffice", "add", "other.org"]);
    site.env.ok(&["postoffice", "set", "other.org", "--challenge", "always"]);
    site.env.ok(&["mailbox", "add", "carol@other.org"]);
    let unknown = site.env.run(&["client", "add", "scoped", "--postoffice", "nowhere.example"]);
    assert_eq!(unknown.status, 2, "a post office that does not exist: {}", unknown.stderr);
    let scoped = api_key(&site.env, "scoped", &["--postoffice", "example.com"]);
    let listed = site.env.ok(&["client", "list", "--json"]).json();
    let entry = listed.as_array().unwrap().iter().find(|c| c["name"] == "scoped").unwrap().clone();
    assert_eq!(entry["postoffices"], json!(["example.com"]));
    let server = Server::start(&site.env, &[]);

    assert_eq!(begin(&server, &scoped, "alice@example.com").status, 200);
    let outside = begin(&server, &scoped, "carol@other.org");
    assert_eq!(outside.status, 403, "{:?}", outside.json);
    assert!(outside.json["error"].as_str().unwrap().contains("other.org"));
    let settings = call(&agent(), "GET", &server.url("/v1/users/carol@other.org/settings"), Some(&scoped), None);
    assert_eq!(settings.status, 403);
    assert_eq!(begin(&server, &site.key, "carol@other.org").status, 200, "a client without a limit acts for all");
    let refused: Vec<Value> = audit(&site.env)
        .into_iter()
        .filter(|e| e["outcome"] == "refused" && e["mailbox"].as_str().is_some_and(|m| m.contains("other.org")))
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
}

/// Alice's app shows `code_at_step(secret, step)` for a step not used yet.
fn fresh_code(secret: &[u8], used: &mut i64) -> String {
    let step = step_of(crate::common::fixtures::now()).max(*used + 1);
    *used = step;
    code_at_step(secret, step)
}

/// Alice enrolled with her app over the API: her secret and the last step she used.
fn alice_enrolled(server: &Server, key: &str) -> (Vec<u8>, i64) {
    let enrol = begin(server, key, "alice@example.com");
    let secret = secret_of(enrol.json["otpauth_uri"].as_str().unwrap());
    let mut used = 0;
    let code = fresh_code(&secret, &mut used);
    let accepted = verify(server, key, enrol.json["transaction_id"].as_str().unwrap(), &code);
    assert_eq!(accepted.json["result"], "accepted", "{:?}", accepted.json);
    (secret, used)
}

/// A step-up: a begin that asks for a code whatever the mode, and the token its code brings.
fn step_up(server: &Server, key: &str, secret: &[u8], used: &mut i64) -> String {
    let body = json!({"address": "alice@example.com", "ip": "203.0.113.9", "purpose": "step_up"});
    let begun = post(server, "/v1/login/begin", Some(key), body);
    assert_eq!(begun.json["decision"], "challenge", "a step-up asks for a code: {:?}", begun.json);
    assert_eq!(begun.json["reason"], "step_up");
    let transaction = begun.json["transaction_id"].as_str().unwrap();
    let accepted = verify(server, key, transaction, &fresh_code(secret, used));
    assert_eq!(accepted.json["result"], "accepted", "{:?}", accepted.json);
    accepted.json["step_up_token"].as_str().expect("a step-up token").to_owned()
}

/// `method path` of alice's with a key, a step-up token (or none) and a body.
fn alice_call(server: &Server, method: &str, path: &str, key: &str, token: Option<&str>, body: Option<Value>) -> u16 {
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(server.url(&format!("/v1/users/alice@example.com{path}")))
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "application/json");
    if let Some(token) = token {
        request = request.header("Mailmfa-Step-Up", token);
    }
    let request = request.body(body.map(|b| b.to_string()).unwrap_or_default()).unwrap();
    agent().run(request).unwrap().status().as_u16()
}

/// A new provider, SMS number or alternate address, new recovery codes and forgetting devices need
/// a fresh code: a step-up, whose token is good for this client and this mailbox only. The mode
/// alone needs none, and a step-up asks for a code even where the mode would not.
fn sensitive_changes_need_a_fresh_second_step() {
    let site = Site::new();
    site.env.ok(&["provider", "set", "sms", "--user-configurable", "true"]);
    let other = api_key(&site.env, "other", &[]);
    let server = Server::start(&site.env, &[]);
    let key = site.key.as_str();
    let (secret, mut used) = alice_enrolled(&server, key);
    site.env.ok(&["mailbox", "set", "alice@example.com", "--challenge", "never"]);
    assert_eq!(begin(&server, key, "alice@example.com").json["decision"], "allow", "her mode asks for nothing");

    let new_number = json!({"provider": "sms", "sms_number": "+15557654321"});
    let denied = [
        ("PUT", "/settings", Some(new_number.clone())),
        ("POST", "/recovery-codes", None),
        ("DELETE", "/devices", None),
    ];
    for (method, path, body) in &denied {
        assert_eq!(
            alice_call(&server, method, path, key, None, body.clone()),
            403,
            "{method} {path} without a step-up"
        );
        assert_eq!(alice_call(&server, method, path, key, Some("forged"), body.clone()), 403, "{method} {path}");
    }
    assert_eq!(site.env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json()["provider"], "totp");
    let mode_only = json!({"challenge": "new-ip"});
    assert_eq!(alice_call(&server, "PUT", "/settings", key, None, Some(mode_only)), 200, "the mode alone");

    let token = step_up(&server, key, &secret, &mut used);
    assert_eq!(
        alice_call(&server, "PUT", "/settings", &other, Some(&token), Some(new_number.clone())),
        403,
        "another client"
    );
    for (method, path, body) in denied {
        assert_eq!(alice_call(&server, method, path, key, Some(&token), body), 200, "{method} {path} after a step-up");
    }
    assert_eq!(site.env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json()["provider"], "sms");
    let text = serde_json::to_string(&audit(&site.env)).unwrap();
    assert!(!text.contains(&token), "a step-up token in the audit log");
}

/// A webmail keeps the transaction between its pages, not the secret: `/v1/login/enrolment` gives
/// the QR code of a transaction that waits for its first code, and of nothing else.
fn a_waiting_enrolment_gives_its_qr_code_and_nothing_else_does() {
    let site = Site::new();
    let other = api_key(&site.env, "other", &[]);
    let server = Server::start(&site.env, &[]);
    let key = site.key.as_str();
    let enrol = begin(&server, key, "alice@example.com");
    let transaction = enrol.json["transaction_id"].as_str().unwrap().to_owned();
    let fetched = post(&server, "/v1/login/enrolment", Some(key), json!({"transaction_id": transaction}));
    assert_eq!(fetched.status, 200, "{:?}", fetched.json);
    assert_eq!(fetched.json["otpauth_uri"], enrol.json["otpauth_uri"]);
    assert!(fetched.json["qr_png_base64"].as_str().is_some_and(|png| png.len() > 100));
    let another = post(&server, "/v1/login/enrolment", Some(&other), json!({"transaction_id": transaction}));
    assert_eq!(another.status, 404, "another client's transaction");
    let sms = begin(&server, key, "bob@example.com");
    let bob = json!({"transaction_id": sms.json["transaction_id"]});
    assert_eq!(post(&server, "/v1/login/enrolment", Some(key), bob).status, 404, "a transaction with no enrolment");
}

/// Requests turned away at the door — not JSON, too large, over a rate, no such route — leave one
/// audit entry per address and kind at once, and the count of the rest when the minute ends (here:
/// when the server stops), so a flood leaves a trace it cannot fill the log with.
#[test]
fn refusals_at_the_door_leave_a_counted_trace() {
    let site = Site::new();
    let server = Server::start(&site.env, &[]);
    let auth = format!("Bearer {}", site.key);
    for _ in 0..50 {
        let answer =
            call_from(HERE, &server, "POST", "/v1/login/begin", &[("Authorization", &auth)], Some("not json at all"));
        assert_eq!(answer.status, 400);
    }
    for _ in 0..3 {
        assert_eq!(call(&agent(), "GET", &server.url("/v1/no/such/route"), None, None).status, 404);
    }
    let big = json!({"pad": "x".repeat(20 * 1024)});
    assert_eq!(post(&server, "/v1/login/begin", Some(&site.key), big).status, 413);
    let refused = |env: &crate::common::TestEnv| -> Vec<String> {
        audit(env)
            .into_iter()
            .filter(|e| e["action"] == "http.refused")
            .map(|e| format!("{} {}", e["ip"].as_str().unwrap_or(""), e["detail"].as_str().unwrap_or("")))
            .collect()
    };
    // The writer records them as it gets to them: soon, not before the answers.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut first = refused(&site.env);
    while first.len() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        first = refused(&site.env);
    }
    assert_eq!(first.len(), 3, "one entry per kind at once: {first:?}");
    assert!(first.iter().any(|e| e == "127.0.0.1 400 body not the JSON expected"), "{first:?}");
    assert!(first.iter().any(|e| e == "127.0.0.1 404 no such route"), "{first:?}");
    assert!(first.iter().any(|e| e == "127.0.0.1 413 body too large"), "{first:?}");
    assert_eq!(server.stop(), Some(0));
    let all = refused(&site.env);
    assert_eq!(all.len(), 5, "and the rest counted: {all:?}");
    assert!(all.iter().any(|e| e.contains("400 body not the JSON expected: 49 more")), "{all:?}");
    assert!(all.iter().any(|e| e.contains("404 no such route: 2 more")), "{all:?}");
}

on_each_backend!(
    a_client_limited_to_post_offices_acts_for_no_other,
    sensitive_changes_need_a_fresh_second_step,
    a_waiting_enrolment_gives_its_qr_code_and_nothing_else_does,
);
