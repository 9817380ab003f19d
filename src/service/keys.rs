//! The store key as the faces see it: which folder holds this machine's key files
//! ([`KeyFolder`]), exporting the key for another server, and importing one — checked against the
//! store before it is installed, and audited like every other action — and copying a store to
//! another file or database server, which carries its identity and so keeps its key.

use std::path::{Path, PathBuf};

use super::crypto::{KeyRing, keyring};
use super::store::{CopySummary, Store, StoreLocation};
use super::{IfExists, Service, ServiceError, ServiceResult};
use crate::domain::{Actor, AuditEntry, AuditOutcome};

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
    /// checking that it opens that store; then opens the store acting as `actor` and records the
    /// import. Returns the open service and where the key file was written.
    pub fn import_key(
        location: &StoreLocation,
        keys: &KeyFolder,
        export_file: &Path,
        actor: Actor,
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
            return Err(ServiceError::KeyDoesNotOpen { file: export_file.to_path_buf(), store: location.to_string() });
        }
        let written = keys.ring().save(&store_id, &key)?;
        let service = Service::open(location, keys)?.with_actor(actor);
        service.audited("key.import", None, |_| Ok(((), format!("from {}", export_file.display()))))?;
        Ok((service, written))
    }

    /// Copies every row of this store into the store at `target` (created if it does not exist
    /// yet; one that holds data only with `replace`), in one transaction on the target, audited
    /// there as `store.copy`. The copy takes this store's identity, so this store's key opens it:
    /// the key file of the target's own identity, if it had another, is removed.
    pub fn copy_store(&self, target: &StoreLocation, keys: &KeyFolder, replace: bool) -> ServiceResult<CopySummary> {
        if self.location().map(ToString::to_string) == Some(target.to_string()) {
            return Err(ServiceError::SameStore(target.to_string()));
        }
        let into = Store::open(target, keys.ring())?;
        let from = self.location().map_or_else(|| "(memory)".to_owned(), ToString::to_string);
        let entry = |summary: &CopySummary| AuditEntry {
            at: self.now(),
            actor: self.actor().to_string(),
            action: "store.copy".to_owned(),
            outcome: AuditOutcome::Ok,
            detail: Some(format!("from {from}: {}", summary.describe())),
            ..AuditEntry::default()
        };
        let summary = self
            .store
            .copy_into(&into, replace, |tx, summary| -> ServiceResult<()> { Ok(tx.insert_audit(&entry(summary))?) })?;
        if into.store_id() != summary.store_id {
            keys.ring().forget(into.store_id())?;
        }
        Ok(summary)
    }
}
