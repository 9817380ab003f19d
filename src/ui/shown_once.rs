//! A secret the store keeps only as a hash — an API key, a temporary access pass, recovery codes —
//! shown once after it was made: what it is for, the secret itself with *Copy* (and *Save…*
//! where a file helps), and *Hide*.

use egui::{RichText, Ui};

/// Draws the box; returns true when the administrator hid it. `what` names the buttons
/// (*Copy key*, *Hide key*).
pub fn shown_once(ui: &mut Ui, note: &str, secret: &str, what: &str) -> bool {
    shown_once_with(ui, note, secret, what, None)
}

/// [`shown_once`] with a *Save…* button that calls `save`.
pub fn shown_once_saved(ui: &mut Ui, note: &str, secret: &str, what: &str, save: &mut dyn FnMut()) -> bool {
    shown_once_with(ui, note, secret, what, Some(save))
}

fn shown_once_with(ui: &mut Ui, note: &str, secret: &str, what: &str, save: Option<&mut dyn FnMut()>) -> bool {
    let mut hide = false;
    egui::Frame::group(ui.style()).fill(ui.visuals().extreme_bg_color).show(ui, |ui| {
        ui.label(RichText::new(note).strong());
        ui.horizontal(|ui| {
            ui.label(RichText::new(secret).monospace().size(15.0));
            ui.vertical(|ui| {
                if ui.button(format!("Copy {what}")).clicked() {
                    ui.ctx().copy_text(secret.to_owned());
                }
                if let Some(save) = save
                    && ui.button("Save…").clicked()
                {
                    save();
                }
                hide = ui.button(format!("Hide {what}")).clicked();
            });
        });
    });
    hide
}
