//! The catalog of the administrator's commands, the way rerun's `UICommand` works: each
//! [`UiCommand`] carries its label, keyboard shortcut and tooltip once, and resolves against the
//! selection ([`Target`]) into the [`Intent`] it records. The menu bar, the Actions pane and the
//! right-click menus draw their items from here, and the keyboard shortcuts are handled in one
//! place ([`UiCommand::shortcuts`]) from the same table, so none of them can drift apart.

use egui::{Button, Key, KeyboardShortcut, Modifiers, RichText, Ui};

use super::intent::{Confirmation, Intent, MailboxIntent, StoreIntent, Window};
use super::model::{Node, Snapshot};
use crate::domain::{MailboxAddress, PostOfficeName};

/// What the commands apply to: the selected node, its post office and, under a post office, the
/// mailbox selected in the table.
#[derive(Debug, Clone)]
pub struct Target {
    node: Node,
    postoffice: Option<(PostOfficeName, i64)>,
    /// The mailbox, and whether *Unlock* has anything to do.
    mailbox: Option<(MailboxAddress, bool)>,
    has_store: bool,
}

impl Target {
    /// No store is open: only the File and Help commands apply.
    pub fn no_store() -> Self {
        Self { node: Node::Root, postoffice: None, mailbox: None, has_store: false }
    }

    /// The commands of a tree node.
    pub fn for_node(node: &Node, snapshot: &Snapshot) -> Self {
        let postoffice =
            node.postoffice().and_then(|name| snapshot.postoffice(name)).map(|po| (po.name.clone(), po.mailboxes));
        let target = Self { node: node.clone(), postoffice, mailbox: None, has_store: true };
        match node {
            Node::Mailbox(address) => target.with_mailbox(address, snapshot),
            _ => target,
        }
    }

    /// Adds the mailbox selected in the result pane.
    pub fn with_mailbox(mut self, address: &MailboxAddress, snapshot: &Snapshot) -> Self {
        let can_unlock = snapshot.mailbox_row(address).is_some_and(|row| row.can_unlock);
        self.mailbox = Some((address.clone(), can_unlock));
        self
    }

    /// The selected node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The mailbox the commands act on, if any.
    pub fn mailbox(&self) -> Option<&MailboxAddress> {
        self.mailbox.as_ref().map(|(address, _)| address)
    }

    /// The post office the commands act on, if any.
    pub fn postoffice(&self) -> Option<&PostOfficeName> {
        self.postoffice.as_ref().map(|(name, _)| name)
    }

    fn selected_postoffice(&self) -> Option<&(PostOfficeName, i64)> {
        match self.node {
            Node::PostOffice(_) => self.postoffice.as_ref(),
            _ => None,
        }
    }
}

/// A command an administrator can give from the menus, the Actions pane or the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UiCommand {
    /// The Properties of the selected mailbox (else of the selected post office).
    Properties,
    /// Reset the mailbox's two factor code (asks first).
    ResetCode,
    /// Forget the mailbox's known countries and IP addresses (asks first).
    ResetCountries,
    /// Unlock the mailbox.
    Unlock,
    /// Open the mailbox's login preview.
    LoginPreview,
    /// Delete the selected mailbox (else the selected post office; asks first).
    Delete,
    /// New mailbox in the post office.
    NewMailbox,
    /// The post office's Properties.
    PostOfficeProperties,
    /// Delete the post office (asks first).
    DeletePostOffice,
    /// New post office.
    NewPostOffice,
    /// Import post offices and mailboxes from a CSV file.
    ImportCsv,
    /// Open a local store.
    OpenStore,
    /// Open a shared store.
    OpenSharedStore,
    /// Create a store.
    NewStore,
    /// Open a store on a PostgreSQL server.
    OpenDatabaseServer,
    /// Install an exported store key.
    ImportKey,
    /// Export the store key.
    ExportKey,
    /// Reload from the store.
    Refresh,
    /// Show the whole audit log.
    ShowAllAuditEntries,
    /// Close the console.
    Exit,
    /// Help → About.
    About,
}

