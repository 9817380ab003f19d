//! The Settings pane (issuer, lockout, code lifetime, GeoIP database file) and the settings form it
//! shares with the Challenge Providers pane: a draft of strings per setting, checked with the
//! setting's own rules on Apply, errors under each field, only changed values saved.

use egui::{RichText, Ui};

use super::model::{Command, Snapshot};
use crate::domain::{SettingDef, SettingKind, setting};

/// One setting being edited.
struct Field {
    def: &'static SettingDef,
    label: &'static str,
    value: String,
    stored: String,
    secret_is_set: bool,
    error: Option<String>,
}

/// A form over some settings.
pub struct SettingsForm {
    fields: Vec<Field>,
    loaded_generation: Option<u64>,
}

impl SettingsForm {
    /// A form over the settings `keys`, each with the label the console shows.
    pub fn new(keys: &[(&'static str, &'static str)]) -> Self {
        let fields = keys
            .iter()
            .filter_map(|(key, label)| setting(key).ok().map(|def| (def, *label)))
            .map(|(def, label)| Field {
                def,
                label,
                value: String::new(),
                stored: String::new(),
                secret_is_set: false,
                error: None,
            })
            .collect();
        Self { fields, loaded_generation: None }
    }

    /// Fills the form from the store's values once, and again after a save.
    pub fn load_if_needed(&mut self, snapshot: &Snapshot) {
        if self.loaded_generation.is_none() {
            self.load(snapshot);
        }
    }

    /// Fills the form from the store's values, dropping edits.
    pub fn load(&mut self, snapshot: &Snapshot) {
        self.refresh(snapshot, None);
    }

    /// After a save: shows the stored values of the `saved` keys and of the fields not being
    /// edited, and keeps other edits.
    pub fn refresh(&mut self, snapshot: &Snapshot, saved: Option<&[&str]>) {
        for field in &mut self.fields {
            let keep = saved.is_some_and(|keys| !keys.contains(&field.def.key)) && field.value != field.stored;
            if keep {
                continue;
            }
            let view = snapshot.setting(field.def.key);
            let shown = view.map(|v| v.shown.clone()).unwrap_or_else(|| field.def.default.to_owned());
            if field.def.is_secret() {
                field.secret_is_set = !shown.is_empty();
                field.stored = String::new();
            } else {
                field.stored = shown;
            }
            field.value = field.stored.clone();
            field.error = None;
        }
        self.loaded_generation = Some(snapshot.generation);
    }

    /// The value being edited.
    pub fn value(&self, key: &str) -> &str {
        self.fields.iter().find(|f| f.def.key == key).map_or("", |f| f.value.as_str())
    }

    /// Replaces the value being edited (for example from a file dialog).
    pub fn set_value(&mut self, key: &str, value: String) {
        if let Some(field) = self.fields.iter_mut().find(|f| f.def.key == key) {
            field.value = value;
        }
    }

    /// Whether anything was edited.
    pub fn is_dirty(&self) -> bool {
        self.fields.iter().any(|f| f.value != f.stored)
    }

    /// Checks every field; the changed values when all are valid, else `None` with the errors shown.
    pub fn parse(&mut self) -> Option<Vec<(&'static str, String)>> {
        let mut changed = Vec::new();
        let mut valid = true;
        for field in &mut self.fields {
            field.error = None;
            if field.value == field.stored {
                continue;
            }
            match field.def.parse(&field.value) {
                Ok(value) => changed.push((field.def.key, value)),
                Err(e) => {
                    field.error = Some(e.to_string());
                    valid = false;
                }
            }
        }
        valid.then_some(changed)
    }

