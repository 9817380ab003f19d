//! [`ConsoleApp`]: the eframe application — its state and the frame loop. It owns the [`Service`]
//! over the open store and the read model; the panes and windows draw from the model and record
//! [`Intent`]s, which the app applies after the frame's drawing ([`super::apply`]), refreshing
//! the model only after a change. The menus, status bar, confirmation and About live in
//! [`super::chrome`], slow work in [`super::jobs`].

use std::sync::{Arc, mpsc};

use egui::{Context, Id, Key, LayerId, Modifiers, Order, Ui, ViewportCommand};

use super::actions;
use super::admins::AdminsPane;
use super::audit::{AUDIT_LIMIT, AuditPane};
use super::clients::ClientsPane;
use super::folders;
use super::intent::{Confirmation, Intent};
use super::jobs::Jobs;
use super::login_preview::LoginPreview;
use super::mailbox_properties::MailboxProperties;
use super::mailbox_table::MailboxTable;
use super::model::{Node, RecentStore, Snapshot};
use super::new_dialog::NewDialog;
use super::postoffice_properties::PostOfficeProperties;
use super::providers::ProvidersPane;
use super::reports::ReportsPane;
use super::server_dialog::ServerDialog;
use super::settings::SettingsPane;
use super::store_dialogs::{self, FailedStore};
use super::tree::Tree;
use super::ui_command::{Target, UiCommand};
use crate::domain::{Actor, CoverageReport, MailboxAddress, PostOfficeName};
use crate::service::{KeyFolder, Service, ServiceError, StoreLocation, default_store_path, display_path, os_user};

/// The window title.
pub const TITLE: &str = "mailmfa console";

/// What the console remembers between runs (besides window size and pane widths, which eframe
/// keeps).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Persisted {
    pub(super) recent: Vec<RecentStore>,
    pub(super) show_actions: bool,
    pub(super) show_status_bar: bool,
}

impl Default for Persisted {
    fn default() -> Self {
        Self { recent: Vec::new(), show_actions: true, show_status_bar: true }
    }
}

/// The open store and the model drawn from it, or why no store is open.
pub(super) enum StoreState {
    Open(Box<OpenStore>),
    Failed(FailedStore),
}

pub(super) struct OpenStore {
    pub(super) service: Service,
    pub(super) snapshot: Snapshot,
}

/// Which pane the arrow keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pane {
    Tree,
    Result,
}

/// A line in the status bar: the outcome of the last action, as shown.
pub(super) struct Message {
    pub(super) text: String,
    pub(super) error: bool,
}

/// The console.
pub struct ConsoleApp {
    pub(super) ctx: Context,
    pub(super) keys: KeyFolder,
    pub(super) store: StoreState,
    pub(super) persisted: Persisted,
    pub(super) selected: Node,
    pub(super) active: Pane,
    pub(super) tree: Tree,
    pub(super) table: MailboxTable,
    pub(super) providers: ProvidersPane,
    pub(super) settings: SettingsPane,
    pub(super) audit: AuditPane,
    pub(super) clients: ClientsPane,
    pub(super) admins: AdminsPane,
    pub(super) reports: ReportsPane,
    pub(super) mailbox_windows: Vec<MailboxProperties>,
    pub(super) postoffice_windows: Vec<PostOfficeProperties>,
    pub(super) new_dialog: Option<NewDialog>,
    pub(super) server_dialog: Option<ServerDialog>,
    pub(super) opening: Option<Opening>,
    pub(super) confirm: Option<Confirmation>,
    pub(super) previews: Vec<LoginPreview>,
    pub(super) about_open: bool,
    pub(super) message: Option<Message>,
    pub(super) intents: Vec<Intent>,
    pub(super) jobs: Jobs,
    /// A text field had the keyboard at the end of the last frame: the next Esc only leaves it.
    pub(super) typing: bool,
}

