//! Passkeys over the real `mailmfa serve` (DESIGN §14), with a software authenticator standing in
//! for the browser on the webmail's own page (`http://localhost:8443`, RP ID `localhost`): the
//! enrolment and sign-in, each way an answer is refused (and audited), user verification, recovery
//! codes, the access pass, the administrators' commands, and a webmail's *Passkeys* page (list, add
//! after a step-up, name, rename, remove).

use serde_json::{Value, json};

use super::{audit, post};
use crate::common::TestEnv;
use crate::common::authenticator::{SoftKey, tampered};
use crate::common::fixtures::api_key;
use crate::common::serve::{Answer, Server, agent, call, call_with};
use crate::on_each_backend;

const ORIGIN: &str = "http://localhost:8443";

fn begin(server: &Server, key: &str, address: &str) -> Answer {
    let begun = post(server, "/v1/login/begin", Some(key), json!({"address": address, "ip": "203.0.113.9"}));
    assert_eq!(begun.status, 200, "{:?}", begun.json);
    begun
}

fn answer(server: &Server, key: &str, transaction: &str, webauthn: &Value) -> Answer {
    post(server, "/v1/login/verify", Some(key), json!({"transaction_id": transaction, "webauthn": webauthn}))
}

fn transaction(begun: &Answer) -> String {
    begun.json["transaction_id"].as_str().unwrap().to_owned()
}

/// Begins a login of `address` and answers its ceremony with `key`: the verify's JSON.
fn sign_in(server: &Server, api: &str, address: &str, key: &mut SoftKey) -> Value {
    let begun = begin(server, api, address);
    assert_eq!(begun.json["decision"], "challenge", "{:?}", begun.json);
    let assertion = key.assert(&begun.json["webauthn"]);
    answer(server, api, &transaction(&begun), &assertion).json
}

fn rejected() -> Value {
    json!({"result": "rejected", "reason": "invalid_code"})
}

/// `example.com` challenges every login; carol and dave sign in with passkeys; the webmail's
/// client runs the ceremony on its own page.
fn passkey_site() -> (TestEnv, String) {
    let env = TestEnv::new();
    env.ok(&["postoffice", "add", "example.com"]);
    env.ok(&["postoffice", "set", "example.com", "--challenge", "always"]);
    env.ok(&["settings", "set", "lockout.threshold", "100"]);
    for mailbox in ["carol@example.com", "dave@example.com"] {
        env.ok(&["mailbox", "add", mailbox]);
        env.ok(&["mailbox", "set", mailbox, "--provider", "passkey"]);
    }
    let key = api_key(&env, "webmail", &["--origin", ORIGIN]);
    (env, key)
}

