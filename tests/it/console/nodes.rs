//! The panes of the other nodes of the tree: Challenge Providers, Settings, API Clients,
//! Administrators and Reports.

use super::{Console, Steps, address, challenge_always, select_mailbox};
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use mailmfa::domain::Provider;
use mailmfa::service::{Service, ServiceError};
use mailmfa::ui::{Intent, StoreIntent};

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

/// The API Clients node: a bad network is refused in the form; a client made there (here with the
/// metrics) gets a key shown once that the login service accepts; Remove asks, then the key stops
/// working.
#[test]
fn api_clients_are_created_with_a_key_shown_once_and_removed_after_asking() {
    use mailmfa::service::{BeginRequest, Caller};
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
    harness.click("May read the metrics (GET /v1/metrics)");
    harness.click("Create API client");
    let key = harness.state().shown_client_key().expect("the key is shown").to_owned();
    assert!(key.starts_with("mmfa_"), "{key}");
    harness.get_by_label("Copy key");
    assert_eq!(harness.state().listed_clients(), 1);
    let listed = console.service().clients().unwrap();
    assert_eq!((listed[0].name.as_str(), listed[0].allow.clone()), ("roundcube", vec!["127.0.0.0/8".to_owned()]));
    assert!(listed[0].metrics, "the box ticked gave the client the metrics");

    let begin = |service: &Service| {
        let caller = Caller::new(Some(key.clone()), "127.0.0.1".parse().unwrap());
        let request = BeginRequest {
            address: "alice@example.com".to_owned(),
            ip: "192.0.2.1".to_owned(),
            ..BeginRequest::default()
        };
        service.api_call(caller, request).result
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
    let actions: Vec<String> = console.service().audit(None, 10).unwrap().into_iter().map(|e| e.entry.action).collect();
    assert!(actions.contains(&"client.add".to_owned()) && actions.contains(&"client.remove".to_owned()), "{actions:?}");
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
    harness.command(Intent::Store(StoreIntent::ExportCoverageTo(file.clone())));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), service.coverage(None).unwrap().to_csv());
    assert!(harness.state().message().is_some_and(|(text, error)| !error && text.contains("coverage.csv")));
}

/// The Administrators node: a post-office administrator of the web administration is added with
/// the set-up link shown once; Reset asks, then shows a new link; Remove asks, then they are gone.
#[test]
fn web_administrators_are_added_with_a_setup_link_shown_once_reset_and_removed_after_asking() {
    let console = Console::new();
    let mut harness = console.harness();
    harness.click_role(Role::TreeItem, "Administrators");
    harness.get_by_label_contains("No administrators yet");
    harness.type_into("Name", "postmaster");
    harness.click("Add administrator");
    harness.get_by_label_contains("needs at least one post office");
    assert!(console.service().admins().unwrap().is_empty(), "a refused form added an administrator");

    harness.type_into("Their post offices", "example.com");
    harness.click("Add administrator");
    let link = harness.state().shown_admin_link().expect("the link is shown").to_owned();
    assert!(link.starts_with("http://127.0.0.1:8750/admin/setup/"), "{link}");
    harness.get_by_label("Copy link");
    let admins = console.service().admins().unwrap();
    assert_eq!((admins[0].name.as_str(), admins[0].postoffices[0].as_str()), ("postmaster", "example.com"));

    harness.click("Hide link");
    harness.click("Reset…");
    harness.click("Yes, reset the administrator");
    let again = harness.state().shown_admin_link().expect("a new link").to_owned();
    assert_ne!(again, link);
    harness.click("Hide link");
    harness.click("Remove…");
    harness.click("Yes, remove the administrator");
    assert!(console.service().admins().unwrap().is_empty());
    let actions: Vec<String> = console.service().audit(None, 10).unwrap().into_iter().map(|e| e.entry.action).collect();
    for action in ["admin.add", "admin.reset", "admin.remove"] {
        assert!(actions.contains(&action.to_owned()), "{action}: {actions:?}");
    }
}
