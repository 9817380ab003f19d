//! The console driven through AccessKit on a temporary store, the way an administrator clicks
//! through it; every test asserts on the store, not on pictures.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::common;
use crate::common::TestEnv;
use crate::common::fixtures::{secret_of, six_digits, two_post_offices_and_four_mailboxes};
use crate::common::smtp_server::{Mode, Opts, split_message, start_smtp};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use mailmfa::clock::FixedClock;
use mailmfa::domain::{
    BeginAnswer, ChallengeMode, Configurer, EmailAddress, EnrolmentState, LetterCode, LoginIp, MailboxAddress,
    MailboxChallenge, Provider, Reason, Verified, VerifyAnswer, totp,
};
use mailmfa::geo::CountryLookup;
use mailmfa::service::{IfExists, KeyFolder, MailboxChanges, PostOfficeChanges, Service, ServiceError, StoreLocation};
use mailmfa::ui::{Command, ConsoleApp, Node, StoreCommand};

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
    fn command(&mut self, command: Command);
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

    fn command(&mut self, command: Command) {
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

/// Every address is in Germany.
struct Germany;

impl CountryLookup for Germany {
    fn country(&self, _ip: IpAddr) -> Option<String> {
        Some("DE".to_owned())
    }
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

#[test]
fn tree_navigates_post_offices_and_mailboxes_by_mouse_and_keyboard() {
    let console = Console::new();
    let mut harness = console.harness();
    for label in ["Post Offices", "example.com", "other.org", "Challenge Providers", "Settings", "Audit Log"] {
        harness.get_by_role_and_label(Role::TreeItem, label);
    }

    harness.click_role(Role::TreeItem, "example.com");
    assert_eq!(harness.state().selected(), &Node::PostOffice("example.com".parse().unwrap()));
    assert_eq!(harness.state().shown_mailboxes(), 3);

    harness.click("Expand example.com");
    harness.click_role(Role::TreeItem, "alice");
    assert_eq!(harness.state().selected(), &Node::Mailbox(address("alice@example.com")));

    harness.press(egui::Key::ArrowDown);
    assert_eq!(harness.state().selected(), &Node::Mailbox(address("bob@example.com")));
    harness.press(egui::Key::ArrowLeft);
    assert_eq!(harness.state().selected(), &Node::PostOffice("example.com".parse().unwrap()));

    harness.click_role(Role::TreeItem, "Challenge Providers");
    assert_eq!(harness.state().selected(), &Node::Providers);
}

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
    assert!(audit.iter().any(|e| e.action == "mailbox.set" && e.outcome == "ok"));
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
    assert_eq!(audit.first().map(|e| (e.action.as_str(), e.outcome.as_str())), Some(("mailbox.reset_code", "ok")));
    assert!(
        matches!(service.enrolment_uri(&alice), Err(ServiceError::NoTotpSecret(_))),
        "the secret itself is gone, not only marked"
    );
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
    assert_eq!(audit.first().map(|e| e.action.as_str()), Some("mailbox.reset_countries"));
}

#[test]
fn a_disabled_provider_is_stored_and_no_longer_offered_in_properties() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "Challenge Providers");
    harness.click("SMS address: Enabled");

    let switches = console.service().providers().unwrap();
    assert!(switches.iter().any(|(p, s)| *p == Provider::Sms && !s.enabled));
    assert!(switches.iter().any(|(p, s)| *p == Provider::Smtp && s.enabled));

    select_mailbox(&mut harness, "example.com", "alice");
    harness.click("Properties");
    harness.click_role(Role::ComboBox, "Provider");
    harness.get_by_label("SMTP address");
    assert!(harness.query_by_label("SMS address").is_none(), "a disabled provider is not offered");
}

#[test]
fn the_filter_narrows_the_mailbox_table() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "example.com");
    assert_eq!(harness.state().shown_mailboxes(), 3);

    harness.type_into("Filter", "bo");

    assert_eq!(harness.state().shown_mailboxes(), 1);
    harness.get_by_role_and_label(Role::Label, "bob");
    assert!(harness.query_by_role_and_label(Role::Label, "alice").is_none());
}

