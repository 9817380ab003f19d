//! Choosing and opening stores: File → Open Store… / Open Shared Store… / New Store… with native
//! file dialogs, the recent stores, and the pane that explains a store that would not open (wrong
//! or missing key, newer schema, locked file) with what to do about it.

use std::path::{Path, PathBuf};

use egui::{RichText, Ui};

use super::intent::{Intent, StoreIntent};
use super::model::RecentStore;
use super::ui_command::{Target, UiCommand};
use crate::service::{ServiceError, StoreLocation};

/// How many recent stores File → Recent Stores lists.
pub const RECENT_LIMIT: usize = 8;

/// A store that could not be opened, and why.
#[derive(Debug)]
pub struct FailedStore {
    /// Where it is (`None` for a store in memory).
    pub location: Option<StoreLocation>,
    /// What went wrong.
    pub error: ServiceError,
}

impl FailedStore {
    /// Whether the key is missing or wrong, so importing one may help.
    pub fn key_problem(&self) -> bool {
        self.error.is_key_problem()
    }
}

const STORE_FILTER: (&str, &[&str]) = ("mailmfa store", &["sqlite3", "sqlite", "db"]);

/// Asks for an existing store file.
pub fn pick_existing(shared: bool, start: Option<&Path>) -> Option<StoreLocation> {
    let title = if shared { "Open Shared Store" } else { "Open Store" };
    let mut dialog = rfd::FileDialog::new().set_title(title).add_filter(STORE_FILTER.0, STORE_FILTER.1);
    if let Some(dir) = start.and_then(Path::parent) {
        dialog = dialog.set_directory(dir);
    }
    dialog.pick_file().map(|path| StoreLocation::new(path, shared))
}

/// Asks where to create a new store.
pub fn pick_new(start: Option<&Path>) -> Option<PathBuf> {
    let mut dialog = rfd::FileDialog::new()
        .set_title("New Store")
        .set_file_name("mailmfa.sqlite3")
        .add_filter(STORE_FILTER.0, STORE_FILTER.1);
    if let Some(dir) = start.and_then(Path::parent) {
        dialog = dialog.set_directory(dir);
    }
    dialog.save_file()
}

/// Asks for a file to read (a key export, a CSV import).
pub fn pick_file(title: &str, filter: (&str, &[&str])) -> Option<PathBuf> {
    rfd::FileDialog::new().set_title(title).add_filter(filter.0, filter.1).pick_file()
}

/// Asks for a file to write.
pub fn pick_save(title: &str, file_name: &str, filter: (&str, &[&str])) -> Option<PathBuf> {
    rfd::FileDialog::new().set_title(title).set_file_name(file_name).add_filter(filter.0, filter.1).save_file()
}

/// Puts `location` first in the recent list.
pub fn remember(recent: &mut Vec<RecentStore>, location: &StoreLocation) {
    let entry = RecentStore::of(location);
    recent.retain(|r| r.path != entry.path);
    recent.insert(0, entry);
    recent.truncate(RECENT_LIMIT);
}

/// Draws File → Recent Stores.
pub fn recent_menu_ui(ui: &mut Ui, recent: &[RecentStore], intents: &mut Vec<Intent>) {
    if recent.is_empty() {
        ui.add_enabled(false, egui::Button::new("(none yet)"));
    }
    for entry in recent {
        let mode = if entry.shared { " (shared)" } else { "" };
        if ui.button(format!("{}{mode}", entry.path.display())).clicked() {
            intents.push(Intent::Store(StoreIntent::OpenRecent(entry.clone())));
            ui.close();
        }
    }
}

/// Draws the explanation of a store that could not be opened, with the ways out.
pub fn failure_ui(ui: &mut Ui, failed: &FailedStore, intents: &mut Vec<Intent>) {
    ui.add_space(12.0);
    ui.heading("The store could not be opened");
    ui.add_space(6.0);
    match &failed.location {
        Some(location) if location.file().is_none() => ui.label(format!("Store: {location} (database server)")),
        Some(location) => ui.label(format!("Store: {location} ({})", location.mode().word())),
        None => ui.label("Store: in memory"),
    };
    ui.add_space(6.0);
    egui::Frame::new()
        .fill(ui.visuals().extreme_bg_color)
        .stroke(egui::Stroke::new(1.0, ui.visuals().error_fg_color))
        .inner_margin(10)
        .corner_radius(4)
        .show(ui, |ui| {
            ui.set_max_width(720.0);
            ui.colored_label(ui.visuals().error_fg_color, failed.error.to_string());
        });
    ui.add_space(10.0);
    ui.label(RichText::new("What you can do").strong());
    if failed.key_problem() {
        ui.label(
            "• Import the store key: on a server that opens this store run `mailmfa key export FILE` (or File > Export \
             Key…), copy the file here, then choose Import Key… below.",
        );
    }
    if failed.location.as_ref().is_some_and(|l| l.database_server().is_some()) {
        ui.label(
            "• Check the server's address, port and database, the password, and the sslrootcert file if the URL \
             names one; the server must let this machine in (its pg_hba.conf).",
        );
        ui.label("• If the database server was restarting, try again.");
    } else {
        ui.label("• If another program or server holds the file, wait a moment and try again.");
    }
    ui.label("• A store written by a newer mailmfa needs that version on this server too.");
    ui.label("• Or open another store.");
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        if failed.key_problem() {
            UiCommand::ImportKey.button(ui, &Target::no_store(), intents);
        }
        if ui.add_enabled(failed.location.is_some(), egui::Button::new("Try again")).clicked() {
            intents.push(Intent::Store(StoreIntent::Retry));
        }
        if ui.button("Open Another Store…").clicked() {
            intents.push(Intent::Store(StoreIntent::OpenDialog { shared: false }));
        }
        let server = failed.location.as_ref().filter(|l| l.database_server().is_some()).map(ToString::to_string);
        if ui.button("Open Database Server…").clicked() {
            intents.push(Intent::Store(StoreIntent::ServerDialog { url: server }));
        }
        if ui.button("Open the Default Store").clicked() {
            intents.push(Intent::Store(StoreIntent::OpenDefault));
        }
    });
}
