//! The console's read model — what the panes draw from — and the [`Command`]s they record instead
//! of calling the service while drawing. The app applies the commands after the frame and refreshes
//! the model only after a change.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{UnixTime, format_utc};
use crate::domain::{ChallengeMode, LoginIp, MailboxAddress, PostOfficeName, Provider, ProviderSwitches};
use crate::service::{MailboxChanges, Service, ServiceResult, SettingView};
use crate::store::{MailboxRow, PostOfficeRecord};

/// A node of the console tree; the selection is one of these.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    /// `mailmfa (store)`, the root.
    Root,
    /// The `Post Offices` folder.
    PostOffices,
    /// One post office.
    PostOffice(PostOfficeName),
    /// One mailbox.
    Mailbox(MailboxAddress),
    /// `Challenge Providers`.
    Providers,
    /// `Settings`.
    Settings,
    /// `Audit Log`.
    Audit,
}

impl Node {
    /// The post office this node is or belongs to.
    pub fn postoffice(&self) -> Option<&PostOfficeName> {
        match self {
            Self::PostOffice(name) => Some(name),
            Self::Mailbox(address) => Some(&address.postoffice),
            _ => None,
        }
    }
}

/// A store the console opened before, remembered across runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecentStore {
    /// The database file.
    pub path: PathBuf,
    /// Opened as a shared store (rollback journal).
    pub shared: bool,
}

