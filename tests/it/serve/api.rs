//! The API as a webmail calls it: enrolment, codes sent again, self-service, access passes,
//! recovery codes and remembered devices; API keys, source ranges, proxies, bad requests and their
//! statuses; HTTPS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use super::{Site, audit, begin, post, step_up, verify};
use crate::common;
use crate::common::browser::decode_qr;
use crate::common::fixtures::{api_key, current_code, secret_of, strings};
use crate::common::serve::{Server, agent, call, call_with};
use crate::on_each_backend;
use mailmfa::domain::totp::{code_at_step, step_of};
use serde_json::{Value, json};

fn a_webmail_enrols_logs_in_and_resends_over_http() {
    let site = Site::new();
    let server = Server::start(&site.env, &[]);
    let key = site.key.as_str();
    the_health_check_answers(&server);
    let b32 = alice_enrols_with_the_qr_code(&server, key);
    let second = bob_signs_in_with_a_code_sent_again(&site, &server);
    self_service_follows_the_post_office_and_the_platform(&site, &server);

    // A dead gateway: the login fails closed with 503, and the code is void.
    site.env.ok(&["settings", "set", "sms.url", "http://127.0.0.1:9/dead"]);
    let dead = begin(&server, key, "bob@example.com");
    assert_eq!(dead.status, 503, "{:?}", dead.json);
    assert!(dead.json["error"].as_str().unwrap().contains("could not be sent"));

    let entries = audit(&site.env);
    for action in ["login.begin", "login.verify", "user.set", "login.send_code"] {
        assert!(entries.iter().any(|e| e["action"] == action), "{action} missing from the audit log");
    }
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains(&second) && !text.contains(&b32) && !text.contains(key), "a secret in the audit log");
    let log = server.log_once_it_has(dead.request_id.as_deref().unwrap());
    assert!(log.contains("not_sent") || log.contains("could not be sent"), "the failed delivery is in the log: {log}");
    assert!(!log.contains(&second) && !log.contains(&b32) && !log.contains(key), "a secret in the log: {log}");
    assert_eq!(server.stop(), Some(0), "a clean stop");
}

/// `/v1/health` says the service is up, on which kind of store, and its version.
fn the_health_check_answers(server: &Server) {
    let health = call(&agent(), "GET", &server.url("/v1/health"), None, None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json["status"], "ok");
    let kind = if common::backend() == common::Backend::Postgres { "server" } else { "local" };
    assert_eq!(health.json["store"], kind);
    assert_eq!(health.json["version"], env!("CARGO_PKG_VERSION"));
    assert!(health.content_type.as_deref().is_some_and(|t| t.starts_with("application/json")));
}

/// Enrolment: the QR code PNG decodes to the very otpauth URI of the answer, and the first code
/// ends the transaction. The secret in Base32.
fn alice_enrols_with_the_qr_code(server: &Server, key: &str) -> String {
    let enrol = begin(server, key, "alice@example.com");
    assert_eq!(enrol.status, 200, "{:?}", enrol.json);
    assert_eq!(enrol.json["decision"], "enroll");
    assert_eq!(enrol.json["expires_in"], 600);
    let uri = enrol.json["otpauth_uri"].as_str().unwrap();
    let png = base64_decode(enrol.json["qr_png_base64"].as_str().unwrap());
    assert_eq!(decode_qr(&png), uri);
    let transaction = enrol.json["transaction_id"].as_str().unwrap();
    assert_eq!(transaction.len(), 32);
    let b32 = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap();
    let wrong = verify(server, key, transaction, "000000");
    assert_eq!(wrong.json, json!({"result": "rejected", "reason": "invalid_code"}));
    let code = current_code(&secret_of(uri));
    let accepted = verify(server, key, transaction, &code).json;
    assert_eq!(accepted["result"], "accepted", "{accepted}");
    assert_eq!(accepted["recovery_codes"].as_array().map(Vec::len), Some(10), "the enrolment brings recovery codes");
    let ended = verify(server, key, transaction, &code);
    assert_eq!(ended.status, 404, "the transaction ended at the accepted code: {:?}", ended.json);
    assert!(ended.json["error"].as_str().unwrap().contains("transaction"));
    b32.to_owned()
}

