//! The Properties windows of a mailbox and of a post office: saving only valid fields, the resets
//! that ask first, access passes, recovery codes and remembered devices, trusted networks, and Esc.

use std::net::IpAddr;
use std::sync::Arc;

use super::{Console, NOW, Steps, address, enrol_by_login, ip, properties_of, select_mailbox};
use crate::common::authenticator::SoftKey;
use crate::common::fixtures::{NoThrottle, api_key};
use crate::common::serve::{Server, agent, call};
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use mailmfa::domain::{
    BeginAnswer, ChallengeMode, Configurer, EmailAddress, EnrolmentState, LetterCode, MailAuthAnswer, MailAuthRefusal,
    MailProgramPolicy, MailboxChallenge, Provider, Reason, VerifyAnswer, totp,
};
use mailmfa::geo::CountryLookup;
use mailmfa::service::{
    Caller, ClientScope, IfExists, MailAuthRequest, MailboxChanges, PostOfficeChanges, ServiceError,
};

#[test]
fn properties_ok_saves_challenge_mode_and_provider() {
    let console = Console::new();
    let mut harness = properties_of(&console, "example.com", "alice");

    harness.click_role(Role::ComboBox, "Challenge mode");
    harness.click("Prompt by Country");
    harness.click_role(Role::ComboBox, "Provider");
    harness.click("SMTP address");
    harness.type_into("Alternate address", "alice.private@elsewhere.example");
    harness.click("OK");

    let record = console.service().mailbox(&address("alice@example.com")).unwrap().mailbox;
    assert_eq!(record.challenge, MailboxChallenge::Mode(ChallengeMode::NewCountry));
    assert_eq!(record.provider, Provider::Smtp);
    assert_eq!(record.alt_email, Some("alice.private@elsewhere.example".parse::<EmailAddress>().unwrap()));
    assert!(harness.query_by_label("Alternate address").is_none(), "OK closes the window");
    let audit = console.service().audit(Some(&address("alice@example.com")), 10).unwrap();
    assert!(audit.iter().any(|e| e.entry.action == "mailbox.set" && e.entry.outcome.to_string() == "ok"));
}

#[test]
fn an_invalid_phone_number_is_shown_under_its_field_and_nothing_is_saved() {
    let console = Console::new();
    let mut harness = console.harness();
    select_mailbox(&mut harness, "example.com", "bob");
    harness.press(egui::Key::Enter);

    harness.click_role(Role::ComboBox, "Challenge mode");
    harness.click("Prompt Always");
    harness.type_into("SMS number", "555-CALL-ME");
    harness.click("Apply");

    assert!(harness.query_by_label_contains("invalid phone number").is_some(), "the error is shown in the window");
    harness.get_by_label("Nothing was saved: correct the fields marked in red.");
    let record = console.service().mailbox(&address("bob@example.com")).unwrap().mailbox;
    assert_eq!(record.challenge, MailboxChallenge::Inherit, "nothing is saved until every field is valid");
    assert_eq!(record.sms_number, None);
}

#[test]
fn reset_two_factor_code_asks_first_then_clears_the_secret_and_audits() {
    let console = Console::new();
    let service = console.service();
    let alice = address("alice@example.com");
    enrol_by_login(&service, &alice, "203.0.113.10");
    assert_eq!(service.mailbox(&alice).unwrap().mailbox.enrolment, EnrolmentState::Active);
    let mut harness = console.harness();
    select_mailbox(&mut harness, "example.com", "alice");

    harness.click("Reset two factor code");
    harness.click("No");
    assert_eq!(service.mailbox(&alice).unwrap().mailbox.enrolment, EnrolmentState::Active, "No keeps the secret");

    harness.click("Reset two factor code");
    harness.click("Yes, reset the code");

    assert_eq!(service.mailbox(&alice).unwrap().mailbox.enrolment, EnrolmentState::None);
    let audit = service.audit(Some(&alice), 10).unwrap();
    let first = audit.first().map(|e| (e.entry.actor.clone(), e.entry.action.clone(), e.entry.outcome.to_string()));
    let console_user = format!("console:{}", mailmfa::service::os_user());
    assert_eq!(first, Some((console_user, "mailbox.reset_code".to_owned(), "ok".to_owned())));
    assert!(
        matches!(service.enrolment_uri(&alice), Err(ServiceError::NoTotpSecret(_))),
        "the secret itself is gone, not only marked"
    );
}

