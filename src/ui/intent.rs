//! [`Intent`]: what an administrator asked for, recorded while drawing and applied by the app
//! after the frame ([`super::apply`]). Commands are grouped by what they act on, so applying one is
//! a short dispatch to the group's handler. The confirmations asked before irreversible actions
//! live here too, so every place that offers such an action asks the same question.

use std::path::PathBuf;

use crate::domain::{
    AdminName, AdminRole, AppPasswordName, LetterCode, LoginIp, MailboxAddress, PasskeyName, PostOfficeName, Provider,
    SettingDef,
};
use crate::service::{ClientScope, MailboxChanges, NewAppPassword, PostOfficeChanges, ServerAddress};

use super::model::{Node, RecentStore};

/// Something an administrator asked for, recorded while drawing and applied after the frame.
#[derive(Debug, Clone)]
pub enum Intent {
    /// Select a tree node.
    Select(Node),
    /// Reload everything from the store (F5).
    Refresh,
    /// Load the audit log, for one mailbox or all.
    LoadAudit(Option<MailboxAddress>),
    /// Ask before doing something that cannot be undone.
    Confirm(Confirmation),
    /// Open a window or dialog (or bring it to the front).
    Open(Window),
    /// Act on one mailbox.
    Mailbox(MailboxAddress, MailboxIntent),
    /// Create, change or remove a post office.
    PostOffice(PostOfficeIntent),
    /// A step of a mailbox's login preview.
    Preview(MailboxAddress, PreviewIntent),
    /// Providers, settings and API clients.
    Platform(PlatformIntent),
    /// Open, create or import into stores; keys and CSV files.
    Store(StoreIntent),
    /// File → Exit.
    Exit,
}

/// A window or dialog to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// A mailbox's Properties.
    MailboxProperties(MailboxAddress),
    /// A post office's Properties.
    PostOfficeProperties(PostOfficeName),
    /// The New Post Office dialog.
    NewPostOffice,
    /// The New Mailbox dialog, in this post office if given.
    NewMailbox(Option<PostOfficeName>),
    /// The login preview of a mailbox.
    LoginPreview(MailboxAddress),
    /// Help → About.
    About,
}

/// What to do with a mailbox.
#[derive(Debug, Clone)]
pub enum MailboxIntent {
    /// Create it (from the New Mailbox dialog).
    Add,
    /// Save its Two Factor settings (from its Properties window).
    Save {
        /// What changes.
        changes: MailboxChanges,
        /// Close the window when saved (OK rather than Apply).
        close: bool,
    },
    /// Clear its TOTP secret, replay state and failure counter.
    ResetCode,
    /// Forget its known countries and IP addresses.
    ResetCountries,
    /// Clear its lock.
    Unlock,
    /// Issue a temporary access pass (shown once in its Properties window).
    IssueAccessPass {
        /// How long it works.
        minutes: i64,
        /// It works once.
        once: bool,
    },
    /// Forget the devices its user asked to remember.
    ForgetDevices,
    /// Issue ten new recovery codes, voiding the old (shown once in its Properties window).
    NewRecoveryCodes,
    /// Save recovery codes on show to a text file chosen in a native dialog.
    SaveRecoveryCodes(Vec<LetterCode>),
    /// Make an app password (shown once in its Properties window).
    AddAppPassword(NewAppPassword),
    /// Remove an app password.
    RemoveAppPassword(AppPasswordName),
    /// Remove one of its passkeys.
    RemovePasskey(PasskeyName),
    /// Remove it.
    Delete,
    /// Reveal (audited) the enrolment QR code in its Properties window.
    RevealQr,
    /// Save its enrolment QR code as a PNG file chosen in a native dialog (audited).
    SaveQrPng,
}

/// What to do with a post office.
#[derive(Debug, Clone)]
pub enum PostOfficeIntent {
    /// Create it.
    Add(PostOfficeName),
    /// Save its properties.
    Save {
        /// The post office.
        name: PostOfficeName,
        /// What changes.
        changes: PostOfficeChanges,
        /// Close the window when saved.
        close: bool,
    },
    /// Remove it with its mailboxes.
    Delete(PostOfficeName),
}

/// A step of the login preview.
#[derive(Debug, Clone)]
pub enum PreviewIntent {
    /// Ask the engine whether to challenge a login from `ip` (a code it sends goes out in the
    /// background).
    Begin(LoginIp),
    /// Verify a code.
    Verify {
        /// Where the login comes from.
        ip: LoginIp,
        /// Six digits, or a temporary access pass.
        code: String,
    },
}

