//! The Challenge Providers pane: each provider's three platform switches, the SMTP relay and SMS
//! gateway settings (forms built from the settings table), and Send test buttons whose work runs
//! as a background job ([`super::jobs`]), so the window never freezes while a relay or gateway
//! takes its time.

use egui::{RichText, Ui};

use super::intent::{Intent, PlatformIntent, TestTarget};
use super::model::Snapshot;
use super::settings::SettingsForm;
use crate::domain::{DomainError, EmailAddress, PhoneNumber, Provider, SettingGroup, SmsPreset};
use crate::service::ServiceError;

/// The preset of the SMS gateway that uses the custom request settings.
const SMS_PRESET: &str = "sms.preset";

/// The Challenge Providers pane.
pub struct ProvidersPane {
    smtp: SettingsForm,
    sms: SettingsForm,
    test_email: String,
    test_phone: String,
    test_email_error: Option<DomainError>,
    test_phone_error: Option<DomainError>,
    pending: Option<TestTarget>,
    last_result: Option<(TestTarget, Result<(), ServiceError>)>,
}

impl Default for ProvidersPane {
    fn default() -> Self {
        Self {
            smtp: SettingsForm::new(&[SettingGroup::SmtpRelay]),
            sms: SettingsForm::new(&[SettingGroup::SmsGateway, SettingGroup::SmsCustom]),
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

    /// Shows a test send that runs in the background.
    pub fn start_test(&mut self, target: TestTarget) {
        self.pending = Some(target);
        self.last_result = None;
    }

    /// Shows how a test send ended (or why it could not start).
    pub fn test_finished(&mut self, target: TestTarget, result: Result<(), ServiceError>) {
        self.pending = None;
        self.last_result = Some((target, result));
    }

    /// Forgets a test send whose job stopped without an answer.
    pub fn test_lost(&mut self) {
        self.pending = None;
    }

    /// Whether a test send is in flight.
    pub fn is_testing(&self) -> bool {
        self.pending.is_some()
    }

    /// Draws the pane.
    pub fn ui(&mut self, ui: &mut Ui, snapshot: &Snapshot, intents: &mut Vec<Intent>) {
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
            switches_ui(ui, snapshot, intents);
            ui.add_space(12.0);
            self.smtp_ui(ui, intents);
            ui.add_space(12.0);
            self.sms_ui(ui, intents);
        });
    }

    fn smtp_ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        ui.label(RichText::new("SMTP relay (codes for SMTP address)").strong().size(15.0));
        ui.separator();
        self.smtp.group_ui(ui, SettingGroup::SmtpRelay, |_, _, _| {});
        ui.horizontal(|ui| {
            if ui.button("Save SMTP relay settings").clicked()
                && let Some(values) = self.smtp.parse().filter(|v| !v.is_empty())
            {
                intents.push(Intent::Platform(PlatformIntent::SaveSettings(values)));
            }
        });
        let idle = !self.is_testing() && !self.smtp.is_dirty();
        let test = TestRow { label: "Test recipient", hint: "you@example.org", button: "Send test e-mail" };
        test.ui(ui, idle, &mut self.test_email, &mut self.test_email_error, intents, |to| {
            to.parse::<EmailAddress>().map(|to| TestTarget::Email(to.to_string()))
        });
        self.test_status_ui(ui, |t| matches!(t, TestTarget::Email(_)));
    }

    fn sms_ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        ui.label(RichText::new("SMS gateway (codes for SMS address)").strong().size(15.0));
        ui.separator();
        self.sms.group_ui(ui, SettingGroup::SmsGateway, |_, _, _| {});
        let preset = self.sms.value(SMS_PRESET).parse::<SmsPreset>().ok();
        if let Some(preset) = preset {
            ui.label(RichText::new(preset_help(preset)).weak());
        }
        if preset == Some(SmsPreset::Custom) {
            ui.add_space(6.0);
            ui.label(RichText::new(SettingGroup::SmsCustom.title()).strong());
            self.sms.group_ui(ui, SettingGroup::SmsCustom, |_, _, _| {});
        }
        ui.horizontal(|ui| {
            if ui.button("Save SMS gateway settings").clicked()
                && let Some(values) = self.sms.parse().filter(|v| !v.is_empty())
            {
                intents.push(Intent::Platform(PlatformIntent::SaveSettings(values)));
            }
        });
        let idle = !self.is_testing() && !self.sms.is_dirty();
        let test = TestRow { label: "Test phone number", hint: "+15551234567", button: "Send test SMS" };
        test.ui(ui, idle, &mut self.test_phone, &mut self.test_phone_error, intents, |to| {
            to.parse::<PhoneNumber>().map(|to| TestTarget::Sms(to.to_string()))
        });
        self.test_status_ui(ui, |t| matches!(t, TestTarget::Sms(_)));
    }

    fn test_status_ui(&self, ui: &mut Ui, mine: impl Fn(&TestTarget) -> bool) {
        if let Some(pending) = self.pending.as_ref().filter(|p| mine(p)) {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Sending the {}…", pending.describe()));
            });
        }
        if let Some((target, result)) = self.last_result.as_ref().filter(|(t, _)| mine(t)) {
            match result {
                Ok(()) => {
                    ui.colored_label(egui::Color32::from_rgb(46, 140, 67), format!("Sent the {}.", target.describe()))
                }
                Err(e) => ui.colored_label(ui.visuals().error_fg_color, test_failure(target, e)),
            };
        }
    }
}

