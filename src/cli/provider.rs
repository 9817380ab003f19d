//! `mailmfa provider list|set|test`.

use clap::Subcommand;
use serde_json::json;

use super::output::{Output, table};
use super::values::words;
use super::{CliError, CliResult};
use crate::domain::{Provider, ProviderSwitches, Switch};
use crate::service::Service;

/// `mailmfa provider …`
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// List providers and their switches.
    List,
    /// Change a provider's switches.
    Set {
        /// The provider.
        #[arg(value_parser = words::<Provider>())]
        provider: Provider,
        /// Whether the provider exists at all.
        #[arg(long, value_name = "BOOL")]
        enabled: Option<Switch>,
        /// Whether administrators may assign it.
        #[arg(long, value_name = "BOOL")]
        admin_configurable: Option<Switch>,
        /// Whether end users may choose it.
        #[arg(long, value_name = "BOOL")]
        user_configurable: Option<Switch>,
    },
    /// Send one test message through the SMS gateway or the SMTP relay.
    Test {
        /// The provider whose channel to test (sms or smtp: TOTP codes are never sent).
        #[arg(value_parser = words::<Provider>())]
        provider: Provider,
        /// The phone number (E.164) or e-mail address to send to.
        #[arg(long, value_name = "DESTINATION")]
        to: String,
    },
}

/// Runs a `provider` command.
pub fn run(service: &Service, command: ProviderCommand) -> CliResult {
    match command {
        ProviderCommand::Test { provider, to } => {
            let test = service.send_test(provider, &to)?;
            let destination = test.destination();
            Ok(Output::done(
                format!("Sent a test message by {} to {destination}.", provider.label()),
                json!({"provider": provider, "to": destination, "sent": true}),
            ))
        }
        ProviderCommand::List => {
            let list = service.providers()?;
            let rows = list
                .iter()
                .map(|(p, s)| {
                    vec![
                        p.to_string(),
                        p.label().to_owned(),
                        s.enabled.to_string(),
                        s.admin_configurable.to_string(),
                        s.user_configurable.to_string(),
                    ]
                })
                .collect::<Vec<_>>();
            let value = list.iter().map(|(p, s)| switches_json(*p, s)).collect::<Vec<_>>();
            Ok(Output::data(
                table(&["PROVIDER", "NAME", "ENABLED", "ADMINS MAY CONFIGURE", "USERS MAY CONFIGURE"], &rows),
                value.into(),
            ))
        }
        ProviderCommand::Set { provider, enabled, admin_configurable, user_configurable } => {
            let [enabled, admin, user] = [enabled, admin_configurable, user_configurable].map(|s| s.map(|s| s.0));
            if enabled.is_none() && admin.is_none() && user.is_none() {
                return Err(CliError::usage("give --enabled, --admin-configurable and/or --user-configurable"));
            }
            let s = service.set_provider(provider, enabled, admin, user)?;
            Ok(Output::done(
                format!(
                    "Provider {provider}: enabled {}, administrators may configure {}, users may configure {}.",
                    s.enabled, s.admin_configurable, s.user_configurable
                ),
                switches_json(provider, &s),
            ))
        }
    }
}

/// A provider and its switches as JSON.
fn switches_json(provider: Provider, s: &ProviderSwitches) -> serde_json::Value {
    json!({"provider": provider, "label": provider.label(), "enabled": s.enabled,
           "admin_configurable": s.admin_configurable, "user_configurable": s.user_configurable})
}
