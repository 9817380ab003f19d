//! The console tree and the mailbox table: moving by mouse and keyboard, the filter and the sort,
//! creating and deleting post offices and mailboxes, unlocking.

use super::{Console, NOW, Steps, address, challenge_always, ip, select_mailbox};
use crate::common::fixtures::secret_of;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use mailmfa::domain::{BeginAnswer, Verified, VerifyAnswer, totp};
use mailmfa::ui::{ConsoleApp, Node};

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
fn the_filter_narrows_the_mailbox_table() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "example.com");
    assert_eq!(harness.state().shown_mailboxes(), 3);

    harness.type_into("Filter", "bob");

    assert_eq!(harness.state().shown_mailboxes(), 1);
    harness.get_by_role_and_label(Role::Label, "bob");
    assert!(harness.query_by_role_and_label(Role::Label, "alice").is_none());
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
