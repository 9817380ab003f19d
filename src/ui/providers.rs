//! The Challenge Providers pane: each provider's three platform switches, the SMTP relay and SMS
//! gateway settings, and Send test buttons whose work runs on a thread and reports back through a
//! channel, so the window never freezes while a relay or gateway takes its time.

use std::sync::mpsc::{Receiver, TryRecvError};

use egui::{RichText, Ui};

use super::model::{Command, Snapshot, TestTarget};
use super::settings::SettingsForm;
use crate::domain::{EmailAddress, PhoneNumber, Provider};

const SMTP_KEYS: [(&str, &str); 10] = [
    ("smtp.host", "Relay host"),
    ("smtp.port", "Relay port"),
    ("smtp.security", "Connection security"),
    ("smtp.username", "Relay user name"),
    ("smtp.password", "Relay password"),
    ("smtp.from", "Sender address"),
    ("smtp.accept_invalid_certs", "Accept a self-signed certificate"),
    ("smtp.timeout_seconds", "Relay timeout (seconds)"),
    ("smtp.subject", "E-mail subject"),
    ("smtp.body", "E-mail text"),
];

const SMS_KEYS: [(&str, &str); 15] = [
    ("sms.preset", "Gateway preset"),
    ("sms.url", "Gateway URL"),
    ("sms.username", "Gateway account"),
    ("sms.password", "Gateway secret"),
    ("sms.sender", "Sender number or name"),
    ("sms.timeout_seconds", "Gateway timeout (seconds)"),
    ("sms.message", "SMS text"),
    ("sms.custom.method", "Custom: HTTP method"),
    ("sms.custom.auth", "Custom: authentication"),
    ("sms.custom.auth_header", "Custom: header name"),
    ("sms.custom.body", "Custom: body type"),
    ("sms.custom.body_template", "Custom: body template"),
    ("sms.custom.success_status", "Custom: accepted statuses"),
    ("sms.custom.success_json_field", "Custom: JSON field"),
    ("sms.custom.success_body_contains", "Custom: answer contains"),
];

/// A test send in flight.
struct PendingTest {
    target: TestTarget,
    receiver: Receiver<Result<(), String>>,
}

/// The Challenge Providers pane.
pub struct ProvidersPane {
    smtp: SettingsForm,
    sms: SettingsForm,
    test_email: String,
    test_phone: String,
    test_email_error: Option<String>,
    test_phone_error: Option<String>,
    pending: Option<PendingTest>,
    last_result: Option<(TestTarget, Result<(), String>)>,
}

impl Default for ProvidersPane {
    fn default() -> Self {
        Self {
            smtp: SettingsForm::new(&SMTP_KEYS),
            sms: SettingsForm::new(&SMS_KEYS),
            test_email: String::new(),
            test_phone: String::new(),
            test_email_error: None,
            test_phone_error: None,
            pending: None,
            last_result: None,
        }
    }
}

impl ProvidersPane {
    /// Shows the stored values after a save of `saved`, keeping other edits.
    pub fn refresh(&mut self, snapshot: &Snapshot, saved: &[&str]) {
        self.smtp.refresh(snapshot, Some(saved));
        self.sms.refresh(snapshot, Some(saved));
    }

    /// Watches a test send that was started on a thread.
    pub fn start_test(&mut self, target: TestTarget, receiver: Receiver<Result<(), String>>) {
        self.pending = Some(PendingTest { target, receiver });
        self.last_result = None;
    }

    /// Reports a test that could not start.
    pub fn test_failed(&mut self, target: TestTarget, error: String) {
        self.pending = None;
        self.last_result = Some((target, Err(error)));
    }

    /// Whether a test send is in flight.
    pub fn is_testing(&self) -> bool {
        self.pending.is_some()
    }

