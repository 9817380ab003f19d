//! Mailboxes and the audit log: self-service within the post office's and the platform's rules,
//! mailboxes made at their first login and removed without a trace, and every decision audited,
//! never a code or a secret.

use super::{Rig, addr, rejected, smtp_rig};
use crate::common::fixtures::secret_of;
use crate::on_each_backend;
use mailmfa::clock::Clock;
use mailmfa::domain::totp::{code_at_step, step_of};
use mailmfa::domain::{
    BeginAnswer, ChallengeMode, Configurer, MailboxAddress, MailboxChallenge, Provider, Reason, RejectReason,
    VerifyAnswer,
};
use mailmfa::service::{MailboxChanges, PostOfficeChanges, ServiceError};

fn self_service_follows_the_post_office_and_provider_switches() {
    let rig = Rig::new();
    let po = "example.com".parse().unwrap();
    let to_sms = MailboxChanges {
        provider: Some(Provider::Sms),
        sms_number: Some(Some("+447700900123".parse().unwrap())),
        ..MailboxChanges::default()
    };
    let refused = rig.service.set_mailbox(&addr(), &to_sms, Configurer::EndUser).unwrap_err();
    assert!(matches!(refused, ServiceError::SelfServiceOff(_)) && refused.is_refusal(), "{refused}");
    assert!(refused.to_string().contains("does not let users configure"), "{refused}");
    rig.service
        .set_postoffice(&po, &PostOfficeChanges { users_may_configure: Some(true), ..PostOfficeChanges::default() })
        .unwrap();
    rig.service.set_provider(Provider::Sms, None, None, Some(false)).unwrap();
    let refused = rig.service.set_mailbox(&addr(), &to_sms, Configurer::EndUser).unwrap_err();
    assert!(
        matches!(refused, ServiceError::ProviderNotConfigurable { by: Configurer::EndUser, .. })
            && refused.is_refusal(),
        "{refused}"
    );
    assert!(refused.to_string().contains("end users"), "{refused}");
    rig.service.set_provider(Provider::Sms, None, None, Some(true)).unwrap();
    rig.service.set_mailbox(&addr(), &to_sms, Configurer::EndUser).unwrap();
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.provider, Provider::Sms);
    let audit = serde_json::to_string(&rig.service.audit(Some(&addr()), 10).unwrap()).unwrap();
    assert!(audit.contains("user.set"));
}

/// DESIGN.md §5: changing only the challenge mode needs only the post office's permission, even
/// when the mailbox's provider is one users may not configure.
fn a_user_may_change_only_the_challenge_mode_where_the_post_office_allows_it() {
    let rig = smtp_rig();
    rig.service.set_provider(Provider::Smtp, None, None, Some(false)).unwrap();
    let only_mode = MailboxChanges { challenge: Some("new-ip".parse().unwrap()), ..MailboxChanges::default() };
    let refused = rig.service.set_mailbox(&addr(), &only_mode, Configurer::EndUser).unwrap_err();
    assert!(matches!(refused, ServiceError::SelfServiceOff(_)), "{refused}");
    rig.service
        .set_postoffice(
            &"example.com".parse().unwrap(),
            &PostOfficeChanges { users_may_configure: Some(true), ..PostOfficeChanges::default() },
        )
        .unwrap();
    rig.service.set_mailbox(&addr(), &only_mode, Configurer::EndUser).unwrap();
    let mailbox = rig.service.mailbox(&addr()).unwrap().mailbox;
    assert_eq!((mailbox.effective_challenge(), mailbox.provider), (ChallengeMode::NewIp, Provider::Smtp));
    let new_address = MailboxChanges {
        alt_email: Some(Some("alice.work@example.net".parse().unwrap())),
        ..MailboxChanges::default()
    };
    let refused = rig.service.set_mailbox(&addr(), &new_address, Configurer::EndUser).unwrap_err();
    assert!(matches!(refused, ServiceError::ProviderNotConfigurable { provider: Provider::Smtp, .. }), "{refused}");
}

fn unknown_mailboxes_inherit_and_unknown_post_offices_are_errors() {
    let rig = Rig::new();
    rig.service
        .set_postoffice(
            &"example.com".parse().unwrap(),
            &PostOfficeChanges { challenge: Some(ChallengeMode::Always), ..PostOfficeChanges::default() },
        )
        .unwrap();
    let newbie: MailboxAddress = "carol@example.com".parse().unwrap();
    let answer = rig.try_begin(&newbie, "203.0.113.9").unwrap();
    assert!(matches!(answer, BeginAnswer::Enroll { reason: Some(Reason::Always), .. }), "{answer:?}");
    assert_eq!(rig.service.mailbox(&newbie).unwrap().mailbox.challenge, MailboxChallenge::Inherit);
    let stranger: MailboxAddress = "eve@elsewhere.org".parse().unwrap();
    let err = rig.try_begin(&stranger, "203.0.113.9").unwrap_err();
    assert!(err.to_string().contains("no post office elsewhere.org"), "{err}");
    assert_eq!(rig.try_verify(&stranger, "203.0.113.9", "123456").unwrap(), rejected(RejectReason::NoChallenge));
}

