//! TOTP: the default mode, enrolment and its expiry, the ±1 step window, replay, a reset, the
//! lockout and what counts as a failure.

use super::{Rig, T0, addr, rejected};
use crate::common::fixtures::secret_of;
use crate::on_each_backend;
use mailmfa::clock::Clock;
use mailmfa::domain::totp::{code_at_step, step_of};
use mailmfa::domain::{BeginAnswer, MailboxAddress, MailboxStatus, Provider, Reason, RejectReason, VerifyAnswer};

fn never_allows_and_a_new_post_office_starts_at_never() {
    let rig = Rig::new();
    assert_eq!(rig.begin("203.0.113.9"), BeginAnswer::Allow { reason: Some(Reason::Never) });
    assert_eq!(rig.verify("203.0.113.9", "123456"), rejected(RejectReason::NoChallenge));
}

fn totp_enrolment_pending_until_first_code_then_active() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let first = rig.begin("203.0.113.9");
    let BeginAnswer::Enroll { otpauth_uri, reason, provider } = &first else { panic!("{first:?}") };
    assert_eq!(*provider, Provider::Totp);
    assert_eq!(*reason, Some(Reason::Always));
    assert!(otpauth_uri.starts_with("otpauth://totp/mailmfa:alice@example.com?secret="));
    assert_eq!(rig.begin("203.0.113.9"), first, "begin again re-shows the same pending secret");
    let details = rig.service.mailbox(&addr()).unwrap();
    assert_eq!(details.mailbox.enrolment.word(), "pending");

    let secret = secret_of(otpauth_uri);
    assert_eq!(rig.verify("203.0.113.9", "000000").clone(), rejected(RejectReason::InvalidCode));
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.enrolment.word(), "pending");
    assert_eq!(rig.verify("203.0.113.9", &rig.code(&secret)), VerifyAnswer::Accepted);
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.enrolment.word(), "active");
    assert_eq!(
        rig.begin("203.0.113.9"),
        BeginAnswer::Challenge { provider: Provider::Totp, sent_to: None, reason: Some(Reason::Always) }
    );
}

fn enrolment_secrets_are_160_random_bits_each() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let bob: MailboxAddress = "bob@example.com".parse().unwrap();
    rig.add_challenged(&bob);
    let BeginAnswer::Enroll { otpauth_uri: first, .. } = rig.begin("203.0.113.9") else { panic!("alice enrols") };
    let BeginAnswer::Enroll { otpauth_uri: second, .. } = rig.try_begin(&bob, "203.0.113.9").unwrap() else {
        panic!("bob enrols")
    };
    let b32 = |uri: &str| uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    assert_eq!(b32(&first).len(), 32, "20 bytes are 32 Base32 characters");
    assert_eq!(secret_of(&first).len(), 20);
    assert_ne!(secret_of(&first), secret_of(&second));
}

fn replay_and_older_steps_are_refused_and_logged() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let secret = rig.enrol("203.0.113.9");
    let used = rig.code(&secret);
    assert_eq!(rig.verify("203.0.113.9", &used), rejected(RejectReason::InvalidCode), "same code again");
    rig.clock.advance(30);
    let older = code_at_step(&secret, step_of(T0) - 1);
    assert_eq!(rig.verify("203.0.113.9", &older), rejected(RejectReason::InvalidCode), "older in-window step");
    let now_code = rig.code(&secret);
    assert_eq!(rig.verify("203.0.113.9", &now_code), VerifyAnswer::Accepted);
    let audit = serde_json::to_string(&rig.service.audit(Some(&addr()), 100).unwrap()).unwrap();
    assert!(audit.contains("replayed TOTP code"), "{audit}");
}

fn injected_clock_window_is_plus_minus_one_step() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let secret = rig.enrol("203.0.113.9");
    rig.clock.advance(300);
    let t = step_of(rig.clock.now());
    assert_eq!(rig.verify("203.0.113.9", &code_at_step(&secret, t + 2)), rejected(RejectReason::InvalidCode));
    assert_eq!(rig.verify("203.0.113.9", &code_at_step(&secret, t - 2)), rejected(RejectReason::InvalidCode));
    assert_eq!(rig.verify("203.0.113.9", &code_at_step(&secret, t - 1)), VerifyAnswer::Accepted);
    assert_eq!(rig.verify("203.0.113.9", &code_at_step(&secret, t + 1)), VerifyAnswer::Accepted);
}

fn reset_two_factor_code_makes_the_next_login_enrol_again() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let secret = rig.enrol("203.0.113.9");
    rig.service.reset_two_factor_code(&addr()).unwrap();
    let BeginAnswer::Enroll { otpauth_uri, .. } = rig.begin("203.0.113.9") else { panic!("must enrol again") };
    assert_ne!(secret_of(&otpauth_uri), secret, "a new secret");
    rig.clock.advance(30);
    assert_eq!(rig.verify("203.0.113.9", &rig.code(&secret)), rejected(RejectReason::InvalidCode), "old app");
}

