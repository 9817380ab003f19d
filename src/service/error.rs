//! [`ServiceError`]: why something asked of the service did not happen, typed to the edge. The
//! command line turns it into an exit status and one line; the console shows it in the window.

use std::path::PathBuf;

use thiserror::Error;

use super::engine::EngineError;
use crate::delivery::DeliveryError;
use crate::domain::{
    AdminName, AppPasswordName, Configurer, DomainError, MailboxAddress, PasskeyName, PostOfficeName, Provider,
};
use crate::geo::GeoError;
use crate::qr::QrError;

pub use super::crypto::CryptoError;
pub use super::store::StoreError;

/// Why an action did not happen. All are the caller's to fix (exit status 2) except the policy
/// refusals of end-user self-service (exit status 1, see [`ServiceError::is_refusal`]).
#[derive(Debug, Error)]
pub enum ServiceError {
    /// Input that is not a valid value.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No post office has that name.
    #[error("there is no post office named {0}")]
    NoPostOffice(PostOfficeName),
    /// No mailbox has that address.
    #[error("there is no mailbox {0}")]
    NoMailbox(MailboxAddress),
    /// A login named a post office the store does not have.
    #[error("there is no post office {0} in the mailmfa store")]
    UnknownPostOffice(PostOfficeName),
    /// The post office to create exists.
    #[error("a post office named {0} already exists")]
    PostOfficeExists(PostOfficeName),
    /// The mailbox to create exists.
    #[error("the mailbox {0} already exists")]
    MailboxExists(MailboxAddress),
    /// The post office still has mailboxes.
    #[error("post office {name} has {mailboxes} mailboxes; nothing was removed")]
    PostOfficeNotEmpty {
        /// The post office.
        name: PostOfficeName,
        /// How many mailboxes it has.
        mailboxes: i64,
    },
    /// The mailbox has no TOTP secret to show.
    #[error("{0} has no TOTP secret yet: it gets one (and its QR code) at its next login that needs TOTP")]
    NoTotpSecret(MailboxAddress),
    /// The provider is disabled on this platform.
    #[error("the {} provider is disabled on this platform", provider.label())]
    ProviderDisabled {
        /// The provider.
        provider: Provider,
        /// Who asked.
        by: Configurer,
    },
    /// The platform does not let this kind of user configure the provider.
    #[error("the platform does not let {} configure the {} provider", who(*by), provider.label())]
    ProviderNotConfigurable {
        /// The provider.
        provider: Provider,
        /// Who asked.
        by: Configurer,
    },
    /// The post office does not let its users configure their two-factor settings.
    #[error("the post office {0} does not let users configure their two-factor settings")]
    SelfServiceOff(PostOfficeName),
    /// A provider that sends codes has nowhere to send them.
    #[error("{}", no_destination(address, *provider))]
    NoDestination {
        /// The mailbox.
        address: MailboxAddress,
        /// The provider chosen.
        provider: Provider,
    },
    /// A setting names a file that does not exist.
    #[error("{key}: the file {} does not exist", path.display())]
    FileMissing {
        /// The setting.
        key: &'static str,
        /// The file it names.
        path: PathBuf,
    },
    /// The country database cannot be read.
    #[error(transparent)]
    Geo(#[from] GeoError),
    /// A code could not be delivered; the login is refused (fail closed).
    #[error("the code could not be sent, so the login cannot continue: {0}")]
    Delivery(#[source] DeliveryError),
    /// A test message could not be sent.
    #[error("the test message was not sent: {0}")]
    TestSend(#[source] DeliveryError),
    /// TOTP codes come from an app, so there is nothing to send a test through.
    #[error("TOTP codes come from the user's app; test sms or smtp")]
    NothingToTest,
    /// The file to import a key into is not a mailmfa store.
    #[error("{0} is not an initialised mailmfa store")]
    NotAStore(String),
    /// The key file belongs to another store.
    #[error(
        "the key in {} belongs to store {key_store}, but {store} is store {store_id}; nothing was changed",
        file.display()
    )]
    KeyForAnotherStore {
        /// The key file.
        file: PathBuf,
        /// The store the key belongs to.
        key_store: String,
        /// The store (file or database server).
        store: String,
        /// Its id.
        store_id: String,
    },
    /// The key file does not open the store it names.
    #[error("the key in {} does not open {store}; nothing was changed", file.display())]
    KeyDoesNotOpen {
        /// The key file.
        file: PathBuf,
        /// The store (file or database server).
        store: String,
    },
    /// A store was to be copied onto itself.
    #[error("{0} is the store being copied; copy it to another file or database")]
    SameStore(String),
    /// The store is in memory, so there is no file to do this with.
    #[error("this store is in memory; {0} needs a store file")]
    InMemory(&'static str),
    /// A CSV import row is wrong; nothing was imported.
    #[error("line {line}: {problem}; nothing was imported")]
    Import {
        /// The file's line number (the header is line 1).
        line: u64,
        /// What is wrong.
        problem: ImportProblem,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was attempted (`read`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An API client of that name exists.
    #[error("an API client named {0} already exists")]
    ClientExists(String),
    /// No API client has that name.
    #[error("there is no API client named {0}")]
    NoClient(String),
    /// A call to the login service came without a key.
    #[error("this call needs an API key: send Authorization: Bearer mmfa_…")]
    NoApiKey,
    /// A call to the login service came with a key that is not (or no longer) valid.
    #[error("the API key is not valid")]
    BadApiKey,
    /// A sensitive change needs a fresh second step first (a step-up token).
    #[error("this change needs a fresh second step (a step-up token of this client for this mailbox)")]
    StepUpRequired,
    /// The API client may not act for the mailboxes of this post office.
    #[error("this API client may not act for the mailboxes of post office {0}")]
    OutOfScope(PostOfficeName),
    /// The API client may not read the metrics.
    #[error("this API client may not read the metrics (an administrator gives them with client add NAME --metrics)")]
    MetricsNotAllowed,
    /// The API client made more requests than its rate allows: come back in so many seconds.
    #[error("this API client made too many requests; try again in {0} s")]
    TooManyRequests(u64),
    /// A call to the login service came from an address its client may not call from.
    #[error("this API client may not call from {0}")]
    SourceNotAllowed(std::net::IpAddr),
    /// The login transaction does not exist, has ended, or belongs to another client.
    #[error("there is no such login transaction: it is unknown, has ended, or has expired")]
    UnknownTransaction,
    /// A resend was asked for a challenge that sends nothing (an authenticator app's code).
    #[error("this login's code comes from an authenticator app; there is nothing to send again")]
    NothingToResend,
    /// A sign-in's return URL is not one the client may send browsers back to.
    #[error("the return URL {0:?} is not within a return URL prefix of this API client")]
    ReturnUrlRefused(String),
    /// A passkey ceremony could not be made or read (its relying party is not valid).
    #[error("passkeys: {0}")]
    Passkey(String),
    /// A passkey ceremony needs an origin: the API client's (`client add --origin`), or the hosted
    /// pages' (`serve.public_url`).
    #[error(
        "this mailbox signs in with a passkey, which needs the web origin of the page that asks for it: give the API client one (mailmfa client add … --origin https://mail.example.com) or set serve.public_url"
    )]
    NoPasskeyOrigin,
    /// A passkey ceremony on the hosted pages runs on their origin, `serve.public_url`, which
    /// must be a web origin with a domain name.
    #[error(
        "this mailbox signs in with a passkey, which the hosted pages can offer only on an address with a domain name: set serve.public_url to one (https://mfa.example.com, or http://localhost:PORT on this machine)"
    )]
    NoSigninPasskeyOrigin,
    /// The mailbox has no passkey of that name.
    #[error("{address} has no passkey named \"{name}\"")]
    NoPasskey {
        /// The mailbox.
        address: MailboxAddress,
        /// The name.
        name: PasskeyName,
    },
    /// The mailbox has a passkey of that name.
    #[error("{address} already has a passkey named \"{name}\"")]
    PasskeyExists {
        /// The mailbox.
        address: MailboxAddress,
        /// The name.
        name: PasskeyName,
    },
    /// The last passkey of a mailbox that signs in with one stays: without it the next login would
    /// register a new passkey after the password alone.
    #[error("{0} signs in with a passkey and this is its last one; add another before removing it")]
    LastPasskey(MailboxAddress),
    /// Passkeys are added only to a mailbox that signs in with one.
    #[error("{0} does not sign in with a passkey")]
    NotPasskeyMailbox(MailboxAddress),
    /// The passkey registration does not exist, was answered, has expired, or belongs to another
    /// client or mailbox.
    #[error("there is no such passkey registration: it is unknown, was answered, or has expired")]
    UnknownCeremony,
    /// The hosted pages need the address browsers reach them at.
    #[error("the hosted sign-in pages need the setting serve.public_url (the address browsers reach mailmfa at)")]
    NoPublicUrl,
    /// The mailbox has an app password of that name.
    #[error("{address} already has an app password named \"{name}\"")]
    AppPasswordExists {
        /// The mailbox.
        address: MailboxAddress,
        /// The name.
        name: AppPasswordName,
    },
    /// The mailbox has no app password of that name.
    #[error("{address} has no app password named \"{name}\"")]
    NoAppPassword {
        /// The mailbox.
        address: MailboxAddress,
        /// The name.
        name: AppPasswordName,
    },
    /// The mailbox has as many app passwords as it may.
    #[error("{address} has {max} app passwords, as many as mailprog.max_app_passwords allows; nothing was made")]
    TooManyAppPasswords {
        /// The mailbox.
        address: MailboxAddress,
        /// The limit.
        max: i64,
    },
    /// Only an administrator may change this.
    #[error("only an administrator may change {0}")]
    AdministratorsOnly(&'static str),
    /// A web administrator of that name exists.
    #[error("a web administrator named {0} already exists")]
    AdminExists(AdminName),
    /// No web administrator has that name.
    #[error("there is no web administrator named {0}")]
    NoAdmin(AdminName),
    /// A set-up link is unknown, used or expired.
    #[error(
        "this set-up link does not work: it is unknown, was used, or is more than 24 hours old; ask for a new one (mailmfa admin reset NAME)"
    )]
    AdminSetupLink,
    /// A web administrator's name, password or code was not right, or the account is locked.
    #[error("the name, password or code is not right, or signing in is paused after too many attempts")]
    AdminSignIn,
    /// A web administrator's session ended (signed out, idle too long, or older than 8 hours).
    #[error("the session has ended; sign in again")]
    AdminSession,
    /// A form came without its token or with another page's.
    #[error("this form is out of date or did not come from this site; open the page again")]
    StaleForm,
    /// The two passwords typed differ.
    #[error("the two passwords differ")]
    PasswordsDiffer,
    /// A password could not be hashed.
    #[error("the password could not be hashed: {0}")]
    PasswordHash(String),
    /// Only a platform administrator may do this.
    #[error("only a platform administrator may do this ({0})")]
    PlatformOnly(&'static str),
    /// A QR code could not be made or written.
    #[error(transparent)]
    Qr(#[from] QrError),
}

/// What is wrong with a line of a CSV import.
#[derive(Debug, Error)]
pub enum ImportProblem {
    /// The header could not be read.
    #[error("cannot read the header: {0}")]
    Header(csv::Error),
    /// There is no header.
    #[error("the file is empty; expected the header {columns}", columns = super::IMPORT_COLUMNS.join(","))]
    Empty,
    /// A column is missing from the header.
    #[error("the header has no '{0}' column; expected {columns}", columns = super::IMPORT_COLUMNS.join(","))]
    MissingColumn(&'static str),
    /// The header has a column mailmfa does not know.
    #[error("unknown column '{0}'; expected {columns}", columns = super::IMPORT_COLUMNS.join(","))]
    UnknownColumn(String),
    /// A column appears twice in the header (which one would count?).
    #[error("the column '{0}' appears twice in the header")]
    DuplicateColumn(&'static str),
    /// A line has more or fewer cells than the header.
    #[error("expected {expected} cells but found {found}")]
    CellCount {
        /// The header's cells.
        expected: u64,
        /// This line's cells.
        found: u64,
    },
    /// The line is not UTF-8.
    #[error("the line is not valid UTF-8")]
    Utf8,
    /// The CSV reader failed.
    #[error("{0}")]
    Csv(csv::Error),
    /// A cell is not a valid value.
    #[error(transparent)]
    Value(#[from] DomainError),
    /// Mailbox cells are filled on a post office line.
    #[error("provider, sms_number and alt_email belong to a mailbox, but the mailbox cell is empty")]
    CellsWithoutMailbox,
    /// The mailbox cell names another post office.
    #[error("the mailbox {mailbox} is not in the post office {postoffice}")]
    WrongPostOffice {
        /// The mailbox cell.
        mailbox: String,
        /// The post office cell.
        postoffice: PostOfficeName,
    },
    /// The line asks for something the rules refuse.
    #[error(transparent)]
    Refused(Box<ServiceError>),
}

impl ServiceError {
    /// Whether this is a policy refusal of self-service (exit status 1) rather than bad input.
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::SelfServiceOff(_) | Self::AdministratorsOnly(_) => true,
            Self::ProviderDisabled { by, .. } | Self::ProviderNotConfigurable { by, .. } => *by == Configurer::EndUser,
            _ => false,
        }
    }

    /// Whether the error is the caller's doing (a request refused or not valid) rather than
    /// mailmfa's (a store, a delivery or the country database failing) or a rate already spent:
    /// what an API client's budget of failed requests counts.
    pub fn is_callers_failure(&self) -> bool {
        !matches!(self, Self::Store(_) | Self::Delivery(_) | Self::Geo(_) | Self::TooManyRequests(_))
    }

    /// Whether the store's key is missing or wrong, so importing a key may help.
    pub fn is_key_problem(&self) -> bool {
        matches!(self, Self::Store(StoreError::MissingKey { .. } | StoreError::WrongKey { .. }))
    }
}

impl From<EngineError> for ServiceError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(e) => Self::Store(e),
            EngineError::UnknownPostOffice(name) => Self::UnknownPostOffice(name),
            EngineError::Passkey(detail) => Self::Passkey(detail),
        }
    }
}

impl From<CryptoError> for ServiceError {
    fn from(e: CryptoError) -> Self {
        Self::Store(StoreError::Crypto(e))
    }
}

fn who(by: Configurer) -> &'static str {
    match by {
        Configurer::Administrator => "administrators",
        Configurer::EndUser => "end users",
    }
}

fn no_destination(address: &MailboxAddress, provider: Provider) -> String {
    match provider {
        Provider::Sms => {
            format!("{address} has no SMS number; give one (E.164, as in +15551234567) to use the SMS provider")
        }
        Provider::Smtp => format!("{address} has no alternate e-mail address; give one to use the SMTP provider"),
        Provider::Totp | Provider::Passkey => format!("{address} needs no destination for {}", provider.label()),
    }
}
