//! The login engine in-process, with an injected clock and a sender that keeps what it is asked
//! to send: the four challenge modes over IPv4, IPv6 and IPv4-mapped addresses (countries from the
//! bundled GeoIP database), TOTP enrolment, replay, lockout, one-time codes, provider fallback,
//! self-service rules and the audit trail.

use std::sync::{Arc, Mutex};

use crate::common;
use crate::common::TestEnv;
use crate::common::fixtures::{secret_of, six_digits};
use crate::on_each_backend;
use mailmfa::clock::{Clock, FixedClock};
use mailmfa::delivery::{CodeMessage, CodeSender, DeliveryError};
use mailmfa::domain::totp::{code_at_step, step_of};
use mailmfa::domain::{
    BeginAnswer, ChallengeMode, Configurer, MailboxAddress, MailboxChallenge, MailboxStatus, PhoneNumber, Provider,
    Reason, RejectReason, VerifyAnswer,
};
use mailmfa::service::{MailboxChanges, PostOfficeChanges, Service, ServiceError};

const T0: i64 = 1_800_000_000;

/// Keeps every message instead of sending it, or fails like a dead gateway.
#[derive(Default)]
struct Outbox {
    sent: Mutex<Vec<(Provider, String, String)>>,
    fail: Mutex<bool>,
}

impl Outbox {
    fn last_code(&self) -> String {
        six_digits(&self.sent.lock().unwrap().last().expect("a message was sent").2)
    }

    fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

impl CodeSender for Outbox {
    fn send(&self, provider: Provider, destination: &str, message: &CodeMessage) -> Result<(), DeliveryError> {
        if *self.fail.lock().unwrap() {
            return Err(DeliveryError::Config {
                service: mailmfa::delivery::Service::SmsGateway,
                detail: "gateway down".to_owned(),
            });
        }
        self.sent.lock().unwrap().push((provider, destination.to_owned(), message.body.to_string()));
        Ok(())
    }
}

struct Rig {
    env: TestEnv,
    service: Service,
    clock: Arc<FixedClock>,
    outbox: Arc<Outbox>,
}

impl Rig {
    /// The store with alice@example.com, the bundled country database, and every code kept in
    /// the outbox instead of sent.
    fn new() -> Self {
        let env = TestEnv::new();
        let clock = Arc::new(FixedClock::new(T0));
        let outbox = Arc::new(Outbox::default());
        let service = env.service_on(clock.clone()).with_actor("admin").with_sender(outbox.clone());
        service.add_postoffice(&"example.com".parse().unwrap()).unwrap();
        service.add_mailbox(&addr()).unwrap();
        Rig { env, service, clock, outbox }
    }

    fn try_begin(&self, address: &MailboxAddress, ip: &str) -> Result<BeginAnswer, ServiceError> {
        self.service.begin_login(address, ip.parse().unwrap())
    }

    fn try_verify(&self, address: &MailboxAddress, ip: &str, code: &str) -> Result<VerifyAnswer, ServiceError> {
        self.service.verify_login(address, ip.parse().unwrap(), code).map(|verified| verified.answer)
    }

    /// The secret of the mailbox's current enrolment.
    fn secret(&self) -> Vec<u8> {
        secret_of(&self.service.enrolment_uri(&addr()).unwrap().0)
    }

    fn set(&self, challenge: Option<&str>, provider: Option<Provider>) {
        self.set_on(&addr(), challenge, provider);
    }

    fn set_on(&self, address: &MailboxAddress, challenge: Option<&str>, provider: Option<Provider>) {
        let changes =
            MailboxChanges { challenge: challenge.map(|c| c.parse().unwrap()), provider, ..MailboxChanges::default() };
        self.service.set_mailbox(address, &changes, Configurer::Administrator).unwrap();
    }

    /// Adds another mailbox of example.com, challenged on every login.
    fn add_challenged(&self, address: &MailboxAddress) {
        self.service.add_mailbox(address).unwrap();
        self.set_on(address, Some("always"), None);
    }

    fn begin(&self, ip: &str) -> BeginAnswer {
        self.try_begin(&addr(), ip).unwrap()
    }

    fn verify(&self, ip: &str, code: &str) -> VerifyAnswer {
        self.try_verify(&addr(), ip, code).unwrap()
    }

