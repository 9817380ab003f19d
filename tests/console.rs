//! The console driven through AccessKit on a temporary store, the way an administrator clicks
//! through it; every test asserts on the store, not on pictures.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::sync::Arc;

use common::TestEnv;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use mailmfa::auth::totp;
use mailmfa::clock::FixedClock;
use mailmfa::domain::{ChallengeMode, EmailAddress, EnrolmentState, MailboxAddress, MailboxChallenge, Provider};
use mailmfa::service::Service;
use mailmfa::store::{Store, StoreLocation};
use mailmfa::ui::{ConsoleApp, Node};

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
        let service = console.service();
        for po in ["example.com", "other.org"] {
            service.add_postoffice(&po.parse().unwrap()).unwrap();
        }
        for mb in ["alice@example.com", "bob@example.com", "carol@example.com", "dave@other.org"] {
            service.add_mailbox(&mb.parse().unwrap()).unwrap();
        }
        console
    }

    /// A second connection to the same store, for setting up and asserting.
    fn service(&self) -> Service {
        let store = Store::open(&self.env.location(), &self.env.keyring()).unwrap();
        Service::with(store, "test".to_owned(), self.clock.clone())
    }

    /// The console on this store, in a 1400×900 window.
    fn harness(&self) -> Harness<'static, ConsoleApp> {
        let service = self.service();
        Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_eframe(move |cc| ConsoleApp::new(cc, service))
    }
}

fn address(text: &str) -> MailboxAddress {
    text.parse().unwrap()
}

fn tree_item<'a>(harness: &'a Harness<'static, ConsoleApp>, label: &'a str) -> egui_kittest::Node<'a> {
    harness.get_by_role_and_label(Role::TreeItem, label)
}

/// Selects a post office in the tree and a mailbox in its table, then runs the frames.
fn select_mailbox(harness: &mut Harness<'static, ConsoleApp>, postoffice: &str, mailbox: &str) {
    tree_item(harness, postoffice).click();
    harness.run();
    harness.get_by_role_and_label(Role::Label, mailbox).click();
    harness.run();
    assert_eq!(harness.state().selected_mailbox(), Some(&address(&format!("{mailbox}@{postoffice}"))));
}

#[test]
fn tree_navigates_post_offices_and_mailboxes_by_mouse_and_keyboard() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.run();
    for label in ["Post Offices", "example.com", "other.org", "Challenge Providers", "Settings", "Audit Log"] {
        tree_item(&harness, label);
    }

    tree_item(&harness, "example.com").click();
    harness.run();
    assert_eq!(harness.state().selected(), &Node::PostOffice("example.com".parse().unwrap()));
    assert_eq!(harness.state().shown_mailboxes(), 3);

    harness.get_by_label("Expand example.com").click();
    harness.run();
    tree_item(&harness, "alice").click();
    harness.run();
    assert_eq!(harness.state().selected(), &Node::Mailbox(address("alice@example.com")));

    harness.key_press(egui::Key::ArrowDown);
    harness.run();
    assert_eq!(harness.state().selected(), &Node::Mailbox(address("bob@example.com")));
    harness.key_press(egui::Key::ArrowLeft);
    harness.run();
    assert_eq!(harness.state().selected(), &Node::PostOffice("example.com".parse().unwrap()));

    tree_item(&harness, "Challenge Providers").click();
    harness.run();
    assert_eq!(harness.state().selected(), &Node::Providers);
}

#[test]
fn properties_ok_saves_challenge_mode_and_provider() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.run();
    select_mailbox(&mut harness, "example.com", "alice");
    harness.get_by_label("Properties").click();
    harness.run();

    harness.get_by_role_and_label(Role::ComboBox, "Challenge mode").click();
    harness.run();
    harness.get_by_label("Prompt by Country").click();
    harness.run();
    harness.get_by_role_and_label(Role::ComboBox, "Provider").click();
    harness.run();
    harness.get_by_label("SMTP address").click();
    harness.run();
    let alternate = harness.get_by_role_and_label(Role::TextInput, "Alternate address");
    alternate.click();
    harness.run();
    harness.get_by_role_and_label(Role::TextInput, "Alternate address").type_text("alice.private@elsewhere.example");
    harness.run();
    harness.get_by_label("OK").click();
    harness.run();

    let record = console.service().mailbox(&address("alice@example.com")).unwrap().record;
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
    harness.run();
    select_mailbox(&mut harness, "example.com", "bob");
    harness.key_press(egui::Key::Enter);
    harness.run();

    harness.get_by_role_and_label(Role::ComboBox, "Challenge mode").click();
    harness.run();
    harness.get_by_label("Prompt Always").click();
    harness.run();
    harness.get_by_role_and_label(Role::TextInput, "SMS number").click();
    harness.run();
    harness.get_by_role_and_label(Role::TextInput, "SMS number").type_text("555-CALL-ME");
    harness.run();
    harness.get_by_label("Apply").click();
    harness.run();

    assert!(harness.query_by_label_contains("invalid phone number").is_some(), "the error is shown in the window");
    harness.get_by_label("Nothing was saved: correct the fields marked in red.");
    let record = console.service().mailbox(&address("bob@example.com")).unwrap().record;
    assert_eq!(record.challenge, MailboxChallenge::Inherit, "nothing is saved until every field is valid");
    assert_eq!(record.sms_number, None);
}

