//! `mailmfa import FILE.csv`.

use std::path::PathBuf;

use clap::Args;

use super::CliResult;
use super::output::Output;
use crate::service::Service;

/// `mailmfa import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSV file with the header postoffice,mailbox,challenge,provider,sms_number,alt_email.
    file: PathBuf,
}

/// Imports the file, all or nothing.
pub fn run(service: &Service, args: &ImportArgs) -> CliResult {
    let s = service.import_csv_file(&args.file)?;
    Ok(Output::done(
        format!(
            "Imported {} rows: {} post offices and {} mailboxes created, {} mailboxes updated.",
            s.rows, s.postoffices_created, s.mailboxes_created, s.mailboxes_updated
        ),
        Output::json_of(&s)?,
    ))
}
