//! `mailmfa audit`: the audit log, newest first.

use clap::Args;

use super::CliResult;
use super::output::{Output, table, when};
use crate::domain::MailboxAddress;
use crate::service::Service;

/// `mailmfa audit`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only entries for this mailbox.
    #[arg(long, value_name = "ADDRESS")]
    mailbox: Option<MailboxAddress>,
    /// At most this many entries.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

/// Shows the newest entries.
pub fn run(service: &Service, args: &AuditArgs) -> CliResult {
    let list = service.audit(args.mailbox.as_ref(), args.limit)?;
    let rows = list
        .iter()
        .map(|record| {
            let a = &record.entry;
            vec![
                when(a.at),
                a.actor.clone(),
                a.mailbox.clone().unwrap_or_default(),
                a.action.clone(),
                a.ip.clone().unwrap_or_default(),
                a.country.clone().unwrap_or_default(),
                a.outcome.to_string(),
                a.detail.clone().unwrap_or_default(),
            ]
        })
        .collect::<Vec<_>>();
    let headers = ["TIME", "ACTOR", "MAILBOX", "ACTION", "IP", "COUNTRY", "OUTCOME", "DETAIL"];
    Ok(Output::data(table(&headers, &rows), Output::json_of(&list)?))
}