    /// Enrols the mailbox from `ip` and returns its secret.
    fn enrol(&self, ip: &str) -> Vec<u8> {
        let BeginAnswer::Enroll { otpauth_uri, .. } = self.begin(ip) else { panic!("expected enrolment") };
        let secret = secret_of(&otpauth_uri);
        assert_eq!(self.verify(ip, &self.code(&secret)), VerifyAnswer::Accepted);
        secret
    }

    fn code(&self, secret: &[u8]) -> String {
        code_at_step(secret, step_of(self.clock.now()))
    }
}

fn addr() -> MailboxAddress {
    "alice@example.com".parse().unwrap()
}

fn rejected(reason: RejectReason) -> VerifyAnswer {
    VerifyAnswer::Rejected { reason }
}

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

fn new_ip_treats_ipv4_mapped_ipv6_as_the_same_address() {
    let rig = Rig::new();
    rig.set(Some("new-ip"), None);
    let BeginAnswer::Enroll { reason, .. } = rig.begin("203.0.113.5") else { panic!() };
    assert_eq!(reason, Some(Reason::NewIp));
    rig.service.reset_two_factor_code(&addr()).unwrap();
    rig.enrol("203.0.113.5");
    assert_eq!(rig.begin("203.0.113.5"), BeginAnswer::Allow { reason: Some(Reason::KnownIp) });
    assert_eq!(rig.begin("::ffff:203.0.113.5"), BeginAnswer::Allow { reason: Some(Reason::KnownIp) });
    let v6 = rig.begin("2001:db8::1");
    assert!(matches!(v6, BeginAnswer::Challenge { reason: Some(Reason::NewIp), .. }), "{v6:?}");
    let secret = rig.secret();
    rig.clock.advance(30);
    assert_eq!(rig.verify("2001:db8::1", &rig.code(&secret)), VerifyAnswer::Accepted);
    assert_eq!(rig.begin("2001:0db8:0000::0001"), BeginAnswer::Allow { reason: Some(Reason::KnownIp) });
    rig.service.reset_country_exceptions(&addr()).unwrap();
    assert!(matches!(rig.begin("203.0.113.5"), BeginAnswer::Challenge { reason: Some(Reason::NewIp), .. }));
}

fn new_country_uses_the_bundled_database_and_challenges_unknown_countries() {
    let rig = Rig::new();
    rig.set(Some("new-country"), None);
    let BeginAnswer::Enroll { otpauth_uri, reason, .. } = rig.begin("8.8.8.8") else { panic!() };
    assert_eq!(reason, Some(Reason::NewCountry));
    let secret = secret_of(&otpauth_uri);
    assert_eq!(rig.verify("8.8.8.8", &rig.code(&secret)), VerifyAnswer::Accepted);
    assert_eq!(rig.begin("1.1.1.1"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) }, "US again");
    assert_eq!(rig.begin("2001:4860:4860::8888"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) });
    assert_eq!(rig.begin("::ffff:1.1.1.1"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) });
    assert!(matches!(rig.begin("193.99.144.80"), BeginAnswer::Challenge { reason: Some(Reason::NewCountry), .. }));
    assert!(matches!(rig.begin("10.0.0.1"), BeginAnswer::Challenge { reason: Some(Reason::UnknownCountry), .. }));
    let known = rig.service.mailbox(&addr()).unwrap().known_countries;
    assert_eq!(known.iter().map(|c| c.value.as_str()).collect::<Vec<_>>(), ["US"]);
    let (countries, ips) = rig.service.reset_country_exceptions(&addr()).unwrap();
    assert_eq!((countries, ips), (1, 1));
    assert!(matches!(rig.begin("1.1.1.1"), BeginAnswer::Challenge { reason: Some(Reason::NewCountry), .. }));
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

fn smtp_rig() -> Rig {
    let rig = Rig::new();
    let changes = MailboxChanges {
        challenge: Some(MailboxChallenge::Mode(ChallengeMode::Always)),
        provider: Some(Provider::Smtp),
        alt_email: Some(Some("alice.home@example.org".parse().unwrap())),
        sms_number: Some(Some("+15551234567".parse::<PhoneNumber>().unwrap())),
    };
    rig.service.set_mailbox(&addr(), &changes, Configurer::Administrator).unwrap();
    rig
}

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

