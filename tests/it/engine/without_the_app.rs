//! Signing in without the authenticator app: temporary access passes, recovery codes and
//! remembered devices.

use super::{Rig, addr, rejected};
use crate::common;
use crate::common::fixtures::secret_of;
use crate::on_each_backend;
use mailmfa::clock::Clock;
use mailmfa::domain::{BeginAnswer, MailboxAddress, Reason, RejectReason, VerifyAnswer};
use mailmfa::service::PostOfficeChanges;

/// A temporary access pass stands in for any code until it expires; typed with or without its
/// dash and in any case; a wrong one counts towards the lockout; issuing one clears a lock.
fn an_access_pass_works_until_it_expires_and_counts_like_a_code() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let secret = rig.enrol("203.0.113.9");
    // The phone is lost: five wrong codes lock the mailbox.
    for _ in 0..5 {
        rig.verify("203.0.113.9", "000001");
    }
    assert!(matches!(rig.begin("203.0.113.9"), BeginAnswer::Locked { .. }));

    let issued = rig.service.issue_access_pass(&addr(), 60, false).unwrap();
    let pass = issued.pass.shown();
    assert_eq!((pass.len(), &pass[5..6]), (11, "-"), "{pass}");
    assert_eq!(issued.expires_at, rig.clock.now() + 3600);
    assert!(matches!(rig.begin("203.0.113.9"), BeginAnswer::Challenge { .. }), "issuing the pass cleared the lock");
    assert_eq!(rig.verify("203.0.113.9", &pass), VerifyAnswer::Accepted);
    assert_eq!(rig.verify("198.51.100.4", &pass.replace('-', "").to_uppercase()), VerifyAnswer::Accepted, "not once");
    rig.clock.advance(30);
    assert_eq!(rig.verify("203.0.113.9", &rig.code(&secret)), VerifyAnswer::Accepted, "the app still works too");
    assert_eq!(rig.service.mailbox(&addr()).unwrap().access_pass_until, Some(issued.expires_at));

    // A wrong pass is a failed attempt like a wrong code.
    assert_eq!(rig.verify("203.0.113.9", "zzzzz-zzzzz"), rejected(RejectReason::InvalidCode));
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.failures, 1);

    rig.clock.advance(3571);
    assert_eq!(rig.verify("203.0.113.9", &pass), rejected(RejectReason::InvalidCode), "expired");
    assert_eq!(rig.service.mailbox(&addr()).unwrap().access_pass_until, None);

    for minutes in [9, 43_201] {
        assert!(rig.service.issue_access_pass(&addr(), minutes, false).is_err(), "{minutes} minutes");
    }
    let audit = rig.service.audit(Some(&addr()), 100).unwrap();
    let text = format!("{audit:?}");
    assert!(text.contains("mailbox.access_pass") && text.contains("temporary access pass"), "{text}");
    assert!(!text.contains(&pass) && !text.contains(&pass.replace('-', "")), "the pass itself is never audited");
}

/// A `--once` pass works for one login; on a mailbox whose code was reset it lets the user in
/// while the new enrolment waits for the next login.
fn a_once_access_pass_works_once_and_lets_a_reset_mailbox_in() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    rig.enrol("203.0.113.9");
    rig.service.reset_two_factor_code(&addr()).unwrap();
    let pass = rig.service.issue_access_pass(&addr(), 30, true).unwrap().pass.shown();
    assert!(matches!(rig.begin("203.0.113.9"), BeginAnswer::Enroll { .. }));
    assert_eq!(rig.verify("203.0.113.9", &pass), VerifyAnswer::Accepted);
    assert_eq!(rig.verify("203.0.113.9", &pass), rejected(RejectReason::InvalidCode), "used up");
    let details = rig.service.mailbox(&addr()).unwrap();
    assert_eq!(details.mailbox.enrolment, mailmfa::domain::EnrolmentState::Pending, "enrols at the next login");
    assert_eq!(details.access_pass_until, None);
    assert!(matches!(rig.begin("203.0.113.9"), BeginAnswer::Enroll { .. }));
}

