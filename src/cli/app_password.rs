//! `mailmfa app-password add|list|remove`: the passwords mail programs (Outlook, Thunderbird, a
//! phone's mail app) sign in with in place of the mailbox password.

use clap::Subcommand;
use serde_json::json;

use super::CliResult;
use super::output::{Output, table, when};
use crate::domain::{AppPassword, AppPasswordDays, AppPasswordName, MailboxAddress, Protocols};
use crate::service::{NewAppPassword, Service};

/// `mailmfa app-password …`
#[derive(Debug, Subcommand)]
pub enum AppPasswordCommand {
    /// Make an app password for a mail program and show it once.
    Add {
        /// mailbox@postoffice
        address: MailboxAddress,
        /// What the user calls the mail program ("Thunderbird at home"); unique per mailbox.
        #[arg(long)]
        name: AppPasswordName,
        /// The protocols it opens, comma-separated: imap, pop3, smtp, sieve.
        #[arg(long, value_name = "LIST", default_value = "imap,pop3,smtp,sieve")]
        protocols: Protocols,
        /// It stops working after so many days (1 to 3650); without it, when it is removed.
        #[arg(long, value_name = "N")]
        days: Option<AppPasswordDays>,
    },
    /// List a mailbox's app passwords with their last use (never the passwords).
    List {
        /// mailbox@postoffice
        address: MailboxAddress,
    },
    /// Remove an app password: the mail program using it is refused from its next sign-in, on
    /// every server.
    Remove {
        /// mailbox@postoffice
        address: MailboxAddress,
        /// Its name.
        name: AppPasswordName,
    },
}

/// Runs an `app-password` command.
pub fn run(service: &Service, command: AppPasswordCommand) -> CliResult {
    match command {
        AppPasswordCommand::Add { address, name, protocols, days } => {
            let issued = service.add_app_password(&address, &NewAppPassword { name, protocols, days })?;
            let until =
                issued.expires_at.map_or_else(|| "until it is removed".to_owned(), |at| format!("until {}", when(at)));
            Ok(Output::done(
                format!(
                    "App password {:?} for {address}: {}\nIt opens {} {until}; the mail program uses it in place of \
                     the mailbox password. It is not shown again.",
                    issued.name.as_str(),
                    issued.password.shown(),
                    issued.protocols,
                ),
                Output::json_of(&issued)?,
            ))
        }
        AppPasswordCommand::List { address } => {
            let list = service.app_passwords(&address)?;
            let rows: Vec<Vec<String>> = list.iter().map(row).collect();
            Ok(Output::data(
                table(&["NAME", "PROTOCOLS", "CREATED", "EXPIRES", "LAST USED", "FROM", "OVER"], &rows),
                Output::json_of(&list)?,
            ))
        }
        AppPasswordCommand::Remove { address, name } => {
            service.remove_app_password(&address, &name)?;
            Ok(Output::done(
                format!("Removed the app password {:?} of {address}.", name.as_str()),
                json!({"address": address, "name": name, "removed": true}),
            ))
        }
    }
}

fn row(p: &AppPassword) -> Vec<String> {
    let last = p.last_used.as_ref();
    vec![
        p.name.to_string(),
        p.protocols.to_string(),
        when(p.created_at),
        p.expires_at.map(when).unwrap_or_else(|| "never".to_owned()),
        last.map(|l| when(l.at)).unwrap_or_else(|| "never".to_owned()),
        last.map(|l| l.ip.clone()).unwrap_or_default(),
        last.map(|l| l.protocol.to_string()).unwrap_or_default(),
    ]
}