impl UiCommand {
    /// Every command.
    pub const ALL: [UiCommand; 21] = [
        Self::Properties,
        Self::ResetCode,
        Self::ResetCountries,
        Self::Unlock,
        Self::LoginPreview,
        Self::Delete,
        Self::NewMailbox,
        Self::PostOfficeProperties,
        Self::DeletePostOffice,
        Self::NewPostOffice,
        Self::ImportCsv,
        Self::OpenStore,
        Self::OpenSharedStore,
        Self::NewStore,
        Self::OpenDatabaseServer,
        Self::ImportKey,
        Self::ExportKey,
        Self::Refresh,
        Self::ShowAllAuditEntries,
        Self::Exit,
        Self::About,
    ];

    /// The text of its menu item and button (unique, so tests and screen readers find it).
    pub fn label(self) -> &'static str {
        match self {
            Self::Properties => "Properties",
            Self::ResetCode => "Reset two factor code",
            Self::ResetCountries => "Reset country exceptions",
            Self::Unlock => "Unlock",
            Self::LoginPreview => "Login Preview…",
            Self::Delete => "Delete",
            Self::NewMailbox => "New Mailbox…",
            Self::PostOfficeProperties => "Post Office Properties",
            Self::DeletePostOffice => "Delete Post Office",
            Self::NewPostOffice => "New Post Office…",
            Self::ImportCsv => "Import CSV…",
            Self::OpenStore => "Open Store…",
            Self::OpenSharedStore => "Open Shared Store…",
            Self::NewStore => "New Store…",
            Self::OpenDatabaseServer => "Open Database Server…",
            Self::ImportKey => "Import Key…",
            Self::ExportKey => "Export Key…",
            Self::Refresh => "Refresh",
            Self::ShowAllAuditEntries => "Show All Entries",
            Self::Exit => "Exit",
            Self::About => "About mailmfa",
        }
    }

    /// What it does, in a sentence.
    pub fn tooltip(self) -> &'static str {
        match self {
            Self::Properties => "Open the Properties of the selected mailbox, else of the selected post office",
            Self::ResetCode => "Clear the TOTP secret and failure counter: the next login enrols again",
            Self::ResetCountries => "Forget the known countries and IP addresses: the next login is challenged again",
            Self::Unlock => "Clear the lock and the failure counter",
            Self::LoginPreview => "Try a login of this mailbox from an IP address against the real engine",
            Self::Delete => "Remove the selection from mailmfa (the mail server is not touched)",
            Self::NewMailbox => "Add a mailbox to this post office",
            Self::PostOfficeProperties => "The post office's default challenge mode and self-service switch",
            Self::DeletePostOffice => "Remove the post office and its mailboxes from mailmfa",
            Self::NewPostOffice => "Add a post office (a mail domain)",
            Self::ImportCsv => "Create or update post offices and mailboxes from a CSV file, all or nothing",
            Self::OpenStore => "Open a store file used by this server only",
            Self::OpenSharedStore => "Open a store file that several servers use on a share",
            Self::NewStore => "Create an empty store file",
            Self::OpenDatabaseServer => "Open a store on a PostgreSQL server that several mail servers share",
            Self::ImportKey => "Install the key of this store from a file exported on another server",
            Self::ExportKey => "Write this store's key to a file, for another server sharing the store",
            Self::Refresh => "Reload everything from the store",
            Self::ShowAllAuditEntries => "Show the audit entries of every mailbox and the platform",
            Self::Exit => "Close the console",
            Self::About => "The version of mailmfa",
        }
    }

    /// Its keyboard shortcut, if it has one.
    pub fn shortcut(self) -> Option<KeyboardShortcut> {
        let plain = |key| Some(KeyboardShortcut::new(Modifiers::NONE, key));
        let ctrl = |key| Some(KeyboardShortcut::new(Modifiers::COMMAND, key));
        match self {
            Self::Properties => plain(Key::Enter),
            Self::Delete => plain(Key::Delete),
            Self::Refresh => plain(Key::F5),
            Self::OpenStore => ctrl(Key::O),
            Self::OpenSharedStore => Some(KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::O)),
            Self::ImportCsv => ctrl(Key::I),
            Self::Exit => ctrl(Key::Q),
            _ => None,
        }
    }

    /// The command it records for `target`, or `None` when it does not apply (its item is then
    /// disabled).
    pub fn intent(self, target: &Target) -> Option<Intent> {
        let mailbox = target.mailbox();
        let open = |window| Some(Intent::Open(window));
        match self {
            Self::Properties => match (mailbox, target.selected_postoffice()) {
                (Some(address), _) => open(Window::MailboxProperties(address.clone())),
                (None, Some((name, _))) => open(Window::PostOfficeProperties(name.clone())),
                (None, None) => None,
            },
            Self::ResetCode => mailbox.map(Confirmation::reset_code),
            Self::ResetCountries => mailbox.map(Confirmation::reset_countries),
            Self::Unlock => match &target.mailbox {
                Some((address, true)) => Some(Intent::Mailbox(address.clone(), MailboxIntent::Unlock)),
                _ => None,
            },
            Self::LoginPreview => mailbox.and_then(|address| open(Window::LoginPreview(address.clone()))),
            Self::Delete => match (mailbox, target.selected_postoffice()) {
                (Some(address), _) => Some(Confirmation::delete_mailbox(address)),
                (None, Some((name, mailboxes))) => Some(Confirmation::delete_postoffice(name, *mailboxes)),
                (None, None) => None,
            },
            Self::NewMailbox => {
                target.has_store.then(|| Intent::Open(Window::NewMailbox(target.postoffice().cloned())))
            }
            Self::PostOfficeProperties => {
                target.postoffice().and_then(|name| open(Window::PostOfficeProperties(name.clone())))
            }
            Self::DeletePostOffice => {
                target.postoffice.as_ref().map(|(name, mailboxes)| Confirmation::delete_postoffice(name, *mailboxes))
            }
            Self::NewPostOffice => target.has_store.then_some(Intent::Open(Window::NewPostOffice)),
            Self::ImportCsv => target.has_store.then_some(Intent::Store(StoreIntent::ImportCsv)),
            Self::OpenStore => Some(Intent::Store(StoreIntent::OpenDialog { shared: false })),
            Self::OpenSharedStore => Some(Intent::Store(StoreIntent::OpenDialog { shared: true })),
            Self::NewStore => Some(Intent::Store(StoreIntent::NewDialog)),
            Self::OpenDatabaseServer => Some(Intent::Store(StoreIntent::ServerDialog { url: None })),
            Self::ImportKey => Some(Intent::Store(StoreIntent::ImportKey)),
            Self::ExportKey => target.has_store.then_some(Intent::Store(StoreIntent::ExportKey)),
            Self::Refresh => target.has_store.then_some(Intent::Refresh),
            Self::ShowAllAuditEntries => target.has_store.then_some(Intent::LoadAudit(None)),
            Self::Exit => Some(Intent::Exit),
            Self::About => open(Window::About),
        }
    }

    /// Draws it as a menu item with its shortcut; a click records its command and closes the menu.
    pub fn menu_item(self, ui: &mut Ui, target: &Target, intents: &mut Vec<Intent>) {
        let intent = self.intent(target);
        let mut button = Button::new(self.label());
        if let Some(shortcut) = self.shortcut() {
            button = button.shortcut_text(ui.ctx().format_shortcut(&shortcut));
        }
        let response = ui.add_enabled(intent.is_some(), button).on_hover_text(self.tooltip());
        // The shortcut text is part of the button's text; the accessible name is the label alone.
        let response = response.accessible_name(self.label());
        if response.clicked() {
            intents.extend(intent);
            ui.close();
        }
    }

    /// Draws it as a button; a click records its command.
    pub fn button(self, ui: &mut Ui, target: &Target, intents: &mut Vec<Intent>) {
        let intent = self.intent(target);
        if ui.add_enabled(intent.is_some(), Button::new(self.label())).on_hover_text(self.tooltip()).clicked() {
            intents.extend(intent);
        }
    }

    /// Draws it as a link in the Actions pane; a click records its command.
    pub fn link(self, ui: &mut Ui, target: &Target, intents: &mut Vec<Intent>) {
        let intent = self.intent(target);
        let button = Button::new(RichText::new(self.label()).color(ui.visuals().hyperlink_color)).frame(false);
        let tooltip = match self.shortcut() {
            Some(shortcut) => format!("{} ({})", self.tooltip(), ui.ctx().format_shortcut(&shortcut)),
            None => self.tooltip().to_owned(),
        };
        if ui.add_enabled(intent.is_some(), button).on_hover_text(tooltip).clicked() {
            intents.extend(intent);
        }
    }

    /// Handles the keyboard shortcuts of every command: the commands whose shortcut was pressed,
    /// resolved for `target`. A key is consumed only when its command applies. Shortcuts that act
    /// on the selection (Enter, Delete) are left alone while `typing` (a text field has the
    /// keyboard, or a dialog is in front).
    pub fn shortcuts(ctx: &egui::Context, target: &Target, typing: bool) -> Vec<Intent> {
        let mut bound: Vec<(UiCommand, KeyboardShortcut)> =
            Self::ALL.into_iter().filter_map(|c| Some((c, c.shortcut()?))).collect();
        // egui matches Ctrl+O on Ctrl+Shift+O too: the more specific shortcut goes first.
        bound.sort_by_key(|(_, shortcut)| std::cmp::Reverse(modifier_count(shortcut.modifiers)));
        bound
            .into_iter()
            .filter(|(_, shortcut)| !(typing && acts_on_selection(shortcut)))
            .filter_map(|(ui_command, shortcut)| {
                let pressed = ctx.input(|i| {
                    i.key_pressed(shortcut.logical_key) && i.modifiers.matches_logically(shortcut.modifiers)
                });
                let intent = pressed.then(|| ui_command.intent(target)).flatten()?;
                ctx.input_mut(|i| i.consume_shortcut(&shortcut)).then_some(intent)
            })
            .collect()
    }
}

