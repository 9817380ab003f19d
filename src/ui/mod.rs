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
mod graphics;
mod intent;
mod jobs;
mod login_preview;
mod mail_programs_tab;
mod mailbox_properties;
mod mailbox_table;
mod model;
mod new_dialog;
mod passkeys;
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
pub use graphics::{ConsoleError, Failure};
pub use intent::{
    Confirmation, Intent, MailboxIntent, PlatformIntent, PostOfficeIntent, PreviewIntent, StoreIntent, TestTarget,
    Window,
};
pub use model::{Node, RecentStore};

use crate::service::{KeyFolder, StoreLocation};

/// Opens the console window on `explicit` (the `--store` or `$MAILMFA_STORE` store), else on the
/// store opened last, else on the default local store; returns when the window closes. When a
/// graphics backend fails to start it says so on stderr and tries the next (`graphics`).
#[allow(clippy::print_stderr)]
pub fn run(explicit: Option<StoreLocation>) -> Result<(), ConsoleError> {
    let attempts = graphics::attempts_here();
    let mut failures = Vec::new();
    for (tried, backends) in attempts.iter().copied().enumerate() {
        let explicit = explicit.clone();
        let options = eframe::NativeOptions {
            viewport: viewport(),
            wgpu_options: graphics::wgpu_options(backends),
            ..eframe::NativeOptions::default()
        };
        let started = eframe::run_native(
            "mailmfa",
            options,
            Box::new(move |cc| Ok(Box::new(ConsoleApp::start(cc, explicit, KeyFolder::default_location())))),
        );
        match started {
            Ok(()) => return Ok(()),
            Err(eframe::Error::Wgpu(error)) => {
                let failure = Failure { backends, error };
                if let Some(next) = attempts.get(tried + 1) {
                    eprintln!("mailmfa: the console could not draw with {failure}; trying {}", graphics::name(*next));
                }
                failures.push(failure);
            }
            Err(other) => return Err(ConsoleError::Window(other)),
        }
    }
    Err(ConsoleError::Graphics(failures))
}

/// The console's main window: its title, size and icon.
fn viewport() -> egui::ViewportBuilder {
    let viewport = egui::ViewportBuilder::default()
        .with_title(TITLE)
        .with_app_id("mailmfa")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([800.0, 500.0]);
    match icon() {
        Some(icon) => viewport.with_icon(icon),
        None => viewport,
    }
}
