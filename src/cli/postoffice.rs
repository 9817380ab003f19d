//! `mailmfa postoffice add|remove|list|set`.

use clap::Subcommand;
use serde_json::json;

use super::output::{Output, table};
use super::values::{Networks, words};
use super::{CliError, CliResult};
use crate::domain::{ChallengeMode, MailPrograms, PostOffice, PostOfficeName, Switch, join_networks};
use crate::service::{PostOfficeChanges, Service};

/// `mailmfa postoffice …`
#[derive(Debug, Subcommand)]
pub enum PostofficeCommand {
    /// Create a post office (challenge mode never, self-service off).
    Add {
        /// Its name.
        name: PostOfficeName,
    },
    /// Remove a post office.
    Remove {
        /// Its name.
        name: PostOfficeName,
        /// Also remove its mailboxes.
        #[arg(long)]
        with_mailboxes: bool,
    },
    /// List post offices.
    List,
    /// Set a post office's default challenge mode, self-service switch, trusted networks, whether
    /// remembered devices skip Prompt Always, and whether mail programs may use the mailbox
    /// password.
    Set {
        /// Its name.
        name: PostOfficeName,
        /// The challenge mode its mailboxes inherit.
        #[arg(long, value_name = "MODE", value_parser = words::<ChallengeMode>())]
        challenge: Option<ChallengeMode>,
        /// Whether users may configure their own two-factor settings (true/false).
        #[arg(long, value_name = "BOOL")]
        users_may_configure: Option<Switch>,
        /// Networks whose logins count as known in new-ip and new-country modes (CIDR,
        /// comma-separated; "" trusts none).
        #[arg(long, value_name = "CIDR,…")]
        trusted_networks: Option<Networks>,
        /// Whether a device its user had remembered skips Prompt Always too (true/false). Off by
        /// default: Prompt Always asks at every sign-in, remembered device or not.
        #[arg(long, value_name = "BOOL")]
        remember_in_always: Option<Switch>,
        /// Whether its mail programs (IMAP, POP3, SMTP) may sign in with the mailbox password:
        /// password, app-passwords, enrolled (app passwords once the mailbox has its second
        /// factor), or inherit (the platform's mailprog.policy).
        #[arg(long, value_name = "POLICY", value_parser = words::<MailPrograms>())]
        mail_programs: Option<MailPrograms>,
    },
}

/// Runs a `postoffice` command.
pub fn run(service: &Service, command: PostofficeCommand) -> CliResult {
    match command {
        PostofficeCommand::Add { name } => {
            service.add_postoffice(&name)?;
            Ok(Output::done(format!("Added post office {name}."), json!({"postoffice": name, "added": true})))
        }
        PostofficeCommand::Remove { name, with_mailboxes } => {
            let removed = service.remove_postoffice(&name, with_mailboxes)?;
            Ok(Output::done(
                format!("Removed post office {name} and {removed} mailboxes."),
                json!({"postoffice": name, "removed": true, "mailboxes_removed": removed}),
            ))
        }
        PostofficeCommand::List => list(service),
        PostofficeCommand::Set {
            name,
            challenge,
            users_may_configure,
            trusted_networks,
            remember_in_always,
            mail_programs,
        } => {
            let changes = PostOfficeChanges {
                challenge,
                users_may_configure: users_may_configure.map(|s| s.0),
                trusted_networks: trusted_networks.map(|n| n.0),
                remember_in_always: remember_in_always.map(|s| s.0),
                mail_programs,
            };
            if changes == PostOfficeChanges::default() {
                return Err(CliError::usage(
                    "give --challenge, --users-may-configure, --trusted-networks, --remember-in-always and/or \
                     --mail-programs",
                ));
            }
            service.set_postoffice(&name, &changes)?;
            let po = service.postoffice(&name)?;
            let trusted = join_networks(&po.trusted_networks);
            Ok(Output::done(
                format!(
                    "Post office {name}: challenge {}, users may configure: {}, trusted networks: {}, remembered \
                     devices skip Prompt Always: {}, mail programs: {}.",
                    po.challenge,
                    po.users_may_configure,
                    if trusted.is_empty() { "none" } else { &trusted },
                    po.remember_in_always,
                    po.mail_programs
                ),
                settings_json(&po),
            ))
        }
    }
}

fn list(service: &Service) -> CliResult {
    let list = service.postoffices()?;
    let rows = list
        .iter()
        .map(|p| {
            vec![
                p.name.to_string(),
                p.challenge.to_string(),
                p.users_may_configure.to_string(),
                join_networks(&p.trusted_networks),
                p.remember_in_always.to_string(),
                p.mail_programs.to_string(),
                p.mailboxes.to_string(),
            ]
        })
        .collect::<Vec<_>>();
    let value = list
        .iter()
        .map(|p| {
            json!({"name": p.name, "challenge": p.challenge, "users_may_configure": p.users_may_configure,
                   "trusted_networks": networks(p), "remember_in_always": p.remember_in_always,
                   "mail_programs": p.mail_programs, "mailboxes": p.mailboxes})
        })
        .collect::<Vec<_>>();
    Ok(Output::data(
        table(
            &[
                "POST OFFICE",
                "CHALLENGE",
                "USERS MAY CONFIGURE",
                "TRUSTED NETWORKS",
                "REMEMBER IN ALWAYS",
                "MAIL PROGRAMS",
                "MAILBOXES",
            ],
            &rows,
        ),
        value.into(),
    ))
}

/// A post office's policy as JSON.
fn settings_json(po: &PostOffice) -> serde_json::Value {
    json!({"postoffice": po.name, "challenge": po.challenge, "users_may_configure": po.users_may_configure,
           "trusted_networks": networks(po), "remember_in_always": po.remember_in_always,
           "mail_programs": po.mail_programs})
}

fn networks(po: &PostOffice) -> Vec<String> {
    po.trusted_networks.iter().map(ToString::to_string).collect()
}
