//! The one place where an administrator's command becomes store changes plus an audit entry. The
//! console and the command line both call [`Service`], so they cannot drift apart.

mod import;

use std::path::Path;
use std::sync::Arc;

use thiserror::Error;
use zeroize::Zeroizing;

use crate::auth::totp;
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::{CryptoError, KeyRing, keyring};
use crate::domain::{
    ChallengeMode, DomainError, EmailAddress, EnrolmentState, MailboxAddress, MailboxChallenge, PhoneNumber,
    PostOfficeName, Provider, ProviderSwitches, SETTINGS, SettingDef, setting,
};
use crate::store::{
    AuditEntry, AuditRecord, MailboxRecord, MailboxRow, PostOfficeRecord, Store, StoreError, StoreLocation, Tx,
};

pub use import::{COLUMNS as IMPORT_COLUMNS, ImportSummary};

/// Why an administrative action did not happen. All are the caller's to fix (exit status 2) except
/// [`ServiceError::Refused`] (exit status 1), a policy refusal.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// Input that is not a valid value.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The thing to create exists.
    #[error("{0}")]
    Exists(String),
    /// The request is valid on its own but not in this situation.
    #[error("{0}")]
    Invalid(String),
    /// Policy forbids it (for example end-user self-service that the post office does not allow).
    #[error("{0}")]
    Refused(String),
    /// A CSV import row is wrong; nothing was imported.
    #[error("line {line}: {reason}; nothing was imported")]
    Import {
        /// The file's line number (the header is line 1).
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
}

impl From<CryptoError> for ServiceError {
    fn from(e: CryptoError) -> Self {
        Self::Store(StoreError::Crypto(e))
    }
}

/// Result of service calls.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// What an administrator wants changed on a mailbox; `None` leaves a value as it is, and
/// `Some(None)` clears an SMS number or alternate address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxChanges {
    /// Its own challenge setting.
    pub challenge: Option<MailboxChallenge>,
    /// Its provider.
    pub provider: Option<Provider>,
    /// Its SMS number.
    pub sms_number: Option<Option<PhoneNumber>>,
    /// Its alternate e-mail address.
    pub alt_email: Option<Option<EmailAddress>>,
}

impl MailboxChanges {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.challenge {
            parts.push(format!("challenge={c}"));
        }
        if let Some(p) = self.provider {
            parts.push(format!("provider={p}"));
        }
        match &self.sms_number {
            Some(Some(n)) => parts.push(format!("sms_number={}", n.masked())),
            Some(None) => parts.push("sms_number=(cleared)".to_owned()),
            None => {}
        }
        match &self.alt_email {
            Some(Some(e)) => parts.push(format!("alt_email={}", e.masked())),
            Some(None) => parts.push("alt_email=(cleared)".to_owned()),
            None => {}
        }
        parts.join(" ")
    }
}

/// Who is allowed to pick a provider: the platform has a switch for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Configurer {
    /// An administrator in the console or on the command line.
    Administrator,
    /// The mailbox's own user, through the webmail's options page.
    EndUser,
}

/// A mailbox with its known addresses and countries, for Properties and `mailbox show`.
#[derive(Debug, Clone)]
pub struct MailboxDetails {
    /// The mailbox.
    pub record: MailboxRecord,
    /// Known IP addresses (address, first seen, last seen).
    pub known_ips: Vec<(String, UnixTime, UnixTime)>,
    /// Known countries (code, first seen, last seen).
    pub known_countries: Vec<(String, UnixTime, UnixTime)>,
}

/// A setting as shown: its definition, its value (`***` for a secret that is set), and whether it
/// was set or is the default.
#[derive(Debug, Clone)]
pub struct SettingView {
    /// The setting.
    pub def: &'static SettingDef,
    /// The value, secrets masked.
    pub shown: String,
    /// Whether it was set explicitly.
    pub is_set: bool,
}

/// The administrative API over one open store, acting as one named administrator.
pub struct Service {
    store: Store,
    actor: String,
    clock: Arc<dyn Clock>,
}

impl Service {
    /// A service over `store` acting as the operating-system user, on the system clock.
    pub fn new(store: Store) -> Self {
        Self::with(store, os_user(), Arc::new(SystemClock))
    }

