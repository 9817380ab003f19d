//! `mailmfa serve` as a webmail meets it: the real server on 127.0.0.1 and a real HTTP client.
//! Every endpoint and status of docs/DESIGN.md §8, API keys and source ranges, request limits, HTTPS,
//! and the race guarantees of §4 over HTTP — within one server's batches, between two servers, and
//! between a server and the command line. Here: the site the tests call ([`Site`]) and its
//! requests.

mod api;
mod hardening;
mod load;
mod mail_auth;
pub mod operations;
mod passkeys;

use crate::common::TestEnv;
use crate::common::fixtures::{alice_on_totp_and_bob_on_sms, api_key, six_digits, sms_gateway};
use crate::common::http_server::TestHttp;
use crate::common::serve::{Answer, Server, agent, call};
use serde_json::{Value, json};

/// A store with `example.com` (every login challenged): alice uses a TOTP app, bob gets SMS codes
/// from a real HTTP gateway on 127.0.0.1; and the API client `webmail`.
struct Site {
    env: TestEnv,
    gateway: TestHttp,
    key: String,
}

impl Site {
    fn new() -> Self {
        let env = TestEnv::new();
        alice_on_totp_and_bob_on_sms(&env);
        env.ok(&["postoffice", "set", "example.com", "--users-may-configure", "true"]);
        let gateway = sms_gateway(&env);
        env.ok(&["settings", "set", "code.sends_per_hour", "60"]);
        let key = api_key(&env, "webmail", &[]);
        Site { env, gateway, key }
    }

    /// The code of the last SMS the gateway received.
    fn last_sms_code(&self) -> String {
        let requests = self.gateway.requests();
        six_digits(requests.last().expect("an SMS was sent").json()["message"].as_str().unwrap())
    }
}

fn post(server: &Server, path: &str, key: Option<&str>, body: Value) -> Answer {
    call(&agent(), "POST", &server.url(path), key, Some(&body.to_string()))
}

fn begin(server: &Server, key: &str, address: &str) -> Answer {
    post(server, "/v1/login/begin", Some(key), json!({"address": address, "ip": "203.0.113.9"}))
}

fn verify(server: &Server, key: &str, transaction: &str, code: &str) -> Answer {
    post(server, "/v1/login/verify", Some(key), json!({"transaction_id": transaction, "code": code}))
}

fn audit(env: &TestEnv) -> Vec<Value> {
    env.ok(&["audit", "--json", "--limit", "10000"]).json().as_array().unwrap().clone()
}

/// A fresh second step for `address`: a step-up begin answered with `code`; the token it brings.
fn step_up(server: &Server, key: &str, address: &str, code: &str) -> String {
    let body = json!({"address": address, "ip": "203.0.113.9", "purpose": "step_up"});
    let begun = post(server, "/v1/login/begin", Some(key), body);
    let transaction = begun.json["transaction_id"].as_str().unwrap_or_else(|| panic!("{:?}", begun.json)).to_owned();
    let accepted = verify(server, key, &transaction, code);
    accepted.json["step_up_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no step-up token: {:?}", accepted.json))
        .to_owned()
}

/// Starts bob's login on `server` and returns the transaction and the code the gateway received.
fn bob_code(site: &Site, server: &Server) -> (String, String) {
    let challenge = begin(server, &site.key, "bob@example.com");
    assert_eq!(challenge.json["decision"], "challenge", "{:?}", challenge.json);
    (challenge.json["transaction_id"].as_str().unwrap().to_owned(), site.last_sms_code())
}