/// The enrolment's first code brings ten recovery codes, once: distinct, `xxxxx-xxxxx`. Each
/// works once in place of a code (typed in any case, with or without its dash) and is audited;
/// used again it is a wrong code that counts towards the lockout; ten used leave none.
fn recovery_codes_come_with_the_enrolment_and_each_works_once() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let BeginAnswer::Enroll { otpauth_uri, .. } = rig.begin("203.0.113.9") else { panic!("expected enrolment") };
    let secret = secret_of(&otpauth_uri);
    let verified = rig.service.verify_login(&addr(), "203.0.113.9".parse().unwrap(), &rig.code(&secret)).unwrap();
    assert_eq!(verified.answer, VerifyAnswer::Accepted);
    let codes: Vec<String> = verified.recovery_codes.expect("codes at enrolment").iter().map(|c| c.shown()).collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(codes.iter().collect::<std::collections::BTreeSet<_>>().len(), 10, "distinct");
    for code in &codes {
        assert!(code.len() == 11 && &code[5..6] == "-", "{code}");
        assert!(code.chars().all(|c| c == '-' || "0123456789abcdefghjkmnpqrstvwxyz".contains(c)), "{code}");
    }
    let json = serde_json::to_value(verified_again(&rig, &secret)).unwrap();
    assert!(json.get("recovery_codes").is_none(), "only the enrolment brings codes: {json}");
    assert_eq!(rig.service.mailbox(&addr()).unwrap().recovery_codes_left, 10);

    assert_eq!(rig.verify("198.51.100.4", &codes[0]), VerifyAnswer::Accepted);
    assert_eq!(rig.verify("198.51.100.4", &codes[0]), rejected(RejectReason::InvalidCode), "used up");
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.failures, 1, "counted like a wrong code");
    assert_eq!(rig.verify("198.51.100.4", &codes[1].replace('-', "").to_uppercase()), VerifyAnswer::Accepted);
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.failures, 0);
    for code in &codes[2..] {
        assert_eq!(rig.verify("198.51.100.4", code), VerifyAnswer::Accepted, "{code}");
    }
    assert_eq!(rig.service.mailbox(&addr()).unwrap().recovery_codes_left, 0, "ten used: none left");
    for code in &codes {
        assert_ne!(rig.verify("198.51.100.4", code), VerifyAnswer::Accepted, "{code} works only once");
        rig.service.unlock(&addr()).unwrap();
    }
    let audit = format!("{:?}", rig.service.audit(Some(&addr()), 200).unwrap());
    assert!(audit.contains("10 recovery codes issued") && audit.contains("recovery_code used; 0 left"), "{audit}");
    for code in &codes {
        assert!(!audit.contains(code.as_str()) && !audit.contains(&code.replace('-', "")), "codes are never audited");
    }
}

/// A second accepted code after the enrolment, to see what a later verify answers.
fn verified_again(rig: &Rig, secret: &[u8]) -> mailmfa::domain::Verified {
    rig.clock.advance(30);
    rig.service.verify_login(&addr(), "203.0.113.9".parse().unwrap(), &rig.code(secret)).unwrap()
}

/// New codes void the old ones, used or not; a code of another mailbox does not work; the store
/// file (and its write-ahead log) holds only keyed hashes, never a code.
fn new_recovery_codes_void_the_old_and_only_hashes_are_stored() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    rig.enrol("203.0.113.9");
    let old: Vec<String> = rig.service.new_recovery_codes(&addr()).unwrap().iter().map(|c| c.shown()).collect();
    assert_eq!(rig.verify("203.0.113.9", &old[0]), VerifyAnswer::Accepted);
    let new: Vec<String> = rig.service.new_recovery_codes(&addr()).unwrap().iter().map(|c| c.shown()).collect();
    assert_eq!(rig.service.mailbox(&addr()).unwrap().recovery_codes_left, 10);
    assert_eq!(rig.verify("203.0.113.9", &old[1]), rejected(RejectReason::InvalidCode), "the old set is void");
    assert_eq!(rig.verify("203.0.113.9", &new[0]), VerifyAnswer::Accepted);

    let bob: MailboxAddress = "bob@example.com".parse().unwrap();
    rig.service.add_mailbox(&bob).unwrap();
    let bobs: Vec<String> = rig.service.new_recovery_codes(&bob).unwrap().iter().map(|c| c.shown()).collect();
    assert_eq!(rig.verify("203.0.113.9", &bobs[0]), rejected(RejectReason::InvalidCode), "bob's code is not alice's");
    assert_eq!(rig.service.mailbox(&bob).unwrap().recovery_codes_left, 10, "and stays bob's");

    let bytes = rig.env.stored_bytes();
    assert!(common::contains(&bytes, b"alice") && bytes.len() > 1024, "the store was read");
    for code in old.iter().chain(&new).chain(&bobs) {
        for form in [code.clone(), code.replace('-', ""), code.replace('-', "").to_uppercase()] {
            assert!(!common::contains(&bytes, form.as_bytes()), "{form} is in the store file");
        }
    }
    let audit = format!("{:?}", rig.service.audit(Some(&addr()), 100).unwrap());
    assert!(audit.contains("mailbox.recovery_codes"), "{audit}");
}

