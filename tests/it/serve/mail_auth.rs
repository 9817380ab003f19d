//! `POST /v1/mail/auth` as a mail server meets it (docs/DESIGN.md §11), and a user's app passwords
//! through the API: what each policy answers for the mailbox password and for app passwords, from
//! a mail program and from the webmail; that failures are throttled and counted, never locking the
//! mailbox; that a removed or expired app password stops at once.

use std::time::{Duration, Instant};

use super::{Site, audit, post};
use crate::common::TestEnv;
use crate::common::fixtures::{api_key, current_code, secret_of};
use crate::common::serve::{Answer, Server, agent, call, call_with};
use crate::on_each_backend;
use serde_json::{Value, json};

on_each_backend!(each_policy_answers_as_it_says, a_removed_or_expired_app_password_stops_at_once);

/// What a mail program connecting from 198.51.100.7 is asked about.
fn from_program(address: &str, password: Option<&str>, protocol: &str) -> Value {
    let mut body = json!({"address": address, "protocol": protocol, "ip": "198.51.100.7", "real_ip": "198.51.100.7"});
    match password {
        Some(password) => body["password"] = json!(password),
        None => {
            body["password"] = Value::Null;
            body["verified"] = json!(true);
        }
    }
    body
}

fn check(server: &Server, key: &str, body: Value) -> Value {
    let answer = post(server, "/v1/mail/auth", Some(key), body.clone());
    assert_eq!(answer.status, 200, "{body}: {:?}", answer.json);
    answer.json
}

fn app_password(env: &TestEnv, address: &str, name: &str, protocols: &str) -> String {
    let made = env.ok(&["app-password", "add", address, "--name", name, "--protocols", protocols, "--json"]).json();
    made["password"].as_str().unwrap().to_owned()
}