fn a_disabled_provider_falls_back_to_one_the_mailbox_has_data_for() {
    let rig = smtp_rig();
    rig.service.set_provider(Provider::Smtp, Some(false), None, None).unwrap();
    let answer = rig.begin("203.0.113.9");
    assert!(matches!(answer, BeginAnswer::Challenge { provider: Provider::Sms, .. }), "{answer:?}");
    assert_eq!(rig.outbox.sent.lock().unwrap()[0].1, "+15551234567");
    rig.service.set_provider(Provider::Sms, Some(false), None, None).unwrap();
    assert_eq!(rig.begin("203.0.113.9"), BeginAnswer::Refused { reason: Reason::NoUsableProvider });
}

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
        assert!(entries.iter().any(|e| e.action == "login.begin" && e.ip.is_some()));
        assert!(entries.iter().any(|e| e.action == "login.verify" && e.outcome == "accepted"));
    }
    let entries = rig.service.audit(None, 1000).unwrap();
    let begin = entries.iter().find(|e| e.action == "login.begin").unwrap();
    assert_eq!((begin.ip.as_deref(), begin.country.as_deref()), (Some("8.8.8.8"), Some("US")));
    assert!(entries.iter().any(|e| e.outcome == "rejected:invalid_code"));
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

/// A country database that goes missing fails safe: every country is unknown, so `new-country`
/// challenges and every other mode works as before; the audit log says so once, not per login.
fn a_missing_country_database_fails_safe() {
    let rig = Rig::new();
    let copy = rig.env.path("countries.mmdb");
    std::fs::copy(mailmfa::geo::bundled_database_path().unwrap(), &copy).unwrap();
    rig.service.set_setting("geoip.path", copy.to_str().unwrap()).unwrap();
    rig.set(Some("new-country"), None);
    let secret = {
        let BeginAnswer::Enroll { otpauth_uri, .. } = rig.begin("8.8.8.8") else { panic!("enrols") };
        secret_of(&otpauth_uri)
    };
    assert_eq!(rig.verify("8.8.8.8", &rig.code(&secret)), VerifyAnswer::Accepted);
    assert_eq!(rig.begin("1.1.1.1"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) });

    // A server started while the file is missing (or unreadable) fails safe.
    std::fs::remove_file(&copy).unwrap();
    let server = rig.env.service(T0);
    let alice = addr();
    for _ in 0..3 {
        let answer = server.begin_login(&alice, "1.1.1.1".parse().unwrap()).unwrap();
        assert_eq!(
            answer,
            BeginAnswer::Challenge { provider: Provider::Totp, sent_to: None, reason: Some(Reason::UnknownCountry) }
        );
    }
    server
        .set_mailbox(
            &alice,
            &MailboxChanges { challenge: Some("always".parse().unwrap()), ..MailboxChanges::default() },
            Configurer::Administrator,
        )
        .unwrap();
    let answer = server.begin_login(&alice, "1.1.1.1".parse().unwrap()).unwrap();
    assert!(matches!(answer, BeginAnswer::Challenge { reason: Some(Reason::Always), .. }), "{answer:?}");
    let problem = server.country_database_problem().unwrap().expect("a problem is reported");
    assert!(problem.contains("countries.mmdb"), "{problem}");
    let warnings = server.audit(None, 100).unwrap().into_iter().filter(|e| e.action == "geoip.unavailable").count();
    assert_eq!(warnings, 1);
    let cli = rig.env.run(&["login", "begin", "alice@example.com", "--ip", "1.1.1.1", "--json"]);
    assert_eq!(cli.status, 0, "{}", cli.stderr);
    assert_eq!(cli.json()["decision"], "challenge");
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
            None => rig.service.login_begin(address, ip, None).map(drop),
            Some(code) => rig.service.login_verify(address, ip, code, false).map(drop),
        };
        assert!(result.is_err(), "{address} {ip} {code:?}");
        let entries = rig.service.audit(None, 1000).unwrap();
        assert_eq!(entries.len(), before + 1, "{address} {ip} {code:?}: not audited");
        let entry = &entries[0];
        let action = if code.is_some() { "login.verify" } else { "login.begin" };
        assert_eq!(entry.action, action);
        assert!(entry.outcome == "invalid_input" || entry.outcome == "error", "{entry:?}");
        assert!(entry.detail.as_deref().is_some_and(|d| !d.is_empty()), "{entry:?}");
        if let Some(code) = code {
            assert!(!format!("{entry:?}").contains(code), "the code is in the audit log: {entry:?}");
        }
    }
    assert_eq!(rig.service.mailbox(&addr()).unwrap().mailbox.failures, 0, "bad input counted as a failure");
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
        made.iter().any(|e| e.action == "mailbox.add"
            && e.actor == "login"
            && e.detail.as_deref().is_some_and(|d| d.contains("first login"))),
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

