//! Opening stores: one whose key is missing (explained, with Import Key…), one on a database server
//! (the password asked for and never kept), and a country database that cannot be read.

use super::{Console, Steps, step_until, window};
use crate::common;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use mailmfa::service::{IfExists, KeyFolder, ServiceError, StoreLocation};
use mailmfa::ui::{ConsoleApp, Intent, StoreIntent};

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
    harness.command(Intent::Store(StoreIntent::ImportKeyFrom(export.clone())));

    let service = harness.state().service().expect("the store opens with the imported key");
    assert!(KeyFolder::new(&console_keys).key_path(service.store_id()).is_file(), "the key file is installed");
    harness.get_by_role_and_label(Role::TreeItem, "Post Offices");
    let console_entry = service.audit(None, 10).unwrap().into_iter().find(|e| e.entry.action == "key.import").unwrap();
    assert_eq!(console_entry.entry.outcome.to_string(), "ok");

    // The same file imported by the command line, into another key folder.
    let cli_keys = console.env.path("cli-keys");
    let out = console.env.command().env("MAILMFA_KEY_DIR", &cli_keys).arg("key").arg("import").arg(&export).output();
    let run = common::output(out.unwrap());
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    let entries = service.audit(None, 10).unwrap();
    let imports: Vec<_> = entries.iter().filter(|e| e.entry.action == "key.import").collect();
    assert_eq!(imports.len(), 2, "one entry each");
    let (cli_entry, console_entry) = (imports[0], imports[1]);
    let shape = |e: &mailmfa::domain::AuditRecord| {
        (
            e.entry.actor.split_once(':').map(|(_, user)| user.to_owned()),
            e.entry.mailbox.clone(),
            e.entry.action.clone(),
            e.entry.ip.clone(),
            e.entry.outcome.clone(),
            e.entry.detail.clone(),
        )
    };
    assert_eq!(shape(console_entry), shape(cli_entry), "the console's entry reads as the CLI's");
    let user = mailmfa::service::os_user();
    assert_eq!(console_entry.entry.actor, format!("console:{user}"), "the console names itself");
    assert_eq!(cli_entry.entry.actor, format!("cli:{user}"), "the command line names itself");
    assert_eq!(console_entry.entry.detail.as_deref(), Some(format!("from {}", export.display()).as_str()));
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
    harness.command(Intent::Store(StoreIntent::OpenDefault));
    harness.command(Intent::Store(StoreIntent::ServerDialog { url: None }));
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
    harness.command(Intent::Store(StoreIntent::OpenRecent(recent)));
    harness.get_by_label("Open Database Server");
    connect(&mut harness, "", PASSWORD);
    assert!(harness.state().service().is_some_and(|s| s.mode_word() == "server"));
}