#[test]
fn login_preview_enrols_totp_and_accepts_the_first_code() {
    let console = Console::new();
    let service = console.service();
    let alice = address("alice@example.com");
    service
        .set_postoffice(
            &"example.com".parse().unwrap(),
            &PostOfficeChanges { challenge: Some(ChallengeMode::Always), ..PostOfficeChanges::default() },
        )
        .unwrap();
    let mut harness = console.harness();
    select_mailbox(&mut harness, "example.com", "alice");
    harness.click("Login Preview…");

    harness.click("Begin login");
    harness.get_by_label_contains("Decision: enrol a TOTP app");
    let uri = harness.state().preview_enrolment_uri(&alice).expect("an enrolment URI").to_owned();
    assert_eq!(service.mailbox(&alice).unwrap().mailbox.enrolment, EnrolmentState::Pending);

    let code = totp::code_at_step(&secret_of(&uri), totp::step_of(NOW));
    harness.type_into("Code", &code);
    harness.click("Verify code");

    harness.get_by_label_contains("Accepted: the login goes on.");
    let details = service.mailbox(&alice).unwrap();
    assert_eq!(details.mailbox.enrolment, EnrolmentState::Active);
    assert_eq!(details.known_ips.first().map(|ip| ip.value.as_str()), Some("203.0.113.10"));
}

#[test]
fn new_post_office_and_new_mailbox_dialogs_create_them() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "Post Offices");
    harness.click("New Post Office…");
    harness.type_text("Post office name", "bad name!");
    harness.click("Create post office");
    harness.get_by_label_contains("invalid post office name");

    harness.replace_text("Post office name", "new.example");
    harness.click("Create post office");
    assert_eq!(harness.state().selected(), &Node::PostOffice("new.example".parse().unwrap()));

    harness.click("New Mailbox…");
    harness.type_into("Mailbox name", "erin");
    harness.click("Create mailbox");

    console.service().mailbox(&address("erin@new.example")).unwrap();
}

#[test]
fn a_store_without_its_key_is_explained_in_the_window() {
    let console = Console::new();
    let location: StoreLocation = console.env.location();
    let empty_keys = tempfile::tempdir().unwrap();
    let keys = KeyFolder::new(empty_keys.path());
    let harness = window(move |cc| ConsoleApp::start(cc, Some(location), keys));

    let error = harness.state().store_error().expect("the store did not open");
    assert!(error.is_key_problem(), "{error}");
    assert!(error.to_string().contains("no key for the store"), "{error}");
    harness.get_by_label("The store could not be opened");
    harness.get_by_label("Import Key…");
    assert!(harness.state().service().is_none());
}

#[test]
fn the_delete_key_asks_then_deletes_the_selected_mailbox() {
    let console = Console::new();
    let mut harness = console.harness();
    select_mailbox(&mut harness, "example.com", "carol");
    harness.press(egui::Key::Delete);
    harness.click("Yes, delete the mailbox");

    assert!(console.service().mailbox(&address("carol@example.com")).is_err());
    assert_eq!(harness.state().shown_mailboxes(), 2);
}

#[test]
fn unlock_clears_a_lock() {
    let console = Console::new();
    let service = console.service();
    let dave = address("dave@other.org");
    // Five wrong codes in a row lock the mailbox (the default threshold).
    challenge_always(&service, &dave);
    let BeginAnswer::Enroll { otpauth_uri, .. } = service.begin_login(&dave, ip("203.0.113.30")).unwrap() else {
        panic!("dave should enrol");
    };
    let right: u32 = totp::code_at_step(&secret_of(&otpauth_uri), totp::step_of(NOW)).parse().unwrap();
    let wrong = format!("{:06}", (right + 1) % 1_000_000);
    for _ in 0..5 {
        assert!(matches!(
            service.verify_login(&dave, ip("203.0.113.30"), &wrong),
            Ok(Verified { answer: VerifyAnswer::Rejected { .. }, .. })
        ));
    }
    assert!(service.mailbox(&dave).unwrap().mailbox.locked_for(NOW).is_some());
    let mut harness = console.harness();
    select_mailbox(&mut harness, "other.org", "dave");
    harness.get_by_role_and_label(Role::Label, "locked");
    harness.click("Unlock");

    assert_eq!(service.mailbox(&dave).unwrap().mailbox.locked_for(NOW), None);
    assert!(harness.query_by_role_and_label(Role::Label, "locked").is_none());
}

#[test]
fn settings_are_checked_before_they_are_saved() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "Settings");
    let field = "Failures before a lock";
    harness.replace_text(field, "500");
    harness.click("Apply settings");
    harness.get_by_label_contains("expected a whole number from 1 to 100");
    assert_eq!(console.service().typed_settings().unwrap().lockout_threshold, 5);

    harness.replace_text(field, "7");
    harness.click("Apply settings");
    assert_eq!(console.service().typed_settings().unwrap().lockout_threshold, 7);
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