/// Trusted networks (the platform's and the post office's) count as known in `new-ip` and
/// `new-country` — IPv4, IPv6 and IPv4-mapped alike — but `always` still challenges; nonsense is
/// refused when it is set, with a clear error.
fn a_trusted_network_skips_new_ip_and_new_country_but_not_always() {
    let rig = Rig::new();
    let trusted = || BeginAnswer::Allow { reason: Some(Reason::TrustedNetwork) };
    rig.set(Some("new-ip"), None);
    rig.enrol("8.8.8.8");
    assert_eq!(
        rig.begin("10.1.2.3"),
        BeginAnswer::Challenge { provider: Provider::Totp, sent_to: None, reason: Some(Reason::NewIp) }
    );

    rig.service.set_setting("trusted.networks", "10.0.0.0/8, 2001:db8::/32").unwrap();
    assert_eq!(rig.begin("10.1.2.3"), trusted());
    assert_eq!(rig.begin("::ffff:10.9.8.7"), trusted(), "an IPv4-mapped address is its IPv4 address");
    assert_eq!(rig.begin("2001:db8:1::5"), trusted());
    assert!(matches!(rig.begin("11.0.0.1"), BeginAnswer::Challenge { reason: Some(Reason::NewIp), .. }));
    rig.set(Some("new-country"), None);
    assert_eq!(rig.begin("10.1.2.3"), trusted(), "a private address has no country, yet is trusted");
    rig.set(Some("always"), None);
    assert!(matches!(rig.begin("10.1.2.3"), BeginAnswer::Challenge { reason: Some(Reason::Always), .. }));

    // The post office's own networks, as the command line and the console set them.
    rig.service.set_setting("trusted.networks", "").unwrap();
    rig.set(Some("inherit"), None);
    let po = "example.com".parse().unwrap();
    let office = PostOfficeChanges {
        challenge: Some(ChallengeMode::NewIp),
        trusted_networks: Some(mailmfa::domain::parse_networks("192.0.2.0/24").unwrap()),
        ..PostOfficeChanges::default()
    };
    rig.service.set_postoffice(&po, &office).unwrap();
    assert_eq!(rig.begin("192.0.2.77"), trusted());
    assert!(matches!(rig.begin("198.51.100.1"), BeginAnswer::Challenge { reason: Some(Reason::NewIp), .. }));

    for nonsense in ["10.0.0.0/33", "10.0.0.1/8", "10.0.0.0/8 junk", "2001:db8::/129"] {
        let err = rig.service.set_setting("trusted.networks", nonsense).unwrap_err().to_string();
        assert!(err.contains("trusted.networks"), "{nonsense}: {err}");
    }
    let entries = rig.service.audit(Some(&addr()), 50).unwrap();
    assert!(entries.iter().any(|e| e.detail.as_deref().is_some_and(|d| d.contains("trusted_network"))), "{entries:?}");
}

