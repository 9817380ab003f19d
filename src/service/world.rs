//! What the engine needs from outside the store, built once per service and kept: the settings as
//! typed values, the country database (memory-mapped, opened once) and the senders. They are
//! rebuilt only when a setting changes — by this process or by any other sharing the store, seen
//! through the store's settings version, which every login reads in its own transaction.
//!
//! Beside them, the API clients whose key was verified: a key sent again is compared with the one
//! kept instead of hashed and looked up, for as long as the store's clients' version — read in the
//! same query as the settings' — does not move. A client removed by any process sharing the store
//! moves it, so its key stops working at once everywhere.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::engine::{OsRandom, RandomSource};
use super::mailprog::KeptReads;
use super::store::{ClientRow, StoreError, Tx, Versions};
use crate::clock::UnixTime;
use crate::delivery::{Channels, CodeSender};
use crate::domain::{IpNetwork, Settings, constant_time_eq};
use crate::geo::{CountryLookup, GeoError, MmdbCountryLookup, NoCountryLookup, bundled_database_path};

/// The outside world of one service: what tests may replace, and the snapshot built from the
/// settings.
pub(super) struct World {
    /// Random bytes for secrets, codes and attempt ids.
    pub random: Arc<dyn RandomSource>,
    /// A country lookup that replaces the configured database (tests).
    countries: Option<Arc<dyn CountryLookup>>,
    /// A sender that replaces the SMTP relay and SMS gateway (tests).
    sender: Option<Arc<dyn CodeSender>>,
    snapshot: RefCell<Option<Snapshot>>,
    clients: RefCell<KnownClients>,
    /// What mail sign-in checks read, kept while the store is unchanged.
    pub mail: RefCell<KeptReads>,
}

/// The API clients whose key was verified, as of one clients' version.
#[derive(Default)]
struct KnownClients {
    version: i64,
    by_id: HashMap<String, KnownClient>,
}

/// An API client whose key was verified: the client, its key's secret and the networks it may
/// call from, parsed.
struct KnownClient {
    row: Arc<ClientRow>,
    secret: Zeroizing<String>,
    networks: Arc<[IpNetwork]>,
}

/// The settings and what was built from them, as of one settings version.
#[derive(Clone)]
pub(super) struct Snapshot {
    version: i64,
    /// The API clients' version the transaction saw.
    pub clients_version: i64,
    /// The settings.
    pub settings: Arc<Settings>,
    /// IP address → country.
    pub countries: Arc<dyn CountryLookup>,
    /// The database file the countries come from, if any.
    countries_path: Option<PathBuf>,
    /// Why the country database could not be opened: every country is unknown meanwhile.
    pub geo_problem: Option<Arc<GeoError>>,
    /// The SMTP relay and SMS gateway.
    pub sender: Arc<dyn CodeSender>,
}

impl Snapshot {
    /// Whether a country database is open, none is set, or the one set failed.
    pub fn country_database(&self) -> super::login::CountryDatabase {
        use super::login::CountryDatabase;
        match (&self.geo_problem, &self.countries_path) {
            (Some(problem), _) => CountryDatabase::Failed(problem.to_string()),
            (None, Some(_)) => CountryDatabase::Loaded,
            (None, None) => CountryDatabase::NotConfigured,
        }
    }
}

/// A snapshot, and whether it was built just now (not kept from before).
pub(super) struct Refreshed {
    /// The snapshot.
    pub snapshot: Snapshot,
    /// It was built for this call: its settings changed since the last one.
    pub is_new: bool,
}

impl Default for World {
    fn default() -> Self {
        Self {
            random: Arc::new(OsRandom),
            countries: None,
            sender: None,
            snapshot: RefCell::new(None),
            clients: RefCell::default(),
            mail: RefCell::default(),
        }
    }
}

impl World {
    /// A world with the same replacements (random source, countries, sender), for another
    /// connection of the same service.
    pub fn like(other: &Self) -> Self {
        Self {
            random: Arc::clone(&other.random),
            countries: other.countries.clone(),
            sender: other.sender.clone(),
            snapshot: RefCell::new(None),
            clients: RefCell::default(),
            mail: RefCell::default(),
        }
    }

    /// Replaces the country database.
    pub fn set_countries(&mut self, countries: Arc<dyn CountryLookup>) {
        self.countries = Some(countries);
        self.forget();
    }

