//! A database server that goes away and comes back: the login service's long-lived connection and
//! the command line say so clearly while it is down, and carry on once it is back, with nothing
//! lost. Each test stops and starts a private cluster of its own: stopping the shared one would
//! break every other test on it.

use crate::common::fixtures::{alice_challenged_by_her_post_office, api_key, now, secret_of};
use crate::common::serve::{Server, agent, call};
use crate::common::{TestEnv, pg};
use mailmfa::domain::totp::{code_at_step, step_of};
use mailmfa::domain::{BeginAnswer, MailboxAddress, VerifyAnswer};

fn alice() -> MailboxAddress {
    "alice@example.com".parse().unwrap()
}

#[test]
fn a_restarted_server_gives_clear_errors_then_recovery_and_nothing_is_lost() {
    let cluster = pg::private_cluster();
    let env = TestEnv::on_cluster(&cluster);
    alice_challenged_by_her_post_office(&env);
    // One service stays open throughout, as `mailmfa serve` does.
    let service = mailmfa::service::Service::open(&env.location(), &env.keys()).unwrap();
    let BeginAnswer::Enroll { otpauth_uri, .. } =
        service.begin_login(&alice(), "203.0.113.9".parse().unwrap()).unwrap()
    else {
        panic!("alice enrols")
    };
    let secret = secret_of(&otpauth_uri);
    let code = |offset: i64| code_at_step(&secret, step_of(now()) + offset);
    let verified = service.verify_login(&alice(), "203.0.113.9".parse().unwrap(), &code(-1)).unwrap();
    assert_eq!(verified.answer, VerifyAnswer::Accepted);

    cluster.stop();
    let down = service.add_mailbox(&"bob@example.com".parse().unwrap()).unwrap_err().to_string();
    assert!(down.contains("database server"), "{down}");
    assert!(!down.contains("db error"), "the server's own words, not the client's: {down}");
    let run = env.run(&["mailbox", "list"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot connect to the database server"), "{}", run.stderr);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "one clear line: {}", run.stderr);

    cluster.start();
    service.add_mailbox(&"bob@example.com".parse().unwrap()).unwrap();
    // A restart between two requests is not even seen: the next one connects anew.
    cluster.restart();
    let answer = service.verify_login(&alice(), "203.0.113.9".parse().unwrap(), &code(0)).unwrap();
    assert_eq!(answer.answer, VerifyAnswer::Accepted, "alice's secret survived");
    let list = env.ok(&["mailbox", "list", "--json"]).json();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|m| m["address"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice@example.com", "bob@example.com"]);
    assert_eq!(list[0]["status"], "enrolled", "{list}");
    let audit = env.ok(&["audit", "--json"]).json();
    let failed = audit.as_array().unwrap().iter().filter(|e| e["outcome"] == "failed").count();
    // The audit log is in the database: what was refused while it was down was said to the caller.
    assert_eq!(failed, 0, "{audit}");
}

/// `mailmfa serve` on a database server that goes away: a login while it is down is answered 503
/// in a few words, the server's own in the log, and the next login after it is back is decided as
/// usual — no restart of the service.
#[test]
fn the_login_service_answers_503_while_the_server_is_down_and_recovers_by_itself() {
    let cluster = pg::private_cluster();
    let env = TestEnv::on_cluster(&cluster);
    alice_challenged_by_her_post_office(&env);
    let key = api_key(&env, "webmail", &[]);
    let server = Server::start(&env, &[]);
    let body = r#"{"address": "alice@example.com", "ip": "203.0.113.9"}"#;
    let begin = || call(&agent(), "POST", &server.url("/v1/login/begin"), Some(&key), Some(body));

    assert_eq!(begin().status, 200);
    cluster.stop();
    crate::serve::operations::an_unreachable_store_is_a_short_503_and_a_detailed_log_line(&server, &key);
    cluster.start();
    let back = begin();
    assert_eq!(back.status, 200, "{:?}", back.json);
    assert_eq!(back.json["decision"], "enroll");
    drop(server);
}
