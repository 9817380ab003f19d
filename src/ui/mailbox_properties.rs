//! A mailbox's Properties window, with the tabs General, Two Factor and Mail Programs
//! (`mail_programs_tab.rs`). The window edits a *draft*
//! of strings that is parsed into domain values on OK or Apply, with each error shown under its
//! field and nothing saved until everything is valid.

use std::str::FromStr;

use egui::{Context, Id, RichText, TextureHandle, Ui};
use zeroize::Zeroizing;

use super::intent::{Confirmation, Intent, MailboxIntent};
use super::mail_programs_tab::MailProgramsTab;
use super::model::{duration, when};
use super::passkeys::passkeys_ui;
use super::shown_once::{shown_once, shown_once_saved};
use crate::clock::UnixTime;
use crate::domain::{
    ChallengeMode, DomainError, EmailAddress, EnrolmentState, KnownLocation, LetterCode, MailPrograms, MailboxAddress,
    MailboxChallenge, PhoneNumber, Provider,
};
use crate::service::{
    ACCESS_PASS_MINUTES, IssuedAccessPass, IssuedAppPassword, MailboxChanges, MailboxDetails, ServiceError,
};

/// Size of the QR code preview.
pub const QR_PREVIEW_SIZE: f32 = 220.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    General,
    TwoFactor,
    MailPrograms,
}

/// The editable fields of a mailbox, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MailboxDraft {
    challenge: MailboxChallenge,
    provider: Provider,
    sms_number: String,
    alt_email: String,
    mail_programs: MailPrograms,
}

impl MailboxDraft {
    fn of(details: &MailboxDetails) -> Self {
        let r = &details.mailbox;
        Self {
            challenge: r.challenge,
            provider: r.provider,
            sms_number: r.sms_number.as_ref().map(ToString::to_string).unwrap_or_default(),
            alt_email: r.alt_email.as_ref().map(ToString::to_string).unwrap_or_default(),
            mail_programs: r.mail_programs,
        }
    }
}

/// Field errors of the last OK or Apply.
#[derive(Debug, Clone, Default)]
struct DraftErrors {
    sms_number: Option<DomainError>,
    alt_email: Option<DomainError>,
}

/// Why the last OK or Apply saved nothing.
#[derive(Debug)]
pub enum SaveProblem {
    /// A field does not parse; its error is shown under it.
    InvalidFields,
    /// The service refused the changes.
    Refused(ServiceError),
}

/// The enrolment URI revealed in a Properties window, with its QR code texture.
pub struct RevealedQr {
    /// The `otpauth://` URI (it carries the secret).
    pub uri: Zeroizing<String>,
    /// Pending or active.
    pub state: EnrolmentState,
    /// The QR code image.
    pub texture: TextureHandle,
}

/// A mailbox's Properties window.
pub struct MailboxProperties {
    address: MailboxAddress,
    details: MailboxDetails,
    tab: Tab,
    draft: MailboxDraft,
    errors: DraftErrors,
    save_problem: Option<SaveProblem>,
    qr: Option<RevealedQr>,
    qr_error: Option<ServiceError>,
    pass_minutes: i64,
    pass_once: bool,
    issued_pass: Option<IssuedAccessPass>,
    issued_codes: Option<Vec<LetterCode>>,
    mail_programs: MailProgramsTab,
    open: bool,
}

impl MailboxProperties {
    /// A window on the Two Factor tab, the one administrators come for.
    pub fn new(details: MailboxDetails) -> Self {
        let draft = MailboxDraft::of(&details);
        Self {
            address: details.mailbox.address.clone(),
            details,
            tab: Tab::TwoFactor,
            draft,
            errors: DraftErrors::default(),
            save_problem: None,
            qr: None,
            qr_error: None,
            pass_minutes: 60,
            pass_once: true,
            issued_pass: None,
            issued_codes: None,
            mail_programs: MailProgramsTab::new(),
            open: true,
        }
    }

    /// The mailbox.
    pub fn address(&self) -> &MailboxAddress {
        &self.address
    }

    /// The window's id (its layer is in front when Esc should close it).
    pub fn id(&self) -> Id {
        Id::unique(("mailbox-properties", self.address.to_string()))
    }

    /// Whether the window is still open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Closes the window.
    pub fn close(&mut self) {
        self.open = false;
    }

    /// Takes fresh details from the store; the draft follows them unless `keep_draft`.
    pub fn set_details(&mut self, details: MailboxDetails, keep_draft: bool) {
        if !keep_draft {
            self.draft = MailboxDraft::of(&details);
            self.errors = DraftErrors::default();
        }
        self.details = details;
    }

