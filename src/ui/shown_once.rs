//! A secret the store keeps only as a hash — an API key, a temporary access pass — shown once
//! after it was made: what it is for, the secret itself with *Copy*, and *Hide*.

use egui::{RichText, Ui};

/// Draws the box; returns true when the administrator hid it. `what` names the buttons
/// (*Copy key*, *Hide key*).
pub fn shown_once(ui: &mut Ui, note: &str, secret: &str, what: &str) -> bool {
    let mut hide = false;
    egui::Frame::group(ui.style()).fill(ui.visuals().extreme_bg_color).show(ui, |ui| {
        ui.label(RichText::new(note).strong());
        ui.horizontal(|ui| {
            ui.label(RichText::new(secret).monospace().size(15.0));
            if ui.button(format!("Copy {what}")).clicked() {
                ui.ctx().copy_text(secret.to_owned());
            }
            hide = ui.button(format!("Hide {what}")).clicked();
        });
    });
    hide
}