    /// A service with an explicit actor and clock.
    pub fn with(store: Store, actor: String, clock: Arc<dyn Clock>) -> Self {
        Self { store, actor, clock }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Who the audit log names.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The current time.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Runs `f` in one write transaction and records the action in the audit log: `ok` with its
    /// detail on success (in the same transaction), `failed` with the reason otherwise.
    fn audited<T>(
        &self,
        action: &str,
        mailbox: Option<&str>,
        f: impl FnOnce(&Tx<'_>) -> ServiceResult<(T, String)>,
    ) -> ServiceResult<T> {
        let now = self.now();
        let entry = |outcome: &str, detail: String| AuditEntry {
            at: now,
            actor: self.actor.clone(),
            mailbox: mailbox.map(str::to_owned),
            action: action.to_owned(),
            outcome: outcome.to_owned(),
            detail: (!detail.is_empty()).then_some(detail),
            ..AuditEntry::default()
        };
        let result: ServiceResult<T> = self.store.write(|tx| {
            let (value, detail) = f(tx)?;
            tx.insert_audit(&entry("ok", detail))?;
            Ok(value)
        });
        if let Err(e) = &result {
            // The action's own error matters more than a failure to record it, so a failure to
            // write this entry is not reported over it.
            let recorded: ServiceResult<()> =
                self.store.write(|tx| Ok(tx.insert_audit(&entry("failed", e.to_string()))?));
            drop(recorded);
        }
        result
    }

    // --- post offices -------------------------------------------------------------------------

    /// Every post office with its mailbox count.
    pub fn postoffices(&self) -> ServiceResult<Vec<PostOfficeRecord>> {
        Ok(self.store.read(|tx| tx.postoffices())?)
    }

    /// One post office.
    pub fn postoffice(&self, name: &PostOfficeName) -> ServiceResult<PostOfficeRecord> {
        self.store.read(|tx| tx.postoffice(name))?.ok_or_else(|| no_postoffice(name))
    }

    /// Creates a post office (default mode `never`, self-service off).
    pub fn add_postoffice(&self, name: &PostOfficeName) -> ServiceResult<()> {
        self.audited("postoffice.add", None, |tx| {
            tx.insert_postoffice(name, self.now())?
                .ok_or_else(|| ServiceError::Exists(format!("a post office named {name} already exists")))?;
            Ok(((), format!("postoffice={name}")))
        })
    }

    /// Removes a post office; one with mailboxes only with `with_mailboxes`.
    pub fn remove_postoffice(&self, name: &PostOfficeName, with_mailboxes: bool) -> ServiceResult<i64> {
        self.audited("postoffice.remove", None, |tx| {
            let po = tx.postoffice(name)?.ok_or_else(|| no_postoffice(name))?;
            if po.mailboxes > 0 && !with_mailboxes {
                return Err(ServiceError::Invalid(format!(
                    "post office {name} has {} mailboxes; remove them first or confirm removing them too (--with-mailboxes)",
                    po.mailboxes
                )));
            }
            tx.delete_postoffice(po.id)?;
            Ok((po.mailboxes, format!("postoffice={name} mailboxes_removed={}", po.mailboxes)))
        })
    }

    /// Changes a post office's default mode and self-service switch.
    pub fn set_postoffice(
        &self,
        name: &PostOfficeName,
        challenge: Option<ChallengeMode>,
        users_may_configure: Option<bool>,
    ) -> ServiceResult<()> {
        self.audited("postoffice.set", None, |tx| {
            let po = tx.postoffice(name)?.ok_or_else(|| no_postoffice(name))?;
            let challenge_new = challenge.unwrap_or(po.challenge);
            let users_new = users_may_configure.unwrap_or(po.users_may_configure);
            tx.update_postoffice(po.id, challenge_new, users_new)?;
            Ok(((), format!("postoffice={name} challenge={challenge_new} users_may_configure={users_new}")))
        })
    }

    // --- mailboxes ----------------------------------------------------------------------------

    /// The mailbox table of one post office, or of all.
    pub fn mailboxes(&self, postoffice: Option<&PostOfficeName>) -> ServiceResult<Vec<MailboxRow>> {
        let now = self.now();
        self.store.read(|tx| {
            let id = match postoffice {
                Some(name) => Some(tx.postoffice(name)?.ok_or_else(|| no_postoffice(name))?.id),
                None => None,
            };
            Ok(tx.mailbox_rows(id, now)?)
        })
    }

    /// One mailbox with its known IP addresses and countries.
    pub fn mailbox(&self, address: &MailboxAddress) -> ServiceResult<MailboxDetails> {
        self.store
            .read(|tx| -> ServiceResult<_> {
                let Some(record) = tx.mailbox(address)? else {
                    return Ok(None);
                };
                let known_ips = tx.known_ips(record.id)?;
                let known_countries = tx.known_countries(record.id)?;
                Ok(Some(MailboxDetails { record, known_ips, known_countries }))
            })?
            .ok_or_else(|| no_mailbox(address))
    }

    /// Creates a mailbox in an existing post office (challenge `inherit`, provider `totp`).
    pub fn add_mailbox(&self, address: &MailboxAddress) -> ServiceResult<()> {
        let shown = address.to_string();
        self.audited("mailbox.add", Some(&shown), |tx| {
            let po = tx.postoffice(&address.postoffice)?.ok_or_else(|| no_postoffice(&address.postoffice))?;
            tx.insert_mailbox(po.id, &address.mailbox, self.now())?
                .ok_or_else(|| ServiceError::Exists(format!("the mailbox {address} already exists")))?;
            Ok(((), String::new()))
        })
    }

    /// Removes a mailbox with its secret, known addresses and codes (its audit entries stay).
    pub fn remove_mailbox(&self, address: &MailboxAddress) -> ServiceResult<()> {
        let shown = address.to_string();
        self.audited("mailbox.remove", Some(&shown), |tx| {
            let mb = tx.mailbox(address)?.ok_or_else(|| no_mailbox(address))?;
            tx.delete_mailbox(mb.id)?;
            Ok(((), String::new()))
        })
    }

    /// Changes a mailbox's policy as an administrator or, with [`Configurer::EndUser`], as its
    /// own user (allowed only where the post office and the provider's switch let users configure).
    pub fn set_mailbox(&self, address: &MailboxAddress, changes: &MailboxChanges, by: Configurer) -> ServiceResult<()> {
        let shown = address.to_string();
        let action = match by {
            Configurer::Administrator => "mailbox.set",
            Configurer::EndUser => "user.set",
        };
        self.audited(action, Some(&shown), |tx| {
            let mb = tx.mailbox(address)?.ok_or_else(|| no_mailbox(address))?;
            if by == Configurer::EndUser && !mb.users_may_configure {
                return Err(ServiceError::Refused(format!(
                    "the post office {} does not let users configure their two-factor settings",
                    address.postoffice
                )));
            }
            let provider = changes.provider.unwrap_or(mb.provider);
            if changes.provider.is_some() || by == Configurer::EndUser {
                check_provider_choice(tx, provider, by)?;
            }
            let sms = changes.sms_number.clone().unwrap_or(mb.sms_number.clone());
            let alt = changes.alt_email.clone().unwrap_or(mb.alt_email.clone());
            check_destination(address, provider, sms.as_ref(), alt.as_ref())?;
            let challenge = changes.challenge.unwrap_or(mb.challenge);
            tx.update_mailbox_policy(mb.id, challenge, provider, sms.as_ref(), alt.as_ref())?;
            Ok(((), changes.describe()))
        })
    }

    /// Clears the TOTP secret (so the next login enrols with a new QR code), its replay state, the
    /// failure counter and any outstanding code.
    pub fn reset_two_factor_code(&self, address: &MailboxAddress) -> ServiceResult<()> {
        let shown = address.to_string();
        self.audited("mailbox.reset_code", Some(&shown), |tx| {
            let mb = tx.mailbox(address)?.ok_or_else(|| no_mailbox(address))?;
            tx.reset_two_factor_code(mb.id)?;
            Ok(((), format!("was {}", mb.enrolment.word())))
        })
    }

    /// Forgets the mailbox's known countries and IP addresses.
    pub fn reset_country_exceptions(&self, address: &MailboxAddress) -> ServiceResult<(usize, usize)> {
        let shown = address.to_string();
        self.audited("mailbox.reset_countries", Some(&shown), |tx| {
            let mb = tx.mailbox(address)?.ok_or_else(|| no_mailbox(address))?;
            let (countries, ips) = tx.reset_country_exceptions(mb.id)?;
            Ok(((countries, ips), format!("countries_forgotten={countries} ips_forgotten={ips}")))
        })
    }

    /// Clears a lock and the failure counter.
    pub fn unlock(&self, address: &MailboxAddress) -> ServiceResult<()> {
        let shown = address.to_string();
        let now = self.now();
        self.audited("mailbox.unlock", Some(&shown), |tx| {
            let mb = tx.mailbox(address)?.ok_or_else(|| no_mailbox(address))?;
            tx.unlock_mailbox(mb.id)?;
            let was = if mb.locked_for(now).is_some() { "was locked" } else { "was not locked" };
            Ok(((), format!("{was}, failures={}", mb.failures)))
        })
    }

    /// The enrolment URI of the mailbox's pending or active secret. Revealing it is audited: anyone
    /// who sees it can generate the mailbox's codes.
    pub fn enrolment_uri(&self, address: &MailboxAddress) -> ServiceResult<(Zeroizing<String>, EnrolmentState)> {
        let shown = address.to_string();
        let issuer = self.setting_value("issuer")?;
        self.audited("mailbox.show_qr", Some(&shown), |tx| {
            let mb = tx.mailbox(address)?.ok_or_else(|| no_mailbox(address))?;
            let secret = tx.totp_secret(mb.id)?.ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "{address} has no TOTP secret yet: it gets one (and its QR code) at its next login that needs TOTP"
                ))
            })?;
            let uri = totp::otpauth_uri(&issuer, address, &secret.secret);
            Ok(((uri, secret.state), format!("state={}", secret.state.word())))
        })
    }

    // --- providers and settings ---------------------------------------------------------------

    /// Every provider with its switches.
    pub fn providers(&self) -> ServiceResult<Vec<(Provider, ProviderSwitches)>> {
        Ok(self.store.read(|tx| tx.providers())?)
    }

    /// Changes a provider's switches; `None` leaves a switch as it is.
    pub fn set_provider(
        &self,
        provider: Provider,
        enabled: Option<bool>,
        admin_configurable: Option<bool>,
        user_configurable: Option<bool>,
    ) -> ServiceResult<ProviderSwitches> {
        self.audited("provider.set", None, |tx| {
            let old = tx.provider(provider)?;
            let new = ProviderSwitches {
                enabled: enabled.unwrap_or(old.enabled),
                admin_configurable: admin_configurable.unwrap_or(old.admin_configurable),
                user_configurable: user_configurable.unwrap_or(old.user_configurable),
            };
            tx.set_provider(provider, new)?;
            Ok((
                new,
                format!(
                    "provider={provider} enabled={} admin_configurable={} user_configurable={}",
                    new.enabled, new.admin_configurable, new.user_configurable
                ),
            ))
        })
    }

    /// Every setting with its value as shown (secrets as `***`).
    pub fn settings(&self) -> ServiceResult<Vec<SettingView>> {
        self.store.read(|tx| -> ServiceResult<_> {
            SETTINGS
                .iter()
                .map(|def| {
                    let is_set = tx.setting_is_set(def)?;
                    let value = tx.setting(def)?;
                    let shown = if def.is_secret() {
                        if value.is_empty() { String::new() } else { "***".to_owned() }
                    } else {
                        value.to_string()
                    };
                    Ok(SettingView { def, shown, is_set })
                })
                .collect()
        })
    }

    /// A setting's real value (secrets unsealed), for the engine and delivery.
    pub fn setting_value(&self, key: &str) -> ServiceResult<Zeroizing<String>> {
        let def = setting(key)?;
        Ok(self.store.read(|tx| tx.setting(def))?)
    }

    /// Validates and stores a setting.
    pub fn set_setting(&self, key: &str, raw: &str) -> ServiceResult<()> {
        let def = setting(key)?;
        let value = Zeroizing::new(def.parse(raw)?);
        if def.key == "geoip.path" && !value.is_empty() && !Path::new(value.as_str()).is_file() {
            return Err(ServiceError::Invalid(format!("the GeoIP database {} does not exist", value.as_str())));
        }
        self.audited("settings.set", None, |tx| {
            tx.set_setting(def, &value)?;
            let shown = if def.is_secret() { "***" } else { value.as_str() };
            Ok(((), format!("{}={shown}", def.key)))
        })
    }

    // --- audit and keys -----------------------------------------------------------------------

    /// The newest audit entries first, optionally for one mailbox.
    pub fn audit(&self, mailbox: Option<&MailboxAddress>, limit: usize) -> ServiceResult<Vec<AuditRecord>> {
        let shown = mailbox.map(ToString::to_string);
        Ok(self.store.read(|tx| tx.audit(shown.as_deref(), limit))?)
    }

    /// Writes the store key to `path` for another server sharing this store.
    pub fn export_key(&self, path: &Path) -> ServiceResult<()> {
        self.audited("key.export", None, |_| {
            keyring::write_export(path, self.store.store_id(), self.store.key())?;
            Ok(((), format!("to {}", path.display())))
        })
    }

    /// Records an action that happened outside a store transaction (such as a key import).
    pub fn record(&self, action: &str, mailbox: Option<&str>, detail: String) -> ServiceResult<()> {
        self.audited(action, mailbox, |_| Ok(((), detail)))
    }
}