/// Every address is in Germany.
struct Germany;

impl CountryLookup for Germany {
    fn country(&self, _ip: IpAddr) -> Option<String> {
        Some("DE".to_owned())
    }
}

#[test]
fn reset_country_exceptions_from_properties_forgets_countries_and_addresses() {
    let console = Console::new();
    let service = console.service();
    let carol = address("carol@example.com");
    enrol_by_login(&service.with_countries(Arc::new(Germany)), &carol, "198.51.100.7");
    let service = console.service();
    let mut harness = console.harness();
    select_mailbox(&mut harness, "example.com", "carol");
    harness.click("Properties");
    harness.get_by_label("198.51.100.7");
    assert_eq!(harness.get_all_by_label("DE").count(), 2, "in the table and in the window");

    harness.click("Reset countries…");
    harness.click("Yes, forget them");

    let details = service.mailbox(&carol).unwrap();
    assert!(details.known_countries.is_empty());
    assert!(details.known_ips.is_empty());
    assert!(harness.query_by_label("198.51.100.7").is_none(), "the window shows the stored state");
    assert!(harness.query_by_label("DE").is_none(), "and so does the table");
    let audit = service.audit(Some(&carol), 10).unwrap();
    assert_eq!(audit.first().map(|e| e.entry.action.as_str()), Some("mailbox.reset_countries"));
}

#[test]
fn esc_closes_the_topmost_window_but_first_leaves_a_text_field() {
    let console = Console::new();
    let mut harness = console.harness();
    select_mailbox(&mut harness, "example.com", "alice");

    // Esc closes a Properties window.
    harness.click("Properties");
    harness.get_by_role_and_label(Role::TextInput, "SMS number");
    harness.press(egui::Key::Escape);
    assert!(harness.query_by_label("SMS number").is_none(), "Esc closed the window");

    // In a text field, the first Esc leaves the field and the second closes the window.
    harness.click("Properties");
    harness.click_role(Role::TextInput, "SMS number");
    assert!(harness.get_by_role_and_label(Role::TextInput, "SMS number").is_focused());
    harness.press(egui::Key::Escape);
    let field = harness.get_by_role_and_label(Role::TextInput, "SMS number");
    assert!(!field.is_focused(), "the first Esc leaves the field");
    harness.press(egui::Key::Escape);
    assert!(harness.query_by_label("SMS number").is_none(), "the second Esc closes the window");

    // The confirmation in front of a Properties window closes first, and does nothing.
    harness.click("Properties");
    harness.click("Reset code…");
    harness.get_by_label("Yes, reset the code");
    harness.press(egui::Key::Escape);
    assert!(harness.query_by_label("Yes, reset the code").is_none(), "Esc closed the confirmation");
    harness.get_by_role_and_label(Role::TextInput, "SMS number");
    let audit = console.service().audit(Some(&address("alice@example.com")), 10).unwrap();
    assert!(audit.iter().all(|e| e.entry.action != "mailbox.reset_code"), "Esc is No");

    // The window opened last is in front: Esc closes the login preview, then the Properties.
    harness.click("Login Preview…");
    harness.get_by_label("Begin login");
    harness.press(egui::Key::Escape);
    assert!(harness.query_by_label("Begin login").is_none(), "Esc closed the login preview");
    harness.get_by_role_and_label(Role::TextInput, "SMS number");
    harness.press(egui::Key::Escape);
    assert!(harness.query_by_label("SMS number").is_none());
}

