//! Platform-wide rows: the provider switches and the settings (secrets sealed).

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use zeroize::Zeroizing;

use super::{StoreError, StoreResult, Tx, parse_stored};
use crate::domain::{Provider, ProviderSwitches, SettingDef, Settings};

fn setting_context(key: &str) -> String {
    format!("setting:{key}")
}

impl Tx<'_> {
    /// The switches of every provider, in the console's order.
    pub fn providers(&self) -> StoreResult<Vec<(Provider, ProviderSwitches)>> {
        let mut stmt =
            self.tx.prepare_cached("SELECT name, enabled, admin_configurable, user_configurable FROM provider")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>("name")?,
                    r.get("enabled")?,
                    r.get("admin_configurable")?,
                    r.get("user_configurable")?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = rows
            .into_iter()
            .map(|(name, enabled, admin_configurable, user_configurable)| {
                Ok((
                    parse_stored::<Provider>(&name)?,
                    ProviderSwitches { enabled, admin_configurable, user_configurable },
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
        self.tx.execute(
            "UPDATE provider SET enabled = ?2, admin_configurable = ?3, user_configurable = ?4 WHERE name = ?1",
            params![provider.word(), switches.enabled, switches.admin_configurable, switches.user_configurable],
        )?;
        Ok(())
    }

    /// A setting's value (unsealed for secrets), or its default.
    pub fn setting(&self, def: &SettingDef) -> StoreResult<Zeroizing<String>> {
        let row: Option<(Option<String>, Option<Vec<u8>>)> = self
            .tx
            .prepare_cached("SELECT value, sealed FROM setting WHERE key = ?1")?
            .query_row([def.key], |r| Ok((r.get("value")?, r.get("sealed")?)))
            .optional()?;
        match row {
            None => Ok(Zeroizing::new(def.default.to_owned())),
            Some((value, sealed)) => self.stored_text(def.key, value, sealed),
        }
    }

    /// Every setting, typed (secrets unsealed): one query for all of them.
    pub fn settings(&self) -> StoreResult<Settings> {
        let mut stmt = self.tx.prepare_cached("SELECT key, value, sealed FROM setting")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>("key")?, r.get("value")?, r.get("sealed")?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stored = HashMap::new();
        for (key, value, sealed) in rows {
            let text = self.stored_text(&key, value, sealed)?;
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
        Ok(self
            .tx
            .prepare_cached("SELECT value FROM meta WHERE key = 'settings_version'")?
            .query_row([], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// Whether the setting was ever set (as opposed to showing its default).
    pub fn setting_is_set(&self, def: &SettingDef) -> StoreResult<bool> {
        Ok(self.tx.prepare_cached("SELECT 1 FROM setting WHERE key = ?1")?.exists([def.key])?)
    }

    /// Stores a setting's already validated value; secrets are sealed to their key.
    pub fn set_setting(&self, def: &SettingDef, value: &str) -> StoreResult<()> {
        let (plain, sealed) = if def.is_secret() {
            (None, Some(self.key.seal(&setting_context(def.key), value.as_bytes())?))
        } else {
            (Some(value), None)
        };
        self.tx.execute(
            "INSERT INTO setting (key, value, sealed) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, sealed = excluded.sealed",
            params![def.key, plain, sealed],
        )?;
        self.tx.execute(
            "INSERT INTO meta (key, value) VALUES ('settings_version', 1)
             ON CONFLICT (key) DO UPDATE SET value = value + 1",
            [],
        )?;
        Ok(())
    }
}