    /// Shows why saving failed, or nothing.
    pub fn set_save_error(&mut self, error: Option<ServiceError>) {
        self.save_problem = error.map(SaveProblem::Refused);
    }

    /// Shows the revealed QR code, or why it could not be shown.
    pub fn set_qr(&mut self, qr: Result<RevealedQr, ServiceError>) {
        match qr {
            Ok(qr) => {
                self.qr = Some(qr);
                self.qr_error = None;
            }
            Err(e) => {
                self.qr = None;
                self.qr_error = Some(e);
            }
        }
    }

    /// Shows an app password just made, this once, on the Mail Programs tab.
    pub fn show_issued_app_password(&mut self, issued: IssuedAppPassword) {
        self.tab = Tab::MailPrograms;
        self.mail_programs.show_issued(issued);
    }

    /// The app password on show, as people read it.
    pub fn issued_app_password(&self) -> Option<String> {
        self.mail_programs.issued()
    }

    /// Shows a temporary access pass just issued, once.
    pub fn show_issued_pass(&mut self, issued: IssuedAccessPass) {
        self.issued_pass = Some(issued);
    }

    /// The access pass on show, as the administrator reads it (tests copy it from here).
    pub fn issued_pass(&self) -> Option<String> {
        self.issued_pass.as_ref().map(|issued| issued.pass.shown())
    }

    /// Shows recovery codes just issued, once.
    pub fn show_issued_codes(&mut self, codes: Vec<LetterCode>) {
        self.issued_codes = Some(codes);
    }

    /// The recovery codes on show, as the administrator reads them (tests copy them from here).
    pub fn issued_codes(&self) -> Option<Vec<String>> {
        self.issued_codes.as_ref().map(|codes| codes.iter().map(LetterCode::shown).collect())
    }

    /// Hides the QR code (after the code was reset it no longer applies).
    pub fn forget_qr(&mut self) {
        self.qr = None;
    }

    /// Parses the draft: the changes against the stored values, or `None` with the errors shown.
    fn changes(&mut self) -> Option<MailboxChanges> {
        let record = &self.details.mailbox;
        let sms = parse_optional::<PhoneNumber>(&self.draft.sms_number);
        let alt = parse_optional::<EmailAddress>(&self.draft.alt_email)
            .and_then(|alt| alt.map(|a| a.check_not_own(&self.address).map(|()| a)).transpose());
        self.errors.sms_number = sms.as_ref().err().cloned();
        self.errors.alt_email = alt.as_ref().err().cloned();
        let (Ok(sms), Ok(alt)) = (sms, alt) else {
            return None;
        };
        Some(MailboxChanges {
            challenge: (self.draft.challenge != record.challenge).then_some(self.draft.challenge),
            provider: (self.draft.provider != record.provider).then_some(self.draft.provider),
            sms_number: (sms != record.sms_number).then_some(sms),
            alt_email: (alt != record.alt_email).then_some(alt),
            mail_programs: (self.draft.mail_programs != record.mail_programs).then_some(self.draft.mail_programs),
        })
    }