fn each_policy_answers_as_it_says() {
    let site = Site::new();
    let env = &site.env;
    let imap = app_password(env, "alice@example.com", "Thunderbird", "imap");
    let server = Server::start(env, &[]);
    let key = site.key.as_str();
    let password = json!({"result": "password"});
    let required = json!({"result": "reject", "reason": "app_password_required"});

    // `password` (the default): nothing changes for a site that did not opt in.
    assert_eq!(check(&server, key, from_program("alice@example.com", Some("hunter2"), "imap")), password);
    assert_eq!(check(&server, key, from_program("alice@example.com", None, "pop3")), password);
    assert_eq!(
        check(&server, key, from_program("alice@example.com", Some(&imap), "imap")),
        json!({"result": "accept", "app_password": "Thunderbird"})
    );
    // Addresses mailmfa does not know, and login names that are no address, are the mail server's.
    assert_eq!(check(&server, key, from_program("nobody@example.com", None, "imap")), password);
    assert_eq!(check(&server, key, from_program("nobody@elsewhere.org", None, "imap")), password);
    assert_eq!(check(&server, key, from_program("alice", None, "imap")), password);

    env.ok(&["postoffice", "set", "example.com", "--mail-programs", "app-passwords"]);
    assert_eq!(check(&server, key, from_program("alice@example.com", None, "imap")), required);
    assert_eq!(check(&server, key, from_program("bob@example.com", None, "smtp")), required);
    assert_eq!(check(&server, key, from_program("alice@example.com", Some("hunter2"), "imap")), required);
    // However it is typed.
    let accepted = json!({"result": "accept", "app_password": "Thunderbird"});
    for typed in [imap.clone(), imap.replace('-', ""), imap.to_uppercase(), imap.replace('-', " ")] {
        assert_eq!(check(&server, key, from_program("alice@example.com", Some(&typed), "imap")), accepted, "{typed}");
    }
    for protocol in ["pop3", "smtp"] {
        assert_eq!(
            check(&server, key, from_program("alice@example.com", Some(&imap), protocol)),
            json!({"result": "reject", "reason": "protocol_not_allowed"})
        );
    }
    // Another mailbox's app password is no app password of this one.
    assert_eq!(check(&server, key, from_program("bob@example.com", Some(&imap), "imap")), required);

    // The webmail connects from 127.0.0.0/8 and signs in with the mailbox password; the decision is
    // on the connecting address, never on the one a client claims.
    let webmail = json!({"address": "alice@example.com", "password": null, "verified": true, "protocol": "imap",
                         "ip": "203.0.113.9", "real_ip": "127.0.0.1"});
    assert_eq!(check(&server, key, webmail), password);
    let claimed = json!({"address": "alice@example.com", "password": null, "verified": true, "protocol": "imap",
                         "ip": "127.0.0.1", "real_ip": "198.51.100.7"});
    assert_eq!(check(&server, key, claimed), required);

    // A mailbox of its own says otherwise.
    env.ok(&["mailbox", "set", "bob@example.com", "--mail-programs", "password"]);
    assert_eq!(check(&server, key, from_program("bob@example.com", None, "smtp")), password);

    // `enrolled`: alice's app is not set up yet (bob has his SMS number); her enrolment switches it.
    env.ok(&["postoffice", "set", "example.com", "--mail-programs", "enrolled"]);
    env.ok(&["mailbox", "set", "bob@example.com", "--mail-programs", "inherit"]);
    assert_eq!(check(&server, key, from_program("alice@example.com", None, "imap")), password);
    assert_eq!(check(&server, key, from_program("bob@example.com", None, "imap")), required);
    let enrol = env.ok(&["login", "begin", "alice@example.com", "--ip", "203.0.113.9", "--json"]).json();
    let secret = secret_of(enrol["otpauth_uri"].as_str().unwrap());
    env.ok(&["login", "verify", "alice@example.com", "--ip", "203.0.113.9", "--code", &current_code(&secret)]);
    assert_eq!(check(&server, key, from_program("alice@example.com", None, "imap")), required);

    // What is not a question gets a clear error; without a key nothing is answered.
    let both = json!({"address": "alice@example.com", "password": "x", "verified": true, "protocol": "imap"});
    let refused = post(&server, "/v1/mail/auth", Some(key), both);
    assert_eq!(refused.status, 400);
    assert!(refused.json["error"].as_str().unwrap().contains("verified"), "{:?}", refused.json);
    let fax = post(&server, "/v1/mail/auth", Some(key), from_program("alice@example.com", None, "fax"));
    assert_eq!(fax.status, 400);
    let bad_ip = json!({"address": "alice@example.com", "password": null, "verified": true, "protocol": "imap", "ip": "nowhere"});
    assert_eq!(post(&server, "/v1/mail/auth", Some(key), bad_ip).status, 400);
    assert_eq!(post(&server, "/v1/mail/auth", None, from_program("alice@example.com", None, "imap")).status, 401);
    env.ok(&["postoffice", "add", "other.org"]);
    let limited = api_key(env, "other-site", &["--postoffice", "other.org"]);
    assert_eq!(
        post(&server, "/v1/mail/auth", Some(&limited), from_program("alice@example.com", None, "imap")).status,
        403
    );

    // Accepted checks leave no audit rows; the refusals are there, counted.
    let text = serde_json::to_string(&audit(env)).unwrap();
    assert!(!text.contains(&imap.replace('-', "")) && !text.contains(&imap), "an app password in the audit log");
}

fn a_removed_or_expired_app_password_stops_at_once() {
    let site = Site::new();
    let env = &site.env;
    env.ok(&["postoffice", "set", "example.com", "--mail-programs", "app-passwords"]);
    let phone = app_password(env, "alice@example.com", "Phone", "imap,smtp");
    let laptop = app_password(env, "alice@example.com", "Laptop", "imap");
    let server = Server::start(env, &[]);
    let key = site.key.as_str();
    let required = json!({"result": "reject", "reason": "app_password_required"});
    assert_eq!(check(&server, key, from_program("alice@example.com", Some(&phone), "smtp"))["result"], "accept");
    env.ok(&["app-password", "remove", "alice@example.com", "Phone"]);
    assert_eq!(check(&server, key, from_program("alice@example.com", Some(&phone), "smtp")), required);

    env.raw().execute("UPDATE app_password SET expires_at = 1 WHERE name = 'Laptop'");
    assert_eq!(
        check(&server, key, from_program("alice@example.com", Some(&laptop), "imap")),
        json!({"result": "reject", "reason": "expired"})
    );
    env.ok(&["mailbox", "reset", "alice@example.com", "--app-passwords"]);
    assert_eq!(check(&server, key, from_program("alice@example.com", Some(&laptop), "imap")), required);
}