/// A remembered device is let through (reason `remembered_device`, from any address) until it is
/// forgotten, expires, or the code is reset; a forged token or one of another mailbox is not; a
/// lock still holds; the oldest devices beyond `remember.max_devices` are forgotten; with
/// `remember.days` 0 nothing is remembered and old tokens stop working. Only hashes are stored.
fn a_remembered_device_skips_the_challenge_until_it_is_revoked_expires_or_the_code_is_reset() {
    let rig = Rig::new();
    rig.set(Some("new-ip"), None);
    let secret = rig.enrol("203.0.113.9");
    let remembered = |ip: &str| {
        rig.clock.advance(30);
        remembering(&rig, &addr(), ip, &secret)
    };
    let begin_on = |address: &MailboxAddress, token: &str| {
        rig.service.decide_login(address, "198.51.100.4".parse().unwrap(), Some(token)).unwrap().answer
    };
    let allowed = BeginAnswer::Allow { reason: Some(Reason::RememberedDevice) };
    assert_eq!(remembered("203.0.113.9"), None, "remember.days is 0 by default: nothing is remembered");

    rig.service.set_setting("remember.days", "30").unwrap();
    let token = remembered("203.0.113.9").expect("a device token");
    assert!(token.len() >= 43, "{token}");
    assert_eq!(begin_on(&addr(), &token), allowed, "from another address too");
    assert_eq!(rig.service.mailbox(&addr()).unwrap().remembered_devices, 1);
    assert!(matches!(rig.begin("198.51.100.4"), BeginAnswer::Challenge { .. }), "not without the token");
    let other_last = if token.ends_with('A') { 'E' } else { 'A' };
    let forged = format!("{}{other_last}", &token[..token.len() - 1]);
    assert!(matches!(begin_on(&addr(), &forged), BeginAnswer::Challenge { .. }), "a forged token");

    // Bob's token is bob's: it does not let alice in, nor alice's bob.
    let bob: MailboxAddress = "bob@example.com".parse().unwrap();
    rig.add_challenged(&bob);
    rig.set_on(&bob, Some("new-ip"), None);
    let BeginAnswer::Enroll { otpauth_uri, .. } = rig.try_begin(&bob, "203.0.113.9").unwrap() else { panic!("enrol") };
    let bob_token = remembering(&rig, &bob, "203.0.113.9", &secret_of(&otpauth_uri)).unwrap();
    assert!(matches!(begin_on(&addr(), &bob_token), BeginAnswer::Challenge { .. }), "bob's token for alice");
    assert!(matches!(begin_on(&bob, &token), BeginAnswer::Challenge { .. }), "alice's token for bob");
    assert_eq!(begin_on(&bob, &bob_token), allowed);

    // A lock holds against a remembered device.
    for _ in 0..5 {
        rig.verify("203.0.113.9", "000001");
    }
    assert!(matches!(begin_on(&addr(), &token), BeginAnswer::Locked { .. }));
    rig.service.unlock(&addr()).unwrap();
    assert_eq!(begin_on(&addr(), &token), allowed);

    // Forgotten by the administrator.
    assert_eq!(rig.service.forget_devices(&addr()).unwrap(), 1);
    assert!(matches!(begin_on(&addr(), &token), BeginAnswer::Challenge { .. }), "forgotten");
    assert_eq!(begin_on(&bob, &bob_token), allowed, "bob's device is not alice's to forget");

    // Expired.
    let token = remembered("203.0.113.9").unwrap();
    rig.clock.advance(30 * 86_400 - 1);
    assert_eq!(begin_on(&addr(), &token), allowed, "a second before it expires");
    rig.clock.advance(1);
    assert!(matches!(begin_on(&addr(), &token), BeginAnswer::Challenge { .. }), "expired");

    // At most remember.max_devices: the oldest goes.
    rig.service.set_setting("remember.max_devices", "2").unwrap();
    let first = remembered("203.0.113.9").unwrap();
    rig.clock.advance(60);
    let second = remembered("203.0.113.9").unwrap();
    rig.clock.advance(60);
    let third = remembered("203.0.113.9").unwrap();
    assert!(matches!(begin_on(&addr(), &first), BeginAnswer::Challenge { .. }), "the oldest was forgotten");
    assert_eq!(begin_on(&addr(), &second), allowed);
    assert_eq!(begin_on(&addr(), &third), allowed);

    let bytes = rig.env.stored_bytes();
    for t in [&second, &third, &bob_token] {
        assert!(!common::contains(&bytes, t.as_bytes()), "a device token is in the store file");
    }

    // Off again: old tokens stop working. A code reset forgets the devices.
    rig.service.set_setting("remember.days", "0").unwrap();
    assert!(matches!(begin_on(&addr(), &third), BeginAnswer::Challenge { .. }), "remembering turned off");
    rig.service.set_setting("remember.days", "30").unwrap();
    assert_eq!(begin_on(&addr(), &third), allowed);
    rig.service.reset_two_factor_code(&addr()).unwrap();
    assert!(matches!(begin_on(&addr(), &third), BeginAnswer::Enroll { .. }), "the code reset forgot the devices");
    let audit = format!("{:?}", rig.service.audit(Some(&addr()), 200).unwrap());
    assert!(audit.contains("device remembered for 30 days") && audit.contains("devices_forgotten=2"), "{audit}");
    assert!(!audit.contains(&third), "a token in the audit log");
}

