//! Platform-wide rows: the provider switches and the settings (secrets sealed).

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::{StoreError, StoreResult, Tx, parse_stored};
use crate::domain::{Provider, ProviderSwitches, SettingDef, Settings};

fn setting_context(key: &str) -> String {
    format!("setting:{key}")
}

/// A number kept in the store that moves whenever what it versions changes, by any process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The settings.
    Settings,
    /// The API clients (added or removed).
    Clients,
}

impl Version {
    fn key(self) -> &'static str {
        match self {
            Self::Settings => "settings_version",
            Self::Clients => "clients_version",
        }
    }
}

/// The versions of the settings and of the API clients, as one transaction sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Versions {
    /// Moves whenever a setting is stored.
    pub settings: i64,
    /// Moves whenever an API client is added or removed.
    pub clients: i64,
}

impl Tx<'_> {
    /// The switches of every provider, in the console's order.
    pub fn providers(&self) -> StoreResult<Vec<(Provider, ProviderSwitches)>> {
        let rows = self.query("SELECT name, enabled, admin_configurable, user_configurable FROM provider", &[])?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok((
                    parse_stored::<Provider>(&r.get::<String>("name")?)?,
                    ProviderSwitches {
                        enabled: r.get("enabled")?,
                        admin_configurable: r.get("admin_configurable")?,
                        user_configurable: r.get("user_configurable")?,
                    },
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|(p, _)| *p);
        Ok(out)
    }

    /// The switches of one provider.
    pub fn provider(&self, provider: Provider) -> StoreResult<ProviderSwitches> {
        self.providers()?
            .into_iter()
            .find(|(p, _)| *p == provider)
            .map(|(_, s)| s)
            .ok_or_else(|| StoreError::Corrupt(format!("provider {provider} is missing")))
    }

    /// Stores a provider's switches.
    pub fn set_provider(&self, provider: Provider, switches: ProviderSwitches) -> StoreResult<()> {
        self.execute(
            "UPDATE provider SET enabled = ?2, admin_configurable = ?3, user_configurable = ?4 WHERE name = ?1",
            &[&provider.word(), &switches.enabled, &switches.admin_configurable, &switches.user_configurable],
        )?;
        Ok(())
    }

    /// A setting's value (unsealed for secrets), or its default.
    pub fn setting(&self, def: &SettingDef) -> StoreResult<Zeroizing<String>> {
        let row: Option<(Option<String>, Option<Vec<u8>>)> = self
            .query_opt("SELECT value, sealed FROM setting WHERE key = ?1", &[&def.key])?
            .map(|r| -> StoreResult<_> { Ok((r.get("value")?, r.get("sealed")?)) })
            .transpose()?;
        match row {
            None => Ok(Zeroizing::new(def.default.to_owned())),
            Some((value, sealed)) => self.stored_text(def.key, value, sealed),
        }
    }

    /// Every setting, typed (secrets unsealed): one query for all of them.
    pub fn settings(&self) -> StoreResult<Settings> {
        let mut stored = HashMap::new();
        for r in self.query("SELECT key, value, sealed FROM setting", &[])? {
            let key: String = r.get("key")?;
            let text = self.stored_text(&key, r.get("value")?, r.get("sealed")?)?;
            stored.insert(key, text);
        }
        Ok(Settings::from_stored(|def| stored.remove(def.key))?)
    }

    fn stored_text(&self, key: &str, value: Option<String>, sealed: Option<Vec<u8>>) -> StoreResult<Zeroizing<String>> {
        match (value, sealed) {
            (Some(value), _) => Ok(Zeroizing::new(value)),
            (None, Some(sealed)) => {
                let plain = self.key.open(&setting_context(key), &sealed)?;
                String::from_utf8(plain.to_vec())
                    .map(Zeroizing::new)
                    .map_err(|_| StoreError::Corrupt(format!("setting {key} is not text")))
            }
            (None, None) => Err(StoreError::Corrupt(format!("setting {key} has no value"))),
        }
    }

    /// A number that changes whenever a setting is stored, by any process: a cached
    /// [`Settings`] is current while this number is unchanged.
    pub fn settings_version(&self) -> StoreResult<i64> {
        Ok(self.versions()?.settings)
    }

    /// The versions of what a process keeps in memory, read together (every login and mail
    /// sign-in check reads them).
    pub fn versions(&self) -> StoreResult<Versions> {
        // Two scalar subqueries rather than `key IN (…)`, for which SQLite builds a temporary
        // table each time.
        let row = self.query_one(
            "SELECT (SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'settings_version') AS settings,
                    (SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'clients_version') AS clients",
            &[],
        )?;
        Ok(Versions {
            settings: row.get::<Option<i64>>("settings")?.unwrap_or(0),
            clients: row.get::<Option<i64>>("clients")?.unwrap_or(0),
        })
    }

    /// Whether the setting was ever set (as opposed to showing its default).
    pub fn setting_is_set(&self, def: &SettingDef) -> StoreResult<bool> {
        self.exists("SELECT 1 FROM setting WHERE key = ?1", &[&def.key])
    }

    /// Stores a setting's already validated value; secrets are sealed to their key.
    pub fn set_setting(&self, def: &SettingDef, value: &str) -> StoreResult<()> {
        let (plain, sealed) = if def.is_secret() {
            (None, Some(self.key.seal(&setting_context(def.key), value.as_bytes())?))
        } else {
            (Some(value), None)
        };
        self.execute(
            "INSERT INTO setting (key, value, sealed) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, sealed = excluded.sealed",
            &[&def.key, &plain, &sealed],
        )?;
        self.bump_version(Version::Settings)
    }

    /// Moves a version on: what a process kept of it is stale.
    pub(super) fn bump_version(&self, version: Version) -> StoreResult<()> {
        self.execute(
            "INSERT INTO meta (key, value) VALUES (?1, '1')
             ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)",
            &[&version.key()],
        )?;
        Ok(())
    }
}