    /// Draws the window. `offered` are the providers an administrator may assign.
    pub fn show(&mut self, ctx: &Context, offered: &[Provider], now: UnixTime, intents: &mut Vec<Intent>) {
        let mut open = self.open;
        egui::Window::new(format!("{} Properties", self.address))
            .id(self.id())
            .pivot(egui::Align2::CENTER_TOP)
            .default_pos(egui::pos2(ctx.content_rect().center().x, 60.0))
            .open(&mut open)
            .collapsible(false)
            .resizable(true)
            .default_width(520.0)
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.tab, Tab::General, "General");
                    ui.selectable_value(&mut self.tab, Tab::TwoFactor, "Two Factor");
                    ui.selectable_value(&mut self.tab, Tab::MailPrograms, "Mail Programs");
                });
                ui.separator();
                match self.tab {
                    Tab::General => self.general_ui(ui, now),
                    Tab::TwoFactor => self.two_factor_ui(ui, offered, now, intents),
                    Tab::MailPrograms => {
                        self.mail_programs.ui(ui, &self.address, &self.details, &mut self.draft.mail_programs, intents)
                    }
                }
                ui.separator();
                match &self.save_problem {
                    Some(SaveProblem::InvalidFields) => {
                        ui.colored_label(
                            ui.visuals().error_fg_color,
                            "Nothing was saved: correct the fields marked in red.",
                        );
                    }
                    Some(SaveProblem::Refused(e)) => {
                        ui.colored_label(ui.visuals().error_fg_color, format!("Not saved: {e}"));
                    }
                    None => {}
                }
                self.buttons_ui(ui, intents);
            });
        self.open &= open;
    }

    fn buttons_ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let apply = ui.button("Apply").clicked();
            let cancel = ui.button("Cancel").clicked();
            let ok = ui.button("OK").clicked();
            if cancel {
                self.open = false;
            }
            if ok || apply {
                self.save_problem = None;
                match self.changes() {
                    Some(changes) if changes.is_empty() => self.open &= !ok,
                    Some(changes) => {
                        intents.push(Intent::Mailbox(self.address.clone(), MailboxIntent::Save { changes, close: ok }))
                    }
                    None => {
                        self.tab = Tab::TwoFactor;
                        self.save_problem = Some(SaveProblem::InvalidFields);
                    }
                }
            }
        });
    }

    fn general_ui(&self, ui: &mut Ui, now: UnixTime) {
        let r = &self.details.mailbox;
        egui::Grid::new(("mailbox-general", self.address.to_string())).num_columns(2).spacing([16.0, 6.0]).show(
            ui,
            |ui| {
                ui.label("Address");
                ui.label(RichText::new(self.address.to_string()).strong());
                ui.end_row();
                ui.label("Post office");
                ui.label(r.address.postoffice.as_str());
                ui.end_row();
                ui.label("Challenge in force");
                let effective = r.challenge.effective(r.postoffice_challenge);
                let source = match r.challenge {
                    MailboxChallenge::Inherit => " (inherited from the post office)",
                    MailboxChallenge::Mode(_) => " (set on this mailbox)",
                };
                ui.label(format!("{}{source}", effective.label()));
                ui.end_row();
                ui.label("Provider");
                ui.label(r.provider.label());
                ui.end_row();
                ui.label("Enrolment");
                ui.label(enrolment_text(r.enrolment));
                ui.end_row();
                ui.label("Lock");
                ui.label(lock_text(r.locked_for(now), r.failures));
                ui.end_row();
                ui.label("Last login");
                ui.label(when(r.last_login));
                ui.end_row();
                ui.label("Self-service");
                ui.label(if r.users_may_configure {
                    "the post office lets users configure their two-factor settings"
                } else {
                    "the post office does not let users configure their two-factor settings"
                });
                ui.end_row();
            },
        );
    }

    fn two_factor_ui(&mut self, ui: &mut Ui, offered: &[Provider], now: UnixTime, intents: &mut Vec<Intent>) {
        let id = self.address.to_string();
        egui::Grid::new(("mailbox-two-factor", &id)).num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
            self.policy_rows(ui, offered, &id);
            self.state_rows(ui, now, intents);
        });
        self.issued_pass_ui(ui);
        self.issued_codes_ui(ui, intents);

        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let reset = "Clear the TOTP secret and the passkeys: the next login enrols again";
            if ui.button("Reset code…").on_hover_text(reset).clicked() {
                intents.push(Confirmation::reset_code(&self.address));
            }
            if ui.button("Reset countries…").on_hover_text("Forget the known countries and IP addresses").clicked() {
                intents.push(Confirmation::reset_countries(&self.address));
            }
        });
        if self.details.mailbox.provider == Provider::Passkey || !self.details.passkeys.is_empty() {
            ui.separator();
            passkeys_ui(ui, &self.address, &self.details.passkeys, intents);
        }

        ui.separator();
        self.qr_ui(ui, intents);
        ui.separator();
        self.known_ui(ui);
    }

    /// The rows an administrator edits: challenge mode, provider (those the platform lets
    /// administrators assign), SMS number and alternate address.
    fn policy_rows(&mut self, ui: &mut Ui, offered: &[Provider], id: &str) {
        let po_default = self.details.mailbox.postoffice_challenge;
        let label = ui.label("Challenge mode");
        egui::ComboBox::from_id_salt(("challenge", &id))
            .width(260.0)
            .selected_text(challenge_label(self.draft.challenge, po_default))
            .show_ui(ui, |ui| {
                for choice in MailboxChallenge::ALL.into_iter() {
                    ui.selectable_value(&mut self.draft.challenge, choice, challenge_label(choice, po_default));
                }
            })
            .response
            .labelled_by(label.id);
        ui.end_row();

        let label = ui.label("Provider");
        let available = offered.contains(&self.draft.provider);
        let selected = if available {
            self.draft.provider.label().to_owned()
        } else {
            format!("{} (not available)", self.draft.provider.label())
        };
        egui::ComboBox::from_id_salt(("provider", &id))
            .width(260.0)
            .selected_text(selected)
            .show_ui(ui, |ui| {
                for provider in offered {
                    ui.selectable_value(&mut self.draft.provider, *provider, provider.label());
                }
            })
            .response
            .labelled_by(label.id);
        ui.end_row();
        if !available {
            ui.label("");
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "The platform has disabled this provider or does not let administrators assign it.",
            );
            ui.end_row();
        }

        text_field(ui, "SMS number", "+15551234567", &mut self.draft.sms_number, self.errors.sms_number.as_ref());
        text_field(
            ui,
            "Alternate address",
            "someone@elsewhere.example",
            &mut self.draft.alt_email,
            self.errors.alt_email.as_ref(),
        );
    }

    /// The rows of where the mailbox stands, each with its action: enrolment, lock, access pass,
    /// recovery codes, remembered devices.
    fn state_rows(&mut self, ui: &mut Ui, now: UnixTime, intents: &mut Vec<Intent>) {
        let record = &self.details.mailbox;
        let (locked_for, failures, can_unlock) = (record.locked_for(now), record.failures, record.can_unlock(now));
        let enrolment = record.enrolment;
        ui.label("Enrolment");
        ui.label(enrolment_text(enrolment));
        ui.end_row();

        ui.label("Lock");
        ui.horizontal(|ui| {
            ui.label(lock_text(locked_for, failures));
            if ui.add_enabled(can_unlock, egui::Button::new("Unlock mailbox")).clicked() {
                intents.push(Intent::Mailbox(self.address.clone(), MailboxIntent::Unlock));
            }
        });
        ui.end_row();

        ui.label("Access pass");
        ui.horizontal(|ui| {
            ui.label(match self.details.access_pass_until {
                Some(until) => format!("works until {}", when(Some(until))),
                None => "none".to_owned(),
            });
            ui.add(egui::DragValue::new(&mut self.pass_minutes).range(ACCESS_PASS_MINUTES).speed(5.0).suffix(" min"))
                .on_hover_text("How long the pass works: 10 minutes to 30 days");
            ui.checkbox(&mut self.pass_once, "once");
            if ui
                .button("Issue access pass")
                .on_hover_text(
                    "A passcode for a user who lost their device: it works in place of any code, and issuing it \
                     clears the lock",
                )
                .clicked()
            {
                let intent = MailboxIntent::IssueAccessPass { minutes: self.pass_minutes, once: self.pass_once };
                intents.push(Intent::Mailbox(self.address.clone(), intent));
            }
        });
        ui.end_row();

        ui.label("Recovery codes");
        ui.horizontal(|ui| {
            ui.label(match self.details.recovery_codes_left {
                0 => "none left".to_owned(),
                left => format!("{left} left"),
            });
            if ui
                .button("New recovery codes")
                .on_hover_text(
                    "Ten new codes, each good for one login in place of a code; the old ones stop working. \
                     Shown once, for the user",
                )
                .clicked()
            {
                intents.push(Intent::Mailbox(self.address.clone(), MailboxIntent::NewRecoveryCodes));
            }
        });
        ui.end_row();

        ui.label("Remembered devices");
        ui.horizontal(|ui| {
            let devices = self.details.remembered_devices;
            ui.label(if devices == 0 { "none".to_owned() } else { devices.to_string() });
            if ui
                .add_enabled(devices > 0, egui::Button::new("Forget remembered devices"))
                .on_hover_text("Every device the user asked to remember is challenged again at its next login")
                .clicked()
            {
                intents.push(Intent::Mailbox(self.address.clone(), MailboxIntent::ForgetDevices));
            }
        });
        ui.end_row();
    }

    fn qr_ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        ui.label(RichText::new("Enrolment QR code").strong());
        let mut hide = false;
        match &self.qr {
            Some(qr) => {
                ui.horizontal(|ui| {
                    ui.add(
                        egui::Image::new(&qr.texture)
                            .fit_to_exact_size(egui::vec2(QR_PREVIEW_SIZE, QR_PREVIEW_SIZE))
                            .alt_text(format!("QR code of the enrolment URI of {}", self.address)),
                    );
                    ui.vertical(|ui| {
                        ui.label(match qr.state {
                            EnrolmentState::Active => {
                                "The active secret: scanning it adds this mailbox to another device."
                            }
                            _ => "The pending secret: it becomes active with the first code that verifies.",
                        });
                        ui.add_space(6.0);
                        if ui.button("Save as PNG…").clicked() {
                            intents.push(Intent::Mailbox(self.address.clone(), MailboxIntent::SaveQrPng));
                        }
                        if ui.button("Copy URI").clicked() {
                            ui.ctx().copy_text(qr.uri.to_string());
                        }
                        hide = ui.button("Hide QR code").clicked();
                    });
                });
            }
            None => {
                ui.horizontal(|ui| {
                    if ui.button("Show QR code").clicked() {
                        intents.push(Intent::Mailbox(self.address.clone(), MailboxIntent::RevealQr));
                    }
                    ui.label(RichText::new("Showing it is recorded in the audit log.").weak());
                });
                if let Some(error) = &self.qr_error {
                    ui.colored_label(ui.visuals().warn_fg_color, error.to_string());
                }
            }
        }
        if hide {
            self.qr = None;
        }
    }

    fn known_ui(&self, ui: &mut Ui) {
        ui.columns(2, |columns| {
            known_list(&mut columns[0], "Known IP addresses", &self.details.known_ips, "known-ips", &self.address);
            known_list(
                &mut columns[1],
                "Known countries",
                &self.details.known_countries,
                "known-countries",
                &self.address,
            );
        });
    }
}

