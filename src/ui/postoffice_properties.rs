//! A post office's Properties window: its default challenge mode, which its mailboxes set to
//! Inherit follow, whether its users may configure their own two-factor settings, and the
//! networks it trusts, and whether its mail programs may sign in with the mailbox password.

use egui::{Context, Id, RichText, Ui};

use super::intent::{Intent, PostOfficeIntent};
use crate::domain::{
    ChallengeMode, DomainError, MailPrograms, PostOffice, PostOfficeName, join_networks, parse_networks,
};
use crate::service::{PostOfficeChanges, ServiceError};

/// A post office's Properties window.
pub struct PostOfficeProperties {
    name: PostOfficeName,
    challenge: ChallengeMode,
    users_may_configure: bool,
    remember_in_always: bool,
    mail_programs: MailPrograms,
    trusted_networks: String,
    trusted_error: Option<DomainError>,
    mailboxes: i64,
    save_error: Option<ServiceError>,
    open: bool,
}

impl PostOfficeProperties {
    /// A window on the post office as stored.
    pub fn new(record: &PostOffice) -> Self {
        Self {
            name: record.name.clone(),
            challenge: record.challenge,
            users_may_configure: record.users_may_configure,
            remember_in_always: record.remember_in_always,
            mail_programs: record.mail_programs,
            trusted_networks: join_networks(&record.trusted_networks),
            trusted_error: None,
            mailboxes: record.mailboxes,
            save_error: None,
            open: true,
        }
    }

    /// The post office.
    pub fn name(&self) -> &PostOfficeName {
        &self.name
    }

    /// The window's id (its layer is in front when Esc should close it).
    pub fn id(&self) -> Id {
        Id::unique(("postoffice-properties", self.name.as_str()))
    }

    /// Whether the window is still open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Closes the window.
    pub fn close(&mut self) {
        self.open = false;
    }

    /// Shows why saving failed.
    pub fn set_save_error(&mut self, error: Option<ServiceError>) {
        self.save_error = error;
    }

    /// Draws the window.
    pub fn show(&mut self, ctx: &Context, intents: &mut Vec<Intent>) {
        let mut open = self.open;
        let name = self.name.to_string();
        egui::Window::new(format!("{name} Properties"))
            .id(self.id())
            .pivot(egui::Align2::CENTER_TOP)
            .default_pos(egui::pos2(ctx.content_rect().center().x, 80.0))
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                self.fields_ui(ui, &name);
                ui.separator();
                self.buttons_ui(ui, intents);
            });
        self.open &= open;
    }

    /// The post office's fields: its default mode, trusted networks and self-service switch.
    fn fields_ui(&mut self, ui: &mut Ui, name: &str) {
        egui::Grid::new(("postoffice-grid", name)).num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
            ui.label("Post office");
            ui.label(RichText::new(name).strong());
            ui.end_row();
            ui.label("Mailboxes");
            ui.label(self.mailboxes.to_string());
            ui.end_row();
            let label = ui.label("Default challenge mode");
            egui::ComboBox::from_id_salt(("po-challenge", name))
                .width(220.0)
                .selected_text(self.challenge.label())
                .show_ui(ui, |ui| {
                    for mode in ChallengeMode::ALL {
                        ui.selectable_value(&mut self.challenge, mode, mode.label());
                    }
                })
                .response
                .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("Trusted networks");
            ui.add(
                egui::TextEdit::singleline(&mut self.trusted_networks)
                    .hint_text("10.0.0.0/8, 2001:db8::/32")
                    .desired_width(220.0),
            )
            .labelled_by(label.id)
            .on_hover_text(
                "Logins from these networks count as known in Prompt by IP Address and Prompt by Country; \
                 Prompt Always still asks",
            );
            ui.end_row();
            let label = ui.label("Mail programs sign in with");
            mail_programs_combo(ui, ("po-mail-programs", name), &mut self.mail_programs, "As the platform setting")
                .labelled_by(label.id)
                .on_hover_text(
                    "Whether Outlook, Thunderbird or a phone's mail app may use the mailbox password over IMAP, \
                     POP3 and SMTP, or only an app password",
                );
            ui.end_row();
        });
        if let Some(error) = &self.trusted_error {
            ui.colored_label(ui.visuals().error_fg_color, error.to_string());
        }
        ui.checkbox(&mut self.users_may_configure, "Users may configure their own two-factor settings");
        ui.checkbox(&mut self.remember_in_always, "Remembered devices skip Prompt Always too").on_hover_text(
            "Off: Prompt Always asks at every sign-in, even on a device the user had remembered. Prompt by IP \
             Address and Prompt by Country always let a remembered device through.",
        );
        ui.label(
            RichText::new("Mailboxes set to Inherit use the default challenge mode; the others keep their own.").weak(),
        );
        if let Some(error) = &self.save_error {
            ui.colored_label(ui.visuals().error_fg_color, format!("Not saved: {error}"));
        }
    }

    /// OK, Cancel and Apply: nothing is saved until every field is valid.
    fn buttons_ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let apply = ui.button("Apply").clicked();
            if ui.button("Cancel").clicked() {
                self.open = false;
            }
            let ok = ui.button("OK").clicked();
            if ok || apply {
                // Nothing is saved until every field is valid.
                match parse_networks(&self.trusted_networks) {
                    Ok(trusted) => {
                        self.trusted_error = None;
                        let changes = PostOfficeChanges {
                            challenge: Some(self.challenge),
                            users_may_configure: Some(self.users_may_configure),
                            remember_in_always: Some(self.remember_in_always),
                            trusted_networks: Some(trusted),
                            mail_programs: Some(self.mail_programs),
                        };
                        intents.push(Intent::PostOffice(PostOfficeIntent::Save {
                            name: self.name.clone(),
                            changes,
                            close: ok,
                        }));
                    }
                    Err(e) => self.trusted_error = Some(e),
                }
            }
        });
    }
}

/// The choice of a mail-program policy; `inherited` names what Inherit means at this level.
pub fn mail_programs_combo(
    ui: &mut Ui,
    salt: impl std::hash::Hash + std::fmt::Debug,
    value: &mut MailPrograms,
    inherited: &str,
) -> egui::Response {
    let label = |choice: MailPrograms| match choice {
        MailPrograms::Inherit => inherited.to_owned(),
        MailPrograms::Policy(policy) => policy.label().to_owned(),
    };
    egui::ComboBox::from_id_salt(salt)
        .width(220.0)
        .selected_text(label(*value))
        .show_ui(ui, |ui| {
            for choice in MailPrograms::ALL {
                ui.selectable_value(value, choice, label(choice));
            }
        })
        .response
}