/// A user lost their phone: in the mailbox's Properties the administrator issues a temporary
/// access pass, shown once with Copy; it clears the lock and lets the user in, once.
#[test]
fn properties_issue_a_temporary_access_pass_shown_once() {
    let console = Console::new();
    let service = console.service();
    let alice = address("alice@example.com");
    enrol_by_login(&service, &alice, "203.0.113.10");
    for _ in 0..5 {
        service.verify_login(&alice, ip("203.0.113.10"), "000000").unwrap();
    }
    assert!(service.mailbox(&alice).unwrap().mailbox.locked_for(NOW).is_some());
    let mut harness = properties_of(&console, "example.com", "alice");
    harness.click("Issue access pass");

    let pass = harness.state().shown_access_pass(&alice).expect("the pass is shown");
    harness.get_by_label("Copy pass");
    harness.get_by_label_contains("works until");
    let details = service.mailbox(&alice).unwrap();
    assert_eq!(details.mailbox.locked_for(NOW), None, "issuing the pass cleared the lock");
    assert_eq!(details.access_pass_until, Some(NOW + 3600));
    assert_eq!(service.verify_login(&alice, ip("198.51.100.7"), &pass).unwrap().answer, VerifyAnswer::Accepted);
    assert!(
        matches!(
            service.verify_login(&alice, ip("198.51.100.7"), &pass).unwrap().answer,
            VerifyAnswer::Rejected { .. }
        ),
        "once"
    );

    harness.click("Hide pass");
    assert_eq!(harness.state().shown_access_pass(&alice), None);
    let audit = service.audit(Some(&alice), 20).unwrap();
    assert!(
        audit.iter().any(|e| e.entry.action == "mailbox.access_pass"
            && e.entry.detail.as_deref().is_some_and(|d| d.contains("once")))
    );
}

/// Properties count the recovery codes left and issue a new set, shown once with Copy and
/// Save…: the new codes work in a login, the old set does not, and the saved file is the codes'
/// owner-only text.
#[test]
fn properties_issue_new_recovery_codes_shown_once() {
    let console = Console::new();
    let service = console.service();
    let alice = address("alice@example.com");
    enrol_by_login(&service, &alice, "203.0.113.10");
    let mut harness = properties_of(&console, "example.com", "alice");
    harness.get_by_label("10 left");
    harness.click("New recovery codes");

    let codes = harness.state().shown_recovery_codes(&alice).expect("the codes are shown");
    assert_eq!(codes.len(), 10);
    harness.get_by_label("Copy codes");
    harness.get_by_label("Save…");
    harness.get_by_label_contains("Recovery codes for alice@example.com, shown only now");
    assert_eq!(service.verify_login(&alice, ip("198.51.100.7"), &codes[0]).unwrap().answer, VerifyAnswer::Accepted);
    assert_eq!(service.mailbox(&alice).unwrap().recovery_codes_left, 9);

    let file = console.env.path("alice recovery codes.txt");
    let parsed: Vec<LetterCode> = codes.iter().map(|c| c.parse().unwrap()).collect();
    service.write_recovery_codes(&alice, &parsed, &file, IfExists::Refuse).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(codes.iter().all(|c| text.contains(c.as_str())), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    harness.click("Hide codes");
    assert_eq!(harness.state().shown_recovery_codes(&alice), None);
    let audit = service.audit(Some(&alice), 20).unwrap();
    assert!(audit.iter().any(|e| e.entry.action == "mailbox.recovery_codes"));
    assert!(audit.iter().any(|e| e.entry.action == "mailbox.save_recovery_codes"));
}

/// Properties count the devices the user asked to remember, and *Forget remembered devices* makes
/// each of them challenged again (audited).
#[test]
fn properties_forget_the_remembered_devices() {
    let console = Console::new();
    let service = console.service();
    let alice = address("alice@example.com");
    service.set_setting("remember.days", "30").unwrap();
    let example = "example.com".parse().unwrap();
    let remembered_skip_always = PostOfficeChanges { remember_in_always: Some(true), ..PostOfficeChanges::default() };
    service.set_postoffice(&example, &remembered_skip_always).unwrap();
    let secret = enrol_by_login(&service, &alice, "203.0.113.10");
    let code = totp::code_at_step(&secret, totp::step_of(NOW) + 1);
    let verified = service.verify_login_remembering(&alice, ip("203.0.113.10"), &code, true).unwrap();
    let token = verified.device_token.expect("a remembered device");
    let on_device = || service.decide_login(&alice, ip("198.51.100.7"), Some(&token)).unwrap().answer;
    assert_eq!(on_device(), BeginAnswer::Allow { reason: Some(Reason::RememberedDevice) });

    let mut harness = properties_of(&console, "example.com", "alice");
    harness.get_by_label("Remembered devices");
    harness.click("Forget remembered devices");

    assert_eq!(service.mailbox(&alice).unwrap().remembered_devices, 0);
    assert!(matches!(on_device(), BeginAnswer::Challenge { .. }), "challenged again");
    let audit = service.audit(Some(&alice), 20).unwrap();
    assert!(audit.iter().any(|e| e.entry.action == "mailbox.forget_devices"));
}

#[test]
fn post_office_properties_change_the_default_mode_that_mailboxes_inherit() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "other.org");
    harness.click("Post Office Properties");
    harness.click_role(Role::ComboBox, "Default challenge mode");
    harness.click("Prompt by IP Address");
    harness.click("Users may configure their own two-factor settings");
    harness.click("OK");

    let po = console.service().postoffice(&"other.org".parse().unwrap()).unwrap();
    assert_eq!(po.challenge, ChallengeMode::NewIp);
    assert!(po.users_may_configure);
    harness.get_by_role_and_label(Role::Label, "Prompt by IP Address (inherited)");
}