fn passkeys_enrol_sign_in_and_refuse_over_http() {
    let (env, api) = passkey_site();
    let server = Server::start(&env, &[]);
    let api = api.as_str();

    // Enrolment: creation options for localhost, a registration, recovery codes.
    let enrol = begin(&server, api, "carol@example.com");
    assert_eq!(enrol.json["decision"], "enroll", "{:?}", enrol.json);
    assert_eq!(enrol.json["provider"], "passkey");
    assert!(enrol.json.get("qr_png_base64").is_none() && enrol.json.get("otpauth_uri").is_none());
    let options = &enrol.json["webauthn"];
    assert_eq!(options["rp"]["id"], "localhost", "{options}");
    assert!(options.get("hints").is_none(), "any kind of passkey is offered: {options}");
    let mut carol = SoftKey::new("localhost", ORIGIN);
    let registered = answer(&server, api, &transaction(&enrol), &carol.register(options));
    assert_eq!(registered.json["result"], "accepted", "{:?}", registered.json);
    let codes = registered.json["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(codes.len(), 10, "the enrolment brings recovery codes");
    let again = answer(&server, api, &transaction(&enrol), &carol.register(options));
    assert_eq!(again.status, 404, "the transaction ended at the accepted registration: {:?}", again.json);

    let listed = env.ok(&["mailbox", "passkeys", "carol@example.com", "--json"]).json();
    let passkeys = listed["passkeys"].as_array().unwrap();
    assert_eq!(passkeys.len(), 1, "{listed}");
    assert_eq!(passkeys[0]["name"], "Passkey");
    assert_eq!(passkeys[0]["aaguid"], "6d61696c-6d66-612d-7465-73746b657921", "the AAGUID it reported");
    let table = env.ok(&["mailbox", "passkeys", "carol@example.com"]).stdout;
    assert!(table.contains("NAME") && table.contains("Passkey"), "{table}");

    // Sign-in with it; its assertion cannot be used again in another transaction.
    let begun = begin(&server, api, "carol@example.com");
    assert_eq!(begun.json["decision"], "challenge");
    let allowed = begun.json["webauthn"]["allowCredentials"].as_array().unwrap();
    assert_eq!(allowed.len(), 1, "{:?}", begun.json);
    let assertion = carol.assert(&begun.json["webauthn"]);
    assert_eq!(answer(&server, api, &transaction(&begun), &assertion).json["result"], "accepted");
    let replay = begin(&server, api, "carol@example.com");
    assert_eq!(answer(&server, api, &transaction(&replay), &assertion).json, rejected(), "a replayed assertion");
    let twice = answer(&server, api, &transaction(&replay), &carol.assert(&replay.json["webauthn"]));
    assert_eq!(
        twice.json,
        json!({"result": "rejected", "reason": "no_challenge"}),
        "the challenge was answered once, however it was answered"
    );

    // The wrong origin, the wrong RP ID, a tampered signature: refused.
    carol.origin = "http://localhost:9999".to_owned();
    assert_eq!(sign_in(&server, api, "carol@example.com", &mut carol), rejected(), "another origin");
    carol.origin = ORIGIN.to_owned();
    carol.rp_id = "example.org".to_owned();
    assert_eq!(sign_in(&server, api, "carol@example.com", &mut carol), rejected(), "another RP ID");
    carol.rp_id = "localhost".to_owned();
    let begun = begin(&server, api, "carol@example.com");
    let forged = tampered(&carol.assert(&begun.json["webauthn"]));
    assert_eq!(answer(&server, api, &transaction(&begun), &forged).json, rejected(), "a tampered signature");

    // Another mailbox's passkey does not sign carol in.
    let dave_enrols = begin(&server, api, "dave@example.com");
    let mut dave = SoftKey::new("localhost", ORIGIN);
    dave.verifies_user = false;
    let dave_registered =
        answer(&server, api, &transaction(&dave_enrols), &dave.register(&dave_enrols.json["webauthn"]));
    assert_eq!(dave_registered.json["result"], "accepted");
    assert_eq!(sign_in(&server, api, "carol@example.com", &mut dave), rejected(), "dave's passkey for carol");

    // A counter that goes back: a possible clone.
    let counter = carol.counter;
    carol.counter = 0;
    assert_eq!(sign_in(&server, api, "carol@example.com", &mut carol), rejected(), "a counter gone back");
    carol.counter = counter;
    assert_eq!(
        sign_in(&server, api, "carol@example.com", &mut carol)["result"],
        "accepted",
        "the real key still works"
    );

    // User verification: a passkey that verified its user at registration must always verify it
    // (webauthn-rs's rule); one registered on a touch alone signs in on a touch, until the
    // platform requires verification.
    carol.verifies_user = false;
    assert_eq!(sign_in(&server, api, "carol@example.com", &mut carol), rejected(), "carol's key verified before");
    carol.verifies_user = true;
    assert_eq!(sign_in(&server, api, "dave@example.com", &mut dave)["result"], "accepted", "presence is enough");
    env.ok(&["settings", "set", "passkey.require_uv", "true"]);
    let begun = begin(&server, api, "dave@example.com");
    assert_eq!(begun.json["webauthn"]["userVerification"], "required", "{:?}", begun.json);
    let unverified = dave.assert(&begun.json["webauthn"]);
    assert_eq!(answer(&server, api, &transaction(&begun), &unverified).json, rejected(), "no user verification");
    dave.verifies_user = true;
    assert_eq!(sign_in(&server, api, "dave@example.com", &mut dave)["result"], "accepted", "with user verification");

    // A recovery code still signs a passkey mailbox in.
    let begun = begin(&server, api, "carol@example.com");
    let code = codes[0].as_str().unwrap();
    let recovered =
        post(&server, "/v1/login/verify", Some(api), json!({"transaction_id": transaction(&begun), "code": code}));
    assert_eq!(recovered.json["result"], "accepted", "{:?}", recovered.json);

    let entries = audit(&env);
    let details: Vec<String> = entries
        .iter()
        .filter(|e| e["action"] == "login.verify")
        .map(|e| format!("{} {}", e["outcome"], e["detail"].as_str().unwrap_or("")))
        .collect();
    for wanted in [
        "passkey \"Passkey\" registered; 10 recovery codes issued",
        "no such login transaction",
        "challenge differs",
        "no passkey challenge outstanding",
        "relying party origin does not match",
        "relying party id hash does not match",
        "Authentication has failed",
        "not a credential of this mailbox",
        "possible clone",
        "user verified bit is not set",
        "user verification required",
        "recovery_code used",
    ] {
        assert!(details.iter().any(|d| d.contains(wanted)), "no login.verify entry says {wanted:?}: {details:#?}");
    }
    let refusals = details.iter().filter(|d| d.contains("refused")).count();
    assert!(refusals >= 7, "each refusal is audited: {details:#?}");
    let coverage = env.ok(&["report", "coverage", "--json"]).json();
    assert_eq!(coverage["total"]["passkeys"], 2, "{coverage}");
    assert_eq!(coverage["total"]["with_passkeys"], 2, "{coverage}");
    assert_eq!(coverage["total"]["status"]["enrolled"], 2, "{coverage}");
    assert_eq!(server.stop(), Some(0));
}

fn administrators_list_remove_and_reset_passkeys() {
    let (env, api) = passkey_site();
    let server = Server::start(&env, &[]);
    for (mailbox, name) in [("carol@example.com", "carol"), ("dave@example.com", "dave")] {
        let enrol = begin(&server, &api, mailbox);
        let mut key = SoftKey::new("localhost", ORIGIN);
        let registered = answer(&server, &api, &transaction(&enrol), &key.register(&enrol.json["webauthn"]));
        assert_eq!(registered.json["result"], "accepted", "{name}: {:?}", registered.json);
    }
    // A lost passkey: the administrator's temporary access pass signs the mailbox in instead.
    let pass =
        env.ok(&["mailbox", "tap", "carol@example.com", "--once", "--json"]).json()["tap"].as_str().unwrap().to_owned();
    let begun = begin(&server, &api, "carol@example.com");
    assert_eq!(begun.json["decision"], "challenge", "{:?}", begun.json);
    let verify = json!({"transaction_id": transaction(&begun), "code": pass});
    let passed = post(&server, "/v1/login/verify", Some(&api), verify);
    assert_eq!(passed.json["result"], "accepted", "the access pass works for a passkey mailbox: {:?}", passed.json);
    env.ok(&["mailbox", "passkey-remove", "carol@example.com", "Passkey"]);
    let listed = env.ok(&["mailbox", "passkeys", "carol@example.com", "--json"]).json();
    assert_eq!(listed["passkeys"], json!([]), "{listed}");
    let missing = env.run(&["mailbox", "passkey-remove", "carol@example.com", "Passkey"]);
    assert_eq!(missing.status, 2);
    assert!(missing.stderr.contains("has no passkey named \"Passkey\""), "{}", missing.stderr);
    let begun = begin(&server, &api, "carol@example.com");
    assert_eq!(begun.json["decision"], "enroll", "without a passkey the next login registers one");

    env.ok(&["mailbox", "reset", "dave@example.com", "--code"]);
    let listed = env.ok(&["mailbox", "passkeys", "dave@example.com", "--json"]).json();
    assert_eq!(listed["passkeys"], json!([]), "a code reset removes the passkeys: {listed}");
    let entries = audit(&env);
    let removal = entries.iter().find(|e| e["action"] == "mailbox.passkey_remove" && e["outcome"] == "ok");
    assert!(removal.is_some_and(|e| e["detail"] == "name=\"Passkey\""), "{entries:#?}");
    assert_eq!(server.stop(), Some(0));
}

fn client_origins_are_checked_and_listed() {
    let env = TestEnv::new();
    api_key(&env, "webmail", &["--origin", "https://mail.example.com,https://webmail.mail.example.com"]);
    for (bad, says) in [
        ("http://mail.example.com", "https://"),
        ("https://192.0.2.1", "domain name"),
        ("https://mail.example.com/roundcube", "no path"),
        ("https://mail.example.com,https://other.example.org", "not on the RP ID"),
    ] {
        let refused = env.run(&["client", "add", "other", "--origin", bad]);
        assert_eq!(refused.status, 2, "{bad}: {}", refused.stdout);
        assert!(refused.stderr.contains(says), "{bad}: {}", refused.stderr);
    }
    let list = env.ok(&["client", "list", "--json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing stored for a refused client: {list}");
    assert_eq!(list[0]["origins"], json!(["https://mail.example.com", "https://webmail.mail.example.com"]));
    let table = env.ok(&["client", "list"]).stdout;
    assert!(table.contains("PASSKEY ORIGINS") && table.contains("https://mail.example.com"), "{table}");
}

/// Enrols `address` with a new software key (the mailbox's first passkey, at a login).
fn enrolled(server: &Server, api: &str, address: &str) -> SoftKey {
    let enrol = begin(server, api, address);
    assert_eq!(enrol.json["decision"], "enroll", "{:?}", enrol.json);
    let mut key = SoftKey::new("localhost", ORIGIN);
    let registered = answer(server, api, &transaction(&enrol), &key.register(&enrol.json["webauthn"]));
    assert_eq!(registered.json["result"], "accepted", "{:?}", registered.json);
    key
}

/// A fresh second step of `address` with its passkey: the step-up token it brings.
fn passkey_step_up(server: &Server, api: &str, address: &str, key: &mut SoftKey) -> String {
    let body = json!({"address": address, "ip": "203.0.113.9", "purpose": "step_up"});
    let begun = post(server, "/v1/login/begin", Some(api), body);
    assert_eq!(
        (begun.json["decision"].as_str(), begun.json["provider"].as_str()),
        (Some("challenge"), Some("passkey"))
    );
    let verified = answer(server, api, &transaction(&begun), &key.assert(&begun.json["webauthn"]));
    verified.json["step_up_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no step-up token: {:?}", verified.json))
        .to_owned()
}

/// A call to a user's passkeys (`/v1/users/{address}/passkeys…`), with a step-up token if given.
fn passkeys_call(
    server: &Server,
    api: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let url = server.url(&format!("/v1/users/{path}"));
    let body = body.map(|b| b.to_string());
    match token {
        Some(token) => call_with(&agent(), method, &url, Some(api), &[("Mailmfa-Step-Up", token)], body.as_deref()),
        None => call(&agent(), method, &url, Some(api), body.as_deref()),
    }
}

fn names(answer: &Answer) -> Vec<String> {
    let listed = answer.json["passkeys"].as_array().unwrap_or_else(|| panic!("{:?}", answer.json));
    listed.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
}

/// The webmail's *Passkeys* page: carol lists her passkeys, adds a second one after a fresh second
/// step (named, with the creation options excluding the one she has), signs in with it, renames
/// it, and removes the first; each step that needs a step-up is refused without one, another
/// origin's registration is refused and spends its ceremony, the last passkey stays, and dave's
/// step-up removes nothing of carol's.
fn users_add_name_and_remove_passkeys_after_a_step_up() {
    let (env, api) = passkey_site();
    let server = Server::start(&env, &[]);
    let api = api.as_str();
    let mut first = enrolled(&server, api, "carol@example.com");
    let mut dave = enrolled(&server, api, "dave@example.com");
    let carol = "carol@example.com/passkeys";

    let listed = passkeys_call(&server, api, "GET", carol, None, None);
    assert_eq!(listed.status, 200, "{:?}", listed.json);
    assert_eq!(listed.json["signs_in_with_passkey"], true);
    assert_eq!(names(&listed), ["Passkey"]);
    assert!(listed.json["passkeys"][0]["created_at"].is_string(), "{:?}", listed.json);

    // Adding one needs a fresh second step.
    let refused = passkeys_call(&server, api, "POST", &format!("{carol}/begin"), None, None);
    assert_eq!(
        (refused.status, refused.json["reason"].as_str()),
        (403, Some("step_up_required")),
        "{:?}",
        refused.json
    );
    let daves = passkey_step_up(&server, api, "dave@example.com", &mut dave);
    let refused = passkeys_call(&server, api, "POST", &format!("{carol}/begin"), Some(&daves), None);
    assert_eq!(refused.json["reason"], "step_up_required", "dave's step-up is not carol's: {:?}", refused.json);
    let token = passkey_step_up(&server, api, "carol@example.com", &mut first);
    let begun = passkeys_call(&server, api, "POST", &format!("{carol}/begin"), Some(&token), None);
    assert_eq!(begun.status, 200, "{:?}", begun.json);
    let options = &begun.json["webauthn"];
    assert_eq!(options["rp"]["id"], "localhost", "{options}");
    let excluded = options["excludeCredentials"].as_array().unwrap_or_else(|| panic!("{options}"));
    assert_eq!(excluded.len(), 1, "the passkey carol has is excluded: {options}");
    let ceremony = begun.json["ceremony_id"].as_str().unwrap().to_owned();

    // Another origin's answer is refused, and spends the ceremony.
    let mut elsewhere = SoftKey::new("localhost", "http://localhost:9999");
    let finish = |ceremony: &str, response: &Value, name: &str| {
        let body = json!({"ceremony_id": ceremony, "webauthn": response, "name": name});
        passkeys_call(&server, api, "POST", &format!("{carol}/finish"), None, Some(body))
    };
    let wrong = finish(&ceremony, &elsewhere.register(options), "Elsewhere");
    assert_eq!(wrong.json, json!({"result": "rejected", "reason": "invalid_passkey"}), "another origin");
    let again = finish(&ceremony, &SoftKey::new("localhost", ORIGIN).register(options), "Laptop");
    assert_eq!(again.status, 404, "a ceremony is answered once: {:?}", again.json);

    // A name in use is refused before the ceremony is spent; then the passkey is added, named.
    let begun = passkeys_call(&server, api, "POST", &format!("{carol}/begin"), Some(&token), None);
    let ceremony = begun.json["ceremony_id"].as_str().unwrap().to_owned();
    let mut second = SoftKey::new("localhost", ORIGIN);
    let registration = second.register(&begun.json["webauthn"]);
    let taken = finish(&ceremony, &registration, "Passkey");
    assert_eq!((taken.status, taken.json["reason"].as_str()), (409, Some("passkey_exists")), "{:?}", taken.json);
    let added = finish(&ceremony, &registration, "Laptop");
    assert_eq!((added.json["result"].as_str(), added.json["name"].as_str()), (Some("accepted"), Some("Laptop")));
    assert_eq!(names(&added), ["Laptop", "Passkey"]);
    assert_eq!(sign_in(&server, api, "carol@example.com", &mut second)["result"], "accepted", "the new one signs in");

    // Renamed without a step-up; a name in use and an unknown passkey refused.
    let rename = |name: &str, to: &str| {
        passkeys_call(&server, api, "PUT", &format!("{carol}/{name}"), None, Some(json!({"name": to})))
    };
    let renamed = rename("Laptop", "Work laptop");
    assert_eq!(renamed.status, 200, "{:?}", renamed.json);
    assert_eq!(names(&renamed), ["Passkey", "Work laptop"]);
    assert_eq!(rename("Work%20laptop", "Passkey").json["reason"], "passkey_exists");
    assert_eq!(rename("Nothing", "Something").status, 404);

    // Removing one needs a fresh second step; dave's step-up removes nothing of carol's.
    let remove = |name: &str, token: Option<&str>| {
        passkeys_call(&server, api, "DELETE", &format!("{carol}/{name}"), token, None)
    };
    assert_eq!(remove("Passkey", None).json["reason"], "step_up_required");
    let daves = passkey_step_up(&server, api, "dave@example.com", &mut dave);
    assert_eq!(remove("Passkey", Some(&daves)).json["reason"], "step_up_required", "dave removes carol's passkey");
    let dave_removes = passkeys_call(&server, api, "DELETE", "dave@example.com/passkeys/Passkey", Some(&daves), None);
    assert_eq!(dave_removes.json["reason"], "last_passkey", "dave's only passkey stays: {:?}", dave_removes.json);
    let token = passkey_step_up(&server, api, "carol@example.com", &mut second);
    let removed = remove("Passkey", Some(&token));
    assert_eq!(removed.status, 200, "{:?}", removed.json);
    assert_eq!(names(&removed), ["Work laptop"]);
    assert_eq!(sign_in(&server, api, "carol@example.com", &mut first), rejected(), "the removed one signs nothing in");
    let last = remove("Work%20laptop", Some(&token));
    assert_eq!((last.status, last.json["reason"].as_str()), (409, Some("last_passkey")), "{:?}", last.json);
    let daves_list = passkeys_call(&server, api, "GET", "dave@example.com/passkeys", None, None);
    assert_eq!(names(&daves_list), ["Passkey"], "dave's passkey is untouched");

    // A mailbox that does not sign in with a passkey gets none added.
    env.ok(&["mailbox", "add", "erin@example.com"]);
    let erins = passkeys_call(&server, api, "GET", "erin@example.com/passkeys", None, None);
    assert_eq!((erins.json["signs_in_with_passkey"].as_bool(), names(&erins).len()), (Some(false), 0));

    let entries = audit(&env);
    let done: Vec<String> = entries
        .iter()
        .filter(|e| e["action"].as_str().is_some_and(|a| a.starts_with("user.passkey")))
        .map(|e| format!("{} {} {} {}", e["action"], e["outcome"], e["actor"], e["detail"].as_str().unwrap_or("")))
        .collect();
    for wanted in [
        "\"user.passkey_add\" \"ok\" \"user:carol@example.com\" passkey \"Laptop\" registered",
        "\"user.passkey_add\" \"refused\" \"user:carol@example.com\" passkey registration refused",
        "\"user.passkey_rename\" \"ok\" \"user:carol@example.com\" name=\"Laptop\" new_name=\"Work laptop\"",
        "\"user.passkey_remove\" \"ok\" \"user:carol@example.com\" name=\"Passkey\"",
        "\"user.passkey_begin\" \"error\" \"api:webmail\" this change needs a fresh second step",
        "\"user.passkey_remove\" \"error\" \"api:webmail\" this change needs a fresh second step",
        "\"user.passkey_remove\" \"error\" \"api:webmail\" carol@example.com signs in with a passkey and this is its last one",
    ] {
        assert!(done.iter().any(|d| d.starts_with(wanted)), "no audit entry starts {wanted}: {done:#?}");
    }
    assert_eq!(server.stop(), Some(0));
}

on_each_backend!(
    users_add_name_and_remove_passkeys_after_a_step_up,
    passkeys_enrol_sign_in_and_refuse_over_http,
    administrators_list_remove_and_reset_passkeys,
    client_origins_are_checked_and_listed,
);
