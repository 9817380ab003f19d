//! `mailmfa login begin|verify`: the login gate for a webmail that runs a process per login.
//!
//! The address, the IP and the code stay as typed here: the service parses them, so input that
//! does not parse is refused *and audited* like every other login attempt.

use clap::Subcommand;

use super::CliResult;
use super::mailbox::recovery_codes_text;
use super::output::Output;
use crate::domain::{BeginAnswer, VerifyAnswer};
use crate::service::Service;

/// `mailmfa login …`
#[derive(Debug, Subcommand)]
pub enum LoginCommand {
    /// Decide whether this login needs a second factor; enrol or send a code if it does.
    Begin {
        /// mailbox@postoffice
        address: String,
        /// The IP address the login comes from.
        #[arg(long)]
        ip: String,
        /// The token `login verify --remember` gave this device, if it has one.
        #[arg(long, value_name = "TOKEN")]
        device_token: Option<String>,
    },
    /// Check the code the user typed.
    Verify {
        /// mailbox@postoffice
        address: String,
        /// The IP address the login comes from (the same as at begin).
        #[arg(long)]
        ip: String,
        /// The six-digit code, a recovery code or an access pass.
        #[arg(long)]
        code: String,
        /// Remember this device (when `remember.days` allows): the answer carries its token.
        #[arg(long)]
        remember: bool,
    },
}

/// Runs a `login` command.
pub fn run(service: &Service, command: LoginCommand) -> CliResult {
    match command {
        LoginCommand::Begin { address, ip, device_token } => {
            let answer = service.begin_login_as_typed(&address, &ip, device_token.as_deref())?;
            let text = begin_text(&answer);
            let json = Output::json_of(&answer)?;
            Ok(if answer.proceeds() { Output::done(text, json) } else { Output::refused(text, json) })
        }
        LoginCommand::Verify { address, ip, code, remember } => {
            let verified = service.verify_login_as_typed(&address, &ip, &code, remember)?;
            let json = Output::json_of(&verified)?;
            Ok(match verified.answer {
                VerifyAnswer::Accepted => {
                    let mut text = "Accepted.".to_owned();
                    if let Some(codes) = &verified.recovery_codes {
                        text += &format!("\n{}", recovery_codes_text(codes));
                    }
                    match (&verified.device_token, remember) {
                        (Some(token), _) => text += &format!("\nDevice remembered; its token: {token}"),
                        (None, true) => {
                            text += "\nThe device was not remembered (remember.days is 0, or this was an access pass)."
                        }
                        (None, false) => {}
                    }
                    Output::done(text, json)
                }
                VerifyAnswer::Rejected { reason } => Output::refused(format!("Rejected: {reason}."), json),
            })
        }
    }
}

/// A decision in a sentence.
fn begin_text(answer: &BeginAnswer) -> String {
    let why = answer.reason().map(|r| format!(" ({})", r.describe())).unwrap_or_default();
    match answer {
        BeginAnswer::Allow { .. } => format!("Allow: no second factor needed{why}."),
        BeginAnswer::Challenge { provider, sent_to: Some(to), .. } => {
            format!("Challenge: a code was sent by {} to {to}{why}.", provider.label())
        }
        BeginAnswer::Challenge { .. } => format!("Challenge: ask for the code from the TOTP app{why}."),
        BeginAnswer::Enroll { otpauth_uri, .. } => format!(
            "Enroll: show the user this key as a QR code, then ask for the first code from the app{why}.\n{otpauth_uri}"
        ),
        BeginAnswer::Locked { retry_after_s, .. } => format!("Locked: try again in {retry_after_s} s{why}."),
        BeginAnswer::Refused { reason } => format!("Refused: {}.", reason.describe()),
    }
}