/// A post office's trusted networks in its Properties: nonsense is shown under the field and
/// nothing is saved; valid networks are saved and used by the next login.
#[test]
fn post_office_properties_set_the_trusted_networks() {
    let console = Console::new();
    let service = console.service();
    let dave = address("dave@other.org");
    let changes = MailboxChanges { challenge: Some("new-ip".parse().unwrap()), ..MailboxChanges::default() };
    service.set_mailbox(&dave, &changes, Configurer::Administrator).unwrap();
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "other.org");
    harness.click("Post Office Properties");
    harness.type_into("Trusted networks", "10.0.0.0/33");
    harness.click("OK");
    harness.get_by_label_contains("the prefix must be a number from 0 to 32");
    assert!(console.service().postoffice(&"other.org".parse().unwrap()).unwrap().trusted_networks.is_empty());

    harness.replace_text("Trusted networks", "10.0.0.0/8, 2001:db8::/32");
    harness.click("OK");
    let po = console.service().postoffice(&"other.org".parse().unwrap()).unwrap();
    let shown: Vec<String> = po.trusted_networks.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["10.0.0.0/8", "2001:db8::/32"]);
    assert_eq!(
        service.begin_login(&dave, ip("10.20.30.40")).unwrap(),
        BeginAnswer::Allow { reason: Some(Reason::TrustedNetwork) }
    );
}