#[test]
fn import_key_in_the_console_is_audited_like_the_cli() {
    let console = Console::new();
    let export = console.env.path("exported.key");
    console.service().export_key(&export, IfExists::Refuse).unwrap();
    // This machine has no key for the store: the console explains, and offers Import Key….
    let console_keys = console.env.path("console-keys");
    let location = console.env.location();
    let keys = KeyFolder::new(&console_keys);
    let mut harness = window(move |cc| ConsoleApp::start(cc, Some(location), keys));
    assert!(harness.state().store_error().is_some_and(ServiceError::is_key_problem));
    harness.get_by_label("Import Key…");

    // What the native file dialog of Import Key… hands on.
    harness.command(Command::Store(StoreCommand::ImportKeyFrom(export.clone())));

    let service = harness.state().service().expect("the store opens with the imported key");
    assert!(KeyFolder::new(&console_keys).key_path(service.store_id()).is_file(), "the key file is installed");
    harness.get_by_role_and_label(Role::TreeItem, "Post Offices");
    let console_entry = service.audit(None, 10).unwrap().into_iter().find(|e| e.action == "key.import").unwrap();
    assert_eq!(console_entry.outcome, "ok");

    // The same file imported by the command line, into another key folder.
    let cli_keys = console.env.path("cli-keys");
    let out = console.env.command().env("MAILMFA_KEY_DIR", &cli_keys).arg("key").arg("import").arg(&export).output();
    let run = common::output(out.unwrap());
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    let entries = service.audit(None, 10).unwrap();
    let imports: Vec<_> = entries.iter().filter(|e| e.action == "key.import").collect();
    assert_eq!(imports.len(), 2, "one entry each");
    let (cli_entry, console_entry) = (imports[0], imports[1]);
    let shape = |e: &mailmfa::domain::AuditRecord| {
        (e.actor.clone(), e.mailbox.clone(), e.action.clone(), e.ip.clone(), e.outcome.clone(), e.detail.clone())
    };
    assert_eq!(shape(console_entry), shape(cli_entry), "the console's entry reads as the CLI's");
    assert_eq!(console_entry.detail.as_deref(), Some(format!("from {}", export.display()).as_str()));
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
    assert!(audit.iter().all(|e| e.action != "mailbox.reset_code"), "Esc is No");

    // The window opened last is in front: Esc closes the login preview, then the Properties.
    harness.click("Login Preview…");
    harness.get_by_label("Begin login");
    harness.press(egui::Key::Escape);
    assert!(harness.query_by_label("Begin login").is_none(), "Esc closed the login preview");
    harness.get_by_role_and_label(Role::TextInput, "SMS number");
    harness.press(egui::Key::Escape);
    assert!(harness.query_by_label("SMS number").is_none());
}

#[test]
fn esc_closes_the_new_post_office_dialog_after_leaving_its_field() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "Post Offices");
    harness.click("New Post Office…");
    assert!(harness.get_by_role_and_label(Role::TextInput, "Post office name").is_focused(), "the name has the keys");
    harness.press(egui::Key::Escape);
    assert!(!harness.get_by_role_and_label(Role::TextInput, "Post office name").is_focused());
    harness.press(egui::Key::Escape);
    assert!(harness.query_by_label("Post office name").is_none(), "the second Esc closes the dialog");
    assert_eq!(console.service().postoffices().unwrap().len(), 2, "nothing was created");
}

/// Alice gets her codes by e-mail through a relay on 127.0.0.1:`port`, on every login.
fn smtp_mailbox(console: &Console, relay: SocketAddr) -> MailboxAddress {
    let service = console.service();
    for (key, value) in [
        ("smtp.host", relay.ip().to_string()),
        ("smtp.port", relay.port().to_string()),
        ("smtp.security", "none".to_owned()),
        ("smtp.from", "mfa@example.org".to_owned()),
        ("smtp.timeout_seconds", "10".to_owned()),
    ] {
        service.set_setting(key, &value).unwrap();
    }
    let alice = address("alice@example.com");
    let changes = MailboxChanges {
        challenge: Some(MailboxChallenge::Mode(ChallengeMode::Always)),
        provider: Some(Provider::Smtp),
        alt_email: Some(Some("alice.private@elsewhere.example".parse().unwrap())),
        ..MailboxChanges::default()
    };
    service.set_mailbox(&alice, &changes, Configurer::Administrator).unwrap();
    alice
}

