//! The Audit Log pane: who did what to which mailbox, newest first, optionally for one mailbox.

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};

use super::intent::Intent;
use super::model::utc_seconds;
use crate::domain::{AuditRecord, DomainError, MailboxAddress};

/// How many entries the pane loads at most.
pub const AUDIT_LIMIT: usize = 5_000;

/// The Audit Log pane: the loaded entries and the mailbox filter.
#[derive(Default)]
pub struct AuditPane {
    filter: String,
    filter_error: Option<DomainError>,
    entries: Vec<AuditRecord>,
    wanted: Option<MailboxAddress>,
    loaded: bool,
}

impl AuditPane {
    /// Whether entries must be (re)loaded before the pane is drawn.
    pub fn needs_load(&self) -> bool {
        !self.loaded
    }

    /// The mailbox the entries are (to be) filtered by.
    pub fn wanted(&self) -> Option<&MailboxAddress> {
        self.wanted.as_ref()
    }

    /// Asks for the entries of one mailbox, or of all.
    pub fn request(&mut self, mailbox: Option<MailboxAddress>) {
        self.filter = mailbox.as_ref().map(ToString::to_string).unwrap_or_default();
        self.filter_error = None;
        self.wanted = mailbox;
        self.loaded = false;
    }

    /// Marks the entries as stale (after any change).
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    /// Takes freshly loaded entries.
    pub fn set_entries(&mut self, entries: Vec<AuditRecord>) {
        self.entries = entries;
        self.loaded = true;
    }

    /// Draws the pane.
    pub fn ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        ui.heading("Audit Log");
        ui.horizontal(|ui| {
            let label = ui.label("Mailbox");
            let field = ui
                .add(egui::TextEdit::singleline(&mut self.filter).hint_text("alice@example.com").desired_width(260.0))
                .labelled_by(label.id);
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Show entries").clicked() || enter {
                let trimmed = self.filter.trim();
                if trimmed.is_empty() {
                    intents.push(Intent::LoadAudit(None));
                } else {
                    match trimmed.parse::<MailboxAddress>() {
                        Ok(address) => intents.push(Intent::LoadAudit(Some(address))),
                        Err(e) => self.filter_error = Some(e),
                    }
                }
            }
            if ui.button("Show all").clicked() {
                intents.push(Intent::LoadAudit(None));
            }
        });
        if let Some(error) = &self.filter_error {
            ui.colored_label(ui.visuals().error_fg_color, error.to_string());
        }
        let scope = match self.wanted() {
            Some(address) => format!("for {address}"),
            None => "for every mailbox and the platform".to_owned(),
        };
        let more =
            if self.entries.len() >= AUDIT_LIMIT { format!(" (the newest {AUDIT_LIMIT})") } else { String::new() };
        ui.label(RichText::new(format!("{} entries {scope}{more}, newest first", self.entries.len())).weak());
        ui.add_space(2.0);
        self.table_ui(ui);
    }

    /// The loaded entries; only the visible rows are drawn.
    fn table_ui(&self, ui: &mut Ui) {
        // Clicks on a cell select the row rather than start a text selection.
        ui.style_mut().interaction.selectable_labels = false;
        let height = egui::TextStyle::Body.resolve(ui.style()).size.max(ui.spacing().interact_size.y);
        TableBuilder::new(ui)
            .id_salt("audit-table")
            .striped(true)
            .resizable(true)
            .auto_shrink(false)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(Column::initial(128.0).at_least(80.0).clip(true))
            // Who: `kind:name`, up to a user's whole address (`user:alice@example.com`).
            .column(Column::initial(150.0).at_least(80.0).clip(true))
            .column(Column::initial(145.0).at_least(60.0).clip(true))
            .column(Column::initial(125.0).at_least(60.0).clip(true))
            .column(Column::initial(72.0).at_least(40.0).clip(true))
            .column(Column::initial(125.0).at_least(40.0).clip(true))
            .column(Column::remainder().at_least(80.0).clip(true))
            .header(height + 4.0, |mut header| {
                for title in ["When (UTC)", "Who", "Mailbox", "Action", "Outcome", "IP (country)", "Detail"] {
                    header.col(|ui| {
                        ui.label(RichText::new(title).strong());
                    });
                }
            })
            .body(|body| {
                body.rows(height, self.entries.len(), |mut row| {
                    let Some(entry) = self.entries.get(row.index()).map(|record| &record.entry) else { return };
                    row.col(|ui| {
                        ui.label(utc_seconds(entry.at));
                    });
                    row.col(|ui| {
                        ui.label(&entry.actor).on_hover_text(&entry.actor);
                    });
                    row.col(|ui| {
                        ui.label(entry.mailbox.as_deref().unwrap_or("—"));
                    });
                    row.col(|ui| {
                        ui.label(&entry.action);
                    });
                    row.col(|ui| {
                        let outcome = entry.outcome.to_string();
                        if entry.outcome.is_bad() {
                            ui.colored_label(ui.visuals().error_fg_color, outcome);
                        } else {
                            ui.label(outcome);
                        }
                    });
                    row.col(|ui| {
                        let ip = match (&entry.ip, &entry.country) {
                            (Some(ip), Some(country)) => format!("{ip} ({country})"),
                            (Some(ip), None) => ip.clone(),
                            _ => String::new(),
                        };
                        ui.label(ip);
                    });
                    row.col(|ui| {
                        ui.label(entry.detail.as_deref().unwrap_or(""))
                            .on_hover_text(entry.detail.as_deref().unwrap_or(""));
                    });
                });
            });
    }
}
