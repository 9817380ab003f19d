//! Applying the [`Intent`]s the frame recorded: one short dispatch per group (windows, mailboxes,
//! post offices, the login preview, providers, settings and API clients, stores), each command one small method
//! that calls the service and then refreshes the model, the windows and the status bar.

use egui::{LayerId, Order, ViewportCommand};

use super::app::{ConsoleApp, StoreState};
use super::intent::{
    Intent, MailboxIntent, PlatformIntent, PostOfficeIntent, PreviewIntent, StoreIntent, TestTarget, Window,
};
use super::jobs::JobOrigin;
use super::login_preview::{BeginView, LoginPreview};
use super::mailbox_properties::{MailboxProperties, QR_PREVIEW_SIZE, RevealedQr};
use super::model::Node;
use super::new_dialog::NewDialog;
use super::postoffice_properties::PostOfficeProperties;
use super::server_dialog::ServerDialog;
use super::store_dialogs;
use crate::domain::{
    AdminName, AdminRole, BeginAnswer, Configurer, LetterCode, LoginIp, MailboxAddress, PostOfficeName, Provider,
    SettingDef, SettingGroup,
};
use crate::qr::QrError;
use crate::service::{
    ClientScope, IfExists, LoginStart, MailboxChanges, PostOfficeChanges, Service, ServiceError, StoreLocation,
    default_store_path,
};

impl ConsoleApp {
    /// Applies the commands the frame recorded.
    pub(super) fn apply_commands(&mut self) {
        let intents = std::mem::take(&mut self.intents);
        if !intents.is_empty() {
            // The frame just drawn shows the state before the commands: draw another.
            self.ctx.request_repaint();
        }
        for intent in intents {
            self.apply(intent);
        }
    }

    fn apply(&mut self, intent: Intent) {
        match intent {
            Intent::Select(node) => self.select(node),
            Intent::Refresh => self.refresh(),
            Intent::LoadAudit(mailbox) => self.audit.request(mailbox),
            Intent::Confirm(confirmation) => self.confirm = Some(confirmation),
            Intent::Open(window) => self.open_window(window),
            Intent::Mailbox(address, intent) => self.apply_mailbox(&address, intent),
            Intent::PostOffice(intent) => self.apply_postoffice(intent),
            Intent::Preview(address, intent) => self.apply_preview(&address, intent),
            Intent::Platform(intent) => self.apply_platform(intent),
            Intent::Store(intent) => self.apply_store(intent),
            Intent::Exit => self.ctx.send_viewport_cmd(ViewportCommand::Close),
        }
    }

    fn refresh(&mut self) {
        self.changed(None);
        self.reload_windows();
        self.info("Refreshed from the store.");
    }

    // --- windows ------------------------------------------------------------------------------

    fn open_window(&mut self, window: Window) {
        match window {
            Window::MailboxProperties(address) => self.open_mailbox_properties(address),
            Window::PostOfficeProperties(name) => self.open_postoffice_properties(&name),
            Window::NewPostOffice => self.new_dialog = Some(NewDialog::postoffice()),
            Window::NewMailbox(postoffice) => self.new_dialog = Some(NewDialog::mailbox(postoffice)),
            Window::LoginPreview(address) => match self.previews.iter().find(|p| p.address() == &address) {
                Some(preview) => self.ctx.move_to_top(LayerId::new(Order::Middle, preview.id())),
                None => self.previews.push(LoginPreview::new(address)),
            },
            Window::About => {
                self.about_open = true;
                self.ctx.move_to_top(LayerId::new(Order::Middle, super::chrome::about_id()));
            }
        }
    }