/// Providers, settings and API clients.
#[derive(Debug, Clone)]
pub enum PlatformIntent {
    /// Change a provider's switches.
    SetProvider {
        /// The provider.
        provider: Provider,
        /// Enabled.
        enabled: Option<bool>,
        /// Administrators may configure it.
        admin_configurable: Option<bool>,
        /// Users may configure it.
        user_configurable: Option<bool>,
    },
    /// Store validated settings.
    SaveSettings(Vec<(&'static str, String)>),
    /// Send a test message through the SMTP relay or the SMS gateway (in the background).
    SendTest(TestTarget),
    /// Pick the file of a path setting in a native dialog.
    BrowseFile(&'static SettingDef),
    /// Create an API client of the login service (its key is shown once).
    AddClient {
        /// Its name.
        name: String,
        /// Where it may call from, where its sign-ins may return to, and for which post offices.
        scope: ClientScope,
    },
    /// Remove an API client: its key stops working at once.
    RemoveClient(String),
    /// Add a web administrator (their set-up link is shown once).
    AddAdmin {
        /// Their name.
        name: AdminName,
        /// What they may do.
        role: AdminRole,
        /// Their post offices (a post-office administrator's).
        postoffices: Vec<PostOfficeName>,
    },
    /// Start a web administrator's set-up again (a new link; the old credentials stop working).
    ResetAdmin(AdminName),
    /// Remove a web administrator: their sessions end at once.
    RemoveAdmin(AdminName),
}

/// Stores, keys and imports.
#[derive(Debug, Clone)]
pub enum StoreIntent {
    /// File → Open Store… / Open Shared Store…
    OpenDialog {
        /// Open it as a shared store.
        shared: bool,
    },
    /// File → New Store…
    NewDialog,
    /// File → Open Database Server…, with this URL filled in.
    ServerDialog {
        /// The server's URL (without a password), if one is known.
        url: Option<String>,
    },
    /// Open the store on this database server.
    OpenServer(ServerAddress),
    /// Open a store from the recent list.
    OpenRecent(RecentStore),
    /// Open the default local store.
    OpenDefault,
    /// Try the store that failed again.
    Retry,
    /// Choose an exported key file in a native dialog, then import it ([`StoreIntent::ImportKeyFrom`]).
    ImportKey,
    /// Install the store key in this exported key file for the current store, and open it.
    ImportKeyFrom(PathBuf),
    /// Write the open store's key for another server.
    ExportKey,
    /// Choose a CSV file in a native dialog, then import it ([`StoreIntent::ImportCsvFrom`]).
    ImportCsv,
    /// Import post offices and mailboxes from this CSV file (in the background).
    ImportCsvFrom(PathBuf),
    /// Choose a file in a native dialog, then write the coverage report there as CSV
    /// ([`StoreIntent::ExportCoverageTo`]).
    ExportCoverage,
    /// Write the coverage report of every post office to this file as CSV.
    ExportCoverageTo(PathBuf),
}

/// Where a test message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestTarget {
    /// An e-mail through the SMTP relay to this address.
    Email(String),
    /// An SMS through the gateway to this number.
    Sms(String),
}

impl TestTarget {
    /// `test e-mail to …` / `test SMS to …`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Email(to) => format!("test e-mail to {to}"),
            Self::Sms(to) => format!("test SMS to {to}"),
        }
    }

    /// The provider whose channel is tested, and the destination.
    pub fn provider_and_destination(&self) -> (Provider, &str) {
        match self {
            Self::Email(to) => (Provider::Smtp, to),
            Self::Sms(to) => (Provider::Sms, to),
        }
    }
}

/// A question asked before an action that cannot be undone.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// The dialog title.
    pub title: String,
    /// What will happen.
    pub message: String,
    /// The text of the button that does it (unique, so tests and screen readers find it).
    pub confirm_label: String,
    /// What to do when confirmed.
    pub intent: Box<Intent>,
}

impl Confirmation {
    /// Asks before resetting a mailbox's two factor code.
    pub fn remove_app_password(address: &MailboxAddress, name: &AppPasswordName) -> Intent {
        Intent::Confirm(Self {
            title: "Remove app password".to_owned(),
            message: format!(
                "Remove the app password \"{name}\" of {address}?\n\nThe mail program that uses it is refused from \
                 its next sign-in, on every server; it needs a new app password."
            ),
            confirm_label: "Yes, remove it".to_owned(),
            intent: Box::new(Intent::Mailbox(address.clone(), MailboxIntent::RemoveAppPassword(name.clone()))),
        })
    }