    /// Collects the result of a finished test send (called every frame, whichever pane shows).
    pub fn poll(&mut self, commands: &mut Vec<Command>) {
        let Some(pending) = &self.pending else { return };
        let result = match pending.receiver.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => Err("the test stopped without an answer".to_owned()),
        };
        let target = pending.target.clone();
        self.pending = None;
        self.last_result = Some((target.clone(), result.clone()));
        commands.push(Command::TestFinished { target, result });
    }

    /// Draws the pane.
    pub fn ui(&mut self, ui: &mut Ui, snapshot: &Snapshot, commands: &mut Vec<Command>) {
        self.smtp.load_if_needed(snapshot);
        self.sms.load_if_needed(snapshot);
        egui::ScrollArea::vertical().id_salt("providers-pane").auto_shrink(false).show(ui, |ui| {
            ui.heading("Challenge Providers");
            ui.label(
                RichText::new(
                    "Which providers exist, and who may assign them. A disabled provider cannot be chosen anywhere.",
                )
                .weak(),
            );
            ui.add_space(6.0);
            switches_ui(ui, snapshot, commands);
            ui.add_space(12.0);
            self.smtp_ui(ui, commands);
            ui.add_space(12.0);
            self.sms_ui(ui, commands);
        });
    }

    fn smtp_ui(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        ui.label(RichText::new("SMTP relay (codes for SMTP address)").strong().size(15.0));
        ui.separator();
        egui::Grid::new("smtp-grid").num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
            for (key, _) in SMTP_KEYS {
                self.smtp.field_ui(ui, key);
            }
        });
        ui.horizontal(|ui| {
            if ui.button("Save SMTP relay settings").clicked() {
                if let Some(values) = self.smtp.parse().filter(|v| !v.is_empty()) {
                    commands.push(Command::SaveSettings(values));
                }
            }
        });
        let idle = !self.is_testing() && !self.smtp.is_dirty();
        let test = TestRow { label: "Test recipient", hint: "you@example.org", button: "Send test e-mail" };
        test.ui(ui, idle, &mut self.test_email, &mut self.test_email_error, commands, |to| {
            to.parse::<EmailAddress>().map(|to| TestTarget::Email(to.to_string()))
        });
        self.test_status_ui(ui, |t| matches!(t, TestTarget::Email(_)));
    }

    fn sms_ui(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        ui.label(RichText::new("SMS gateway (codes for SMS address)").strong().size(15.0));
        ui.separator();
        let custom = self.sms.value("sms.preset") == "custom";
        egui::Grid::new("sms-grid").num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
            for (key, _) in SMS_KEYS.iter().filter(|(key, _)| custom || !key.starts_with("sms.custom.")) {
                self.sms.field_ui(ui, key);
            }
        });
        ui.label(RichText::new(preset_help(self.sms.value("sms.preset"))).weak());
        ui.horizontal(|ui| {
            if ui.button("Save SMS gateway settings").clicked() {
                if let Some(values) = self.sms.parse().filter(|v| !v.is_empty()) {
                    commands.push(Command::SaveSettings(values));
                }
            }
        });
        let idle = !self.is_testing() && !self.sms.is_dirty();
        let test = TestRow { label: "Test phone number", hint: "+15551234567", button: "Send test SMS" };
        test.ui(ui, idle, &mut self.test_phone, &mut self.test_phone_error, commands, |to| {
            to.parse::<PhoneNumber>().map(|to| TestTarget::Sms(to.to_string()))
        });
        self.test_status_ui(ui, |t| matches!(t, TestTarget::Sms(_)));
    }

    fn test_status_ui(&self, ui: &mut Ui, mine: impl Fn(&TestTarget) -> bool) {
        if let Some(pending) = self.pending.as_ref().filter(|p| mine(&p.target)) {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Sending the {}…", pending.target.describe()));
            });
        }
        if let Some((target, result)) = self.last_result.as_ref().filter(|(t, _)| mine(t)) {
            match result {
                Ok(()) => {
                    ui.colored_label(egui::Color32::from_rgb(46, 140, 67), format!("Sent the {}.", target.describe()))
                }
                Err(e) => {
                    ui.colored_label(ui.visuals().error_fg_color, format!("The {} failed: {e}", target.describe()))
                }
            };
        }
    }
}