/// A challenge by SMS, a resend that voids the first code, and the login. The code that signed in.
fn bob_signs_in_with_a_code_sent_again(site: &Site, server: &Server) -> String {
    let key = site.key.as_str();
    let challenge = begin(server, key, "bob@example.com");
    assert_eq!(challenge.json["decision"], "challenge");
    assert_eq!(challenge.json["provider"], "sms");
    assert_eq!(challenge.json["sent_to"], "+•••••••••67");
    let transaction = challenge.json["transaction_id"].as_str().unwrap();
    let first = site.last_sms_code();
    let resent = post(server, "/v1/login/resend", Some(key), json!({"transaction_id": transaction}));
    assert_eq!(resent.status, 200);
    assert_eq!(resent.json, json!({"sent_to": "+•••••••••67"}));
    let second = site.last_sms_code();
    if first != second {
        assert_eq!(verify(server, key, transaction, &first).json["reason"], "invalid_code", "the old code is void");
    }
    assert_eq!(verify(server, key, transaction, &second).json, json!({"result": "accepted"}));
    second
}

/// Self-service through the API: only where the post office and the platform allow it.
fn self_service_follows_the_post_office_and_the_platform(site: &Site, server: &Server) {
    let key = site.key.as_str();
    let settings = |body: Value| {
        call(&agent(), "PUT", &server.url("/v1/users/alice@example.com/settings"), Some(key), Some(&body.to_string()))
    };
    let shown = call(&agent(), "GET", &server.url("/v1/users/bob@example.com/settings"), Some(key), None);
    assert_eq!(shown.status, 200, "{:?}", shown.json);
    assert_eq!(
        shown.json,
        json!({"address": "bob@example.com", "challenge": "inherit", "effective_challenge": "always",
               "may_change_challenge": true, "provider": "sms", "providers": ["totp", "sms", "smtp"],
               "sms_number": "+•••••••••67", "alt_email": null, "recovery_codes_left": 0,
               "remembered_devices": 0,
               "choices": {
                   "challenge": [
                       {"value": "inherit", "label": "As my organisation decides"},
                       {"value": "never", "label": "Never"},
                       {"value": "always", "label": "At every sign-in"},
                       {"value": "new-ip", "label": "When I sign in from a new IP address"},
                       {"value": "new-country", "label": "When I sign in from a new country"}],
                   "provider": [
                       {"value": "totp", "label": "Authenticator app"},
                       {"value": "sms", "label": "Text message (SMS)"},
                       {"value": "smtp", "label": "E-mail to another address"},
                       {"value": "passkey", "label": "Passkey or security key"}]}}),
        "the settings page shows what applies, and the number only masked"
    );
    let changed = settings(json!({"challenge": "new-ip"}));
    assert_eq!(changed.status, 200, "{:?}", changed.json);
    assert_eq!(
        (
            &changed.json["address"],
            &changed.json["challenge"],
            &changed.json["effective_challenge"],
            &changed.json["provider"]
        ),
        (&json!("alice@example.com"), &json!("new-ip"), &json!("new-ip"), &json!("totp"))
    );
    let unknown = call(&agent(), "GET", &server.url("/v1/users/nobody@example.com/settings"), Some(key), None);
    assert_eq!(unknown.status, 400, "{:?}", unknown.json);
    assert_eq!(unknown.json["error"], "there is no mailbox nobody@example.com");
    assert_eq!(call(&agent(), "GET", &server.url("/v1/users/bob@example.com/settings"), None, None).status, 401);
    site.env.ok(&["provider", "set", "sms", "--user-configurable", "false"]);
    let refused = settings(json!({"provider": "sms", "sms_number": "+15557654321"}));
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json["reason"], "provider_not_user_configurable");
    site.env.ok(&["postoffice", "set", "example.com", "--users-may-configure", "false"]);
    assert_eq!(settings(json!({"challenge": "always"})).json["reason"], "self_service_off");
    assert_eq!(settings(json!({"challenge": "sometimes"})).status, 400);
    assert_eq!(settings(json!({"colour": "blue"})).status, 400);
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