/// A mailbox made by its first login is marked so in the audit log; removing a mailbox removes its
/// secret, known places, codes and sends — nothing of it is left to come back.
fn a_mailbox_made_at_login_is_marked_and_removing_it_leaves_nothing() {
    let rig = smtp_rig();
    rig.service
        .set_postoffice(
            &"example.com".parse().unwrap(),
            &PostOfficeChanges { challenge: Some(ChallengeMode::Always), ..PostOfficeChanges::default() },
        )
        .unwrap();
    let carol: MailboxAddress = "carol@example.com".parse().unwrap();
    let BeginAnswer::Enroll { otpauth_uri, .. } = rig.try_begin(&carol, "203.0.113.9").unwrap() else { panic!() };
    let made = rig.service.audit(Some(&carol), 10).unwrap();
    assert!(
        made.iter().any(|e| e.entry.action == "mailbox.add"
            && e.entry.actor == "cli:admin"
            && e.entry.detail.as_deref().is_some_and(|d| d.contains("first login"))),
        "{made:?}"
    );
    let code = code_at_step(&secret_of(&otpauth_uri), step_of(rig.clock.now()));
    assert_eq!(rig.try_verify(&carol, "203.0.113.9", &code).unwrap(), VerifyAnswer::Accepted);
    rig.begin("203.0.113.9");
    let raw = rig.env.raw();
    let id = raw.int("SELECT id FROM mailbox WHERE name = 'carol'");
    let alice = raw.int("SELECT id FROM mailbox WHERE name = 'alice'");
    rig.service.remove_mailbox(&carol).unwrap();
    rig.service.remove_mailbox(&addr()).unwrap();
    for table in ["known_ip", "known_country", "otp_code", "code_send"] {
        let left = raw.int(&format!("SELECT count(*) FROM {table} WHERE mailbox_id IN ({id}, {alice})"));
        assert_eq!(left, 0, "{table} keeps rows of a removed mailbox");
    }
    assert_eq!(raw.int("SELECT count(*) FROM mailbox WHERE totp_secret IS NOT NULL"), 0);
    let again = rig.try_begin(&carol, "203.0.113.9").unwrap();
    assert!(matches!(&again, BeginAnswer::Enroll { otpauth_uri: uri, .. } if *uri != otpauth_uri), "{again:?}");
}

fn the_audit_log_has_every_decision_and_never_a_code_or_secret() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let BeginAnswer::Enroll { otpauth_uri, .. } = rig.begin("8.8.8.8") else { panic!() };
    let secret = secret_of(&otpauth_uri);
    let code = rig.code(&secret);
    rig.verify("8.8.8.8", "999999");
    rig.verify("8.8.8.8", &code);
    let smtp = smtp_rig();
    smtp.begin("203.0.113.9");
    let otp = smtp.outbox.last_code();
    smtp.verify("203.0.113.9", &otp);

    for (service, code) in [(&rig.service, &code), (&smtp.service, &otp)] {
        let entries = service.audit(None, 1000).unwrap();
        let text = serde_json::to_string(&entries).unwrap();
        assert!(!text.contains(code.as_str()), "code in audit: {text}");
        let b32 = otpauth_uri.split("secret=").nth(1).unwrap().split('&').next().unwrap();
        assert!(!text.contains(b32));
        assert!(entries.iter().any(|e| e.entry.action == "login.begin" && e.entry.ip.is_some()));
        assert!(entries.iter().any(|e| e.entry.action == "login.verify" && e.entry.outcome.to_string() == "accepted"));
    }
    let entries = rig.service.audit(None, 1000).unwrap();
    let begin = entries.iter().find(|e| e.entry.action == "login.begin").unwrap();
    assert_eq!((begin.entry.ip.as_deref(), begin.entry.country.as_deref()), (Some("8.8.8.8"), Some("US")));
    assert!(entries.iter().any(|e| e.entry.outcome.to_string() == "rejected:invalid_code"));
}

/// Every login attempt leaves an audit entry with its outcome — bad input and errors too — and
/// never the code.
fn every_login_attempt_is_audited() {
    let rig = Rig::new();
    rig.set(Some("always"), None);
    let cases: [(&str, &str, Option<&str>); 5] = [
        ("alice@example.com", "203.0.113.300", None),
        ("not an address", "203.0.113.9", None),
        ("eve@elsewhere.example", "203.0.113.9", None),
        ("alice@example.com", "203.0.113.9", Some("12a456")),
        ("alice@example.com", "203.0.113.9", Some("9876543")),
    ];
    for (address, ip, code) in cases {
        let before = rig.service.audit(None, 1000).unwrap().len();
        let result = match code {
            None => rig.service.begin_login_as_typed(address, ip, None).map(drop),
            Some(code) => rig.service.verify_login_as_typed(address, ip, code, false).map(drop),
        };
        assert!(result.is_err(), "{address} {ip} {code:?}");
        let entries = rig.service.audit(None, 1000).unwrap();
        assert_eq!(entries.len(), before + 1, "{address} {ip} {code:?}: not audited");
        let entry = &entries[0];
        let action = if code.is_some() { "login.verify" } else { "login.begin" };
        assert_eq!(entry.entry.action, action);
        assert!(
            entry.entry.outcome.to_string() == "invalid_input" || entry.entry.outcome.to_string() == "error",
            "{entry:?}"
        );
        assert!(entry.entry.detail.as_deref().is_some_and(|d| !d.is_empty()), "{entry:?}");
        if let Some(code) = code {
            assert!(!format!("{entry:?}").contains(code), "the code is in the audit log: {entry:?}");
        }
    }
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.failures, 0, "bad input counted as a failure");
}

on_each_backend!(
    self_service_follows_the_post_office_and_provider_switches,
    a_user_may_change_only_the_challenge_mode_where_the_post_office_allows_it,
    unknown_mailboxes_inherit_and_unknown_post_offices_are_errors,
    a_mailbox_made_at_login_is_marked_and_removing_it_leaves_nothing,
    the_audit_log_has_every_decision_and_never_a_code_or_secret,
    every_login_attempt_is_audited,
);
