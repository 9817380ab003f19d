//! [`ConsoleApp`]: the eframe application. It owns the [`Service`] over the open store and the
//! read model; the panes draw from the model and record [`Command`]s, which the app applies after
//! the frame's drawing, refreshing the model only after a change.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, TryRecvError};

use egui::{Context, Id, Key, RichText, Ui, ViewportCommand};

use super::actions::{self, Target};
use super::audit::{AUDIT_LIMIT, AuditPane};
use super::folders;
use super::login_preview::{BeginView, LoginPreview};
use super::mailbox_table::MailboxTable;
use super::model::{Command, Confirmation, Node, RecentStore, Snapshot, TestTarget};
use super::properties::{MailboxProperties, NewDialog, PostOfficeProperties, QR_PREVIEW_SIZE, RevealedQr};
use super::providers::ProvidersPane;
use super::settings::SettingsPane;
use super::store_dialogs::{self, FailedStore};
use super::tree::Tree;
use crate::auth::{Engine, EngineDeps, TestSend, record_test_send};
use crate::crypto::KeyRing;
use crate::domain::{LoginIp, MailboxAddress, PostOfficeName};
use crate::service::{self, Configurer, ImportSummary, Service, ServiceError};
use crate::store::{Store, StoreLocation, StoreMode, default_store_path};

/// The window title.
pub const TITLE: &str = "mailmfa console";

/// What the console remembers between runs (besides window size and pane widths, which eframe
/// keeps).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Persisted {
    recent: Vec<RecentStore>,
    show_actions: bool,
    show_status_bar: bool,
}

impl Default for Persisted {
    fn default() -> Self {
        Self { recent: Vec::new(), show_actions: true, show_status_bar: true }
    }
}

/// The open store and the model drawn from it, or why no store is open.
enum StoreState {
    Open(Box<OpenStore>),
    Failed(FailedStore),
}

struct OpenStore {
    service: Service,
    snapshot: Snapshot,
}

/// Which pane the arrow keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pane {
    Tree,
    Result,
}

/// A line in the status bar: the outcome of the last action.
struct Message {
    text: String,
    error: bool,
}

/// The console.
pub struct ConsoleApp {
    ctx: Context,
    keyring: KeyRing,
    store: StoreState,
    persisted: Persisted,
    selected: Node,
    active: Pane,
    tree: Tree,
    table: MailboxTable,
    providers: ProvidersPane,
    settings: SettingsPane,
    audit: AuditPane,
    mailbox_windows: Vec<MailboxProperties>,
    postoffice_windows: Vec<PostOfficeProperties>,
    new_dialog: Option<NewDialog>,
    confirm: Option<Confirmation>,
    previews: Vec<LoginPreview>,
    about_open: bool,
    message: Option<Message>,
    commands: Vec<Command>,
    import: Option<Receiver<Result<ImportSummary, String>>>,
}

impl ConsoleApp {
    /// The console over an open service (tests, benchmarks, previews): nothing is read from or
    /// written to the user's settings.
    pub fn new(cc: &eframe::CreationContext<'_>, service: Service) -> Self {
        let store = match Snapshot::load(&service) {
            Ok(snapshot) => StoreState::Open(Box::new(OpenStore { service, snapshot })),
            Err(e) => StoreState::Failed(failed_in_memory(&service, &e)),
        };
        Self::with_store(cc.egui_ctx.clone(), KeyRing::default_location(), store, Persisted::default())
    }