#[test]
fn reset_two_factor_code_asks_first_then_clears_the_secret_and_audits() {
    let console = Console::new();
    let service = console.service();
    let alice = address("alice@example.com");
    service
        .store()
        .write(|tx| {
            let id = tx.mailbox(&alice)?.unwrap().id;
            tx.set_totp_secret(id, &[7u8; 20], EnrolmentState::Active)
        })
        .unwrap();
    let mut harness = console.harness();
    harness.run();
    select_mailbox(&mut harness, "example.com", "alice");

    harness.get_by_label("Reset two factor code").click();
    harness.run();
    harness.get_by_label("No").click();
    harness.run();
    assert_eq!(service.mailbox(&alice).unwrap().record.enrolment, EnrolmentState::Active, "No keeps the secret");

    harness.get_by_label("Reset two factor code").click();
    harness.run();
    harness.get_by_label("Yes, reset the code").click();
    harness.run();

    assert_eq!(service.mailbox(&alice).unwrap().record.enrolment, EnrolmentState::None);
    assert!(service.store().read(|tx| tx.totp_secret(tx.mailbox(&alice)?.unwrap().id)).unwrap().is_none());
    let audit = service.audit(Some(&alice), 10).unwrap();
    assert_eq!(audit.first().map(|e| (e.action.as_str(), e.outcome.as_str())), Some(("mailbox.reset_code", "ok")));
}

#[test]
fn reset_country_exceptions_from_properties_forgets_countries_and_addresses() {
    let console = Console::new();
    let service = console.service();
    let carol = address("carol@example.com");
    service
        .store()
        .write(|tx| {
            let id = tx.mailbox(&carol)?.unwrap().id;
            tx.record_success(id, "198.51.100.7", Some("DE"), NOW - 3600)
        })
        .unwrap();
    let mut harness = console.harness();
    harness.run();
    select_mailbox(&mut harness, "example.com", "carol");
    harness.get_by_label("Properties").click();
    harness.run();
    harness.get_by_label("198.51.100.7");
    assert_eq!(harness.get_all_by_label("DE").count(), 2, "in the table and in the window");

    harness.get_by_label("Reset countries…").click();
    harness.run();
    harness.get_by_label("Yes, forget them").click();
    harness.run();

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
    harness.run();
    tree_item(&harness, "Challenge Providers").click();
    harness.run();
    harness.get_by_label("SMS address: Enabled").click();
    harness.run();

    let switches = console.service().providers().unwrap();
    assert!(switches.iter().any(|(p, s)| *p == Provider::Sms && !s.enabled));
    assert!(switches.iter().any(|(p, s)| *p == Provider::Smtp && s.enabled));

    select_mailbox(&mut harness, "example.com", "alice");
    harness.get_by_label("Properties").click();
    harness.run();
    harness.get_by_role_and_label(Role::ComboBox, "Provider").click();
    harness.run();
    harness.get_by_label("SMTP address");
    assert!(harness.query_by_label("SMS address").is_none(), "a disabled provider is not offered");
}

#[test]
fn the_filter_narrows_the_mailbox_table() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.run();
    tree_item(&harness, "example.com").click();
    harness.run();
    assert_eq!(harness.state().shown_mailboxes(), 3);

    harness.get_by_role_and_label(Role::TextInput, "Filter").click();
    harness.run();
    harness.get_by_role_and_label(Role::TextInput, "Filter").type_text("bo");
    harness.run();

    assert_eq!(harness.state().shown_mailboxes(), 1);
    harness.get_by_role_and_label(Role::Label, "bob");
    assert!(harness.query_by_role_and_label(Role::Label, "alice").is_none());
}

#[test]
fn login_preview_enrols_totp_and_accepts_the_first_code() {
    let console = Console::new();
    let service = console.service();
    let alice = address("alice@example.com");
    service.set_postoffice(&"example.com".parse().unwrap(), Some(ChallengeMode::Always), None).unwrap();
    let mut harness = console.harness();
    harness.run();
    select_mailbox(&mut harness, "example.com", "alice");
    harness.get_by_label("Login Preview…").click();
    harness.run();

    harness.get_by_label("Begin login").click();
    harness.run();
    harness.get_by_label_contains("Decision: enrol a TOTP app");
    let uri = harness.state().preview_enrolment_uri(&alice).expect("an enrolment URI").to_owned();
    assert_eq!(service.mailbox(&alice).unwrap().record.enrolment, EnrolmentState::Pending);

    let secret = uri.split("secret=").nth(1).and_then(|rest| rest.split('&').next()).unwrap();
    let code = totp::code_at_step(&totp::decode_secret(secret).unwrap(), totp::step_of(NOW));
    harness.get_by_role_and_label(Role::TextInput, "Code").click();
    harness.run();
    harness.get_by_role_and_label(Role::TextInput, "Code").type_text(&code);
    harness.run();
    harness.get_by_label("Verify code").click();
    harness.run();

    harness.get_by_label_contains("Accepted: the login goes on.");
    let details = service.mailbox(&alice).unwrap();
    assert_eq!(details.record.enrolment, EnrolmentState::Active);
    assert_eq!(details.known_ips.first().map(|ip| ip.0.as_str()), Some("203.0.113.10"));
}