    /// Asks before removing a passkey of `address`.
    pub fn remove_passkey(address: &MailboxAddress, name: &PasskeyName) -> Intent {
        Intent::Confirm(Self {
            title: "Remove passkey".to_owned(),
            message: format!(
                "Remove the passkey \"{name}\" of {address}?\n\nIts next sign-in with it is refused, on every \
                 server. A mailbox left without a passkey registers a new one at its next login."
            ),
            confirm_label: "Yes, remove it".to_owned(),
            intent: Box::new(Intent::Mailbox(address.clone(), MailboxIntent::RemovePasskey(name.clone()))),
        })
    }

    /// Asks before resetting the two factor code of `address`.
    pub fn reset_code(address: &MailboxAddress) -> Intent {
        Intent::Confirm(Self {
            title: "Reset two factor code".to_owned(),
            message: format!(
                "Reset the two factor code of {address}?\n\nIts TOTP secret, replay state, failure counter and \
                 passkeys are cleared. At its next login that needs them it is shown a new QR code (or asked for a \
                 new passkey) and enrols again; the old authenticator entry and passkeys stop working."
            ),
            confirm_label: "Yes, reset the code".to_owned(),
            intent: Box::new(Intent::Mailbox(address.clone(), MailboxIntent::ResetCode)),
        })
    }

    /// Asks before forgetting a mailbox's known countries and IP addresses.
    pub fn reset_countries(address: &MailboxAddress) -> Intent {
        Intent::Confirm(Self {
            title: "Reset country exceptions".to_owned(),
            message: format!(
                "Forget the known countries and IP addresses of {address}?\n\nWith Prompt by Country (or by IP \
                 Address) its next login from anywhere is challenged again."
            ),
            confirm_label: "Yes, forget them".to_owned(),
            intent: Box::new(Intent::Mailbox(address.clone(), MailboxIntent::ResetCountries)),
        })
    }

    /// Asks before deleting a mailbox.
    pub fn delete_mailbox(address: &MailboxAddress) -> Intent {
        Intent::Confirm(Self {
            title: "Delete mailbox".to_owned(),
            message: format!(
                "Delete {address} from mailmfa?\n\nIts two-factor settings, secret and known addresses are removed \
                 (the mail server's mailbox is not touched). Its audit entries stay."
            ),
            confirm_label: "Yes, delete the mailbox".to_owned(),
            intent: Box::new(Intent::Mailbox(address.clone(), MailboxIntent::Delete)),
        })
    }

    /// Asks before deleting a post office with its `mailboxes`.
    pub fn delete_postoffice(name: &PostOfficeName, mailboxes: i64) -> Intent {
        let what = match mailboxes {
            0 => String::new(),
            1 => " and its mailbox".to_owned(),
            n => format!(" and its {n} mailboxes"),
        };
        Intent::Confirm(Self {
            title: "Delete post office".to_owned(),
            message: format!(
                "Delete the post office {name}{what} from mailmfa?\n\nTheir two-factor settings and secrets are \
                 removed (the mail server is not touched). Audit entries stay."
            ),
            confirm_label: "Yes, delete the post office".to_owned(),
            intent: Box::new(Intent::PostOffice(PostOfficeIntent::Delete(name.clone()))),
        })
    }

    /// Asks before removing an API client.
    pub fn remove_client(name: &str) -> Intent {
        Intent::Confirm(Self {
            title: "Remove API client".to_owned(),
            message: format!(
                "Remove the API client {name}?\n\nIts key stops working at once and its logins in progress end; a \
                 webmail that uses it can no longer ask for second factors. Its audit entries stay."
            ),
            confirm_label: "Yes, remove the client".to_owned(),
            intent: Box::new(Intent::Platform(PlatformIntent::RemoveClient(name.to_owned()))),
        })
    }

    /// Asks before starting a web administrator's set-up again.
    pub fn reset_admin(name: &AdminName) -> Intent {
        Intent::Confirm(Self {
            title: "Reset administrator".to_owned(),
            message: format!(
                "Start the set-up of {name} again?\n\nTheir password, authenticator app, recovery codes and sessions \
                 stop working at once; a new set-up link is shown once."
            ),
            confirm_label: "Yes, reset the administrator".to_owned(),
            intent: Box::new(Intent::Platform(PlatformIntent::ResetAdmin(name.clone()))),
        })
    }

    /// Asks before removing a web administrator.
    pub fn remove_admin(name: &AdminName) -> Intent {
        Intent::Confirm(Self {
            title: "Remove administrator".to_owned(),
            message: format!(
                "Remove the web administrator {name}?\n\nTheir sessions end at once. Their audit entries stay."
            ),
            confirm_label: "Yes, remove the administrator".to_owned(),
            intent: Box::new(Intent::Platform(PlatformIntent::RemoveAdmin(name.clone()))),
        })
    }
}