/// Something an administrator asked for, recorded while drawing and applied after the frame.
#[derive(Debug, Clone)]
pub enum Command {
    /// Select a tree node.
    Select(Node),
    /// Reload everything from the store (F5).
    Refresh,
    /// Open a mailbox's Properties window.
    OpenMailboxProperties(MailboxAddress),
    /// Open a post office's Properties window.
    OpenPostOfficeProperties(PostOfficeName),
    /// Open the New Post Office dialog.
    OpenNewPostOffice,
    /// Open the New Mailbox dialog, in this post office if given.
    OpenNewMailbox(Option<PostOfficeName>),
    /// Open the login preview for a mailbox.
    OpenLoginPreview(MailboxAddress),
    /// Login preview: ask the engine whether to challenge a login from `ip`.
    PreviewBegin {
        /// The mailbox.
        address: MailboxAddress,
        /// Where the login comes from.
        ip: LoginIp,
    },
    /// Login preview: verify a code.
    PreviewVerify {
        /// The mailbox.
        address: MailboxAddress,
        /// Where the login comes from.
        ip: LoginIp,
        /// Six digits.
        code: String,
    },
    /// Ask before doing something that cannot be undone.
    Confirm(Confirmation),
    /// Create a post office.
    AddPostOffice(PostOfficeName),
    /// Create a mailbox.
    AddMailbox(MailboxAddress),
    /// Save a mailbox's Two Factor settings (from its Properties window).
    SaveMailbox {
        /// The mailbox.
        address: MailboxAddress,
        /// What changes.
        changes: MailboxChanges,
        /// Close the window when saved (OK rather than Apply).
        close: bool,
    },
    /// Save a post office's properties.
    SavePostOffice {
        /// The post office.
        name: PostOfficeName,
        /// Its default challenge mode.
        challenge: ChallengeMode,
        /// Whether users may configure their own two-factor settings.
        users_may_configure: bool,
        /// Close the window when saved.
        close: bool,
    },
    /// Clear a mailbox's TOTP secret, replay state and failure counter.
    ResetCode(MailboxAddress),
    /// Forget a mailbox's known countries and IP addresses.
    ResetCountries(MailboxAddress),
    /// Clear a mailbox's lock.
    Unlock(MailboxAddress),
    /// Remove a mailbox.
    DeleteMailbox(MailboxAddress),
    /// Remove a post office with its mailboxes.
    DeletePostOffice(PostOfficeName),
    /// Reveal (audited) the enrolment QR code in the mailbox's Properties window.
    RevealQr(MailboxAddress),
    /// Save the revealed QR code as a PNG file chosen in a native dialog.
    SaveQrPng(MailboxAddress),
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
    /// Send a test message through the SMTP relay or the SMS gateway.
    SendTest(TestTarget),
    /// A test send finished (recorded in the audit log).
    TestFinished {
        /// Where it went.
        target: TestTarget,
        /// What happened.
        result: Result<(), String>,
    },
    /// Pick the GeoIP database file in a native dialog.
    BrowseGeoip,
    /// Load the audit log, for one mailbox or all.
    LoadAudit(Option<MailboxAddress>),
    /// File → Open Store… / Open Shared Store…
    OpenStoreDialog {
        /// Open it as a shared store.
        shared: bool,
    },
    /// File → New Store…
    NewStoreDialog,
    /// Open a store from the recent list.
    OpenRecent(RecentStore),
    /// Open the default local store.
    OpenDefaultStore,
    /// Try the store that failed again.
    RetryStore,
    /// Install the key of the store that failed from an exported key file.
    ImportKey,
    /// Write the open store's key for another server.
    ExportKey,
    /// Import post offices and mailboxes from a CSV file (in the background).
    ImportCsv,
    /// Help → About.
    ShowAbout,
    /// File → Exit.
    Exit,
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
    pub fn provider_and_destination(&self) -> (crate::domain::Provider, &str) {
        match self {
            Self::Email(to) => (crate::domain::Provider::Smtp, to),
            Self::Sms(to) => (crate::domain::Provider::Sms, to),
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
    pub command: Box<Command>,
}

/// What the panes draw from: the post offices, providers and settings, and the mailbox rows of the
/// post offices that are shown, loaded on demand.
pub struct Snapshot {
    /// Every post office with its mailbox count, by name.
    pub postoffices: Vec<PostOfficeRecord>,
    /// Every provider with its switches.
    pub providers: Vec<(Provider, ProviderSwitches)>,
    /// Every setting as shown.
    pub settings: Vec<SettingView>,
    /// Mailboxes in the store.
    pub mailbox_count: i64,
    /// Bumped whenever anything reloads, so caches derived from rows know to rebuild.
    pub generation: u64,
    rows: HashMap<PostOfficeName, Arc<Vec<MailboxRow>>>,
}

impl Snapshot {
    /// Loads the post offices, providers and settings.
    pub fn load(service: &Service) -> ServiceResult<Self> {
        let mut snapshot = Self {
            postoffices: Vec::new(),
            providers: Vec::new(),
            settings: Vec::new(),
            mailbox_count: 0,
            generation: 0,
            rows: HashMap::new(),
        };
        snapshot.reload(service)?;
        Ok(snapshot)
    }

    /// Reloads the post offices, providers and settings and forgets the mailbox rows of `changed`
    /// (of every post office when `None`).
    pub fn reload_after(&mut self, service: &Service, changed: Option<&PostOfficeName>) -> ServiceResult<()> {
        match changed {
            Some(name) => {
                self.rows.remove(name);
            }
            None => self.rows.clear(),
        }
        self.reload(service)
    }

    fn reload(&mut self, service: &Service) -> ServiceResult<()> {
        self.postoffices = service.postoffices()?;
        self.providers = service.providers()?;
        self.settings = service.settings()?;
        self.mailbox_count = self.postoffices.iter().map(|p| p.mailboxes).sum();
        self.rows.retain(|name, _| self.postoffices.iter().any(|p| &p.name == name));
        self.generation += 1;
        Ok(())
    }

    /// Loads the mailbox rows of a post office unless they are loaded.
    pub fn ensure_rows(&mut self, service: &Service, postoffice: &PostOfficeName) -> ServiceResult<()> {
        if !self.rows.contains_key(postoffice) && self.postoffice(postoffice).is_some() {
            let rows = service.mailboxes(Some(postoffice))?;
            self.rows.insert(postoffice.clone(), Arc::new(rows));
            self.generation += 1;
        }
        Ok(())
    }

    /// The loaded mailbox rows of a post office.
    pub fn rows(&self, postoffice: &PostOfficeName) -> Option<&Arc<Vec<MailboxRow>>> {
        self.rows.get(postoffice)
    }

    /// A post office by name.
    pub fn postoffice(&self, name: &PostOfficeName) -> Option<&PostOfficeRecord> {
        self.postoffices
            .binary_search_by(|p| p.name.as_str().cmp(name.as_str()))
            .ok()
            .and_then(|i| self.postoffices.get(i).filter(|p| &p.name == name))
    }

    /// The table row of a mailbox, if its post office's rows are loaded.
    pub fn mailbox_row(&self, address: &MailboxAddress) -> Option<&MailboxRow> {
        self.rows(&address.postoffice)?.iter().find(|r| &r.address == address)
    }

    /// The providers an administrator may assign: enabled and administrator-configurable.
    pub fn offered_providers(&self) -> Vec<Provider> {
        self.providers.iter().filter(|(_, s)| s.enabled && s.admin_configurable).map(|(p, _)| *p).collect()
    }

    /// The value of a setting as shown.
    pub fn setting(&self, key: &str) -> Option<&SettingView> {
        self.settings.iter().find(|s| s.def.key == key)
    }
}

/// A time for people: `2026-11-29 01:07:02 UTC`, or `never`.
pub fn when(time: Option<UnixTime>) -> String {
    match time {
        Some(t) => format_utc(t).replace('T', " ").replace('Z', " UTC"),
        None => "never".to_owned(),
    }
}

/// A time in UTC to the second, without the zone (for a column that names it): `2026-11-29 01:07:02`.
pub fn utc_seconds(time: UnixTime) -> String {
    format_utc(time).replace('T', " ").replace('Z', "")
}

/// A time for a table column, to the minute: `2026-11-29 01:07 UTC`, or `never`.
pub fn when_short(time: Option<UnixTime>) -> String {
    match time {
        Some(t) => {
            let full = format_utc(t);
            match (full.get(..10), full.get(11..16)) {
                (Some(date), Some(minute)) => format!("{date} {minute} UTC"),
                _ => full,
            }
        }
        None => "never".to_owned(),
    }
}

/// A duration for people: `45 s`, `3 min 20 s`, `1 h 0 min`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(200), "3 min 20 s");
        assert_eq!(duration(3600), "1 h 0 min");
        assert_eq!(duration(-5), "0 s");
    }

    #[test]
    fn times_read_naturally() {
        assert_eq!(when(Some(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(when(None), "never");
        assert_eq!(when_short(Some(1_111_111_109)), "2005-03-18 01:58 UTC");
    }
}
