//! File → Open Database Server…: the `postgres://` URL of a store on a PostgreSQL server and its
//! password, asked apart so it is never part of what the console shows or remembers.

use egui::{Context, Id};
use zeroize::Zeroizing;

use super::intent::{Intent, StoreIntent};
use crate::service::ServerAddress;

/// The Open Database Server dialog.
pub struct ServerDialog {
    url: String,
    password: Zeroizing<String>,
    problem: Option<String>,
    focus_given: bool,
}

impl ServerDialog {
    /// The dialog, with `url` filled in (a recent server's, or the one that could not be opened).
    pub fn new(url: Option<String>) -> Self {
        Self { url: url.unwrap_or_default(), password: Zeroizing::default(), problem: None, focus_given: false }
    }

    /// The dialog's id (its layer is in front when Esc should close it).
    pub fn id() -> Id {
        Id::unique("server-dialog")
    }

    /// Draws the dialog; returns false when it was closed (connected or cancelled).
    pub fn show(&mut self, ctx: &Context, intents: &mut Vec<Intent>) -> bool {
        let mut open = true;
        let mut done = false;
        egui::Window::new("Open Database Server")
            .id(Self::id())
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .min_width(560.0)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| {
                ui.label("A store on a PostgreSQL server, shared by the mail servers that connect to it.");
                ui.add_space(6.0);
                let (url, password) = egui::Grid::new("server-dialog-fields")
                    .num_columns(2)
                    .spacing([8.0, 6.0])
                    .show(ui, |ui| {
                        let label = ui.label("Server URL");
                        let url = ui
                            .add(
                                egui::TextEdit::singleline(&mut self.url)
                                    .hint_text("postgres://mailmfa@db1.example.com/mailmfa?sslmode=require")
                                    .desired_width(420.0),
                            )
                            .labelled_by(label.id);
                        ui.end_row();
                        let label = ui.label("Password");
                        let password = ui
                            .add(egui::TextEdit::singleline(&mut *self.password).password(true).desired_width(420.0))
                            .labelled_by(label.id);
                        ui.end_row();
                        (url, password)
                    })
                    .inner;
                // Once, when the dialog opens: the URL to type, or the password of a URL given.
                if !self.focus_given {
                    self.focus_given = true;
                    if self.url.is_empty() { url.request_focus() } else { password.request_focus() }
                }
                ui.label(
                    egui::RichText::new(
                        "The password is used to connect and then forgotten; Recent Stores keeps the URL without it.",
                    )
                    .small(),
                );
                if let Some(problem) = &self.problem {
                    ui.colored_label(ui.visuals().error_fg_color, problem);
                }
                ui.add_space(6.0);
                ui.horizontal(|ui| {
                    let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if ui.button("Connect").clicked() || enter {
                        match self.url.parse::<ServerAddress>() {
                            Ok(address) => {
                                let address = if address.has_password() || self.password.is_empty() {
                                    address
                                } else {
                                    address.with_password(&self.password)
                                };
                                intents.push(Intent::Store(StoreIntent::OpenServer(address)));
                                done = true;
                            }
                            Err(e) => self.problem = Some(format!("{e}.")),
                        }
                    }
                    if ui.button("Cancel").clicked() {
                        done = true;
                    }
                });
            });
        open && !done
    }
}
