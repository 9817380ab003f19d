//! The login engine in-process, with an injected clock and a sender that keeps what it is asked
//! to send: the four challenge modes over IPv4, IPv6 and IPv4-mapped addresses (countries from the
//! bundled GeoIP database), TOTP enrolment, replay, lockout, one-time codes, provider fallback,
//! self-service rules and the audit trail. Every test runs on both back ends. Here: the rig the
//! tests drive ([`Rig`]) and the sender that keeps the codes ([`Outbox`]).

mod mailboxes;
mod one_time_codes;
mod places;
mod totp;
mod without_the_app;

use std::sync::{Arc, Mutex};

use crate::common::TestEnv;
use crate::common::fixtures::{secret_of, six_digits};
use mailmfa::clock::{Clock, FixedClock};
use mailmfa::delivery::{CodeMessage, CodeSender, DeliveryError};
use mailmfa::domain::totp::{code_at_step, step_of};
use mailmfa::domain::{
    BeginAnswer, ChallengeMode, Configurer, MailboxAddress, MailboxChallenge, PhoneNumber, Provider, RejectReason,
    VerifyAnswer,
};
use mailmfa::service::{MailboxChanges, Service, ServiceError};

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
                channel: mailmfa::delivery::Channel::SmsGateway,
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
        let service = env
            .service_on(clock.clone())
            .with_actor(mailmfa::domain::Actor::Cli("admin".to_owned()))
            .with_sender(outbox.clone());
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

fn smtp_rig() -> Rig {
    let rig = Rig::new();
    let changes = MailboxChanges {
        challenge: Some(MailboxChallenge::Mode(ChallengeMode::Always)),
        provider: Some(Provider::Smtp),
        alt_email: Some(Some("alice.home@example.org".parse().unwrap())),
        sms_number: Some(Some("+15551234567".parse::<PhoneNumber>().unwrap())),
        mail_programs: None,
    };
    rig.service.set_mailbox(&addr(), &changes, Configurer::Administrator).unwrap();
    rig
}
