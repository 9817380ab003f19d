//! `mailmfa admin add|list|remove|reset`: the web administration's administrators
//! (docs/DESIGN.md §12). `add` and `reset` print the one-time set-up link.

use clap::Subcommand;
use serde_json::json;

use super::CliResult;
use super::output::{Output, table, when};
use crate::domain::{AdminName, AdminRole, PostOfficeName};
use crate::service::{ADMIN_SETUP_HOURS, AdminSetupLink, Service};

/// `mailmfa admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add a web administrator and print their one-time set-up link (24 hours), where they choose
    /// a password and enrol an authenticator app.
    Add {
        /// The name they sign in with.
        name: AdminName,
        /// platform (everything the console does) or postoffice (only the mailboxes of
        /// --postoffice).
        #[arg(long)]
        role: AdminRole,
        /// The post offices a post-office administrator looks after, comma-separated.
        #[arg(long = "postoffice", value_name = "NAME,…", value_delimiter = ',')]
        postoffices: Vec<PostOfficeName>,
    },
    /// List the web administrators.
    List,
    /// Remove a web administrator: their sessions end at once.
    Remove {
        /// Their name.
        name: AdminName,
    },
    /// Start an administrator's set-up again (a lost phone or password): prints a new set-up
    /// link; the old password, app, recovery codes and sessions stop working.
    Reset {
        /// Their name.
        name: AdminName,
    },
}

/// Runs an `admin` command.
pub fn run(service: &Service, command: AdminCommand) -> CliResult {
    match command {
        AdminCommand::Add { name, role, postoffices } => {
            let link = service.add_admin(&name, role, &postoffices)?;
            link_output(service, &link, "Added")
        }
        AdminCommand::List => {
            let admins = service.admins()?;
            let rows = admins
                .iter()
                .map(|a| {
                    vec![
                        a.name.to_string(),
                        a.role.to_string(),
                        if a.is_platform() { "all".to_owned() } else { postoffice_list(&a.postoffices) },
                        if a.set_up { "yes".to_owned() } else { "not yet".to_owned() },
                        when(a.created_at),
                    ]
                })
                .collect::<Vec<_>>();
            Ok(Output::data(
                table(&["ADMINISTRATOR", "ROLE", "POST OFFICES", "SET UP", "ADDED"], &rows),
                Output::json_of(&admins)?,
            ))
        }
        AdminCommand::Remove { name } => {
            service.remove_admin(&name)?;
            Ok(Output::done(format!("Removed the web administrator {name}."), json!({"name": name, "removed": true})))
        }
        AdminCommand::Reset { name } => {
            let link = service.reset_admin(&name)?;
            link_output(service, &link, "Reset")
        }
    }
}

/// The set-up link, absolute under `serve.public_url` (else the listen address), shown once.
fn link_output(service: &Service, link: &AdminSetupLink, done: &str) -> CliResult {
    let url = service.admin_setup_url(link)?;
    let settings = service.typed_settings()?;
    let admin = &link.admin;
    let mut text = format!(
        "{done} the web administrator {} ({}). Their set-up link, shown only now and valid for {ADMIN_SETUP_HOURS} hours:\n{url}",
        admin.name, admin.role
    );
    if !settings.serve_admin {
        text.push_str("\nThe web administration is off: turn it on with `mailmfa settings set serve.admin true`.");
    }
    let postoffices: Vec<&str> = admin.postoffices.iter().map(PostOfficeName::as_str).collect();
    Ok(Output::done(
        text,
        json!({"name": admin.name, "role": admin.role, "postoffices": postoffices, "setup_url": url}),
    ))
}

fn postoffice_list(postoffices: &[PostOfficeName]) -> String {
    postoffices.iter().map(PostOfficeName::as_str).collect::<Vec<_>>().join(", ")
}