fn known_list(ui: &mut Ui, title: &str, entries: &[KnownLocation], salt: &str, address: &MailboxAddress) {
    ui.label(RichText::new(format!("{title} ({})", entries.len())).strong());
    if entries.is_empty() {
        ui.label(RichText::new("none yet").weak());
        return;
    }
    egui::ScrollArea::vertical().id_salt((salt, address.to_string())).max_height(110.0).show(ui, |ui| {
        for entry in entries {
            ui.label(&entry.value).on_hover_text(format!(
                "first seen {}, last seen {}",
                when(Some(entry.first_seen)),
                when(Some(entry.last_seen))
            ));
        }
    });
}

/// A labelled single-line field with its error underneath.
fn text_field(ui: &mut Ui, label: &str, hint: &str, value: &mut String, error: Option<&DomainError>) {
    let label = ui.label(label);
    ui.add(egui::TextEdit::singleline(value).hint_text(hint).desired_width(260.0)).labelled_by(label.id);
    ui.end_row();
    if let Some(error) = error {
        ui.label("");
        ui.colored_label(ui.visuals().error_fg_color, error.to_string());
        ui.end_row();
    }
}

fn parse_optional<T: FromStr<Err = DomainError>>(raw: &str) -> Result<Option<T>, DomainError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() { Ok(None) } else { trimmed.parse().map(Some) }
}

