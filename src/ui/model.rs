//! The console's read model: what the panes draw from, loaded from the service and refreshed only
//! after a change; the tree's nodes; and how times and durations read in the console.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{UnixTime, format_readable, format_utc};
use crate::domain::{
    Configurer, MailboxAddress, MailboxSummary, PostOffice, PostOfficeName, Provider, ProviderSwitches,
    offered_providers,
};
use crate::service::{ServerAddress, Service, ServiceResult, SettingView, StoreLocation, StoreMode, display_path};

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
    /// `API Clients`.
    Clients,
    /// `Administrators` (of the web administration).
    Admins,
    /// `Settings`.
    Settings,
    /// `Reports`.
    Reports,
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
    /// The database file, or a database server's URL without its password.
    pub path: PathBuf,
    /// Opened as a shared store (rollback journal).
    pub shared: bool,
}

impl RecentStore {
    /// The store `location` as the recent list keeps it (never with a password).
    pub fn of(location: &StoreLocation) -> Self {
        match location.file() {
            Some(path) => Self { path: display_path(path), shared: location.mode() == StoreMode::Shared },
            None => Self { path: PathBuf::from(location.to_string()), shared: false },
        }
    }

    /// Where to open it again: a file, or a database server (its password still to be asked).
    pub fn location(&self) -> StoreLocation {
        self.path
            .to_str()
            .filter(|raw| ServerAddress::is_url(raw))
            .and_then(|raw| raw.parse().ok())
            .map_or_else(|| StoreLocation::new(&self.path, self.shared), StoreLocation::server)
    }
}

/// What the panes draw from: the post offices, providers and settings, and the mailbox rows of the
/// post offices that are shown, loaded on demand.
pub struct Snapshot {
    /// Every post office with its mailbox count, by name.
    pub postoffices: Vec<PostOffice>,
    /// Every provider with its switches.
    pub providers: Vec<(Provider, ProviderSwitches)>,
    /// Every setting as shown.
    pub settings: Vec<SettingView>,
    /// Mailboxes in the store.
    pub mailbox_count: i64,
    /// Why the country database cannot be used, if it cannot.
    pub geo_problem: Option<String>,
    /// Bumped whenever anything reloads, so caches derived from rows know to rebuild.
    pub generation: u64,
    rows: HashMap<PostOfficeName, Arc<Vec<MailboxSummary>>>,
}

impl Snapshot {
    /// Loads the post offices, providers and settings.
    pub fn load(service: &Service) -> ServiceResult<Self> {
        let mut snapshot = Self {
            postoffices: Vec::new(),
            providers: Vec::new(),
            settings: Vec::new(),
            mailbox_count: 0,
            geo_problem: None,
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
        self.geo_problem = service.country_database_problem()?;
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
    pub fn rows(&self, postoffice: &PostOfficeName) -> Option<&Arc<Vec<MailboxSummary>>> {
        self.rows.get(postoffice)
    }

    /// A post office by name.
    pub fn postoffice(&self, name: &PostOfficeName) -> Option<&PostOffice> {
        self.postoffices
            .binary_search_by(|p| p.name.as_str().cmp(name.as_str()))
            .ok()
            .and_then(|i| self.postoffices.get(i).filter(|p| &p.name == name))
    }

    /// The table row of a mailbox, if its post office's rows are loaded.
    pub fn mailbox_row(&self, address: &MailboxAddress) -> Option<&MailboxSummary> {
        self.rows(&address.postoffice)?.iter().find(|r| &r.address == address)
    }

    /// The providers an administrator may assign: enabled and administrator-configurable.
    pub fn offered_providers(&self) -> Vec<Provider> {
        offered_providers(&self.providers, Configurer::Administrator)
    }

    /// The value of a setting as shown.
    pub fn setting(&self, key: &str) -> Option<&SettingView> {
        self.settings.iter().find(|s| s.def.key == key)
    }
}

/// A time for people: `2026-11-29 01:07:02 UTC`, or `never`.
pub fn when(time: Option<UnixTime>) -> String {
    match time {
        Some(t) => format_readable(t),
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
