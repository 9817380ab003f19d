//! A mailbox's Properties → *Mail Programs*: whether its mail programs (Outlook, Thunderbird, a
//! phone's mail app) may sign in with the mailbox password over IMAP, POP3 and SMTP, and the app
//! passwords they use instead — each with its last use, *Create app password…* (shown once) and
//! *Remove…* (after asking).

use egui::{RichText, Ui};

use super::intent::{Confirmation, Intent, MailboxIntent};
use super::model::when;
use super::postoffice_properties::mail_programs_combo;
use super::shown_once::shown_once;
use crate::domain::{
    AppPassword, AppPasswordDays, AppPasswordName, MailPrograms, MailProtocol, MailboxAddress, Protocols,
};
use crate::service::{IssuedAppPassword, MailboxDetails, NewAppPassword};

/// The tab's own state: the form of a new app password, and the one just made.
#[derive(Default)]
pub struct MailProgramsTab {
    name: String,
    protocols: [bool; MailProtocol::ALL.len()],
    days: String,
    error: Option<String>,
    issued: Option<IssuedAppPassword>,
}

impl MailProgramsTab {
    /// A tab with every protocol ticked for a new app password.
    pub fn new() -> Self {
        Self { protocols: [true; MailProtocol::ALL.len()], ..Self::default() }
    }

    /// Shows an app password just made, this once.
    pub fn show_issued(&mut self, issued: IssuedAppPassword) {
        self.name.clear();
        self.days.clear();
        self.issued = Some(issued);
    }

    /// The app password on show, as people read it.
    pub fn issued(&self) -> Option<String> {
        self.issued.as_ref().map(|issued| issued.password.shown())
    }

    /// Draws the tab; `policy` is the draft's mail-program policy, saved with OK or Apply.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        address: &MailboxAddress,
        details: &MailboxDetails,
        policy: &mut MailPrograms,
        intents: &mut Vec<Intent>,
    ) {
        let id = address.to_string();
        egui::Grid::new(("mail-programs", &id)).num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
            let label = ui.label("Mail programs sign in with");
            mail_programs_combo(ui, ("mailbox-mail-programs", &id), policy, "As the post office")
                .labelled_by(label.id)
                .on_hover_text("Saved with OK or Apply");
            ui.end_row();
            ui.label("In force");
            let open = if details.password_in_mail_programs {
                "the mailbox password still opens it in mail programs"
            } else {
                "mail programs need an app password"
            };
            ui.label(format!("{}: {open}", details.mail_program_policy.label()));
            ui.end_row();
        });
        ui.add_space(6.0);
        ui.label(RichText::new("App passwords").strong());
        if details.app_passwords.is_empty() {
            ui.label(RichText::new("None yet.").weak());
        } else {
            list_ui(ui, address, &details.app_passwords, intents);
        }
        if let Some(issued) = &self.issued {
            let note = format!(
                "App password \"{}\" for {address}: give it to the user for their mail program (in place of \
                 the mailbox password). It is not shown again.",
                issued.name
            );
            if shown_once(ui, &note, &issued.password.shown(), "password") {
                self.issued = None;
            }
        }
        ui.add_space(6.0);
        self.form_ui(ui, address, intents);
    }

    /// The form that makes a new app password.
    fn form_ui(&mut self, ui: &mut Ui, address: &MailboxAddress, intents: &mut Vec<Intent>) {
        egui::Grid::new(("new-app-password", address.to_string())).num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
            let label = ui.label("New app password's name");
            ui.add(egui::TextEdit::singleline(&mut self.name).hint_text("Thunderbird at home").desired_width(220.0))
                .labelled_by(label.id);
            ui.end_row();
            ui.label("Opens");
            ui.horizontal(|ui| {
                for (protocol, on) in MailProtocol::ALL.iter().zip(&mut self.protocols) {
                    ui.checkbox(on, protocol.word().to_uppercase());
                }
            });
            ui.end_row();
            let label = ui.label("Expires after (days)");
            ui.add(egui::TextEdit::singleline(&mut self.days).hint_text("never").desired_width(80.0))
                .labelled_by(label.id);
            ui.end_row();
        });
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if ui.button("Create app password").clicked() {
            match self.parse() {
                Ok(new) => {
                    self.error = None;
                    intents.push(Intent::Mailbox(address.clone(), MailboxIntent::AddAppPassword(new)));
                }
                Err(e) => self.error = Some(e),
            }
        }
    }

    fn parse(&self) -> Result<NewAppPassword, String> {
        let name: AppPasswordName = self.name.parse().map_err(|e: crate::domain::DomainError| e.to_string())?;
        let ticked = MailProtocol::ALL.into_iter().zip(self.protocols).filter(|(_, on)| *on).map(|(p, _)| p);
        let protocols = Protocols::of(ticked).ok_or_else(|| "tick at least one protocol it opens".to_owned())?;
        let days = match self.days.trim() {
            "" => None,
            text => Some(text.parse::<AppPasswordDays>().map_err(|e| e.to_string())?),
        };
        Ok(NewAppPassword { name, protocols, days })
    }
}

/// The app passwords, with their last use and *Remove…*.
fn list_ui(ui: &mut Ui, address: &MailboxAddress, list: &[AppPassword], intents: &mut Vec<Intent>) {
    egui::Grid::new(("app-passwords", address.to_string())).striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
        for title in ["Name", "Opens", "Created", "Expires", "Last used"] {
            ui.label(RichText::new(title).strong());
        }
        ui.end_row();
        for password in list {
            ui.label(password.name.as_str());
            ui.label(password.protocols.to_string());
            ui.label(when(Some(password.created_at)));
            ui.label(password.expires_at.map_or_else(|| "never".to_owned(), |at| when(Some(at))));
            ui.label(password.last_used.as_ref().map_or_else(
                || "never".to_owned(),
                |last| format!("{} from {} over {}", when(Some(last.at)), last.ip, last.protocol),
            ));
            if ui.button(format!("Remove {}…", password.name)).clicked() {
                intents.push(Confirmation::remove_app_password(address, &password.name));
            }
            ui.end_row();
        }
    });
}