    fn open_mailbox_properties(&mut self, address: MailboxAddress) {
        if let Some(window) = self.mailbox_windows.iter().find(|w| w.address() == &address) {
            self.ctx.move_to_top(LayerId::new(Order::Middle, window.id()));
            return;
        }
        let Some(service) = self.service() else { return };
        match service.mailbox(&address) {
            Ok(details) => self.mailbox_windows.push(MailboxProperties::new(details)),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn open_postoffice_properties(&mut self, name: &PostOfficeName) {
        if let Some(window) = self.postoffice_windows.iter().find(|w| w.name() == name) {
            self.ctx.move_to_top(LayerId::new(Order::Middle, window.id()));
            return;
        }
        if let Some(record) = self.snapshot().and_then(|s| s.postoffice(name)) {
            let window = PostOfficeProperties::new(record);
            self.postoffice_windows.push(window);
        }
    }

    // --- mailboxes ----------------------------------------------------------------------------

    fn apply_mailbox(&mut self, address: &MailboxAddress, intent: MailboxIntent) {
        match intent {
            MailboxIntent::Add => self.add_mailbox(address),
            MailboxIntent::Save { changes, close } => self.save_mailbox(address, &changes, close),
            MailboxIntent::ResetCode => {
                let result = self.service().map(|s| s.reset_two_factor_code(address).map(drop));
                self.mailbox_done(address, result, "Reset the two factor code of");
                self.mailbox_windows.iter_mut().filter(|w| w.address() == address).for_each(|w| w.forget_qr());
            }
            MailboxIntent::ResetCountries => {
                let result = self.service().map(|s| s.reset_country_exceptions(address).map(drop));
                self.mailbox_done(address, result, "Forgot the known countries and IP addresses of");
            }
            MailboxIntent::Unlock => {
                let result = self.service().map(|s| s.unlock(address));
                self.mailbox_done(address, result, "Unlocked");
            }
            MailboxIntent::IssueAccessPass { minutes, once } => self.issue_access_pass(address, minutes, once),
            MailboxIntent::NewRecoveryCodes => self.new_recovery_codes(address),
            MailboxIntent::ForgetDevices => {
                let Some(service) = self.service() else { return };
                let result = service.forget_devices(address).map(drop);
                self.mailbox_done(address, result.into(), "Forgot the remembered devices of");
            }
            MailboxIntent::SaveRecoveryCodes(codes) => self.save_recovery_codes(address, &codes),
            MailboxIntent::AddAppPassword(new) => {
                let Some(service) = self.service() else { return };
                let result = service.add_app_password(address, &new);
                let issued = result.as_ref().ok().cloned();
                self.mailbox_done(address, result.map(drop).into(), "Made an app password for");
                if let Some(issued) = issued {
                    self.in_window(address, |window| window.show_issued_app_password(issued));
                }
            }
            MailboxIntent::RemoveAppPassword(name) => {
                let Some(service) = self.service() else { return };
                let result = service.remove_app_password(address, &name);
                self.mailbox_done(address, result.into(), &format!("Removed the app password \"{name}\" of"));
            }
            MailboxIntent::RemovePasskey(name) => {
                let Some(service) = self.service() else { return };
                let result = service.remove_passkey(address, &name);
                self.mailbox_done(address, result.into(), &format!("Removed the passkey \"{name}\" of"));
            }
            MailboxIntent::Delete => self.delete_mailbox(address),
            MailboxIntent::RevealQr => self.reveal_qr(address),
            MailboxIntent::SaveQrPng => self.save_qr_png(address),
        }
    }

    fn add_mailbox(&mut self, address: &MailboxAddress) {
        let Some(service) = self.service() else { return };
        match service.add_mailbox(address) {
            Ok(()) => {
                self.new_dialog = None;
                self.changed(Some(&address.postoffice));
                self.info(format!("Created the mailbox {address}."));
                self.select(Node::Mailbox(address.clone()));
            }
            Err(e) => self.dialog_error(e),
        }
    }

    fn save_mailbox(&mut self, address: &MailboxAddress, changes: &MailboxChanges, close: bool) {
        let Some(service) = self.service() else { return };
        let result = service.set_mailbox(address, changes, Configurer::Administrator);
        let fresh = result.as_ref().ok().and_then(|()| service.mailbox(address).ok());
        let window = self.mailbox_windows.iter_mut().find(|w| w.address() == address);
        match (result, window) {
            (Ok(()), window) => {
                if let Some(window) = window {
                    window.set_save_error(None);
                    if close {
                        window.close();
                    } else if let Some(details) = fresh {
                        window.set_details(details, false);
                    }
                }
                self.changed(Some(&address.postoffice));
                self.info(format!("Saved the Two Factor settings of {address}."));
            }
            (Err(e), Some(window)) => {
                window.set_save_error(Some(e));
                self.audit.invalidate();
            }
            (Err(e), None) => {
                self.audit.invalidate();
                self.error(format!("Not saved: {e}"));
            }
        }
    }

    fn delete_mailbox(&mut self, address: &MailboxAddress) {
        let result = self.service().map(|s| s.remove_mailbox(address));
        if matches!(result, Some(Ok(()))) {
            self.mailbox_windows.retain(|w| w.address() != address);
            self.previews.retain(|p| p.address() != address);
            if self.selected == Node::Mailbox(address.clone()) {
                self.selected = Node::PostOffice(address.postoffice.clone());
            }
            if self.table.selected() == Some(address) {
                self.table.select(None);
            }
        }
        self.mailbox_done(address, result, "Deleted");
    }

    /// Reports an action on a mailbox and refreshes what shows it.
    fn mailbox_done(&mut self, address: &MailboxAddress, result: Option<Result<(), ServiceError>>, done: &str) {
        match result {
            Some(Ok(())) => {
                self.changed(Some(&address.postoffice));
                self.reload_windows();
                self.info(format!("{done} {address}."));
            }
            Some(Err(e)) => {
                self.audit.invalidate();
                self.error(e.to_string());
            }
            None => {}
        }
    }

    fn issue_access_pass(&mut self, address: &MailboxAddress, minutes: i64, once: bool) {
        let Some(service) = self.service() else { return };
        let result = service.issue_access_pass(address, minutes, once);
        let issued = result.as_ref().ok().cloned();
        self.mailbox_done(address, result.map(drop).into(), "Issued a temporary access pass for");
        if let Some(issued) = issued {
            self.in_window(address, |window| window.show_issued_pass(issued));
        }
    }

    /// Does `f` to the open Properties window of `address`, if there is one.
    fn in_window(&mut self, address: &MailboxAddress, f: impl FnOnce(&mut MailboxProperties)) {
        if let Some(window) = self.mailbox_windows.iter_mut().find(|w| w.address() == address) {
            f(window);
        }
    }

    fn new_recovery_codes(&mut self, address: &MailboxAddress) {
        let Some(service) = self.service() else { return };
        let result = service.new_recovery_codes(address);
        let codes = result.as_ref().ok().cloned();
        self.mailbox_done(address, result.map(drop).into(), "Issued new recovery codes for");
        if let Some(codes) = codes {
            self.in_window(address, |window| window.show_issued_codes(codes));
        }
    }

    fn save_recovery_codes(&mut self, address: &MailboxAddress, codes: &[LetterCode]) {
        let file_name = format!("{address} recovery codes.txt");
        let Some(path) = store_dialogs::pick_save("Save Recovery Codes", &file_name, ("Text file", &["txt"])) else {
            return;
        };
        let Some(service) = self.service() else { return };
        let result = service.write_recovery_codes(address, codes, &path, IfExists::Replace);
        self.audit.invalidate();
        match result {
            Ok(()) => self.info(format!("Saved the recovery codes of {address} to {}.", path.display())),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn reveal_qr(&mut self, address: &MailboxAddress) {
        let Some(service) = self.service() else { return };
        let revealed = service.enrolment_uri(address).and_then(|(uri, state)| {
            let texture = self.qr_texture(address, &uri)?;
            Ok(RevealedQr { uri, state, texture })
        });
        self.audit.invalidate();
        self.in_window(address, |window| window.set_qr(revealed));
    }

    fn save_qr_png(&mut self, address: &MailboxAddress) {
        let file_name = format!("{address}.png");
        let Some(path) = store_dialogs::pick_save("Save QR Code", &file_name, ("PNG image", &["png"])) else { return };
        let Some(service) = self.service() else { return };
        let result = service.write_enrolment_qr(address, &path, IfExists::Replace);
        self.audit.invalidate();
        match result {
            Ok(_) => self.info(format!("Saved the QR code of {address} to {}.", path.display())),
            Err(e) => self.error(e.to_string()),
        }
    }

    /// The QR code of `uri` as a texture.
    fn qr_texture(&self, address: &MailboxAddress, uri: &str) -> Result<egui::TextureHandle, QrError> {
        let image = crate::qr::render(uri, QR_PREVIEW_SIZE as u32)?;
        let size = [image.width() as usize, image.height() as usize];
        let pixels = egui::ColorImage::from_gray(size, image.as_raw());
        Ok(self.ctx.load_texture(format!("qr-{address}"), pixels, egui::TextureOptions::NEAREST))
    }

    /// Shows an error in the New… dialog if it is open, else in the status bar.
    fn dialog_error(&mut self, error: ServiceError) {
        self.audit.invalidate();
        match &mut self.new_dialog {
            Some(dialog) => dialog.set_error(error),
            None => self.error(error.to_string()),
        }
    }

    // --- post offices -------------------------------------------------------------------------

    fn apply_postoffice(&mut self, intent: PostOfficeIntent) {
        match intent {
            PostOfficeIntent::Add(name) => self.add_postoffice(name),
            PostOfficeIntent::Save { name, changes, close } => self.save_postoffice(&name, &changes, close),
            PostOfficeIntent::Delete(name) => self.delete_postoffice(&name),
        }
    }

    fn add_postoffice(&mut self, name: PostOfficeName) {
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

    fn save_postoffice(&mut self, name: &PostOfficeName, changes: &PostOfficeChanges, close: bool) {
        let Some(service) = self.service() else { return };
        let result = service.set_postoffice(name, changes);
        let window = self.postoffice_windows.iter_mut().find(|w| w.name() == name);
        match (result, window) {
            (Ok(()), window) => {
                if let Some(window) = window {
                    window.set_save_error(None);
                    if close {
                        window.close();
                    }
                }
                self.changed(Some(name));
                self.reload_windows();
                self.info(format!("Saved the properties of {name}."));
            }
            (Err(e), Some(window)) => {
                window.set_save_error(Some(e));
                self.audit.invalidate();
            }
            (Err(e), None) => {
                self.audit.invalidate();
                self.error(format!("Not saved: {e}"));
            }
        }
    }

    fn delete_postoffice(&mut self, name: &PostOfficeName) {
        let Some(service) = self.service() else { return };
        match service.remove_postoffice(name, true) {
            Ok(removed) => {
                self.mailbox_windows.retain(|w| &w.address().postoffice != name);
                self.previews.retain(|p| &p.address().postoffice != name);
                self.postoffice_windows.retain(|w| w.name() != name);
                if self.selected.postoffice() == Some(name) {
                    self.selected = Node::PostOffices;
                }
                self.changed(None);
                self.info(format!("Deleted the post office {name} and {removed} mailboxes."));
            }
            Err(e) => {
                self.audit.invalidate();
                self.error(e.to_string());
            }
        }
    }

    // --- the login preview --------------------------------------------------------------------

    fn apply_preview(&mut self, address: &MailboxAddress, intent: PreviewIntent) {
        match intent {
            PreviewIntent::Begin(ip) => self.preview_begin(address, ip),
            PreviewIntent::Verify { ip, code } => self.preview_verify(address, ip, &code),
        }
        self.changed(Some(&address.postoffice));
        self.reload_windows();
    }

    /// Decides on the UI thread (one short transaction); a code to send goes out as a background
    /// job, which [`ConsoleApp::poll_jobs`] finishes.
    fn preview_begin(&mut self, address: &MailboxAddress, ip: LoginIp) {
        let Some(service) = self.service() else { return };
        let origin = JobOrigin::of(service);
        let (view, delivery) = match service.decide_login(address, ip, None) {
            Ok(LoginStart { answer, delivery }) => {
                let qr = match &answer {
                    BeginAnswer::Enroll { otpauth_uri, .. } => match self.qr_texture(address, otpauth_uri) {
                        Ok(texture) => Some(texture),
                        Err(e) => return self.set_preview_begin(address, Err(e.into()), false),
                    },
                    _ => None,
                };
                (Ok(BeginView { ip, answer, qr }), delivery)
            }
            Err(e) => (Err(e), None),
        };
        let sending = match delivery {
            Some(delivery) => match self.jobs.deliver(origin, address.clone(), delivery) {
                Ok(()) => true,
                Err(e) => {
                    self.error(format!("The code could not be sent: {e}"));
                    false
                }
            },
            None => false,
        };
        self.set_preview_begin(address, view, sending);
    }

    fn set_preview_begin(&mut self, address: &MailboxAddress, view: Result<BeginView, ServiceError>, sending: bool) {
        if let Some(preview) = self.previews.iter_mut().find(|p| p.address() == address) {
            preview.set_begin(view, sending);
        }
    }

    fn preview_verify(&mut self, address: &MailboxAddress, ip: LoginIp, code: &str) {
        let Some(service) = self.service() else { return };
        let result = service.verify_login(address, ip, code);
        if let Some(preview) = self.previews.iter_mut().find(|p| p.address() == address) {
            preview.set_verify(result);
        }
    }

    // --- providers and settings ---------------------------------------------------------------

    fn apply_platform(&mut self, intent: PlatformIntent) {
        match intent {
            PlatformIntent::SetProvider { provider, enabled, admin_configurable, user_configurable } => {
                self.set_provider(provider, enabled, admin_configurable, user_configurable);
            }
            PlatformIntent::SaveSettings(values) => self.save_settings(&values),
            PlatformIntent::SendTest(target) => self.send_test(target),
            PlatformIntent::BrowseFile(def) => self.browse_file(def),
            PlatformIntent::AddClient { name, scope } => self.add_client(&name, &scope),
            PlatformIntent::RemoveClient(name) => self.remove_client(&name),
            PlatformIntent::AddAdmin { name, role, postoffices } => self.add_admin(&name, role, &postoffices),
            PlatformIntent::ResetAdmin(name) => self.reset_admin(&name),
            PlatformIntent::RemoveAdmin(name) => self.remove_admin(&name),
        }
    }

    fn add_admin(&mut self, name: &AdminName, role: AdminRole, postoffices: &[PostOfficeName]) {
        let Some(service) = self.service() else { return };
        let result = service.add_admin(name, role, postoffices).and_then(|link| service.admin_setup_url(&link));
        self.audit.invalidate();
        match result {
            Ok(url) => {
                self.info(format!(
                    "Added the web administrator {name}. Send them the set-up link: it is not shown again."
                ));
                self.admins.link(name.clone(), url);
            }
            Err(e) => {
                self.error(format!("The administrator was not added: {e}"));
                self.admins.refused(&e);
            }
        }
    }

    fn reset_admin(&mut self, name: &AdminName) {
        let Some(service) = self.service() else { return };
        let result = service.reset_admin(name).and_then(|link| service.admin_setup_url(&link));
        self.audit.invalidate();
        self.admins.invalidate();
        match result {
            Ok(url) => {
                self.info(format!("Reset the web administrator {name}: their old password and app no longer work."));
                self.admins.link(name.clone(), url);
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    fn remove_admin(&mut self, name: &AdminName) {
        let Some(service) = self.service() else { return };
        let result = service.remove_admin(name);
        self.audit.invalidate();
        self.admins.invalidate();
        match result {
            Ok(()) => self.info(format!("Removed the web administrator {name}.")),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn add_client(&mut self, name: &str, scope: &ClientScope) {
        let Some(service) = self.service() else { return };
        let result = service.add_client(name, scope);
        self.audit.invalidate();
        match result {
            Ok((client, key)) => {
                self.info(format!("Created the API client {}. Copy its key now: it is not shown again.", client.name));
                self.clients.created(&client, key);
            }
            Err(e) => {
                self.error(format!("The API client was not created: {e}"));
                self.clients.refused(e);
            }
        }
    }

    fn remove_client(&mut self, name: &str) {
        let Some(service) = self.service() else { return };
        let result = service.remove_client(name);
        self.audit.invalidate();
        self.clients.invalidate();
        match result {
            Ok(()) => self.info(format!("Removed the API client {name}; its key no longer works.")),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn set_provider(&mut self, provider: Provider, enabled: Option<bool>, admin: Option<bool>, users: Option<bool>) {
        let Some(service) = self.service() else { return };
        match service.set_provider(provider, enabled, admin, users) {
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
            Err(e) => {
                self.audit.invalidate();
                self.error(e.to_string());
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
                    failure = Some(e);
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
        let origin = JobOrigin::of(service);
        match service.prepare_test_send(provider, destination) {
            Ok(test) => match self.jobs.send_test(origin, target.clone(), test) {
                Ok(()) => self.providers.start_test(target),
                Err(e) => self.error(format!("The {} could not start: {e}", target.describe())),
            },
            Err(e) => self.providers.test_finished(target, Err(e)),
        }
    }

    fn browse_file(&mut self, def: &'static SettingDef) {
        let filter: (&str, &[&str]) = match def.group {
            SettingGroup::Geo => ("MaxMind database", &["mmdb"]),
            _ => ("Any file", &["*"]),
        };
        if let Some(path) = store_dialogs::pick_file(def.label, filter) {
            self.settings.set_value(def.key, path.display().to_string());
        }
    }

    // --- stores, keys and imports -------------------------------------------------------------

    fn apply_store(&mut self, intent: StoreIntent) {
        let current = self.location();
        match intent {
            StoreIntent::OpenDialog { shared } => {
                if let Some(location) =
                    store_dialogs::pick_existing(shared, current.as_ref().and_then(StoreLocation::file))
                {
                    self.open_location(&location);
                }
            }
            StoreIntent::NewDialog => self.new_store(current.as_ref()),
            StoreIntent::OpenRecent(recent) => match recent.location() {
                // A server's password is never remembered: ask for it.
                location if location.database_server().is_some() => {
                    self.server_dialog = Some(ServerDialog::new(Some(location.to_string())));
                }
                location => self.open_location(&location),
            },
            StoreIntent::ServerDialog { url } => self.server_dialog = Some(ServerDialog::new(url)),
            StoreIntent::OpenServer(address) => self.open_location(&StoreLocation::server(address)),
            StoreIntent::OpenDefault => self.open_location(&StoreLocation::new(default_store_path(), false)),
            StoreIntent::Retry => {
                if let Some(location) = current {
                    self.open_location(&location);
                }
            }
            StoreIntent::ImportKey if current.is_none() => self.error(IMPORT_KEY_IN_MEMORY),
            StoreIntent::ImportKey => {
                if let Some(file) = store_dialogs::pick_file("Import Store Key", ("mailmfa key", &["key", "txt"])) {
                    self.intents.push(Intent::Store(StoreIntent::ImportKeyFrom(file)));
                }
            }
            StoreIntent::ImportKeyFrom(file) => self.import_key(current, &file),
            StoreIntent::ExportKey => self.export_key(),
            StoreIntent::ImportCsv => {
                if let Some(file) = store_dialogs::pick_file("Import CSV", ("CSV file", &["csv"])) {
                    self.intents.push(Intent::Store(StoreIntent::ImportCsvFrom(file)));
                }
            }
            StoreIntent::ImportCsvFrom(file) => self.import_csv(file),
            StoreIntent::ExportCoverage => {
                if let Some(file) =
                    store_dialogs::pick_save("Export Coverage Report", "coverage.csv", ("CSV file", &["csv"]))
                {
                    self.intents.push(Intent::Store(StoreIntent::ExportCoverageTo(file)));
                }
            }
            StoreIntent::ExportCoverageTo(file) => self.export_coverage(&file),
        }
    }

    /// Writes the coverage report as CSV (the Save dialog asked before replacing a file).
    fn export_coverage(&mut self, file: &std::path::Path) {
        let Some(service) = self.service() else { return };
        match service.write_coverage_csv(file, IfExists::Replace) {
            Ok(()) => self.info(format!("Wrote the coverage report to {}.", file.display())),
            Err(e) => self.error(format!("The coverage report was not exported: {e}")),
        }
    }

    fn new_store(&mut self, current: Option<&StoreLocation>) {
        let Some(path) = store_dialogs::pick_new(current.and_then(StoreLocation::file)) else { return };
        if path.exists() {
            self.error(format!("{} already exists; open it with File > Open Store…", path.display()));
        } else {
            self.open_location(&StoreLocation::new(path, false));
        }
    }

    /// Installs the key in `file` for the current store and opens the store, audited as
    /// `key.import` exactly as `mailmfa key import` does (both call [`Service::import_key`]).
    fn import_key(&mut self, location: Option<StoreLocation>, file: &std::path::Path) {
        let Some(location) = location else {
            self.error(IMPORT_KEY_IN_MEMORY);
            return;
        };
        match Service::import_key(&location, &self.keys, file, super::app::console_actor()) {
            Ok((service, written)) => {
                self.install(service);
                self.info(format!("Installed the store key at {}. Delete {} now.", written.display(), file.display()));
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
        let result = service.export_key(&path, IfExists::Replace);
        self.audit.invalidate();
        match result {
            Ok(()) => self.info(format!(
                "Wrote the store key to {}. Import it on the other server, then delete the file.",
                path.display()
            )),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn import_csv(&mut self, file: std::path::PathBuf) {
        if self.jobs.is_importing() {
            self.error("An import is already running.");
            return;
        }
        let Some(service) = self.service() else { return };
        if service.location().is_none() {
            self.error("Import CSV… needs a store file; use `mailmfa import` for this store.");
            return;
        }
        let origin = JobOrigin::of(service);
        match self.jobs.import_csv(origin, self.keys.clone(), file) {
            Ok(()) => self.info("Importing…"),
            Err(e) => self.error(format!("The import could not start: {e}")),
        }
    }
}

const IMPORT_KEY_IN_MEMORY: &str = "Import Key… needs a store file; this store is in memory.";

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
