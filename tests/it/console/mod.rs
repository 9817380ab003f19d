//! The console driven through AccessKit on a temporary store, the way an administrator clicks
//! through it; every test asserts on the store, not on pictures. Here: the store the tests start
//! from, and an administrator's steps, each one line ([`Steps`]).

mod login_preview;
mod nodes;
mod properties;
mod stores;
mod tree;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::TestEnv;
use crate::common::fixtures::{secret_of, two_post_offices_and_four_mailboxes};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use mailmfa::clock::FixedClock;
use mailmfa::domain::{
    BeginAnswer, ChallengeMode, Configurer, LoginIp, MailboxAddress, MailboxChallenge, VerifyAnswer, totp,
};
use mailmfa::service::{MailboxChanges, Service};
use mailmfa::ui::{ConsoleApp, Intent};

/// 2026-11-29 00:00:00 UTC, on a step boundary.
const NOW: i64 = 1_795_910_400;

/// A temporary store with two post offices and four mailboxes, on a clock the test controls.
struct Console {
    env: TestEnv,
    clock: Arc<FixedClock>,
}

impl Console {
    fn new() -> Self {
        let env = TestEnv::new();
        let clock = Arc::new(FixedClock::new(NOW));
        let console = Self { env, clock };
        two_post_offices_and_four_mailboxes(&console.service());
        console
    }

    /// A second connection to the same store, for setting up and asserting.
    fn service(&self) -> Service {
        self.env.service_on(self.clock.clone())
    }

    /// The console on this store, its first frames drawn.
    fn harness(&self) -> Harness<'static, ConsoleApp> {
        let service = self.service();
        window(move |cc| ConsoleApp::new(cc, service))
    }
}

/// An administrator's steps, each one line: the click, key or typing, then the frames it causes.
trait Steps {
    /// Clicks the widget labelled `label`.
    fn click(&mut self, label: &str);
    /// Clicks the widget of `role` labelled `label`.
    fn click_role(&mut self, role: Role, label: &str);
    /// Presses `key`.
    fn press(&mut self, key: egui::Key);
    /// Types `text` into the text field labelled `field`, which has the keys already.
    fn type_text(&mut self, field: &str, text: &str);
    /// Clicks into the text field labelled `field` and types `text` after what it holds.
    fn type_into(&mut self, field: &str, text: &str);
    /// Clicks into the text field labelled `field`, selects all it holds and types `text` over it.
    fn replace_text(&mut self, field: &str, text: &str);
    /// Hands the console `command`, as a native file dialog does.
    fn command(&mut self, command: Intent);
}

impl Steps for Harness<'static, ConsoleApp> {
    fn click(&mut self, label: &str) {
        self.get_by_label(label).click();
        self.run();
    }

    fn click_role(&mut self, role: Role, label: &str) {
        self.get_by_role_and_label(role, label).click();
        self.run();
    }

    fn press(&mut self, key: egui::Key) {
        self.key_press(key);
        self.run();
    }

    fn type_text(&mut self, field: &str, text: &str) {
        self.get_by_role_and_label(Role::TextInput, field).type_text(text);
        self.run();
    }

    fn type_into(&mut self, field: &str, text: &str) {
        self.click_role(Role::TextInput, field);
        self.type_text(field, text);
    }

    fn replace_text(&mut self, field: &str, text: &str) {
        self.click_role(Role::TextInput, field);
        self.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        self.type_text(field, text);
    }

    fn command(&mut self, command: Intent) {
        self.state_mut().push(command);
        self.run();
    }
}

/// The console `build` makes, in a 1400×900 window, its first frames drawn.
fn window(
    build: impl FnOnce(&mut eframe::CreationContext<'_>) -> ConsoleApp + 'static,
) -> Harness<'static, ConsoleApp> {
    let mut harness = Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_eframe(build);
    harness.run();
    harness
}

fn address(text: &str) -> MailboxAddress {
    text.parse().unwrap()
}

fn ip(text: &str) -> LoginIp {
    text.parse().unwrap()
}

/// Makes `address` challenge on every login (its own setting), as an administrator.
fn challenge_always(service: &Service, address: &MailboxAddress) {
    let changes =
        MailboxChanges { challenge: Some(MailboxChallenge::Mode(ChallengeMode::Always)), ..MailboxChanges::default() };
    service.set_mailbox(address, &changes, Configurer::Administrator).unwrap();
}

/// A login as the webmail does it: `begin` from `from` shows the enrolment URI; its secret's code
/// at `NOW` verifies. Returns the secret.
fn enrol_by_login(service: &Service, address: &MailboxAddress, from: &str) -> Vec<u8> {
    challenge_always(service, address);
    let BeginAnswer::Enroll { otpauth_uri, .. } = service.begin_login(address, ip(from)).unwrap() else {
        panic!("{address} should enrol");
    };
    let secret = secret_of(&otpauth_uri);
    let code = totp::code_at_step(&secret, totp::step_of(NOW));
    assert_eq!(service.verify_login(address, ip(from), &code).unwrap().answer, VerifyAnswer::Accepted);
    secret
}

/// Steps the console (sleeping between frames) until `done` holds, for at most ten seconds.
fn step_until(harness: &mut Harness<'static, ConsoleApp>, done: impl Fn(&ConsoleApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(harness.state()) {
        assert!(Instant::now() < deadline, "the console did not get there in ten seconds");
        harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    harness.run();
}

/// The console with the Properties window of `mailbox@postoffice` open.
fn properties_of(console: &Console, postoffice: &str, mailbox: &str) -> Harness<'static, ConsoleApp> {
    let mut harness = console.harness();
    select_mailbox(&mut harness, postoffice, mailbox);
    harness.click("Properties");
    harness
}

/// Selects a post office in the tree and a mailbox in its table.
fn select_mailbox(harness: &mut Harness<'static, ConsoleApp>, postoffice: &str, mailbox: &str) {
    harness.click_role(Role::TreeItem, postoffice);
    harness.click_role(Role::Label, mailbox);
    assert_eq!(harness.state().selected_mailbox(), Some(&address(&format!("{mailbox}@{postoffice}"))));
}
