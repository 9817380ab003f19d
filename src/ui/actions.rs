//! The Actions pane on the right, as in an MMC snap-in: what can be done with the selection, in
//! sections (the mailbox, its post office, the folder). The same list fills the right-click menus
//! and the Action menu, so they cannot drift apart.

use egui::{Button, RichText, Ui};

use super::model::{Command, Confirmation, Node, Snapshot};
use crate::domain::{MailboxAddress, PostOfficeName};

/// What the actions apply to: the selected node and, under a post office, the selected mailbox.
#[derive(Debug, Clone)]
pub struct Target {
    node: Node,
    postoffice: Option<(PostOfficeName, i64)>,
    mailbox: Option<(MailboxAddress, bool)>,
}

impl Target {
    /// The actions of a tree node.
    pub fn for_node(node: &Node, snapshot: &Snapshot) -> Self {
        let postoffice =
            node.postoffice().and_then(|name| snapshot.postoffice(name)).map(|po| (po.name.clone(), po.mailboxes));
        let mut target = Self { node: node.clone(), postoffice, mailbox: None };
        if let Node::Mailbox(address) = node {
            target = target.with_mailbox(address, snapshot);
        }
        target
    }

    /// Adds the mailbox selected in the result pane.
    pub fn with_mailbox(mut self, address: &MailboxAddress, snapshot: &Snapshot) -> Self {
        let locked = snapshot.mailbox_row(address).is_some_and(|row| row.status == "locked");
        self.mailbox = Some((address.clone(), locked));
        self
    }

    /// What Enter does: open the Properties of the mailbox, else of the post office.
    pub fn properties_command(&self) -> Option<Command> {
        if let Some((address, _)) = &self.mailbox {
            return Some(Command::OpenMailboxProperties(address.clone()));
        }
        match &self.node {
            Node::PostOffice(name) => Some(Command::OpenPostOfficeProperties(name.clone())),
            _ => None,
        }
    }

    /// What Delete does: ask to delete the mailbox, else the post office.
    pub fn delete_command(&self) -> Option<Command> {
        if let Some((address, _)) = &self.mailbox {
            return Some(delete_mailbox(address));
        }
        match (&self.node, &self.postoffice) {
            (Node::PostOffice(_), Some((name, mailboxes))) => Some(delete_postoffice(name, *mailboxes)),
            _ => None,
        }
    }
}

/// One action: its unique label, what it does, and whether it applies now.
struct Action {
    label: &'static str,
    command: Command,
    enabled: bool,
}

impl Action {
    fn new(label: &'static str, command: Command) -> Self {
        Self { label, command, enabled: true }
    }
}

/// A titled group of actions.
struct Section {
    title: String,
    actions: Vec<Action>,
}

fn sections(target: &Target) -> Vec<Section> {
    let mut out = Vec::new();
    if let Some((address, locked)) = &target.mailbox {
        out.push(Section {
            title: address.to_string(),
            actions: vec![
                Action::new("Properties", Command::OpenMailboxProperties(address.clone())),
                Action::new("Reset two factor code", reset_code(address)),
                Action::new("Reset country exceptions", reset_countries(address)),
                Action { label: "Unlock", command: Command::Unlock(address.clone()), enabled: *locked },
                Action::new("Login Preview…", Command::OpenLoginPreview(address.clone())),
                Action::new("Delete", delete_mailbox(address)),
            ],
        });
    }
    if let Some((name, mailboxes)) = &target.postoffice {
        out.push(Section {
            title: name.to_string(),
            actions: vec![
                Action::new("New Mailbox…", Command::OpenNewMailbox(Some(name.clone()))),
                Action::new("Post Office Properties", Command::OpenPostOfficeProperties(name.clone())),
                Action::new("Delete Post Office", delete_postoffice(name, *mailboxes)),
            ],
        });
    }
    let folder = match &target.node {
        Node::Root => Some(Section {
            title: "mailmfa".to_owned(),
            actions: vec![
                Action::new("Open Store…", Command::OpenStoreDialog { shared: false }),
                Action::new("Open Shared Store…", Command::OpenStoreDialog { shared: true }),
                Action::new("Export Key…", Command::ExportKey),
            ],
        }),
        Node::PostOffices | Node::PostOffice(_) | Node::Mailbox(_) => Some(Section {
            title: "Post Offices".to_owned(),
            actions: vec![
                Action::new("New Post Office…", Command::OpenNewPostOffice),
                Action::new("Import CSV…", Command::ImportCsv),
            ],
        }),
        Node::Audit => Some(Section {
            title: "Audit Log".to_owned(),
            actions: vec![Action::new("Show All Entries", Command::LoadAudit(None))],
        }),
        Node::Providers | Node::Settings => None,
    };
    out.extend(folder);
    out.push(Section { title: "View".to_owned(), actions: vec![Action::new("Refresh", Command::Refresh)] });
    out
}

