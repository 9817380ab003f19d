//! The login preview (Action → Login Preview…): the webmail's sequence after the password was
//! accepted, for one mailbox from a chosen IP address — the decision and its reason, the QR code
//! of a TOTP enrolment, the delivery of an SMS or e-mailed code, a code and the outcome — run by
//! the real engine on the real store. The decision is taken on the UI thread (one short
//! transaction); a code it sends goes out as a background job, and the window shows
//! "Sending the code…" until the job reports back.

use egui::{Context, Id, RichText, TextureHandle, Ui};

use super::intent::{Intent, PreviewIntent};
use super::mailbox_properties::QR_PREVIEW_SIZE;
use super::model::duration;
use crate::domain::{BeginAnswer, DomainError, LetterCode, LoginIp, MailboxAddress, Passcode, Verified, VerifyAnswer};
use crate::service::ServiceError;

/// What `begin` answered, with the QR code of an enrolment.
pub struct BeginView {
    /// The address the login came from.
    pub ip: LoginIp,
    /// The engine's answer.
    pub answer: BeginAnswer,
    /// The QR code of an enrolment URI.
    pub qr: Option<TextureHandle>,
}

/// Where the code `begin` sent stands.
enum Delivery {
    /// Nothing to send (TOTP, or no challenge).
    None,
    /// A background job is sending it.
    Sending,
    /// It went out.
    Sent,
    /// It could not be sent: the login fails closed.
    Failed(ServiceError),
    /// The job sending it stopped without an answer.
    Lost,
}

/// The login preview window of one mailbox.
pub struct LoginPreview {
    address: MailboxAddress,
    ip: String,
    ip_error: Option<DomainError>,
    code: String,
    code_error: Option<DomainError>,
    begin: Option<Result<BeginView, ServiceError>>,
    delivery: Delivery,
    verify: Option<Result<Verified, ServiceError>>,
    open: bool,
}

impl LoginPreview {
    /// A preview from a documentation address (RFC 5737).
    pub fn new(address: MailboxAddress) -> Self {
        Self {
            address,
            ip: "203.0.113.10".to_owned(),
            ip_error: None,
            code: String::new(),
            code_error: None,
            begin: None,
            delivery: Delivery::None,
            verify: None,
            open: true,
        }
    }

    /// The window's id (its layer is in front when Esc should close it).
    pub fn id(&self) -> Id {
        Id::unique(("login-preview", self.address.to_string()))
    }

    /// The mailbox.
    pub fn address(&self) -> &MailboxAddress {
        &self.address
    }

    /// Whether the window is still open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Closes the window.
    pub fn close(&mut self) {
        self.open = false;
    }

    /// Takes the answer of `begin` (or why there is none); `sending` says that a code is on its way
    /// in the background.
    pub fn set_begin(&mut self, result: Result<BeginView, ServiceError>, sending: bool) {
        self.begin = Some(result);
        self.delivery = if sending { Delivery::Sending } else { Delivery::None };
        self.verify = None;
        self.code.clear();
        self.code_error = None;
    }

    /// Takes the outcome of the code's delivery.
    pub fn set_delivered(&mut self, result: Result<(), ServiceError>) {
        self.delivery = match result {
            Ok(()) => Delivery::Sent,
            Err(e) => Delivery::Failed(e),
        };
    }

    /// Shows that the job sending the code stopped without an answer.
    pub fn delivery_lost(&mut self) {
        self.delivery = Delivery::Lost;
    }

    /// Whether a code is being sent.
    pub fn is_sending(&self) -> bool {
        matches!(self.delivery, Delivery::Sending)
    }

    /// Takes the answer of `verify` (or why there is none).
    pub fn set_verify(&mut self, result: Result<Verified, ServiceError>) {
        self.verify = Some(result);
    }

    /// The enrolment URI `begin` answered with, if it asked to enrol.
    pub fn enrolment_uri(&self) -> Option<&str> {
        match &self.begin {
            Some(Ok(BeginView { answer: BeginAnswer::Enroll { otpauth_uri, .. }, .. })) => Some(otpauth_uri),
            _ => None,
        }
    }

    /// Draws the window.
    pub fn show(&mut self, ctx: &Context, intents: &mut Vec<Intent>) {
        let mut open = self.open;
        egui::Window::new(format!("Login Preview — {}", self.address))
            .id(self.id())
            .pivot(egui::Align2::CENTER_TOP)
            .default_pos(egui::pos2(ctx.content_rect().center().x + 80.0, 70.0))
            .open(&mut open)
            .collapsible(false)
            .resizable(true)
            .default_width(480.0)
            .show(ctx, |ui| self.contents_ui(ui, intents));
        self.open &= open;
    }

