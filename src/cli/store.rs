//! `mailmfa store mode|copy`: the store itself.

use std::ffi::OsString;

use clap::Subcommand;
use serde_json::json;

use super::output::{Output, table};
use super::values::words;
use super::{CliResult, open_service};
use crate::service::{KeyFolder, StoreLocation, StoreMode};

/// `mailmfa store …`
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Switch the store between local (WAL; one server) and shared (rollback journal; one file on a
    /// share that several servers use). No other server may have it open meanwhile.
    Mode {
        /// The mode to switch to.
        #[arg(value_parser = words::<StoreMode>())]
        mode: StoreMode,
    },
    /// Copy every row of one store into another: a file to a database server (to move to
    /// PostgreSQL) or back, in one transaction on the target, counts checked. The copy keeps the
    /// store's identity, so the same key file opens it. The target must be new or empty unless
    /// --replace.
    Copy {
        /// The store to copy: a file's path or a postgres:// URL.
        from: OsString,
        /// The store to copy into (created if it does not exist): a path or a postgres:// URL.
        to: OsString,
        /// Replace whatever the target holds.
        #[arg(long)]
        replace: bool,
    },
}

/// Runs a `store` command (`--store` names the store `mode` switches).
pub fn run(location: &StoreLocation, command: StoreCommand) -> CliResult {
    match command {
        StoreCommand::Mode { mode } => {
            // The store is opened as it is; the command is the explicit way to change its mode.
            let as_it_is = location.file().map_or_else(|| location.clone(), |path| StoreLocation::new(path, false));
            let mut service = open_service(&as_it_is)?;
            service.set_mode(mode)?;
            Ok(Output::done(
                format!("The store {location} is now {mode}."),
                json!({"store": location.to_string(), "mode": mode.word()}),
            ))
        }
        StoreCommand::Copy { from, to, replace } => copy(&from, &to, replace),
    }
}

fn copy(from: &OsString, to: &OsString, replace: bool) -> CliResult {
    let from = StoreLocation::parse(from, false)?;
    let to = StoreLocation::parse(to, false)?;
    let summary = open_service(&from)?.copy_store(&to, &KeyFolder::default_location(), replace)?;
    let rows: Vec<Vec<String>> = summary.tables.iter().map(|(table, n)| vec![table.clone(), n.to_string()]).collect();
    let text = format!(
        "Copied {from} to {to} (store {}; the same key file opens it):\n{}",
        summary.store_id,
        table(&["TABLE", "ROWS"], &rows)
    );
    let tables: serde_json::Map<String, serde_json::Value> =
        summary.tables.iter().map(|(t, n)| (t.clone(), json!(n))).collect();
    Ok(Output::data(
        text,
        json!({"from": from.to_string(), "to": to.to_string(), "store_id": summary.store_id, "tables": tables}),
    ))
}