/// Installs the key in `export_file` on this machine for the store at `location`, after checking
/// that it opens that store. Returns where the key file was written.
pub fn import_key(
    location: &StoreLocation,
    keyring: &KeyRing,
    export_file: &Path,
) -> ServiceResult<std::path::PathBuf> {
    let (store_id, key) = keyring::read_export(export_file)?;
    match Store::peek_store_id(location)? {
        None => {
            return Err(ServiceError::NotFound(format!(
                "{} is not an initialised mailmfa store; point --store at the shared store this key belongs to",
                location.path().display()
            )));
        }
        Some(id) if id != store_id => {
            return Err(ServiceError::Invalid(format!(
                "the key in {} belongs to store {store_id}, but {} is store {id}; nothing was changed",
                export_file.display(),
                location.path().display()
            )));
        }
        Some(_) => {}
    }
    if !Store::key_opens(location, &store_id, &key)? {
        return Err(ServiceError::Invalid(format!(
            "the key in {} does not open {}; nothing was changed",
            export_file.display(),
            location.path().display()
        )));
    }
    Ok(keyring.save(&store_id, &key)?)
}

/// Refuses a provider the platform has disabled or does not let this kind of user configure.
fn check_provider_choice(tx: &Tx<'_>, provider: Provider, by: Configurer) -> ServiceResult<()> {
    let switches = tx.provider(provider)?;
    if !switches.enabled {
        return Err(refusal(by, format!("the {} provider is disabled on this platform", provider.label())));
    }
    match by {
        Configurer::Administrator if !switches.admin_configurable => Err(ServiceError::Invalid(format!(
            "the platform does not let administrators configure the {} provider",
            provider.label()
        ))),
        Configurer::EndUser if !switches.user_configurable => Err(ServiceError::Refused(format!(
            "the platform does not let end users configure the {} provider",
            provider.label()
        ))),
        _ => Ok(()),
    }
}