/// An SMTP server that holds its first connection until told, then refuses it.
fn held_refusing_relay() -> (SocketAddr, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay = listener.local_addr().unwrap();
    let (release, held) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else { return };
        if held.recv().is_ok() {
            stream.write_all(b"554 5.3.2 not accepting mail now\r\n").ok();
        }
    });
    (relay, release)
}

#[test]
fn login_preview_sends_the_code_in_the_background_and_shows_a_failure() {
    let console = Console::new();
    let (relay, release) = held_refusing_relay();
    let alice = smtp_mailbox(&console, relay);
    let mut harness = console.harness();
    select_mailbox(&mut harness, "example.com", "alice");
    harness.click("Login Preview…");

    harness.get_by_label("Begin login").click();
    // The relay holds the connection, and still the console draws frames: it is not waiting.
    harness.run_steps(5);
    assert!(harness.state().preview_is_sending(&alice));
    harness.get_by_label_contains("Decision: challenge with SMTP address");
    harness.get_by_label_contains("Sending the code to");
    assert!(harness.query_by_label("Verify code").is_none(), "no code to type before it was sent");

    release.send(()).unwrap();
    step_until(&mut harness, |app| !app.preview_is_sending(&alice));
    harness.get_by_label_contains("The code could not be sent, so the login cannot continue");
    assert!(harness.query_by_label("Verify code").is_none(), "the login fails closed");
    let audit = console.service().audit(Some(&alice), 10).unwrap();
    let failed = audit.iter().find(|e| e.action == "login.send_code").expect("the failed delivery is audited");
    assert_eq!(failed.outcome, "failed");
    assert_eq!(harness.state().running_jobs(), 0);
}

#[test]
fn login_preview_sends_the_code_by_smtp_and_accepts_it() {
    let console = Console::new();
    let server = start_smtp(Opts::new(Mode::Plain));
    let alice = smtp_mailbox(&console, server.addr);
    let mut harness = console.harness();
    select_mailbox(&mut harness, "example.com", "alice");
    harness.click("Login Preview…");

    harness.get_by_label("Begin login").click();
    harness.step();
    step_until(&mut harness, |app| !app.preview_is_sending(&alice));
    harness.get_by_label_contains("A one-time code was sent to");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, vec!["alice.private@elsewhere.example".to_owned()]);
    let (_, body) = split_message(&received[0].data);
    let code = six_digits(&body);

    harness.type_into("Code", &code);
    harness.click("Verify code");
    harness.get_by_label_contains("Accepted: the login goes on.");
    let details = console.service().mailbox(&alice).unwrap();
    assert_eq!(details.known_ips.first().map(|ip| ip.value.as_str()), Some("203.0.113.10"));
}

#[test]
fn mailbox_names_sort_naturally_in_the_table() {
    let console = Console::new();
    let service = console.service();
    service.add_postoffice(&"numbers.test".parse().unwrap()).unwrap();
    for name in ["user10", "user2", "user1", "user3"] {
        service.add_mailbox(&address(&format!("{name}@numbers.test"))).unwrap();
    }
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "numbers.test");
    let top = |harness: &Harness<'static, ConsoleApp>, name: &str| {
        harness.get_by_role_and_label(Role::Label, name).rect().top()
    };
    let order = |harness: &Harness<'static, ConsoleApp>| {
        let mut names = ["user1", "user2", "user3", "user10"];
        names.sort_by(|a, b| top(harness, a).total_cmp(&top(harness, b)));
        names
    };
    assert_eq!(order(&harness), ["user1", "user2", "user3", "user10"]);

    // Sorted by the Mailbox column again, descending: the table's own order, not the service's.
    harness.click_role(Role::Button, "Mailbox");
    assert_eq!(order(&harness), ["user10", "user3", "user2", "user1"]);
}

