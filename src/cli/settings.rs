//! `mailmfa settings show [KEY]|set KEY VALUE`.

use clap::Subcommand;
use serde_json::json;

use super::output::{Output, shorten, wrap};
use super::{CliError, CliResult};
use crate::domain::setting;
use crate::service::{Service, SettingView};

/// Where a setting's value starts in `settings show`: after the longest key.
const VALUE_COLUMN: usize = 34;
/// How wide `settings show` keeps its lines (a terminal's 80 columns).
const WIDTH: usize = 80;

/// `mailmfa settings …`
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show every setting (secrets as ***, long values shortened), or one in full.
    Show {
        /// Only this setting, its value in full.
        key: Option<String>,
    },
    /// Set one setting.
    Set {
        /// The key, e.g. lockout.threshold.
        key: String,
        /// The value.
        value: String,
    },
}

/// Runs a `settings` command.
pub fn run(service: &Service, command: SettingsCommand) -> CliResult {
    match command {
        SettingsCommand::Show { key: None } => {
            let list = service.settings()?;
            let text: String = list.iter().map(summary).collect();
            let value: serde_json::Map<String, serde_json::Value> =
                list.iter().map(|s| (s.def.key.to_owned(), json!(s.shown))).collect();
            Ok(Output::data(text, value.into()))
        }
        SettingsCommand::Show { key: Some(key) } => {
            let def = setting(&key)?;
            let view = service
                .settings()?
                .into_iter()
                .find(|s| s.def.key == def.key)
                .ok_or_else(|| CliError::internal(format!("{} is missing from the settings", def.key)))?;
            let text = format!(
                "key:     {}\nvalue:   {}\ndefault: {}\nmeaning: {}\n",
                def.key,
                view.shown.replace('\n', "\n         "),
                if view.is_set { "no" } else { "yes" },
                wrap(def.help, WIDTH - 9).join("\n         ")
            );
            Ok(Output::data(
                text,
                json!({"key": def.key, "value": view.shown, "default": !view.is_set, "meaning": def.help}),
            ))
        }
        SettingsCommand::Set { key, value } => {
            service.set_setting(&key, &value)?;
            let key = key.trim();
            let shown = service.settings()?.into_iter().find(|s| s.def.key == key).map(|s| s.shown).unwrap_or_default();
            Ok(Output::done(format!("Set {key} = {shown}."), json!({"key": key, "value": shown})))
        }
    }
}

/// A setting in the list: its key and value (shortened to the line) on one line, its meaning
/// wrapped below.
fn summary(view: &SettingView) -> String {
    let marker = if view.is_set { "" } else { "  (default)" };
    let room = WIDTH - VALUE_COLUMN - marker.len();
    let value = shorten(&view.shown.replace(['\n', '\r'], " "), room);
    let mut text = format!("{:<VALUE_COLUMN$}{value}{marker}", view.def.key).trim_end().to_owned() + "\n";
    for line in wrap(view.def.help, WIDTH - 4) {
        text += &format!("    {line}\n");
    }
    text
}