impl ConsoleApp {
    /// The console over an open service (tests, benchmarks, previews), acting as the console's
    /// user: nothing is read from or written to the user's settings.
    pub fn new(cc: &eframe::CreationContext<'_>, service: Service) -> Self {
        let store = load(service.with_actor(console_actor()), None);
        Self::with_store(cc.egui_ctx.clone(), KeyFolder::default_location(), store, Persisted::default())
    }

    /// The console as `mailmfa` starts it: the store given on the command line, else the last one
    /// opened, else the default local store, with the store keys in `keys`.
    pub fn start(cc: &eframe::CreationContext<'_>, explicit: Option<StoreLocation>, keys: KeyFolder) -> Self {
        let remembered: Option<Persisted> = cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY));
        if remembered.is_none() {
            cc.egui_ctx.set_theme(egui::Theme::Light);
        }
        let persisted = remembered.unwrap_or_default();
        let location = explicit
            .or_else(|| persisted.recent.first().map(RecentStore::location))
            .unwrap_or_else(|| StoreLocation::new(default_store_path(), false));
        let store = open_store(&location, &keys);
        let mut app = Self::with_store(cc.egui_ctx.clone(), keys, store, persisted);
        app.opened(&location);
        app
    }

    fn with_store(ctx: Context, keys: KeyFolder, store: StoreState, persisted: Persisted) -> Self {
        Self {
            jobs: Jobs::new(ctx.clone()),
            ctx,
            keys,
            store,
            persisted,
            selected: Node::Root,
            active: Pane::Tree,
            tree: Tree::default(),
            table: MailboxTable::default(),
            providers: ProvidersPane::default(),
            settings: SettingsPane::default(),
            audit: AuditPane::default(),
            clients: ClientsPane::default(),
            admins: AdminsPane::default(),
            reports: ReportsPane::default(),
            mailbox_windows: Vec::new(),
            postoffice_windows: Vec::new(),
            new_dialog: None,
            server_dialog: None,
            opening: None,
            confirm: None,
            previews: Vec::new(),
            about_open: false,
            message: None,
            intents: Vec::new(),
            typing: false,
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

    /// Whether the login preview of `address` is sending a code in the background.
    pub fn preview_is_sending(&self, address: &MailboxAddress) -> bool {
        self.previews.iter().any(|p| p.address() == address && p.is_sending())
    }

    /// The key of the API client just created, while the API Clients pane shows it.
    pub fn shown_client_key(&self) -> Option<&str> {
        self.clients.shown_key()
    }

    /// The set-up link the Administrators pane shows, just after an administrator was added.
    pub fn shown_admin_link(&self) -> Option<&str> {
        self.admins.shown_link()
    }

    /// How many API clients the API Clients pane lists.
    pub fn listed_clients(&self) -> usize {
        self.clients.count()
    }

    /// The access pass the Properties window of `address` shows, just after it was issued.
    pub fn shown_access_pass(&self, address: &MailboxAddress) -> Option<String> {
        self.mailbox_windows.iter().find(|w| w.address() == address).and_then(MailboxProperties::issued_pass)
    }

    /// The recovery codes the Properties window of `address` shows, just after they were issued.
    pub fn shown_recovery_codes(&self, address: &MailboxAddress) -> Option<Vec<String>> {
        self.mailbox_windows.iter().find(|w| w.address() == address).and_then(MailboxProperties::issued_codes)
    }

    /// The app password the Properties window of `address` shows, just after it was made.
    pub fn shown_app_password(&self, address: &MailboxAddress) -> Option<String> {
        self.mailbox_windows.iter().find(|w| w.address() == address).and_then(MailboxProperties::issued_app_password)
    }

    /// The coverage report the Reports pane shows, once it was shown.
    pub fn shown_coverage(&self) -> Option<&CoverageReport> {
        self.reports.report()
    }

    /// How many background jobs are running.
    pub fn running_jobs(&self) -> usize {
        self.jobs.running()
    }

    /// File → Recent Stores, newest first, as the console saves it.
    pub fn recent_stores(&self) -> &[RecentStore] {
        &self.persisted.recent
    }

    /// Why the store could not be opened, if it could not.
    pub fn store_error(&self) -> Option<&ServiceError> {
        match &self.store {
            StoreState::Failed(f) => Some(&f.error),
            StoreState::Open(_) => None,
        }
    }

    /// Queues a command as if a pane had recorded it.
    pub fn push(&mut self, intent: Intent) {
        self.intents.push(intent);
    }

    pub(super) fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message { text: text.into(), error: false });
    }

    pub(super) fn error(&mut self, text: impl Into<String>) {
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
                failure = Some(e);
            }
        }
        if self.selected == Node::Audit && self.audit.needs_load() {
            match open.service.audit(self.audit.wanted(), AUDIT_LIMIT) {
                Ok(entries) => self.audit.set_entries(entries),
                Err(e) => {
                    self.audit.set_entries(Vec::new());
                    failure = Some(e);
                }
            }
        }
        if self.selected == Node::Reports && self.reports.needs_load() {
            match open.service.coverage(None) {
                Ok(report) => self.reports.set_report(Some(report)),
                Err(e) => {
                    self.reports.set_report(None);
                    failure = Some(e);
                }
            }
        }
        if self.selected == Node::Clients && self.clients.needs_load() {
            match open.service.clients() {
                Ok(clients) => self.clients.set_clients(clients),
                Err(e) => {
                    self.clients.set_clients(Vec::new());
                    failure = Some(e);
                }
            }
        }
        if self.selected == Node::Admins && self.admins.needs_load() {
            match open.service.admins() {
                Ok(admins) => self.admins.set_admins(admins),
                Err(e) => {
                    self.admins.set_admins(Vec::new());
                    failure = Some(e);
                }
            }
        }
        if let Some(e) = failure {
            self.error(e.to_string());
        }
    }

    /// What the commands apply to: the selection, or nothing but File and Help without a store.
    pub(super) fn target(&self) -> Target {
        let StoreState::Open(open) = &self.store else { return Target::no_store() };
        let target = Target::for_node(&self.selected, &open.snapshot);
        match (&self.selected, self.table.selected()) {
            (Node::PostOffice(_), Some(address)) => target.with_mailbox(address, &open.snapshot),
            _ => target,
        }
    }

    /// The keyboard, in one place: Esc, then the shortcuts of the command catalog.
    fn keyboard(&mut self, ctx: &Context) {
        self.escape(ctx);
        if self.confirm.is_some() {
            return;
        }
        let typing = ctx.egui_wants_keyboard_input() || self.new_dialog.is_some() || self.server_dialog.is_some();
        let intents = UiCommand::shortcuts(ctx, &self.target(), typing);
        self.intents.extend(intents);
    }

    /// Esc closes the topmost of the confirmation, the New… dialog, the Properties windows, the
    /// login previews and About. Not while it leaves a text field (egui takes the keyboard from the
    /// field first; a second Esc closes) or closes a menu or drop-down.
    fn escape(&mut self, ctx: &Context) {
        if self.typing || egui::Popup::is_any_open(ctx) {
            return;
        }
        if !ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Escape)) {
            return;
        }
        if self.confirm.take().is_some() {
            return;
        }
        // Back to front, the top last (a window closed earlier may still be listed).
        let order: Vec<LayerId> = ctx.memory(|m| m.layer_ids().collect());
        let rank = |id: Id| order.iter().position(|layer| *layer == LayerId::new(Order::Middle, id));
        let mut open: Vec<(Option<usize>, Closable)> = Vec::new();
        if self.new_dialog.is_some() {
            open.push((rank(NewDialog::id()), Closable::NewDialog));
        }
        if self.server_dialog.is_some() {
            open.push((rank(ServerDialog::id()), Closable::ServerDialog));
        }
        if self.about_open {
            open.push((rank(super::chrome::about_id()), Closable::About));
        }
        open.extend(self.mailbox_windows.iter().enumerate().map(|(i, w)| (rank(w.id()), Closable::Mailbox(i))));
        open.extend(self.postoffice_windows.iter().enumerate().map(|(i, w)| (rank(w.id()), Closable::PostOffice(i))));
        open.extend(self.previews.iter().enumerate().map(|(i, p)| (rank(p.id()), Closable::Preview(i))));
        let Some((_, top)) = open.into_iter().max_by_key(|(rank, _)| *rank) else { return };
        match top {
            Closable::NewDialog => self.new_dialog = None,
            Closable::ServerDialog => self.server_dialog = None,
            Closable::About => self.about_open = false,
            Closable::Mailbox(i) => {
                if let Some(window) = self.mailbox_windows.get_mut(i) {
                    window.close();
                }
            }
            Closable::PostOffice(i) => {
                if let Some(window) = self.postoffice_windows.get_mut(i) {
                    window.close();
                }
            }
            Closable::Preview(i) => {
                if let Some(preview) = self.previews.get_mut(i) {
                    preview.close();
                }
            }
        }
    }

    fn panes(&mut self, ui: &mut Ui) {
        let target = self.target();
        let StoreState::Open(open) = &self.store else {
            if let StoreState::Failed(failed) = &self.store {
                egui::CentralPanel::default().show(ui, |ui| store_dialogs::failure_ui(ui, failed, &mut self.intents));
            }
            return;
        };
        let snapshot = &open.snapshot;
        let path = store_path(&open.service);
        let mode = open.service.mode_word();
        let root_label = format!("mailmfa ({})", short_name(&path));
        let pressed_at = ui.input(|i| if i.pointer.any_pressed() { i.pointer.interact_pos() } else { None });

        let tree = egui::Panel::left("console-tree")
            .resizable(true)
            .default_size(250.0)
            .size_range(160.0..=600.0)
            .show(ui, |ui| {
                let active = self.active == Pane::Tree;
                self.tree.ui(ui, snapshot, &root_label, &self.selected, active, &mut self.intents);
            });
        if pressed_at.is_some_and(|p| tree.response.rect.contains(p)) {
            self.active = Pane::Tree;
        }

        if self.persisted.show_actions {
            egui::Panel::right("actions-pane")
                .resizable(true)
                .default_size(210.0)
                .size_range(150.0..=400.0)
                .show(ui, |ui| actions::pane_ui(ui, &target, &mut self.intents));
        }

        let central = egui::CentralPanel::default().show(ui, |ui| match &self.selected {
            Node::Root => folders::root_ui(ui, snapshot, &path, mode, &mut self.intents),
            Node::PostOffices => folders::postoffices_ui(ui, snapshot, &mut self.intents),
            Node::PostOffice(name) => {
                let active = self.active == Pane::Result;
                self.table.ui(ui, name, snapshot, active, &mut self.intents);
            }
            Node::Mailbox(address) => {
                let active = self.active == Pane::Result;
                self.table.ui(ui, &address.postoffice, snapshot, active, &mut self.intents);
            }
            Node::Providers => self.providers.ui(ui, snapshot, &mut self.intents),
            Node::Clients => self.clients.ui(ui, &mut self.intents),
            Node::Admins => self.admins.ui(ui, &mut self.intents),
            Node::Settings => self.settings.ui(ui, snapshot, &mut self.intents),
            Node::Reports => self.reports.ui(ui, &mut self.intents),
            Node::Audit => self.audit.ui(ui, &mut self.intents),
        });
        if pressed_at.is_some_and(|p| central.response.rect.contains(p)) {
            self.active = Pane::Result;
        }
    }

    /// The Properties windows, the New… dialog and the login previews.
    fn windows(&mut self, ctx: &Context) {
        if let StoreState::Open(open) = &self.store {
            let offered = open.snapshot.offered_providers();
            let now = open.service.now();
            for window in &mut self.mailbox_windows {
                window.show(ctx, &offered, now, &mut self.intents);
            }
            for window in &mut self.postoffice_windows {
                window.show(ctx, &mut self.intents);
            }
            if let Some(dialog) = &mut self.new_dialog
                && !dialog.show(ctx, &open.snapshot, &mut self.intents)
            {
                self.new_dialog = None;
            }
        }
        if let Some(dialog) = &mut self.server_dialog
            && !dialog.show(ctx, &mut self.intents)
        {
            self.server_dialog = None;
        }
        for preview in &mut self.previews {
            preview.show(ctx, &mut self.intents);
        }
        self.previews.retain(LoginPreview::is_open);
        self.mailbox_windows.retain(MailboxProperties::is_open);
        self.postoffice_windows.retain(PostOfficeProperties::is_open);
    }

    // --- state shared by the command handlers -------------------------------------------------

    /// The model, if a store is open.
    pub(super) fn snapshot(&self) -> Option<&Snapshot> {
        match &self.store {
            StoreState::Open(open) => Some(&open.snapshot),
            StoreState::Failed(_) => None,
        }
    }

    /// Where the open (or failed) store is; `None` in memory.
    pub(super) fn location(&self) -> Option<StoreLocation> {
        match &self.store {
            StoreState::Open(open) => open.service.location().cloned(),
            StoreState::Failed(failed) => failed.location.clone(),
        }
    }

    /// Selects a tree node (and a mailbox in the table).
    pub(super) fn select(&mut self, node: Node) {
        if let Node::Mailbox(address) = &node {
            self.table.select(Some(address.clone()));
        }
        self.tree.reveal(&node);
        self.selected = node;
    }

    /// Reloads the model after a change (of one post office's mailboxes, or of anything).
    pub(super) fn changed(&mut self, postoffice: Option<&PostOfficeName>) {
        self.audit.invalidate();
        self.clients.invalidate();
        self.reports.invalidate();
        let StoreState::Open(open) = &mut self.store else { return };
        if let Err(e) = open.snapshot.reload_after(&open.service, postoffice) {
            self.error(format!("Could not reload from the store: {e}"));
            return;
        }
        self.tree.retain_existing(&open.snapshot);
    }

    /// Gives every open Properties window the stored values, keeping what is being edited.
    pub(super) fn reload_windows(&mut self) {
        let StoreState::Open(open) = &self.store else { return };
        let service = &open.service;
        for window in &mut self.mailbox_windows {
            match service.mailbox(window.address()) {
                Ok(details) => window.set_details(details, true),
                Err(_) => window.close(),
            }
        }
    }

    /// Opens the store at `location`, or shows why it cannot be opened; every window of the
    /// previous store closes.
    /// A store on a database server is opened on a thread of its own, so a slow or unreachable
    /// server (up to its connect timeout) never freezes the window: the status bar says it is
    /// connecting, and the store is put in place when the connection answered.
    pub(super) fn open_location(&mut self, location: &StoreLocation) {
        if location.database_server().is_none() {
            let store = open_store(location, &self.keys);
            self.replace_store(store);
            self.opened(location);
            return;
        }
        let (sender, receiver) = mpsc::channel();
        let (opening, keys, ctx) = (location.clone(), self.keys.clone(), self.ctx.clone());
        let spawned = std::thread::Builder::new().name("mailmfa-open".to_owned()).spawn(move || {
            if sender.send(open_store(&opening, &keys)).is_ok() {
                ctx.request_repaint();
            }
        });
        match spawned {
            Ok(_) => {
                self.info(format!("Connecting to {location}…"));
                self.opening = Some(Opening { location: location.clone(), receiver });
            }
            Err(e) => self.error(format!("Could not start connecting: {e}")),
        }
    }

    /// Whether a store on a database server is being opened.
    pub fn is_opening(&self) -> bool {
        self.opening.is_some()
    }

    /// Puts the store that finished opening in place (called every frame).
    fn poll_opening(&mut self) {
        let Some(opening) = &self.opening else { return };
        let received = opening.receiver.try_recv();
        if matches!(received, Err(mpsc::TryRecvError::Empty)) {
            return;
        }
        let location = opening.location.clone();
        self.opening = None;
        match received {
            Ok(store) => {
                self.replace_store(store);
                self.opened(&location);
            }
            Err(_) => self.error(format!("Connecting to {location} stopped without an answer.")),
        }
    }

    /// Puts `service` in place of the open store (after a key import opened it).
    pub(super) fn install(&mut self, service: Service) {
        let location = service.location().cloned();
        self.replace_store(load(service, location.clone()));
        if let Some(location) = location {
            self.opened(&location);
        }
    }

    fn replace_store(&mut self, store: StoreState) {
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
        self.clients = ClientsPane::default();
        self.admins = AdminsPane::default();
        self.reports = ReportsPane::default();
        self.store = store;
    }

    /// After opening `location`: remembers it, says so, and names it in the title bar.
    fn opened(&mut self, location: &StoreLocation) {
        let title = match &self.store {
            StoreState::Open(_) => {
                store_dialogs::remember(&mut self.persisted.recent, location);
                self.info(format!("Opened {location}."));
                format!("{TITLE} — {location}")
            }
            StoreState::Failed(_) => {
                self.error("The store could not be opened.");
                TITLE.to_owned()
            }
        };
        self.ctx.send_viewport_cmd(ViewportCommand::Title(title));
    }
}