/// Asks before resetting a mailbox's two factor code.
pub fn reset_code(address: &MailboxAddress) -> Command {
    Command::Confirm(Confirmation {
        title: "Reset two factor code".to_owned(),
        message: format!(
            "Reset the two factor code of {address}?\n\nIts TOTP secret, replay state and failure counter are cleared. \
             At its next login that needs TOTP it is shown a new QR code and enrols again; the old \
             authenticator entry stops working."
        ),
        confirm_label: "Yes, reset the code".to_owned(),
        command: Box::new(Command::ResetCode(address.clone())),
    })
}

/// Asks before forgetting a mailbox's known countries and IP addresses.
pub fn reset_countries(address: &MailboxAddress) -> Command {
    Command::Confirm(Confirmation {
        title: "Reset country exceptions".to_owned(),
        message: format!(
            "Forget the known countries and IP addresses of {address}?\n\nWith Prompt by Country (or by IP \
             Address) its next login from anywhere is challenged again."
        ),
        confirm_label: "Yes, forget them".to_owned(),
        command: Box::new(Command::ResetCountries(address.clone())),
    })
}

fn delete_mailbox(address: &MailboxAddress) -> Command {
    Command::Confirm(Confirmation {
        title: "Delete mailbox".to_owned(),
        message: format!(
            "Delete {address} from mailmfa?\n\nIts two-factor settings, secret and known addresses are removed \
             (the mail server's mailbox is not touched). Its audit entries stay."
        ),
        confirm_label: "Yes, delete the mailbox".to_owned(),
        command: Box::new(Command::DeleteMailbox(address.clone())),
    })
}

fn delete_postoffice(name: &PostOfficeName, mailboxes: i64) -> Command {
    let what = match mailboxes {
        0 => String::new(),
        1 => " and its mailbox".to_owned(),
        n => format!(" and its {n} mailboxes"),
    };
    Command::Confirm(Confirmation {
        title: "Delete post office".to_owned(),
        message: format!(
            "Delete the post office {name}{what} from mailmfa?\n\nTheir two-factor settings and secrets are \
             removed (the mail server is not touched). Audit entries stay."
        ),
        confirm_label: "Yes, delete the post office".to_owned(),
        command: Box::new(Command::DeletePostOffice(name.clone())),
    })
}

/// Draws the Actions pane.
pub fn pane_ui(ui: &mut Ui, target: &Target, commands: &mut Vec<Command>) {
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
            for action in section.actions {
                let button = Button::new(RichText::new(action.label).color(ui.visuals().hyperlink_color)).frame(false);
                if ui.add_enabled(action.enabled, button).clicked() {
                    commands.push(action.command);
                }
            }
            ui.add_space(8.0);
        }
    });
}

/// Draws the same actions as a menu (right-click and the Action menu).
pub fn menu_ui(ui: &mut Ui, target: &Target, commands: &mut Vec<Command>) {
    let all = sections(target);
    let count = all.len();
    for (i, section) in all.into_iter().enumerate() {
        for action in section.actions {
            if ui.add_enabled(action.enabled, Button::new(action.label)).clicked() {
                commands.push(action.command);
                ui.close();
            }
        }
        if i + 1 < count {
            ui.separator();
        }
    }
}