/// Properties → Mail Programs: the policy is saved with Apply; an app password is made for the
/// protocols ticked, shown once with Copy, and works where a mail server asks; *Remove…* asks
/// first, then it stops working.
#[test]
fn properties_make_an_app_password_shown_once_and_remove_it_after_asking() {
    let console = Console::new();
    let service = console.service();
    let alice = address("alice@example.com");
    let mut harness = properties_of(&console, "example.com", "alice");
    harness.click("Mail Programs");
    harness.get_by_label("None yet.");
    harness.click_role(Role::ComboBox, "Mail programs sign in with");
    harness.click("App passwords only");
    harness.click("Apply");
    let policy = service.mailbox(&alice).unwrap().mail_program_policy;
    assert_eq!(policy, MailProgramPolicy::AppPasswords);

    harness.click("Create app password");
    harness.get_by_label_contains("the app password's name is empty");
    assert_eq!(harness.state().shown_app_password(&alice), None, "nothing is made without a name");
    harness.type_into("New app password's name", "Thunderbird");
    harness.click("POP3");
    harness.click("Create app password");
    let password = harness.state().shown_app_password(&alice).expect("the password is shown");
    harness.get_by_label("Copy password");
    harness.get_by_label_contains("It is not shown again");
    let made = service.app_passwords(&alice).unwrap();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].protocols.to_string(), "imap,smtp,sieve");
    let (_, key) = service.add_client("dovecot", &ClientScope::default()).unwrap();
    let ask = |protocol: &str| {
        let request = MailAuthRequest {
            address: "alice@example.com".to_owned(),
            password: Some(zeroize::Zeroizing::new(password.clone())),
            verified: false,
            protocol: protocol.to_owned(),
            ip: Some("198.51.100.7".to_owned()),
            real_ip: Some("198.51.100.7".to_owned()),
        };
        let caller = Caller::new(Some(key.0.to_string()), IpAddr::from([127, 0, 0, 1]));
        service.check_mail_auth(&caller, &request, &NoThrottle).unwrap().answer
    };
    assert_eq!(ask("imap"), MailAuthAnswer::Accept { app_password: "Thunderbird".parse().unwrap() });
    assert_eq!(ask("pop3"), MailAuthAnswer::Reject { reason: MailAuthRefusal::ProtocolNotAllowed });
    harness.click("Hide password");
    assert_eq!(harness.state().shown_app_password(&alice), None);

    harness.click("Remove Thunderbird…");
    harness.click("No");
    assert_eq!(service.app_passwords(&alice).unwrap().len(), 1, "No keeps it");
    harness.click("Remove Thunderbird…");
    harness.click("Yes, remove it");
    assert!(service.app_passwords(&alice).unwrap().is_empty());
    assert_eq!(ask("imap"), MailAuthAnswer::Reject { reason: MailAuthRefusal::AppPasswordRequired });
    let audit = service.audit(Some(&alice), 20).unwrap();
    for action in ["app_password.add", "app_password.remove"] {
        assert!(audit.iter().any(|e| e.entry.action == action), "{action}");
    }
}

/// Properties → Two Factor of a passkey mailbox: the passkey its user registered at a login, with
/// when; *Remove…* asks first, then the passkey is gone, audited.
#[test]
fn properties_list_a_mailboxs_passkeys_and_remove_one_after_asking() {
    let console = Console::new();
    let env = &console.env;
    let alice = address("alice@example.com");
    env.ok(&["mailbox", "set", "alice@example.com", "--challenge", "always", "--provider", "passkey"]);
    let origin = "http://localhost:8443";
    let key = api_key(env, "webmail", &["--origin", origin]);
    {
        let server = Server::start(env, &[]);
        let post = |path: &str, body: serde_json::Value| {
            call(&agent(), "POST", &server.url(path), Some(&key), Some(&body.to_string())).json
        };
        let begun = post("/v1/login/begin", serde_json::json!({"address": "alice@example.com", "ip": "203.0.113.9"}));
        assert_eq!(begun["decision"], "enroll", "{begun}");
        let credential = SoftKey::new("localhost", origin).register(&begun["webauthn"]);
        let verified = post(
            "/v1/login/verify",
            serde_json::json!({"transaction_id": begun["transaction_id"], "webauthn": credential}),
        );
        assert_eq!(verified["result"], "accepted", "{verified}");
    }

    let mut harness = properties_of(&console, "example.com", "alice");
    harness.get_by_label("Passkeys");
    harness.get_by_label("Registered");
    harness.click("Remove Passkey…");
    harness.click("No");
    assert_eq!(console.service().passkeys(&alice).unwrap().len(), 1, "No keeps it");
    harness.click("Remove Passkey…");
    harness.get_by_label_contains("Remove the passkey \"Passkey\" of alice@example.com?");
    harness.click("Yes, remove it");
    assert!(console.service().passkeys(&alice).unwrap().is_empty());
    harness.get_by_label_contains("None yet: the next login that needs one registers it.");
    let audit = console.service().audit(Some(&alice), 5).unwrap();
    assert!(audit.iter().any(|e| e.entry.action == "mailbox.passkey_remove"), "{audit:?}");
}
