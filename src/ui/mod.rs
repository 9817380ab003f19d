//! The console: an MMC-style desktop window (eframe/egui) over the [`crate::service::Service`].
//! Panes and windows draw from a read model and record [`Intent`]s; [`ConsoleApp`] applies them
//! after each frame. The administrator's commands — their labels, shortcuts and tooltips — are
//! one catalog (`ui_command::UiCommand`) that the menus, the Actions pane, the right-click menus
//! and the keyboard share. One pane or window per file.

mod actions;
mod admins;
mod app;
mod apply;
mod audit;
mod chrome;
mod clients;
mod folders;
mod intent;
mod jobs;
mod login_preview;
mod mail_programs_tab;
mod mailbox_properties;
mod mailbox_table;
mod model;
mod new_dialog;
mod postoffice_properties;
mod providers;
mod reports;
mod server_dialog;
mod settings;
mod shown_once;
mod store_dialogs;
mod tree;
mod ui_command;

pub use app::{ConsoleApp, TITLE, icon};
pub use intent::{
    Confirmation, Intent, MailboxIntent, PlatformIntent, PostOfficeIntent, PreviewIntent, StoreIntent, TestTarget,
    Window,
};
pub use model::{Node, RecentStore};

use crate::service::{KeyFolder, StoreLocation};

/// Opens the console window on `explicit` (the `--store` or `$MAILMFA_STORE` store), else on the
/// store opened last, else on the default local store; returns when the window closes.
pub fn run(explicit: Option<StoreLocation>) -> eframe::Result {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title(TITLE)
        .with_app_id("mailmfa")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([800.0, 500.0]);
    if let Some(icon) = icon() {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions { viewport, ..eframe::NativeOptions::default() };
    eframe::run_native(
        "mailmfa",
        options,
        Box::new(move |cc| Ok(Box::new(ConsoleApp::start(cc, explicit, KeyFolder::default_location())))),
    )
}