fn refusal(by: Configurer, message: String) -> ServiceError {
    match by {
        Configurer::Administrator => ServiceError::Invalid(message),
        Configurer::EndUser => ServiceError::Refused(message),
    }
}

/// A provider that delivers codes needs somewhere to deliver them.
fn check_destination(
    address: &MailboxAddress,
    provider: Provider,
    sms: Option<&PhoneNumber>,
    alt: Option<&EmailAddress>,
) -> ServiceResult<()> {
    if let Some(alt) = alt {
        alt.check_not_own(address)?;
    }
    match provider {
        Provider::Sms if sms.is_none() => Err(ServiceError::Invalid(format!(
            "{address} has no SMS number; give one (E.164, as in +15551234567) to use the SMS provider"
        ))),
        Provider::Smtp if alt.is_none() => Err(ServiceError::Invalid(format!(
            "{address} has no alternate e-mail address; give one to use the SMTP provider"
        ))),
        _ => Ok(()),
    }
}

fn no_postoffice(name: &PostOfficeName) -> ServiceError {
    ServiceError::NotFound(format!("there is no post office named {name}"))
}

fn no_mailbox(address: &MailboxAddress) -> ServiceError {
    ServiceError::NotFound(format!("there is no mailbox {address}"))
}

/// The operating-system user running this process, for the audit log: from the environment,
/// else (on Unix) the password database entry of the process's user id.
pub fn os_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(unix_user)
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(unix)]
fn unix_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let name = passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    });
    Some(name.unwrap_or_else(|| format!("uid {uid}")))
}

#[cfg(not(unix))]
fn unix_user() -> Option<String> {
    None
}
