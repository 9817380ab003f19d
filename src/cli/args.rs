//! The command line as clap sees it: DESIGN.md §5, word for word. Values stay strings here and are
//! parsed into domain types by the commands, so every error reads the same.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    Postoffice(PostofficeCommand),
    /// Add, remove, list, show and configure mailboxes; reset, unlock, export the QR code.
    #[command(subcommand)]
    Mailbox(MailboxCommand),
    /// Which providers exist and who may configure them.
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Platform settings: issuer, lockout, code lifetime, SMTP relay, SMS gateway, GeoIP database.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Import post offices, mailboxes and policies from CSV (all or nothing).
    Import {
        /// CSV file with the header postoffice,mailbox,challenge,provider,sms_number,alt_email.
        file: PathBuf,
    },
    /// The login gate a webmail calls after the password was accepted.
    #[command(subcommand)]
    Login(LoginCommand),
    /// End-user self-service, as a webmail's options page calls it for a logged-in user.
    #[command(subcommand)]
    User(UserCommand),
    /// Export or import the store key (for servers sharing one store).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Run the login service: the JSON API webmails call (and, with --windows-service, as a
    /// Windows service).
    Serve(ServeArgs),
    /// The login service's API clients: the webmails and servers that may call it.
    #[command(subcommand)]
    Client(ClientCommand),
    /// The store itself: switch it between local and shared.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Reports over the whole store.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Show the audit log, newest first.
    Audit {
        /// Only entries for this mailbox.
        #[arg(long, value_name = "ADDRESS")]
        mailbox: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

/// `mailmfa report …`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Per post office: mailboxes by challenge mode, provider and state, and those that never
    /// signed in.
    Coverage {
        /// Only this post office.
        #[arg(long, value_name = "NAME")]
        postoffice: Option<String>,
        /// Print CSV (a line per post office, then the total as "(all)").
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
}

/// `mailmfa postoffice …`
#[derive(Debug, Subcommand)]
pub enum PostofficeCommand {
    /// Create a post office (challenge mode never, self-service off).
    Add {
        /// Its name.
        name: String,
    },
    /// Remove a post office.
    Remove {
        /// Its name.
        name: String,
        /// Also remove its mailboxes.
        #[arg(long)]
        with_mailboxes: bool,
    },
    /// List post offices.
    List,
    /// Set a post office's default challenge mode, self-service switch and trusted networks.
    Set {
        /// Its name.
        name: String,
        /// never, always, new-ip or new-country.
        #[arg(long, value_name = "MODE")]
        challenge: Option<String>,
        /// Whether users may configure their own two-factor settings (true/false).
        #[arg(long, value_name = "BOOL")]
        users_may_configure: Option<String>,
        /// Networks whose logins count as known in new-ip and new-country modes (CIDR,
        /// comma-separated; "" trusts none).
        #[arg(long, value_name = "CIDR,…")]
        trusted_networks: Option<String>,
    },
}

/// `mailmfa mailbox …`
#[derive(Debug, Subcommand)]
pub enum MailboxCommand {
    /// Create a mailbox in an existing post office.
    Add {
        /// mailbox@postoffice
        address: String,
    },
    /// Remove a mailbox.
    Remove {
        /// mailbox@postoffice
        address: String,
    },
    /// List mailboxes.
    List {
        /// Only this post office's mailboxes.
        #[arg(long, value_name = "NAME")]
        postoffice: Option<String>,
    },
    /// Show one mailbox's two-factor settings and state.
    Show {
        /// mailbox@postoffice
        address: String,
    },
    /// Change a mailbox's challenge mode, provider, SMS number or alternate address.
    Set(MailboxSetArgs),
    /// Reset the two factor code, the country exceptions and/or the remembered devices.
    Reset {
        /// mailbox@postoffice
        address: String,
        /// Forget the TOTP secret (and the remembered devices): the next login enrols again with a
        /// new QR code.
        #[arg(long)]
        code: bool,
        /// Forget the known countries and IP addresses.
        #[arg(long)]
        countries: bool,
        /// Forget the devices the user asked to remember: each is challenged again.
        #[arg(long)]
        devices: bool,
    },
    /// Unlock a mailbox locked after failed codes.
    Unlock {
        /// mailbox@postoffice
        address: String,
    },
    /// Issue a temporary access pass for a user who lost their device: it stands in for any code
    /// until it expires (or once), and clears the mailbox's lock. Shown once.
    Tap {
        /// mailbox@postoffice
        address: String,
        /// How long it works, from 10 minutes to 43200 (30 days).
        #[arg(long, default_value_t = 60, value_name = "N")]
        minutes: i64,
        /// It works for one login only.
        #[arg(long)]
        once: bool,
    },
    /// How many recovery codes the mailbox has left; with --new, issue a new set of ten (the old
    /// ones stop working) and show them once.
    RecoveryCodes {
        /// mailbox@postoffice
        address: String,
        /// Issue new codes, voiding the old.
        #[arg(long)]
        new: bool,
    },
    /// Write the enrolment QR code (PNG) of the mailbox's pending or active TOTP secret.
    Qr {
        /// mailbox@postoffice
        address: String,
        /// The PNG file to write.
        #[arg(long, value_name = "FILE.png")]
        out: PathBuf,
    },
}

/// The options of `mailbox set` (and of `user set`).
#[derive(Debug, Args)]
pub struct MailboxSetArgs {
    /// mailbox@postoffice
    pub address: String,
    /// inherit, never, always, new-ip or new-country.
    #[arg(long, value_name = "MODE")]
    pub challenge: Option<String>,
    /// totp, sms or smtp.
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// SMS number in E.164 form (+15551234567); "" clears it.
    #[arg(long, value_name = "E164")]
    pub sms_number: Option<String>,
    /// Alternate e-mail address for codes (not the mailbox itself); "" clears it.
    #[arg(long, value_name = "ADDRESS")]
    pub alt_email: Option<String>,
}

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

/// `mailmfa user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Change one's own challenge mode, provider, SMS number or alternate address (where the post
    /// office and the platform allow it).
    Set(MailboxSetArgs),
}

