//! The window's chrome, as MMC has it: the menu bar (File, Action, View, Help — its items from the
//! [`UiCommand`] catalog), the status bar (store, mode, counts, the last message), the
//! confirmation asked before irreversible actions, and About.

use egui::{Context, Id, RichText, Ui};

use super::actions;
use super::app::{ConsoleApp, StoreState, store_path};
use super::store_dialogs;
use super::ui_command::UiCommand;

/// The About window's id (its layer is in front when Esc should close it).
pub fn about_id() -> Id {
    Id::unique("about-window")
}

impl ConsoleApp {
    /// Draws the menu bar.
    pub(super) fn menu_bar(&mut self, ui: &mut Ui) {
        let target = self.target();
        let has_store = matches!(self.store, StoreState::Open(_));
        egui::Panel::top("menu-bar").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| {
                ui.menu_button("File", |ui| {
                    let intents = &mut self.intents;
                    for command in [
                        UiCommand::OpenStore,
                        UiCommand::OpenSharedStore,
                        UiCommand::NewStore,
                        UiCommand::OpenDatabaseServer,
                    ] {
                        command.menu_item(ui, &target, intents);
                    }
                    ui.menu_button("Recent Stores", |ui| {
                        store_dialogs::recent_menu_ui(ui, &self.persisted.recent, intents);
                    });
                    ui.separator();
                    for command in [UiCommand::ImportCsv, UiCommand::ImportKey, UiCommand::ExportKey] {
                        command.menu_item(ui, &target, intents);
                    }
                    ui.separator();
                    UiCommand::Exit.menu_item(ui, &target, intents);
                });
                ui.menu_button("Action", |ui| {
                    if has_store {
                        actions::menu_ui(ui, &target, &mut self.intents);
                    } else {
                        ui.label("Open a store first.");
                    }
                });
                ui.menu_button("View", |ui| {
                    ui.checkbox(&mut self.persisted.show_actions, "Actions pane");
                    ui.checkbox(&mut self.persisted.show_status_bar, "Status bar");
                    ui.separator();
                    if ui.button("Light theme").clicked() {
                        ui.ctx().set_theme(egui::Theme::Light);
                    }
                    if ui.button("Dark theme").clicked() {
                        ui.ctx().set_theme(egui::Theme::Dark);
                    }
                    ui.separator();
                    UiCommand::Refresh.menu_item(ui, &target, &mut self.intents);
                });
                ui.menu_button("Help", |ui| UiCommand::About.menu_item(ui, &target, &mut self.intents));
            });
        });
    }

    /// Draws the status bar.
    pub(super) fn status_bar(&self, ui: &mut Ui) {
        if !self.persisted.show_status_bar {
            return;
        }
        egui::Panel::bottom("status-bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                match &self.store {
                    StoreState::Open(open) => {
                        ui.label(format!("Store: {}", store_path(&open.service)));
                        ui.separator();
                        ui.label(open.service.mode_word());
                        ui.separator();
                        ui.label(format!("{} post offices", open.snapshot.postoffices.len()));
                        ui.separator();
                        ui.label(format!("{} mailboxes", open.snapshot.mailbox_count));
                        if let Some(problem) = &open.snapshot.geo_problem {
                            ui.separator();
                            ui.colored_label(ui.visuals().warn_fg_color, "Country database unavailable").on_hover_text(
                                format!(
                                    "{problem}\n\nEvery country counts as unknown, so Prompt by Country challenges \
                                     every login. Fix Settings → Country database."
                                ),
                            );
                        }
                    }
                    StoreState::Failed(failed) => {
                        let path = failed.location.as_ref().map_or_else(|| "(in memory)".to_owned(), super::app::shown);
                        ui.label(format!("Store: {path} — not open"));
                    }
                }
                if self.jobs.running() > 0 || self.is_opening() {
                    ui.separator();
                    ui.spinner();
                }
                if let Some(message) = &self.message {
                    ui.separator();
                    let color = if message.error { ui.visuals().error_fg_color } else { ui.visuals().text_color() };
                    ui.label(RichText::new(&message.text).color(color));
                }
            });
        });
    }

    /// Draws the About window.
    pub(super) fn about(&mut self, ctx: &Context) {
        if !self.about_open {
            return;
        }
        egui::Window::new("About mailmfa")
            .id(about_id())
            .collapsible(false)
            .resizable(false)
            .open(&mut self.about_open)
            .show(ctx, |ui| {
                ui.heading(format!("mailmfa {}", env!("CARGO_PKG_VERSION")));
                ui.label("Multi-factor authentication for the mailboxes of a mail server.");
                ui.label("The same store is administered by `mailmfa` on the command line; run `mailmfa --help`.");
            });
    }

    /// Draws the confirmation in front of everything; Yes records its command.
    pub(super) fn confirmation(&mut self, ctx: &Context) {
        let Some(confirmation) = &self.confirm else { return };
        let mut answer = None;
        let modal = egui::Modal::new(Id::unique("confirmation")).show(ctx, |ui| {
            ui.set_max_width(440.0);
            ui.heading(&confirmation.title);
            ui.add_space(6.0);
            ui.label(&confirmation.message);
            ui.add_space(10.0);
            ui.horizontal(|ui| {
                if ui.button(&confirmation.confirm_label).clicked() {
                    answer = Some(true);
                }
                if ui.button("No").clicked() {
                    answer = Some(false);
                }
            });
        });
        if modal.should_close() && answer.is_none() {
            answer = Some(false);
        }
        if let Some(yes) = answer
            && let Some(confirmation) = self.confirm.take().filter(|_| yes)
        {
            self.intents.push(*confirmation.intent);
        }
    }
}
