//! App passwords and the mail-program policy from the command line (docs/DESIGN.md §11): made and
//! shown once, kept only as a keyed hash, listed with their last use, removed, reset, audited
//! without the password; the policy for the platform, a post office and a mailbox, as `mailbox
//! list`, `mailbox show` and the coverage report show it.

use std::net::IpAddr;

use mailmfa::domain::{MailAuthAnswer, MailAuthRefusal, MailboxAddress, Protocols};
use mailmfa::service::{Caller, ClientScope, MailAuthRequest, NewAppPassword, Service};

use crate::common::TestEnv;
use crate::common::fixtures::{NoThrottle, alice_on_totp_and_bob_on_sms, strings};
use crate::on_each_backend;

on_each_backend!(
    app_passwords_are_made_once_listed_and_removed,
    the_policy_is_inherited_and_shown_where_it_applies,
    a_check_never_answers_from_rows_that_changed
);

/// The shape people read: four groups of five of the recovery codes' letters.
fn is_app_password(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 4
        && groups.iter().all(|g| g.len() == 5 && g.bytes().all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b)))
}

fn app_passwords_are_made_once_listed_and_removed() {
    let env = TestEnv::new();
    alice_on_totp_and_bob_on_sms(&env);
    let made = env
        .ok(&[
            "app-password",
            "add",
            "alice@example.com",
            "--name",
            "Thunderbird at home",
            "--protocols",
            "smtp,imap",
            "--json",
        ])
        .json();
    let password = made["password"].as_str().unwrap().to_owned();
    assert!(is_app_password(&password), "{made}");
    assert_eq!(made["name"], "Thunderbird at home");
    assert_eq!(strings(&made["protocols"]), ["imap", "smtp"]);
    assert!(made["expires_at"].is_null());
    let text = env.ok(&["app-password", "add", "alice@example.com", "--name", "Phone", "--days", "30"]).stdout;
    assert!(text.contains("Phone") && text.contains("not shown again"), "{text}");
    let phone = text.split_whitespace().find(|w| is_app_password(w)).expect("the password is shown once").to_owned();

    let stored = env.stored_bytes();
    for secret in [&password, &phone] {
        let letters = secret.replace('-', "");
        assert!(!crate::common::contains(&stored, letters.as_bytes()), "an app password is stored as it is");
    }
    let list = env.ok(&["app-password", "list", "alice@example.com", "--json"]).json();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Phone", "Thunderbird at home"]);
    assert!(list[0]["expires_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{list}");
    assert!(list[1]["last_used"].is_null());
    assert!(!list.to_string().contains(&password));
    let table = env.ok(&["app-password", "list", "alice@example.com"]).stdout;
    assert!(table.contains("LAST USED") && table.contains("Thunderbird at home") && table.contains("never"), "{table}");

    let twice = env.run(&["app-password", "add", "alice@example.com", "--name", "Phone"]);
    assert_eq!(twice.status, 2);
    assert!(twice.stderr.contains("already has an app password named \"Phone\""), "{}", twice.stderr);
    for (args, says) in [
        (&["--name", "x", "--protocols", "imap,fax"][..], "fax"),
        (&["--name", "x", "--days", "0"][..], "1 to 3650 days"),
        (&["--name", ""][..], "name"),
    ] {
        let refused = env.run(&[&["app-password", "add", "alice@example.com"][..], args].concat());
        assert_eq!(refused.status, 2, "{args:?}");
        assert!(refused.stderr.contains(says), "{args:?}: {}", refused.stderr);
    }
    env.ok(&["settings", "set", "mailprog.max_app_passwords", "2"]);
    let full = env.run(&["app-password", "add", "alice@example.com", "--name", "Laptop"]);
    assert_eq!(full.status, 2);
    assert!(full.stderr.contains("mailprog.max_app_passwords"), "{}", full.stderr);

    env.ok(&["app-password", "remove", "alice@example.com", "Phone"]);
    let gone = env.run(&["app-password", "remove", "alice@example.com", "Phone"]);
    assert_eq!(gone.status, 2);
    assert!(gone.stderr.contains("no app password named \"Phone\""), "{}", gone.stderr);
    let reset = env.ok(&["mailbox", "reset", "alice@example.com", "--app-passwords", "--json"]).json();
    assert_eq!(reset["app_passwords_removed"], 1);
    assert_eq!(env.ok(&["app-password", "list", "alice@example.com", "--json"]).json(), serde_json::json!([]));
    // A code reset keeps the app passwords: the mail programs keep working.
    env.ok(&["app-password", "add", "alice@example.com", "--name", "Phone"]);
    env.ok(&["mailbox", "reset", "alice@example.com", "--code"]);
    assert_eq!(env.ok(&["mailbox", "show", "alice@example.com", "--json"]).json()["app_passwords"], 1);

    let audit = env.ok(&["audit", "--json", "--mailbox", "alice@example.com"]).json();
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["app_password.add", "app_password.remove", "mailbox.reset_app_passwords"] {
        assert!(actions.contains(&action), "{action} is audited: {actions:?}");
    }
    assert!(!audit.to_string().contains(&password) && !audit.to_string().contains(&phone));
    let unknown = env.run(&["app-password", "list", "nobody@example.com"]);
    assert_eq!(unknown.status, 2);
}

fn the_policy_is_inherited_and_shown_where_it_applies() {
    let env = TestEnv::new();
    alice_on_totp_and_bob_on_sms(&env);
    let show = |address: &str| env.ok(&["mailbox", "show", address, "--json"]).json();
    assert_eq!(show("alice@example.com")["effective_mail_programs"], "password");
    assert_eq!(show("alice@example.com")["password_in_mail_programs"], true);
    let coverage =
        |env: &TestEnv| env.ok(&["report", "coverage", "--json"]).json()["total"]["password_in_mail_programs"].clone();
    assert_eq!(coverage(&env), 2);

    env.ok(&["postoffice", "set", "example.com", "--mail-programs", "app-passwords"]);
    let alice = show("alice@example.com");
    assert_eq!(
        (alice["mail_programs"].as_str(), alice["effective_mail_programs"].as_str()),
        (Some("inherit"), Some("app-passwords"))
    );
    assert_eq!(alice["password_in_mail_programs"], false);
    assert_eq!(coverage(&env), 0);
    let list = env.ok(&["mailbox", "list"]).stdout;
    assert!(list.contains("MAIL PROGRAMS") && list.contains("app-passwords (inherited)"), "{list}");

    env.ok(&["mailbox", "set", "bob@example.com", "--mail-programs", "password"]);
    assert_eq!(show("bob@example.com")["effective_mail_programs"], "password");
    assert_eq!(coverage(&env), 1);
    let po = env.ok(&["postoffice", "list", "--json"]).json();
    assert_eq!(po[0]["mail_programs"], "app-passwords");

    // `enrolled`: bob has his SMS number, so he is enrolled; alice has not set up her app yet.
    env.ok(&["postoffice", "set", "example.com", "--mail-programs", "inherit"]);
    env.ok(&["settings", "set", "mailprog.policy", "enrolled"]);
    env.ok(&["mailbox", "set", "bob@example.com", "--mail-programs", "inherit"]);
    assert_eq!(show("alice@example.com")["password_in_mail_programs"], true);
    assert_eq!(show("bob@example.com")["password_in_mail_programs"], false);
    let csv = env.ok(&["report", "coverage", "--csv"]).stdout;
    assert!(csv.lines().next().unwrap().ends_with(",password_in_mail_programs,with_passkeys,passkeys"), "{csv}");
    assert!(csv.lines().last().unwrap().ends_with(",1,0,0"), "{csv}");

    // Only an administrator sets the policy; a user's own settings have no such option.
    let user = env.run(&["user", "set", "alice@example.com", "--mail-programs", "password"]);
    assert_eq!(user.status, 2, "{}", user.stderr);
    let bad = env.run(&["postoffice", "set", "example.com", "--mail-programs", "sometimes"]);
    assert_eq!(bad.status, 2);
    assert!(
        bad.stderr.contains("password, app-passwords, enrolled") || bad.stderr.contains("inherit"),
        "{}",
        bad.stderr
    );
}

/// The mail sign-in check keeps what it read while the store is unchanged (on SQLite): a change
/// by any connection — another process, another connection of this one, or the checking
/// connection itself — is answered at once.
fn a_check_never_answers_from_rows_that_changed() {
    let env = TestEnv::new();
    alice_on_totp_and_bob_on_sms(&env);
    let checker = env.service(1_800_000_000);
    let other = env.service(1_800_000_000);
    let alice: MailboxAddress = "alice@example.com".parse().unwrap();
    let (_, key) = checker.add_client("dovecot", &ClientScope::default()).unwrap();
    let ask = |password: Option<&str>| {
        let request = MailAuthRequest {
            address: alice.to_string(),
            password: password.map(|p| zeroize::Zeroizing::new(p.to_owned())),
            verified: password.is_none(),
            protocol: "imap".to_owned(),
            ip: Some("198.51.100.7".to_owned()),
            real_ip: Some("198.51.100.7".to_owned()),
        };
        let caller = Caller::new(Some(key.0.to_string()), IpAddr::from([127, 0, 0, 1]));
        checker.check_mail_auth(&caller, &request, &NoThrottle).unwrap().answer
    };
    let make = |service: &Service, name: &str| {
        let new = NewAppPassword { name: name.parse().unwrap(), protocols: Protocols::all(), days: None };
        service.add_app_password(&alice, &new).unwrap().password.shown()
    };
    let accepted = |name: &str| MailAuthAnswer::Accept { app_password: name.parse().unwrap() };
    let required = MailAuthAnswer::Reject { reason: MailAuthRefusal::AppPasswordRequired };

    // Another process changes the policy, then the answers the checker gave twice.
    assert_eq!(ask(None), MailAuthAnswer::Password);
    assert_eq!(ask(None), MailAuthAnswer::Password);
    env.ok(&["settings", "set", "mailprog.policy", "app-passwords"]);
    assert_eq!(ask(None), required);

    // Another connection removes an app password the checker accepted twice.
    let phone = make(&other, "Phone");
    assert_eq!(ask(Some(&phone)), accepted("Phone"));
    assert_eq!(ask(Some(&phone)), accepted("Phone"));
    other.remove_app_password(&alice, &"Phone".parse().unwrap()).unwrap();
    assert_eq!(ask(Some(&phone)), required, "removed by another connection");

    // The checking connection removes one itself: its own commit moves no data version.
    let laptop = make(&checker, "Laptop");
    assert_eq!(ask(Some(&laptop)), accepted("Laptop"));
    assert_eq!(ask(Some(&laptop)), accepted("Laptop"));
    checker.remove_app_password(&alice, &"Laptop".parse().unwrap()).unwrap();
    assert_eq!(ask(Some(&laptop)), required, "removed by the checking connection");

    // A password refused before is accepted once it exists: a refusal is not kept past a change.
    let unknown = "abcde-fghjk-mnpqr-stvwx";
    assert_eq!(ask(Some(unknown)), required);
    env.ok(&["mailbox", "set", "alice@example.com", "--mail-programs", "password"]);
    assert_eq!(ask(Some(unknown)), MailAuthAnswer::Password, "the mailbox's own policy, changed by another process");
}
