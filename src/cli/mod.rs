//! The command line: clap parses the arguments into domain values (`args` has the top level,
//! each command its own file with its arguments and its handler), the handler calls the service
//! and returns an [`Output`], which prints as a table or sentence or as JSON. Exit status 0 on
//! success, 1 for a refusal, 2 for bad input or any error (message and hint on stderr).

mod admin;
mod app_password;
mod audit;
mod client;
mod error;
mod import;
mod key;
mod login;
mod mailbox;
mod output;
mod postoffice;
mod provider;
mod report;
mod serve;
mod settings;
mod store;
mod user;
mod values;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::CliError;
use output::Output;

use crate::domain::Actor;
use crate::service::{KeyFolder, Service, StoreLocation, os_user};

/// mailmfa — multi-factor authentication for the mailboxes of a mail server.
///
/// Without a command it opens the console. Exit status: 0 success, 1 a refused login or
/// verification, 2 bad input or any error.
#[derive(Debug, Parser)]
#[command(name = "mailmfa", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The store: a SQLite file's path, or the postgres:// URL of a database on a PostgreSQL server
    /// (its password from PGPASSWORD); default: $MAILMFA_STORE, else the user's data folder.
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub store: Option<PathBuf>,
    /// The store is one file shared by several servers (rollback journal instead of WAL). A UNC
    /// path implies it.
    #[arg(long, global = true)]
    pub shared: bool,
    /// Print one JSON object (or array) instead of a table or sentence.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do; none opens the console.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add, remove, list and configure post offices.
    #[command(subcommand)]
    Postoffice(postoffice::PostofficeCommand),
    /// Add, remove, list, show and configure mailboxes; reset, unlock, export the QR code.
    #[command(subcommand)]
    Mailbox(mailbox::MailboxCommand),
    /// Which providers exist and who may configure them.
    #[command(subcommand)]
    Provider(provider::ProviderCommand),
    /// Platform settings: issuer, lockout, code lifetime, SMTP relay, SMS gateway, GeoIP database.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
    /// Import post offices, mailboxes and policies from CSV (all or nothing).
    Import(import::ImportArgs),
    /// The login gate a webmail calls after the password was accepted.
    #[command(subcommand)]
    Login(login::LoginCommand),
    /// App passwords: what mail programs (IMAP, POP3, SMTP) sign in with in place of the mailbox
    /// password.
    #[command(subcommand)]
    AppPassword(app_password::AppPasswordCommand),
    /// End-user self-service, as a webmail's options page calls it for a logged-in user.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Export or import the store key (for servers sharing one store).
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Run the login service: the JSON API webmails call (and, with --windows-service, as a
    /// Windows service).
    ///
    /// It keeps at most 4096 connections open, and at most serve.connections_per_address (256)
    /// from one address (a reverse proxy of serve.trusted_proxies is held only by the total). An
    /// API client's requests that go well are never held back; its failed requests (refused, or a
    /// wrong code or ticket) may come serve.client_rate a second (default 100, bursts of twice as
    /// many), after which all its requests are turned away until the rate allows again — so a
    /// stolen key used for guessing is soon stopped while no default caps a big webmail. An
    /// address may make serve.ip_rate requests a second without a key, and send as many failing
    /// keys. Requests over a limit are answered 429 and counted in the audit log. A mail server's
    /// sign-in checks (POST /v1/mail/auth) are not held to the client's rate: an address is
    /// throttled after mailprog.ip_failures failed app passwords a minute instead.
    #[command(long_about)]
    Serve(serve::ServeArgs),
    /// The login service's API clients: the webmails and servers that may call it.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// The store itself: switch it between local and shared, copy it to or from a database server.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Reports over the whole store.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Show the audit log, newest first.
    Audit(audit::AuditArgs),
    /// The web administration's administrators (mailmfa serve, /admin/, when serve.admin is on).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

/// What a command returns: its output, or why it failed.
type CliResult = Result<Output, CliError>;

/// Runs one command (not the console) and prints its result; returns the exit status.
pub fn run(cli: Cli) -> ExitCode {
    let json = cli.json;
    let Some(command) = cli.command else {
        return ExitCode::from(2);
    };
    let result = StoreLocation::resolve(cli.store.map(PathBuf::into_os_string), cli.shared)
        .map_err(CliError::from)
        .and_then(|location| execute(command, &location));
    match result {
        Ok(out) => {
            let status = out.status();
            out.print(json);
            ExitCode::from(status)
        }
        Err(e) => {
            e.print();
            ExitCode::from(e.status)
        }
    }
}

/// What clap found wrong with the arguments, on one line as every other error (`--help` and
/// `--version` print as clap writes them).
pub fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return match e.print() {
            Ok(()) => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)),
            Err(_) => ExitCode::from(2),
        };
    }
    let text = e.render().to_string();
    let said: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .map(|line| line.strip_prefix("error: ").unwrap_or(line))
        .map(shorten_quoted)
        .collect();
    CliError::usage(said.join(" ")).print();
    ExitCode::from(2)
}

/// A line of clap's with every quoted value longer than a screen's third shortened: clap repeats
/// what was typed, and an error stays one readable line whatever was pasted.
fn shorten_quoted(line: &str) -> String {
    const LONGEST: usize = 40;
    let mut out = String::new();
    for (i, part) in line.split('\'').enumerate() {
        if i > 0 {
            out.push('\'');
        }
        if i % 2 == 1 && part.chars().count() > LONGEST {
            out.extend(part.chars().take(LONGEST));
            out.push('…');
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Opens the store at `location` with this machine's key folder, acting as the command line's
/// user.
fn open_service(location: &StoreLocation) -> Result<Service, CliError> {
    Ok(Service::open(location, &KeyFolder::default_location())?.with_actor(cli_actor()))
}

/// Who the command line's audit entries name: `cli:<OS user>`.
fn cli_actor() -> Actor {
    Actor::Cli(os_user())
}

fn execute(command: Command, location: &StoreLocation) -> CliResult {
    // These open the store (or its key) in their own way.
    let command = match command {
        Command::Key(command) => return key::run(location, command),
        Command::Serve(args) => return serve::run(location, &args),
        Command::Store(command) => return store::run(location, command),
        command => command,
    };
    let service = open_service(location)?;
    match command {
        Command::Postoffice(command) => postoffice::run(&service, command),
        Command::Mailbox(command) => mailbox::run(&service, command),
        Command::Provider(command) => provider::run(&service, command),
        Command::Settings(command) => settings::run(&service, command),
        Command::Import(args) => import::run(&service, &args),
        Command::Login(command) => login::run(&service, command),
        Command::User(command) => user::run(&service, command),
        Command::AppPassword(command) => app_password::run(&service, command),
        Command::Client(command) => client::run(&service, command),
        Command::Report(command) => report::run(&service, command),
        Command::Audit(args) => audit::run(&service, &args),
        Command::Admin(command) => admin::run(&service, command),
        Command::Key(_) | Command::Serve(_) | Command::Store(_) => unreachable!("handled before the store is opened"),
    }
}