/// A QR code that was shown but never confirmed expires after `enroll.pending_hours`: the next
/// login shows a new one, and the old secret no longer enrols.
fn pending_enrolments_expire() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let BeginAnswer::Enroll { otpauth_uri: first, .. } = rig.begin("203.0.113.9") else { panic!("enrols") };
    rig.clock.advance(23 * 3600);
    assert_eq!(
        rig.begin("203.0.113.9"),
        BeginAnswer::Enroll { provider: Provider::Totp, otpauth_uri: first.clone(), reason: Some(Reason::Always) },
        "still the same QR code within the day"
    );
    rig.clock.advance(3600);
    let old = secret_of(&first);
    assert_eq!(rig.verify("203.0.113.9", &rig.code(&old)), rejected(RejectReason::Expired));
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.enrolment.word(), "none");
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.failures, 0, "an expired enrolment is not a failure");
    let BeginAnswer::Enroll { otpauth_uri: second, .. } = rig.begin("203.0.113.9") else { panic!("enrols again") };
    assert_ne!(second, first, "a new QR code");

    rig.service.set_setting("enroll.pending_hours", "1").unwrap();
    rig.clock.advance(3600);
    let BeginAnswer::Enroll { otpauth_uri: third, .. } = rig.begin("203.0.113.9") else { panic!("enrols again") };
    assert_ne!(third, second, "the shorter lifetime applies");
    let audit = serde_json::to_string(&rig.service.audit(Some(&addr()), 100).unwrap()).unwrap();
    assert!(audit.contains("pending enrolment expired"), "{audit}");
}

fn lockout_after_five_failures_same_answer_growing_lock_and_unlock() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let secret = rig.enrol("203.0.113.9");
    rig.clock.advance(30);
    for _ in 0..4 {
        assert_eq!(rig.verify("203.0.113.9", "000001"), rejected(RejectReason::InvalidCode));
    }
    assert_eq!(rig.verify("203.0.113.9", "000002"), rejected(RejectReason::Locked), "the fifth wrong code locks");
    let good = rig.code(&secret);
    assert_eq!(rig.verify("203.0.113.9", &good), rejected(RejectReason::Locked), "a correct code while locked");
    assert_eq!(rig.verify("203.0.113.9", "000003"), rejected(RejectReason::Locked), "a wrong code while locked");
    assert_eq!(rig.begin("203.0.113.9"), BeginAnswer::Locked { retry_after_s: 60, reason: Some(Reason::Locked) });
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.status(rig.clock.now()), MailboxStatus::Locked);

    rig.clock.advance(61);
    for _ in 0..5 {
        rig.verify("203.0.113.9", "000004");
    }
    let BeginAnswer::Locked { retry_after_s, .. } = rig.begin("203.0.113.9") else { panic!("locked again") };
    assert_eq!(retry_after_s, 120, "the second lock is twice as long");

    rig.service.unlock(&addr()).unwrap();
    assert_eq!(rig.verify("203.0.113.9", &rig.code(&secret)), VerifyAnswer::Accepted);
    let record = rig.service.mailbox(&addr()).unwrap().mailbox;
    assert_eq!((record.failures, record.lock_count, record.locked_until), (0, 0, None));
}

fn success_resets_the_failure_counter() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let secret = rig.enrol("203.0.113.9");
    for _ in 0..4 {
        rig.verify("203.0.113.9", "000001");
    }
    rig.clock.advance(30);
    assert_eq!(rig.verify("203.0.113.9", &rig.code(&secret)), VerifyAnswer::Accepted);
    for _ in 0..4 {
        rig.verify("203.0.113.9", "000001");
    }
    assert!(matches!(rig.begin("203.0.113.9"), BeginAnswer::Challenge { .. }), "4 more failures do not lock");
}

fn malformed_codes_are_input_errors_not_failures() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    rig.enrol("203.0.113.9");
    for bad in ["", "12345", "1234567", "12a456", " 123456", "１２３４５６", &"9".repeat(10_000)] {
        let err = rig.try_verify(&addr(), "203.0.113.9", bad).unwrap_err().to_string();
        assert!(err.contains("code"), "{bad:?}: {err}");
        assert!(err.len() < 100, "short error for {bad:?}");
    }
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.failures, 0);
}

/// The service keeps its settings between logins, but a change made elsewhere — another server
/// sharing the store — is used by the very next login.
fn a_setting_changed_by_another_process_is_used_at_once() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    rig.enrol("203.0.113.9");
    assert_eq!(rig.verify("203.0.113.9", "000001"), rejected(RejectReason::InvalidCode));
    let other_server = rig.env.service(T0);
    other_server.set_setting("lockout.threshold", "2").unwrap();
    assert_eq!(rig.verify("203.0.113.9", "000001"), rejected(RejectReason::Locked), "the second failure locks");
    assert_eq!(rig.verify("203.0.113.9", "000001"), rejected(RejectReason::Locked), "and it stays locked");
    other_server.set_setting("issuer", "Example Mail").unwrap();
    rig.service.reset_two_factor_code(&addr()).unwrap();
    let BeginAnswer::Enroll { otpauth_uri, .. } = rig.begin("203.0.113.9") else { panic!("enrols again") };
    assert!(otpauth_uri.starts_with("otpauth://totp/Example%20Mail:alice@example.com?"), "{otpauth_uri}");
}

on_each_backend!(
    never_allows_and_a_new_post_office_starts_at_never,
    totp_enrolment_pending_until_first_code_then_active,
    enrolment_secrets_are_160_random_bits_each,
    replay_and_older_steps_are_refused_and_logged,
    injected_clock_window_is_plus_minus_one_step,
    reset_two_factor_code_makes_the_next_login_enrol_again,
    pending_enrolments_expire,
    lockout_after_five_failures_same_answer_growing_lock_and_unlock,
    success_resets_the_failure_counter,
    malformed_codes_are_input_errors_not_failures,
    a_setting_changed_by_another_process_is_used_at_once,
);