    /// The console as `mailmfa` starts it: the store given on the command line, else the last one
    /// opened, else the default local store.
    pub fn start(cc: &eframe::CreationContext<'_>, explicit: Option<StoreLocation>, keyring: KeyRing) -> Self {
        let remembered: Option<Persisted> = cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY));
        if remembered.is_none() {
            cc.egui_ctx.set_theme(egui::Theme::Light);
        }
        let persisted = remembered.unwrap_or_default();
        let location = explicit
            .or_else(|| persisted.recent.first().map(|r| StoreLocation::new(&r.path, r.shared)))
            .unwrap_or_else(|| StoreLocation::new(default_store_path(), false));
        let placeholder = StoreState::Failed(FailedStore {
            location: location.clone(),
            message: "not opened yet".to_owned(),
            key_problem: false,
        });
        let mut app = Self::with_store(cc.egui_ctx.clone(), keyring, placeholder, persisted);
        app.open_location(&location);
        app
    }

    fn with_store(ctx: Context, keyring: KeyRing, store: StoreState, persisted: Persisted) -> Self {
        Self {
            ctx,
            keyring,
            store,
            persisted,
            selected: Node::Root,
            active: Pane::Tree,
            tree: Tree::default(),
            table: MailboxTable::default(),
            providers: ProvidersPane::default(),
            settings: SettingsPane::default(),
            audit: AuditPane::default(),
            mailbox_windows: Vec::new(),
            postoffice_windows: Vec::new(),
            new_dialog: None,
            confirm: None,
            previews: Vec::new(),
            about_open: false,
            message: None,
            commands: Vec::new(),
            import: None,
        }
    }

    /// The open service, if a store is open (tests assert on the store through it).
    pub fn service(&self) -> Option<&Service> {
        match &self.store {
            StoreState::Open(open) => Some(&open.service),
            StoreState::Failed(_) => None,
        }
    }

    /// The selected tree node.
    pub fn selected(&self) -> &Node {
        &self.selected
    }

    /// The mailbox selected in the result pane.
    pub fn selected_mailbox(&self) -> Option<&MailboxAddress> {
        self.table.selected()
    }

    /// How many mailboxes the result pane shows after filtering.
    pub fn shown_mailboxes(&self) -> usize {
        self.table.shown_rows()
    }

    /// The last status-bar message and whether it reports an error.
    pub fn message(&self) -> Option<(&str, bool)> {
        self.message.as_ref().map(|m| (m.text.as_str(), m.error))
    }

    /// The enrolment URI the login preview of `address` shows, if it asked to enrol.
    pub fn preview_enrolment_uri(&self, address: &MailboxAddress) -> Option<&str> {
        self.previews.iter().find(|p| p.address() == address).and_then(LoginPreview::enrolment_uri)
    }

    /// Why the store could not be opened, if it could not.
    pub fn store_error(&self) -> Option<&str> {
        match &self.store {
            StoreState::Failed(f) => Some(&f.message),
            StoreState::Open(_) => None,
        }
    }

    /// Queues a command as if a pane had recorded it.
    pub fn push(&mut self, command: Command) {
        self.commands.push(command);
    }

    fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message { text: text.into(), error: false });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.message = Some(Message { text: text.into(), error: true });
    }

    // --- the frame ---------------------------------------------------------------------------

    /// Loads what the visible panes need and is not loaded yet.
    fn prepare(&mut self) {
        let StoreState::Open(open) = &mut self.store else { return };
        let mut needed: Vec<PostOfficeName> = self.tree.expanded_postoffices().cloned().collect();
        needed.extend(self.selected.postoffice().cloned());
        let mut failure = None;
        for name in needed {
            if let Err(e) = open.snapshot.ensure_rows(&open.service, &name) {
                failure = Some(e.to_string());
            }
        }
        if self.selected == Node::Audit && self.audit.needs_load() {
            match open.service.audit(self.audit.wanted(), AUDIT_LIMIT) {
                Ok(entries) => self.audit.set_entries(entries),
                Err(e) => {
                    self.audit.set_entries(Vec::new());
                    failure = Some(e.to_string());
                }
            }
        }
        if let Some(e) = failure {
            self.error(e);
        }
    }

    /// The actions of the current selection.
    fn target(&self) -> Option<Target> {
        let StoreState::Open(open) = &self.store else { return None };
        let target = Target::for_node(&self.selected, &open.snapshot);
        Some(match (&self.selected, self.table.selected()) {
            (Node::PostOffice(_), Some(address)) => target.with_mailbox(address, &open.snapshot),
            _ => target,
        })
    }

    fn keyboard(&mut self, ctx: &Context) {
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, Key::F5)) {
            self.commands.push(Command::Refresh);
        }
        if ctx.egui_wants_keyboard_input() || self.confirm.is_some() || self.new_dialog.is_some() {
            return;
        }
        let (enter, delete) = ctx.input(|i| (i.key_pressed(Key::Enter), i.key_pressed(Key::Delete)));
        if let Some(target) = (enter || delete).then(|| self.target()).flatten() {
            let command = if enter { target.properties_command() } else { target.delete_command() };
            self.commands.extend(command);
        }
    }

    fn menu_bar(&mut self, ui: &mut Ui) {
        let target = self.target();
        egui::Panel::top("menu-bar").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| {
                ui.menu_button("File", |ui| {
                    let commands = &mut self.commands;
                    for (label, command) in [
                        ("Open Store…", Command::OpenStoreDialog { shared: false }),
                        ("Open Shared Store…", Command::OpenStoreDialog { shared: true }),
                        ("New Store…", Command::NewStoreDialog),
                    ] {
                        if ui.button(label).clicked() {
                            commands.push(command);
                        }
                    }
                    ui.menu_button("Recent Stores", |ui| {
                        store_dialogs::recent_menu_ui(ui, &self.persisted.recent, commands);
                    });
                    ui.separator();
                    for (label, command) in [
                        ("Import CSV…", Command::ImportCsv),
                        ("Import Key…", Command::ImportKey),
                        ("Export Key…", Command::ExportKey),
                    ] {
                        if ui.button(label).clicked() {
                            commands.push(command);
                        }
                    }
                    ui.separator();
                    if ui.button("Exit").clicked() {
                        commands.push(Command::Exit);
                    }
                });
                ui.menu_button("Action", |ui| match &target {
                    Some(target) => actions::menu_ui(ui, target, &mut self.commands),
                    None => {
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
                    if ui.button("Refresh (F5)").clicked() {
                        self.commands.push(Command::Refresh);
                    }
                });
                ui.menu_button("Help", |ui| {
                    if ui.button("About mailmfa").clicked() {
                        self.commands.push(Command::ShowAbout);
                    }
                });
            });
        });
    }

    fn status_bar(&self, ui: &mut Ui) {
        if !self.persisted.show_status_bar {
            return;
        }
        egui::Panel::bottom("status-bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                match &self.store {
                    StoreState::Open(open) => {
                        let (path, mode) = store_description(&open.service);
                        ui.label(format!("Store: {path}"));
                        ui.separator();
                        ui.label(mode);
                        ui.separator();
                        ui.label(format!("{} post offices", open.snapshot.postoffices.len()));
                        ui.separator();
                        ui.label(format!("{} mailboxes", open.snapshot.mailbox_count));
                    }
                    StoreState::Failed(failed) => {
                        ui.label(format!("Store: {} — not open", failed.location.path().display()));
                    }
                }
                if let Some(message) = &self.message {
                    ui.separator();
                    let color = if message.error { ui.visuals().error_fg_color } else { ui.visuals().text_color() };
                    ui.label(RichText::new(&message.text).color(color));
                }
            });
        });
    }

    fn panes(&mut self, ui: &mut Ui) {
        let StoreState::Open(open) = &self.store else {
            if let StoreState::Failed(failed) = &self.store {
                egui::CentralPanel::default().show(ui, |ui| store_dialogs::failure_ui(ui, failed, &mut self.commands));
            }
            return;
        };
        let snapshot = &open.snapshot;
        let (path, mode) = store_description(&open.service);
        let root_label = format!("mailmfa ({})", short_name(&path));
        let pressed_at = ui.input(|i| if i.pointer.any_pressed() { i.pointer.interact_pos() } else { None });

        let tree = egui::Panel::left("console-tree")
            .resizable(true)
            .default_size(250.0)
            .size_range(160.0..=600.0)
            .show(ui, |ui| {
                let active = self.active == Pane::Tree;
                self.tree.ui(ui, snapshot, &root_label, &self.selected, active, &mut self.commands);
            });
        if pressed_at.is_some_and(|p| tree.response.rect.contains(p)) {
            self.active = Pane::Tree;
        }

        if self.persisted.show_actions {
            let mut target = Target::for_node(&self.selected, snapshot);
            if let (Node::PostOffice(_), Some(address)) = (&self.selected, self.table.selected()) {
                target = target.with_mailbox(address, snapshot);
            }
            egui::Panel::right("actions-pane")
                .resizable(true)
                .default_size(210.0)
                .size_range(150.0..=400.0)
                .show(ui, |ui| actions::pane_ui(ui, &target, &mut self.commands));
        }

        let central = egui::CentralPanel::default().show(ui, |ui| match &self.selected {
            Node::Root => folders::root_ui(ui, snapshot, &path, mode, &mut self.commands),
            Node::PostOffices => folders::postoffices_ui(ui, snapshot, &mut self.commands),
            Node::PostOffice(name) => {
                let active = self.active == Pane::Result;
                self.table.ui(ui, name, snapshot, active, &mut self.commands);
            }
            Node::Mailbox(address) => {
                let active = self.active == Pane::Result;
                self.table.ui(ui, &address.postoffice, snapshot, active, &mut self.commands);
            }
            Node::Providers => self.providers.ui(ui, snapshot, &mut self.commands),
            Node::Settings => self.settings.ui(ui, snapshot, &mut self.commands),
            Node::Audit => self.audit.ui(ui, &mut self.commands),
        });
        if pressed_at.is_some_and(|p| central.response.rect.contains(p)) {
            self.active = Pane::Result;
        }
    }

    fn windows(&mut self, ctx: &Context) {
        if let StoreState::Open(open) = &self.store {
            let offered = open.snapshot.offered_providers();
            let now = open.service.now();
            for window in &mut self.mailbox_windows {
                window.show(ctx, &offered, now, &mut self.commands);
            }
            for window in &mut self.postoffice_windows {
                window.show(ctx, &mut self.commands);
            }
            if let Some(dialog) = &mut self.new_dialog {
                if !dialog.show(ctx, &open.snapshot, &mut self.commands) {
                    self.new_dialog = None;
                }
            }
        }
        for preview in &mut self.previews {
            preview.show(ctx, &mut self.commands);
        }
        self.previews.retain(LoginPreview::is_open);
        self.mailbox_windows.retain(MailboxProperties::is_open);
        self.postoffice_windows.retain(PostOfficeProperties::is_open);

        if self.about_open {
            egui::Window::new("About mailmfa").collapsible(false).resizable(false).open(&mut self.about_open).show(
                ctx,
                |ui| {
                    ui.heading(format!("mailmfa {}", env!("CARGO_PKG_VERSION")));
                    ui.label("Multi-factor authentication for the mailboxes of a mail server.");
                    ui.label("The same store is administered by `mailmfa` on the command line; run `mailmfa --help`.");
                },
            );
        }

        if let Some(confirmation) = &self.confirm {
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
            if let Some(yes) = answer {
                if let Some(confirmation) = self.confirm.take().filter(|_| yes) {
                    self.commands.push(*confirmation.command);
                }
            }
        }
    }

    // --- applying commands --------------------------------------------------------------------

    fn apply_commands(&mut self) {
        let commands = std::mem::take(&mut self.commands);
        if !commands.is_empty() {
            // The frame just drawn shows the state before the commands: draw another.
            self.ctx.request_repaint();
        }
        for command in commands {
            self.apply(command);
        }
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Select(node) => self.select(node),
            Command::Refresh => {
                self.changed(None);
                self.reload_windows();
                self.info("Refreshed from the store.");
            }
            Command::OpenMailboxProperties(address) => self.open_mailbox_properties(address),
            Command::OpenPostOfficeProperties(name) => {
                if !self.postoffice_windows.iter().any(|w| w.name() == &name) {
                    if let Some(record) = self.snapshot().and_then(|s| s.postoffice(&name)) {
                        let window = PostOfficeProperties::new(record);
                        self.postoffice_windows.push(window);
                    }
                }
            }
            Command::OpenNewPostOffice => {
                self.new_dialog = Some(NewDialog::PostOffice { name: String::new(), error: None });
            }
            Command::OpenNewMailbox(postoffice) => {
                self.new_dialog = Some(NewDialog::Mailbox { postoffice, name: String::new(), error: None });
            }
            Command::OpenLoginPreview(address) => self.open_login_preview(address),
            Command::PreviewBegin { address, ip } => self.preview_begin(&address, ip),
            Command::PreviewVerify { address, ip, code } => self.preview_verify(&address, ip, &code),
            Command::Confirm(confirmation) => self.confirm = Some(confirmation),
            Command::AddPostOffice(name) => {
                let Some(service) = self.service() else { return };
                match service.add_postoffice(&name) {
                    Ok(()) => {
                        self.new_dialog = None;
                        self.changed(None);
                        self.info(format!("Created the post office {name}."));
                        self.select(Node::PostOffice(name));
                    }
                    Err(e) => self.dialog_error(e),
                }
            }
            Command::AddMailbox(address) => {
                let Some(service) = self.service() else { return };
                match service.add_mailbox(&address) {
                    Ok(()) => {
                        self.new_dialog = None;
                        self.changed(Some(&address.postoffice));
                        self.info(format!("Created the mailbox {address}."));
                        self.select(Node::Mailbox(address));
                    }
                    Err(e) => self.dialog_error(e),
                }
            }
            Command::SaveMailbox { address, changes, close } => {
                let Some(service) = self.service() else { return };
                let result = service.set_mailbox(&address, &changes, Configurer::Administrator);
                let fresh = result.as_ref().ok().and_then(|()| service.mailbox(&address).ok());
                match result {
                    Ok(()) => {
                        for window in self.mailbox_windows.iter_mut().filter(|w| w.address() == &address) {
                            window.set_save_error(None);
                            if close {
                                window.close();
                            } else if let Some(details) = fresh.clone() {
                                window.set_details(details, false);
                            }
                        }
                        self.changed(Some(&address.postoffice));
                        self.info(format!("Saved the Two Factor settings of {address}."));
                    }
                    Err(e) => {
                        for window in self.mailbox_windows.iter_mut().filter(|w| w.address() == &address) {
                            window.set_save_error(Some(format!("Not saved: {e}")));
                        }
                        self.audit.invalidate();
                    }
                }
            }
            Command::SavePostOffice { name, challenge, users_may_configure, close } => {
                let Some(service) = self.service() else { return };
                match service.set_postoffice(&name, Some(challenge), Some(users_may_configure)) {
                    Ok(()) => {
                        for window in self.postoffice_windows.iter_mut().filter(|w| w.name() == &name) {
                            window.set_save_error(None);
                            if close {
                                window.close();
                            }
                        }
                        self.changed(Some(&name));
                        self.reload_windows();
                        self.info(format!("Saved the properties of {name}."));
                    }
                    Err(e) => {
                        for window in self.postoffice_windows.iter_mut().filter(|w| w.name() == &name) {
                            window.set_save_error(Some(format!("Not saved: {e}")));
                        }
                    }
                }
            }
            Command::ResetCode(address) => {
                let result = self.service().map(|s| s.reset_two_factor_code(&address));
                self.mailbox_done(&address, result, "Reset the two factor code of", true);
                for window in self.mailbox_windows.iter_mut().filter(|w| w.address() == &address) {
                    window.forget_qr();
                }
            }
            Command::ResetCountries(address) => {
                let result = self.service().map(|s| s.reset_country_exceptions(&address).map(drop));
                self.mailbox_done(&address, result, "Forgot the known countries and IP addresses of", true);
            }
            Command::Unlock(address) => {
                let result = self.service().map(|s| s.unlock(&address));
                self.mailbox_done(&address, result, "Unlocked", true);
            }
            Command::DeleteMailbox(address) => {
                let result = self.service().map(|s| s.remove_mailbox(&address));
                if matches!(result, Some(Ok(()))) {
                    self.mailbox_windows.retain(|w| w.address() != &address);
                    self.previews.retain(|p| p.address() != &address);
                    if self.selected == Node::Mailbox(address.clone()) {
                        self.selected = Node::PostOffice(address.postoffice.clone());
                    }
                    if self.table.selected() == Some(&address) {
                        self.table.select(None);
                    }
                }
                self.mailbox_done(&address, result, "Deleted", false);
            }
            Command::DeletePostOffice(name) => {
                let Some(service) = self.service() else { return };
                match service.remove_postoffice(&name, true) {
                    Ok(removed) => {
                        self.mailbox_windows.retain(|w| w.address().postoffice != name);
                        self.previews.retain(|p| p.address().postoffice != name);
                        self.postoffice_windows.retain(|w| w.name() != &name);
                        if self.selected.postoffice() == Some(&name) {
                            self.selected = Node::PostOffices;
                        }
                        self.changed(None);
                        self.info(format!("Deleted the post office {name} and {removed} mailboxes."));
                    }
                    Err(e) => self.error(e.to_string()),
                }
            }
            Command::RevealQr(address) => self.reveal_qr(&address),
            Command::SaveQrPng(address) => self.save_qr_png(&address),
            Command::SetProvider { provider, enabled, admin_configurable, user_configurable } => {
                let Some(service) = self.service() else { return };
                match service.set_provider(provider, enabled, admin_configurable, user_configurable) {
                    Ok(s) => {
                        self.changed(None);
                        self.info(format!(
                            "{}: enabled {}, administrators may configure {}, users may configure {}.",
                            provider.label(),
                            yes_no(s.enabled),
                            yes_no(s.admin_configurable),
                            yes_no(s.user_configurable)
                        ));
                    }
                    Err(e) => self.error(e.to_string()),
                }
            }
            Command::SaveSettings(values) => self.save_settings(&values),
            Command::SendTest(target) => self.send_test(target),
            Command::TestFinished { target, result } => {
                if let Some(service) = self.service() {
                    let (provider, destination) = target.provider_and_destination();
                    let failure = result.as_ref().err().map(String::as_str);
                    let recorded = record_test_send(
                        service.store(),
                        service.actor(),
                        service.now(),
                        provider,
                        destination,
                        failure,
                    );
                    if let Err(e) = recorded {
                        self.error(e.to_string());
                        return;
                    }
                }
                self.audit.invalidate();
                match result {
                    Ok(()) => self.info(format!("Sent the {}.", target.describe())),
                    Err(e) => self.error(format!("The {} failed: {e}", target.describe())),
                }
            }
            Command::BrowseGeoip => {
                if let Some(path) = store_dialogs::pick_file("GeoIP Database", ("MaxMind database", &["mmdb"])) {
                    self.settings.set_geoip_path(path.display().to_string());
                }
            }
            Command::LoadAudit(mailbox) => self.audit.request(mailbox),
            Command::OpenStoreDialog { shared } => {
                if let Some(location) = store_dialogs::pick_existing(shared, self.location().as_ref().map(|l| l.path()))
                {
                    self.open_location(&location);
                }
            }
            Command::NewStoreDialog => {
                if let Some(path) = store_dialogs::pick_new(self.location().as_ref().map(|l| l.path())) {
                    if path.exists() {
                        self.error(format!("{} already exists; open it with File > Open Store…", path.display()));
                    } else {
                        self.open_location(&StoreLocation::new(path, false));
                    }
                }
            }
            Command::OpenRecent(recent) => self.open_location(&StoreLocation::new(recent.path, recent.shared)),
            Command::OpenDefaultStore => self.open_location(&StoreLocation::new(default_store_path(), false)),
            Command::RetryStore => {
                if let Some(location) = self.location() {
                    self.open_location(&location);
                }
            }
            Command::ImportKey => self.import_key(),
            Command::ExportKey => self.export_key(),
            Command::ImportCsv => self.import_csv(),
            Command::ShowAbout => self.about_open = true,
            Command::Exit => self.ctx.send_viewport_cmd(ViewportCommand::Close),
        }
    }

    fn snapshot(&self) -> Option<&Snapshot> {
        match &self.store {
            StoreState::Open(open) => Some(&open.snapshot),
            StoreState::Failed(_) => None,
        }
    }

    fn location(&self) -> Option<StoreLocation> {
        match &self.store {
            StoreState::Open(open) => open.service.store().location().cloned(),
            StoreState::Failed(failed) => Some(failed.location.clone()),
        }
    }

    fn select(&mut self, node: Node) {
        if let Node::Mailbox(address) = &node {
            self.table.select(Some(address.clone()));
        }
        self.tree.reveal(&node);
        self.selected = node;
    }

    /// Reloads the model after a change (of one post office's mailboxes, or of anything).
    fn changed(&mut self, postoffice: Option<&PostOfficeName>) {
        self.audit.invalidate();
        let StoreState::Open(open) = &mut self.store else { return };
        if let Err(e) = open.snapshot.reload_after(&open.service, postoffice) {
            self.error(format!("Could not reload from the store: {e}"));
            return;
        }
        self.tree.retain_existing(&open.snapshot);
    }

    /// Gives every open Properties window the stored values, keeping what is being edited.
    fn reload_windows(&mut self) {
        let StoreState::Open(open) = &self.store else { return };
        let service = &open.service;
        for window in &mut self.mailbox_windows {
            match service.mailbox(window.address()) {
                Ok(details) => window.set_details(details, true),
                Err(_) => window.close(),
            }
        }
    }

    fn mailbox_done(
        &mut self,
        address: &MailboxAddress,
        result: Option<Result<(), ServiceError>>,
        done: &str,
        reload: bool,
    ) {
        match result {
            Some(Ok(())) => {
                self.changed(Some(&address.postoffice));
                if reload {
                    self.reload_windows();
                }
                self.info(format!("{done} {address}."));
            }
            Some(Err(e)) => {
                self.audit.invalidate();
                self.error(e.to_string());
            }
            None => {}
        }
    }

    fn dialog_error(&mut self, error: ServiceError) {
        self.audit.invalidate();
        match &mut self.new_dialog {
            Some(dialog) => dialog.set_error(error.to_string()),
            None => self.error(error.to_string()),
        }
    }

    fn open_mailbox_properties(&mut self, address: MailboxAddress) {
        if self.mailbox_windows.iter().any(|w| w.address() == &address) {
            self.ctx.move_to_top(egui::LayerId::new(
                egui::Order::Middle,
                Id::unique(("mailbox-properties", address.to_string())),
            ));
            return;
        }
        let Some(service) = self.service() else { return };
        match service.mailbox(&address) {
            Ok(details) => self.mailbox_windows.push(MailboxProperties::new(details)),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn open_login_preview(&mut self, address: MailboxAddress) {
        if !self.previews.iter().any(|p| p.address() == &address) {
            self.previews.push(LoginPreview::new(address));
        }
    }

    /// The engine's outside world from the settings, on the service's clock (so a preview follows
    /// the same time as the rest of the console).
    fn engine_deps(service: &Service) -> Result<EngineDeps, String> {
        let mut deps = EngineDeps::from_settings(service.store()).map_err(|e| e.to_string())?;
        deps.clock = Arc::clone(service.clock());
        Ok(deps)
    }

    fn preview_begin(&mut self, address: &MailboxAddress, ip: LoginIp) {
        let Some(service) = self.service() else { return };
        let answer = Self::engine_deps(service)
            .and_then(|deps| Engine::new(service.store(), deps).begin(address, ip).map_err(|e| e.to_string()));
        let result = answer.and_then(|answer| {
            let qr = match &answer {
                crate::auth::BeginAnswer::Enroll { otpauth_uri, .. } => Some(self.qr_texture(address, otpauth_uri)?),
                _ => None,
            };
            Ok(BeginView { ip, answer, qr })
        });
        for preview in self.previews.iter_mut().filter(|p| p.address() == address) {
            preview.set_begin(result.clone());
        }
        self.changed(Some(&address.postoffice));
        self.reload_windows();
    }

    fn preview_verify(&mut self, address: &MailboxAddress, ip: LoginIp, code: &str) {
        let Some(service) = self.service() else { return };
        let result = Self::engine_deps(service)
            .and_then(|deps| Engine::new(service.store(), deps).verify(address, ip, code).map_err(|e| e.to_string()));
        for preview in self.previews.iter_mut().filter(|p| p.address() == address) {
            preview.set_verify(result.clone());
        }
        self.changed(Some(&address.postoffice));
        self.reload_windows();
    }

    fn qr_texture(&self, address: &MailboxAddress, uri: &str) -> Result<egui::TextureHandle, String> {
        let image = crate::qr::render(uri, QR_PREVIEW_SIZE as u32)?;
        let size = [image.width() as usize, image.height() as usize];
        let pixels = egui::ColorImage::from_gray(size, image.as_raw());
        Ok(self.ctx.load_texture(format!("qr-{address}"), pixels, egui::TextureOptions::NEAREST))
    }

    fn reveal_qr(&mut self, address: &MailboxAddress) {
        let Some(service) = self.service() else { return };
        let revealed = service.enrolment_uri(address).map_err(|e| e.to_string()).and_then(|(uri, state)| {
            let texture = self.qr_texture(address, &uri)?;
            Ok(RevealedQr { uri, state, texture })
        });
        self.audit.invalidate();
        for window in self.mailbox_windows.iter_mut().filter(|w| w.address() == address) {
            window.set_qr(match &revealed {
                Ok(qr) => Ok(RevealedQr { uri: qr.uri.clone(), state: qr.state, texture: qr.texture.clone() }),
                Err(e) => Err(e.clone()),
            });
        }
    }

    fn save_qr_png(&mut self, address: &MailboxAddress) {
        let Some(uri) = self.mailbox_windows.iter().find(|w| w.address() == address).and_then(|w| w.qr_uri()) else {
            return;
        };
        let uri = zeroize::Zeroizing::new(uri.to_owned());
        let file_name = format!("{address}.png");
        if let Some(path) = store_dialogs::pick_save("Save QR Code", &file_name, ("PNG image", &["png"])) {
            match crate::qr::write_png(&uri, &path) {
                Ok(()) => self.info(format!("Saved the QR code of {address} to {}.", path.display())),
                Err(e) => self.error(e),
            }
        }
    }

    fn save_settings(&mut self, values: &[(&'static str, String)]) {
        let Some(service) = self.service() else { return };
        let mut saved = Vec::new();
        let mut failure = None;
        for (key, value) in values {
            match service.set_setting(key, value) {
                Ok(()) => saved.push(*key),
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
        self.changed(None);
        if let StoreState::Open(open) = &self.store {
            self.settings.refresh(&open.snapshot, &saved);
            self.providers.refresh(&open.snapshot, &saved);
        }
        match failure {
            Some(e) => self.error(format!("Not saved: {e}")),
            None => self.info(format!("Saved {}.", saved.join(", "))),
        }
    }

    fn send_test(&mut self, target: TestTarget) {
        let Some(service) = self.service() else { return };
        let (provider, destination) = target.provider_and_destination();
        match TestSend::prepare(service.store(), provider, destination) {
            Ok(test) => {
                let (sender, receiver) = mpsc::channel();
                let ctx = self.ctx.clone();
                std::thread::spawn(move || {
                    if sender.send(test.send().map_err(|e| e.to_string())).is_ok() {
                        ctx.request_repaint();
                    }
                });
                self.providers.start_test(target, receiver);
            }
            Err(e) => self.providers.test_failed(target, e.to_string()),
        }
    }

    fn import_key(&mut self) {
        let Some(location) = self.location() else {
            self.error("Import Key… needs a store file; this store is in memory.");
            return;
        };
        let Some(file) = store_dialogs::pick_file("Import Store Key", ("mailmfa key", &["key", "txt"])) else { return };
        match service::import_key(&location, &self.keyring, &file) {
            Ok(saved) => {
                self.open_location(&location);
                self.info(format!("Installed the store key at {}.", saved.display()));
            }
            Err(e) => self.error(format!("The key was not imported: {e}")),
        }
    }

    fn export_key(&mut self) {
        let Some(service) = self.service() else { return };
        let Some(path) = store_dialogs::pick_save("Export Store Key", "mailmfa-store.key", ("mailmfa key", &["key"]))
        else {
            return;
        };
        match service.export_key(&path) {
            Ok(()) => self.info(format!(
                "Wrote the store key to {}. Import it on the other server, then delete the file.",
                path.display()
            )),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn import_csv(&mut self) {
        if self.import.is_some() {
            self.error("An import is already running.");
            return;
        }
        let Some(location) = self.service().and_then(|s| s.store().location().cloned()) else {
            self.error("Import CSV… needs a store file; use `mailmfa import` for this store.");
            return;
        };
        let Some(file) = store_dialogs::pick_file("Import CSV", ("CSV file", &["csv"])) else { return };
        let keyring = self.keyring.clone();
        let (sender, receiver) = mpsc::channel();
        let ctx = self.ctx.clone();
        std::thread::spawn(move || {
            let result = (|| -> Result<ImportSummary, String> {
                let input = std::fs::File::open(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                let service = Service::new(Store::open(&location, &keyring).map_err(|e| e.to_string())?);
                service.import_csv(input).map_err(|e| e.to_string())
            })();
            if sender.send(result).is_ok() {
                ctx.request_repaint();
            }
        });
        self.import = Some(receiver);
        self.info("Importing…");
    }

    fn poll_background(&mut self) {
        self.providers.poll(&mut self.commands);
        let Some(receiver) = &self.import else { return };
        let result = match receiver.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => Err("the import stopped without an answer".to_owned()),
        };
        self.import = None;
        self.changed(None);
        match result {
            Ok(s) => self.info(format!(
                "Imported {} rows: {} post offices and {} mailboxes created, {} mailboxes updated.",
                s.rows, s.postoffices_created, s.mailboxes_created, s.mailboxes_updated
            )),
            Err(e) => self.error(format!("Import failed: {e}")),
        }
    }

    /// Opens the store at `location`, or shows why it cannot be opened.
    fn open_location(&mut self, location: &StoreLocation) {
        self.mailbox_windows.clear();
        self.postoffice_windows.clear();
        self.previews.clear();
        self.new_dialog = None;
        self.confirm = None;
        self.selected = Node::Root;
        self.table = MailboxTable::default();
        self.tree = Tree::default();
        self.providers = ProvidersPane::default();
        self.settings = SettingsPane::default();
        self.audit = AuditPane::default();
        self.store = match store_dialogs::open(location, &self.keyring) {
            Ok(service) => match Snapshot::load(&service) {
                Ok(snapshot) => {
                    store_dialogs::remember(&mut self.persisted.recent, location);
                    self.info(format!("Opened {}.", location.path().display()));
                    StoreState::Open(Box::new(OpenStore { service, snapshot }))
                }
                Err(e) => StoreState::Failed(FailedStore {
                    location: location.clone(),
                    message: e.to_string(),
                    key_problem: false,
                }),
            },
            Err(failed) => {
                self.error("The store could not be opened.");
                StoreState::Failed(failed)
            }
        };
        let title = match &self.store {
            StoreState::Open(_) => format!("{TITLE} — {}", location.path().display()),
            StoreState::Failed(_) => TITLE.to_owned(),
        };
        self.ctx.send_viewport_cmd(ViewportCommand::Title(title));
    }
}

impl eframe::App for ConsoleApp {
    fn logic(&mut self, _ctx: &Context, _frame: &mut eframe::Frame) {
        self.poll_background();
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.prepare();
        self.keyboard(&ctx);
        self.menu_bar(ui);
        self.status_bar(ui);
        self.panes(ui);
        self.windows(&ctx);
        self.apply_commands();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.persisted);
    }
}

fn failed_in_memory(service: &Service, error: &ServiceError) -> FailedStore {
    FailedStore {
        location: service.store().location().cloned().unwrap_or_else(|| StoreLocation::new("(in memory)", false)),
        message: error.to_string(),
        key_problem: false,
    }
}

/// The store's path and mode as the status bar shows them.
fn store_description(service: &Service) -> (String, &'static str) {
    match service.store().location() {
        Some(location) => (
            crate::store::display_path(location.path()).display().to_string(),
            match location.mode() {
                StoreMode::Local => "local",
                StoreMode::Shared => "shared",
            },
        ),
        None => ("(in memory)".to_owned(), "memory"),
    }
}

/// The file name of a store path, for the root of the tree.
fn short_name(path: &str) -> String {
    std::path::Path::new(path).file_name().map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// The window icon, from `assets/mailmfa.png`.
pub fn icon() -> Option<Arc<egui::IconData>> {
    let image =
        image::load_from_memory_with_format(include_bytes!("../../assets/mailmfa.png"), image::ImageFormat::Png)
            .ok()?
            .into_rgba8();
    let (width, height) = image.dimensions();
    Some(Arc::new(egui::IconData { rgba: image.into_raw(), width, height }))
}