#[test]
fn new_post_office_and_new_mailbox_dialogs_create_them() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.run();
    tree_item(&harness, "Post Offices").click();
    harness.run();
    harness.get_by_label("New Post Office…").click();
    harness.run();
    harness.get_by_role_and_label(Role::TextInput, "Post office name").type_text("bad name!");
    harness.run();
    harness.get_by_label("Create post office").click();
    harness.run();
    harness.get_by_label_contains("invalid post office name");

    harness.get_by_role_and_label(Role::TextInput, "Post office name").click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, "Post office name").type_text("new.example");
    harness.run();
    harness.get_by_label("Create post office").click();
    harness.run();
    assert_eq!(harness.state().selected(), &Node::PostOffice("new.example".parse().unwrap()));

    harness.get_by_label("New Mailbox…").click();
    harness.run();
    harness.get_by_role_and_label(Role::TextInput, "Mailbox name").click();
    harness.run();
    harness.get_by_role_and_label(Role::TextInput, "Mailbox name").type_text("erin");
    harness.run();
    harness.get_by_label("Create mailbox").click();
    harness.run();

    console.service().mailbox(&address("erin@new.example")).unwrap();
}

#[test]
fn a_store_without_its_key_is_explained_in_the_window() {
    let console = Console::new();
    let location: StoreLocation = console.env.location();
    let empty_keys = tempfile::tempdir().unwrap();
    let keyring = mailmfa::crypto::KeyRing::new(empty_keys.path());
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| ConsoleApp::start(cc, Some(location), keyring));
    harness.run();

    let error = harness.state().store_error().expect("the store did not open").to_owned();
    assert!(error.contains("no key for the store"), "{error}");
    harness.get_by_label("The store could not be opened");
    harness.get_by_label("Import Key…");
    assert!(harness.state().service().is_none());
}

#[test]
fn the_delete_key_asks_then_deletes_the_selected_mailbox() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.run();
    select_mailbox(&mut harness, "example.com", "carol");
    harness.key_press(egui::Key::Delete);
    harness.run();
    harness.get_by_label("Yes, delete the mailbox").click();
    harness.run();

    assert!(console.service().mailbox(&address("carol@example.com")).is_err());
    assert_eq!(harness.state().shown_mailboxes(), 2);
}

#[test]
fn unlock_clears_a_lock() {
    let console = Console::new();
    let service = console.service();
    let dave = address("dave@other.org");
    service
        .store()
        .write(|tx| {
            let id = tx.mailbox(&dave)?.unwrap().id;
            tx.record_failure(id, NOW, 1, 300).map(drop)
        })
        .unwrap();
    assert!(service.mailbox(&dave).unwrap().record.locked_for(NOW).is_some());
    let mut harness = console.harness();
    harness.run();
    select_mailbox(&mut harness, "other.org", "dave");
    harness.get_by_role_and_label(Role::Label, "locked");
    harness.get_by_label("Unlock").click();
    harness.run();

    assert_eq!(service.mailbox(&dave).unwrap().record.locked_for(NOW), None);
    assert!(harness.query_by_role_and_label(Role::Label, "locked").is_none());
}

#[test]
fn settings_are_checked_before_they_are_saved() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.run();
    tree_item(&harness, "Settings").click();
    harness.run();
    let field = "Failures before a lock";
    harness.get_by_role_and_label(Role::TextInput, field).click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, field).type_text("500");
    harness.run();
    harness.get_by_label("Apply settings").click();
    harness.run();
    harness.get_by_label_contains("expected a whole number from 1 to 100");
    assert_eq!(console.service().setting_value("lockout.threshold").unwrap().as_str(), "5");

    harness.get_by_role_and_label(Role::TextInput, field).click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(Role::TextInput, field).type_text("7");
    harness.run();
    harness.get_by_label("Apply settings").click();
    harness.run();
    assert_eq!(console.service().setting_value("lockout.threshold").unwrap().as_str(), "7");
}

#[test]
fn post_office_properties_change_the_default_mode_that_mailboxes_inherit() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.run();
    tree_item(&harness, "other.org").click();
    harness.run();
    harness.get_by_label("Post Office Properties").click();
    harness.run();
    harness.get_by_role_and_label(Role::ComboBox, "Default challenge mode").click();
    harness.run();
    harness.get_by_label("Prompt by IP Address").click();
    harness.run();
    harness.get_by_label("Users may configure their own two-factor settings").click();
    harness.run();
    harness.get_by_label("OK").click();
    harness.run();

    let po = console.service().postoffice(&"other.org".parse().unwrap()).unwrap();
    assert_eq!(po.challenge, ChallengeMode::NewIp);
    assert!(po.users_may_configure);
    harness.get_by_role_and_label(Role::Label, "Prompt by IP Address (inherited)");
}
