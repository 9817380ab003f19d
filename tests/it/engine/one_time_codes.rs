//! Codes sent by e-mail or SMS: single use, expiry, voiding and binding to the address, only a
//! keyed hash stored, the send limit, a failed delivery, and the fallback to another provider.

use super::{addr, rejected, smtp_rig};
use crate::common;
use crate::on_each_backend;
use mailmfa::domain::{BeginAnswer, Provider, Reason, RejectReason, VerifyAnswer};
use mailmfa::service::ServiceError;

fn one_time_codes_single_use_expiry_voiding_and_binding() {
    let rig = smtp_rig();
    let answer = rig.begin("203.0.113.9");
    assert_eq!(
        answer,
        BeginAnswer::Challenge {
            provider: Provider::Smtp,
            sent_to: Some("a…@example.org".to_owned()),
            reason: Some(Reason::Always)
        }
    );
    let (provider, to, _) = rig.outbox.sent.lock().unwrap()[0].clone();
    assert_eq!((provider, to.as_str()), (Provider::Smtp, "alice.home@example.org"));
    let code = rig.outbox.last_code();
    assert_eq!(rig.verify("198.51.100.1", &code), rejected(RejectReason::InvalidCode), "bound to the begin's IP");
    assert_eq!(rig.verify("203.0.113.9", &code), VerifyAnswer::Accepted);
    assert_eq!(rig.verify("203.0.113.9", &code), rejected(RejectReason::NoChallenge), "single use");

    rig.begin("203.0.113.9");
    let old = rig.outbox.last_code();
    rig.begin("203.0.113.9");
    let new = rig.outbox.last_code();
    if old != new {
        assert_eq!(rig.verify("203.0.113.9", &old), rejected(RejectReason::InvalidCode), "a new code voids the old");
    }
    rig.clock.advance(601);
    assert_eq!(rig.verify("203.0.113.9", &new), rejected(RejectReason::Expired));
    assert_eq!(rig.verify("203.0.113.9", &new), rejected(RejectReason::NoChallenge));
}

fn code_lifetime_setting_shortens_validity() {
    let rig = smtp_rig();
    rig.service.set_setting("code.lifetime_seconds", "120").unwrap();
    rig.begin("203.0.113.9");
    let code = rig.outbox.last_code();
    rig.clock.advance(121);
    assert_eq!(rig.verify("203.0.113.9", &code), rejected(RejectReason::Expired));
    assert!(rig.service.set_setting("code.lifetime_seconds", "601").is_err(), "never above ten minutes");
}

fn only_a_keyed_hash_of_the_code_is_stored() {
    let rig = smtp_rig();
    rig.begin("203.0.113.9");
    let code = rig.outbox.last_code();
    let rows = rig.env.raw().rows("SELECT code_hash, attempt, ip FROM otp_code");
    let [row] = rows.as_slice() else { panic!("one outstanding code: {rows:?}") };
    let (hash, attempt) = (row[0].clone().unwrap(), row[1].clone().unwrap());
    assert_eq!(hash.len(), 64, "a 32-byte hash in hex: {hash}");
    assert!(!attempt.contains(&code));
    assert!(!format!("{rows:?}").contains(&code));
    assert!(!common::contains(&rig.env.stored_bytes(), code.as_bytes()));
}

fn a_new_code_does_not_reset_failures_and_sends_are_limited() {
    let rig = smtp_rig();
    rig.begin("203.0.113.9");
    for _ in 0..4 {
        rig.verify("203.0.113.9", "000000");
    }
    rig.begin("203.0.113.9");
    rig.verify("203.0.113.9", "000000");
    assert!(matches!(rig.begin("203.0.113.9"), BeginAnswer::Locked { reason: Some(Reason::Locked), .. }));

    let rig = smtp_rig();
    for _ in 0..6 {
        assert!(matches!(rig.begin("203.0.113.9"), BeginAnswer::Challenge { .. }));
    }
    let limited = rig.begin("203.0.113.9");
    assert_eq!(limited, BeginAnswer::Locked { retry_after_s: 3600, reason: Some(Reason::SendLimit) });
    assert_eq!(rig.outbox.count(), 6);
    rig.clock.advance(3601);
    assert!(matches!(rig.begin("203.0.113.9"), BeginAnswer::Challenge { .. }));
}

fn a_gateway_failure_fails_closed_and_voids_the_code() {
    let rig = smtp_rig();
    *rig.outbox.fail.lock().unwrap() = true;
    let err = rig.try_begin(&addr(), "203.0.113.9").unwrap_err().to_string();
    assert!(err.contains("could not be sent") && err.contains("gateway down"), "{err}");
    assert_eq!(rig.env.raw().int("SELECT count(*) FROM otp_code"), 0, "the unsent code is void");
    let audit = serde_json::to_string(&rig.service.audit(Some(&addr()), 10).unwrap()).unwrap();
    assert!(audit.contains("login.send_code") && audit.contains("failed"), "{audit}");
}

/// A code that could not be sent does not use up the mailbox's hourly send limit.
fn a_failed_delivery_does_not_use_up_the_send_limit() {
    let rig = smtp_rig();
    rig.service.set_setting("code.sends_per_hour", "2").unwrap();
    *rig.outbox.fail.lock().unwrap() = true;
    for _ in 0..4 {
        let err = rig.try_begin(&addr(), "203.0.113.9").unwrap_err();
        assert!(matches!(err, ServiceError::Delivery(_)), "{err:?}");
    }
    *rig.outbox.fail.lock().unwrap() = false;
    assert!(matches!(rig.begin("203.0.113.9"), BeginAnswer::Challenge { sent_to: Some(_), .. }));
    assert!(matches!(rig.begin("203.0.113.9"), BeginAnswer::Challenge { sent_to: Some(_), .. }));
    assert!(matches!(rig.begin("203.0.113.9"), BeginAnswer::Locked { reason: Some(Reason::SendLimit), .. }));
}

fn a_disabled_provider_falls_back_to_one_the_mailbox_has_data_for() {
    let rig = smtp_rig();
    rig.service.set_provider(Provider::Smtp, Some(false), None, None).unwrap();
    let answer = rig.begin("203.0.113.9");
    assert!(matches!(answer, BeginAnswer::Challenge { provider: Provider::Sms, .. }), "{answer:?}");
    assert_eq!(rig.outbox.sent.lock().unwrap()[0].1, "+15551234567");
    rig.service.set_provider(Provider::Sms, Some(false), None, None).unwrap();
    assert_eq!(rig.begin("203.0.113.9"), BeginAnswer::Refused { reason: Reason::NoUsableProvider });
}

on_each_backend!(
    one_time_codes_single_use_expiry_voiding_and_binding,
    code_lifetime_setting_shortens_validity,
    only_a_keyed_hash_of_the_code_is_stored,
    a_new_code_does_not_reset_failures_and_sends_are_limited,
    a_gateway_failure_fails_closed_and_voids_the_code,
    a_failed_delivery_does_not_use_up_the_send_limit,
    a_disabled_provider_falls_back_to_one_the_mailbox_has_data_for,
);