/// A known IP address or country not seen for `known.max_age_days` is forgotten: the next login
/// from it is challenged again. A place that keeps letting logins through stays known; 0 keeps
/// every place for ever.
fn known_places_age_out_unless_they_are_used() {
    let rig = Rig::new();
    rig.set(Some("new-country"), None);
    let secret = rig.enrol("81.2.69.160"); // GB
    assert_eq!(rig.begin("81.2.69.161"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) });

    // Used every 60 days, it stays known past 90.
    for _ in 0..3 {
        rig.clock.advance(60 * 86_400);
        assert_eq!(rig.begin("81.2.69.161"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) });
    }
    // Not seen for 91 days, it is forgotten.
    rig.clock.advance(91 * 86_400);
    assert_eq!(
        rig.begin("81.2.69.161"),
        BeginAnswer::Challenge { provider: Provider::Totp, sent_to: None, reason: Some(Reason::NewCountry) }
    );
    assert!(rig.service.mailbox(&addr()).unwrap().known_countries.is_empty(), "Properties lists it no more");
    assert_eq!(rig.verify("81.2.69.161", &rig.code(&secret)), VerifyAnswer::Accepted);
    let known = rig.service.mailbox(&addr()).unwrap().known_countries;
    assert_eq!(known.len(), 1);
    assert_eq!((known[0].value.as_str(), known[0].first_seen), ("GB", rig.clock.now()), "learnt afresh");

    rig.service.set_setting("known.max_age_days", "0").unwrap();
    rig.clock.advance(3_650 * 86_400);
    assert_eq!(rig.begin("81.2.69.161"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) }, "0 = never");
}

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
    rig.set(Some("always"), None);
    let secret = rig.enrol("203.0.113.9");
    let remembered = |ip: &str| {
        rig.clock.advance(30);
        let code = rig.code(&secret);
        let verified = rig.service.verify_login_remembering(&addr(), ip.parse().unwrap(), &code, true).unwrap();
        assert_eq!(verified.answer, VerifyAnswer::Accepted);
        verified.device_token
    };
    let begin_on = |address: &MailboxAddress, token: &str| {
        rig.service.begin_login_on(address, "198.51.100.4".parse().unwrap(), Some(token)).unwrap()
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
    let BeginAnswer::Enroll { otpauth_uri, .. } = rig.try_begin(&bob, "203.0.113.9").unwrap() else { panic!("enrol") };
    let bob_secret = secret_of(&otpauth_uri);
    let bob_token = rig
        .service
        .verify_login_remembering(
            &bob,
            "203.0.113.9".parse().unwrap(),
            &code_at_step(&bob_secret, step_of(rig.clock.now())),
            true,
        )
        .unwrap()
        .device_token
        .unwrap();
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

on_each_backend!(
    never_allows_and_a_new_post_office_starts_at_never,
    totp_enrolment_pending_until_first_code_then_active,
    enrolment_secrets_are_160_random_bits_each,
    replay_and_older_steps_are_refused_and_logged,
    injected_clock_window_is_plus_minus_one_step,
    reset_two_factor_code_makes_the_next_login_enrol_again,
    new_ip_treats_ipv4_mapped_ipv6_as_the_same_address,
    new_country_uses_the_bundled_database_and_challenges_unknown_countries,
    lockout_after_five_failures_same_answer_growing_lock_and_unlock,
    success_resets_the_failure_counter,
    one_time_codes_single_use_expiry_voiding_and_binding,
    code_lifetime_setting_shortens_validity,
    only_a_keyed_hash_of_the_code_is_stored,
    a_new_code_does_not_reset_failures_and_sends_are_limited,
    a_gateway_failure_fails_closed_and_voids_the_code,
    a_disabled_provider_falls_back_to_one_the_mailbox_has_data_for,
    self_service_follows_the_post_office_and_provider_switches,
    a_user_may_change_only_the_challenge_mode_where_the_post_office_allows_it,
    unknown_mailboxes_inherit_and_unknown_post_offices_are_errors,
    the_audit_log_has_every_decision_and_never_a_code_or_secret,
    malformed_codes_are_input_errors_not_failures,
    a_setting_changed_by_another_process_is_used_at_once,
    a_missing_country_database_fails_safe,
    a_failed_delivery_does_not_use_up_the_send_limit,
    every_login_attempt_is_audited,
    pending_enrolments_expire,
    a_mailbox_made_at_login_is_marked_and_removing_it_leaves_nothing,
    a_trusted_network_skips_new_ip_and_new_country_but_not_always,
    known_places_age_out_unless_they_are_used,
    an_access_pass_works_until_it_expires_and_counts_like_a_code,
    a_once_access_pass_works_once_and_lets_a_reset_mailbox_in,
    recovery_codes_come_with_the_enrolment_and_each_works_once,
    new_recovery_codes_void_the_old_and_only_hashes_are_stored,
    a_remembered_device_skips_the_challenge_until_it_is_revoked_expires_or_the_code_is_reset,
);
