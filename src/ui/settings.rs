//! The settings forms, built from the settings table ([`SETTINGS`]): a form covers some
//! [`SettingGroup`]s and shows every setting of them in the table's order, labelled with its
//! `label` and explained by its `help`, with a widget chosen by its kind. A draft of strings per
//! setting is checked with the setting's own rules on Apply, errors under each field, only changed
//! values saved. Adding a setting to the table adds it here with no change to the console.
//!
//! The Settings pane shows the General, Security and Geo groups; the Challenge Providers pane
//! ([`super::providers`]) the SMTP relay and the SMS gateway.

use egui::{RichText, Ui};

use super::intent::{Intent, PlatformIntent};
use super::model::Snapshot;
use crate::domain::{DomainError, SETTINGS, SettingDef, SettingGroup, SettingKind};

/// One setting being edited.
struct Field {
    def: &'static SettingDef,
    value: String,
    stored: String,
    secret_is_set: bool,
    error: Option<DomainError>,
}

/// A form over the settings of some groups.
pub struct SettingsForm {
    fields: Vec<Field>,
    loaded_generation: Option<u64>,
}

impl SettingsForm {
    /// A form over every setting of `groups`, in the table's order.
    pub fn new(groups: &[SettingGroup]) -> Self {
        let fields = SETTINGS
            .iter()
            .filter(|def| groups.contains(&def.group))
            .map(|def| Field { def, value: String::new(), stored: String::new(), secret_is_set: false, error: None })
            .collect();
        Self { fields, loaded_generation: None }
    }

    /// Fills the form from the store's values once.
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
                    field.error = Some(e);
                    valid = false;
                }
            }
        }
        valid.then_some(changed)
    }

    /// Draws the settings of `group` as a two-column grid. `extra` may add rows after a field (the
    /// Browse… buttons of a path).
    pub fn group_ui(
        &mut self,
        ui: &mut Ui,
        group: SettingGroup,
        mut extra: impl FnMut(&mut Ui, &'static SettingDef, &mut String),
    ) {
        egui::Grid::new(("settings-group", group.title())).num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
            for field in self.fields.iter_mut().filter(|f| f.def.group == group) {
                field_ui(ui, field);
                extra(ui, field.def, &mut field.value);
            }
        });
    }
}

/// Draws one field as a row of a two-column grid, with its error on the next row.
fn field_ui(ui: &mut Ui, field: &mut Field) {
    let def = field.def;
    let tooltip = format!("{}\n\nSetting {} (mailmfa settings set {} …)", capitalised(def.help), def.key, def.key);
    let label = ui.label(def.label).on_hover_text(tooltip);
    match def.kind {
        SettingKind::Choice(words) => {
            egui::ComboBox::from_id_salt(("setting", def.key))
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
            ui.add(egui::TextEdit::singleline(&mut field.value).password(true).hint_text(hint).desired_width(220.0))
                .labelled_by(label.id);
        }
        SettingKind::MultilineText => {
            ui.add(egui::TextEdit::multiline(&mut field.value).desired_rows(3).desired_width(320.0))
                .labelled_by(label.id);
        }
        SettingKind::Int { .. } => {
            ui.add(egui::TextEdit::singleline(&mut field.value).desired_width(80.0)).labelled_by(label.id);
        }
        SettingKind::Name | SettingKind::Text | SettingKind::Email | SettingKind::Url | SettingKind::Path => {
            ui.add(egui::TextEdit::singleline(&mut field.value).hint_text(def.default).desired_width(320.0))
                .labelled_by(label.id);
        }
    }
    ui.end_row();
    if let Some(error) = &field.error {
        ui.label("");
        ui.colored_label(ui.visuals().error_fg_color, error.to_string());
        ui.end_row();
    }
}

/// `help` starts in lower case (it follows a key in `settings show`); a tooltip is a sentence.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The groups of the Settings pane.
const GROUPS: [SettingGroup; 5] = [
    SettingGroup::General,
    SettingGroup::Security,
    SettingGroup::MailPrograms,
    SettingGroup::Geo,
    SettingGroup::Notifications,
];

/// The Settings pane.
pub struct SettingsPane {
    form: SettingsForm,
}

impl Default for SettingsPane {
    fn default() -> Self {
        Self { form: SettingsForm::new(&GROUPS) }
    }
}

impl SettingsPane {
    /// Shows the stored values after a save of `saved`, keeping other edits.
    pub fn refresh(&mut self, snapshot: &Snapshot, saved: &[&str]) {
        self.form.refresh(snapshot, Some(saved));
    }

    /// Puts a file chosen in a dialog into the field of `key`.
    pub fn set_value(&mut self, key: &str, value: String) {
        self.form.set_value(key, value);
    }

    /// Draws the pane.
    pub fn ui(&mut self, ui: &mut Ui, snapshot: &Snapshot, intents: &mut Vec<Intent>) {
        self.form.load_if_needed(snapshot);
        ui.heading("Settings");
        ui.label(RichText::new("The security policy every server sharing this store applies.").weak());
        // The buttons stay in sight below the groups, however far they scroll.
        egui::Panel::bottom("settings-buttons").show(ui, |ui| {
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                if ui.button("Apply settings").clicked()
                    && let Some(values) = self.form.parse().filter(|v| !v.is_empty())
                {
                    intents.push(Intent::Platform(PlatformIntent::SaveSettings(values)));
                }
                if ui.add_enabled(self.form.is_dirty(), egui::Button::new("Revert changes")).clicked() {
                    self.form.load(snapshot);
                }
            });
        });
        egui::ScrollArea::vertical().id_salt("settings-pane").auto_shrink(false).show(ui, |ui| {
            for group in GROUPS {
                ui.add_space(8.0);
                ui.label(RichText::new(group.title()).strong());
                self.form.group_ui(ui, group, |ui, def, value| path_buttons(ui, def, value, intents));
            }
        });
    }
}

/// After a path field: Browse… (a native file dialog) and the way back to the built-in file.
fn path_buttons(ui: &mut Ui, def: &'static SettingDef, value: &mut String, intents: &mut Vec<Intent>) {
    if def.kind != SettingKind::Path {
        return;
    }
    let default = if def.group == SettingGroup::Geo { "Use the bundled database" } else { "Use the default" };
    ui.label("");
    ui.horizontal(|ui| {
        if ui.button("Browse…").on_hover_text(format!("Choose the {}", def.label)).clicked() {
            intents.push(Intent::Platform(PlatformIntent::BrowseFile(def)));
        }
        if ui.button(default).clicked() {
            value.clear();
        }
    });
    ui.end_row();
}
