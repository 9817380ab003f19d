//! [`CountryLookup`] backed by a MaxMind DB (`.mmdb`) file, memory-mapped: opening it reads only
//! its metadata, and a lookup touches only the pages of the tree it walks.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use maxminddb::{LookupResult, Mmap, PathElement, Reader};

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

/// How many times this process has opened each database file, by the path it was opened as (see
/// [`MmdbCountryLookup::open`]).
static FILES_OPENED: Mutex<BTreeMap<PathBuf, usize>> = Mutex::new(BTreeMap::new());

/// How many times this process has opened the database file at `path` (as the path was given):
/// the service opens its database once and keeps it, which this counter lets a test see — per
/// file, so that a test counts the opens of its own copy whatever other threads open.
pub fn times_opened(path: &Path) -> usize {
    FILES_OPENED.lock().unwrap_or_else(PoisonError::into_inner).get(path).copied().unwrap_or(0)
}

/// Where a database's bytes are.
enum Source {
    /// A file mapped into memory.
    Mapped(Reader<Mmap>),
    /// Bytes handed over by the caller.
    Owned(Reader<Vec<u8>>),
}

/// A country database in MaxMind DB format.
///
/// Reads both the flat `country_code` record layout and the GeoIP2
/// `country.iso_code` layout (falling back to `registered_country.iso_code`).
/// Lookups are read-only, so one instance can be shared between threads.
///
/// A mapped file must not be rewritten in place while it is open (a shorter
/// file would make lookups fault): replace it by renaming a new file over the
/// old one, which leaves the open mapping on the old file.
pub struct MmdbCountryLookup {
    source: Source,
}

impl MmdbCountryLookup {
    /// Maps the database file at `path` into memory.
    ///
    /// # Errors
    ///
    /// [`GeoError::Io`] if the file cannot be opened or is not a file,
    /// [`GeoError::Invalid`] if it is not a MaxMind DB file.
    pub fn open(path: &Path) -> Result<Self, GeoError> {
        let io = |cause| GeoError::Io { path: path.to_path_buf(), cause };
        let file = std::fs::File::open(path).map_err(io)?;
        if !file.metadata().map_err(io)?.is_file() {
            return Err(io(std::io::ErrorKind::IsADirectory.into()));
        }
        *FILES_OPENED.lock().unwrap_or_else(PoisonError::into_inner).entry(path.to_path_buf()).or_default() += 1;
        let mmap = map(&file).map_err(io)?;
        Reader::from_source(mmap)
            .map(|reader| Self { source: Source::Mapped(reader) })
            .map_err(|cause| GeoError::Invalid { path: Some(path.to_path_buf()), cause })
    }

    /// Uses `bytes`, the contents of a MaxMind DB file, as the database.
    ///
    /// # Errors
    ///
    /// [`GeoError::Invalid`] if `bytes` is not a MaxMind DB database.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, GeoError> {
        Reader::from_source(bytes)
            .map(|reader| Self { source: Source::Owned(reader) })
            .map_err(|cause| GeoError::Invalid { path: None, cause })
    }

    fn metadata(&self) -> &maxminddb::Metadata {
        match &self.source {
            Source::Mapped(reader) => reader.metadata(),
            Source::Owned(reader) => reader.metadata(),
        }
    }

    /// The database type from the file's metadata
    /// (for example `"iptoasn-country"` or `"GeoLite2-Country"`).
    pub fn database_type(&self) -> &str {
        &self.metadata().database_type
    }

    /// When the database was built, in seconds since the Unix epoch
    /// (from the file's metadata).
    pub fn build_epoch(&self) -> u64 {
        self.metadata().build_epoch
    }

    /// The first country code present in the record, validated.
    fn code_in<S: AsRef<[u8]>>(result: &LookupResult<'_, S>) -> Option<String> {
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
        match &self.source {
            Source::Mapped(reader) => {
                reader.lookup(ip).ok().filter(LookupResult::has_data).and_then(|r| Self::code_in(&r))
            }
            Source::Owned(reader) => {
                reader.lookup(ip).ok().filter(LookupResult::has_data).and_then(|r| Self::code_in(&r))
            }
        }
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

/// Maps a database file read-only.
#[allow(unsafe_code)]
fn map(file: &std::fs::File) -> std::io::Result<Mmap> {
    // SAFETY: the mapping is read-only and private to this process. The one hazard of a file
    // mapping is the file changing under it; mailmfa never writes the database, and the
    // documented way to update it is to rename a new file into place, which leaves this mapping
    // on the old file. The bytes are parsed by maxminddb, which checks every offset it follows.
    unsafe { memmap2::MmapOptions::new().map(file) }
}