/// A mail program that keeps trying a wrong app password is slowed down after
/// `mailprog.ip_failures` a minute, leaves a count in the audit log rather than a row per try, and
/// never locks its owner out of the webmail; a program elsewhere is not slowed down.
#[test]
fn wrong_app_passwords_are_throttled_and_counted_but_lock_nothing() {
    let site = Site::new();
    let env = &site.env;
    env.ok(&["settings", "set", "mailprog.ip_failures", "10"]);
    env.ok(&["postoffice", "set", "example.com", "--mail-programs", "app-passwords"]);
    let good = app_password(env, "alice@example.com", "Phone", "imap");
    let server = Server::start(env, &[]);
    let key = site.key.as_str();
    let agent = agent();
    let wrong = "aaaaa-bbbbb-ccccc-ddddd";
    let mut answers = Vec::new();
    for _ in 0..200 {
        let answer = call(
            &agent,
            "POST",
            &server.url("/v1/mail/auth"),
            Some(key),
            Some(&from_program("alice@example.com", Some(wrong), "imap").to_string()),
        );
        assert_eq!(answer.status, 200);
        answers.push(answer.json["reason"].as_str().unwrap_or("").to_owned());
    }
    assert!(answers[..10].iter().all(|r| r == "app_password_required"), "{answers:?}");
    assert!(answers[10..].iter().all(|r| r == "throttled"), "{answers:?}");
    // The address is throttled, for its app passwords: the right one waits too, elsewhere it works.
    assert_eq!(check(&server, key, from_program("alice@example.com", Some(&good), "imap"))["reason"], "throttled");
    let elsewhere = json!({"address": "alice@example.com", "password": good, "protocol": "imap", "ip": "192.0.2.44", "real_ip": "192.0.2.44"});
    assert_eq!(check(&server, key, elsewhere)["result"], "accept");

    let shown = env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json();
    assert_eq!((shown["failures"].as_i64(), shown["locked_until"].is_null()), (Some(0), true), "{shown}");
    let login = env.ok(&["login", "begin", "alice@example.com", "--ip", "198.51.100.7", "--json"]).json();
    assert_ne!(login["decision"], "locked", "{login}");

    let counted = |env: &TestEnv| -> Vec<String> {
        audit(env)
            .into_iter()
            .filter(|e| e["action"] == "mail.auth")
            .map(|e| e["detail"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let first = wait_for(|| Some(counted(env)).filter(|rows| rows.len() >= 2));
    assert_eq!(first.len(), 2, "the first of each kind at once: {first:?}");
    assert!(first.contains(&"wrong_app_password over imap".to_owned()), "{first:?}");
    assert!(first.contains(&"throttled over imap".to_owned()), "{first:?}");
    assert_eq!(server.stop(), Some(0));
    let all = counted(env);
    assert!(
        all.contains(&"wrong_app_password: 9 more from this address in the minute since the first".to_owned()),
        "{all:?}"
    );
    assert!(all.contains(&"throttled: 190 more from this address in the minute since the first".to_owned()), "{all:?}");
    assert_eq!(all.len(), 4, "{all:?}");
}

/// A mail program reconnects all day: its app password's last use is kept (when, from where, over
/// what), written at most once a minute, and no audit row is written per sign-in.
#[test]
fn the_last_use_is_kept_without_a_write_per_sign_in() {
    let site = Site::new();
    let env = &site.env;
    let phone = app_password(env, "alice@example.com", "Phone", "imap,smtp");
    let server = Server::start(env, &[]);
    let before = audit(env).len();
    let from = |ip: &str, protocol: &str| json!({"address": "alice@example.com", "password": phone, "protocol": protocol, "ip": ip, "real_ip": ip});
    assert_eq!(check(&server, &site.key, from("198.51.100.7", "imap"))["result"], "accept");
    let last = wait_for(|| {
        let list = env.ok(&["app-password", "list", "alice@example.com", "--json"]).json();
        Some(list[0]["last_used"].clone()).filter(|last| !last.is_null())
    });
    assert_eq!((last["ip"].as_str(), last["protocol"].as_str()), (Some("198.51.100.7"), Some("imap")), "{last}");
    for _ in 0..20 {
        assert_eq!(check(&server, &site.key, from("192.0.2.1", "smtp"))["result"], "accept");
    }
    assert_eq!(server.stop(), Some(0));
    let list = env.ok(&["app-password", "list", "alice@example.com", "--json"]).json();
    assert_eq!(list[0]["last_used"], last, "written again within the minute");
    assert_eq!(audit(env).len(), before, "an audit row per sign-in");
}

/// A webmail's *Mail programs* page: the user lists, makes (after a fresh second step) and removes
/// app passwords; what they make works at once.
#[test]
fn users_manage_their_app_passwords_through_the_api() {
    let site = Site::new();
    let env = &site.env;
    let server = Server::start(env, &[]);
    let key = site.key.as_str();
    let url = server.url("/v1/users/bob@example.com/app-passwords");
    let agent = agent();
    let listed = call(&agent, "GET", &url, Some(key), None);
    assert_eq!(listed.status, 200);
    assert_eq!((listed.json["app_passwords"].clone(), listed.json["max"].as_i64()), (json!([]), Some(20)));
    assert_eq!(listed.json["password_in_mail_programs"], true);

    let body = json!({"name": "Phone", "protocols": ["imap", "smtp"]}).to_string();
    let without = call(&agent, "POST", &url, Some(key), Some(&body));
    assert_eq!((without.status, without.json["reason"].as_str()), (403, Some("step_up_required")));
    let token = bobs_step_up(&site, &server);
    let made = with_step_up("POST", &url, key, &token, Some(&body));
    assert_eq!(made.status, 200, "{:?}", made.json);
    let password = made.json["password"].as_str().unwrap().to_owned();
    assert_eq!(made.json["protocols"], json!(["imap", "smtp"]));
    let again = with_step_up("POST", &url, key, &token, Some(&body));
    assert_eq!(again.status, 409);
    assert_eq!(check(&server, key, from_program("bob@example.com", Some(&password), "smtp"))["result"], "accept");
    let listed = call(&agent, "GET", &url, Some(key), None);
    assert_eq!(listed.json["app_passwords"][0]["name"], "Phone");
    assert!(!listed.json.to_string().contains(&password));

    let removed = call(&agent, "DELETE", &format!("{url}/Phone"), Some(key), None);
    assert_eq!(removed.status, 200, "{:?}", removed.json);
    assert_eq!(removed.json["app_passwords"], json!([]));
    assert_eq!(call(&agent, "DELETE", &format!("{url}/Phone"), Some(key), None).status, 404);
    assert_eq!(check(&server, key, from_program("bob@example.com", Some(&password), "smtp"))["result"], "password");
    env.ok(&["postoffice", "add", "other.org"]);
    let limited = api_key(env, "other-site", &["--postoffice", "other.org"]);
    assert_eq!(call(&agent, "GET", &url, Some(&limited), None).status, 403);
    let actions: Vec<String> = audit(env).iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    assert!(
        actions.contains(&"user.app_password_add".to_owned())
            && actions.contains(&"user.app_password_remove".to_owned())
    );
}

/// A fresh second step of bob's: a step-up begin sends him an SMS code, which he types.
fn bobs_step_up(site: &Site, server: &Server) -> String {
    let body = json!({"address": "bob@example.com", "ip": "203.0.113.9", "purpose": "step_up"});
    let begun = post(server, "/v1/login/begin", Some(&site.key), body);
    let transaction = begun.json["transaction_id"].as_str().unwrap_or_else(|| panic!("{:?}", begun.json)).to_owned();
    let accepted = super::verify(server, &site.key, &transaction, &site.last_sms_code());
    accepted.json["step_up_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no step-up token: {:?}", accepted.json))
        .to_owned()
}

fn with_step_up(method: &str, url: &str, key: &str, token: &str, body: Option<&str>) -> Answer {
    call_with(&agent(), method, url, Some(key), &[("Mailmfa-Step-Up", token)], body)
}

/// Waits (up to ten seconds) for `found` to find something: what the service writes after it
/// answered.
fn wait_for<T>(mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(Instant::now() < deadline, "not written within ten seconds");
        std::thread::sleep(Duration::from_millis(50));
    }
}