    /// Replaces the senders.
    pub fn set_sender(&mut self, sender: Arc<dyn CodeSender>) {
        self.sender = Some(sender);
        self.forget();
    }

    /// Whether the settings last read turn notifications on (`true` while none were read yet, so
    /// that a caller looks rather than miss one).
    pub fn notifies(&self) -> bool {
        self.snapshot.borrow().as_ref().is_none_or(|s| s.settings.notify_enabled)
    }

    /// Drops the snapshot, so the next use builds it again.
    pub fn forget(&self) {
        self.snapshot.replace(None);
        self.mail.borrow_mut().forget();
    }

    /// The snapshot for the settings as `tx` sees them (see [`World::refresh`]).
    pub fn current(&self, tx: &Tx<'_>) -> Result<Snapshot, StoreError> {
        self.refresh(tx).map(|refreshed| refreshed.snapshot)
    }

    /// The snapshot for the settings as `tx` sees them: the kept one while the settings version
    /// is unchanged, else a new one (reusing the country database if its file did not change), and
    /// whether it is new. A country database that cannot be opened fails safe: every country is
    /// unknown (so `new-country` challenges), and the snapshot says why.
    pub fn refresh(&self, tx: &Tx<'_>) -> Result<Refreshed, StoreError> {
        let Versions { settings: version, clients: clients_version } = tx.versions()?;
        let kept = match self.snapshot.borrow().clone() {
            Some(mut snapshot) if snapshot.version == version => {
                snapshot.clients_version = clients_version;
                return Ok(Refreshed { snapshot, is_new: false });
            }
            older => older,
        };
        let settings = Arc::new(tx.settings()?);
        let wanted = (!settings.geoip_path.is_empty())
            .then(|| PathBuf::from(&settings.geoip_path))
            .or_else(bundled_database_path);
        let unknown = || Arc::new(NoCountryLookup) as Arc<dyn CountryLookup>;
        let (countries, countries_path, geo_problem) = match (&self.countries, kept) {
            (Some(injected), _) => (Arc::clone(injected), None, None),
            (None, Some(old)) if old.countries_path == wanted && old.geo_problem.is_none() => {
                (old.countries, old.countries_path, None)
            }
            (None, _) => match wanted.as_deref().map(MmdbCountryLookup::open) {
                Some(Ok(lookup)) => (Arc::new(lookup) as Arc<dyn CountryLookup>, wanted, None),
                Some(Err(e)) => (unknown(), None, Some(Arc::new(e))),
                None => (unknown(), None, None),
            },
        };
        let sender = match &self.sender {
            Some(injected) => Arc::clone(injected),
            None => Arc::new(Channels::new(Settings::clone(&settings))) as Arc<dyn CodeSender>,
        };
        let snapshot = Snapshot { version, clients_version, settings, countries, countries_path, geo_problem, sender };
        self.snapshot.replace(Some(snapshot.clone()));
        Ok(Refreshed { snapshot, is_new: true })
    }

    /// The client with key id `id` and the networks it may call from, if its key was verified
    /// while the clients' version was `version` and `secret` is that key's secret (compared in
    /// constant time).
    pub fn known_client(&self, version: i64, id: &str, secret: &str) -> Option<(Arc<ClientRow>, Arc<[IpNetwork]>)> {
        let mut known = self.clients.borrow_mut();
        if known.version != version {
            *known = KnownClients { version, by_id: HashMap::new() };
            return None;
        }
        known
            .by_id
            .get(id)
            .filter(|client| constant_time_eq(client.secret.as_bytes(), secret.as_bytes()))
            .map(|client| (Arc::clone(&client.row), Arc::clone(&client.networks)))
    }

    /// Keeps a client whose key was just verified, under the clients' version `version`.
    pub fn remember_client(&self, version: i64, row: Arc<ClientRow>, secret: &str, networks: Arc<[IpNetwork]>) {
        let mut known = self.clients.borrow_mut();
        if known.version != version {
            *known = KnownClients { version, by_id: HashMap::new() };
        }
        let secret = Zeroizing::new(secret.to_owned());
        known.by_id.insert(row.id.clone(), KnownClient { row, secret, networks });
    }

    /// Notes a client's last call in the kept copy, as it was written to the store.
    pub fn client_called(&self, id: &str, at: UnixTime) {
        if let Some(client) = self.clients.borrow_mut().by_id.get_mut(id) {
            Arc::make_mut(&mut client.row).last_used = Some(at);
        }
    }
}