/// The API Clients node: a bad network is refused in the form; a client made there gets a key
/// shown once that the login service accepts; Remove asks, then the key stops working.
#[test]
fn api_clients_are_created_with_a_key_shown_once_and_removed_after_asking() {
    use mailmfa::service::{ApiRequest, Caller};
    let console = Console::new();
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "API Clients");
    harness.get_by_label_contains("No API clients yet");

    for (field, text) in [("Name", "roundcube"), ("Allowed from (optional)", "10.0.0.0/33")] {
        harness.type_into(field, text);
    }
    harness.click("Create API client");
    harness.get_by_label_contains("the prefix must be a number from 0 to 32");
    assert!(console.service().clients().unwrap().is_empty(), "a refused form created a client");

    harness.replace_text("Allowed from (optional)", "127.0.0.0/8");
    harness.click("Create API client");
    let key = harness.state().shown_client_key().expect("the key is shown").to_owned();
    assert!(key.starts_with("mmfa_"), "{key}");
    harness.get_by_label("Copy key");
    assert_eq!(harness.state().listed_clients(), 1);
    let listed = console.service().clients().unwrap();
    assert_eq!((listed[0].name.as_str(), listed[0].allow.clone()), ("roundcube", vec!["127.0.0.0/8".to_owned()]));

    let begin = |service: &Service| {
        let caller = Caller { key: Some(key.clone()), source: "127.0.0.1".parse().unwrap() };
        let request = ApiRequest::Begin {
            address: "alice@example.com".to_owned(),
            ip: "192.0.2.1".to_owned(),
            device_token: None,
        };
        service.api_batch(vec![(caller, request)]).pop().unwrap().result
    };
    begin(&console.service()).expect("the login service takes the key the console showed");

    harness.click("Hide key");
    assert!(harness.state().shown_client_key().is_none());
    harness.click("Remove…");
    harness.click("Yes, remove the client");
    assert!(console.service().clients().unwrap().is_empty());
    assert_eq!(harness.state().listed_clients(), 0);
    let refused = begin(&console.service()).expect_err("a removed client's key still works");
    assert!(matches!(refused, ServiceError::BadApiKey), "{refused:?}");
    let actions: Vec<String> = console.service().audit(None, 10).unwrap().into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&"client.add".to_owned()) && actions.contains(&"client.remove".to_owned()), "{actions:?}");
}

/// A country database that cannot be read is not hidden: the status bar says so.
#[test]
fn a_missing_country_database_is_shown_in_the_status_bar() {
    let console = Console::new();
    let copy = console.env.path("countries.mmdb");
    std::fs::copy(mailmfa::geo::bundled_database_path().unwrap(), &copy).unwrap();
    console.service().set_setting("geoip.path", copy.to_str().unwrap()).unwrap();
    let harness = console.harness();
    assert!(harness.query_by_label("Country database unavailable").is_none());

    std::fs::remove_file(&copy).unwrap();
    let harness = console.harness();
    harness.get_by_label("Country database unavailable");
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

/// The Reports node shows the coverage report as the command line makes it, refreshes with F5,
/// and exports it as CSV.
#[test]
fn the_reports_node_shows_and_exports_the_coverage_report() {
    let console = Console::new();
    let service = console.service();
    challenge_always(&service, &address("alice@example.com"));
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "Reports");
    assert_eq!(harness.state().shown_coverage(), Some(&service.coverage(None).unwrap()));
    assert_eq!(harness.state().shown_coverage().unwrap().total.mailboxes, 4);
    assert_eq!(harness.get_all_by_label("All post offices").count(), 2, "the chart's bar and the table's total");
    harness.get_by_label("Export CSV…");

    service.add_mailbox(&address("erin@other.org")).unwrap();
    harness.press(egui::Key::F5);
    assert_eq!(harness.state().shown_coverage().unwrap().total.mailboxes, 5, "F5 made the report again");

    let file = console.env.path("coverage.csv");
    harness.command(Command::Store(StoreCommand::ExportCoverageTo(file.clone())));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), service.coverage(None).unwrap().to_csv());
    assert!(harness.state().message().is_some_and(|(text, error)| !error && text.contains("coverage.csv")));
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
        audit
            .iter()
            .any(|e| e.action == "mailbox.access_pass" && e.detail.as_deref().is_some_and(|d| d.contains("once")))
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
    assert!(audit.iter().any(|e| e.action == "mailbox.recovery_codes"));
    assert!(audit.iter().any(|e| e.action == "mailbox.save_recovery_codes"));
}

/// Properties count the devices the user asked to remember, and *Forget remembered devices* makes
/// each of them challenged again (audited).
#[test]
fn properties_forget_the_remembered_devices() {
    let console = Console::new();
    let service = console.service();
    let alice = address("alice@example.com");
    service.set_setting("remember.days", "30").unwrap();
    let secret = enrol_by_login(&service, &alice, "203.0.113.10");
    let code = totp::code_at_step(&secret, totp::step_of(NOW) + 1);
    let verified = service.verify_login_remembering(&alice, ip("203.0.113.10"), &code, true).unwrap();
    let token = verified.device_token.expect("a remembered device");
    let on_device = || service.begin_login_on(&alice, ip("198.51.100.7"), Some(&token)).unwrap();
    assert_eq!(on_device(), BeginAnswer::Allow { reason: Some(Reason::RememberedDevice) });

    let mut harness = properties_of(&console, "example.com", "alice");
    harness.get_by_label("Remembered devices");
    harness.click("Forget remembered devices");

    assert_eq!(service.mailbox(&alice).unwrap().remembered_devices, 0);
    assert!(matches!(on_device(), BeginAnswer::Challenge { .. }), "challenged again");
    let audit = service.audit(Some(&alice), 20).unwrap();
    assert!(audit.iter().any(|e| e.action == "mailbox.forget_devices"));
}

