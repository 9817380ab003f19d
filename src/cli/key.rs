//! `mailmfa key export|import`: the store key, for servers that share one store.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::CliResult;
use super::output::Output;
use crate::service::{IfExists, KeyFolder, Service, StoreLocation};

/// `mailmfa key …`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write the store key to a file, to import on another server sharing this store.
    Export {
        /// The file to write (owner-only permissions); move it safely and delete it after import.
        file: PathBuf,
    },
    /// Install a key exported from a server that opens this store.
    Import(ImportArgs),
}

/// `mailmfa key import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file written by `mailmfa key export`.
    file: PathBuf,
}

/// Runs a `key` command on the store at `location`.
pub fn run(location: &StoreLocation, command: KeyCommand) -> CliResult {
    match command {
        KeyCommand::Export { file } => {
            let service = super::open_service(location)?;
            service.export_key(&file, IfExists::Refuse)?;
            Ok(Output::done(
                format!(
                    "Wrote the store key to {}. Import it on the other server with `mailmfa key import`, then delete the file.",
                    file.display()
                ),
                json!({"exported": file.display().to_string(), "store_id": service.store_id()}),
            ))
        }
        KeyCommand::Import(args) => import(location, &args),
    }
}

/// Installs the key in `args.file` for the store at `location`, which it must open (the store
/// cannot be opened as usual before: this machine has no key for it yet).
fn import(location: &StoreLocation, args: &ImportArgs) -> CliResult {
    let (service, written) =
        Service::import_key(location, &KeyFolder::default_location(), &args.file, super::cli_actor())?;
    Ok(Output::done(
        format!("Installed the store key at {}. Delete {} now.", written.display(), args.file.display()),
        json!({"imported": true, "key_file": written.display().to_string(), "store_id": service.store_id()}),
    ))
}