#[test]
fn keys_sources_and_bad_requests_get_their_status() {
    let site = Site::new();
    let only_ten = api_key(&site.env, "elsewhere", &["--allow", "10.0.0.0/8"]);
    let removed = api_key(&site.env, "old", &[]);
    site.env.ok(&["client", "remove", "old"]);
    let server = Server::start(&site.env, &[]);
    let key = site.key.as_str();
    let body = json!({"address": "alice@example.com", "ip": "203.0.113.9"});

    let missing = post(&server, "/v1/login/begin", None, body.clone());
    assert_eq!(missing.status, 401);
    let other_last = if key.ends_with('x') { 'y' } else { 'x' };
    let wrong = format!("{}{other_last}", &key[..key.len() - 1]);
    for bad in [wrong.as_str(), removed.as_str(), "mmfa_", "Basic abc", "mmfa_zzzzzzzzzzzz_secret"] {
        let answer = post(&server, "/v1/login/begin", Some(bad), body.clone());
        assert_eq!(answer.status, 401, "{bad}: {:?}", answer.json);
        assert_eq!(answer.json["error"], "the API key is not valid");
    }
    let outside = post(&server, "/v1/login/begin", Some(&only_ten), body.clone());
    assert_eq!(outside.status, 403);
    assert!(outside.json["error"].as_str().unwrap().contains("127.0.0.1"));
    let refusals: Vec<Value> = audit(&site.env).into_iter().filter(|e| e["action"] == "api.auth").collect();
    assert_eq!(refusals.len(), 7, "{refusals:?}");
    assert!(refusals.iter().all(|e| e["outcome"] == "refused"));

    let big = json!({"address": "alice@example.com", "ip": "203.0.113.9", "pad": "x".repeat(17 * 1024)});
    assert_eq!(post(&server, "/v1/login/begin", Some(key), big).status, 413);
    let agent = agent();
    let as_text = agent
        .post(server.url("/v1/login/begin"))
        .header("Authorization", format!("Bearer {key}"))
        .content_type("text/plain")
        .send(body.to_string())
        .unwrap();
    let as_text = common::serve::answer(as_text);
    assert_eq!(as_text.status, 415);
    assert!(as_text.json["error"].is_string());
    let malformed = agent
        .post(server.url("/v1/login/begin"))
        .header("Authorization", format!("Bearer {key}"))
        .content_type("application/json")
        .send("{\"address\": ")
        .unwrap();
    assert_eq!(common::serve::answer(malformed).status, 400);
    assert_eq!(post(&server, "/v1/login/begin", Some(key), json!({"address": "alice"})).status, 400);
    let bad_ip = post(&server, "/v1/login/begin", Some(key), json!({"address": "alice@example.com", "ip": "1.2.3"}));
    assert_eq!(bad_ip.status, 400);
    assert!(bad_ip.json["error"].as_str().unwrap().contains("IP address"));
    assert_eq!(post(&server, "/v1/nothing", Some(key), json!({})).status, 404);
    assert_eq!(call(&agent, "GET", &server.url("/v1/login/begin"), Some(key), None).status, 405);

    // A transaction is bound to the client that began it.
    let other = api_key(&site.env, "second", &[]);
    let started = begin(&server, key, "alice@example.com");
    let transaction = started.json["transaction_id"].as_str().unwrap();
    assert_eq!(verify(&server, &other, transaction, "123456").status, 404);
    assert_eq!(verify(&server, key, "feedfacefeedfacefeedfacefeedface", "123456").status, 404);
    assert_eq!(verify(&server, key, transaction, "12345").status, 400);
}