fn switches_ui(ui: &mut Ui, snapshot: &Snapshot, commands: &mut Vec<Command>) {
    egui::Grid::new("provider-switches").num_columns(4).striped(true).spacing([24.0, 8.0]).show(ui, |ui| {
        for title in ["Provider", "Enabled", "Administrators may configure", "Users may configure"] {
            ui.label(RichText::new(title).strong());
        }
        ui.end_row();
        for (provider, switches) in &snapshot.providers {
            let name = provider.label();
            ui.vertical(|ui| {
                ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
                ui.label(RichText::new(name).strong());
                strength_ui(ui, *provider);
            });
            let mut enabled = switches.enabled;
            let mut admin = switches.admin_configurable;
            let mut users = switches.user_configurable;
            if ui.add(egui::Checkbox::without_text(&mut enabled)).accessible_name(format!("{name}: Enabled")).changed()
            {
                commands.push(set(*provider, Some(enabled), None, None));
            }
            if ui
                .add_enabled(switches.enabled, egui::Checkbox::without_text(&mut admin))
                .accessible_name(format!("{name}: Administrators may configure"))
                .changed()
            {
                commands.push(set(*provider, None, Some(admin), None));
            }
            if ui
                .add_enabled(switches.enabled, egui::Checkbox::without_text(&mut users))
                .accessible_name(format!("{name}: Users may configure"))
                .changed()
            {
                commands.push(set(*provider, None, None, Some(users)));
            }
            ui.end_row();
        }
    });
}

fn set(provider: Provider, enabled: Option<bool>, admin: Option<bool>, users: Option<bool>) -> Command {
    Command::SetProvider { provider, enabled, admin_configurable: admin, user_configurable: users }
}

fn strength_ui(ui: &mut Ui, provider: Provider) {
    match provider {
        Provider::Totp => {
            ui.label(
                RichText::new("Strongest: the code comes from an app; nothing is sent")
                    .small()
                    .color(egui::Color32::from_rgb(46, 140, 67)),
            );
        }
        Provider::Sms => {
            ui.label(
                RichText::new("Weaker than a TOTP app: SMS can be intercepted or redirected")
                    .small()
                    .color(ui.visuals().warn_fg_color),
            );
        }
        Provider::Smtp => {
            ui.label(
                RichText::new("Weaker than a TOTP app: whoever reads that mailbox gets the code")
                    .small()
                    .color(ui.visuals().warn_fg_color),
            );
        }
    }
}

/// The destination field and button of one channel's test send.
struct TestRow {
    label: &'static str,
    hint: &'static str,
    button: &'static str,
}

impl TestRow {
    /// Draws the row; a valid destination becomes a [`Command::SendTest`], an invalid one an error
    /// under the field. `idle` is false while a test runs or the settings have unsaved edits.
    fn ui(
        &self,
        ui: &mut Ui,
        idle: bool,
        destination: &mut String,
        error: &mut Option<String>,
        commands: &mut Vec<Command>,
        target: impl Fn(&str) -> Result<TestTarget, crate::domain::DomainError>,
    ) {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            let label = ui.label(self.label);
            ui.add(egui::TextEdit::singleline(destination).hint_text(self.hint).desired_width(220.0))
                .labelled_by(label.id);
            if ui
                .add_enabled(idle, egui::Button::new(self.button))
                .on_disabled_hover_text("Save the settings first; one test at a time.")
                .clicked()
            {
                match target(destination.trim()) {
                    Ok(target) => {
                        *error = None;
                        commands.push(Command::SendTest(target));
                    }
                    Err(e) => *error = Some(e.to_string()),
                }
            }
        });
        if let Some(error) = error {
            ui.colored_label(ui.visuals().error_fg_color, error.as_str());
        }
    }
}

fn preset_help(preset: &str) -> &'static str {
    match preset {
        "twilio" => "Twilio: account = Account SID, secret = Auth Token, sender = your Twilio number (E.164).",
        "vonage" => "Vonage: account = API key, secret = API secret, sender = your number or sender ID.",
        "clickatell" => "Clickatell: secret = API key (account and sender are not used).",
        "custom" => {
            "Custom: your own HTTP request, described by the Custom fields; placeholders {to}, {to_digits}, {message}, {sender}, {username}, {password}."
        }
        _ => "Webhook: POSTs JSON {\"to\": E164, \"message\": TEXT} to the URL; a secret is sent as a Bearer token.",
    }
}
