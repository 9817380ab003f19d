//! [`CountryLookup`] backed by a MaxMind DB (`.mmdb`) file.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use maxminddb::{LookupResult, PathElement, Reader};

use super::{CountryLookup, GeoError, is_non_public, normalise_country_code};

/// Where a country code may live in a record, in order of preference:
/// the flat ip-location-db / iptoasn layout (`{"country_code": "DE"}`),
/// then the GeoIP2 / GeoLite2 / DB-IP layout (`{"country": {"iso_code": "DE"}}`),
/// then its `registered_country` when `country` has no code.
const COUNTRY_PATHS: [&[PathElement<'static>]; 3] = [
    &[PathElement::Key("country_code")],
    &[PathElement::Key("country"), PathElement::Key("iso_code")],
    &[PathElement::Key("registered_country"), PathElement::Key("iso_code")],
];

/// A country database in MaxMind DB format, held in memory.
///
/// Reads both the flat `country_code` record layout and the GeoIP2
/// `country.iso_code` layout (falling back to `registered_country.iso_code`).
/// Lookups are read-only, so one instance can be shared between threads.
pub struct MmdbCountryLookup {
    reader: Reader<Vec<u8>>,
}

impl MmdbCountryLookup {
    /// Loads the database file at `path` into memory.
    ///
    /// # Errors
    ///
    /// [`GeoError::Io`] if the file cannot be read, [`GeoError::Invalid`]
    /// if it is not a MaxMind DB file.
    pub fn open(path: &Path) -> Result<Self, GeoError> {
        let bytes = std::fs::read(path).map_err(|cause| GeoError::Io { path: path.to_path_buf(), cause })?;
        Self::parse(bytes).map_err(|cause| GeoError::Invalid { path: Some(path.to_path_buf()), cause })
    }

    /// Uses `bytes`, the contents of a MaxMind DB file, as the database.
    ///
    /// # Errors
    ///
    /// [`GeoError::Invalid`] if `bytes` is not a MaxMind DB database.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, GeoError> {
        Self::parse(bytes).map_err(|cause| GeoError::Invalid { path: None, cause })
    }

    fn parse(bytes: Vec<u8>) -> Result<Self, maxminddb::MaxMindDbError> {
        Reader::from_source(bytes).map(|reader| Self { reader })
    }

    /// The database type from the file's metadata
    /// (for example `"iptoasn-country"` or `"GeoLite2-Country"`).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// When the database was built, in seconds since the Unix epoch
    /// (from the file's metadata).
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }

    /// The first country code present in the record, validated.
    fn code_in(result: &LookupResult<'_, Vec<u8>>) -> Option<String> {
        COUNTRY_PATHS.iter().find_map(|path| {
            // A path that is missing or holds something other than a string
            // does not count as present: try the next layout.
            match result.decode_path::<&str>(path) {
                Ok(Some(code)) => Some(normalise_country_code(code)),
                Ok(None) | Err(_) => None,
            }
        })?
    }
}

impl CountryLookup for MmdbCountryLookup {
    fn country(&self, ip: IpAddr) -> Option<String> {
        let ip = ip.to_canonical();
        if is_non_public(ip) {
            return None;
        }
        // An error here means an IPv6 address in an IPv4-only database, or a
        // corrupt tree: either way the country is unknown.
        let result = self.reader.lookup(ip).ok()?;
        if !result.has_data() {
            return None;
        }
        Self::code_in(&result)
    }
}

impl fmt::Debug for MmdbCountryLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MmdbCountryLookup")
            .field("database_type", &self.database_type())
            .field("build_epoch", &self.build_epoch())
            .finish_non_exhaustive()
    }
}