/// A store on a database server being opened on another thread.
pub(super) struct Opening {
    location: StoreLocation,
    receiver: mpsc::Receiver<StoreState>,
}

/// A window Esc may close.
enum Closable {
    NewDialog,
    ServerDialog,
    About,
    Mailbox(usize),
    PostOffice(usize),
    Preview(usize),
}

impl eframe::App for ConsoleApp {
    fn logic(&mut self, _ctx: &Context, _frame: &mut eframe::Frame) {
        self.poll_jobs();
        self.poll_opening();
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.prepare();
        self.keyboard(&ctx);
        self.menu_bar(ui);
        self.status_bar(ui);
        self.panes(ui);
        self.windows(&ctx);
        self.about(&ctx);
        self.confirmation(&ctx);
        self.typing = ctx.text_edit_focused();
        self.apply_commands();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.persisted);
    }
}

/// Opens the store at `location` and loads its model.
fn open_store(location: &StoreLocation, keys: &KeyFolder) -> StoreState {
    match Service::open(location, keys) {
        Ok(service) => load(service.with_actor(console_actor()), Some(location.clone())),
        Err(error) => StoreState::Failed(FailedStore { location: Some(location.clone()), error }),
    }
}

/// Who the console's audit entries name: `console:<OS user>`.
pub(super) fn console_actor() -> Actor {
    Actor::Console(os_user())
}

/// Loads the model of an open service.
fn load(service: Service, location: Option<StoreLocation>) -> StoreState {
    match Snapshot::load(&service) {
        Ok(snapshot) => StoreState::Open(Box::new(OpenStore { service, snapshot })),
        Err(error) => {
            StoreState::Failed(FailedStore { location: location.or_else(|| service.location().cloned()), error })
        }
    }
}

/// A store file's absolute path, or a database server's URL (without its password), as the
/// console shows where a store is.
pub(super) fn shown(location: &StoreLocation) -> String {
    location.file().map_or_else(|| location.to_string(), |path| display_path(path).display().to_string())
}

/// The store's path as the status bar and the overview show it.
pub(super) fn store_path(service: &Service) -> String {
    match service.location() {
        Some(location) => shown(location),
        None => "(in memory)".to_owned(),
    }
}

/// The file name of a store path, for the root of the tree.
fn short_name(path: &str) -> String {
    std::path::Path::new(path).file_name().map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
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
