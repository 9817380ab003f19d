//! The New Post Office… and New Mailbox… dialogs: a name typed, parsed into a domain name on
//! Create, and the parse error or the service's refusal shown in the dialog.

use egui::{Context, Id, Ui};

use super::intent::{Intent, MailboxIntent, PostOfficeIntent};
use super::model::Snapshot;
use crate::domain::{DomainError, MailboxAddress, MailboxName, PostOfficeName};
use crate::service::ServiceError;

/// What is created.
pub enum NewKind {
    /// A post office.
    PostOffice,
    /// A mailbox in the chosen post office.
    Mailbox(Option<PostOfficeName>),
}

/// Why the last Create did not create anything.
enum Problem {
    Invalid(DomainError),
    NoPostOffice,
    Refused(ServiceError),
}

/// The New Post Office… or New Mailbox… dialog.
pub struct NewDialog {
    kind: NewKind,
    name: String,
    problem: Option<Problem>,
    focus_given: bool,
}

impl NewDialog {
    /// The dialog of a new post office.
    pub fn postoffice() -> Self {
        Self { kind: NewKind::PostOffice, name: String::new(), problem: None, focus_given: false }
    }

    /// The dialog of a new mailbox, in `postoffice` if given.
    pub fn mailbox(postoffice: Option<PostOfficeName>) -> Self {
        Self { kind: NewKind::Mailbox(postoffice), name: String::new(), problem: None, focus_given: false }
    }

    /// The dialog's id (its layer is in front when Esc should close it).
    pub fn id() -> Id {
        Id::unique("new-dialog")
    }

    /// Shows why creating failed.
    pub fn set_error(&mut self, error: ServiceError) {
        self.problem = Some(Problem::Refused(error));
    }

    /// Draws the dialog; returns false when it was closed.
    pub fn show(&mut self, ctx: &Context, snapshot: &Snapshot, intents: &mut Vec<Intent>) -> bool {
        let mut open = true;
        let title = match self.kind {
            NewKind::PostOffice => "New Post Office",
            NewKind::Mailbox(_) => "New Mailbox",
        };
        let mut cancelled = false;
        egui::Window::new(title)
            .id(Self::id())
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| match &mut self.kind {
                NewKind::PostOffice => {
                    let label = ui.label("Post office name");
                    let field = ui
                        .add(egui::TextEdit::singleline(&mut self.name).hint_text("example.com").desired_width(280.0))
                        .labelled_by(label.id);
                    // Once, when the dialog opens: after Esc left the field, Esc again closes the dialog.
                    if !self.focus_given {
                        self.focus_given = true;
                        field.request_focus();
                    }
                    problem_line(ui, self.problem.as_ref());
                    let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    let create = dialog_buttons(ui, "Create post office", &mut cancelled);
                    if create || enter {
                        match self.name.parse::<PostOfficeName>() {
                            Ok(name) => intents.push(Intent::PostOffice(PostOfficeIntent::Add(name))),
                            Err(e) => self.problem = Some(Problem::Invalid(e)),
                        }
                    }
                }
                NewKind::Mailbox(postoffice) => {
                    let label = ui.label("Post office");
                    egui::ComboBox::from_id_salt("new-mailbox-postoffice")
                        .width(280.0)
                        .selected_text(postoffice.as_ref().map_or("(choose)", PostOfficeName::as_str))
                        .show_ui(ui, |ui| {
                            for po in &snapshot.postoffices {
                                ui.selectable_value(postoffice, Some(po.name.clone()), po.name.as_str());
                            }
                        })
                        .response
                        .labelled_by(label.id);
                    let label = ui.label("Mailbox name");
                    let field = ui
                        .add(egui::TextEdit::singleline(&mut self.name).hint_text("alice").desired_width(280.0))
                        .labelled_by(label.id);
                    problem_line(ui, self.problem.as_ref());
                    let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    let create = dialog_buttons(ui, "Create mailbox", &mut cancelled);
                    if create || enter {
                        match (postoffice.as_ref(), self.name.parse::<MailboxName>()) {
                            (None, _) => self.problem = Some(Problem::NoPostOffice),
                            (Some(_), Err(e)) => self.problem = Some(Problem::Invalid(e)),
                            (Some(po), Ok(mailbox)) => intents
                                .push(Intent::Mailbox(MailboxAddress::new(mailbox, po.clone()), MailboxIntent::Add)),
                        }
                    }
                }
            });
        open && !cancelled
    }
}

fn problem_line(ui: &mut Ui, problem: Option<&Problem>) {
    let text = match problem {
        Some(Problem::Invalid(e)) => e.to_string(),
        Some(Problem::NoPostOffice) => "Choose the post office of the new mailbox.".to_owned(),
        Some(Problem::Refused(e)) => e.to_string(),
        None => return,
    };
    ui.colored_label(ui.visuals().error_fg_color, text);
}

fn dialog_buttons(ui: &mut Ui, create_label: &str, cancelled: &mut bool) -> bool {
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        let create = ui.button(create_label).clicked();
        if ui.button("Cancel").clicked() {
            *cancelled = true;
        }
        create
    })
    .inner
}