/// Prompt Always means always: a remembered device is asked for a code there like any other,
/// unless its post office lets remembered devices skip Prompt Always too; where the mode asks
/// about known places, the device is let through.
fn prompt_always_asks_a_remembered_device_too() {
    let rig = Rig::new();
    rig.service.set_setting("remember.days", "30").unwrap();
    rig.set(Some("always"), None);
    let secret = rig.enrol("203.0.113.9");
    rig.clock.advance(30);
    let token = remembering(&rig, &addr(), "203.0.113.9", &secret).expect("a device token");
    let on_device = || rig.service.decide_login(&addr(), "198.51.100.4".parse().unwrap(), Some(&token)).unwrap().answer;
    assert!(matches!(on_device(), BeginAnswer::Challenge { reason: Some(Reason::Always), .. }), "{:?}", on_device());

    let example = "example.com".parse().unwrap();
    let opt_in = PostOfficeChanges { remember_in_always: Some(true), ..PostOfficeChanges::default() };
    rig.service.set_postoffice(&example, &opt_in).unwrap();
    assert_eq!(on_device(), BeginAnswer::Allow { reason: Some(Reason::RememberedDevice) }, "the post office opted in");
    let opt_out = PostOfficeChanges { remember_in_always: Some(false), ..PostOfficeChanges::default() };
    rig.service.set_postoffice(&example, &opt_out).unwrap();

    rig.set(Some("new-ip"), None);
    assert_eq!(on_device(), BeginAnswer::Allow { reason: Some(Reason::RememberedDevice) }, "Prompt by IP Address");
    rig.set(Some("new-country"), None);
    assert_eq!(on_device(), BeginAnswer::Allow { reason: Some(Reason::RememberedDevice) }, "Prompt by Country");
}

/// The code of `address` (whose app has `secret`) from `ip`, asking to remember the device: its
/// token, if remembering is on.
fn remembering(rig: &Rig, address: &MailboxAddress, ip: &str, secret: &[u8]) -> Option<String> {
    let code = rig.code(secret);
    let verified = rig.service.verify_login_remembering(address, ip.parse().unwrap(), &code, true).unwrap();
    assert_eq!(verified.answer, VerifyAnswer::Accepted);
    verified.device_token
}

on_each_backend!(
    an_access_pass_works_until_it_expires_and_counts_like_a_code,
    a_once_access_pass_works_once_and_lets_a_reset_mailbox_in,
    recovery_codes_come_with_the_enrolment_and_each_works_once,
    new_recovery_codes_void_the_old_and_only_hashes_are_stored,
    a_remembered_device_skips_the_challenge_until_it_is_revoked_expires_or_the_code_is_reset,
    prompt_always_asks_a_remembered_device_too,
);
