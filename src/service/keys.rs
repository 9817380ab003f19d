//! The store key as the faces see it: which folder holds this machine's key files
//! ([`KeyFolder`]), exporting the key for another server, and importing one — checked against the
//! store before it is installed, and audited like every other action.

use std::path::{Path, PathBuf};

use super::crypto::{KeyRing, keyring};
use super::store::{Store, StoreLocation};
use super::{IfExists, Service, ServiceError, ServiceResult};

/// The folder of this machine's store keys: `$MAILMFA_KEY_DIR`, else `%ProgramData%\mailmfa\keys`
/// on Windows (keys wrapped with DPAPI), else `~/.config/mailmfa/keys`.
#[derive(Debug, Clone)]
pub struct KeyFolder(KeyRing);

impl KeyFolder {
    /// The key folder at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self(KeyRing::new(dir))
    }

    /// The key folder this machine uses.
    pub fn default_location() -> Self {
        Self(KeyRing::default_location())
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        self.0.dir()
    }

    /// The key file of the store with this id.
    pub fn key_path(&self, store_id: &str) -> PathBuf {
        self.0.path_for(store_id)
    }

    pub(super) fn ring(&self) -> &KeyRing {
        &self.0
    }
}

impl Service {
    /// Writes the store key to `path` for another server sharing this store.
    pub fn export_key(&self, path: &Path, if_exists: IfExists) -> ServiceResult<()> {
        self.audited("key.export", None, |_| {
            keyring::write_export(path, self.store.store_id(), self.store.key(), if_exists)?;
            Ok(((), format!("to {}", path.display())))
        })
    }

    /// Installs the key in `export_file` on this machine for the store at `location`, after
    /// checking that it opens that store; then opens the store and records the import. Returns the
    /// open service and where the key file was written.
    pub fn import_key(
        location: &StoreLocation,
        keys: &KeyFolder,
        export_file: &Path,
    ) -> ServiceResult<(Service, PathBuf)> {
        let (store_id, key) = keyring::read_export(export_file)?;
        match Store::peek_store_id(location)? {
            None => return Err(ServiceError::NotAStore(location.to_string())),
            Some(id) if id != store_id => {
                return Err(ServiceError::KeyForAnotherStore {
                    file: export_file.to_path_buf(),
                    key_store: store_id,
                    store: location.to_string(),
                    store_id: id,
                });
            }
            Some(_) => {}
        }
        if !Store::key_opens(location, &store_id, &key)? {
            return Err(ServiceError::KeyDoesNotOpen {
                file: export_file.to_path_buf(),
                store: location.to_string(),
            });
        }
        let written = keys.ring().save(&store_id, &key)?;
        let service = Service::open(location, keys)?;
        service.audited("key.import", None, |_| Ok(((), format!("from {}", export_file.display()))))?;
        Ok((service, written))
    }
}
