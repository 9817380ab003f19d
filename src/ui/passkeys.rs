//! A mailbox's passkeys in its Properties → *Two Factor*: each with when it was registered and
//! last used, and *Remove…* (after asking). Passkeys are registered by their user at a sign-in,
//! never here.

use egui::{RichText, Ui};

use super::intent::{Confirmation, Intent};
use super::model::when;
use crate::domain::{MailboxAddress, Passkey};

/// The list, or a line saying there is none yet.
pub fn passkeys_ui(ui: &mut Ui, address: &MailboxAddress, passkeys: &[Passkey], intents: &mut Vec<Intent>) {
    ui.label(RichText::new("Passkeys").strong());
    if passkeys.is_empty() {
        ui.label(RichText::new("None yet: the next login that needs one registers it.").weak());
        return;
    }
    egui::Grid::new(("passkeys", address.to_string())).striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
        for title in ["Name", "Registered", "Last used"] {
            ui.label(RichText::new(title).strong());
        }
        ui.end_row();
        for passkey in passkeys {
            ui.label(passkey.name.as_str());
            ui.label(when(Some(passkey.created_at)));
            ui.label(passkey.last_used_at.map_or_else(|| "never".to_owned(), |at| when(Some(at))));
            if ui.button(format!("Remove {}…", passkey.name)).clicked() {
                intents.push(Confirmation::remove_passkey(address, &passkey.name));
            }
            ui.end_row();
        }
    });
}
