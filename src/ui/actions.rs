//! The Actions pane on the right, as in an MMC snap-in: the commands of the selection in sections
//! (the mailbox, its post office, the folder). The same sections fill the right-click menus and the
//! Action menu; every item comes from the [`UiCommand`] catalog.

use egui::{RichText, Ui};

use super::intent::Intent;
use super::model::Node;
use super::ui_command::{Target, UiCommand};

/// A titled group of commands.
struct Section {
    title: String,
    commands: &'static [UiCommand],
}

fn sections(target: &Target) -> Vec<Section> {
    let mut out = Vec::new();
    if let Some(address) = target.mailbox() {
        out.push(Section {
            title: address.to_string(),
            commands: &[
                UiCommand::Properties,
                UiCommand::ResetCode,
                UiCommand::ResetCountries,
                UiCommand::Unlock,
                UiCommand::LoginPreview,
                UiCommand::Delete,
            ],
        });
    }
    if let Some(name) = target.postoffice() {
        out.push(Section {
            title: name.to_string(),
            commands: &[UiCommand::NewMailbox, UiCommand::PostOfficeProperties, UiCommand::DeletePostOffice],
        });
    }
    let folder = match target.node() {
        Node::Root => Some(Section {
            title: "mailmfa".to_owned(),
            commands: &[
                UiCommand::OpenStore,
                UiCommand::OpenSharedStore,
                UiCommand::OpenDatabaseServer,
                UiCommand::ExportKey,
            ],
        }),
        Node::PostOffices | Node::PostOffice(_) | Node::Mailbox(_) => Some(Section {
            title: "Post Offices".to_owned(),
            commands: &[UiCommand::NewPostOffice, UiCommand::ImportCsv],
        }),
        Node::Audit => Some(Section { title: "Audit Log".to_owned(), commands: &[UiCommand::ShowAllAuditEntries] }),
        Node::Providers | Node::Clients | Node::Admins | Node::Settings | Node::Reports => None,
    };
    out.extend(folder);
    out.push(Section { title: "View".to_owned(), commands: &[UiCommand::Refresh] });
    out
}

/// Draws the Actions pane.
pub fn pane_ui(ui: &mut Ui, target: &Target, intents: &mut Vec<Intent>) {
    ui.add_space(4.0);
    ui.label(RichText::new("Actions").strong().size(15.0));
    ui.separator();
    egui::ScrollArea::vertical().id_salt("actions-pane").auto_shrink(false).show(ui, |ui| {
        for section in sections(target) {
            egui::Frame::new().fill(ui.visuals().faint_bg_color).inner_margin(egui::Margin::symmetric(4, 2)).show(
                ui,
                |ui| {
                    ui.set_width(ui.available_width());
                    ui.label(RichText::new(&section.title).strong());
                },
            );
            ui.spacing_mut().item_spacing.y = 1.0;
            for command in section.commands {
                command.link(ui, target, intents);
            }
            ui.add_space(8.0);
        }
    });
}

/// Draws the same commands as a menu (right-click and the Action menu).
pub fn menu_ui(ui: &mut Ui, target: &Target, intents: &mut Vec<Intent>) {
    let all = sections(target);
    let count = all.len();
    for (i, section) in all.into_iter().enumerate() {
        for command in section.commands {
            command.menu_item(ui, target, intents);
        }
        if i + 1 < count {
            ui.separator();
        }
    }
}
