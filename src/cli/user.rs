//! `mailmfa user set`: end-user self-service, as a webmail's options page calls it.

use clap::Subcommand;

use super::CliResult;
use super::mailbox::{self, MailboxSetArgs};
use crate::domain::Configurer;
use crate::service::Service;

/// `mailmfa user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Change one's own challenge mode, provider, SMS number or alternate address (where the post
    /// office and the platform allow it).
    Set(MailboxSetArgs),
}

/// Runs a `user` command.
pub fn run(service: &Service, command: UserCommand) -> CliResult {
    match command {
        UserCommand::Set(args) => mailbox::set(service, args, None, Configurer::EndUser),
    }
}