    fn contents_ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        ui.label(
            RichText::new(
                "What the webmail does after the password was accepted, run by the real engine on this store: \
                 SMS and e-mail codes are really sent, and an accepted code enrols the secret and makes the \
                 address known, as a real login would. Every step is in the audit log.",
            )
            .weak(),
        );
        ui.add_space(6.0);
        let sending = self.is_sending();
        ui.horizontal(|ui| {
            let label = ui.label("IP address");
            ui.add(egui::TextEdit::singleline(&mut self.ip).desired_width(200.0)).labelled_by(label.id);
            let begin = ui
                .add_enabled(!sending, egui::Button::new("Begin login"))
                .on_disabled_hover_text("Wait until the code was sent.");
            if begin.clicked() {
                match self.ip.parse::<LoginIp>() {
                    Ok(ip) => {
                        self.ip_error = None;
                        intents.push(Intent::Preview(self.address.clone(), PreviewIntent::Begin(ip)));
                    }
                    Err(e) => self.ip_error = Some(e),
                }
            }
        });
        if let Some(error) = &self.ip_error {
            ui.colored_label(ui.visuals().error_fg_color, error.to_string());
        }
        let Some(begin) = &self.begin else { return };
        ui.separator();
        let view = match begin {
            Ok(view) => view,
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("The engine could not answer: {e}"));
                return;
            }
        };
        let wants_code = decision_ui(ui, view, &self.delivery);
        if !wants_code {
            return;
        }
        let ip = view.ip;
        self.code_ui(ui, ip, intents);
    }

    /// The code field, and what the engine said of the code.
    fn code_ui(&mut self, ui: &mut Ui, ip: LoginIp, intents: &mut Vec<Intent>) {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let label = ui.label("Code");
            let field = ui
                .add(egui::TextEdit::singleline(&mut self.code).hint_text("123456").desired_width(110.0))
                .on_hover_text("The 6-digit code, or a temporary access pass (abcde-fghjk)")
                .labelled_by(label.id);
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Verify code").clicked() || enter {
                match self.code.trim().parse::<Passcode>() {
                    Ok(_) => {
                        self.code_error = None;
                        intents.push(Intent::Preview(
                            self.address.clone(),
                            PreviewIntent::Verify { ip, code: self.code.trim().to_owned() },
                        ));
                    }
                    Err(e) => self.code_error = Some(e),
                }
            }
        });
        if let Some(error) = &self.code_error {
            ui.colored_label(ui.visuals().error_fg_color, error.to_string());
        }
        match &self.verify {
            Some(Ok(Verified { answer: VerifyAnswer::Accepted, recovery_codes, .. })) => {
                ui.colored_label(
                    egui::Color32::from_rgb(46, 140, 67),
                    "Accepted: the login goes on. The IP address and its country are now known for this mailbox.",
                );
                if let Some(codes) = recovery_codes {
                    ui.label(
                        "The enrolment is complete, and the mailbox got its recovery codes. A real login shows them \
                         to the user this once; they are not shown again:",
                    );
                    ui.label(RichText::new(LetterCode::table(codes, 5)).monospace());
                }
            }
            Some(Ok(Verified { answer: VerifyAnswer::Rejected { reason }, .. })) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("Rejected ({reason}): the login is refused."));
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("The engine could not answer: {e}"));
            }
            None => {}
        }
    }
}

/// Shows the decision and where its code stands; returns whether the login now waits for a code.
fn decision_ui(ui: &mut Ui, view: &BeginView, delivery: &Delivery) -> bool {
    let reason = view.answer.reason().map(|r| format!(" — {} ({r})", r.describe())).unwrap_or_default();
    let strong = |text: String| RichText::new(text).strong();
    match &view.answer {
        BeginAnswer::Allow { .. } => {
            ui.label(strong(format!("Decision: allow without a second factor{reason}")));
            false
        }
        BeginAnswer::Challenge { provider, sent_to, .. } => {
            ui.label(strong(format!("Decision: challenge with {}{reason}", provider.label())));
            match (sent_to, delivery) {
                (None, _) => {
                    ui.label("The user types the current code from their authenticator app.");
                    true
                }
                (Some(to), Delivery::Sending) => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(format!("Sending the code to {to}…"));
                    });
                    false
                }
                (Some(to), Delivery::Sent | Delivery::None) => {
                    ui.label(format!("A one-time code was sent to {to}."));
                    true
                }
                (Some(_), Delivery::Failed(e)) => {
                    ui.colored_label(ui.visuals().error_fg_color, sentence(&e.to_string()));
                    false
                }
                (Some(_), Delivery::Lost) => {
                    ui.colored_label(ui.visuals().error_fg_color, "Sending the code stopped without an answer.");
                    false
                }
            }
        }
        BeginAnswer::Enroll { .. } => {
            ui.label(strong(format!("Decision: enrol a TOTP app{reason}")));
            ui.label("The login page shows this QR code; the user scans it and types the first code.");
            if let Some(texture) = &view.qr {
                ui.add(
                    egui::Image::new(texture)
                        .fit_to_exact_size(egui::vec2(QR_PREVIEW_SIZE, QR_PREVIEW_SIZE))
                        .alt_text("QR code of the enrolment URI"),
                );
            }
            true
        }
        BeginAnswer::Locked { retry_after_s, .. } => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Decision: locked{reason}; the user may retry in {}.", duration(*retry_after_s)),
            );
            false
        }
        BeginAnswer::Refused { .. } => {
            ui.colored_label(ui.visuals().error_fg_color, format!("Decision: refused{reason}."));
            false
        }
    }
}

/// An error message as a sentence: capitalised, with a full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    let end = if message.ends_with('.') { "" } else { "." };
    format!("{first}{}{end}", chars.as_str())
}