/// What the console writes to the user's settings when it saves them.
#[derive(Default)]
struct SavedSettings(std::collections::HashMap<String, String>);

impl eframe::Storage for SavedSettings {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }

    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }

    fn flush(&mut self) {}
}

/// File → Open Database Server…: a wrong password is explained and the URL offered again; the
/// right one opens (and creates) the store on PostgreSQL; Recent Stores keeps the server without
/// its password, whether it was typed apart or inside the URL, and asks for it again.
#[test]
fn a_store_on_a_database_server_opens_with_a_password_that_is_never_kept() {
    const PASSWORD: &str = "Db-pass-9f3e1c";
    let console = Console::new();
    let url = common::pg::cluster().new_database_with_password(PASSWORD);
    let (location, keys) = (console.env.location(), console.env.keys());
    let mut harness = window(move |cc| ConsoleApp::start(cc, Some(location), keys));
    let connect = |harness: &mut Harness<'static, ConsoleApp>, url: &str, password: &str| {
        if !url.is_empty() {
            harness.get_by_role_and_label(Role::TextInput, "Server URL").type_text(url);
        }
        harness.get_by_role_and_label(Role::PasswordInput, "Password").focus();
        harness.run();
        harness.get_by_role_and_label(Role::PasswordInput, "Password").type_text(password);
        harness.run();
        harness.get_by_label("Connect").click();
        harness.step();
        // The window keeps drawing while a thread connects; then the store is put in place.
        assert!(harness.state().is_opening(), "connecting happens off the window's thread");
        step_until(harness, |app| !app.is_opening());
    };

    harness.click("File");
    // The menu's item (the Actions pane offers the same command below it).
    harness.get_all_by_label("Open Database Server…").last().expect("File → Open Database Server…").click();
    harness.run();
    connect(&mut harness, &url, "not-the-password");
    let error = harness.state().store_error().expect("a wrong password opens nothing").to_string();
    assert!(error.contains("password authentication failed"), "{error}");
    assert!(!error.contains("not-the-password"), "{error}");
    harness.get_by_label("The store could not be opened");

    // The failure page offers the server again, its URL filled in: only the password is typed.
    harness.click("Open Database Server…");
    connect(&mut harness, "", PASSWORD);
    let service = harness.state().service().expect("the right password opens the store");
    assert_eq!(service.location().and_then(|l| l.database_server()).map(ToString::to_string), Some(url.clone()));
    assert_eq!(service.mode_word(), "server");
    harness.get_by_role_and_label(Role::TreeItem, "Post Offices");
    harness.get_by_label(&format!("Store: {url}"));

    // A password inside the URL is taken out of it just the same.
    let with_password = url.replacen("@/", &format!(":{PASSWORD}@/"), 1);
    harness.command(Command::Store(StoreCommand::OpenDefault));
    harness.command(Command::Store(StoreCommand::ServerDialog { url: None }));
    connect(&mut harness, &with_password, "");
    assert!(
        harness.state().service().is_some_and(|s| s.mode_word() == "server"),
        "{:?}",
        harness.state().store_error()
    );

    let mut saved = SavedSettings::default();
    eframe::App::save(harness.state_mut(), &mut saved);
    let written = format!("{:?}", saved.0);
    assert!(written.contains(&url.replace('/', "\\/")) || written.contains(&url), "{written}");
    assert!(!written.contains(PASSWORD), "the password was written to the settings: {written}");
    let recent = harness.state().recent_stores().first().cloned().expect("a recent store");
    assert_eq!(recent.path.to_string_lossy(), url);

    // Opening it from Recent Stores asks for the password, the URL filled in.
    harness.command(Command::Store(StoreCommand::OpenRecent(recent)));
    harness.get_by_label("Open Database Server");
    connect(&mut harness, "", PASSWORD);
    assert!(harness.state().service().is_some_and(|s| s.mode_word() == "server"));
}