/// `mailmfa provider …`
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// List providers and their switches.
    List,
    /// Change a provider's switches.
    Set {
        /// totp, sms or smtp.
        provider: String,
        /// Whether the provider exists at all.
        #[arg(long, value_name = "BOOL")]
        enabled: Option<String>,
        /// Whether administrators may assign it.
        #[arg(long, value_name = "BOOL")]
        admin_configurable: Option<String>,
        /// Whether end users may choose it.
        #[arg(long, value_name = "BOOL")]
        user_configurable: Option<String>,
    },
    /// Send one test message through the SMS gateway or the SMTP relay.
    Test {
        /// sms or smtp.
        provider: String,
        /// The phone number (E.164) or e-mail address to send to.
        #[arg(long, value_name = "DESTINATION")]
        to: String,
    },
}

/// `mailmfa settings …`
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show every setting (secrets as ***).
    Show,
    /// Set one setting.
    Set {
        /// The key, e.g. lockout.threshold.
        key: String,
        /// The value.
        value: String,
    },
}

/// `mailmfa key …`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write the store key to a file, to import on another server sharing this store.
    Export {
        /// The file to write (owner-only permissions); move it safely and delete it after import.
        file: PathBuf,
    },
    /// Install a key exported from a server that opens this store.
    Import {
        /// The file written by `mailmfa key export`.
        file: PathBuf,
    },
}

/// `mailmfa store …`
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Switch the store between local (WAL; one server) and shared (rollback journal; one file on a
    /// share that several servers use). No other server may have it open meanwhile.
    Mode {
        /// local or shared.
        mode: String,
    },
    /// Copy every row of one store into another: a file to a database server (to move to
    /// PostgreSQL) or back, in one transaction on the target, counts checked. The copy keeps the
    /// store's identity, so the same key file opens it. The target must be new or empty unless
    /// --replace.
    Copy {
        /// The store to copy: a file's path or a postgres:// URL.
        from: std::ffi::OsString,
        /// The store to copy into (created if it does not exist): a path or a postgres:// URL.
        to: std::ffi::OsString,
        /// Replace whatever the target holds.
        #[arg(long)]
        replace: bool,
    },
}

/// `mailmfa serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address and port to listen on (default: the setting serve.listen, 127.0.0.1:8750).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// The most requests one commit takes (1 turns group commit off; for benchmarks).
    #[arg(long, value_name = "N", hide = true, default_value_t = crate::serve::MAX_BATCH)]
    pub max_batch: usize,
    /// Run under the Windows service manager (as the MSI installs it).
    #[arg(long, hide = true)]
    pub windows_service: bool,
}

/// `mailmfa client …`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create an API client and print its key (shown once; only a hash is kept).
    Add {
        /// Its name, e.g. the webmail's host name.
        name: String,
        /// Networks it may call from, comma-separated (CIDR); default: any.
        #[arg(long, value_name = "CIDR,…")]
        allow: Option<String>,
        /// URL prefixes its hosted sign-in pages may return to, comma-separated.
        #[arg(long = "return-url", value_name = "PREFIX,…")]
        return_url: Option<String>,
    },
    /// List the API clients.
    List,
    /// Remove an API client: its key stops working at once.
    Remove {
        /// Its name.
        name: String,
    },
}