fn challenge_label(challenge: MailboxChallenge, po_default: ChallengeMode) -> String {
    match challenge {
        MailboxChallenge::Inherit => format!("Inherit from post office ({})", po_default.label()),
        MailboxChallenge::Mode(mode) => mode.label().to_owned(),
    }
}

fn enrolment_text(state: EnrolmentState) -> &'static str {
    match state {
        EnrolmentState::None => "not enrolled — the next login that needs TOTP shows a QR code",
        EnrolmentState::Pending => "pending — a QR code was shown; waiting for its first code",
        EnrolmentState::Active => "enrolled — the authenticator app is in use",
    }
}

impl MailboxProperties {
    /// The access pass just issued, with Copy: shown until hidden, never again.
    fn issued_pass_ui(&mut self, ui: &mut Ui) {
        let Some(issued) = &self.issued_pass else { return };
        let note = format!(
            "Access pass for {}, shown only now: give it to the user by a channel you trust. It works {} until {}.",
            self.address,
            if issued.once { "for one login" } else { "for every login" },
            when(Some(issued.expires_at))
        );
        if shown_once(ui, &note, &issued.pass.shown(), "pass") {
            self.issued_pass = None;
        }
    }
}

impl MailboxProperties {
    /// The recovery codes just issued, with Copy and Save…: shown until hidden, never again.
    fn issued_codes_ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        let Some(codes) = &self.issued_codes else { return };
        let note = format!(
            "Recovery codes for {}, shown only now: give them to the user. Each works once; the old ones no \
             longer do.",
            self.address
        );
        let text = LetterCode::table(codes, 2);
        let mut save = || {
            let intent = MailboxIntent::SaveRecoveryCodes(codes.clone());
            intents.push(Intent::Mailbox(self.address.clone(), intent));
        };
        if shown_once_saved(ui, &note, &text, "codes", &mut save) {
            self.issued_codes = None;
        }
    }
}

fn lock_text(locked_for: Option<i64>, failures: i64) -> String {
    match locked_for {
        Some(seconds) => format!("locked for another {}", duration(seconds)),
        None if failures > 0 => format!("not locked ({failures} failed attempts)"),
        None => "not locked".to_owned(),
    }
}