fn modifier_count(modifiers: Modifiers) -> usize {
    [modifiers.alt, modifiers.ctrl || modifiers.command || modifiers.mac_cmd, modifiers.shift]
        .into_iter()
        .filter(|on| *on)
        .count()
}

/// A shortcut without modifiers on a key that text fields and dialogs use (Enter, Delete), not a
/// function key.
fn acts_on_selection(shortcut: &KeyboardShortcut) -> bool {
    let function_key = matches!(
        shortcut.logical_key,
        Key::F1 | Key::F2 | Key::F3 | Key::F4 | Key::F5 | Key::F6 | Key::F7 | Key::F8 | Key::F9 | Key::F10
    );
    shortcut.conflicts_with_text_editing() && !function_key
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn labels_and_shortcuts_are_unique() {
        let labels: HashSet<_> = UiCommand::ALL.iter().map(|c| c.label()).collect();
        assert_eq!(labels.len(), UiCommand::ALL.len());
        let shortcuts: Vec<_> = UiCommand::ALL.iter().filter_map(|c| c.shortcut()).collect();
        let unique: HashSet<_> = shortcuts.iter().collect();
        assert_eq!(unique.len(), shortcuts.len());
    }

    #[test]
    fn enter_and_delete_wait_for_the_text_field_but_f5_does_not() {
        assert!(acts_on_selection(&KeyboardShortcut::new(Modifiers::NONE, Key::Enter)));
        assert!(acts_on_selection(&KeyboardShortcut::new(Modifiers::NONE, Key::Delete)));
        assert!(!acts_on_selection(&KeyboardShortcut::new(Modifiers::NONE, Key::F5)));
        assert!(!acts_on_selection(&KeyboardShortcut::new(Modifiers::COMMAND, Key::O)));
    }
}