/// Behind a reverse proxy listed in `serve.trusted_proxies`, the caller is the address the proxy
/// forwards (`X-Forwarded-For`): a client allowed only from 203.0.113.0/24 gets in through the
/// proxy, and a caller that names itself in the header without a trusted proxy does not.
#[test]
fn x_forwarded_for_counts_only_from_trusted_proxies() {
    let site = Site::new();
    let office = api_key(&site.env, "office", &["--allow", "203.0.113.0/24"]);
    let body = json!({"address": "alice@example.com", "ip": "203.0.113.9"}).to_string();
    let begin_via = |server: &Server, forwarded: Option<&str>| {
        let mut request = ureq::http::Request::builder()
            .method("POST")
            .uri(server.url("/v1/login/begin"))
            .header("Authorization", format!("Bearer {office}"))
            .header("Content-Type", "application/json");
        if let Some(forwarded) = forwarded {
            request = request.header("X-Forwarded-For", forwarded);
        }
        common::serve::answer(agent().run(request.body(body.clone()).unwrap()).unwrap())
    };

    // No trusted proxy: the header is the caller's own claim and changes nothing.
    let server = Server::start(&site.env, &[]);
    assert_eq!(begin_via(&server, None).status, 403);
    assert_eq!(begin_via(&server, Some("203.0.113.5")).status, 403, "a caller named itself");
    assert_eq!(server.stop(), Some(0));

    // 127.0.0.1 is a trusted proxy: the address it appended is the caller.
    site.env.ok(&["settings", "set", "serve.trusted_proxies", "127.0.0.0/8"]);
    let server = Server::start(&site.env, &[]);
    assert_eq!(begin_via(&server, Some("203.0.113.5")).status, 200);
    // What the caller wrote before the proxy's hop does not count: the proxy's hop does.
    assert_eq!(begin_via(&server, Some("203.0.113.5, 198.51.100.7")).status, 403);
    assert_eq!(begin_via(&server, Some("198.51.100.7, 203.0.113.5")).status, 200);
    assert_eq!(begin_via(&server, Some("not an address")).status, 403, "a broken header names the proxy");
    assert_eq!(begin_via(&server, None).status, 403);
    let refusal = audit(&site.env).into_iter().find(|e| e["action"] == "api.auth").unwrap();
    assert!(refusal["detail"].as_str().unwrap().contains("may not call from 127.0.0.1"), "{refusal}");
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn https_with_a_certificate_and_no_plain_http_beyond_loopback() {
    let site = Site::new();
    let refused = site.env.run(&["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(refused.status, 2);
    assert!(
        refused.stderr.contains("not a loopback address") && refused.stderr.contains("serve.tls_cert"),
        "{}",
        refused.stderr
    );

    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    std::fs::write(site.env.path("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(site.env.path("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    site.env.ok(&["settings", "set", "serve.tls_cert", site.env.path("cert.pem").to_str().unwrap()]);
    site.env.ok(&["settings", "set", "serve.tls_key", site.env.path("key.pem").to_str().unwrap()]);
    site.env.ok(&["settings", "set", "serve.admin", "true"]);
    let server = Server::start(&site.env, &["--listen", "0.0.0.0:0"]);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let port = server.base.rsplit(':').next().unwrap();
    let root = ureq::tls::Certificate::from_der(cert.cert.der()).to_owned();
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root]))).build();
    let agent = ureq::Agent::new_with_config(
        ureq::config::Config::builder().tls_config(tls).proxy(None).http_status_as_error(false).build(),
    );
    let health = common::serve::answer(agent.get(format!("https://localhost:{port}/v1/health")).call().unwrap());
    assert_eq!(health.status, 200);
    let begun = common::serve::answer(
        agent
            .post(format!("https://127.0.0.1:{port}/v1/login/begin"))
            .header("Authorization", format!("Bearer {}", site.key))
            .content_type("application/json")
            .send(json!({"address": "alice@example.com", "ip": "203.0.113.9"}).to_string())
            .unwrap(),
    );
    assert_eq!(begun.json["decision"], "enroll");
    // The web administration's cookies go over HTTPS only, when it is served so.
    let signin = agent.get(format!("https://127.0.0.1:{port}/admin/signin")).call().unwrap();
    let cookie = signin.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let plain = TcpStream::connect(format!("127.0.0.1:{port}")).and_then(|mut s| {
        s.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut out = Vec::new();
        drop(s.read_to_end(&mut out));
        Ok(out)
    });
    assert!(!String::from_utf8_lossy(&plain.unwrap_or_default()).contains("\"status\""), "plain HTTP answered");
}

/// A temporary access pass goes through `/v1/login/verify` like a code.
fn an_access_pass_verifies_over_the_api() {
    let site = Site::new();
    let server = Server::start(&site.env, &[]);
    let key = site.key.as_str();
    let pass = site.env.ok(&["mailbox", "tap", "alice@example.com", "--once", "--json"]).json()["tap"]
        .as_str()
        .unwrap()
        .to_owned();
    let begun = begin(&server, key, "alice@example.com");
    let transaction = begun.json["transaction_id"].as_str().unwrap().to_owned();
    assert_eq!(verify(&server, key, &transaction, "zzzzz-zzzzz").json["reason"], "invalid_code");
    assert_eq!(verify(&server, key, &transaction, &pass).json, json!({"result": "accepted"}));
    let text = serde_json::to_string(&audit(&site.env)).unwrap();
    assert!(!text.contains(&pass) && !text.contains(&pass.replace('-', "")), "the pass in the audit log");
    assert_eq!(server.stop(), Some(0));
}

/// Recovery codes over the API: the enrolment's verify answer carries them once, one of them
/// verifies once in place of a code, the settings page counts what is left, and a user's request
/// for new ones voids the old (audited, and no code in the audit log).
fn recovery_codes_over_the_api() {
    let site = Site::new();
    let server = Server::start(&site.env, &[]);
    let key = site.key.as_str();
    let enrol = begin(&server, key, "alice@example.com");
    let transaction = enrol.json["transaction_id"].as_str().unwrap().to_owned();
    let uri = enrol.json["otpauth_uri"].as_str().unwrap();
    let accepted = verify(&server, key, &transaction, &current_code(&secret_of(uri))).json;
    let codes = strings(&accepted["recovery_codes"]);
    assert_eq!(codes.len(), 10);

    let left = |server: &Server| {
        call(&agent(), "GET", &server.url("/v1/users/alice@example.com/settings"), Some(key), None).json
            ["recovery_codes_left"]
            .clone()
    };
    assert_eq!(left(&server), 10);
    let transaction = begin(&server, key, "alice@example.com").json["transaction_id"].as_str().unwrap().to_owned();
    assert_eq!(verify(&server, key, &transaction, &codes[3]).json, json!({"result": "accepted"}));
    let transaction = begin(&server, key, "alice@example.com").json["transaction_id"].as_str().unwrap().to_owned();
    assert_eq!(verify(&server, key, &transaction, &codes[3]).json["reason"], "invalid_code", "used once");
    assert_eq!(left(&server), 9);

    let url = server.url("/v1/users/alice@example.com/recovery-codes");
    assert_eq!(call(&agent(), "POST", &url, None, Some("{}")).status, 401);
    assert_eq!(call(&agent(), "POST", &url, Some(key), None).json["reason"], "step_up_required");
    let token = step_up(&server, key, "alice@example.com", &codes[5]);
    let renewed = call_with(&agent(), "POST", &url, Some(key), &[("Mailmfa-Step-Up", &token)], None);
    assert_eq!(renewed.status, 200, "{:?}", renewed.json);
    assert_eq!(renewed.json["address"], "alice@example.com");
    let new = strings(&renewed.json["recovery_codes"]);
    assert_eq!(new.len(), 10);
    assert_eq!(left(&server), 10);
    assert_eq!(verify(&server, key, &transaction, &codes[4]).json["reason"], "invalid_code", "the old set is void");
    assert_eq!(verify(&server, key, &transaction, &new[0]).json["result"], "accepted");
    let unknown = call(&agent(), "POST", &server.url("/v1/users/nobody@example.com/recovery-codes"), Some(key), None);
    assert_eq!(unknown.status, 400, "{:?}", unknown.json);

    let entries = audit(&site.env);
    assert!(entries.iter().any(|e| e["action"] == "user.recovery_codes" && e["outcome"] == "ok"), "{entries:?}");
    let text = serde_json::to_string(&entries).unwrap();
    for code in codes.iter().chain(&new) {
        assert!(!text.contains(code.as_str()) && !text.contains(&code.replace('-', "")), "{code} in the audit log");
    }
    assert_eq!(server.stop(), Some(0));
}

/// Remembering a device over the API: `begin` says for how many days a device may be remembered,
/// `verify` with `"remember": true` answers its token, and a `begin` that brings the token is let
/// through without a transaction; a forged token is not, and neither is the token once forgotten.
fn a_remembered_device_over_the_api() {
    let site = Site::new();
    site.env.ok(&["settings", "set", "remember.days", "7"]);
    // Prompt Always asks a remembered device too, unless the post office lets it skip.
    site.env.ok(&["postoffice", "set", "example.com", "--remember-in-always", "true"]);
    let server = Server::start(&site.env, &[]);
    let key = site.key.as_str();
    let enrol = begin(&server, key, "alice@example.com");
    assert_eq!(enrol.json["remember_days"], 7, "{:?}", enrol.json);
    let uri = enrol.json["otpauth_uri"].as_str().unwrap();
    let body = json!({"transaction_id": enrol.json["transaction_id"], "code": current_code(&secret_of(uri)),
                      "remember": true});
    let accepted = post(&server, "/v1/login/verify", Some(key), body).json;
    assert_eq!(accepted["result"], "accepted", "{accepted}");
    let token = accepted["device_token"].as_str().expect("a device token").to_owned();

    let on_device = |token: &str| {
        post(
            &server,
            "/v1/login/begin",
            Some(key),
            json!({"address": "alice@example.com", "ip": "198.51.100.4",
                                                           "device_token": token}),
        )
        .json
    };
    assert_eq!(on_device(&token), json!({"decision": "allow", "reason": "remembered_device"}));
    assert_eq!(on_device("forged-token")["decision"], "challenge");
    assert_eq!(begin(&server, key, "alice@example.com").json["decision"], "challenge", "not without the token");
    let settings = server.url("/v1/users/alice@example.com/settings");
    assert_eq!(call(&agent(), "GET", &settings, Some(key), None).json["remembered_devices"], 1);
    // The user forgets their remembered devices from the webmail's settings page.
    let devices = server.url("/v1/users/alice@example.com/devices");
    assert_eq!(call(&agent(), "DELETE", &devices, None, None).status, 401);
    assert_eq!(call(&agent(), "DELETE", &devices, Some(key), None).json["reason"], "step_up_required");
    let next = code_at_step(&secret_of(uri), step_of(crate::common::fixtures::now()) + 1);
    let fresh = step_up(&server, key, "alice@example.com", &next);
    let forgotten = call_with(&agent(), "DELETE", &devices, Some(key), &[("Mailmfa-Step-Up", &fresh)], None);
    assert_eq!(forgotten.status, 200, "{:?}", forgotten.json);
    assert_eq!(forgotten.json["remembered_devices"], 0);
    assert_eq!(on_device(&token)["decision"], "challenge", "forgotten");
    assert!(audit(&site.env).iter().any(|e| e["action"] == "user.forget_devices" && e["outcome"] == "ok"));
    let text = serde_json::to_string(&audit(&site.env)).unwrap();
    assert!(!text.contains(&token), "the token in the audit log");
    assert_eq!(server.stop(), Some(0));
}

/// The service keeps the API keys it verified, to check them again without a keyed hash: a
/// client removed by another process is refused at once all the same, by the writer's requests
/// and by the mail sign-in check's readers, and a client added meanwhile is let in.
fn a_removed_client_is_refused_at_once_though_its_key_was_verified_before() {
    let site = Site::new();
    let doomed = api_key(&site.env, "doomed", &[]);
    let server = Server::start(&site.env, &[]);
    let mail = json!({"address": "alice@example.com", "password": null, "verified": true, "protocol": "imap"});
    for _ in 0..3 {
        assert_eq!(begin(&server, &doomed, "alice@example.com").status, 200);
        assert_eq!(post(&server, "/v1/mail/auth", Some(&doomed), mail.clone()).status, 200);
    }
    site.env.ok(&["client", "remove", "doomed"]);
    let removed = begin(&server, &doomed, "alice@example.com");
    assert_eq!(removed.status, 401, "{:?}", removed.json);
    for _ in 0..4 {
        assert_eq!(post(&server, "/v1/mail/auth", Some(&doomed), mail.clone()).status, 401, "a reader kept it");
    }
    let newcomer = api_key(&site.env, "newcomer", &[]);
    assert_eq!(post(&server, "/v1/mail/auth", Some(&newcomer), mail.clone()).status, 200);
    assert_eq!(begin(&server, &newcomer, "alice@example.com").status, 200);
    assert_eq!(begin(&server, site.key.as_str(), "alice@example.com").status, 200, "the others' keys still work");
}

/// Every audit entry names who did it (DESIGN §12), as `kind:name`: the command line that set the
/// site up, the API client's own logins and the refusal of its request, the user's own change on
/// the webmail's settings page, and a request whose caller is not known.
fn every_audit_entry_names_its_actor() {
    let site = Site::new();
    let server = Server::start(&site.env, &[]);
    let key = site.key.as_str();
    let enrol = begin(&server, key, "alice@example.com");
    assert_eq!(enrol.json["decision"], "enroll", "{:?}", enrol.json);
    let bad = post(&server, "/v1/login/begin", Some(key), json!({"address": "not an address", "ip": "203.0.113.9"}));
    assert_eq!(bad.status, 400, "{:?}", bad.json);
    let settings = server.url("/v1/users/bob@example.com/settings");
    let changed = call(&agent(), "PUT", &settings, Some(key), Some(&json!({"challenge": "new-ip"}).to_string()));
    assert_eq!(changed.status, 200, "{:?}", changed.json);
    let stranger = begin(&server, "not-a-key", "alice@example.com");
    assert_eq!(stranger.status, 401, "{:?}", stranger.json);
    assert_eq!(server.stop(), Some(0));

    let entries = audit(&site.env);
    let actors = |action: &str, outcome: &str| -> Vec<String> {
        let mut found: Vec<String> = entries
            .iter()
            .filter(|e| e["action"] == action && e["outcome"] == outcome)
            .map(|e| e["actor"].as_str().unwrap().to_owned())
            .collect();
        found.dedup();
        found
    };
    let cli = format!("cli:{}", mailmfa::service::os_user());
    assert_eq!(actors("postoffice.set", "ok"), [cli.as_str()], "the command line");
    assert_eq!(actors("login.begin", "enroll"), ["api:webmail"], "the client's login");
    assert_eq!(actors("login.begin", "invalid_input"), ["api:webmail"], "the client's refused request");
    assert_eq!(actors("user.set", "ok"), ["user:bob@example.com"], "the user's own change");
    assert_eq!(actors("api.auth", "refused"), ["service:http"], "a caller not known");
    let kinds = ["cli:", "console:", "web:", "api:", "user:", "service:"];
    for entry in &entries {
        let actor = entry["actor"].as_str().unwrap();
        assert!(kinds.iter().any(|kind| actor.starts_with(kind)), "an actor of no kind: {entry}");
    }
}

on_each_backend!(
    every_audit_entry_names_its_actor,
    a_webmail_enrols_logs_in_and_resends_over_http,
    an_access_pass_verifies_over_the_api,
    recovery_codes_over_the_api,
    a_remembered_device_over_the_api,
    a_removed_client_is_refused_at_once_though_its_key_was_verified_before,
);