fn switches_ui(ui: &mut Ui, snapshot: &Snapshot, intents: &mut Vec<Intent>) {
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
                intents.push(set(*provider, Some(enabled), None, None));
            }
            if ui
                .add_enabled(switches.enabled, egui::Checkbox::without_text(&mut admin))
                .accessible_name(format!("{name}: Administrators may configure"))
                .changed()
            {
                intents.push(set(*provider, None, Some(admin), None));
            }
            if ui
                .add_enabled(switches.enabled, egui::Checkbox::without_text(&mut users))
                .accessible_name(format!("{name}: Users may configure"))
                .changed()
            {
                intents.push(set(*provider, None, None, Some(users)));
            }
            ui.end_row();
        }
    });
}

fn set(provider: Provider, enabled: Option<bool>, admin: Option<bool>, users: Option<bool>) -> Intent {
    Intent::Platform(PlatformIntent::SetProvider {
        provider,
        enabled,
        admin_configurable: admin,
        user_configurable: users,
    })
}

/// How a failed test send reads: the delivery's own reason, or why the test could not start.
pub fn test_failure(target: &TestTarget, error: &ServiceError) -> String {
    match error {
        ServiceError::TestSend(reason) => format!("The {} failed: {reason}", target.describe()),
        other => format!("The {} was not sent: {other}", target.describe()),
    }
}

fn strength_ui(ui: &mut Ui, provider: Provider) {
    match provider {
        Provider::Passkey => {
            ui.label(
                RichText::new("Strongest: phishing-resistant, bound to the site by the browser")
                    .small()
                    .color(egui::Color32::from_rgb(46, 140, 67)),
            );
        }
        Provider::Totp => {
            ui.label(
                RichText::new("Strong: the code comes from an app; nothing is sent")
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
    /// Draws the row; a valid destination becomes a [`Intent::SendTest`], an invalid one an error
    /// under the field. `idle` is false while a test runs or the settings have unsaved edits.
    fn ui(
        &self,
        ui: &mut Ui,
        idle: bool,
        destination: &mut String,
        error: &mut Option<DomainError>,
        intents: &mut Vec<Intent>,
        target: impl Fn(&str) -> Result<TestTarget, DomainError>,
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
                        intents.push(Intent::Platform(PlatformIntent::SendTest(target)));
                    }
                    Err(e) => *error = Some(e),
                }
            }
        });
        if let Some(error) = error {
            ui.colored_label(ui.visuals().error_fg_color, error.to_string());
        }
    }
}

fn preset_help(preset: SmsPreset) -> &'static str {
    match preset {
        SmsPreset::Twilio => "Twilio: account = Account SID, secret = Auth Token, sender = your Twilio number (E.164).",
        SmsPreset::Vonage => "Vonage: account = API key, secret = API secret, sender = your number or sender ID.",
        SmsPreset::Clickatell => "Clickatell: secret = API key (account and sender are not used).",
        SmsPreset::Custom => {
            "Custom: your own HTTP request, described below; placeholders {to}, {to_digits}, {message}, {sender}, {username}, {password}."
        }
        SmsPreset::Webhook => {
            "Webhook: POSTs JSON {\"to\": E164, \"message\": TEXT} to the URL; a secret is sent as a Bearer token."
        }
    }
}
