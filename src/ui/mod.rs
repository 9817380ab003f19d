//! The console: an MMC-style desktop window (eframe/egui) over the [`crate::service::Service`].
//! Panes draw from a read model and record commands; [`ConsoleApp`] applies them after each frame.
//! One pane per file: the tree, the mailbox table, the Actions pane, the Properties windows, the
//! Challenge Providers, Settings and Audit Log panes, the login preview, and the store dialogs.

mod actions;
mod app;
mod audit;
mod folders;
mod login_preview;
mod mailbox_table;
mod model;
mod properties;
mod providers;
mod settings;
mod store_dialogs;
mod tree;

pub use app::{ConsoleApp, TITLE, icon};
pub use model::{Command, Node, RecentStore};

use crate::crypto::KeyRing;
use crate::store::StoreLocation;

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
        Box::new(move |cc| Ok(Box::new(ConsoleApp::start(cc, explicit, KeyRing::default_location())))),
    )
}