    /// Draws the field of `key` as a row of a two-column grid, with its error on the next row.
    pub fn field_ui(&mut self, ui: &mut Ui, key: &str) {
        let Some(field) = self.fields.iter_mut().find(|f| f.def.key == key) else {
            return;
        };
        let label = ui.label(field.label).on_hover_text(field.def.description);
        match field.def.kind {
            SettingKind::Choice(words) => {
                egui::ComboBox::from_id_salt(("setting", field.def.key))
                    .width(220.0)
                    .selected_text(field.value.as_str())
                    .show_ui(ui, |ui| {
                        for word in words {
                            ui.selectable_value(&mut field.value, (*word).to_owned(), *word);
                        }
                    })
                    .response
                    .labelled_by(label.id);
            }
            SettingKind::Bool => {
                let mut on = field.value == "true";
                if ui.add(egui::Checkbox::without_text(&mut on)).labelled_by(label.id).changed() {
                    field.value = on.to_string();
                }
            }
            SettingKind::Secret => {
                let hint = if field.secret_is_set { "(set — type to replace)" } else { "(not set)" };
                ui.add(
                    egui::TextEdit::singleline(&mut field.value).password(true).hint_text(hint).desired_width(220.0),
                )
                .labelled_by(label.id);
            }
            SettingKind::MultilineText => {
                ui.add(egui::TextEdit::multiline(&mut field.value).desired_rows(3).desired_width(320.0))
                    .labelled_by(label.id);
            }
            SettingKind::Int { .. } => {
                ui.add(egui::TextEdit::singleline(&mut field.value).desired_width(80.0)).labelled_by(label.id);
            }
            SettingKind::Text | SettingKind::Email | SettingKind::Url | SettingKind::Path => {
                ui.add(egui::TextEdit::singleline(&mut field.value).hint_text(field.def.default).desired_width(320.0))
                    .labelled_by(label.id);
            }
        }
        ui.end_row();
        if let Some(error) = &field.error {
            ui.label("");
            ui.colored_label(ui.visuals().error_fg_color, error);
            ui.end_row();
        }
    }
}

const KEYS: [(&str, &str); 6] = [
    ("issuer", "Issuer"),
    ("lockout.threshold", "Failures before a lock"),
    ("lockout.seconds", "First lock length (seconds)"),
    ("code.lifetime_seconds", "Code lifetime (seconds)"),
    ("code.sends_per_hour", "Codes sent per mailbox per hour"),
    ("geoip.path", "GeoIP database file"),
];

/// The Settings pane.
pub struct SettingsPane {
    form: SettingsForm,
}

impl Default for SettingsPane {
    fn default() -> Self {
        Self { form: SettingsForm::new(&KEYS) }
    }
}

impl SettingsPane {
    /// Shows the stored values after a save of `saved`, keeping other edits.
    pub fn refresh(&mut self, snapshot: &Snapshot, saved: &[&str]) {
        self.form.refresh(snapshot, Some(saved));
    }

    /// Puts a file chosen in the native dialog into the GeoIP field.
    pub fn set_geoip_path(&mut self, path: String) {
        self.form.set_value("geoip.path", path);
    }

    /// Draws the pane.
    pub fn ui(&mut self, ui: &mut Ui, snapshot: &Snapshot, commands: &mut Vec<Command>) {
        self.form.load_if_needed(snapshot);
        ui.heading("Settings");
        ui.label(RichText::new("The security policy every server sharing this store applies.").weak());
        ui.add_space(8.0);
        egui::Grid::new("settings-grid").num_columns(2).spacing([16.0, 8.0]).show(ui, |ui| {
            for (key, _) in KEYS {
                self.form.field_ui(ui, key);
                if key == "geoip.path" {
                    ui.label("");
                    ui.horizontal(|ui| {
                        if ui.button("Browse…").clicked() {
                            commands.push(Command::BrowseGeoip);
                        }
                        if ui.button("Use the bundled database").clicked() {
                            self.form.set_value("geoip.path", String::new());
                        }
                    });
                    ui.end_row();
                }
            }
        });
        ui.add_space(4.0);
        for (key, _) in KEYS {
            if let Some(def) = snapshot.setting(key).map(|v| v.def) {
                ui.label(RichText::new(format!("{}: {}", def.key, def.description)).weak().small());
            }
        }
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui.button("Apply settings").clicked() {
                if let Some(values) = self.form.parse() {
                    if !values.is_empty() {
                        commands.push(Command::SaveSettings(values));
                    }
                }
            }
            if ui.add_enabled(self.form.is_dirty(), egui::Button::new("Revert changes")).clicked() {
                self.form.load(snapshot);
            }
        });
    }
}
