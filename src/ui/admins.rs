//! The Administrators pane: the web administration's administrators (docs/DESIGN.md §12), a form
//! that adds one and shows their one-time set-up link with Copy, and Reset and Remove with
//! confirmation. The pane loads the list itself when shown, as the API Clients pane does.

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};

use super::intent::{Confirmation, Intent, PlatformIntent};
use super::model::when_short;
use super::shown_once::shown_once;
use crate::domain::{AdminName, AdminRole, Administrator, DomainError, PostOfficeName, check_admin_scope};
use crate::service::ServiceError;

/// The Administrators pane.
#[derive(Default)]
pub struct AdminsPane {
    admins: Vec<Administrator>,
    loaded: bool,
    name: String,
    postoffices: String,
    platform: bool,
    problem: Option<String>,
    link: Option<(AdminName, String)>,
}

impl AdminsPane {
    /// Whether the list must be (re)loaded before the pane is drawn.
    pub fn needs_load(&self) -> bool {
        !self.loaded
    }

    /// Marks the list as stale (after a change, or a store switch).
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    /// Takes a freshly loaded list.
    pub fn set_admins(&mut self, admins: Vec<Administrator>) {
        self.admins = admins;
        self.loaded = true;
    }

    /// Shows the set-up link of an administrator just added or reset, once, and clears the form.
    pub fn link(&mut self, name: AdminName, url: String) {
        self.link = Some((name, url));
        self.name.clear();
        self.postoffices.clear();
        self.problem = None;
        self.loaded = false;
    }

    /// Shows why the service refused; the form keeps what was typed.
    pub fn refused(&mut self, error: &ServiceError) {
        self.problem = Some(error.to_string());
    }

    /// The set-up link on show (tests read it as an administrator copies it).
    pub fn shown_link(&self) -> Option<&str> {
        self.link.as_ref().map(|(_, url)| url.as_str())
    }

    /// Draws the pane.
    pub fn ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        egui::ScrollArea::vertical().id_salt("admins-pane").auto_shrink(false).show(ui, |ui| {
            ui.heading("Administrators");
            ui.label(
                RichText::new(
                    "The web administration's administrators (mailmfa serve, /admin/, when serve.admin is on). A \
                     platform administrator does what this console does; a post-office administrator only looks \
                     after the mailboxes of their post offices. Each sets a password and an authenticator app on \
                     a one-time set-up link.",
                )
                .weak(),
            );
            ui.add_space(6.0);
            if let Some((name, url)) = &self.link {
                let note =
                    format!("The set-up link of {name}, shown only now and valid for 24 hours. Send it to them:");
                if shown_once(ui, &note, url, "link") {
                    self.link = None;
                }
                ui.add_space(6.0);
            }
            self.table_ui(ui, intents);
            ui.add_space(12.0);
            self.form_ui(ui, intents);
        });
    }

    fn table_ui(&self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        if self.admins.is_empty() {
            ui.label("No administrators yet. Add one below.");
            return;
        }
        ui.push_id("admins-table", |ui| {
            ui.style_mut().interaction.selectable_labels = false;
            let height = egui::TextStyle::Body.resolve(ui.style()).size.max(ui.spacing().interact_size.y);
            TableBuilder::new(ui)
                .striped(true)
                .vscroll(false)
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .column(Column::initial(160.0).at_least(80.0).clip(true))
                .column(Column::initial(90.0).at_least(60.0))
                .column(Column::initial(200.0).at_least(80.0).clip(true))
                .column(Column::initial(70.0).at_least(50.0))
                .column(Column::initial(130.0).at_least(60.0))
                .column(Column::auto())
                .header(height + 4.0, |mut header| {
                    for title in ["Administrator", "Role", "Post offices", "Set up", "Added", ""] {
                        header.col(|ui| {
                            ui.label(RichText::new(title).strong());
                        });
                    }
                })
                .body(|body| {
                    body.rows(height, self.admins.len(), |mut row| {
                        let Some(admin) = self.admins.get(row.index()) else { return };
                        row.col(|ui| {
                            ui.label(admin.name.as_str());
                        });
                        row.col(|ui| {
                            ui.label(admin.role.word());
                        });
                        row.col(|ui| {
                            let list = admin.postoffices.iter().map(PostOfficeName::as_str).collect::<Vec<_>>();
                            ui.label(if admin.is_platform() { "all".to_owned() } else { list.join(", ") });
                        });
                        row.col(|ui| {
                            ui.label(if admin.set_up { "yes" } else { "not yet" });
                        });
                        row.col(|ui| {
                            ui.label(when_short(Some(admin.created_at)));
                        });
                        row.col(|ui| {
                            if ui.button("Reset…").on_hover_text(format!("Reset {}", admin.name)).clicked() {
                                intents.push(Confirmation::reset_admin(&admin.name));
                            }
                            if ui.button("Remove…").on_hover_text(format!("Remove {}", admin.name)).clicked() {
                                intents.push(Confirmation::remove_admin(&admin.name));
                            }
                        });
                    });
                });
        });
    }

    fn form_ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        ui.label(RichText::new("New administrator").strong().size(15.0));
        ui.separator();
        egui::Grid::new("new-admin-form").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
            let label = ui.label("Name");
            ui.add(egui::TextEdit::singleline(&mut self.name).hint_text("postmaster").desired_width(320.0))
                .labelled_by(label.id);
            ui.end_row();
            ui.label("Role");
            ui.horizontal(|ui| {
                ui.radio_value(&mut self.platform, false, "Post-office administrator");
                ui.radio_value(&mut self.platform, true, "Platform administrator");
            });
            ui.end_row();
            let label = ui.label("Their post offices");
            ui.add_enabled(
                !self.platform,
                egui::TextEdit::singleline(&mut self.postoffices).hint_text("example.com").desired_width(320.0),
            )
            .labelled_by(label.id);
            ui.end_row();
        });
        if let Some(problem) = &self.problem {
            ui.colored_label(ui.visuals().error_fg_color, problem);
        }
        ui.add_space(4.0);
        if ui.button("Add administrator").clicked() {
            match self.parse() {
                Ok(intent) => {
                    self.problem = None;
                    intents.push(intent);
                }
                Err(e) => self.problem = Some(e.to_string()),
            }
        }
    }

    fn parse(&self) -> Result<Intent, DomainError> {
        let name: AdminName = self.name.parse()?;
        let role = if self.platform { AdminRole::Platform } else { AdminRole::Postoffice };
        let postoffices: Vec<PostOfficeName> = match role {
            AdminRole::Platform => Vec::new(),
            AdminRole::Postoffice => self
                .postoffices
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()?,
        };
        check_admin_scope(role, &postoffices)?;
        Ok(Intent::Platform(PlatformIntent::AddAdmin { name, role, postoffices }))
    }
}
