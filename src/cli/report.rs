//! `mailmfa report coverage`.

use clap::Subcommand;

use super::CliResult;
use super::output::{Output, table};
use crate::domain::{CoverageCounts, CoverageReport, PostOfficeName};
use crate::service::Service;

/// `mailmfa report …`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Per post office: mailboxes by challenge mode, provider and state, those that never signed
    /// in, those without recovery codes, and those mail programs still open with the mailbox
    /// password alone.
    Coverage {
        /// Only this post office.
        #[arg(long, value_name = "NAME")]
        postoffice: Option<PostOfficeName>,
        /// Print CSV (a line per post office, then the total as "(all)").
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
}

/// Runs a `report` command.
pub fn run(service: &Service, command: ReportCommand) -> CliResult {
    let ReportCommand::Coverage { postoffice, csv } = command;
    let report = service.coverage(postoffice.as_ref().map(std::slice::from_ref))?;
    let json = Output::json_of(&report)?;
    if csv {
        return Ok(Output::data(report.to_csv(), json));
    }
    let cells = |name: &str, c: &CoverageCounts| {
        std::iter::once(name.to_owned()).chain(c.numbers().map(|n| n.to_string())).collect::<Vec<_>>()
    };
    let mut rows: Vec<Vec<String>> =
        report.postoffices.iter().map(|r| cells(r.postoffice.as_str(), &r.counts)).collect();
    rows.push(cells("(all)", &report.total));
    let headers: Vec<String> = CoverageReport::columns()
        .iter()
        .map(|word| if word == "postoffice" { "POST OFFICE".to_owned() } else { word.replace('_', " ").to_uppercase() })
        .collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    Ok(Output::data(table(&headers, &rows), json))
}
